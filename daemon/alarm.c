/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alarm.c — the alarm engine (semantics in alarm.h).
 *
 * What it owns: per bed, one Condition per profile rule and per technical
 * condition, each with its state (inactive / active / acknowledged /
 * latched), occurrence id, current priority and the timers that judge it.
 * What it may block on: nothing; it never reads a clock, never logs and
 * never allocates after a bed exists.  How it fails: it does not — a
 * technical condition beyond the fixed table is refused with -ENOSPC, and
 * the caller (the core) logs that once.
 *
 * Times: every judgement uses the monotonic time passed in; wall time only
 * stamps events.  Delays compare `now - start >= delay`, so a 10 s on-delay
 * started at t fires at exactly t + 10 s when the caller ticks then (see
 * alarm_engine_next_deadline()).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alarm.h"
#include "catalogue.h"
#include "nameindex.h"

#define NEVER INT64_MIN
#define USEC 1000000ULL
/* Room for the core's own technical conditions (DEVICE_DISCONNECTED, ...). */
#define CORE_TECHNICAL_MAX (ALARM_CONDITIONS_MAX - 2 * ALARM_RULES_MAX - 2)

/* Engine-owned conditions about one parameter. */
typedef enum ParamCond {
        PARAM_COND_NONE,
        PARAM_COND_SENSOR_OFF, /* SENSOR_OFF_<PARAM> */
        PARAM_COND_NO_DATA,    /* NO_DATA_<PARAM> */
} ParamCond;

typedef struct Condition {
        bool used;
        char name[ALARM_CONDITION_MAX];
        bool technical;
        bool session_bound; /* ends when the session closes */
        bool engine_owned;  /* NO_DATA, NO_DATA_*, SENSOR_OFF_*, NIBP_OVERDUE, CLOCK_JUMP */
        int rule;           /* index into profile.rules, -1 for technical conditions */
        int param;          /* index into params for rules and param_cond, else -1 */
        ParamCond param_cond;
        char parameter[ALARM_PARAMETER_MAX]; /* of a param_cond (the name may be cut) */
        bool episodic;      /* rule on an episodic parameter (NIBP) */

        AlarmState state;
        int64_t id;
        AlarmPriority base_priority, priority;
        int64_t since_mono, since_wall;
        int64_t escalate_ref_mono; /* entry into ACTIVE or the last escalation */
        int64_t reminder_ref_mono; /* the ack or the last reminder */
        char acked_by[ALARM_ACTOR_MAX];
        char detail[ALARM_DETAIL_MAX];
        double value, limit;

        /* Judgement of a continuous rule. */
        int64_t pending_mono;  /* first valid out-of-range value of the current run */
        int64_t clearing_mono; /* first valid value back past the hysteresis while present */
} Condition;

/* A parameter some rule uses. */
typedef struct ParamWatch {
        char name[ALARM_PARAMETER_MAX];
        bool episodic;
        bool valid_now;         /* the latest reading was judgeable (true before any) */
        int64_t bad_since_mono; /* first reading of the current non-judgeable run */
        char bad_what[24];      /* status of the latest non-judgeable reading */
        int64_t last_seen_mono; /* latest reading of any status, NEVER before one */
} ParamWatch;

/* A parameter the bed's devices report periodically. */
typedef struct ParamPeriodDecl {
        char name[ALARM_PARAMETER_MAX];
        uint64_t period_usec;
} ParamPeriodDecl;

struct AlarmBed {
        AlarmEngine *engine;
        char name[ALARM_BED_NAME_MAX];
        AlarmProfile profile;
        Condition conds[ALARM_CONDITIONS_MAX];
        size_t n_conds; /* slots ever used: conds[n_conds..] are untouched */
        ParamWatch params[ALARM_RULES_MAX];
        size_t n_params;
        ParamPeriodDecl periods[ALARM_PERIODS_MAX];
        size_t n_periods;

        int64_t now_mono, now_wall; /* the latest times we were given */

        bool session_open;
        int64_t session_since_mono;
        char phase[ALARM_PHASE_MAX];
        int64_t phase_since_mono;

        bool have_reading;
        int64_t last_reading_mono;
        bool have_nibp;
        int64_t last_nibp_mono;

        int64_t clock_jump_until_mono; /* CLOCK_JUMP clears then */

        bool silenced;
        int64_t silence_until_mono;
        AlarmPriority silence_priority; /* highest alarm present when it began */
        int64_t silence_id;
        char silence_actor[ALARM_ACTOR_MAX];
};

struct AlarmEngine {
        AlarmEventFn fn;
        void *userdata;
        int64_t next_id;
        AlarmBed **beds;
        size_t n_beds;
        NameIndex index; /* beds by name */
        bool have_clock_offset;
        int64_t clock_offset_ns; /* wall - mono at the last alarm_engine_clock() */
};

static const char *const priority_names[_ALARM_PRIO_MAX] = {
    [ALARM_PRIO_NONE] = "none",
    [ALARM_PRIO_LOW] = "low",
    [ALARM_PRIO_MEDIUM] = "medium",
    [ALARM_PRIO_HIGH] = "high",
};

static const char *const state_names[_ALARM_STATE_MAX] = {
    [ALARM_INACTIVE] = "inactive",
    [ALARM_ACTIVE] = "active",
    [ALARM_ACKNOWLEDGED] = "acknowledged",
    [ALARM_LATCHED] = "latched",
};

static const char *const kind_names[_ALARM_EV_MAX] = {
    [ALARM_EV_ACTIVE] = "active",
    [ALARM_EV_INACTIVE] = "inactive",
    [ALARM_EV_ACKNOWLEDGED] = "acknowledged",
    [ALARM_EV_LATCHED] = "latched",
    [ALARM_EV_ESCALATED] = "escalated",
    [ALARM_EV_REMINDER] = "reminder",
    [ALARM_EV_SILENCED] = "silenced",
    [ALARM_EV_SILENCE_ENDED] = "silence-ended",
    [ALARM_EV_SILENCE_BROKEN] = "silence-broken",
    [ALARM_EV_RESET] = "reset",
};

/* The store's state column is the event kind's name, except that a user
 * reset of a latched alarm is stored as "inactive": every occurrence ends
 * with an "inactive" row. */
static const char *kind_state(AlarmEventKind kind)
{
        return kind == ALARM_EV_RESET ? kind_names[ALARM_EV_INACTIVE] : kind_names[kind];
}

const char *alarm_priority_to_string(AlarmPriority p)
{
        return (unsigned)p < _ALARM_PRIO_MAX ? priority_names[p] : "unknown";
}

int alarm_priority_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        for (int p = ALARM_PRIO_LOW; p < _ALARM_PRIO_MAX; p++)
                if (strcmp(s, priority_names[p]) == 0)
                        return p;
        return -EINVAL;
}

const char *alarm_state_to_string(AlarmState s)
{
        return (unsigned)s < _ALARM_STATE_MAX ? state_names[s] : "unknown";
}

const char *alarm_event_kind_to_string(AlarmEventKind k)
{
        return (unsigned)k < _ALARM_EV_MAX ? kind_names[k] : "unknown";
}

