/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-board.c — the nurse console's picture of the daemon (console/board.c)
 * and its screen layout (tui_layout() in console/tui_draw.c).
 *
 * The board is fed the JSON the daemon sends (docs/control-protocol.md):
 * a status reply, then events, row by row, and checked for what a nurse
 * would see — which alarm is on top, whether a value may be shown as
 * current, whether the bell repeats.  The layout is checked at every size
 * from 40x10 to 200x60 for overlaps and overflows.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "testlib.h"
#include "timefmt.h"
#include "tui.h"

#define SEC 1000000000LL

static int64_t T(const char *iso)
{
        int64_t ns = 0;

        CHECK(timefmt_parse_iso(iso, &ns) == 0);
        return ns;
}

static json_object *J(const char *text)
{
        json_object *o = json_tokener_parse(text);

        CHECK(o != NULL);
        return o;
}

static void apply(Board *b, const char *event, BoardNotice *n)
{
        json_object *o = J(event);
        BoardNotice dummy;

        board_apply_event(b, o, n ? n : &dummy);
        json_object_put(o);
}

static const char *status_reply =
    "{\"type\":\"status\",\"id\":1,\"ok\":true,\"version\":\"0.1.0\","
    "\"store\":{\"ok\":true},"
    "\"beds\":["
    " {\"bed\":\"chair-10\",\"session\":null,\"devices\":[],\"latest\":{},"
    "  \"silenced_until\":null},"
    " {\"bed\":\"chair-2\",\"session\":{\"id\":7,\"patient_ref\":\"P-0042\","
    "   \"started\":\"2026-01-01T12:00:00.000Z\",\"profile\":\"ketamine-infusion\","
    "   \"phase\":\"infusion\",\"automatic\":false},"
    "  \"devices\":[{\"name\":\"mon2\",\"state\":\"live\","
    "   \"state_since\":\"2026-01-01T12:00:00.000Z\"}],"
    "  "
    "\"latest\":{\"HR\":{\"value\":78,\"status\":\"valid\",\"time\":\"2026-01-01T12:10:00.000Z\"},"
    "   \"SPO2\":{\"value\":null,\"status\":\"unavailable\",\"time\":\"2026-01-01T12:10:00.000Z\"},"
    "   \"NIBP_SYS\":{\"value\":165,\"status\":\"valid\",\"time\":\"2026-01-01T12:05:00.000Z\"},"
    "   \"NIBP_DIA\":{\"value\":100,\"status\":\"valid\",\"time\":\"2026-01-01T12:05:00.000Z\"},"
    "   \"TEMP\":{\"value\":36.6,\"status\":\"valid\"}},"
    "  \"silenced_until\":\"2026-01-01T12:11:00.000Z\"}],"
    "\"alarms\":["
    " {\"id\":3,\"bed\":\"chair-2\",\"condition\":\"NIBP_SYS_HIGH\",\"technical\":false,"
    "  \"priority\":\"medium\",\"state\":\"acknowledged\",\"value\":165,\"limit\":160,"
    "  \"since\":\"2026-01-01T12:05:00.000Z\",\"acknowledged_by\":\"nurse1\"},"
    " {\"id\":4,\"bed\":\"chair-10\",\"condition\":\"NO_DATA\",\"technical\":true,"
    "  \"priority\":\"high\",\"state\":\"active\",\"value\":null,\"limit\":null,"
    "  \"since\":\"2026-01-01T12:08:00.000Z\"}]}";

static void load(Board *b)
{
        json_object *o = J(status_reply);

        board_init(b);
        CHECK_INT(board_apply_status(b, o), 0);
        json_object_put(o);
}

