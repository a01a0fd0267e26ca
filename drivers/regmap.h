/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * regmap.h — Modbus register maps: how a site's serial-to-Modbus gateway
 * lays out a monitor's readings in registers, and the pure code that turns
 * the registers of one poll into readings (and, for vitals-sim, values into
 * registers).
 *
 * A RegMap is parsed from config/modbus/NAME.conf by daemon/regmap_conf.c
 * (the file format is documented there and in the shipped example maps);
 * everything here is pure: registers in, readings out, no I/O, no globals,
 * no logging.  Register contents follow the MODBUS Application Protocol
 * Specification V1.1b3 §4.2: every register is a big-endian 16-bit word;
 * the order of the two words of a 32-bit value is not specified by Modbus
 * and is the map's `word_order`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "reading.h"

typedef enum RegType {
        REG_INT16,
        REG_UINT16,
        REG_INT32,
        REG_UINT32,
        REG_FLOAT32, /* IEEE 754 binary32 */
        _REG_TYPE_MAX,
        _REG_TYPE_INVALID = -1,
} RegType;

typedef enum RegWordOrder {
        REG_WORDS_HIGH_FIRST, /* "ABCD": the register at `address` holds the high word */
        REG_WORDS_LOW_FIRST,  /* "CDAB": the register at `address` holds the low word */
        _REG_WORD_ORDER_MAX,
        _REG_WORD_ORDER_INVALID = -1,
} RegWordOrder;

#define REGMAP_PARAMS_MAX 32
#define REGMAP_SENTINELS_MAX 4
#define REGMAP_NAME_MAX 64

/* One status register (in the parameter's table) and the bits that count:
 * the condition holds when any bit of mask is set. */
typedef struct RegBits {
        bool used;
        uint16_t address;
        uint16_t mask;
} RegBits;

typedef struct RegParam {
        char name[READING_PARAM_MAX]; /* the section name: "SPO2" */
        char unit[READING_UNIT_MAX];  /* UCUM unit of raw * scale + offset */
        ModbusTable table;
        uint16_t address;
        RegType type;
        RegWordOrder word_order; /* 32-bit types only */
        double scale, offset;    /* value = raw * scale + offset */
        /* Raw patterns that mean "no value" (an int16 -32768 is 0x8000; a
         * float32 is compared bit for bit).  A float32 NaN or infinity is
         * always "no value". */
        uint32_t sentinel[REGMAP_SENTINELS_MAX];
        size_t n_sentinels;
        RegBits valid;      /* used: the value is valid only while a bit is set */
        RegBits sensor_off; /* a bit set: sensor off, value unavailable */
        RegBits alarm;      /* a bit set: the device has this parameter in alarm */
        /* A register the gateway bumps on every new episodic measurement
         * (NIBP); without it, a changed value counts as a new one. */
        RegBits sequence;
        bool episodic; /* from the catalogue: judged per measurement */
        unsigned line; /* the [SECTION] line in the map file */
} RegParam;

typedef struct RegMap {
        char name[REGMAP_NAME_MAX];
        uint64_t poll_usec;
        /* Registers at most this many unused addresses apart are read in one
         * request (0: only adjacent ones; some gateways answer a read that
         * touches an unmapped register with exception 02). */
        unsigned read_gap;
        RegParam params[REGMAP_PARAMS_MAX];
        size_t n_params;
} RegMap;

/* Per-device memory of the decoder, for new-measurement detection.  Zero
 * it before the first poll. */
typedef struct RegDecodeState {
        bool seen[REGMAP_PARAMS_MAX];
        uint32_t last_raw[REGMAP_PARAMS_MAX];
        uint16_t last_sequence[REGMAP_PARAMS_MAX];
} RegDecodeState;

const char *regmap_type_to_string(RegType t); /* "int16" ... "float32" */
RegType regmap_type_from_string(const char *s);
const char *regmap_word_order_to_string(RegWordOrder w); /* "high-first", "low-first" */
RegWordOrder regmap_word_order_from_string(const char *s);
unsigned regmap_type_words(RegType t); /* registers a value occupies: 1 or 2 */

/* The raw bit pattern of a value from its registers (1 or 2 of them). */
uint32_t regmap_raw(RegType t, RegWordOrder w, const uint16_t *regs);
/* The number a raw pattern holds (sign-extended for int16/int32); NaN or
 * infinity only for a float32 that holds one. */
double regmap_raw_number(RegType t, uint32_t raw);
/* The raw pattern that holds x, rounded to the nearest integer for the
 * integer types.  -ERANGE when x does not fit the type (or is NaN). */
int regmap_raw_from_number(RegType t, double x, uint32_t *ret_raw);
/* Splits a raw pattern into its registers in word order. */
void regmap_raw_to_regs(RegType t, RegWordOrder w, uint32_t raw, uint16_t *regs);

/* vitals-sim: the registers for a physical value (raw = (value - offset) /
 * scale).  -ERANGE when it does not fit the type. */
int regmap_encode(const RegParam *p, double value, uint16_t *regs);

/* Groups every register the map uses (values and status registers) into
 * as few reads as the limits and read_gap allow; sets interval_usec to the
 * map's poll interval.  -E2BIG when the map needs more than
 * MODBUS_PLAN_BLOCKS_MAX reads or MODBUS_PLAN_REGS_MAX registers. */
int regmap_plan(const RegMap *m, ModbusPlan *ret);

/* Decodes every parameter of the map from one poll's registers (laid out
 * as by regmap_plan) into out[] (room for REGMAP_PARAMS_MAX).  Host times
 * and device time are left 0.  Returns how many readings it wrote; a
 * parameter whose registers the plan lacks is skipped. */
size_t regmap_decode(const RegMap *m, const ModbusPlan *plan, const uint16_t *regs, size_t n_regs,
                     RegDecodeState *state, Reading *out);
