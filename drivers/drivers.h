/* SPDX-License-Identifier: BSD-2-Clause */
/* drivers.h — the driver tables the registry lists. */
#pragma once

#include "driver.h"

extern const Driver ge_s5_driver;
extern const Driver modbus_driver;
