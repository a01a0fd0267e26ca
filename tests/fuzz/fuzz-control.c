/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-control.c — the control socket's request parsing and dispatch
 * (daemon/control.c) under arbitrary packets.
 *
 * A real daemon core is built once (daemon_new: a config with two beds whose
 * ports do not exist, a real SQLite file and a real listening socket in a
 * scratch directory); every input is then handed to the dispatcher through
 * control_dispatch_message(), the seam that skips only the socket read.  The
 * daemon's state carries over between inputs, as it does between a real
 * client's requests.  Every input must get exactly one reply: a JSON object
 * with a "type" and a boolean "ok", and an "error" code when not ok.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "fuzz-common.h"
#include "fuzz.h"
#include "log.h"

static Daemon *daemon_;
static unsigned inputs;

static const char config_text[] =
        "[daemon]\n"
        "tick = 1\n"
        "reconnect_min = 60\n"
        "reconnect_max = 60\n"
        "\n"
        "[device mon-1]\n"
        "driver = ge-s5\n"
        "port = /nonexistent/vitals-fuzz-1\n"
        "bed = chair-1\n"
        "\n"
        "[device mon-2]\n"
        "driver = ge-s5\n"
        "port = /nonexistent/vitals-fuzz-2\n"
        "bed = chair-2\n";

static void daemon_cleanup(void)
{
        daemon_free(daemon_);
        daemon_ = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char conf[PATH_MAX], state[PATH_MAX], sock[PATH_MAX];
        const char *dir = fuzz_scratch_dir();

        log_set_max_level(-1);
        snprintf(conf, sizeof(conf), "%s/vitalsd.conf", dir);
        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(sock, sizeof(sock), "%s/control.sock", dir);
        if (fuzz_write_file(conf, (const uint8_t *)config_text, strlen(config_text)) < 0 ||
            daemon_new(conf, state, sock, &daemon_) < 0) {
                fprintf(stderr, "fuzz-control: cannot set up a daemon in %s\n", dir);
                abort();
        }
        /* Freed before atexit() removes the scratch directory (LIFO). */
        atexit(daemon_cleanup);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ucred cred = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
        json_object *reply, *v;

        if (!daemon_)
                LLVMFuzzerInitialize(NULL, NULL);
        if (size > CONTROL_MAX_MESSAGE)
                return 0; /* the socket layer answers "too-large" before parsing */
        /* Alternate a privileged and an unprivileged caller. */
        if (size > 0 && (data[0] & 1))
                cred.uid = cred.gid = 65534;

        reply = control_dispatch_message(daemon_->control, &cred, (const char *)data, size);
        FUZZ_ASSERT(reply != NULL && json_object_is_type(reply, json_type_object));
        FUZZ_ASSERT(json_object_object_get_ex(reply, "type", &v) &&
                    json_object_is_type(v, json_type_string));
        FUZZ_ASSERT(json_object_object_get_ex(reply, "ok", &v) &&
                    json_object_is_type(v, json_type_boolean));
        if (!json_object_get_boolean(v))
                FUZZ_ASSERT(json_object_object_get_ex(reply, "error", &v) &&
                            json_object_is_type(v, json_type_string));
        /* The reply must be sendable as one packet. */
        FUZZ_ASSERT(strlen(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN)) <=
                    CONTROL_MAX_MESSAGE);
        json_object_put(reply);

        /* What the requests queued (sessions, markers, alarm events) is
         * committed as the loop's post handler would. */
        if (++inputs % 256 == 0)
                (void)store_flush(daemon_->store);
        return 0;
}