TEST(status_reply_builds_the_picture)
{
        static Board b;
        BoardBed *bed;

        load(&b);
        CHECK(b.have_status);
        CHECK_STR(b.version, "0.1.0");
        CHECK_INT(b.n_beds, 2);
        /* Natural order: chair-2 before chair-10, whatever the daemon's order. */
        CHECK_STR(b.beds[0].name, "chair-2");
        CHECK_STR(b.beds[1].name, "chair-10");
        bed = board_bed_find(&b, "chair-2");
        CHECK(bed && bed->session.open);
        CHECK_STR(bed->session.patient_ref, "P-0042");
        CHECK_STR(bed->session.phase, "infusion");
        CHECK_INT(bed->session.id, 7);
        CHECK_INT(bed->session.started_ns, T("2026-01-01T12:00:00Z"));
        CHECK_STR(board_bed_device_state(bed), "live");
        CHECK(bed->values[BOARD_HR].usable);
        CHECK_DBL(bed->values[BOARD_HR].value, 78, 0);
        CHECK(bed->values[BOARD_SPO2].known && !bed->values[BOARD_SPO2].usable);
        CHECK_STR(bed->values[BOARD_SPO2].status, "unavailable");
        CHECK_DBL(bed->values[BOARD_NIBP_SYS].value, 165, 0);
        CHECK(!bed->values[BOARD_NIBP_MEAN].known);
        CHECK_INT(bed->silenced_until_ns, T("2026-01-01T12:11:00Z"));
        CHECK(!board_bed_find(&b, "chair-10")->session.open);
        CHECK_STR(board_bed_device_state(board_bed_find(&b, "chair-10")), "none");

        /* Alarms by priority, whatever the reply's order. */
        CHECK_INT(b.n_alarms, 2);
        CHECK_INT(b.alarms[0].id, 4);
        CHECK(b.alarms[0].technical && b.alarms[0].priority == BOARD_PRIO_HIGH);
        CHECK(isnan(b.alarms[0].value) && isnan(b.alarms[0].limit));
        CHECK_INT(b.alarms[1].id, 3);
        CHECK(b.alarms[1].state == BOARD_ALARM_ACKNOWLEDGED);
        CHECK_STR(b.alarms[1].acknowledged_by, "nurse1");
        CHECK_DBL(b.alarms[1].limit, 160, 0);
}

TEST(an_error_reply_changes_nothing)
{
        static Board b;
        json_object *o = J("{\"type\":\"error\",\"id\":1,\"ok\":false,\"error\":\"internal\"}");

        load(&b);
        CHECK(board_apply_status(&b, o) < 0);
        CHECK_INT(b.n_beds, 2);
        CHECK_INT(b.n_alarms, 2);
        json_object_put(o);
}

TEST(a_status_without_alarms_keeps_the_known_ones)
{
        static Board b;
        json_object *o = J("{\"type\":\"status\",\"ok\":true,\"beds\":[]}");

        load(&b);
        CHECK_INT(board_apply_status(&b, o), 0);
        CHECK_INT(b.n_alarms, 2);
        json_object_put(o);
        /* An empty alarms[] does clear them: the daemon says there are none. */
        o = J("{\"type\":\"status\",\"ok\":true,\"beds\":[],\"alarms\":[]}");
        CHECK_INT(board_apply_status(&b, o), 0);
        CHECK_INT(b.n_alarms, 0);
        json_object_put(o);
}

