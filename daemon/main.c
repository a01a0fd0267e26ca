/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c — vitalsd's command line.  Everything else is in the core library
 * so that tests link the same code.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "conffile.h"
#include "daemon.h"
#include "log.h"
#include "profile.h"
#include "service.h"

static void help(void)
{
        printf("Usage: vitalsd [OPTIONS]\n"
               "\n"
               "Patient-monitoring vitals logger: reads heart rate, SpO2 and blood pressure\n"
               "from bedside monitors, timestamps them, and writes each patient session to a\n"
               "durable SQLite log.\n"
               "\n"
               "SAFETY: the bedside monitor's own alarm system stays primary. vitalsd is a\n"
               "recorder and a secondary notification only; never rely on it as the sole\n"
               "alarm. Every technical fault it detects is itself raised as an alarm.\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE    configuration file (default %s/vitalsd.conf;\n"
               "                       devices.d/*.conf beside it are read too)\n"
               "  -s, --state-dir DIR  where vitals.db lives (default $STATE_DIRECTORY or %s)\n"
               "      --socket PATH    control socket (default $RUNTIME_DIRECTORY/control.sock\n"
               "                       or %s/control.sock)\n"
               "      --check-config   validate the configuration and exit (0 = valid)\n"
               "      --list-drivers   list the monitor drivers and their options\n"
               "  -h, --help           this text\n"
               "      --version        version\n"
               "\n"
               "vitalsd stays in the foreground; run it under systemd (vitalsd.service).\n",
               VITALS_SYSCONFDIR, VITALS_STATEDIR, VITALS_RUNDIR);
}

static void list_drivers(void)
{
        for (const Driver *const *it = driver_list(); *it; it++) {
                const Driver *drv = *it;
                printf("%-20s %s\n", drv->name, drv->description);
                if (drv->transport == TRANSPORT_MODBUS)
                        printf("%-20s port: tcp://HOST:PORT, or a serial line for RTU (default "
                               "%d baud, %d data bits, parity %s, %d stop bit%s)\n",
                               "", drv->line.baud, drv->line.data_bits,
                               line_parity_to_string(drv->line.parity), drv->line.stop_bits,
                               drv->line.stop_bits == 1 ? "" : "s");
                if (drv->transport == TRANSPORT_SERIAL)
                        printf("%-20s line: %d baud, %d data bits, parity %s, %d stop bit%s%s\n",
                               "", drv->line.baud, drv->line.data_bits,
                               line_parity_to_string(drv->line.parity), drv->line.stop_bits,
                               drv->line.stop_bits == 1 ? "" : "s",
                               drv->line.flow == FLOW_RTSCTS    ? ", RTS/CTS"
                               : drv->line.flow == FLOW_XONXOFF ? ", XON/XOFF"
                                                                : "");
                for (const DriverOption *o = drv->options; o && o->key; o++)
                        printf("%-20s option %s (default %s): %s\n", "", o->key,
                               o->default_value ? o->default_value : "none", o->help);
        }
}

int main(int argc, char **argv)
{
        enum { ARG_SOCKET = 0x100, ARG_CHECK, ARG_LIST, ARG_VERSION };
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"state-dir", required_argument, NULL, 's'},
                {"socket", required_argument, NULL, ARG_SOCKET},
                {"check-config", no_argument, NULL, ARG_CHECK},
                {"list-drivers", no_argument, NULL, ARG_LIST},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {},
        };
        const char *config_path = VITALS_SYSCONFDIR "/vitalsd.conf";
        const char *state_dir = NULL, *socket_path = NULL;
        bool check = false;
        Daemon *d = NULL;
        int c, r;

        log_setup("vitalsd");
        while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 's':
                        state_dir = optarg;
                        break;
                case ARG_SOCKET:
                        socket_path = optarg;
                        break;
                case ARG_CHECK:
                        check = true;
                        break;
                case ARG_LIST:
                        list_drivers();
                        return 0;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("vitalsd %s\n", VITALS_VERSION);
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "vitalsd: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }

        if (check) {
                /* Exactly what a reload accepts (service.c). */
                Config *cfg = NULL;
                AlarmProfile prof;
                bool have;
                if (service_load_config(config_path, &cfg, &prof, &have) < 0)
                        return 1;
                printf("%s: configuration valid (%zu devices)\n", config_path, cfg->n_devices);
                config_free(cfg);
                return 0;
        }

        /* Files we create (the database, its WAL) are never world-readable. */
        umask(0027);
        r = daemon_new(config_path, state_dir, socket_path, &d);
        if (r < 0) {
                log_error_errno(r, "cannot start: %m");
                return 1;
        }
        r = daemon_run(d);
        daemon_free(d);
        return r < 0 ? 1 : 0;
}
