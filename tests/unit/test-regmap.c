/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-regmap.c — Modbus register maps: decoding every type in both word
 * orders, scale and offset, "no value" sentinels, status bits, new NIBP
 * measurements, read planning, and map files (the shipped examples parse;
 * every kind of mistake is named by file, line and key).  argv[1] is the
 * directory of the shipped maps (config/modbus).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regmap.h"
#include "regmap_conf.h"
#include "testlib.h"

static const char *map_dir;

/* A one-parameter map at holding address 0, read as one block. */
static RegMap one(RegType type, RegWordOrder order, double scale, double offset)
{
        RegMap m = {.poll_usec = 1000000, .n_params = 1};

        m.params[0] = (RegParam){.name = "X",
                                 .unit = "1",
                                 .table = MODBUS_TABLE_HOLDING,
                                 .address = 0,
                                 .type = type,
                                 .word_order = order,
                                 .scale = scale,
                                 .offset = offset};
        return m;
}

/* Decodes regs (starting at holding address 0) with map m. */
static Reading decode(const RegMap *m, const uint16_t *regs, size_t n, RegDecodeState *st)
{
        ModbusPlan plan;
        Reading out[REGMAP_PARAMS_MAX];
        RegDecodeState local = {0};
        size_t got;

        memset(out, 0, sizeof(out));
        CHECK_INT(regmap_plan(m, &plan), 0);
        CHECK_INT(plan.n_regs, n);
        got = regmap_decode(m, &plan, regs, n, st ? st : &local, out);
        CHECK_INT(got, m->n_params);
        return out[0];
}

TEST(every_type_in_both_word_orders)
{
        static const struct {
                RegType type;
                RegWordOrder order;
                uint16_t regs[2];
                double value;
        } rows[] = {
            {REG_INT16, REG_WORDS_HIGH_FIRST, {0xFF38}, -200},
            {REG_INT16, REG_WORDS_HIGH_FIRST, {0x7FFF}, 32767},
            {REG_UINT16, REG_WORDS_HIGH_FIRST, {0xFF38}, 65336},
            {REG_UINT16, REG_WORDS_HIGH_FIRST, {0x0048}, 72},
            {REG_INT32, REG_WORDS_HIGH_FIRST, {0xFFFF, 0xFF38}, -200},
            {REG_INT32, REG_WORDS_LOW_FIRST, {0xFF38, 0xFFFF}, -200},
            {REG_INT32, REG_WORDS_HIGH_FIRST, {0x0001, 0x86A0}, 100000},
            {REG_INT32, REG_WORDS_LOW_FIRST, {0x86A0, 0x0001}, 100000},
            {REG_UINT32, REG_WORDS_HIGH_FIRST, {0x0001, 0x0000}, 65536},
            {REG_UINT32, REG_WORDS_LOW_FIRST, {0x0001, 0x0000}, 1},
            {REG_UINT32, REG_WORDS_HIGH_FIRST, {0xFFFF, 0xFFFF}, 4294967295.0},
            /* IEEE 754: 97.5 = 0x42C30000, -12.25 = 0xC1440000. */
            {REG_FLOAT32, REG_WORDS_HIGH_FIRST, {0x42C3, 0x0000}, 97.5},
            {REG_FLOAT32, REG_WORDS_LOW_FIRST, {0x0000, 0x42C3}, 97.5},
            {REG_FLOAT32, REG_WORDS_HIGH_FIRST, {0xC144, 0x0000}, -12.25},
            {REG_FLOAT32, REG_WORDS_LOW_FIRST, {0x0000, 0xC144}, -12.25},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                RegMap m = one(rows[i].type, rows[i].order, 1, 0);
                Reading r = decode(&m, rows[i].regs, regmap_type_words(rows[i].type), NULL);

                CHECK_INT(r.status, READING_VALID);
                CHECK_DBL(r.value, rows[i].value, 1e-9);
                CHECK_STR(r.parameter, "X");
                CHECK_STR(r.unit, "1");
        }
        /* The wrong word order reads a different number: it is not ignored. */
        {
                RegMap m = one(REG_FLOAT32, REG_WORDS_HIGH_FIRST, 1, 0);
                uint16_t swapped[2] = {0x0000, 0x42C3};
                Reading r = decode(&m, swapped, 2, NULL);
                CHECK(fabs(r.value - 97.5) > 1);
        }
}