TEST(readings_and_devices_update_the_tiles)
{
        static Board b;
        BoardBed *bed;

        load(&b);
        /* One record: every reading of the event lands, a name the board
         * does not show is passed over. */
        apply(
            &b,
            "{\"type\":\"readings\",\"bed\":\"chair-2\",\"device\":\"mon2\",\"session\":7,"
            "\"readings\":[{\"parameter\":\"SPO2\",\"value\":96,\"unit\":\"%\",\"status\":\"valid\","
            "\"time\":\"2026-01-01T12:10:05.000Z\"},"
            "{\"parameter\":\"ST_II\",\"value\":0.1,\"unit\":\"mm\",\"status\":\"valid\","
            "\"time\":\"2026-01-01T12:10:05.000Z\"},"
            "{\"parameter\":\"PR\",\"value\":71,\"unit\":\"/min\",\"status\":\"valid\","
            "\"time\":\"2026-01-01T12:10:05.000Z\"}]}",
            NULL);
        bed = board_bed_find(&b, "chair-2");
        CHECK(bed->values[BOARD_SPO2].usable);
        CHECK_DBL(bed->values[BOARD_SPO2].value, 96, 0);
        CHECK(board_value_current(bed, BOARD_SPO2, T("2026-01-01T12:10:06Z")));
        CHECK(bed->values[BOARD_PR].usable);
        CHECK_DBL(bed->values[BOARD_PR].value, 71, 0);
        /* A new bed appears in order. */
        apply(&b,
              "{\"type\":\"readings\",\"bed\":\"chair-3\",\"readings\":[{\"parameter\":\"HR\","
              "\"value\":61,\"status\":\"valid\",\"time\":\"2026-01-01T12:10:05.000Z\"}]}",
              NULL);
        CHECK_INT(b.n_beds, 3);
        CHECK_STR(b.beds[1].name, "chair-3");
        /* Events vitalsd held back come in one batch message: each lands;
         * anything but a readings event inside a batch is passed over. */
        size_t alarms_before = b.n_alarms;
        apply(&b,
              "{\"type\":\"batch\",\"events\":["
              "{\"type\":\"readings\",\"bed\":\"chair-3\",\"readings\":[{\"parameter\":\"HR\","
              "\"value\":64,\"status\":\"valid\",\"time\":\"2026-01-01T12:10:06.000Z\"}]},"
              "{\"type\":\"alarm\",\"bed\":\"chair-3\",\"alarm_id\":9,\"condition\":\"HR_LOW\","
              "\"state\":\"active\",\"priority\":\"medium\"},"
              "{\"type\":\"readings\",\"bed\":\"chair-2\",\"readings\":[{\"parameter\":\"PR\","
              "\"value\":73,\"status\":\"valid\",\"time\":\"2026-01-01T12:10:06.000Z\"}]}]}",
              NULL);
        CHECK_DBL(board_bed_find(&b, "chair-3")->values[BOARD_HR].value, 64, 0);
        CHECK_DBL(board_bed_find(&b, "chair-2")->values[BOARD_PR].value, 73, 0);
        CHECK_INT(b.n_alarms, alarms_before);
        /* The one-reading event vitalsd no longer sends: ignored. */
        apply(&b,
              "{\"type\":\"reading\",\"bed\":\"chair-4\",\"reading\":{\"parameter\":\"HR\","
              "\"value\":61,\"status\":\"valid\",\"time\":\"2026-01-01T12:10:05.000Z\"}}",
              NULL);
        CHECK_INT(b.n_beds, 3);
        /* The monitor goes stale: its values are no longer current. */
        apply(&b,
              "{\"type\":\"device\",\"bed\":\"chair-2\",\"device\":{\"name\":\"mon2\","
              "\"state\":\"stale\",\"state_since\":\"2026-01-01T12:10:30.000Z\"}}",
              NULL);
        bed = board_bed_find(&b, "chair-2");
        CHECK_STR(board_bed_device_state(bed), "stale");
        CHECK(!board_value_current(bed, BOARD_SPO2, T("2026-01-01T12:10:31Z")));
        CHECK(!board_value_current(bed, BOARD_NIBP_SYS, T("2026-01-01T12:10:31Z")));
}

TEST(values_are_current_only_when_live_fresh_and_valid)
{
        static Board b;
        BoardBed *bed;
        int64_t t0 = T("2026-01-01T12:10:00Z");

        load(&b);
        bed = board_bed_find(&b, "chair-2");
        CHECK(board_value_current(bed, BOARD_HR, t0 + 5 * SEC));
        CHECK(board_value_current(bed, BOARD_HR, t0 + BOARD_CONTINUOUS_CURRENT_SEC * SEC));
        CHECK(!board_value_current(bed, BOARD_HR, t0 + (BOARD_CONTINUOUS_CURRENT_SEC + 1) * SEC));
        CHECK(!board_value_current(bed, BOARD_SPO2, t0)); /* unavailable */
        CHECK(!board_value_current(bed, BOARD_PR, t0));   /* never seen */
        /* NIBP is episodic: an old measurement is still the latest one
         * (the console shows its age). */
        CHECK(board_value_current(bed, BOARD_NIBP_SYS, t0 + 3600 * SEC));
}

