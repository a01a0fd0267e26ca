/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * regmap.c — Modbus register decoding, encoding and read planning.
 *
 * Pure: no I/O, no globals, no logging (see regmap.h).  Facts used:
 * MODBUS Application Protocol Specification V1.1b3 §4.2 (registers are
 * 16-bit big-endian words; addresses on the wire are 0-based), §6.3/§6.4
 * (Read Holding / Input Registers, 1..125 registers per request).  32-bit
 * values span two consecutive registers in the order the map states.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "regmap.h"

static const char *const type_names[_REG_TYPE_MAX] = {
        [REG_INT16] = "int16",   [REG_UINT16] = "uint16",   [REG_INT32] = "int32",
        [REG_UINT32] = "uint32", [REG_FLOAT32] = "float32",
};

static const char *const word_order_names[_REG_WORD_ORDER_MAX] = {
        [REG_WORDS_HIGH_FIRST] = "high-first",
        [REG_WORDS_LOW_FIRST] = "low-first",
};

const char *regmap_type_to_string(RegType t)
{
        return (unsigned)t < _REG_TYPE_MAX ? type_names[t] : "invalid";
}

RegType regmap_type_from_string(const char *s)
{
        for (int i = 0; s && i < _REG_TYPE_MAX; i++)
                if (strcmp(s, type_names[i]) == 0)
                        return (RegType)i;
        return _REG_TYPE_INVALID;
}

const char *regmap_word_order_to_string(RegWordOrder w)
{
        return (unsigned)w < _REG_WORD_ORDER_MAX ? word_order_names[w] : "invalid";
}

RegWordOrder regmap_word_order_from_string(const char *s)
{
        for (int i = 0; s && i < _REG_WORD_ORDER_MAX; i++)
                if (strcmp(s, word_order_names[i]) == 0)
                        return (RegWordOrder)i;
        return _REG_WORD_ORDER_INVALID;
}

const char *modbus_table_to_string(ModbusTable t)
{
        return t == MODBUS_TABLE_INPUT ? "input" : "holding";
}

unsigned regmap_type_words(RegType t)
{
        return t == REG_INT16 || t == REG_UINT16 ? 1 : 2;
}

/* --- values ----------------------------------------------------------- */

uint32_t regmap_raw(RegType t, RegWordOrder w, const uint16_t *regs)
{
        if (regmap_type_words(t) == 1)
                return regs[0];
        if (w == REG_WORDS_LOW_FIRST)
                return (uint32_t)regs[1] << 16 | regs[0];
        return (uint32_t)regs[0] << 16 | regs[1];
}

void regmap_raw_to_regs(RegType t, RegWordOrder w, uint32_t raw, uint16_t *regs)
{
        uint16_t hi = (uint16_t)(raw >> 16), lo = (uint16_t)raw;

        if (regmap_type_words(t) == 1) {
                regs[0] = lo;
                return;
        }
        regs[0] = w == REG_WORDS_LOW_FIRST ? lo : hi;
        regs[1] = w == REG_WORDS_LOW_FIRST ? hi : lo;
}

double regmap_raw_number(RegType t, uint32_t raw)
{
        float f;

        switch (t) {
        case REG_INT16:
                return (double)(int16_t)(uint16_t)raw;
        case REG_UINT16:
                return (double)(uint16_t)raw;
        case REG_INT32:
                return (double)(int32_t)raw;
        case REG_UINT32:
                return (double)raw;
        case REG_FLOAT32:
                memcpy(&f, &raw, sizeof(f));
                return (double)f;
        default:
                return NAN;
        }
}

