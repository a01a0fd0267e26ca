/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * catalogue.h — the parameter catalogue shared by daemon, client and tests.
 *
 * Each known parameter has its IEEE 11073-10101 (MDC) code, LOINC code and
 * UCUM display unit (../shared/DESIGN.md "Parameters", INTEROP.md §3.2-3.3).
 * Parameters a monitor reports that are not in this table are kept under
 * their own name and unit; they are never dropped.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct CatalogueEntry {
        const char *name;         /* "HR" */
        const char *label;        /* "Heart rate" */
        uint32_t mdc_code;        /* 147842; 0 if none */
        const char *mdc_refid;    /* "MDC_ECG_HEART_RATE" */
        const char *loinc;        /* "8867-4"; NULL if none */
        const char *loinc_extra;  /* second LOINC coding (SpO2: 59408-5) or NULL */
        const char *ucum;         /* display unit: "/min" */
        uint32_t mdc_unit_code;   /* 264864 */
        const char *mdc_unit_refid;
        bool episodic;            /* NIBP: one value per measurement, not a stream */
} CatalogueEntry;

/* Blood pressure panel LOINC, used by FHIR/HL7 export. */
#define CATALOGUE_BP_PANEL_LOINC "85354-9"

const CatalogueEntry *catalogue_find(const char *name);
const CatalogueEntry *catalogue_entries(unsigned *ret_n);

/* Converts value from unit `from` to the catalogue display unit of `name`
 * (kPa→mm[Hg], [degF]→Cel). Returns 0 and sets *ret, or -EDOM if the units
 * are not convertible. Unknown parameters keep their value and unit. */
int catalogue_normalise(const char *name, const char *from_unit, double value, double *ret_value,
                        const char **ret_unit);