TEST(alarm_events_keep_the_list_ordered)
{
        static Board b;
        BoardNotice n;

        load(&b);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:09:00.000Z\","
              "\"alarm_id\":9,\"condition\":\"SPO2_DESAT\",\"technical\":false,"
              "\"priority\":\"high\",\"state\":\"active\",\"value\":85,\"limit\":88,"
              "\"actor\":\"vitalsd\",\"announce\":true,\"detail\":null}",
              &n);
        CHECK(n.bell);
        CHECK(strstr(n.message, "SPO2_DESAT") != NULL);
        /* Two highs: the older first, then the medium. */
        CHECK_INT(b.n_alarms, 3);
        CHECK_INT(b.alarms[0].id, 4);
        CHECK_INT(b.alarms[1].id, 9);
        CHECK_INT(b.alarms[2].id, 3);
        CHECK_INT(b.alarms[1].since_ns, T("2026-01-01T12:09:00Z"));
        CHECK_DBL(b.alarms[1].value, 85, 0);

        /* A low one escalates to high: it moves up, keeps its since. */
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:01:00.000Z\","
              "\"alarm_id\":11,\"condition\":\"NIBP_OVERDUE\",\"technical\":true,"
              "\"priority\":\"low\",\"state\":\"active\",\"announce\":true}",
              &n);
        CHECK_INT(b.alarms[3].id, 11);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:12:00.000Z\","
              "\"alarm_id\":11,\"condition\":\"NIBP_OVERDUE\",\"technical\":true,"
              "\"priority\":\"high\",\"state\":\"escalated\",\"announce\":true}",
              &n);
        CHECK_INT(b.alarms[0].id, 11);
        CHECK_INT(b.alarms[0].since_ns, T("2026-01-01T12:01:00Z"));
        CHECK(b.alarms[0].state == BOARD_ALARM_ACTIVE);

        /* Acknowledged by a user, then a reminder: still acknowledged. */
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:13:00.000Z\","
              "\"alarm_id\":9,\"condition\":\"SPO2_DESAT\",\"priority\":\"high\","
              "\"state\":\"acknowledged\",\"actor\":\"nurse2\",\"announce\":false}",
              &n);
        CHECK(!n.bell);
        CHECK(board_alarm_find(&b, 9)->state == BOARD_ALARM_ACKNOWLEDGED);
        CHECK_STR(board_alarm_find(&b, 9)->acknowledged_by, "nurse2");
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:16:00.000Z\","
              "\"alarm_id\":9,\"condition\":\"SPO2_DESAT\",\"priority\":\"high\","
              "\"state\":\"reminder\",\"actor\":\"vitalsd\",\"announce\":true}",
              &n);
        CHECK(n.bell);
        CHECK(board_alarm_find(&b, 9)->state == BOARD_ALARM_ACKNOWLEDGED);
        CHECK_STR(board_alarm_find(&b, 9)->acknowledged_by, "nurse2");

        /* Latched, then over. */
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-10\",\"time\":\"2026-01-01T12:17:00.000Z\","
              "\"alarm_id\":4,\"condition\":\"NO_DATA\",\"technical\":true,\"priority\":\"high\","
              "\"state\":\"latched\",\"announce\":false}",
              &n);
        CHECK(board_alarm_find(&b, 4)->state == BOARD_ALARM_LATCHED);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-10\",\"time\":\"2026-01-01T12:18:00.000Z\","
              "\"alarm_id\":4,\"condition\":\"NO_DATA\",\"technical\":true,\"priority\":\"high\","
              "\"state\":\"inactive\",\"actor\":\"nurse2\",\"announce\":false}",
              &n);
        CHECK(board_alarm_find(&b, 4) == NULL);
        CHECK_INT(b.n_alarms, 3);
}