void alarm_profile_init(AlarmProfile *p)
{
        memset(p, 0, sizeof(*p));
        p->no_data_usec = 30 * USEC;
        p->no_data_priority = ALARM_PRIO_HIGH;
        p->sensor_off_delay_usec = 10 * USEC;
        p->sensor_off_priority = ALARM_PRIO_MEDIUM;
        p->no_data_periods = 3;
        p->param_no_data_priority = ALARM_PRIO_MEDIUM;
        p->nibp_cycle_usec = 300 * USEC;
        p->nibp_grace_usec = 60 * USEC;
        p->nibp_overdue_priority = ALARM_PRIO_LOW;
        p->reminder_usec = 180 * USEC;
        p->escalate_usec = 120 * USEC;
        p->silence_max_usec = ALARM_SILENCE_MAX_USEC;
}

bool alarm_condition_name_valid(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n >= ALARM_CONDITION_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
                      name[i] == '_'))
                        return false;
        return true;
}

static bool starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool engine_owned_name(const char *name)
{
        return strcmp(name, ALARM_COND_NO_DATA) == 0 ||
               strcmp(name, ALARM_COND_NIBP_OVERDUE) == 0 ||
               strcmp(name, ALARM_COND_CLOCK_JUMP) == 0 ||
               strcmp(name, ALARM_COND_AUDIO_SILENCE) == 0 ||
               starts_with(name, ALARM_COND_NO_DATA_PREFIX) ||
               starts_with(name, ALARM_COND_SENSOR_OFF_PREFIX);
}

bool alarm_condition_name_reserved(const char *name)
{
        return engine_owned_name(name) || strcmp(name, ALARM_COND_DEVICE_DISCONNECTED) == 0 ||
               strcmp(name, ALARM_COND_DECODE_ERRORS) == 0 ||
               strcmp(name, ALARM_COND_MODBUS_ERRORS) == 0 ||
               strcmp(name, ALARM_COND_STORE_FAILURE) == 0;
}

static int64_t usec_to_nsec(uint64_t usec)
{
        return usec > (uint64_t)INT64_MAX / 1000 ? INT64_MAX : (int64_t)(usec * 1000);
}

static int64_t add_sat(int64_t t, uint64_t usec)
{
        int64_t d = usec_to_nsec(usec);

        return t > INT64_MAX - d ? INT64_MAX : t + d;
}

static bool elapsed(int64_t since, int64_t now, uint64_t usec)
{
        return since != NEVER && now >= add_sat(since, usec);
}

static bool cond_present(const Condition *c)
{
        return c->state == ALARM_ACTIVE || c->state == ALARM_ACKNOWLEDGED;
}

static bool bed_silenced_at(const AlarmBed *b, int64_t mono)
{
        return b->silenced && mono < b->silence_until_mono;
}

/* ---- events ------------------------------------------------------------ */

static void emit(AlarmBed *b, AlarmEventKind kind, const Condition *c, const char *actor,
                 const char *detail, int64_t mono, int64_t wall, bool announce)
{
        AlarmEngine *e = b->engine;
        AlarmEvent ev = {
            .kind = kind,
            .alarm_id = c->id,
            .bed = b->name,
            .condition = c->name,
            .technical = c->technical,
            .priority = c->priority,
            .state = kind_state(kind),
            .value = c->value,
            .limit = c->limit,
            .actor = actor ? actor : ALARM_ACTOR_AUTO,
            .detail = detail && *detail ? detail : NULL,
            .phase = b->session_open ? b->phase : NULL,
            .mono_ns = mono,
            .wall_ns = wall,
            .announce = announce,
        };

        if (e->fn)
                e->fn(e->userdata, &ev);
}

static void emit_silence(AlarmBed *b, AlarmEventKind kind, const char *actor, double value,
                         const char *detail, int64_t mono, int64_t wall, bool announce)
{
        AlarmEngine *e = b->engine;
        AlarmEvent ev = {
            .kind = kind,
            .alarm_id = b->silence_id,
            .bed = b->name,
            .condition = ALARM_COND_AUDIO_SILENCE,
            .technical = false,
            .priority = b->silence_priority,
            .state = kind_state(kind),
            .value = value,
            .limit = NAN,
            .actor = actor ? actor : ALARM_ACTOR_AUTO,
            .detail = detail && *detail ? detail : NULL,
            .phase = b->session_open ? b->phase : NULL,
            .mono_ns = mono,
            .wall_ns = wall,
            .announce = announce,
        };

        if (e->fn)
                e->fn(e->userdata, &ev);
}

/* ---- bed bookkeeping --------------------------------------------------- */

static void bed_now(AlarmBed *b, int64_t mono, int64_t wall)
{
        b->now_mono = mono;
        b->now_wall = wall;
}

static Condition *find_cond(AlarmBed *b, const char *name, bool technical)
{
        for (size_t i = 0; i < b->n_conds; i++) {
                Condition *c = &b->conds[i];
                if (c->used && c->technical == technical && strcmp(c->name, name) == 0)
                        return c;
        }
        return NULL;
}

static const Condition *find_tech_const(const AlarmBed *b, const char *name)
{
        for (size_t i = 0; i < b->n_conds; i++) {
                const Condition *c = &b->conds[i];
                if (c->used && c->technical && strcmp(c->name, name) == 0)
                        return c;
        }
        return NULL;
}

static Condition *add_cond(AlarmBed *b, const char *name, bool technical)
{
        /* Every scan of the table stops at n_conds: a bed uses some twenty
         * of its slots, and the pages of the others are never touched. */
        for (size_t i = 0; i < ALARM_CONDITIONS_MAX; i++) {
                Condition *c = &b->conds[i];
                if (i < b->n_conds && c->used)
                        continue;
                if (i >= b->n_conds)
                        b->n_conds = i + 1;
                memset(c, 0, sizeof(*c));
                c->used = true;
                snprintf(c->name, sizeof(c->name), "%s", name);
                c->technical = technical;
                c->rule = -1;
                c->param = -1;
                c->state = ALARM_INACTIVE;
                c->value = NAN;
                c->limit = NAN;
                c->pending_mono = NEVER;
                c->clearing_mono = NEVER;
                c->escalate_ref_mono = NEVER;
                c->reminder_ref_mono = NEVER;
                return c;
        }
        return NULL;
}

/* An engine-owned technical condition, created on first need.  The table
 * has room for all of them by construction (see ALARM_CONDITIONS_MAX). */
static Condition *engine_cond(AlarmBed *b, const char *name, bool session_bound)
{
        Condition *c = find_cond(b, name, true);

        if (!c) {
                c = add_cond(b, name, true);
                if (!c)
                        return NULL;
                c->engine_owned = true;
                c->session_bound = session_bound;
        }
        return c;
}

static ParamWatch *find_param(AlarmBed *b, const char *name, int *ret_index)
{
        if (ret_index)
                *ret_index = -1;
        for (size_t i = 0; i < b->n_params; i++)
                if (strcmp(b->params[i].name, name) == 0) {
                        if (ret_index)
                                *ret_index = (int)i;
                        return &b->params[i];
                }
        return NULL;
}

static void sensor_off_name(char *buf, size_t size, const char *param)
{
        /* 11 + 20 characters: long device-specific names are cut, not refused. */
        snprintf(buf, size, "%s%.20s", ALARM_COND_SENSOR_OFF_PREFIX, param);
}

