/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * profile.c — alarm profiles (format in profile.h).
 *
 * The same approach as conffile.c: libinih tokenises through
 * ini_parse_stream() with our line-counting reader, so every error names
 * file:line:key.  The reader also sees every [section] header first (inih
 * calls the handler only for keys, so an empty [rule X] would otherwise go
 * unnoticed), strips leading blanks (an indented key must not become an
 * inih continuation line) and rejects lines longer than inih's buffer
 * rather than letting inih split them.  Any error invalidates the whole
 * profile: a half-read alarm profile is worse than none.
 */
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalogue.h"
#include "log.h"
#include "conffile.h"
#include "profile.h"

#define USEC 1000000ULL

typedef enum Section {
        SECTION_NONE,    /* before the first header */
        SECTION_PROFILE, /* [profile] */
        SECTION_RULE,    /* [rule NAME] */
        SECTION_BAD,     /* a header already reported as wrong: its keys are skipped */
} Section;

enum {
        RULE_KEY_PARAMETER,
        RULE_KEY_ABOVE,
        RULE_KEY_BELOW,
        RULE_KEY_PRIORITY,
        RULE_KEY_ON_DELAY,
        RULE_KEY_OFF_DELAY,
        RULE_KEY_HYSTERESIS,
        _RULE_KEY_MAX,
};

static const char *const rule_keys[_RULE_KEY_MAX] = {
    [RULE_KEY_PARAMETER] = "parameter",   [RULE_KEY_ABOVE] = "above",
    [RULE_KEY_BELOW] = "below",           [RULE_KEY_PRIORITY] = "priority",
    [RULE_KEY_ON_DELAY] = "on_delay",     [RULE_KEY_OFF_DELAY] = "off_delay",
    [RULE_KEY_HYSTERESIS] = "hysteresis",
};

enum {
        PROFILE_KEY_DESCRIPTION,
        PROFILE_KEY_NO_DATA_TIMEOUT,
        PROFILE_KEY_SENSOR_OFF_DELAY,
        PROFILE_KEY_PARAMETER_NO_DATA_PERIODS,
        PROFILE_KEY_NIBP_CYCLE,
        PROFILE_KEY_NIBP_GRACE,
        PROFILE_KEY_REMINDER,
        PROFILE_KEY_ESCALATE,
        PROFILE_KEY_SILENCE_MAX,
        PROFILE_KEY_LATCH_HIGH,
        PROFILE_KEY_LATCH_MEDIUM,
        PROFILE_KEY_LATCH_LOW,
        _PROFILE_KEY_MAX,
};

static const char *const profile_keys[_PROFILE_KEY_MAX] = {
    [PROFILE_KEY_DESCRIPTION] = "description",
    [PROFILE_KEY_NO_DATA_TIMEOUT] = "no_data_timeout",
    [PROFILE_KEY_SENSOR_OFF_DELAY] = "sensor_off_delay",
    [PROFILE_KEY_PARAMETER_NO_DATA_PERIODS] = "parameter_no_data_periods",
    [PROFILE_KEY_NIBP_CYCLE] = "nibp_cycle",
    [PROFILE_KEY_NIBP_GRACE] = "nibp_grace",
    [PROFILE_KEY_REMINDER] = "reminder",
    [PROFILE_KEY_ESCALATE] = "escalate",
    [PROFILE_KEY_SILENCE_MAX] = "silence_max",
    [PROFILE_KEY_LATCH_HIGH] = "latch_high",
    [PROFILE_KEY_LATCH_MEDIUM] = "latch_medium",
    [PROFILE_KEY_LATCH_LOW] = "latch_low",
};

typedef struct ParseCtx {
        const char *file;
        FILE *f;
        unsigned line;
        AlarmProfile *p;
        ProfileDiag *diag;

        Section section;
        int rule; /* index of the current [rule NAME] */
        unsigned profile_header_line;
        unsigned profile_key_line[_PROFILE_KEY_MAX];
        unsigned rule_header_line[ALARM_RULES_MAX];
        unsigned rule_key_line[ALARM_RULES_MAX][_RULE_KEY_MAX];
} ParseCtx;

