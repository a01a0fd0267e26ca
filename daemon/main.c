/* SPDX-License-Identifier: BSD-2-Clause */
#include "log.h"
int main(void)
{
        log_setup("vitalsd");
        log_error("not built yet");
        return 1;
}