static void param_no_data_name(char *buf, size_t size, const char *param)
{
        snprintf(buf, size, "%s%.20s", ALARM_COND_NO_DATA_PREFIX, param);
}

/* The engine-owned condition of one kind about parameter index, or NULL. */
static const Condition *param_cond_find(const AlarmBed *b, ParamCond kind, int index)
{
        for (size_t i = 0; i < b->n_conds; i++) {
                const Condition *c = &b->conds[i];
                if (c->used && c->engine_owned && c->param_cond == kind && c->param == index)
                        return c;
        }
        return NULL;
}

static bool param_cond_present(const AlarmBed *b, ParamCond kind, int index)
{
        const Condition *c = param_cond_find(b, kind, index);

        return c && (c->state == ALARM_ACTIVE || c->state == ALARM_ACKNOWLEDGED);
}

static AlarmPriority highest_priority(const AlarmBed *b)
{
        AlarmPriority p = ALARM_PRIO_NONE;

        for (size_t i = 0; i < b->n_conds; i++) {
                const Condition *c = &b->conds[i];
                if (c->used && c->state != ALARM_INACTIVE && c->priority > p)
                        p = c->priority;
        }
        return p;
}

static bool any_unacknowledged(const AlarmBed *b)
{
        for (size_t i = 0; i < b->n_conds; i++) {
                const Condition *c = &b->conds[i];
                if (c->used && (c->state == ALARM_ACTIVE || c->state == ALARM_LATCHED))
                        return true;
        }
        return false;
}

static void silence_expire(AlarmBed *b, int64_t mono, int64_t wall)
{
        if (!b->silenced || mono < b->silence_until_mono)
                return;
        b->silenced = false;
        /* Ring again if something still wants attention. */
        emit_silence(b, ALARM_EV_SILENCE_ENDED, NULL, NAN, NULL, mono, wall, any_unacknowledged(b));
}

/* ---- transitions ------------------------------------------------------- */

static void cond_reset_judgement(Condition *c)
{
        c->pending_mono = NEVER;
        c->clearing_mono = NEVER;
}

/* The condition is present: INACTIVE → ACTIVE (new occurrence) or
 * LATCHED → ACTIVE (the same occurrence returns). */
static void cond_raise(AlarmBed *b, Condition *c, AlarmPriority prio, int64_t mono, int64_t wall)
{
        bool announce = true;

        cond_reset_judgement(c);
        if (cond_present(c))
                return;
        silence_expire(b, mono, wall);
        if (c->state == ALARM_INACTIVE) {
                c->id = b->engine->next_id++;
                c->base_priority = c->priority = prio;
                c->since_mono = mono;
                c->since_wall = wall;
                c->acked_by[0] = '\0';
        } else if (prio > c->priority) {
                c->priority = prio;
        }
        c->state = ALARM_ACTIVE;
        c->escalate_ref_mono = mono;
        if (bed_silenced_at(b, mono)) {
                if (c->priority > b->silence_priority) {
                        char why[64];
                        snprintf(why, sizeof(why), "%s (%s)", c->name,
                                 alarm_priority_to_string(c->priority));
                        b->silenced = false;
                        emit_silence(b, ALARM_EV_SILENCE_BROKEN, NULL, NAN, why, mono, wall, true);
                } else {
                        announce = false;
                }
        }
        emit(b, ALARM_EV_ACTIVE, c, NULL, c->detail, mono, wall, announce);
}

/* The condition ended by itself: through the latch table. */
static void cond_clear(AlarmBed *b, Condition *c, const char *detail, int64_t mono, int64_t wall)
{
        cond_reset_judgement(c);
        if (c->state == ALARM_ACTIVE && b->profile.latch[c->priority]) {
                c->state = ALARM_LATCHED;
                emit(b, ALARM_EV_LATCHED, c, NULL, detail, mono, wall, false);
        } else if (cond_present(c)) {
                c->state = ALARM_INACTIVE;
                emit(b, ALARM_EV_INACTIVE, c, NULL, detail, mono, wall, false);
        }
}

/* The condition no longer applies (session closed, phase left, rule
 * removed): straight to INACTIVE, no latching. */
static void cond_end(AlarmBed *b, Condition *c, const char *why, int64_t mono, int64_t wall)
{
        cond_reset_judgement(c);
        if (c->state == ALARM_INACTIVE)
                return;
        c->state = ALARM_INACTIVE;
        emit(b, ALARM_EV_INACTIVE, c, NULL, why, mono, wall, false);
}

static int cond_ack(AlarmBed *b, Condition *c, const char *actor, int64_t mono, int64_t wall)
{
        switch (c->state) {
        case ALARM_ACTIVE:
                c->state = ALARM_ACKNOWLEDGED;
                c->reminder_ref_mono = mono;
                snprintf(c->acked_by, sizeof(c->acked_by), "%s", actor);
                emit(b, ALARM_EV_ACKNOWLEDGED, c, actor, NULL, mono, wall, false);
                return 0;
        case ALARM_LATCHED:
                c->state = ALARM_INACTIVE;
                snprintf(c->acked_by, sizeof(c->acked_by), "%s", actor);
                cond_reset_judgement(c);
                emit(b, ALARM_EV_RESET, c, actor, NULL, mono, wall, false);
                return 0;
        case ALARM_ACKNOWLEDGED:
                return -EALREADY;
        default:
                return -ENOENT;
        }
}

/* ---- judgement --------------------------------------------------------- */

static bool out_of_range(const AlarmRule *r, double v)
{
        return r->above ? v > r->limit : v < r->limit;
}

/* Back past the hysteresis band: what a present condition needs to clear. */
static bool back_in_range(const AlarmRule *r, double v)
{
        return r->above ? v <= r->limit - r->hysteresis : v >= r->limit + r->hysteresis;
}

static void judge_continuous(AlarmBed *b, Condition *c, const AlarmRule *r, double v, int64_t mono,
                             int64_t wall)
{
        c->value = v;
        if (!cond_present(c)) {
                c->clearing_mono = NEVER;
                if (!out_of_range(r, v)) {
                        c->pending_mono = NEVER;
                        return;
                }
                if (c->pending_mono == NEVER)
                        c->pending_mono = mono;
                if (elapsed(c->pending_mono, mono, r->on_delay_usec))
                        cond_raise(b, c, r->priority, mono, wall);
        } else {
                c->pending_mono = NEVER;
                if (!back_in_range(r, v)) {
                        c->clearing_mono = NEVER;
                        return;
                }
                if (c->clearing_mono == NEVER)
                        c->clearing_mono = mono;
                if (elapsed(c->clearing_mono, mono, r->off_delay_usec))
                        cond_clear(b, c, NULL, mono, wall);
        }
}

/* One completed measurement decides: no on-delay, no off-delay. */
static void judge_episodic(AlarmBed *b, Condition *c, const AlarmRule *r, double v, int64_t mono,
                           int64_t wall)
{
        c->value = v;
        if (!cond_present(c)) {
                if (out_of_range(r, v))
                        cond_raise(b, c, r->priority, mono, wall);
        } else if (back_in_range(r, v)) {
                cond_clear(b, c, NULL, mono, wall);
        }
}

/* ---- engine and beds --------------------------------------------------- */