TEST(malformed_events_change_nothing)
{
        static Board b, before;
        static const char *const bad[] = {
            "{}",
            "{\"type\":\"alarm\"}",
            "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"alarm_id\":\"x\",\"condition\":\"A\","
            "\"state\":\"active\"}",
            "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"alarm_id\":5,\"condition\":\"A\","
            "\"state\":\"bogus\"}",
            "{\"type\":\"readings\",\"bed\":\"chair-2\",\"readings\":{}}",
            "{\"type\":\"readings\",\"bed\":\"chair-2\",\"readings\":[1,\"HR\",[],null]}",
            "{\"type\":\"readings\",\"bed\":\"chair-9\",\"readings\":[{\"parameter\":7}]}",
            "{\"type\":\"readings\",\"readings\":[{\"parameter\":\"HR\",\"value\":1}]}",
            "{\"type\":\"device\",\"bed\":\"chair-2\",\"device\":{\"state\":\"live\"}}",
            "{\"type\":\"session\",\"bed\":\"chair-2\",\"state\":\"paused\"}",
            "{\"type\":\"unknown-kind\",\"bed\":\"chair-2\"}",
            "{\"type\":\"batch\"}",
            "{\"type\":\"batch\",\"events\":{}}",
            "{\"type\":\"batch\",\"events\":[1,null,[],{\"type\":7}]}",
            "{\"type\":\"batch\",\"events\":[{\"type\":\"batch\",\"events\":[]}]}",
            "[1,2]",
        };

        load(&b);
        memcpy(&before, &b, sizeof(b));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                apply(&b, bad[i], NULL);
        CHECK(memcmp(&before, &b, sizeof(b)) == 0);
}

TEST(silences_sessions_and_markers)
{
        static Board b;
        BoardNotice n;
        BoardBed *bed;
        int64_t t = T("2026-01-01T12:20:00Z");

        load(&b);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-10\",\"time\":\"2026-01-01T12:20:00.000Z\","
              "\"alarm_id\":20,\"condition\":\"AUDIO_SILENCE\",\"technical\":false,"
              "\"priority\":\"high\",\"state\":\"silenced\",\"value\":120,\"actor\":\"nurse1\","
              "\"announce\":false}",
              &n);
        bed = board_bed_find(&b, "chair-10");
        CHECK_INT(bed->silenced_until_ns, t + 120 * SEC);
        CHECK_INT(board_bed_silence_left_sec(bed, t + 500000000), 120);
        CHECK_INT(board_bed_silence_left_sec(bed, t + 119 * SEC + 1), 1);
        CHECK_INT(board_bed_silence_left_sec(bed, t + 120 * SEC), 0);
        CHECK(board_alarm_find(&b, 20) == NULL); /* a silence is not an alarm */
        CHECK(strstr(n.message, "silenced") != NULL);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-10\",\"time\":\"2026-01-01T12:20:30.000Z\","
              "\"alarm_id\":20,\"condition\":\"AUDIO_SILENCE\",\"priority\":\"high\","
              "\"state\":\"silence-broken\",\"announce\":true}",
              &n);
        CHECK(n.bell);
        CHECK_INT(bed->silenced_until_ns, 0);

        apply(
            &b,
            "{\"type\":\"session\",\"bed\":\"chair-10\",\"state\":\"started\",\"actor\":\"nurse1\","
            "\"session\":{\"id\":8,\"patient_ref\":\"P-7\",\"started\":\"2026-01-01T12:21:00Z\","
            "\"phase\":\"baseline\",\"automatic\":false}}",
            &n);
        CHECK(bed->session.open);
        CHECK_STR(bed->session.patient_ref, "P-7");
        apply(&b,
              "{\"type\":\"marker\",\"bed\":\"chair-10\",\"session\":8,\"kind\":\"infusion-start\","
              "\"time\":\"2026-01-01T12:22:00Z\",\"text\":null,\"actor\":\"nurse1\","
              "\"phase\":\"infusion\"}",
              &n);
        CHECK_STR(bed->session.phase, "infusion");
        CHECK(strstr(n.message, "infusion-start") != NULL);
        apply(
            &b,
            "{\"type\":\"session\",\"bed\":\"chair-10\",\"state\":\"stopped\",\"actor\":\"nurse1\","
            "\"session\":{\"id\":8}}",
            &n);
        CHECK(!bed->session.open);
}

