/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * registry.c — the list of drivers vitalsd knows. No dlopen: a driver is
 * added by listing its table here.
 */
#include <stddef.h>
#include <string.h>

#include "driver.h"
#include "drivers.h"

static const Driver *const registry[] = {
        &ge_s5_driver,
        &modbus_driver,
        NULL,
};

const Driver *const *driver_list(void)
{
        return registry;
}

const Driver *driver_find(const char *name)
{
        for (size_t i = 0; name && registry[i]; i++)
                if (strcmp(registry[i]->name, name) == 0)
                        return registry[i];
        return NULL;
}

const char *line_parity_to_string(LineParity p)
{
        switch (p) {
        case PARITY_ODD:
                return "odd";
        case PARITY_EVEN:
                return "even";
        default:
                return "none";
        }
}