TEST(scale_and_offset)
{
        static const struct {
                RegType type;
                uint16_t regs[2];
                double scale, offset, value;
        } rows[] = {
            {REG_UINT16, {975}, 0.1, 0, 97.5},     /* SpO2 in tenths */
            {REG_INT16, {368}, 0.1, 0, 36.8},      /* temperature in tenths */
            {REG_INT16, {0xFFF6}, 0.1, 0, -1.0},   /* negative, scaled */
            {REG_UINT16, {0}, 0.01, -40, -40},     /* offset only */
            {REG_UINT16, {7680}, 0.01, -40, 36.8}, /* (raw * 0.01) - 40 */
            {REG_UINT16, {12}, 10, 0, 120},
            {REG_INT32, {0x0000, 0x3039}, 0.001, 0, 12.345},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                RegMap m = one(rows[i].type, REG_WORDS_HIGH_FIRST, rows[i].scale, rows[i].offset);
                Reading r = decode(&m, rows[i].regs, regmap_type_words(rows[i].type), NULL);

                CHECK_INT(r.status, READING_VALID);
                CHECK_DBL(r.value, rows[i].value, 1e-9);
        }
}

TEST(sentinels_mean_no_value)
{
        static const struct {
                RegType type;
                RegWordOrder order;
                uint32_t sentinel;
                uint16_t regs[2];
                ReadingStatus status;
        } rows[] = {
            {REG_UINT16, REG_WORDS_HIGH_FIRST, 0xFFFF, {0xFFFF}, READING_UNAVAILABLE},
            {REG_UINT16, REG_WORDS_HIGH_FIRST, 0xFFFF, {0xFFFE}, READING_VALID},
            {REG_INT16, REG_WORDS_HIGH_FIRST, 0x8000, {0x8000}, READING_UNAVAILABLE},
            {REG_INT16, REG_WORDS_HIGH_FIRST, 0x8000, {0x8001}, READING_VALID},
            {REG_INT32, REG_WORDS_LOW_FIRST, 0x80000000, {0x0000, 0x8000}, READING_UNAVAILABLE},
            {REG_INT32, REG_WORDS_HIGH_FIRST, 0x80000000, {0x0000, 0x8000}, READING_VALID},
            {REG_UINT32, REG_WORDS_HIGH_FIRST, 0xFFFFFFFF, {0xFFFF, 0xFFFF}, READING_UNAVAILABLE},
            /* float32 -9999.0 = 0xC61C3C00, compared bit for bit */
            {REG_FLOAT32, REG_WORDS_HIGH_FIRST, 0xC61C3C00, {0xC61C, 0x3C00}, READING_UNAVAILABLE},
            {REG_FLOAT32, REG_WORDS_LOW_FIRST, 0xC61C3C00, {0x3C00, 0xC61C}, READING_UNAVAILABLE},
            /* NaN and infinity are never a value, sentinel or not */
            {REG_FLOAT32, REG_WORDS_HIGH_FIRST, 0xC61C3C00, {0x7FC0, 0x0000}, READING_UNAVAILABLE},
            {REG_FLOAT32, REG_WORDS_HIGH_FIRST, 0xC61C3C00, {0x7F80, 0x0000}, READING_UNAVAILABLE},
            {REG_FLOAT32, REG_WORDS_HIGH_FIRST, 0xC61C3C00, {0xFF80, 0x0000}, READING_UNAVAILABLE},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                RegMap m = one(rows[i].type, rows[i].order, 1, 0);
                Reading r;

                m.params[0].sentinel[0] = 0x1234; /* a second sentinel that never matches */
                m.params[0].sentinel[1] = rows[i].sentinel;
                m.params[0].n_sentinels = 2;
                r = decode(&m, rows[i].regs, regmap_type_words(rows[i].type), NULL);
                if (r.status != rows[i].status)
                        fprintf(stderr, "row %zu\n", i);
                CHECK_INT(r.status, rows[i].status);
        }
        /* The sentinel pattern the config loader stores for "-9999". */
        {
                uint32_t raw;
                CHECK_INT(regmap_raw_from_number(REG_FLOAT32, -9999, &raw), 0);
                CHECK_INT(raw, 0xC61C3C00);
                CHECK_INT(regmap_raw_from_number(REG_INT16, -32768, &raw), 0);
                CHECK_INT(raw, 0x8000);
        }
}

