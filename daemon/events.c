/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.c — what vitalsd pushes to control-socket subscribers, and in
 * what order.
 *
 * Owns the `readings` event: every reading one device delivers during one
 * dispatch of its input (one chunk of serial bytes fed to its driver: at
 * 1 Hz one monitor record, HR, SpO2, PR...; one record from its Modbus bus
 * worker) goes out as one message
 *   {"type":"readings","bed":B,"device":D,"session":S,"readings":[...]}
 * rather than one message per reading.  With 1,000 beds at 1 Hz and one
 * console subscribed, a send() and a wake-up of the console per reading
 * were the largest part of vitalsd's CPU (issue 8).  One event holds one
 * (bed, device, session): a session opened between two readings starts a
 * new event.  It holds at most READINGS_BATCH_MAX readings.
 *
 * Owns the order too: every other event goes out through daemon_broadcast(),
 * which first sends the readings gathered so far.  A reading joins its
 * batch before the alarm engine judges it (daemon_reading), so the alarm a
 * reading raises reaches a subscriber after the reading itself.
 *
 * Held back a little: a finished event waits up to READINGS_HOLD_USEC
 * (50 ms) with the others finished meanwhile, and all go to each
 * subscriber in one message, {"type":"batch","events":[...]}.  At 1 Hz
 * from 1,000 beds that is ~20 messages and console wake-ups a second
 * instead of 1,000 (each message cost vitalsd more in the kernel than
 * building its event).  A nurse
 * sees a value 50 ms later at most; alarms are never held: every other
 * event first sends what is held back, then goes out at once.
 *
 * Without subscribers nothing is built at all.  A batch lives only within
 * one dispatch on the loop thread; a subscriber dropped meanwhile (slow)
 * simply does not get it.  Nothing here blocks: control_broadcast() never
 * waits for a client.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "events.h"

/* Sends the readings events held back as one message,
 * {"type":"batch","events":[...]}: the texts are joined, not rebuilt. */
void daemon_readings_flush(Daemon *d)
{
        ReadingsBatch *b = &d->readings_batch;
        static const char head[] = "{\"type\":\"batch\",\"events\":[", tail[] = "]}";
        size_t len = sizeof(head) - 1 + sizeof(tail) - 1 + b->out_bytes + b->n_out;
        char *msg, *p;

        if (b->n_out == 0)
                return;
        msg = malloc(len + 1);
        if (msg) {
                p = mempcpy(msg, head, sizeof(head) - 1);
                for (size_t i = 0; i < b->n_out; i++) {
                        if (i)
                                *p++ = ',';
                        p = mempcpy(p, b->out[i], b->out_len[i]);
                }
                p = mempcpy(p, tail, sizeof(tail) - 1);
                *p = '\0';
                control_broadcast_text(d->control, msg, (size_t)(p - msg));
                free(msg);
        }
        /* (Out of memory: these events are lost, never the readings.) */
        for (size_t i = 0; i < b->n_out; i++)
                free(b->out[i]);
        b->n_out = 0;
        b->out_bytes = 0;
}

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        daemon_readings_flush(userdata);
        return 0;
}

/* Ends the pending batch: its event joins the ones held back, which go out
 * within READINGS_HOLD_USEC, or at once when there are READINGS_OUT_MAX of
 * them or another kind of event must go out. */
static void batch_send(Daemon *d)
{
        ReadingsBatch *b = &d->readings_batch;
        size_t len;
        char *copy;

        if (!b->pending)
                return;
        b->pending = false;
        b->n = 0;
        json_text_lit(&b->ev, "]}");
        copy = json_text_steal(&b->ev, &len);
        if (!copy)
                return; /* out of memory: the event is lost, never the reading */
        if (b->n_out == READINGS_OUT_MAX || b->out_bytes + len > READINGS_OUT_BYTES)
                daemon_readings_flush(d);
        b->out[b->n_out] = copy;
        b->out_len[b->n_out++] = len;
        b->out_bytes += len;
        if (!b->flush_timer &&
            sd_event_add_time_relative(d->event, &b->flush_timer, CLOCK_MONOTONIC,
                                       READINGS_HOLD_USEC, READINGS_HOLD_USEC / 10,
                                       on_flush_timer, d) < 0) {
                daemon_readings_flush(d); /* no timer: no holding back */
                return;
        }
        if (sd_event_source_get_enabled(b->flush_timer, NULL) == 0) {
                sd_event_source_set_time_relative(b->flush_timer, READINGS_HOLD_USEC);
                sd_event_source_set_enabled(b->flush_timer, SD_EVENT_ONESHOT);
        }
}

void daemon_readings_free(Daemon *d)
{
        ReadingsBatch *b = &d->readings_batch;

        json_text_free(&b->ev);
        b->pending = false;
        for (size_t i = 0; i < b->n_out; i++)
                free(b->out[i]);
        b->n_out = 0;
        b->out_bytes = 0;
        b->flush_timer = sd_event_source_disable_unref(b->flush_timer);
}

/* The event's text is written as it grows (jsontext.h says why):
 *   {"type":"readings","bed":B,"device":D,"session":S,"readings":[R,R...]}
 * and batch_send() closes it. */
static void batch_new(ReadingsBatch *b, const Device *dev)
{
        json_text_lit(&b->ev, "{\"type\":\"readings\",\"bed\":");
        json_text_string(&b->ev, dev->bed->name);
        json_text_lit(&b->ev, ",\"device\":");
        json_text_string(&b->ev, dev->cfg->name);
        json_text_lit(&b->ev, ",\"session\":");
        json_text_int(&b->ev, dev->bed->session_id);
        json_text_lit(&b->ev, ",\"readings\":[");
        b->pending = true;
        b->dev = dev;
        b->session_id = dev->bed->session_id;
        b->n = 0;
}

void daemon_readings_begin(Daemon *d, const Device *dev)
{
        if (d->readings_batch.open != dev)
                batch_send(d);
        d->readings_batch.open = dev;
}

void daemon_readings_end(Daemon *d, const Device *dev)
{
        batch_send(d);
        d->readings_batch.open = NULL;
}

void daemon_readings_push(Daemon *d, const Device *dev, const Reading *r)
{
        ReadingsBatch *b = &d->readings_batch;

        if (!control_subscribers(d->control))
                return;
        if (b->pending &&
            (b->dev != dev || b->session_id != dev->bed->session_id || b->n >= READINGS_BATCH_MAX))
                batch_send(d);
        if (!b->pending)
                batch_new(b, dev);
        if (b->n)
                json_text_lit(&b->ev, ",");
        /* Out of memory: the reading is still stored and judged; only its
         * event is lost (batch_send() drops an incomplete text). */
        control_reading_text(&b->ev, r);
        b->n++;
        /* Outside a dispatch (a reading from anywhere else): at once. */
        if (b->open != dev)
                batch_send(d);
}

void daemon_broadcast(Daemon *d, json_object *ev)
{
        if (d->readings_batch.pending)
                batch_send(d);
        daemon_readings_flush(d);
        control_broadcast(d->control, ev);
}