int regmap_raw_from_number(RegType t, double x, uint32_t *ret_raw)
{
        double r = round(x);
        float f;

        if (isnan(x))
                return -ERANGE;
        switch (t) {
        case REG_INT16:
                if (r < INT16_MIN || r > INT16_MAX)
                        return -ERANGE;
                *ret_raw = (uint16_t)(int16_t)r;
                return 0;
        case REG_UINT16:
                if (r < 0 || r > UINT16_MAX)
                        return -ERANGE;
                *ret_raw = (uint32_t)r;
                return 0;
        case REG_INT32:
                if (r < INT32_MIN || r > INT32_MAX)
                        return -ERANGE;
                *ret_raw = (uint32_t)(int32_t)r;
                return 0;
        case REG_UINT32:
                if (r < 0 || r > UINT32_MAX)
                        return -ERANGE;
                *ret_raw = (uint32_t)r;
                return 0;
        case REG_FLOAT32:
                if (isinf(x) || fabs(x) > 3.4028234663852886e38)
                        return -ERANGE;
                f = (float)x;
                memcpy(ret_raw, &f, sizeof(*ret_raw));
                return 0;
        default:
                return -EINVAL;
        }
}

int regmap_encode(const RegParam *p, double value, uint16_t *regs)
{
        uint32_t raw;
        int r;

        if (p->scale == 0)
                return -EINVAL;
        r = regmap_raw_from_number(p->type, (value - p->offset) / p->scale, &raw);
        if (r < 0)
                return r;
        regmap_raw_to_regs(p->type, p->word_order, raw, regs);
        return 0;
}

/* --- planning ----------------------------------------------------------- */

typedef struct Span {
        ModbusTable table;
        uint32_t start, end; /* [start, end) */
} Span;

static int span_cmp(const void *a, const void *b)
{
        const Span *x = a, *y = b;

        if (x->table != y->table)
                return x->table < y->table ? -1 : 1;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        return x->end < y->end ? -1 : x->end > y->end;
}

static void add_span(Span *spans, size_t *n, ModbusTable table, uint32_t start, unsigned words)
{
        spans[(*n)++] = (Span){.table = table, .start = start, .end = start + words};
}

int regmap_plan(const RegMap *m, ModbusPlan *ret)
{
        Span spans[REGMAP_PARAMS_MAX * 5];
        size_t n = 0;

        memset(ret, 0, sizeof(*ret));
        ret->interval_usec = m->poll_usec;
        for (size_t i = 0; i < m->n_params && i < REGMAP_PARAMS_MAX; i++) {
                const RegParam *p = &m->params[i];
                const RegBits *bits[] = {&p->valid, &p->sensor_off, &p->alarm, &p->sequence};

                add_span(spans, &n, p->table, p->address, regmap_type_words(p->type));
                for (size_t k = 0; k < sizeof(bits) / sizeof(bits[0]); k++)
                        if (bits[k]->used)
                                add_span(spans, &n, p->table, bits[k]->address, 1);
        }
        if (n == 0)
                return 0;
        qsort(spans, n, sizeof(spans[0]), span_cmp);

        /* Sweep in address order: extend the current read while the next
         * span starts within read_gap of its end and the read stays within
         * one request's limit; otherwise start a new read. */
        Span cur = spans[0];
        for (size_t i = 1; i <= n; i++) {
                bool flush = i == n;

                if (!flush) {
                        const Span *s = &spans[i];
                        uint32_t end = s->end > cur.end ? s->end : cur.end;

                        if (s->table == cur.table && s->start <= cur.end + m->read_gap &&
                            end - cur.start <= MODBUS_PLAN_READ_MAX) {
                                cur.end = end;
                                continue;
                        }
                        flush = true;
                }
                if (ret->n_blocks == MODBUS_PLAN_BLOCKS_MAX ||
                    ret->n_regs + (cur.end - cur.start) > MODBUS_PLAN_REGS_MAX)
                        return -E2BIG;
                ret->blocks[ret->n_blocks++] = (ModbusBlock){
                        .table = cur.table,
                        .address = (uint16_t)cur.start,
                        .count = (uint16_t)(cur.end - cur.start),
                };
                ret->n_regs += cur.end - cur.start;
                if (i < n)
                        cur = spans[i];
        }
        return 0;
}

int modbus_plan_index(const ModbusPlan *p, ModbusTable table, uint16_t address)
{
        size_t base = 0;

        for (size_t i = 0; i < p->n_blocks; i++) {
                const ModbusBlock *b = &p->blocks[i];

                if (b->table == table && address >= b->address &&
                    (uint32_t)address < (uint32_t)b->address + b->count)
                        return (int)(base + (address - b->address));
                base += b->count;
        }
        return -1;
}

