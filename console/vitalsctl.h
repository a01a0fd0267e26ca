/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vitalsctl.h — what the subcommands of vitalsctl share: exit codes and the
 * global options parsed by vitalsctl.c before a verb runs.
 */
#pragma once

/* Exit codes, the same for every verb. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,   /* the daemon refused, or the data could not be read/written */
        CTL_EXIT_USAGE = 2,     /* bad command line */
        CTL_EXIT_NO_DAEMON = 3, /* cannot connect to the control socket */
        CTL_EXIT_DENIED = 4,    /* not allowed: not root and not in the console group */
        CTL_EXIT_NOT_FOUND = 5, /* no such alarm, bed, session or profile, or no open session */
};

typedef struct CtlGlobal {
        const char *socket_path; /* never NULL once main() has run */
} CtlGlobal;

/* A verb gets argv starting at its own name; returns an exit code. */
int verb_status(int argc, char **argv, const CtlGlobal *g);
int verb_export(int argc, char **argv, const CtlGlobal *g);
int verb_watch(int argc, char **argv, const CtlGlobal *g);
int verb_ack(int argc, char **argv, const CtlGlobal *g);
int verb_silence(int argc, char **argv, const CtlGlobal *g);
int verb_session(int argc, char **argv, const CtlGlobal *g);
int verb_mark(int argc, char **argv, const CtlGlobal *g);

/* $STATE_DIRECTORY's first entry, else the built-in state directory; malloc'd. */
char *ctl_default_state_dir(void);
