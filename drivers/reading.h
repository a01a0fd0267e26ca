/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reading.h — one observation as it travels from a driver's decoder to the store.
 *
 * A decoder fills parameter, unit, value, status, flags and device_time_ns; the
 * core fills the host times (taken in the I/O callback before the bytes were
 * parsed) and the device / session it belongs to.  A value is always in the
 * catalogue's display unit once it leaves the core (the core normalises).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define READING_PARAM_MAX 24
#define READING_UNIT_MAX 16

typedef enum ReadingStatus {
        READING_VALID = 0,    /* a measured value */
        READING_INVALID,      /* device flags the value as invalid (GE DATA_INVALID, IntelliVue INVALID) */
        READING_UNAVAILABLE,  /* not measured / sensor off / "---" / not updated */
        READING_QUESTIONABLE, /* device doubts it (IntelliVue QUESTIONABLE, GE over/under range) */
        READING_CALIBRATING,  /* calibration ongoing or not calibrated */
        READING_DEMO,         /* device demo or test data: never a patient value */
        _READING_STATUS_MAX,
} ReadingStatus;

/* Reading.flags */
enum {
        /* An episodic measurement (NIBP) that is new, not a repeat of the last one. */
        READING_FLAG_NEW_MEASUREMENT = 1u << 0,
        /* The device says its sensor is off / disconnected for this parameter. */
        READING_FLAG_SENSOR_OFF = 1u << 1,
        /* The device itself has this parameter in alarm. */
        READING_FLAG_DEVICE_ALARM = 1u << 2,
};

typedef struct Reading {
        char parameter[READING_PARAM_MAX]; /* catalogue name ("HR", "SPO2", "NIBP_SYS") or the device's own */
        char unit[READING_UNIT_MAX];       /* UCUM unit of value ("/min", "%", "mm[Hg]", "kPa", "Cel") */
        double value;                      /* meaningful when status is VALID or QUESTIONABLE */
        ReadingStatus status;
        uint32_t flags;         /* READING_FLAG_* */
        int64_t device_time_ns; /* device's own clock, Unix ns; 0 when the protocol has none */
        /* Filled by the core, never by a driver. */
        int64_t wall_ns; /* CLOCK_REALTIME at arrival, Unix ns */
        int64_t mono_ns; /* CLOCK_BOOTTIME at arrival */
} Reading;

const char *reading_status_to_string(ReadingStatus s);
int reading_status_from_string(const char *s); /* -EINVAL when unknown */
/* Safe copy of a parameter or unit name; truncates, always NUL-terminates. */
void reading_set_name(Reading *r, const char *parameter, const char *unit);
