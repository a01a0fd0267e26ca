/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder until the GE S/5 codec lands. */
#include "drivers.h"
#include "ge_s5.h"

const Driver ge_s5_driver = {
        .name = "ge-s5",
        .description = "GE Datex-Ohmeda S/5 / CARESCAPE computer interface",
        .transport = TRANSPORT_SERIAL,
        .line = {.baud = 19200, .data_bits = 8, .parity = PARITY_EVEN, .stop_bits = 1, .flow = FLOW_RTSCTS},
};