static void profile_error(ParseCtx *p, unsigned line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void profile_error(ParseCtx *p, unsigned line, const char *key, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (key)
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s: %s", p->file, line, key,
                         msg);
        else
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s", p->file, line, msg);
        if (p->diag->n_errors++ == 0) {
                p->diag->first_line = line;
                snprintf(p->diag->first_key, sizeof(p->diag->first_key), "%s", key ? key : "");
                snprintf(p->diag->first_message, sizeof(p->diag->first_message), "%s", msg);
        }
}

static char *trim(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
                *--end = '\0';
        return s;
}

static void section_begin(ParseCtx *p, const char *header)
{
        const char *close = strchr(header, ']');
        char buf[256], *name;
        size_t n;

        if (!close) {
                /* inih reports the syntax error; skip the keys that follow. */
                p->section = SECTION_BAD;
                return;
        }
        n = (size_t)(close - header - 1);
        if (n >= sizeof(buf))
                n = sizeof(buf) - 1;
        memcpy(buf, header + 1, n);
        buf[n] = '\0';
        name = trim(buf);

        if (strcmp(name, "profile") == 0) {
                if (p->profile_header_line) {
                        profile_error(p, p->line, NULL,
                                      "[profile] defined twice (first on line %u)",
                                      p->profile_header_line);
                        p->section = SECTION_BAD;
                        return;
                }
                p->profile_header_line = p->line;
                p->section = SECTION_PROFILE;
                return;
        }
        if (strncmp(name, "rule", 4) == 0 && (name[4] == ' ' || name[4] == '\t')) {
                const char *cond = trim(name + 5);
                int i;

                p->section = SECTION_BAD;
                if (!alarm_condition_name_valid(cond)) {
                        profile_error(p, p->line, NULL,
                                      "[rule %s]: a condition name is 1 to %d characters of A-Z, "
                                      "0-9 and _",
                                      cond, ALARM_CONDITION_MAX - 1);
                        return;
                }
                if (alarm_condition_name_reserved(cond)) {
                        profile_error(p, p->line, NULL,
                                      "[rule %s]: the name of a technical condition", cond);
                        return;
                }
                for (i = 0; i < (int)p->p->n_rules; i++)
                        if (strcmp(p->p->rules[i].condition, cond) == 0) {
                                profile_error(p, p->line, NULL,
                                              "[rule %s] defined twice (first on line %u)", cond,
                                              p->rule_header_line[i]);
                                return;
                        }
                if (p->p->n_rules >= ALARM_RULES_MAX) {
                        profile_error(p, p->line, NULL, "more than %d rules", ALARM_RULES_MAX);
                        return;
                }
                i = (int)p->p->n_rules++;
                memset(&p->p->rules[i], 0, sizeof(p->p->rules[i]));
                snprintf(p->p->rules[i].condition, sizeof(p->p->rules[i].condition), "%s", cond);
                p->p->rules[i].limit = NAN;
                p->p->rules[i].priority = ALARM_PRIO_NONE;
                p->rule_header_line[i] = p->line;
                memset(p->rule_key_line[i], 0, sizeof(p->rule_key_line[i]));
                p->rule = i;
                p->section = SECTION_RULE;
                return;
        }
        profile_error(p, p->line, NULL, "unknown section [%s] (expected [profile] or [rule NAME])",
                      name);
        p->section = SECTION_BAD;
}

static char *reader(char *str, int num, void *stream)
{
        ParseCtx *p = stream;
        ConfLineProblem problem;
        char *s;

        if (!conf_read_line(p->f, str, num, &problem))
                return NULL;
        p->line++;
        if (problem != CONF_LINE_OK) {
                if (problem == CONF_LINE_NUL)
                        profile_error(p, p->line, NULL, "NUL byte in line");
                else
                        profile_error(p, p->line, NULL, "line too long (at most %d characters)",
                                      num - 2);
                return str; /* "\n" */
        }
        s = str;
        if (p->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
            (unsigned char)s[2] == 0xBF)
                s += 3;
        while (*s == ' ' || *s == '\t')
                s++;
        if (s != str)
                memmove(str, s, strlen(s) + 1);
        if (*str == '[')
                section_begin(p, str);
        return str;
}

static int parse_number(const char *v, double *ret)
{
        char *end;
        double x;

        if (!v || !*v)
                return -EINVAL;
        errno = 0;
        x = strtod(v, &end);
        if (errno || *end || !isfinite(x))
                return -EINVAL;
        *ret = x;
        return 0;
}

static int parse_yes_no(const char *v, bool *ret)
{
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
                *ret = true;
                return 0;
        }
        if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