AlarmEngine *alarm_engine_new(AlarmEventFn fn, void *userdata, int64_t first_alarm_id)
{
        AlarmEngine *e = calloc(1, sizeof(*e));

        if (!e)
                return NULL;
        e->fn = fn;
        e->userdata = userdata;
        e->next_id = first_alarm_id < 1 ? 1 : first_alarm_id;
        return e;
}

/* A bed's state is ~42 KiB, mostly condition slots that stay unused (128
 * slots sized for the largest profile, a bed uses some twenty).  Mapped
 * rather than calloc()ed: calloc() clears all of it, which at 1,000 beds
 * was half of vitalsd's start-up time, while an anonymous mapping is zero
 * already and a page costs only when first touched. */
static AlarmBed *bed_alloc(void)
{
        void *p = mmap(NULL, sizeof(AlarmBed), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        return p == MAP_FAILED ? NULL : p;
}

static void bed_free(AlarmBed *b)
{
        if (b)
                munmap(b, sizeof(*b));
}

void alarm_engine_free(AlarmEngine *e)
{
        if (!e)
                return;
        for (size_t i = 0; i < e->n_beds; i++)
                bed_free(e->beds[i]);
        free(e->beds);
        name_index_done(&e->index);
        free(e);
}

int64_t alarm_engine_next_id(const AlarmEngine *e)
{
        return e->next_id;
}

AlarmBed *alarm_bed_find(AlarmEngine *e, const char *bed)
{
        return name_index_get(&e->index, bed);
}

AlarmBed *alarm_bed_get(AlarmEngine *e, const char *bed)
{
        AlarmBed *b = alarm_bed_find(e, bed), **beds;

        if (b)
                return b;
        if (!bed || !*bed || strlen(bed) >= ALARM_BED_NAME_MAX)
                return NULL;
        beds = realloc(e->beds, (e->n_beds + 1) * sizeof(*beds));
        if (!beds)
                return NULL;
        e->beds = beds;
        b = bed_alloc();
        if (!b)
                return NULL;
        b->engine = e;
        snprintf(b->name, sizeof(b->name), "%s", bed);
        if (name_index_put(&e->index, b->name, b) < 0) {
                bed_free(b);
                return NULL;
        }
        b->session_since_mono = NEVER;
        b->phase_since_mono = NEVER;
        b->last_reading_mono = NEVER;
        b->last_nibp_mono = NEVER;
        e->beds[e->n_beds++] = b;
        alarm_bed_set_profile(b, NULL);
        return b;
}

const char *alarm_bed_name(const AlarmBed *b)
{
        return b->name;
}

const AlarmProfile *alarm_bed_get_profile(const AlarmBed *b)
{
        return &b->profile;
}

static int find_rule(const AlarmProfile *p, const char *name)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].condition, name) == 0)
                        return (int)i;
        return -1;
}

static AlarmPriority clamp_priority(AlarmPriority p)
{
        if (p < ALARM_PRIO_LOW)
                return ALARM_PRIO_LOW;
        if (p > ALARM_PRIO_HIGH)
                return ALARM_PRIO_HIGH;
        return p;
}

static void sanitise_profile(AlarmProfile *p)
{
        if (p->n_rules > ALARM_RULES_MAX)
                p->n_rules = ALARM_RULES_MAX;
        for (size_t i = 0; i < p->n_rules; i++) {
                AlarmRule *r = &p->rules[i];
                r->condition[sizeof(r->condition) - 1] = '\0';
                r->parameter[sizeof(r->parameter) - 1] = '\0';
                r->priority = clamp_priority(r->priority);
                if (!(r->hysteresis >= 0))
                        r->hysteresis = 0;
        }
        p->no_data_priority = clamp_priority(p->no_data_priority);
        p->sensor_off_priority = clamp_priority(p->sensor_off_priority);
        p->param_no_data_priority = clamp_priority(p->param_no_data_priority);
        p->nibp_overdue_priority = clamp_priority(p->nibp_overdue_priority);
        p->latch[ALARM_PRIO_NONE] = false;
        if (p->silence_max_usec == 0 || p->silence_max_usec > ALARM_SILENCE_MAX_USEC)
                p->silence_max_usec = ALARM_SILENCE_MAX_USEC;
}

static void alarm_bed_set_profile_at(AlarmBed *b, const AlarmProfile *p, int64_t mono, int64_t wall)
{
        ParamWatch old_params[ALARM_RULES_MAX];
        size_t n_old = b->n_params;

        if (p)
                b->profile = *p;
        else
                alarm_profile_init(&b->profile);
        sanitise_profile(&b->profile);

        /* Parameters to watch, keeping what we knew of those that stay. */
        memcpy(old_params, b->params, n_old * sizeof(*old_params));
        b->n_params = 0;
        for (size_t i = 0; i < b->profile.n_rules; i++) {
                const AlarmRule *r = &b->profile.rules[i];
                const CatalogueEntry *ce;
                ParamWatch *w;

                if (find_param(b, r->parameter, NULL))
                        continue;
                w = &b->params[b->n_params++];
                memset(w, 0, sizeof(*w));
                snprintf(w->name, sizeof(w->name), "%s", r->parameter);
                ce = catalogue_find(w->name);
                w->episodic = ce && ce->episodic;
                w->valid_now = true;
                w->bad_since_mono = NEVER;
                w->last_seen_mono = NEVER;
                for (size_t k = 0; k < n_old; k++)
                        if (strcmp(old_params[k].name, w->name) == 0) {
                                *w = old_params[k];
                                break;
                        }
        }

        /* Existing conditions: rules that stay keep their occurrence;
         * the rest end now. */
        for (size_t i = 0; i < b->n_conds; i++) {
                Condition *c = &b->conds[i];
                int idx, param;

                if (!c->used)
                        continue;
                if (!c->technical) {
                        idx = find_rule(&b->profile, c->name);
                        if (idx < 0) {
                                cond_end(b, c, "rule removed from profile", mono, wall);
                                c->used = false;
                                continue;
                        }
                        find_param(b, b->profile.rules[idx].parameter, &param);
                        if (param < 0)
                                continue; /* cannot happen: params come from the rules */
                        c->rule = idx;
                        c->param = param;
                        c->episodic = b->params[param].episodic;
                        c->limit = b->profile.rules[idx].limit;
                        cond_reset_judgement(c);
                } else if (c->engine_owned && c->param_cond != PARAM_COND_NONE) {
                        /* SENSOR_OFF_<PARAM>, NO_DATA_<PARAM>: re-bind or drop. */
                        ParamWatch *w = find_param(b, c->parameter, &param);
                        if (!w || w->episodic) {
                                cond_end(b, c, "parameter no longer monitored", mono, wall);
                                c->used = false;
                        } else {
                                c->param = param;
                        }
                }
        }

        /* New rules. */
        for (size_t i = 0; i < b->profile.n_rules; i++) {
                const AlarmRule *r = &b->profile.rules[i];
                Condition *c;
                int param;

                if (find_cond(b, r->condition, false))
                        continue;
                c = add_cond(b, r->condition, false);
                if (!c)
                        break; /* cannot happen: rules ≤ ALARM_RULES_MAX */
                find_param(b, r->parameter, &param);
                if (param < 0) {
                        c->used = false; /* cannot happen: params come from the rules */
                        continue;
                }
                c->session_bound = true;
                c->rule = (int)i;
                c->param = param;
                c->episodic = b->params[param].episodic;
                c->limit = r->limit;
        }
}

