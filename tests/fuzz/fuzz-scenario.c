/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-scenario.c — vitals-sim's scenario parser and evaluator under
 * arbitrary text.  A scenario that parses must also evaluate: samples at
 * the start, in the middle and past the end, the event list and the NIBP
 * schedule, with sane values.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scenario.h"

#define SCENARIO_FUZZ_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[256];
        Scenario *s = NULL;
        char *text;
        int r;

        if (size > SCENARIO_FUZZ_MAX)
                return 0;
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        err[0] = '\0';
        r = scenario_parse(text, "fuzz.scn", &s, err, sizeof(err));
        free(text);
        if (r < 0) {
                FUZZ_ASSERT(s == NULL || r == -ENOMEM);
                FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
                scenario_free(s);
                return 0;
        }
        FUZZ_ASSERT(s != NULL);

        double end = scenario_end_s(s), ival = scenario_interval_s(s);
        FUZZ_ASSERT(isfinite(end) && end >= 0);
        FUZZ_ASSERT(ival >= 1 && ival <= 60);
        const double times[] = {0, ival, end / 2, end, end + ival};
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
                ScenarioSample smp;
                FUZZ_ASSERT(scenario_sample(s, times[i], 1, &smp) == 0);
                for (int p = 0; p < _SCENARIO_PARAM_MAX; p++)
                        (void)scenario_param_value(s, (ScenarioParam)p, times[i]);
        }

        size_t n_events;
        const ScenarioEvent *ev = scenario_events(s, &n_events);
        for (size_t i = 1; i < n_events; i++)
                FUZZ_ASSERT(ev[i - 1].time_s <= ev[i].time_s);
        size_t n_nibp = scenario_nibp_count(s);
        for (size_t i = 0; i < n_nibp; i++) {
                double start, result;
                FUZZ_ASSERT(scenario_nibp_get(s, i, &start, &result) == 0);
                FUZZ_ASSERT(result >= start);
        }
        scenario_free(s);
        return 0;
}