/* --- decoding ----------------------------------------------------------- */

/* -1: the plan lacks the register; 0 or 1: whether a bit of mask is set. */
static int bits_set(const RegBits *b, ModbusTable table, const ModbusPlan *plan,
                    const uint16_t *regs, size_t n_regs, uint16_t *ret_value)
{
        int i = modbus_plan_index(plan, table, b->address);

        if (i < 0 || (size_t)i >= n_regs)
                return -1;
        if (ret_value)
                *ret_value = regs[i];
        return (regs[i] & b->mask) != 0;
}

static bool is_sentinel(const RegParam *p, uint32_t raw)
{
        for (size_t i = 0; i < p->n_sentinels && i < REGMAP_SENTINELS_MAX; i++)
                if (p->sentinel[i] == raw)
                        return true;
        return false;
}

static bool decode_param(const RegParam *p, size_t index, const ModbusPlan *plan,
                         const uint16_t *regs, size_t n_regs, RegDecodeState *st, Reading *out)
{
        unsigned words = regmap_type_words(p->type);
        int at = modbus_plan_index(plan, p->table, p->address);
        uint16_t seq = 0;
        uint32_t raw;
        double x;
        int valid = -1, off = -1, alarm = -1, seq_ok = -1;

        if (at < 0 || (size_t)at + words > n_regs ||
            modbus_plan_index(plan, p->table, (uint16_t)(p->address + words - 1)) !=
                at + (int)words - 1)
                return false;
        if (p->valid.used && (valid = bits_set(&p->valid, p->table, plan, regs, n_regs, NULL)) < 0)
                return false;
        if (p->sensor_off.used &&
            (off = bits_set(&p->sensor_off, p->table, plan, regs, n_regs, NULL)) < 0)
                return false;
        if (p->alarm.used && (alarm = bits_set(&p->alarm, p->table, plan, regs, n_regs, NULL)) < 0)
                return false;
        if (p->sequence.used &&
            (seq_ok = bits_set(&p->sequence, p->table, plan, regs, n_regs, &seq)) < 0)
                return false;

        raw = regmap_raw(p->type, p->word_order, regs + at);
        x = regmap_raw_number(p->type, raw);

        memset(out, 0, sizeof(*out));
        reading_set_name(out, p->name, p->unit);
        /* The most specific statement wins: the sensor is off; else the
         * device says the value is not valid; else the value is one of the
         * "no value" patterns. */
        if (off == 1) {
                out->status = READING_UNAVAILABLE;
                out->flags |= READING_FLAG_SENSOR_OFF;
        } else if (valid == 0)
                out->status = READING_INVALID;
        else if (is_sentinel(p, raw) || !isfinite(x))
                out->status = READING_UNAVAILABLE;
        else {
                out->status = READING_VALID;
                out->value = x * p->scale + p->offset;
        }
        if (alarm == 1)
                out->flags |= READING_FLAG_DEVICE_ALARM;

        /* Episodic (NIBP): a new measurement when the gateway's sequence
         * register moved, or (without one) when the raw value changed.  The
         * first value seen counts as new: a monitor's last result may be
         * recent, and a logger must not be quieter than the truth. */
        if (p->episodic && out->status == READING_VALID) {
                bool is_new = !st->seen[index] || (seq_ok >= 0 ? seq != st->last_sequence[index]
                                                               : raw != st->last_raw[index]);
                if (is_new)
                        out->flags |= READING_FLAG_NEW_MEASUREMENT;
        }
        if (p->episodic && (out->status == READING_VALID || seq_ok >= 0)) {
                st->seen[index] = true;
                st->last_raw[index] = raw;
                st->last_sequence[index] = seq;
        }
        return true;
}

size_t regmap_decode(const RegMap *m, const ModbusPlan *plan, const uint16_t *regs, size_t n_regs,
                     RegDecodeState *state, Reading *out)
{
        size_t n = 0;

        for (size_t i = 0; i < m->n_params && i < REGMAP_PARAMS_MAX; i++)
                if (decode_param(&m->params[i], i, plan, regs, n_regs, state, &out[n]))
                        n++;
        return n;
}