void alarm_bed_set_profile(AlarmBed *b, const AlarmProfile *p)
{
        alarm_bed_set_profile_at(b, p, b->now_mono, b->now_wall);
}

void alarm_bed_set_session(AlarmBed *b, bool open, const char *phase, int64_t mono_ns,
                           int64_t wall_ns)
{
        const char *ph = phase && *phase ? phase : "baseline";
        bool was_infusion;

        bed_now(b, mono_ns, wall_ns);
        silence_expire(b, mono_ns, wall_ns);
        if (!open) {
                if (!b->session_open)
                        return;
                for (size_t i = 0; i < b->n_conds; i++) {
                        Condition *c = &b->conds[i];
                        if (c->used && c->session_bound)
                                cond_end(b, c, "session closed", mono_ns, wall_ns);
                }
                for (size_t i = 0; i < b->n_params; i++) {
                        b->params[i].valid_now = true;
                        b->params[i].bad_since_mono = NEVER;
                        b->params[i].last_seen_mono = NEVER;
                }
                b->session_open = false;
                b->phase[0] = '\0';
                b->have_nibp = false;
                return;
        }
        if (!b->session_open) {
                b->session_open = true;
                b->session_since_mono = mono_ns;
                b->phase_since_mono = mono_ns;
                b->have_nibp = false;
                snprintf(b->phase, sizeof(b->phase), "%s", ph);
                return;
        }
        if (strcmp(b->phase, ph) == 0)
                return;
        was_infusion = strcmp(b->phase, "infusion") == 0;
        snprintf(b->phase, sizeof(b->phase), "%s", ph);
        b->phase_since_mono = mono_ns;
        if (was_infusion && strcmp(ph, "infusion") != 0) {
                Condition *c = find_cond(b, ALARM_COND_NIBP_OVERDUE, true);
                if (c)
                        cond_end(b, c, "infusion phase ended", mono_ns, wall_ns);
        }
}

/* ---- readings ---------------------------------------------------------- */

static bool reading_judgeable(const Reading *r)
{
        /* Questionable, calibrating and demo values are never judged: a
         * doubtful value may neither raise nor clear a patient alarm. */
        return r->status == READING_VALID && !(r->flags & READING_FLAG_SENSOR_OFF) &&
               isfinite(r->value);
}

static void raise_sensor_off(AlarmBed *b, int index, int64_t mono, int64_t wall)
{
        ParamWatch *w = &b->params[index];
        char name[ALARM_CONDITION_MAX];
        Condition *c;
        int64_t ref;

        if (!b->session_open || w->valid_now || w->episodic)
                return;
        ref = w->bad_since_mono > b->session_since_mono ? w->bad_since_mono : b->session_since_mono;
        if (!elapsed(ref, mono, b->profile.sensor_off_delay_usec))
                return;
        sensor_off_name(name, sizeof(name), w->name);
        c = engine_cond(b, name, true);
        if (!c || cond_present(c))
                return;
        c->param = index;
        c->param_cond = PARAM_COND_SENSOR_OFF;
        snprintf(c->parameter, sizeof(c->parameter), "%s", w->name);
        snprintf(c->detail, sizeof(c->detail), "%s: no valid value for %llu s (%s)", w->name,
                 (unsigned long long)((mono - ref) / 1000000000LL), w->bad_what);
        cond_raise(b, c, b->profile.sensor_off_priority, mono, wall);
}

static uint64_t param_period_usec(const AlarmBed *b, const char *name)
{
        for (size_t i = 0; i < b->n_periods; i++)
                if (strcmp(b->periods[i].name, name) == 0)
                        return b->periods[i].period_usec;
        return 0;
}

/* When NO_DATA_<PARAM> is due for params[index], or NEVER when it cannot
 * be: no session, an episodic or undeclared parameter, the check off, or
 * no reading of the bed since the parameter's last one (a bed gone wholly
 * quiet is NO_DATA's).  *ret_ref: the start of the silence. */
static int64_t param_no_data_due(const AlarmBed *b, int index, int64_t *ret_ref)
{
        const ParamWatch *w = &b->params[index];
        uint64_t period = param_period_usec(b, w->name), n = b->profile.no_data_periods;
        int64_t ref;

        if (!b->session_open || w->episodic || n == 0 || period == 0)
                return NEVER;
        ref = w->last_seen_mono > b->session_since_mono ? w->last_seen_mono : b->session_since_mono;
        if (!b->have_reading || b->last_reading_mono <= ref)
                return NEVER;
        if (ret_ref)
                *ret_ref = ref;
        return add_sat(ref, period > UINT64_MAX / n ? UINT64_MAX : period * n);
}

static void raise_param_no_data(AlarmBed *b, int index, int64_t mono, int64_t wall)
{
        const ParamWatch *w = &b->params[index];
        char name[ALARM_CONDITION_MAX];
        int64_t ref = 0, due = param_no_data_due(b, index, &ref);
        Condition *c;

        if (due == NEVER || mono < due)
                return;
        param_no_data_name(name, sizeof(name), w->name);
        c = engine_cond(b, name, true);
        if (!c || cond_present(c))
                return;
        c->param = index;
        c->param_cond = PARAM_COND_NO_DATA;
        snprintf(c->parameter, sizeof(c->parameter), "%s", w->name);
        snprintf(c->detail, sizeof(c->detail), "%s: no reading for %llu s (expected every %llu s)",
                 w->name, (unsigned long long)((mono - ref) / 1000000000LL),
                 (unsigned long long)(param_period_usec(b, w->name) / USEC));
        cond_raise(b, c, b->profile.param_no_data_priority, mono, wall);
}

int alarm_bed_set_period(AlarmBed *b, const char *parameter, uint64_t period_usec)
{
        ParamPeriodDecl *d = NULL;

        if (!parameter || !*parameter || strlen(parameter) >= ALARM_PARAMETER_MAX ||
            period_usec == 0)
                return -EINVAL;
        for (size_t i = 0; i < b->n_periods; i++)
                if (strcmp(b->periods[i].name, parameter) == 0)
                        d = &b->periods[i];
        if (d) {
                if (period_usec < d->period_usec)
                        d->period_usec = period_usec;
                return 0;
        }
        if (b->n_periods >= ALARM_PERIODS_MAX)
                return -ENOSPC;
        d = &b->periods[b->n_periods++];
        snprintf(d->name, sizeof(d->name), "%s", parameter);
        d->period_usec = period_usec;
        return 0;
}

void alarm_bed_clear_periods(AlarmBed *b)
{
        b->n_periods = 0;
}