TEST(the_bell_repeats_only_for_unacknowledged_high_alarms_not_silenced)
{
        static Board b;
        int64_t t = T("2026-01-01T12:10:30Z");

        load(&b);
        /* NO_DATA high active on chair-10, not silenced. */
        CHECK(board_needs_repeat_bell(&b, t));
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-10\",\"time\":\"2026-01-01T12:10:00.000Z\","
              "\"alarm_id\":21,\"condition\":\"AUDIO_SILENCE\",\"priority\":\"high\","
              "\"state\":\"silenced\",\"value\":60}",
              NULL);
        CHECK(!board_needs_repeat_bell(&b, t));
        CHECK(board_needs_repeat_bell(&b, t + 60 * SEC)); /* the silence ran out */
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-10\",\"time\":\"2026-01-01T12:10:40.000Z\","
              "\"alarm_id\":4,\"condition\":\"NO_DATA\",\"priority\":\"high\","
              "\"state\":\"acknowledged\",\"actor\":\"nurse1\"}",
              NULL);
        CHECK(!board_needs_repeat_bell(&b, t + 60 * SEC));
        /* A medium one alone never repeats; a latched high one does. */
        CHECK_INT(board_bed_alarm_priority(&b, "chair-2"), BOARD_PRIO_NONE);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:10:40.000Z\","
              "\"alarm_id\":30,\"condition\":\"HR_HIGH\",\"priority\":\"medium\","
              "\"state\":\"active\"}",
              NULL);
        CHECK(!board_needs_repeat_bell(&b, t + 60 * SEC));
        CHECK_INT(board_bed_alarm_priority(&b, "chair-2"), BOARD_PRIO_MEDIUM);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"chair-2\",\"time\":\"2026-01-01T12:10:50.000Z\","
              "\"alarm_id\":31,\"condition\":\"SPO2_DESAT\",\"priority\":\"high\","
              "\"state\":\"latched\"}",
              NULL);
        CHECK(board_needs_repeat_bell(&b, t + 60 * SEC));
        CHECK_INT(board_bed_alarm_priority(&b, "chair-2"), BOARD_PRIO_HIGH);
}

TEST(a_full_alarm_table_keeps_the_loudest)
{
        static Board b;
        char ev[512];

        board_init(&b);
        for (int i = 0; i < BOARD_ALARMS_MAX; i++) {
                snprintf(ev, sizeof(ev),
                         "{\"type\":\"alarm\",\"bed\":\"b\",\"time\":\"2026-01-01T12:00:00Z\","
                         "\"alarm_id\":%d,\"condition\":\"C\",\"priority\":\"low\","
                         "\"state\":\"active\"}",
                         i + 1);
                apply(&b, ev, NULL);
        }
        CHECK_INT(b.n_alarms, BOARD_ALARMS_MAX);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"b\",\"time\":\"2026-01-01T12:00:01Z\","
              "\"alarm_id\":999,\"condition\":\"D\",\"priority\":\"high\",\"state\":\"active\"}",
              NULL);
        CHECK_INT(b.n_alarms, BOARD_ALARMS_MAX);
        CHECK_INT(b.alarms[0].id, 999);
        apply(&b,
              "{\"type\":\"alarm\",\"bed\":\"b\",\"time\":\"2026-01-01T12:00:02Z\","
              "\"alarm_id\":1000,\"condition\":\"E\",\"priority\":\"low\",\"state\":\"active\"}",
              NULL);
        CHECK(board_alarm_find(&b, 1000) == NULL);
}

