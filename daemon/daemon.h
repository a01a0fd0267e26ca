/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.h — the objects of a running vitalsd and how they refer to each
 * other.  One Daemon owns the event loop, the config, the store, the beds
 * and the devices; a Device feeds readings to its Bed; a Bed owns its
 * session.  Everything runs on the one sd-event loop thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conffile.h"
#include "alarm.h"
#include "decode_burst.h"
#include "jsontext.h"
#include "nameindex.h"
#include "driver.h"
#include "serial.h"
#include "store.h"

/* A session-log write that has not completed after this long counts as a
 * store failure (daemon.c check_store_stall()). */
#define STORE_STALL_NS (10 * INT64_C(1000000000))
#define STORE_STALL_TEXT "the disk is not responding (a write has taken more than 10 s)"

typedef struct Daemon Daemon;
typedef struct Bed Bed;
typedef struct ModbusBus ModbusBus;
typedef struct BusRecord BusRecord;
typedef struct ControlServer ControlServer;
typedef struct Service Service;

typedef enum DeviceState {
        DEVICE_CONNECTING,   /* port open, no data yet */
        DEVICE_LIVE,         /* readings arriving */
        DEVICE_STALE,        /* port open but readings overdue */
        DEVICE_DISCONNECTED, /* port closed or failed; reconnect scheduled */
        _DEVICE_STATE_MAX,
} DeviceState;

typedef struct Device {
        Daemon *daemon;
        const DeviceConfig *cfg;
        Bed *bed;
        DriverInstance inst;
        void *driver_state;
        bool driver_ready;

        SerialPort *port;
        sd_event_source *io, *reconnect_timer, *quiet_timer;
        bool io_edge; /* io is edge-triggered (device.c on_io) */
        uint64_t backoff_usec;

        DeviceState state;
        int64_t state_since_wall_ns;
        int64_t last_reading_mono_ns;
        int64_t last_bytes_mono_ns;
        int last_error; /* -errno of the last open/read failure */

        /* Set by the I/O callback before the driver parses the bytes. */
        int64_t arrival_wall_ns, arrival_mono_ns;

        uint64_t counters[_DRIVER_COUNT_MAX];
        DecodeBurst decode_burst; /* DECODE_ERRORS from FRAMES_BAD and BYTES_SKIPPED */
        uint64_t bytes_in, readings, reconnects;
        uint64_t min_period_usec; /* smallest expected period of the driver */

        /* TRANSPORT_MODBUS: the bus worker polls, device.c judges. */
        ModbusBus *bus;
        unsigned bus_slot;
        ModbusPlan plan;
        struct {
                uint64_t polls_ok, timeouts, exceptions, crc_errors, bad_responses, disconnects;
                unsigned timeouts_in_row, errors_in_row; /* failed polls since the last good one */
                unsigned failed_polls;                   /* the threshold (option failed_polls) */
                bool bus_up;
                bool errors_alarm; /* MODBUS_ERRORS raised by this device */
                char last_problem[96];
        } modbus;
} Device;

#define BED_LATEST_MAX 48

struct Bed {
        Daemon *daemon;
        char *name;
        int64_t session_id; /* 0 = no open session */
        char patient_ref[64];
        char profile[64];
        char phase[16]; /* "baseline" | "infusion" | "recovery"; "" without a session */
        bool session_auto; /* opened automatically: closes itself when idle */
        int64_t session_started_wall_ns;
        int64_t last_data_mono_ns;
        Reading latest[BED_LATEST_MAX];
        size_t n_latest;
        bool in_config; /* still named by a device of the current config */
        AlarmBed *alarm;
};

/* Finished readings events are held back at most this long, at most this
 * many of them and this many bytes (a batch message stays well within what
 * the socket takes in one packet). */
#define READINGS_HOLD_USEC (50 * 1000)
#define READINGS_OUT_MAX 128
#define READINGS_OUT_BYTES (48 * 1024)

/* The `readings` event being gathered (events.c). */
typedef struct ReadingsBatch {
        const Device *open;       /* the device whose input is being dispatched, or NULL */
        JsonText ev;              /* the pending event's text, up to its last reading */
        bool pending;             /* ev holds an event */
        const Device *dev;        /* whose readings ev holds */
        int64_t session_id;       /* the session ev names */
        unsigned n;               /* readings in ev */
        char *out[READINGS_OUT_MAX]; /* finished events held back */
        size_t out_len[READINGS_OUT_MAX];
        size_t n_out, out_bytes;
        sd_event_source *flush_timer;
} ReadingsBatch;