void alarm_bed_reading(AlarmBed *b, const Reading *r, int64_t mono_ns, int64_t wall_ns)
{
        bool valid = reading_judgeable(r);
        const CatalogueEntry *ce = catalogue_find(r->parameter);
        bool episodic = ce && ce->episodic;
        bool new_measurement = (r->flags & READING_FLAG_NEW_MEASUREMENT) != 0;
        char name[ALARM_CONDITION_MAX];
        ParamWatch *w;
        Condition *c;
        int index;

        bed_now(b, mono_ns, wall_ns);
        silence_expire(b, mono_ns, wall_ns);

        b->have_reading = true;
        b->last_reading_mono = mono_ns;
        c = find_cond(b, ALARM_COND_NO_DATA, true);
        if (c && cond_present(c))
                cond_clear(b, c, NULL, mono_ns, wall_ns);

        /* A failed NIBP measurement is no measurement: only a valid one
         * makes NIBP_OVERDUE wait again. */
        if (episodic && valid && new_measurement) {
                b->have_nibp = true;
                b->last_nibp_mono = mono_ns;
                c = find_cond(b, ALARM_COND_NIBP_OVERDUE, true);
                if (c && cond_present(c))
                        cond_clear(b, c, NULL, mono_ns, wall_ns);
        }

        /* A parameter missing now that the bed talks again is raised by the
         * next tick, not here: the rest of this record (one frame's
         * readings arrive together) may still bring it. */
        w = find_param(b, r->parameter, &index);
        if (!w)
                return;

        w->last_seen_mono = mono_ns;
        param_no_data_name(name, sizeof(name), w->name);
        c = find_cond(b, name, true);
        if (c && cond_present(c))
                cond_clear(b, c, NULL, mono_ns, wall_ns);

        if (w->episodic) {
                if (!valid || !new_measurement)
                        return; /* a repeat of the last measurement, or a failed one */
                for (size_t i = 0; i < b->n_conds; i++) {
                        c = &b->conds[i];
                        if (c->used && c->rule >= 0 && !c->technical && c->param == index)
                                judge_episodic(b, c, &b->profile.rules[c->rule], r->value, mono_ns,
                                               wall_ns);
                }
                return;
        }

        if (!valid) {
                /* Judgement pauses; the timers keep their start. */
                if (w->valid_now) {
                        w->valid_now = false;
                        w->bad_since_mono = mono_ns;
                }
                snprintf(w->bad_what, sizeof(w->bad_what), "%s",
                         (r->flags & READING_FLAG_SENSOR_OFF) && r->status == READING_VALID
                             ? "sensor off"
                             : reading_status_to_string(r->status));
                raise_sensor_off(b, index, mono_ns, wall_ns);
                return;
        }

        w->valid_now = true;
        w->bad_since_mono = NEVER;
        sensor_off_name(name, sizeof(name), w->name);
        c = find_cond(b, name, true);
        if (c && cond_present(c))
                cond_clear(b, c, NULL, mono_ns, wall_ns);

        for (size_t i = 0; i < b->n_conds; i++) {
                c = &b->conds[i];
                if (c->used && c->rule >= 0 && !c->technical && c->param == index)
                        judge_continuous(b, c, &b->profile.rules[c->rule], r->value, mono_ns,
                                         wall_ns);
        }
}

/* ---- time -------------------------------------------------------------- */

static int64_t no_data_ref(const AlarmBed *b)
{
        if (b->have_reading && b->last_reading_mono > b->session_since_mono)
                return b->last_reading_mono;
        return b->session_since_mono;
}

static int64_t nibp_ref(const AlarmBed *b)
{
        if (b->have_nibp && b->last_nibp_mono > b->phase_since_mono)
                return b->last_nibp_mono;
        return b->phase_since_mono;
}

static bool nibp_overdue_applies(const AlarmBed *b)
{
        return b->session_open && b->profile.nibp_cycle_usec > 0 &&
               strcmp(b->phase, "infusion") == 0;
}

void alarm_bed_tick(AlarmBed *b, int64_t mono_ns, int64_t wall_ns)
{
        const AlarmProfile *p = &b->profile;
        Condition *c;

        bed_now(b, mono_ns, wall_ns);
        silence_expire(b, mono_ns, wall_ns);

        /* Delays of continuous rules, judged only while the parameter's
         * latest reading is valid (pending implies it was out of range). */
        for (size_t i = 0; i < b->n_conds; i++) {
                const AlarmRule *r;

                c = &b->conds[i];
                if (!c->used || c->technical || c->rule < 0 || c->episodic)
                        continue;
                if (!b->params[c->param].valid_now)
                        continue;
                r = &p->rules[c->rule];
                if (!cond_present(c) && elapsed(c->pending_mono, mono_ns, r->on_delay_usec))
                        cond_raise(b, c, r->priority, mono_ns, wall_ns);
                else if (cond_present(c) && elapsed(c->clearing_mono, mono_ns, r->off_delay_usec))
                        cond_clear(b, c, NULL, mono_ns, wall_ns);
        }

        if (b->session_open && p->no_data_usec > 0 &&
            elapsed(no_data_ref(b), mono_ns, p->no_data_usec)) {
                c = engine_cond(b, ALARM_COND_NO_DATA, true);
                if (c && !cond_present(c)) {
                        snprintf(c->detail, sizeof(c->detail), "no reading for %llu s",
                                 (unsigned long long)((mono_ns - no_data_ref(b)) / 1000000000LL));
                        cond_raise(b, c, p->no_data_priority, mono_ns, wall_ns);
                }
        }

        for (size_t i = 0; i < b->n_params; i++) {
                raise_sensor_off(b, (int)i, mono_ns, wall_ns);
                raise_param_no_data(b, (int)i, mono_ns, wall_ns);
        }

        c = find_cond(b, ALARM_COND_CLOCK_JUMP, true);
        if (c && cond_present(c) && mono_ns >= b->clock_jump_until_mono)
                cond_clear(b, c, NULL, mono_ns, wall_ns);

        if (nibp_overdue_applies(b) &&
            elapsed(nibp_ref(b), mono_ns, p->nibp_cycle_usec + p->nibp_grace_usec)) {
                c = engine_cond(b, ALARM_COND_NIBP_OVERDUE, true);
                if (c && !cond_present(c)) {
                        snprintf(c->detail, sizeof(c->detail), "no NIBP measurement for %llu s",
                                 (unsigned long long)((mono_ns - nibp_ref(b)) / 1000000000LL));
                        cond_raise(b, c, p->nibp_overdue_priority, mono_ns, wall_ns);
                }
        }

        for (size_t i = 0; i < b->n_conds; i++) {
                c = &b->conds[i];
                if (!c->used)
                        continue;
                /* Technical conditions keep the priority the core or the
                 * profile gave them. */
                if (c->state == ALARM_ACTIVE && !c->technical && c->priority < ALARM_PRIO_HIGH &&
                    p->escalate_usec > 0 &&
                    elapsed(c->escalate_ref_mono, mono_ns, p->escalate_usec)) {
                        c->priority++;
                        c->escalate_ref_mono = mono_ns;
                        emit(b, ALARM_EV_ESCALATED, c, NULL, NULL, mono_ns, wall_ns,
                             !bed_silenced_at(b, mono_ns));
                }
                /* A reminder due during a silence waits for its end. */
                if (c->state == ALARM_ACKNOWLEDGED && p->reminder_usec > 0 &&
                    !bed_silenced_at(b, mono_ns) &&
                    elapsed(c->reminder_ref_mono, mono_ns, p->reminder_usec)) {
                        c->reminder_ref_mono = mono_ns;
                        emit(b, ALARM_EV_REMINDER, c, NULL, c->detail, mono_ns, wall_ns, true);
                }
        }
}