/* --- layout ------------------------------------------------------------- */

TEST(layout_never_overlaps_or_overflows)
{
        int bad = 0;

        for (int w = 40; w <= 200; w += 3)
                for (int h = 10; h <= 60; h++)
                        for (size_t beds = 0; beds <= 12; beds++)
                                for (size_t alarms = 0; alarms <= 6; alarms += 3)
                                        for (int banners = 0; banners <= 3; banners++) {
                                                TuiLayout L;
                                                int tiles_end;

                                                if (tui_layout(w, h, beds, alarms, banners, &L) <
                                                    0) {
                                                        bad++;
                                                        continue;
                                                }
                                                tiles_end =
                                                    L.tiles_top + L.tile_rows * L.tile_height;
                                                bad += L.tiles_top != 1 + L.n_banners;
                                                bad += tiles_end != L.alarms_top;
                                                bad += L.alarms_top + L.alarms_rows != L.status_row;
                                                bad += L.status_row != h - 2 || L.help_row != h - 1;
                                                /* header + at least one alarm row */
                                                bad += L.alarms_rows < 2;
                                                bad += L.tile_cols * L.tile_width > w;
                                                bad += L.tile_width < tui_tile_min_width(L.mode) &&
                                                       L.mode != TUI_TILE_LINE;
                                                bad += L.mode != TUI_TILE_LINE &&
                                                       L.tile_cols * L.tile_rows < (int)beds;
                                                bad += L.beds_shown > (int)beds;
                                                bad += L.mode != TUI_TILE_LINE &&
                                                       L.beds_shown != (int)beds;
                                        }
        CHECK_INT(bad, 0);
}

TEST(layout_at_the_sizes_that_matter)
{
        static const struct {
                int w, h;
                size_t beds, alarms;
                int banners;
                TuiTileMode mode;
                int cols;
        } rows[] = {
            /* The demo's three recliners on a standard terminal: block digits. */
            {80, 24, 3, 0, 0, TUI_TILE_BIG, 3},
            {80, 24, 3, 3, 2, TUI_TILE_BIG, 3},
            /* Four beds at 80x24: bold numbers, two by two. */
            {80, 24, 4, 1, 0, TUI_TILE_MEDIUM, 2},
            {100, 30, 4, 1, 1, TUI_TILE_BIG, 2},
            {100, 30, 1, 0, 0, TUI_TILE_BIG, 1},
            {80, 24, 8, 2, 1, TUI_TILE_MEDIUM, 3},
            {80, 24, 10, 3, 1, TUI_TILE_COMPACT, 2},
            {80, 24, 12, 3, 1, TUI_TILE_LINE, 1},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                TuiLayout L;

                CHECK_INT(tui_layout(rows[i].w, rows[i].h, rows[i].beds, rows[i].alarms,
                                     rows[i].banners, &L),
                          0);
                CHECK_INT(L.mode, rows[i].mode);
                CHECK_INT(L.tile_cols, rows[i].cols);
        }
        {
                TuiLayout L;

                CHECK(tui_layout(39, 24, 1, 0, 0, &L) < 0);
                CHECK(tui_layout(80, 9, 1, 0, 0, &L) < 0);
        }
}

int main(void)
{
        RUN(status_reply_builds_the_picture);
        RUN(an_error_reply_changes_nothing);
        RUN(a_status_without_alarms_keeps_the_known_ones);
        RUN(readings_and_devices_update_the_tiles);
        RUN(values_are_current_only_when_live_fresh_and_valid);
        RUN(alarm_events_keep_the_list_ordered);
        RUN(malformed_events_change_nothing);
        RUN(silences_sessions_and_markers);
        RUN(the_bell_repeats_only_for_unacknowledged_high_alarms_not_silenced);
        RUN(a_full_alarm_table_keeps_the_loudest);
        RUN(layout_never_overlaps_or_overflows);
        RUN(layout_at_the_sizes_that_matter);
        return testlib_finish();
}
