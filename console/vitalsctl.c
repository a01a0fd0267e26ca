/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the client lands. */
#include <stdio.h>
int main(void)
{
        fprintf(stderr, "vitalsctl: not built yet\n");
        return 1;
}