void alarm_engine_tick(AlarmEngine *e, int64_t mono_ns, int64_t wall_ns)
{
        for (size_t i = 0; i < e->n_beds; i++)
                alarm_bed_tick(e->beds[i], mono_ns, wall_ns);
}

static void candidate(int64_t *d, int64_t t)
{
        if (t < *d)
                *d = t;
}

int64_t alarm_bed_next_deadline(const AlarmBed *b)
{
        const AlarmProfile *p = &b->profile;
        int64_t d = INT64_MAX;

        if (b->silenced)
                candidate(&d, b->silence_until_mono);
        for (size_t i = 0; i < b->n_conds; i++) {
                const Condition *c = &b->conds[i];

                if (!c->used)
                        continue;
                if (!c->technical && c->rule >= 0 && !c->episodic &&
                    b->params[c->param].valid_now) {
                        const AlarmRule *r = &p->rules[c->rule];
                        if (!cond_present(c) && c->pending_mono != NEVER)
                                candidate(&d, add_sat(c->pending_mono, r->on_delay_usec));
                        if (cond_present(c) && c->clearing_mono != NEVER)
                                candidate(&d, add_sat(c->clearing_mono, r->off_delay_usec));
                }
                if (c->state == ALARM_ACTIVE && !c->technical && c->priority < ALARM_PRIO_HIGH &&
                    p->escalate_usec > 0)
                        candidate(&d, add_sat(c->escalate_ref_mono, p->escalate_usec));
                if (c->state == ALARM_ACKNOWLEDGED && p->reminder_usec > 0) {
                        int64_t t = add_sat(c->reminder_ref_mono, p->reminder_usec);
                        if (b->silenced && t < b->silence_until_mono)
                                t = b->silence_until_mono;
                        candidate(&d, t);
                }
        }
        if (b->session_open && p->no_data_usec > 0) {
                const Condition *c = NULL;
                for (size_t i = 0; i < b->n_conds; i++)
                        if (b->conds[i].used && b->conds[i].technical &&
                            strcmp(b->conds[i].name, ALARM_COND_NO_DATA) == 0)
                                c = &b->conds[i];
                if (!c || !cond_present(c))
                        candidate(&d, add_sat(no_data_ref(b), p->no_data_usec));
        }
        for (size_t i = 0; b->session_open && i < b->n_params; i++) {
                const ParamWatch *w = &b->params[i];
                int64_t ref, due;

                due = param_no_data_due(b, (int)i, NULL);
                if (due != NEVER && !param_cond_present(b, PARAM_COND_NO_DATA, (int)i))
                        candidate(&d, due);
                if (w->valid_now || w->episodic ||
                    param_cond_present(b, PARAM_COND_SENSOR_OFF, (int)i))
                        continue;
                ref = w->bad_since_mono > b->session_since_mono ? w->bad_since_mono
                                                                : b->session_since_mono;
                candidate(&d, add_sat(ref, p->sensor_off_delay_usec));
        }
        {
                const Condition *c = find_tech_const(b, ALARM_COND_CLOCK_JUMP);
                if (c && cond_present(c))
                        candidate(&d, b->clock_jump_until_mono);
        }
        if (nibp_overdue_applies(b)) {
                const Condition *c = NULL;
                for (size_t i = 0; i < b->n_conds; i++)
                        if (b->conds[i].used && b->conds[i].technical &&
                            strcmp(b->conds[i].name, ALARM_COND_NIBP_OVERDUE) == 0)
                                c = &b->conds[i];
                if (!c || !cond_present(c))
                        candidate(&d,
                                  add_sat(nibp_ref(b), p->nibp_cycle_usec + p->nibp_grace_usec));
        }
        return d;
}

int64_t alarm_engine_next_deadline(const AlarmEngine *e)
{
        int64_t d = INT64_MAX;

        for (size_t i = 0; i < e->n_beds; i++)
                candidate(&d, alarm_bed_next_deadline(e->beds[i]));
        return d;
}

/* ---- clock jumps --------------------------------------------------------- */

static void clock_jump(AlarmBed *b, int64_t step_ns, int64_t mono, int64_t wall)
{
        Condition *c;

        bed_now(b, mono, wall);
        silence_expire(b, mono, wall);
        c = engine_cond(b, ALARM_COND_CLOCK_JUMP, false);
        if (!c)
                return;
        c->value = (double)step_ns / 1e9;
        c->limit = (double)ALARM_CLOCK_JUMP_NS / 1e9;
        snprintf(c->detail, sizeof(c->detail),
                 "wall clock stepped %s by %.3f s against the monotonic clock",
                 step_ns > 0 ? "forward" : "back", fabs((double)step_ns / 1e9));
        b->clock_jump_until_mono = add_sat(mono, ALARM_CLOCK_JUMP_HOLD_USEC);
        if (!cond_present(c))
                cond_raise(b, c, ALARM_CLOCK_JUMP_PRIORITY, mono, wall);
}

int64_t alarm_engine_clock(AlarmEngine *e, int64_t mono_ns, int64_t wall_ns)
{
        int64_t offset = wall_ns - mono_ns, step;

        if (!e->have_clock_offset) {
                e->have_clock_offset = true;
                e->clock_offset_ns = offset;
                return 0;
        }
        step = offset - e->clock_offset_ns;
        e->clock_offset_ns = offset;
        if (step >= -ALARM_CLOCK_JUMP_NS && step <= ALARM_CLOCK_JUMP_NS)
                return 0;
        for (size_t i = 0; i < e->n_beds; i++)
                clock_jump(e->beds[i], step, mono_ns, wall_ns);
        return step;
}

/* ---- technical conditions of the core ---------------------------------- */

int alarm_bed_technical(AlarmBed *b, const char *condition, AlarmPriority prio, bool present,
                        const char *detail, int64_t mono_ns, int64_t wall_ns)
{
        Condition *c;
        size_t n_core = 0;

        if (!alarm_condition_name_valid(condition) || engine_owned_name(condition))
                return -EINVAL;
        if (present && (prio < ALARM_PRIO_LOW || prio > ALARM_PRIO_HIGH))
                return -EINVAL;
        if (find_cond(b, condition, false))
                return -EINVAL; /* a profile rule has that name */

        bed_now(b, mono_ns, wall_ns);
        silence_expire(b, mono_ns, wall_ns);
        c = find_cond(b, condition, true);
        if (!present) {
                if (c && cond_present(c))
                        cond_clear(b, c, detail, mono_ns, wall_ns);
                return 0;
        }
        if (!c) {
                for (size_t i = 0; i < b->n_conds; i++)
                        if (b->conds[i].used && b->conds[i].technical && !b->conds[i].engine_owned)
                                n_core++;
                if (n_core >= CORE_TECHNICAL_MAX)
                        return -ENOSPC;
                c = add_cond(b, condition, true);
                if (!c)
                        return -ENOSPC;
        }
        if (!cond_present(c)) {
                snprintf(c->detail, sizeof(c->detail), "%s", detail ? detail : "");
                cond_raise(b, c, prio, mono_ns, wall_ns);
        } else if (prio > c->priority) {
                snprintf(c->detail, sizeof(c->detail), "%s", detail ? detail : "");
                c->priority = prio;
                emit(b, ALARM_EV_ESCALATED, c, NULL, c->detail, mono_ns, wall_ns,
                     !bed_silenced_at(b, mono_ns));
        } else if (detail) {
                snprintf(c->detail, sizeof(c->detail), "%s", detail);
        }
        return 0;
}

