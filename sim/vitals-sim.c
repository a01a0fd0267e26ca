/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the simulator lands. */
#include <stdio.h>
int main(void)
{
        fprintf(stderr, "vitals-sim: not built yet\n");
        return 1;
}
