/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * regmap_conf.c — strict parsing of Modbus register map files.
 *
 * FILE FORMAT (INI, one file per gateway layout: modbus/NAME.conf; the
 * shipped maps in config/modbus/ explain every line):
 *
 *   [map]                       optional, once
 *   poll_interval = SECONDS     time between polls of a device (0.1..60; 1)
 *   word_order = high-first|low-first
 *                               default order of the two registers of a
 *                               32-bit value (high-first)
 *   read_gap = N                read registers at most N unused addresses
 *                               apart in one request (0..32; 0)
 *   description = TEXT          free text
 *
 *   [PARAM]                     one per parameter: a catalogue name (HR, PR,
 *                               SPO2, NIBP_SYS, NIBP_DIA, NIBP_MEAN, NIBP_PR,
 *                               RR, TEMP) or the device's own name in
 *                               [A-Z][A-Z0-9_]* (kept under that name)
 *   function = holding|input    read with function 03 or 04 (required)
 *   address = N                 0-based protocol address, as on the wire
 *                               (register 40101 in the "4xxxx" notation is
 *                               holding address 100) (required)
 *   type = int16|uint16|int32|uint32|float32   (required)
 *   word_order = high-first|low-first          32-bit types only
 *   scale = X, offset = Y       value = raw * X + Y (1 and 0)
 *   unit = UCUM                 unit of the scaled value (required); for a
 *                               catalogue parameter it must convert to the
 *                               catalogue's unit (kPa → mm[Hg] does)
 *   invalid = V[, V...]         up to 4 raw values meaning "no value"
 *                               (decimal or 0x hex, in the type's range)
 *   valid_register = N, valid_bit = B        value valid only while bit B is set
 *   sensor_off_register = N, sensor_off_bit = B   bit B set: sensor off
 *   alarm_register = N, alarm_mask = M       any bit of M set: device alarm
 *   sequence_register = N       episodic parameters: bumped by the gateway on
 *                               every new measurement
 *
 * Status registers are read with the parameter's function.  Checked: every
 * key known and set once, ranges, value registers of two parameters never
 * overlapping and no status register inside a value, units convertible,
 * the whole map readable in one poll (≤ MODBUS_PLAN_BLOCKS_MAX requests).
 * libinih tokenises; a line-counting reader gives file:line:key, as in
 * conffile.c.
 */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "regmap_conf.h"

typedef enum ParamKey {
        K_FUNCTION,
        K_ADDRESS,
        K_TYPE,
        K_WORD_ORDER,
        K_SCALE,
        K_OFFSET,
        K_UNIT,
        K_INVALID,
        K_VALID_REGISTER,
        K_VALID_BIT,
        K_SENSOR_OFF_REGISTER,
        K_SENSOR_OFF_BIT,
        K_ALARM_REGISTER,
        K_ALARM_MASK,
        K_SEQUENCE_REGISTER,
        _K_PARAM_MAX,
} ParamKey;

static const char *const param_keys[_K_PARAM_MAX] = {
        [K_FUNCTION] = "function",
        [K_ADDRESS] = "address",
        [K_TYPE] = "type",
        [K_WORD_ORDER] = "word_order",
        [K_SCALE] = "scale",
        [K_OFFSET] = "offset",
        [K_UNIT] = "unit",
        [K_INVALID] = "invalid",
        [K_VALID_REGISTER] = "valid_register",
        [K_VALID_BIT] = "valid_bit",
        [K_SENSOR_OFF_REGISTER] = "sensor_off_register",
        [K_SENSOR_OFF_BIT] = "sensor_off_bit",
        [K_ALARM_REGISTER] = "alarm_register",
        [K_ALARM_MASK] = "alarm_mask",
        [K_SEQUENCE_REGISTER] = "sequence_register",
};

typedef enum MapKey {
        M_POLL_INTERVAL,
        M_WORD_ORDER,
        M_READ_GAP,
        M_DESCRIPTION,
        _M_MAX,
} MapKey;

static const char *const map_keys[_M_MAX] = {
        [M_POLL_INTERVAL] = "poll_interval",
        [M_WORD_ORDER] = "word_order",
        [M_READ_GAP] = "read_gap",
        [M_DESCRIPTION] = "description",
};

#define KEYS_MAX ((int)_K_PARAM_MAX > (int)_M_MAX ? (int)_K_PARAM_MAX : (int)_M_MAX)

typedef struct Section {
        char name[READING_PARAM_MAX];
        unsigned line;
        char *value[KEYS_MAX];
        unsigned key_line[KEYS_MAX];
} Section;

typedef struct ParseCtx {
        const char *file;
        FILE *f;
        unsigned line, section_line;
        RegMapErrorFn err;
        void *userdata;
        int errors;
        Section map;
        bool have_map;
        Section params[REGMAP_PARAMS_MAX];
        size_t n_params;
        Section *cur;        /* the section keys go to; NULL: ignored */
        char cur_name[128];  /* the section inih last reported ... */
        unsigned cur_section_line; /* ... and the line of its header */
        bool too_many_noted; /* "more than 32 parameters" said once */
} ParseCtx;

static void problem(ParseCtx *p, unsigned line, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void problem(ParseCtx *p, unsigned line, const char *key, const char *fmt, ...)
{
        char msg[384];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        p->errors++;
        if (p->err)
                p->err(p->userdata, p->file, line, key, msg);
}

static bool param_name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n >= READING_PARAM_MAX || !(s[0] >= 'A' && s[0] <= 'Z'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static char *reader(char *str, int num, void *stream)
{
        ParseCtx *p = stream;
        char *r = fgets(str, num, p->f);
        const char *s = r;

        if (!r)
                return NULL;
        p->line++;
        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == '[') {
                /* Section names are checked here, where even a section
                 * without keys (which inih never reports) is seen. */
                const char *end = strchr(s, ']');
                char name[128];

                p->section_line = p->line;
                if (end && (size_t)(end - s - 1) < sizeof(name)) {
                        memcpy(name, s + 1, (size_t)(end - s - 1));
                        name[end - s - 1] = '\0';
                        if (strcmp(name, "map") != 0 && !param_name_valid(name))
                                problem(p, p->line, NULL,
                                        "[%s]: a section is [map] or a parameter name in "
                                        "capitals, digits and '_' (at most %d characters), "
                                        "e.g. [SPO2]",
                                        name, READING_PARAM_MAX - 1);
                }
        }
        return r;
}

bool regmap_name_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n >= REGMAP_NAME_MAX || name[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.'))
                        return false;
        }
        return true;
}

static Section *open_section(ParseCtx *p, const char *section)
{
        if (strcmp(section, "map") == 0) {
                if (p->have_map) {
                        problem(p, p->section_line, NULL, "[map] defined twice (first on line %u)",
                                p->map.line);
                        return NULL;
                }
                p->have_map = true;
                p->map.line = p->section_line;
                return &p->map;
        }
        if (!param_name_valid(section))
                return NULL; /* reported by the reader */
        for (size_t i = 0; i < p->n_params; i++)
                if (strcmp(p->params[i].name, section) == 0) {
                        problem(p, p->section_line, NULL, "[%s] defined twice (first on line %u)",
                                section, p->params[i].line);
                        return NULL;
                }
        if (p->n_params == REGMAP_PARAMS_MAX) {
                if (!p->too_many_noted)
                        problem(p, p->section_line, NULL,
                                "[%s]: a map holds at most %d parameters", section,
                                REGMAP_PARAMS_MAX);
                p->too_many_noted = true;
                return NULL;
        }
        Section *s = &p->params[p->n_params++];
        snprintf(s->name, sizeof(s->name), "%s", section);
        s->line = p->section_line;
        return s;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        ParseCtx *p = user;
        const char *const *keys;
        size_t n_keys;

        if (!name)
                return 1;
        /* A new header, even one repeating the last name, opens a section. */
        if (strcmp(p->cur_name, section) != 0 || p->section_line != p->cur_section_line) {
                snprintf(p->cur_name, sizeof(p->cur_name), "%s", section);
                p->cur_section_line = p->section_line;
                p->cur = open_section(p, section);
        }
        if (!p->cur)
                return 1;
        keys = p->cur == &p->map ? map_keys : param_keys;
        n_keys = p->cur == &p->map ? _M_MAX : _K_PARAM_MAX;
        for (size_t k = 0; k < n_keys; k++) {
                if (strcmp(keys[k], name) != 0)
                        continue;
                if (p->cur->value[k]) {
                        problem(p, p->line, name, "set twice in [%s] (first on line %u)", section,
                                p->cur->key_line[k]);
                        return 1;
                }
                p->cur->value[k] = strdup(value);
                p->cur->key_line[k] = p->line;
                return p->cur->value[k] ? 1 : 0;
        }
        problem(p, p->line, name, "unknown key in [%s]", section);
        return 1;
}

/* --- values ------------------------------------------------------------ */

/* Decimal, or hexadecimal with 0x; an optional '-' for decimal.  No octal:
 * a leading zero is just a zero. */
static int parse_integer(const char *s, long long *ret)
{
        char *end;
        long long v;

        while (*s == ' ' || *s == '\t')
                s++;
        if (!*s)
                return -EINVAL;
        errno = 0;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                if (!s[2])
                        return -EINVAL;
                v = (long long)strtoull(s + 2, &end, 16);
        } else
                v = strtoll(s, &end, 10);
        while (*end == ' ' || *end == '\t')
                end++;
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_real(const char *s, double *ret)
{
        char *end;
        double v;

        if (!*s)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || *end || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

static bool unit_valid(const char *u)
{
        size_t n = strlen(u);

        if (n == 0 || n >= READING_UNIT_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (u[i] <= ' ' || u[i] > '~')
                        return false;
        return true;
}

static const char *key_of(const Section *s, ParamKey k)
{
        return s->value[k];
}

/* An address key: 0..65535 (65534 for the first register of two). */
static int want_address(ParseCtx *p, const Section *s, unsigned k, unsigned words, uint16_t *ret)
{
        long long v;

        if (parse_integer(s->value[k], &v) < 0 || v < 0 || v > 65536 - (long long)words) {
                problem(p, s->key_line[k], param_keys[k],
                        "must be a register address from 0 to %u, got \"%s\"", 65536 - words,
                        s->value[k]);
                return -EINVAL;
        }
        *ret = (uint16_t)v;
        return 0;
}

static int want_status(ParseCtx *p, const Section *s, ParamKey reg_key, ParamKey bit_key,
                       bool is_mask, RegBits *ret)
{
        long long v;
        uint16_t address;

        if (!s->value[reg_key] && !s->value[bit_key])
                return 0;
        if (!s->value[reg_key]) {
                problem(p, s->key_line[bit_key], param_keys[bit_key], "needs %s in [%s]",
                        param_keys[reg_key], s->name);
                return -EINVAL;
        }
        if (want_address(p, s, reg_key, 1, &address) < 0)
                return -EINVAL;
        if (!s->value[bit_key]) {
                problem(p, s->key_line[reg_key], param_keys[reg_key], "needs %s in [%s]",
                        param_keys[bit_key], s->name);
                return -EINVAL;
        }
        if (is_mask) {
                if (parse_integer(s->value[bit_key], &v) < 0 || v < 1 || v > 0xFFFF) {
                        problem(p, s->key_line[bit_key], param_keys[bit_key],
                                "must be a bit mask from 0x0001 to 0xFFFF, got \"%s\"",
                                s->value[bit_key]);
                        return -EINVAL;
                }
        } else {
                if (parse_integer(s->value[bit_key], &v) < 0 || v < 0 || v > 15) {
                        problem(p, s->key_line[bit_key], param_keys[bit_key],
                                "must be a bit number from 0 to 15, got \"%s\"",
                                s->value[bit_key]);
                        return -EINVAL;
                }
                v = 1LL << v;
        }
        *ret = (RegBits){.used = true, .address = address, .mask = (uint16_t)v};
        return 0;
}

/* Sentinels are raw register contents: an integer in the range of the
 * type (signed types also take their unsigned hex spelling: int16 0x8000
 * is -32768), or for float32 a number stored bit for bit. */
static int parse_sentinel(RegType t, const char *text, uint32_t *ret)
{
        long long v;
        double x;
        bool hex;

        while (*text == ' ' || *text == '\t')
                text++;
        hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        if (t == REG_FLOAT32) {
                if (hex) {
                        if (parse_integer(text, &v) < 0 || v < 0 || v > 0xFFFFFFFFLL)
                                return -ERANGE;
                        *ret = (uint32_t)v;
                        return 0;
                }
                if (parse_real(text, &x) < 0)
                        return -ERANGE;
                return regmap_raw_from_number(t, x, ret);
        }
        if (parse_integer(text, &v) < 0)
                return -ERANGE;
        if (hex) {
                if (v < 0 || (unsigned long long)v > (regmap_type_words(t) == 1 ? 0xFFFFULL
                                                                                 : 0xFFFFFFFFULL))
                        return -ERANGE;
                *ret = (uint32_t)v;
                return 0;
        }
        if (v != (long long)(double)v)
                return -ERANGE;
        return regmap_raw_from_number(t, (double)v, ret);
}

static int want_sentinels(ParseCtx *p, const Section *s, RegParam *rp)
{
        char buf[256], *save = NULL;
        const char *text = s->value[K_INVALID];

        if (!text)
                return 0;
        snprintf(buf, sizeof(buf), "%s", text);
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *e = tok + strlen(tok);
                while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
                        *--e = '\0';
                if (rp->n_sentinels == REGMAP_SENTINELS_MAX) {
                        problem(p, s->key_line[K_INVALID], "invalid",
                                "at most %d values, got \"%s\"", REGMAP_SENTINELS_MAX, text);
                        return -EINVAL;
                }
                if (parse_sentinel(rp->type, tok, &rp->sentinel[rp->n_sentinels]) < 0) {
                        problem(p, s->key_line[K_INVALID], "invalid",
                                "\"%s\" is not a raw %s value", tok,
                                regmap_type_to_string(rp->type));
                        return -EINVAL;
                }
                rp->n_sentinels++;
        }
        if (rp->n_sentinels == 0) {
                problem(p, s->key_line[K_INVALID], "invalid", "must list at least one value");
                return -EINVAL;
        }
        return 0;
}

static int want_unit(ParseCtx *p, const Section *s, RegParam *rp)
{
        const CatalogueEntry *e = catalogue_find(s->name);
        const char *unit;
        double v;

        if (!unit_valid(s->value[K_UNIT])) {
                problem(p, s->key_line[K_UNIT], "unit",
                        "must be a UCUM unit of 1 to %d characters without spaces, got \"%s\"",
                        READING_UNIT_MAX - 1, s->value[K_UNIT]);
                return -EINVAL;
        }
        if (e && catalogue_normalise(s->name, s->value[K_UNIT], 1.0, &v, &unit) < 0) {
                problem(p, s->key_line[K_UNIT], "unit",
                        "%s is recorded in %s and \"%s\" cannot be converted to it", s->name,
                        e->ucum, s->value[K_UNIT]);
                return -EINVAL;
        }
        snprintf(rp->unit, sizeof(rp->unit), "%s", s->value[K_UNIT]);
        rp->episodic = e && e->episodic;
        return 0;
}

static void finish_param(ParseCtx *p, const Section *s, RegWordOrder default_order, RegMap *m)
{
        RegParam rp = {.scale = 1, .offset = 0, .word_order = default_order, .line = s->line};
        static const ParamKey required[] = {K_FUNCTION, K_ADDRESS, K_TYPE, K_UNIT};
        int before = p->errors;

        snprintf(rp.name, sizeof(rp.name), "%s", s->name);
        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
                if (!s->value[required[i]])
                        problem(p, s->line, param_keys[required[i]], "missing in [%s]", s->name);
        if (p->errors != before)
                return;

        if (strcmp(key_of(s, K_FUNCTION), "holding") == 0)
                rp.table = MODBUS_TABLE_HOLDING;
        else if (strcmp(key_of(s, K_FUNCTION), "input") == 0)
                rp.table = MODBUS_TABLE_INPUT;
        else
                problem(p, s->key_line[K_FUNCTION], "function",
                        "must be holding (function 03) or input (function 04), got \"%s\"",
                        key_of(s, K_FUNCTION));

        rp.type = regmap_type_from_string(key_of(s, K_TYPE));
        if (rp.type == _REG_TYPE_INVALID) {
                problem(p, s->key_line[K_TYPE], "type",
                        "unknown type \"%s\" (known: int16, uint16, int32, uint32, float32)",
                        key_of(s, K_TYPE));
                return;
        }
        (void)want_address(p, s, K_ADDRESS, regmap_type_words(rp.type), &rp.address);

        if (s->value[K_WORD_ORDER]) {
                rp.word_order = regmap_word_order_from_string(s->value[K_WORD_ORDER]);
                if (regmap_type_words(rp.type) == 1)
                        problem(p, s->key_line[K_WORD_ORDER], "word_order",
                                "applies to 32-bit types only; %s is one register",
                                regmap_type_to_string(rp.type));
                else if (rp.word_order == _REG_WORD_ORDER_INVALID)
                        problem(p, s->key_line[K_WORD_ORDER], "word_order",
                                "must be high-first or low-first, got \"%s\"",
                                s->value[K_WORD_ORDER]);
        }
        if (s->value[K_SCALE] &&
            (parse_real(s->value[K_SCALE], &rp.scale) < 0 || rp.scale == 0))
                problem(p, s->key_line[K_SCALE], "scale", "must be a non-zero number, got \"%s\"",
                        s->value[K_SCALE]);
        if (s->value[K_OFFSET] && parse_real(s->value[K_OFFSET], &rp.offset) < 0)
                problem(p, s->key_line[K_OFFSET], "offset", "must be a number, got \"%s\"",
                        s->value[K_OFFSET]);
        (void)want_unit(p, s, &rp);
        (void)want_sentinels(p, s, &rp);
        (void)want_status(p, s, K_VALID_REGISTER, K_VALID_BIT, false, &rp.valid);
        (void)want_status(p, s, K_SENSOR_OFF_REGISTER, K_SENSOR_OFF_BIT, false, &rp.sensor_off);
        (void)want_status(p, s, K_ALARM_REGISTER, K_ALARM_MASK, true, &rp.alarm);
        if (s->value[K_SEQUENCE_REGISTER]) {
                if (!rp.episodic)
                        problem(p, s->key_line[K_SEQUENCE_REGISTER], "sequence_register",
                                "applies to episodic parameters (NIBP_*) only");
                else if (want_address(p, s, K_SEQUENCE_REGISTER, 1, &rp.sequence.address) == 0)
                        rp.sequence = (RegBits){
                                .used = true, .address = rp.sequence.address, .mask = 0xFFFF};
        }
        if (p->errors == before)
                m->params[m->n_params++] = rp;
}

static void finish_map_section(ParseCtx *p, RegMap *m, RegWordOrder *ret_order)
{
        const Section *s = &p->map;
        long long v;
        double x;

        *ret_order = REG_WORDS_HIGH_FIRST;
        m->poll_usec = 1000000;
        if (s->value[M_POLL_INTERVAL]) {
                if (parse_real(s->value[M_POLL_INTERVAL], &x) < 0 || x < 0.1 || x > 60)
                        problem(p, s->key_line[M_POLL_INTERVAL], "poll_interval",
                                "must be seconds between 0.1 and 60, got \"%s\"",
                                s->value[M_POLL_INTERVAL]);
                else
                        m->poll_usec = (uint64_t)(x * 1e6 + 0.5);
        }
        if (s->value[M_WORD_ORDER]) {
                *ret_order = regmap_word_order_from_string(s->value[M_WORD_ORDER]);
                if (*ret_order == _REG_WORD_ORDER_INVALID) {
                        problem(p, s->key_line[M_WORD_ORDER], "word_order",
                                "must be high-first or low-first, got \"%s\"",
                                s->value[M_WORD_ORDER]);
                        *ret_order = REG_WORDS_HIGH_FIRST;
                }
        }
        if (s->value[M_READ_GAP]) {
                if (parse_integer(s->value[M_READ_GAP], &v) < 0 || v < 0 || v > 32)
                        problem(p, s->key_line[M_READ_GAP], "read_gap",
                                "must be a whole number from 0 to 32, got \"%s\"",
                                s->value[M_READ_GAP]);
                else
                        m->read_gap = (unsigned)v;
        }
}

static const Section *section_of(const ParseCtx *p, const RegParam *rp)
{
        for (size_t i = 0; i < p->n_params; i++)
                if (strcmp(p->params[i].name, rp->name) == 0)
                        return &p->params[i];
        return NULL;
}

/* Value registers never share an address; a status register never lies
 * inside a value (it would be decoded as both). */
static void check_overlaps(ParseCtx *p, const RegMap *m)
{
        for (size_t i = 0; i < m->n_params; i++) {
                const RegParam *a = &m->params[i];
                uint32_t a0 = a->address, a1 = a0 + regmap_type_words(a->type);
                const Section *sa = section_of(p, a);

                for (size_t j = 0; j < m->n_params; j++) {
                        const RegParam *b = &m->params[j];
                        uint32_t b0 = b->address, b1 = b0 + regmap_type_words(b->type);
                        const RegBits *bits[] = {&a->valid, &a->sensor_off, &a->alarm,
                                                 &a->sequence};
                        static const ParamKey bit_keys[] = {K_VALID_REGISTER, K_SENSOR_OFF_REGISTER,
                                                            K_ALARM_REGISTER, K_SEQUENCE_REGISTER};

                        if (a->table != b->table)
                                continue;
                        if (j > i && a0 < b1 && b0 < a1) {
                                const Section *sb = section_of(p, b);
                                problem(p, sb ? sb->key_line[K_ADDRESS] : b->line, "address",
                                        "[%s] %s registers %u-%u overlap [%s] (%u-%u, line %u)",
                                        b->name, modbus_table_to_string(b->table), b0, b1 - 1,
                                        a->name, a0, a1 - 1, sa ? sa->key_line[K_ADDRESS] : a->line);
                        }
                        for (size_t k = 0; k < sizeof(bits) / sizeof(bits[0]); k++)
                                if (bits[k]->used && bits[k]->address >= b0 &&
                                    bits[k]->address < b1)
                                        problem(p, sa ? sa->key_line[bit_keys[k]] : a->line,
                                                param_keys[bit_keys[k]],
                                                "register %u is part of the value of [%s]",
                                                bits[k]->address, b->name);
                }
        }
}

int regmap_load(const char *path, RegMap *ret, RegMapErrorFn err, void *userdata)
{
        ParseCtx p = {.file = path, .err = err, .userdata = userdata};
        const char *base = strrchr(path, '/');
        RegWordOrder order;
        ModbusPlan plan;
        size_t len;
        int r;

        memset(ret, 0, sizeof(*ret));
        base = base ? base + 1 : path;
        len = strlen(base);
        if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
                len -= 5;
        snprintf(ret->name, sizeof(ret->name), "%.*s", (int)len, base);

        p.f = fopen(path, "re");
        if (!p.f) {
                r = -errno;
                problem(&p, 0, NULL, "cannot read the register map: %s", strerror(-r));
                return r;
        }
        r = ini_parse_stream(reader, &p, handler, &p);
        fclose(p.f);
        if (r > 0)
                problem(&p, (unsigned)r, NULL, "syntax error (expected [section] or key = value)");
        else if (r < 0)
                problem(&p, 0, NULL, "cannot parse (out of memory)");

        finish_map_section(&p, ret, &order);
        for (size_t i = 0; i < p.n_params; i++)
                finish_param(&p, &p.params[i], order, ret);
        if (p.n_params == 0 && r == 0)
                problem(&p, p.line, NULL, "the map defines no parameter (e.g. [SPO2])");
        check_overlaps(&p, ret);
        if (regmap_plan(ret, &plan) == -E2BIG)
                problem(&p, p.line, NULL,
                        "the map's registers need more than %d reads or %d registers per poll; "
                        "group them or raise read_gap",
                        MODBUS_PLAN_BLOCKS_MAX, MODBUS_PLAN_REGS_MAX);

        for (size_t i = 0; i < KEYS_MAX; i++)
                free(p.map.value[i]);
        for (size_t k = 0; k < p.n_params; k++)
                for (size_t i = 0; i < KEYS_MAX; i++)
                        free(p.params[k].value[i]);
        return p.errors;
}

int regmap_check_dir(const char *dir, RegMapErrorFn err, void *userdata)
{
        struct dirent **names = NULL;
        int n, problems = 0;
        RegMap *m;

        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return -errno;
        m = malloc(sizeof(*m));
        for (int i = 0; i < n; i++) {
                const char *name = names[i]->d_name;
                size_t len = strlen(name);
                char *path = NULL;

                if (m && len > 5 && name[0] != '.' && strcmp(name + len - 5, ".conf") == 0 &&
                    asprintf(&path, "%s/%s", dir, name) >= 0) {
                        int r = regmap_load(path, m, err, userdata);
                        problems += r < 0 ? 1 : r;
                }
                free(path);
                free(names[i]);
        }
        free(names);
        if (!m)
                return -ENOMEM;
        free(m);
        return problems;
}