TEST(status_registers)
{
        /* Value at 0, status word at 1 (valid bit 0, sensor off bit 1),
         * alarm word at 2 (mask 0x0006). */
        RegMap m = one(REG_UINT16, REG_WORDS_HIGH_FIRST, 1, 0);
        static const struct {
                uint16_t regs[3];
                ReadingStatus status;
                uint32_t flags;
        } rows[] = {
            {{97, 0x0001, 0x0000}, READING_VALID, 0},
            {{97, 0x0000, 0x0000}, READING_INVALID, 0},
            {{97, 0x0003, 0x0000}, READING_UNAVAILABLE, READING_FLAG_SENSOR_OFF},
            /* sensor off wins over a clear valid bit */
            {{97, 0x0002, 0x0000}, READING_UNAVAILABLE, READING_FLAG_SENSOR_OFF},
            {{97, 0x0001, 0x0004}, READING_VALID, READING_FLAG_DEVICE_ALARM},
            {{97, 0x0001, 0x0001}, READING_VALID, 0}, /* a bit outside the mask */
            {{97, 0x0000, 0x0002}, READING_INVALID, READING_FLAG_DEVICE_ALARM},
        };

        m.params[0].valid = (RegBits){.used = true, .address = 1, .mask = 0x0001};
        m.params[0].sensor_off = (RegBits){.used = true, .address = 1, .mask = 0x0002};
        m.params[0].alarm = (RegBits){.used = true, .address = 2, .mask = 0x0006};
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                Reading r = decode(&m, rows[i].regs, 3, NULL);

                CHECK_INT(r.status, rows[i].status);
                CHECK_INT(r.flags, rows[i].flags);
                if (r.status == READING_VALID)
                        CHECK_DBL(r.value, 97, 1e-9);
        }
}

TEST(nibp_new_measurements)
{
        RegMap m = one(REG_INT16, REG_WORDS_HIGH_FIRST, 1, 0);
        RegDecodeState st = {0};
        Reading r;
        uint16_t a[1] = {120}, b[1] = {135};

        snprintf(m.params[0].name, sizeof(m.params[0].name), "NIBP_SYS");
        m.params[0].episodic = true;
        m.params[0].sentinel[0] = 0x8000;
        m.params[0].n_sentinels = 1;

        /* Without a sequence register: the first value, then changes. */
        r = decode(&m, a, 1, &st);
        CHECK(r.flags & READING_FLAG_NEW_MEASUREMENT);
        r = decode(&m, a, 1, &st);
        CHECK(!(r.flags & READING_FLAG_NEW_MEASUREMENT));
        r = decode(&m, b, 1, &st);
        CHECK(r.flags & READING_FLAG_NEW_MEASUREMENT);
        uint16_t none[1] = {0x8000};
        r = decode(&m, none, 1, &st);
        CHECK_INT(r.status, READING_UNAVAILABLE);
        CHECK(!(r.flags & READING_FLAG_NEW_MEASUREMENT));
        r = decode(&m, b, 1, &st); /* the same result again after a gap: a repeat */
        CHECK(!(r.flags & READING_FLAG_NEW_MEASUREMENT));

        /* With one: the counter decides, not the value. */
        RegDecodeState st2 = {0};
        m.params[0].sequence = (RegBits){.used = true, .address = 1, .mask = 0xFFFF};
        uint16_t s1[2] = {120, 7}, s1b[2] = {120, 7}, s2[2] = {120, 8}, s3[2] = {125, 8};
        r = decode(&m, s1, 2, &st2);
        CHECK(r.flags & READING_FLAG_NEW_MEASUREMENT);
        r = decode(&m, s1b, 2, &st2);
        CHECK(!(r.flags & READING_FLAG_NEW_MEASUREMENT));
        r = decode(&m, s2, 2, &st2); /* same value, new measurement */
        CHECK(r.flags & READING_FLAG_NEW_MEASUREMENT);
        r = decode(&m, s3, 2, &st2); /* value changed without a new count: not new */
        CHECK(!(r.flags & READING_FLAG_NEW_MEASUREMENT));

        /* A continuous parameter never carries the flag. */
        RegMap c = one(REG_UINT16, REG_WORDS_HIGH_FIRST, 1, 0);
        r = decode(&c, a, 1, NULL);
        CHECK_INT(r.flags, 0);
}