static int key_index(const char *const *table, int n, const char *key)
{
        for (int i = 0; i < n; i++)
                if (strcmp(table[i], key) == 0)
                        return i;
        return -1;
}

static void profile_key(ParseCtx *p, const char *key, const char *value)
{
        AlarmProfile *pr = p->p;
        int k = key_index(profile_keys, _PROFILE_KEY_MAX, key);
        uint64_t usec;
        bool b;

        if (k < 0) {
                profile_error(p, p->line, key, "unknown key in [profile]");
                return;
        }
        if (p->profile_key_line[k]) {
                profile_error(p, p->line, key, "set twice in [profile] (first on line %u)",
                              p->profile_key_line[k]);
                return;
        }
        p->profile_key_line[k] = p->line;

        switch (k) {
        case PROFILE_KEY_DESCRIPTION:
                if (strlen(value) >= sizeof(pr->description))
                        profile_error(p, p->line, key, "longer than %zu characters",
                                      sizeof(pr->description) - 1);
                else
                        snprintf(pr->description, sizeof(pr->description), "%s", value);
                break;
        case PROFILE_KEY_NO_DATA_TIMEOUT:
                if (conf_parse_seconds(value, 1, 30, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 1 and 30, got \"%s\"", value);
                else
                        pr->no_data_usec = usec;
                break;
        case PROFILE_KEY_SENSOR_OFF_DELAY:
                if (conf_parse_seconds(value, 1, 120, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 1 and 120, got \"%s\"", value);
                else
                        pr->sensor_off_delay_usec = usec;
                break;
        case PROFILE_KEY_PARAMETER_NO_DATA_PERIODS: {
                double x;
                /* Two periods at the least: one late record is jitter, not a loss. */
                if (parse_number(value, &x) < 0 || x != floor(x) || (x != 0 && (x < 2 || x > 20)))
                        profile_error(p, p->line, key,
                                      "must be 0 (off) or a whole number of periods between 2 "
                                      "and 20, got \"%s\"",
                                      value);
                else
                        pr->no_data_periods = (unsigned)x;
                break;
        }
        case PROFILE_KEY_NIBP_CYCLE:
                if (conf_parse_seconds(value, 0, 7200, &usec) < 0 || (usec > 0 && usec < 60 * USEC))
                        profile_error(p, p->line, key,
                                      "must be 0 (off) or seconds between 60 and 7200, got \"%s\"",
                                      value);
                else
                        pr->nibp_cycle_usec = usec;
                break;
        case PROFILE_KEY_NIBP_GRACE:
                if (conf_parse_seconds(value, 0, 600, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 0 and 600, got \"%s\"", value);
                else
                        pr->nibp_grace_usec = usec;
                break;
        case PROFILE_KEY_REMINDER:
                if (conf_parse_seconds(value, 10, 3600, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 10 and 3600, got \"%s\"", value);
                else
                        pr->reminder_usec = usec;
                break;
        case PROFILE_KEY_ESCALATE:
                if (conf_parse_seconds(value, 10, 3600, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 10 and 3600, got \"%s\"", value);
                else
                        pr->escalate_usec = usec;
                break;
        case PROFILE_KEY_SILENCE_MAX:
                if (conf_parse_seconds(value, 1, 120, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 1 and 120 (audio silence never "
                                      "lasts longer), got \"%s\"",
                                      value);
                else
                        pr->silence_max_usec = usec;
                break;
        case PROFILE_KEY_LATCH_HIGH:
        case PROFILE_KEY_LATCH_MEDIUM:
        case PROFILE_KEY_LATCH_LOW:
                if (parse_yes_no(value, &b) < 0) {
                        profile_error(p, p->line, key, "must be yes or no, got \"%s\"", value);
                        break;
                }
                pr->latch[k == PROFILE_KEY_LATCH_HIGH     ? ALARM_PRIO_HIGH
                          : k == PROFILE_KEY_LATCH_MEDIUM ? ALARM_PRIO_MEDIUM
                                                          : ALARM_PRIO_LOW] = b;
                break;
        default:
                break;
        }
}

static void rule_key(ParseCtx *p, const char *key, const char *value)
{
        AlarmRule *r = &p->p->rules[p->rule];
        unsigned *lines = p->rule_key_line[p->rule];
        int k = key_index(rule_keys, _RULE_KEY_MAX, key);
        uint64_t usec;
        double x;
        int prio;

        if (k < 0) {
                profile_error(p, p->line, key, "unknown key in [rule %s]", r->condition);
                return;
        }
        if (lines[k]) {
                profile_error(p, p->line, key, "set twice in [rule %s] (first on line %u)",
                              r->condition, lines[k]);
                return;
        }
        lines[k] = p->line;

        switch (k) {
        case RULE_KEY_PARAMETER:
                if (!catalogue_find(value)) {
                        char known[256] = "";
                        unsigned n;
                        const CatalogueEntry *ce = catalogue_entries(&n);
                        for (unsigned i = 0; i < n; i++) {
                                strncat(known, ce[i].name, sizeof(known) - strlen(known) - 3);
                                if (i + 1 < n)
                                        strncat(known, ", ", sizeof(known) - strlen(known) - 1);
                        }
                        profile_error(p, p->line, key, "unknown parameter \"%s\" (known: %s)",
                                      value, known);
                } else {
                        snprintf(r->parameter, sizeof(r->parameter), "%s", value);
                }
                break;
        case RULE_KEY_ABOVE:
        case RULE_KEY_BELOW: {
                int other = k == RULE_KEY_ABOVE ? RULE_KEY_BELOW : RULE_KEY_ABOVE;
                if (lines[other]) {
                        profile_error(p, p->line, key,
                                      "[rule %s] already has %s = (line %u); a rule has one "
                                      "limit, write a second rule for the other side",
                                      r->condition, rule_keys[other], lines[other]);
                        break;
                }
                if (parse_number(value, &x) < 0) {
                        profile_error(p, p->line, key, "must be a number, got \"%s\"", value);
                        break;
                }
                r->above = k == RULE_KEY_ABOVE;
                r->limit = x;
                break;
        }
        case RULE_KEY_PRIORITY:
                prio = alarm_priority_from_string(value);
                if (prio < 0)
                        profile_error(p, p->line, key, "must be high, medium or low, got \"%s\"",
                                      value);
                else
                        r->priority = (AlarmPriority)prio;
                break;
        case RULE_KEY_ON_DELAY:
        case RULE_KEY_OFF_DELAY:
                if (conf_parse_seconds(value, 0, 600, &usec) < 0)
                        profile_error(p, p->line, key,
                                      "must be seconds between 0 and 600, got \"%s\"", value);
                else if (k == RULE_KEY_ON_DELAY)
                        r->on_delay_usec = usec;
                else
                        r->off_delay_usec = usec;
                break;
        case RULE_KEY_HYSTERESIS:
                if (parse_number(value, &x) < 0 || x < 0 || x > 1000)
                        profile_error(p, p->line, key,
                                      "must be a number between 0 and 1000, got \"%s\"", value);
                else
                        r->hysteresis = x;
                break;
        default:
                break;
        }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        ParseCtx *p = user;

        if (!name)
                return 1;
        switch (p->section) {
        case SECTION_NONE:
                profile_error(p, p->line, name, "key outside a section");
                break;
        case SECTION_PROFILE:
                profile_key(p, name, value);
                break;
        case SECTION_RULE:
                rule_key(p, name, value);
                break;
        case SECTION_BAD:
                break;
        }
        return 1;
}

/* What only the whole rule can tell. */
static void rule_finish(ParseCtx *p, int i)
{
        AlarmRule *r = &p->p->rules[i];
        const unsigned *lines = p->rule_key_line[i];
        unsigned header = p->rule_header_line[i];
        const CatalogueEntry *ce;

        if (!lines[RULE_KEY_PARAMETER])
                profile_error(p, header, "parameter", "[rule %s] needs parameter = NAME",
                              r->condition);
        if (!lines[RULE_KEY_ABOVE] && !lines[RULE_KEY_BELOW])
                profile_error(p, header, "below", "[rule %s] needs above = LIMIT or below = LIMIT",
                              r->condition);
        if (!lines[RULE_KEY_PRIORITY])
                profile_error(p, header, "priority", "[rule %s] needs priority = high|medium|low",
                              r->condition);
        ce = catalogue_find(r->parameter);
        if (ce && ce->episodic) {
                /* NIBP is judged per completed measurement, minutes apart:
                 * a delay would hold back the one value there is. */
                if (lines[RULE_KEY_ON_DELAY])
                        profile_error(p, lines[RULE_KEY_ON_DELAY], "on_delay",
                                      "%s is judged per measurement; it takes no on_delay",
                                      r->parameter);
                if (lines[RULE_KEY_OFF_DELAY])
                        profile_error(p, lines[RULE_KEY_OFF_DELAY], "off_delay",
                                      "%s is judged per measurement; it takes no off_delay",
                                      r->parameter);
        }
}

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

bool profile_name_valid(const char *name)
{
        size_t n;

        if (!name || !*name || name[0] == '.')
                return false;
        n = strlen(name);
        if (n > 63)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

int profile_load_file(const char *path, AlarmProfile *ret, ProfileDiag *diag)
{
        ProfileDiag local_diag;
        AlarmProfile *prof;
        ParseCtx *p;
        const char *base = base_name(path);
        size_t n;
        int r;

        if (!diag)
                diag = &local_diag;
        memset(diag, 0, sizeof(*diag));
        /* The per-rule line tables make the context large: keep it off the stack. */
        p = calloc(1, sizeof(*p));
        prof = calloc(1, sizeof(*prof));
        if (!p || !prof) {
                free(p);
                free(prof);
                return -ENOMEM;
        }
        p->file = path;
        p->diag = diag;
        p->p = prof;
        alarm_profile_init(prof);
        n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".conf") == 0)
                n -= 5;
        if (n >= sizeof(prof->name))
                n = sizeof(prof->name) - 1;
        memcpy(prof->name, base, n);
        prof->name[n] = '\0';

        p->f = fopen(path, "re");
        if (!p->f) {
                r = -errno;
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, r, "%s: cannot read alarm profile: %m",
                         path);
                diag->n_errors++;
                snprintf(diag->first_message, sizeof(diag->first_message), "cannot read: %s",
                         strerror(-r));
                goto out;
        }
        r = ini_parse_stream(reader, p, handler, p);
        fclose(p->f);
        if (r > 0) {
                /* inih reports syntax errors (no '=' or ']') by line number;
                 * our reader hands it exactly one physical line per call. */
                profile_error(p, (unsigned)r, NULL,
                              "syntax error (expected [section] or key = value)");
        } else if (r < 0) {
                r = -ENOMEM;
                goto out;
        }

        for (size_t i = 0; i < prof->n_rules; i++)
                rule_finish(p, (int)i);
        if (prof->n_rules == 0 && diag->n_errors == 0)
                profile_error(p, p->line, NULL,
                              "no [rule NAME] section: a profile without rules never raises a "
                              "physiological alarm");

        if (diag->n_errors) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s: %u error%s in alarm profile",
                         path, diag->n_errors, diag->n_errors == 1 ? "" : "s");
                r = -EINVAL;
                goto out;
        }
        *ret = *prof;
        r = 0;
out:
        free(prof);
        free(p);
        return r;
}

int profile_load(const char *dir, const char *name, AlarmProfile *ret)
{
        char *path = NULL;
        struct stat st;
        int r;

        if (!profile_name_valid(name)) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0,
                         "alarm profile name \"%s\" is not valid (letters, digits, . _ -)",
                         name ? name : "");
                return -EINVAL;
        }
        if (asprintf(&path, "%s/%s.conf", dir, name) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0) {
                r = -errno;
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, r, "alarm profile \"%s\": %s: %m", name,
                         path);
                free(path);
                return r;
        }
        r = profile_load_file(path, ret, NULL);
        free(path);
        return r;
}

int profile_check_dir(const char *dir)
{
        char *pattern = NULL;
        glob_t g = {0};
        struct stat st;
        int r = 0;

        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0,
                         "%s: alarm profile directory does not exist", dir);
                return -ENOENT;
        }
        if (asprintf(&pattern, "%s/*.conf", dir) < 0)
                return -ENOMEM;
        /* glob() sorts, so errors come in a stable order. */
        if (glob(pattern, 0, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        AlarmProfile prof;
                        if (!profile_name_valid(base_name(g.gl_pathv[i]))) {
                                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0,
                                         "%s: not a valid profile file name", g.gl_pathv[i]);
                                r = -EINVAL;
                        } else if (profile_load_file(g.gl_pathv[i], &prof, NULL) < 0) {
                                r = -EINVAL;
                        }
                }
        globfree(&g);
        free(pattern);
        return r;
}
