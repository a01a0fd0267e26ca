/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vitalsctl.c — the client's entry point: global options and the table of
 * subcommands.  Each verb lives in its own file (status.c, export.c) and
 * returns one of the exit codes in vitalsctl.h; nothing here talks to the
 * daemon or the database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vitalsctl.h"

#define DEFAULT_SOCKET VITALS_RUNDIR "/control.sock"

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char **argv, const CtlGlobal *g);
        const char *summary;
} Verb;

static const Verb verbs[] = {
    {"status", verb_status, "show beds, sessions, devices and latest values"},
    {"export", verb_export, "write a session as csv, json, fhir, hl7 or a chart page"},
    {"watch", verb_watch, "live vitals, device states and alarms of every bed"},
    {"ack", verb_ack, "acknowledge an alarm (ID) or every alarm of a bed"},
    {"silence", verb_silence, "silence alarm sound for up to 120 s, one bed or all"},
    {"session", verb_session, "start, stop or list patient sessions"},
    {"mark", verb_mark, "record infusion-start, dose, infusion-end or a note"},
};

static void help(void)
{
        printf("Usage: vitalsctl [--socket PATH] COMMAND [OPTIONS]\n"
               "\n"
               "The client of vitalsd, the vitals logger.\n"
               "\n"
               "vitalsd is a recorder and a secondary notification. The bedside monitor's own\n"
               "alarm system stays primary: never rely on vitalsd or vitalsctl alone.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                printf("  %-10s %s\n", verbs[i].name, verbs[i].summary);
        printf("\n"
               "Options:\n"
               "  --socket PATH  vitalsd's control socket (default: $VITALSD_SOCKET, else %s)\n"
               "  -h, --help     this text; COMMAND --help for a command's options\n"
               "  -V, --version  the version\n",
               DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
            {"socket", required_argument, NULL, 's'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {},
        };
        CtlGlobal g = {0};
        const char *env;
        int c;

        /* '+': stop at the command name; its options are its own. */
        while ((c = getopt_long(argc, argv, "+hV", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        g.socket_path = optarg;
                        break;
                case 'h':
                        help();
                        return CTL_EXIT_OK;
                case 'V':
                        printf("vitalsctl %s\n", VITALS_VERSION);
                        return CTL_EXIT_OK;
                default:
                        fprintf(stderr, "Try 'vitalsctl --help'.\n");
                        return CTL_EXIT_USAGE;
                }
        }
        if (!g.socket_path) {
                env = getenv("VITALSD_SOCKET");
                g.socket_path = env && *env ? env : DEFAULT_SOCKET;
        }

        if (optind >= argc) {
                fprintf(stderr, "vitalsctl: missing command. Try 'vitalsctl --help'.\n");
                return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[optind], verbs[i].name) == 0)
                        return verbs[i].run(argc - optind, argv + optind, &g);

        fprintf(stderr, "vitalsctl: unknown command '%s'. Try 'vitalsctl --help'.\n", argv[optind]);
        return CTL_EXIT_USAGE;
}