TEST(encode_round_trips)
{
        static const struct {
                RegType type;
                double scale, offset, value;
        } rows[] = {
            {REG_INT16, 1, 0, -200},   {REG_UINT16, 0.1, 0, 97.5}, {REG_INT32, 0.01, 0, -123.45},
            {REG_UINT32, 1, 0, 70000}, {REG_FLOAT32, 1, 0, 36.75}, {REG_INT16, 0.1, -40, 36.8},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                for (int order = 0; order < _REG_WORD_ORDER_MAX; order++) {
                        RegMap m = one(rows[i].type, (RegWordOrder)order, rows[i].scale,
                                       rows[i].offset);
                        uint16_t regs[2] = {0};
                        Reading r;

                        CHECK_INT(regmap_encode(&m.params[0], rows[i].value, regs), 0);
                        r = decode(&m, regs, regmap_type_words(rows[i].type), NULL);
                        CHECK_DBL(r.value, rows[i].value, 1e-6);
                }
        /* Values that do not fit are refused, not wrapped. */
        RegMap m = one(REG_UINT16, REG_WORDS_HIGH_FIRST, 1, 0);
        uint16_t regs[2];
        CHECK_INT(regmap_encode(&m.params[0], -1, regs), -ERANGE);
        CHECK_INT(regmap_encode(&m.params[0], 65536, regs), -ERANGE);
        m = one(REG_INT16, REG_WORDS_HIGH_FIRST, 1, 0);
        CHECK_INT(regmap_encode(&m.params[0], 32768, regs), -ERANGE);
        CHECK_INT(regmap_encode(&m.params[0], NAN, regs), -ERANGE);
}

static RegParam param(const char *name, ModbusTable t, uint16_t address, RegType type)
{
        RegParam p = {.table = t, .address = address, .type = type, .scale = 1};

        snprintf(p.name, sizeof(p.name), "%s", name);
        return p;
}

TEST(read_planning)
{
        RegMap m = {.poll_usec = 2000000};
        ModbusPlan plan;

        /* Adjacent registers share a read; a gap splits it; tables never mix. */
        m.params[m.n_params++] = param("A", MODBUS_TABLE_HOLDING, 0, REG_UINT16);
        m.params[m.n_params++] = param("B", MODBUS_TABLE_HOLDING, 1, REG_FLOAT32);
        m.params[m.n_params++] = param("C", MODBUS_TABLE_HOLDING, 10, REG_INT16);
        m.params[m.n_params++] = param("D", MODBUS_TABLE_INPUT, 3, REG_INT16);
        m.params[0].valid = (RegBits){.used = true, .address = 20, .mask = 1};
        m.params[2].valid = (RegBits){.used = true, .address = 20, .mask = 2}; /* shared */
        CHECK_INT(regmap_plan(&m, &plan), 0);
        CHECK_INT(plan.interval_usec, 2000000);
        CHECK_INT(plan.n_blocks, 4);
        CHECK_INT(plan.blocks[0].table, MODBUS_TABLE_HOLDING);
        CHECK_INT(plan.blocks[0].address, 0);
        CHECK_INT(plan.blocks[0].count, 3);
        CHECK_INT(plan.blocks[1].address, 10);
        CHECK_INT(plan.blocks[1].count, 1);
        CHECK_INT(plan.blocks[2].address, 20);
        CHECK_INT(plan.blocks[3].table, MODBUS_TABLE_INPUT);
        CHECK_INT(plan.blocks[3].address, 3);
        CHECK_INT(plan.n_regs, 6);
        CHECK_INT(modbus_plan_index(&plan, MODBUS_TABLE_HOLDING, 2), 2);
        CHECK_INT(modbus_plan_index(&plan, MODBUS_TABLE_HOLDING, 10), 3);
        CHECK_INT(modbus_plan_index(&plan, MODBUS_TABLE_HOLDING, 20), 4);
        CHECK_INT(modbus_plan_index(&plan, MODBUS_TABLE_INPUT, 3), 5);
        CHECK_INT(modbus_plan_index(&plan, MODBUS_TABLE_INPUT, 0), -1);
        CHECK_INT(modbus_plan_index(&plan, MODBUS_TABLE_HOLDING, 5), -1);

        /* read_gap bridges unused registers. */
        m.read_gap = 10;
        CHECK_INT(regmap_plan(&m, &plan), 0);
        CHECK_INT(plan.n_blocks, 2);
        CHECK_INT(plan.blocks[0].count, 21);

        /* One read never asks for more than 125 registers. */
        RegMap wide = {.poll_usec = 1000000, .read_gap = 32};
        for (int i = 0; i < 8; i++)
                wide.params[wide.n_params++] =
                        param("W", MODBUS_TABLE_HOLDING, (uint16_t)(i * 30), REG_UINT32);
        CHECK_INT(regmap_plan(&wide, &plan), 0);
        CHECK_INT(plan.n_blocks, 2);
        for (size_t i = 0; i < plan.n_blocks; i++)
                CHECK(plan.blocks[i].count <= MODBUS_PLAN_READ_MAX);
        CHECK_INT(plan.blocks[0].count, 122); /* 0..121 */
        CHECK_INT(plan.blocks[1].address, 120 + 30);

        /* Too many separate reads for one poll. */
        RegMap scattered = {.poll_usec = 1000000};
        for (int i = 0; i < REGMAP_PARAMS_MAX; i++) {
                scattered.params[i] = param("S", MODBUS_TABLE_HOLDING, (uint16_t)(i * 100),
                                            REG_UINT16);
                scattered.params[i].alarm =
                        (RegBits){.used = true, .address = (uint16_t)(i * 100 + 50), .mask = 1};
        }
        scattered.n_params = REGMAP_PARAMS_MAX;
        CHECK_INT(regmap_plan(&scattered, &plan), -E2BIG);

        /* A parameter the plan lacks is skipped, not read from elsewhere. */
        ModbusPlan partial = {.n_blocks = 1,
                              .n_regs = 1,
                              .blocks = {{.table = MODBUS_TABLE_HOLDING, .address = 0, .count = 1}}};
        RegMap two = one(REG_UINT16, REG_WORDS_HIGH_FIRST, 1, 0);
        two.params[two.n_params++] = param("Y", MODBUS_TABLE_HOLDING, 1, REG_UINT16);
        uint16_t regs[1] = {5};
        Reading out[REGMAP_PARAMS_MAX];
        RegDecodeState st = {0};
        CHECK_INT(regmap_decode(&two, &partial, regs, 1, &st, out), 1);
        CHECK_STR(out[0].parameter, "X");
}

/* --- map files ----------------------------------------------------------- */

static char problems[8192];
static unsigned n_problems;

static void collect(void *userdata, const char *file, unsigned line, const char *key,
                    const char *msg)
{
        const char *base = strrchr(file, '/');
        size_t used = strlen(problems);

        n_problems++;
        snprintf(problems + used, sizeof(problems) - used, "%s:%u:%s%s %s\n",
                 base ? base + 1 : file, line, key ? " " : "", key ? key : "", msg);
}

static int load_text(const char *text, RegMap *m)
{
        char path[] = "/tmp/test-regmap-XXXXXX";
        int fd = mkstemp(path), r;
        FILE *f;

        problems[0] = '\0';
        n_problems = 0;
        CHECK(fd >= 0);
        f = fdopen(fd, "w");
        fputs(text, f);
        fclose(f);
        r = regmap_load(path, m, collect, NULL);
        unlink(path);
        return r;
}

TEST(shipped_maps_parse_and_mean_what_they_say)
{
        static RegMap m;
        char path[1024];

        snprintf(path, sizeof(path), "%s/gateway-int16.conf", map_dir);
        problems[0] = '\0';
        CHECK_INT(regmap_load(path, &m, collect, NULL), 0);
        if (problems[0])
                fprintf(stderr, "%s", problems);
        CHECK_STR(m.name, "gateway-int16");
        CHECK_INT(m.poll_usec, 1000000);
        CHECK_INT(m.n_params, 8);
        CHECK_STR(m.params[1].name, "SPO2");
        CHECK_DBL(m.params[1].scale, 0.1, 1e-12);
        CHECK(m.params[1].valid.used && m.params[1].valid.address == 20 &&
              m.params[1].valid.mask == 0x0001);
        CHECK(m.params[1].sensor_off.used && m.params[1].sensor_off.mask == 0x0002);
        CHECK_INT(m.params[1].sentinel[0], 0xFFFF);
        CHECK_STR(m.params[5].name, "NIBP_SYS");
        CHECK(m.params[5].episodic && m.params[5].sequence.used &&
              m.params[5].sequence.address == 13);
        CHECK(!m.params[0].episodic);
        CHECK_INT(m.params[3].sentinel[0], 0x8000); /* RR invalid = -32768 */

        snprintf(path, sizeof(path), "%s/gateway-float32.conf", map_dir);
        problems[0] = '\0';
        CHECK_INT(regmap_load(path, &m, collect, NULL), 0);
        if (problems[0])
                fprintf(stderr, "%s", problems);
        CHECK_INT(m.poll_usec, 2000000);
        CHECK_INT(m.read_gap, 4);
        CHECK_INT(m.params[0].table, MODBUS_TABLE_INPUT);
        CHECK_INT(m.params[0].word_order, REG_WORDS_LOW_FIRST);
        CHECK_STR(m.params[2].unit, "kPa");
        CHECK_INT(m.params[4].word_order, REG_WORDS_HIGH_FIRST); /* NIBP_MEAN's own */
        CHECK_STR(m.params[5].name, "ETCO2");
        CHECK_INT(m.params[0].sentinel[0], 0xC61C3C00);

        CHECK_INT(regmap_check_dir(map_dir, collect, NULL), 0);
}

TEST(map_mistakes_are_named_by_line_and_key)
{
        static const struct {
                const char *text;
                const char *problem; /* expected substring of the collected problems */
        } rows[] = {
            {"[HR]\nfunction = holding\naddress = 0\ntype = int24\nunit = /min\n",
             ":4: type unknown type \"int24\""},
            {"[HR]\nfunction = coil\naddress = 0\ntype = int16\nunit = /min\n",
             ":2: function must be holding (function 03) or input (function 04)"},
            {"[HR]\nfunction = holding\naddress = 65536\ntype = int16\nunit = /min\n",
             ":3: address must be a register address from 0 to 65535"},
            {"[HR]\nfunction = holding\naddress = 65535\ntype = float32\nunit = /min\n",
             ":3: address must be a register address from 0 to 65534"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\n", ":1: unit missing in [HR]"},
            {"[SPO2]\nfunction = holding\naddress = 0\ntype = int16\nunit = mm[Hg]\n",
             ":5: unit SPO2 is recorded in % and \"mm[Hg]\" cannot be converted to it"},
            {"[NIBP_SYS]\nfunction = holding\naddress = 0\ntype = int16\nunit = kPa\n"
             "[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n",
             ":8: address [HR] holding registers 0-0 overlap [NIBP_SYS] (0-0, line 3)"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int32\nunit = /min\n"
             "[PR]\nfunction = holding\naddress = 1\ntype = int16\nunit = /min\n",
             ":8: address [PR] holding registers 1-1 overlap [HR] (0-1, line 3)"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int32\nunit = /min\n"
             "[PR]\nfunction = holding\naddress = 5\ntype = int16\nunit = /min\n"
             "valid_register = 1\nvalid_bit = 0\n",
             ":11: valid_register register 1 is part of the value of [HR]"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\ncolour = red\n",
             ":6: colour unknown key in [HR]"},
            {"[HR]\nfunction = holding\naddress = 0\naddress = 1\ntype = int16\nunit = /min\n",
             ":4: address set twice in [HR] (first on line 3)"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n[HR]\n"
             "scale = 2\n",
             ":6: [HR] defined twice (first on line 1)"},
            {"[heart rate]\nfunction = holding\n", ":1: [heart rate]: a section is [map]"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n"
             "invalid = 40000\n",
             ":6: invalid \"40000\" is not a raw int16 value"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n"
             "word_order = low-first\n",
             ":6: word_order applies to 32-bit types only"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\nscale = 0\n",
             ":6: scale must be a non-zero number"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n"
             "valid_bit = 3\n",
             ":6: valid_bit needs valid_register in [HR]"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n"
             "sensor_off_register = 4\nsensor_off_bit = 16\n",
             ":7: sensor_off_bit must be a bit number from 0 to 15"},
            {"[HR]\nfunction = holding\naddress = 0\ntype = int16\nunit = /min\n"
             "sequence_register = 9\n",
             ":6: sequence_register applies to episodic parameters"},
            {"[map]\npoll_interval = 0.01\n[HR]\nfunction = holding\naddress = 0\ntype = "
             "int16\nunit = /min\n",
             ":2: poll_interval must be seconds between 0.1 and 60"},
            {"[map]\npoll_interval = 1\n", "the map defines no parameter"},
            {"[HR]\nfunction holding\n", ":2: syntax error"},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                static RegMap m;
                int r = load_text(rows[i].text, &m);

                CHECK(r > 0);
                if (!strstr(problems, rows[i].problem)) {
                        fprintf(stderr, "row %zu: got:\n%s  expected \"%s\"\n", i, problems,
                                rows[i].problem);
                        CHECK(strstr(problems, rows[i].problem) != NULL);
                }
        }
        /* kPa converts to mm[Hg]; a parameter vitalsd does not know keeps its unit. */
        static RegMap ok;
        CHECK_INT(load_text("[NIBP_SYS]\nfunction = input\naddress = 0x10\ntype = float32\n"
                            "unit = kPa\n[CO2_FI]\nfunction = input\naddress = 0x12\n"
                            "type = uint16\nunit = %\n",
                            &ok),
                  0);
        CHECK_INT(ok.params[0].address, 16);
        CHECK_INT(ok.n_params, 2);
}

int main(int argc, char *argv[])
{
        if (argc < 2)
                SKIP_ALL("usage: test-regmap MAP_DIR");
        map_dir = argv[1];

        RUN(every_type_in_both_word_orders);
        RUN(scale_and_offset);
        RUN(sentinels_mean_no_value);
        RUN(status_registers);
        RUN(nibp_new_measurements);
        RUN(encode_round_trips);
        RUN(read_planning);
        RUN(shipped_maps_parse_and_mean_what_they_say);
        RUN(map_mistakes_are_named_by_line_and_key);
        return testlib_finish();
}