struct Daemon {
        sd_event *event;
        Config *config;
        char *config_path;
        char *state_dir;
        char *db_path;
        char *socket_path;
        Store *store;
        ControlServer *control;
        Device **devices;
        size_t n_devices;
        Bed **beds;
        size_t n_beds;
        NameIndex bed_index; /* beds by name */
        sd_event_source *tick_timer;
        AlarmEngine *alarms;
        sd_event_source *alarm_timer;
        int64_t alarm_armed_ns; /* CLOCK_BOOTTIME ns the alarm timer is set for; INT64_MAX: off */
        AlarmProfile profile; /* the default profile ([daemon] profile) */
        bool have_profile;
        int64_t started_mono_ns;
        bool store_failing;
        sd_event_source *commit_io; /* the store writer's "batch done" eventfd */
        bool commit_again;          /* a commit was due while one was running */
        bool commit_again_all;      /* ... and it was the tick's, or a flush's */
        sd_event_source *commit_soon; /* defer: commit before the tick (daemon.c) */
        Service *service; /* service manager: readiness, status, watchdog */
        ReadingsBatch readings_batch;
};

/* device.c */
int device_new(Daemon *d, const DeviceConfig *cfg, Device **ret);
void device_free(Device *dev);
void device_start(Device *dev);
void device_tick(Device *dev, int64_t now_mono_ns);
const char *device_state_to_string(DeviceState s);
/* A record from the device's Modbus bus worker (daemon/modbus_bus.c). */
void device_on_bus_record(Device *dev, const BusRecord *rec);

/* bed.c */
Bed *bed_get(Daemon *d, const char *name); /* creates it when new */
Bed *bed_find(const Daemon *d, const char *name); /* NULL when there is none */
/* Data arrived: a bed without an open session opens one (opened_by "auto").
 * Called before bed_on_reading, which records into the open session. */
void bed_session_auto_open(Bed *b);
void bed_on_reading(Bed *b, const char *device, const Reading *r);
void bed_tick(Bed *b, int64_t now_mono_ns);
/* actor NULL: opened automatically on first data.  Replaces an automatic
 * session.  0, -EBUSY (a user's session is open), -ENOENT (no such
 * profile), -EINVAL (profile invalid), -errno. */
int bed_session_start(Bed *b, const char *patient_ref, const char *profile, const char *actor);
/* After a reload: the open session's profile, loaded anew. */
void bed_reapply_profile(Bed *b);
/* 0 or -ENOENT (no session). */
int bed_session_stop(Bed *b, const char *actor, const char *reason);
/* Records a marker and moves the phase.  0, -EINVAL (unknown kind), -ENOENT (no session). */
int bed_mark(Bed *b, const char *kind, const char *text, const char *actor, int64_t *ret_wall_ns);
/* The phase a marker kind moves a session to (NULL: none); *ret_valid says
 * whether kind is one of infusion-start, dose, infusion-end, note. */
const char *bed_marker_kind_phase(const char *kind, bool *ret_valid);
void bed_free(Bed *b);
/* A session left open by a previous run (crash, restart) continues. */
void bed_session_resume(Bed *b, int64_t id, const char *patient_ref, const char *profile,
                        int64_t started_ns, bool automatic);
const char *bed_phase(const Bed *b);

/* daemon.c */
int daemon_new(const char *config_path, const char *state_dir, const char *socket_path,
               Daemon **ret);
int daemon_run(Daemon *d);
void daemon_free(Daemon *d);
void daemon_device_state_changed(Daemon *d, Device *dev);
void daemon_reading(Daemon *d, Device *dev, const Reading *r);
/* Commits what asked for an immediate commit (a user's action) before its
 * reply goes out, so "ok" means it is in the session log. */
void daemon_commit_now(Daemon *d);
/* Re-arms the alarm timer to the engine's next deadline. */
void daemon_alarm_timer_update(Daemon *d);
/* The same after a change to one bed only: O(1) in the number of beds. */
void daemon_alarm_timer_bed(Daemon *d, const AlarmBed *b);
/* Loads [daemon] profile (if any) from DIR/profiles; logs and returns -errno. */
int daemon_load_profile(const Config *c, AlarmProfile *ret, bool *ret_have);