bool alarm_bed_present(const AlarmBed *b, const char *condition)
{
        for (size_t i = 0; condition && i < b->n_conds; i++) {
                const Condition *c = &b->conds[i];
                if (c->used && strcmp(c->name, condition) == 0 && cond_present(c))
                        return true;
        }
        return false;
}

/* ---- user actions ------------------------------------------------------ */

int alarm_engine_ack(AlarmEngine *e, int64_t alarm_id, const char *actor, int64_t mono_ns,
                     int64_t wall_ns)
{
        if (!actor || !*actor)
                return -EINVAL;
        for (size_t i = 0; i < e->n_beds; i++) {
                AlarmBed *b = e->beds[i];
                for (size_t k = 0; k < b->n_conds; k++) {
                        Condition *c = &b->conds[k];
                        if (!c->used || c->id != alarm_id || c->state == ALARM_INACTIVE)
                                continue;
                        bed_now(b, mono_ns, wall_ns);
                        silence_expire(b, mono_ns, wall_ns);
                        return cond_ack(b, c, actor, mono_ns, wall_ns);
                }
        }
        return -ENOENT;
}

int alarm_engine_ack_all(AlarmEngine *e, const char *bed, const char *actor, int64_t mono_ns,
                         int64_t wall_ns)
{
        int n = 0;

        if (!actor || !*actor)
                return -EINVAL;
        if (bed && !alarm_bed_find(e, bed))
                return -ENOENT;
        for (size_t i = 0; i < e->n_beds; i++) {
                AlarmBed *b = e->beds[i];
                if (bed && strcmp(b->name, bed) != 0)
                        continue;
                bed_now(b, mono_ns, wall_ns);
                silence_expire(b, mono_ns, wall_ns);
                for (size_t k = 0; k < b->n_conds; k++) {
                        Condition *c = &b->conds[k];
                        if (c->used && (c->state == ALARM_ACTIVE || c->state == ALARM_LATCHED) &&
                            cond_ack(b, c, actor, mono_ns, wall_ns) == 0)
                                n++;
                }
        }
        return n;
}

static void silence_bed(AlarmBed *b, uint64_t duration_usec, const char *actor, int64_t mono,
                        int64_t wall)
{
        uint64_t granted = duration_usec;
        char detail[64] = "";

        bed_now(b, mono, wall);
        silence_expire(b, mono, wall);
        if (granted > b->profile.silence_max_usec) {
                granted = b->profile.silence_max_usec;
                snprintf(detail, sizeof(detail), "requested %llu s",
                         (unsigned long long)(duration_usec / USEC));
        }
        if (!b->silenced)
                b->silence_id = b->engine->next_id++;
        b->silenced = true;
        b->silence_until_mono = add_sat(mono, granted);
        b->silence_priority = highest_priority(b);
        snprintf(b->silence_actor, sizeof(b->silence_actor), "%s", actor);
        emit_silence(b, ALARM_EV_SILENCED, actor, (double)granted / 1e6, detail, mono, wall, false);
}

int alarm_engine_silence(AlarmEngine *e, const char *bed, uint64_t duration_usec, const char *actor,
                         int64_t mono_ns, int64_t wall_ns)
{
        if (!actor || !*actor || duration_usec == 0)
                return -EINVAL;
        if (bed) {
                AlarmBed *b = alarm_bed_find(e, bed);
                if (!b)
                        return -ENOENT;
                silence_bed(b, duration_usec, actor, mono_ns, wall_ns);
                return 0;
        }
        for (size_t i = 0; i < e->n_beds; i++)
                silence_bed(e->beds[i], duration_usec, actor, mono_ns, wall_ns);
        return 0;
}

bool alarm_bed_silenced(const AlarmBed *b, int64_t mono_ns, uint64_t *ret_remaining_usec)
{
        bool s = bed_silenced_at(b, mono_ns);

        if (ret_remaining_usec)
                *ret_remaining_usec =
                    s ? (uint64_t)(b->silence_until_mono - mono_ns + 999) / 1000 : 0;
        return s;
}

/* ---- listing ----------------------------------------------------------- */

static bool info_before(const AlarmInfo *a, const AlarmInfo *b)
{
        if (a->priority != b->priority)
                return a->priority > b->priority;
        if (a->since_mono_ns != b->since_mono_ns)
                return a->since_mono_ns < b->since_mono_ns;
        return a->id < b->id;
}

static void info_fill(AlarmInfo *i, const AlarmBed *b, const Condition *c)
{
        memset(i, 0, sizeof(*i));
        i->id = c->id;
        snprintf(i->bed, sizeof(i->bed), "%s", b->name);
        snprintf(i->condition, sizeof(i->condition), "%s", c->name);
        i->technical = c->technical;
        i->priority = c->priority;
        i->base_priority = c->base_priority;
        i->state_code = c->state;
        i->state = alarm_state_to_string(c->state);
        i->present = cond_present(c);
        i->value = c->value;
        i->limit = c->limit;
        i->since_mono_ns = c->since_mono;
        i->since_wall_ns = c->since_wall;
        if (c->state == ALARM_ACKNOWLEDGED)
                snprintf(i->acknowledged_by, sizeof(i->acknowledged_by), "%s", c->acked_by);
        snprintf(i->detail, sizeof(i->detail), "%s", c->detail);
}

/* Adds the bed's non-inactive conditions to the sorted, bounded out[] of n
 * entries; returns how many it saw. */
static size_t list_bed(const AlarmBed *b, AlarmInfo *out, size_t max, size_t *n)
{
        size_t total = 0;

        for (size_t k = 0; k < b->n_conds; k++) {
                const Condition *c = &b->conds[k];
                AlarmInfo cand;
                size_t pos;

                if (!c->used || c->state == ALARM_INACTIVE)
                        continue;
                total++;
                if (max == 0)
                        continue;
                info_fill(&cand, b, c);
                /* Insertion into the bounded, sorted out[]. */
                if (*n == max && !info_before(&cand, &out[*n - 1]))
                        continue;
                pos = *n < max ? (*n)++ : *n - 1;
                while (pos > 0 && info_before(&cand, &out[pos - 1])) {
                        out[pos] = out[pos - 1];
                        pos--;
                }
                out[pos] = cand;
        }
        return total;
}

size_t alarm_engine_list(AlarmEngine *e, const char *bed_or_null, AlarmInfo *out, size_t max)
{
        size_t total = 0, n = 0;

        for (size_t i = 0; i < e->n_beds; i++)
                if (!bed_or_null || strcmp(e->beds[i]->name, bed_or_null) == 0)
                        total += list_bed(e->beds[i], out, max, &n);
        return total;
}

size_t alarm_beds_list(const AlarmBed *const *beds, size_t n_beds, AlarmInfo *out, size_t max)
{
        size_t total = 0, n = 0;

        for (size_t i = 0; i < n_beds; i++)
                if (beds[i])
                        total += list_bed(beds[i], out, max, &n);
        return total;
}
