/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * catalogue.c — parameter codes and unit normalisation.
 *
 * Codes: IEEE 11073-10101 term codes with partition 2 (SCADA) and 4
 * (dimensions), code = partition * 65536 + term (INTEROP.md §3.2); LOINC
 * vital-signs codes from the FHIR R4 vital-signs profile (INTEROP.md §3.5);
 * UCUM units checked with @lhncbc/ucum-lhc (INTEROP.md §3.3).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "catalogue.h"

#define MDC_DIM_PERCENT 262688
#define MDC_DIM_BEAT_PER_MIN 264864
#define MDC_DIM_MMHG 266016
#define MDC_DIM_DEGC 268192
#define MDC_DIM_RESP_PER_MIN 264928

static const CatalogueEntry entries[] = {
        {"HR", "Heart rate", 147842, "MDC_ECG_HEART_RATE", "8867-4", NULL, "/min",
         MDC_DIM_BEAT_PER_MIN, "MDC_DIM_BEAT_PER_MIN", false},
        {"PR", "Pulse rate (oximetry)", 149530, "MDC_PULS_OXIM_PULS_RATE", "8867-4", NULL, "/min",
         MDC_DIM_BEAT_PER_MIN, "MDC_DIM_BEAT_PER_MIN", false},
        {"SPO2", "SpO2", 150456, "MDC_PULS_OXIM_SAT_O2", "2708-6", "59408-5", "%", MDC_DIM_PERCENT,
         "MDC_DIM_PERCENT", false},
        {"NIBP_SYS", "NIBP systolic", 150021, "MDC_PRESS_BLD_NONINV_SYS", "8480-6", NULL, "mm[Hg]",
         MDC_DIM_MMHG, "MDC_DIM_MMHG", true},
        {"NIBP_DIA", "NIBP diastolic", 150022, "MDC_PRESS_BLD_NONINV_DIA", "8462-4", NULL, "mm[Hg]",
         MDC_DIM_MMHG, "MDC_DIM_MMHG", true},
        {"NIBP_MEAN", "NIBP mean", 150023, "MDC_PRESS_BLD_NONINV_MEAN", "8478-0", NULL, "mm[Hg]",
         MDC_DIM_MMHG, "MDC_DIM_MMHG", true},
        {"NIBP_PR", "Pulse rate (NIBP cuff)", 149546, "MDC_PULS_RATE_NON_INV", "8867-4", NULL, "/min",
         MDC_DIM_BEAT_PER_MIN, "MDC_DIM_BEAT_PER_MIN", true},
        /* Kept under their own names; coded where the code is well known. */
        {"RR", "Respiration rate", 151562, "MDC_RESP_RATE", "9279-1", NULL, "/min",
         MDC_DIM_RESP_PER_MIN, "MDC_DIM_RESP_PER_MIN", false},
        {"TEMP", "Temperature", 150344, "MDC_TEMP", "8310-5", NULL, "Cel", MDC_DIM_DEGC,
         "MDC_DIM_DEGC", false},
};

const CatalogueEntry *catalogue_entries(unsigned *ret_n)
{
        if (ret_n)
                *ret_n = sizeof(entries) / sizeof(entries[0]);
        return entries;
}

const CatalogueEntry *catalogue_find(const char *name)
{
        if (!name)
                return NULL;
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
                if (strcmp(entries[i].name, name) == 0)
                        return &entries[i];
        return NULL;
}

int catalogue_normalise(const char *name, const char *from_unit, double value, double *ret_value,
                        const char **ret_unit)
{
        const CatalogueEntry *e = catalogue_find(name);

        if (!e || !from_unit || strcmp(from_unit, e->ucum) == 0) {
                *ret_value = value;
                *ret_unit = e ? e->ucum : from_unit;
                return 0;
        }
        /* 1 kPa = 7.50062 mmHg (1 mmHg = 133.322 Pa, UCUM mm[Hg] definition). */
        if (strcmp(e->ucum, "mm[Hg]") == 0 && strcmp(from_unit, "kPa") == 0) {
                *ret_value = value * 1000.0 / 133.322387415;
                *ret_unit = e->ucum;
                return 0;
        }
        if (strcmp(e->ucum, "Cel") == 0 && strcmp(from_unit, "[degF]") == 0) {
                *ret_value = (value - 32.0) * 5.0 / 9.0;
                *ret_unit = e->ucum;
                return 0;
        }
        if (strcmp(e->ucum, "/min") == 0 &&
            (strcmp(from_unit, "{beat}/min") == 0 || strcmp(from_unit, "{breath}/min") == 0)) {
                *ret_value = value;
                *ret_unit = e->ucum;
                return 0;
        }
        return -EDOM;
}
