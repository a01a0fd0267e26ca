# SPDX-License-Identifier: BSD-2-Clause
"""A misbehaving program on the clinic PC floods vitalsd's control socket:
  1. three processes send requests as fast as they can (status requests,
     broken JSON, wrong types, packets over 64 KiB) and never read a reply;
  2. twenty subscribers that never read their events;
  3. a program that opens connections until it is refused and holds them.
Throughout, vitalsd must keep logging (readings committed at the monitor's
rate), keep running, and a well-behaved console must be answered during 1
and 2, and again as soon as the hog of 3 lets go."""
import json
import os
import socket
import time
from multiprocessing import Process, Value

from harness import Daemon, Sim, check, finish, wait_for, workdir

wd = workdir("flood")
scn = os.path.join(wd, "fast.scn")
with open(scn, "w") as f:
    f.write("interval 1\nend 30:00\nat 0:00 hr 70 spo2 97\n")
# 10 records/s, 3 readings each: 30 readings/s.
sim = Sim(wd, "mon", ["--scenario", scn, "--time-scale", "10"])
d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"}}).start()

MESSAGES = [
    b'{"type":"status","id":1}',
    b'{"type":"status"',
    b"\xff\xfe garbage \x00",
    b'{"type":42}',
    b'[{"type":"status"}]',
    b'{"type":"nope","id":{"deep":[[[[[[1]]]]]]}}',
    b'{"type":"subscribe","id":2}',
    b"x" * (70 * 1024),
]


def spammer(path, seconds, sent, dropped):
    end = time.monotonic() + seconds
    s = None
    i = 0
    while time.monotonic() < end:
        try:
            if s is None:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.setblocking(False)
                s.connect(path)
            s.send(MESSAGES[i % len(MESSAGES)])
            i += 1
            with sent.get_lock():
                sent.value += 1
        except BlockingIOError:
            time.sleep(0.0005)
        except OSError:
            # Dropped by the daemon for not reading, or refused: come back.
            if s:
                s.close()
                with dropped.get_lock():
                    dropped.value += 1
            s = None


def committed():
    return d.query("SELECT COUNT(*) FROM readings")[0][0]


def rate_over(seconds, during=None):
    n0, t0 = committed(), time.monotonic()
    if during:
        during()
    while time.monotonic() - t0 < seconds:
        time.sleep(0.1)
    return (committed() - n0) / (time.monotonic() - t0)


def console_status():
    """A well-behaved client: one request, its reply, within a second."""
    t0 = time.monotonic()
    try:
        reply = d.request({"type": "status", "id": 7}, timeout=2)
    except OSError:
        # Refused while vitalsd still counts the hog's last connections as
        # open (it has not yet read their hang-ups): not answered, yet.
        return None, time.monotonic() - t0
    return reply if reply.get("ok") else None, time.monotonic() - t0


try:
    wait_for(lambda: committed() >= 60, 20, "readings flowing")
    base = rate_over(3)
    print("baseline: %.1f readings/s committed" % base)

    # 1. request spam from three processes that never read.
    sent, dropped = Value("l", 0), Value("l", 0)
    procs = [Process(target=spammer, args=(d.socket, 6, sent, dropped)) for _ in range(3)]
    for p in procs:
        p.start()
    time.sleep(1)
    replies = []
    rate = rate_over(4, lambda: replies.append(console_status()))
    replies.append(console_status())
    for p in procs:
        p.join()
    print("spam: %d requests sent, %d connections dropped by vitalsd" % (sent.value, dropped.value))
    check(sent.value > 1000 and dropped.value > 0,
          "the spam was real: %d requests, and vitalsd dropped %d connections that did not read"
          % (sent.value, dropped.value))
    check(rate >= 0.8 * base, "request spam: logging goes on at %.1f readings/s (baseline %.1f)" %
          (rate, base))
    check(all(r and dt < 1.0 for r, dt in replies),
          "request spam: a console is still answered (%s)" %
          ", ".join("%.3f s" % dt for _, dt in replies))

    # 2. subscribers that never read.
    mute = []
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(d.socket)
        s.send(b'{"type":"subscribe","id":1}')
        mute.append(s)
    rate = rate_over(4)
    reply, dt = console_status()
    check(rate >= 0.8 * base, "20 subscribers that never read: logging goes on at %.1f "
          "readings/s" % rate)
    check(reply is not None and dt < 1.0, "and a console is answered (%.3f s)" % dt)
    for s in mute:
        s.close()

    # 3. a hog that takes every connection it can get.
    hog = []
    refused = False
    for _ in range(200):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(1)
        try:
            s.connect(d.socket)
            s.send(b'{"type":"status","id":1}')
            if not s.recv(1 << 20):
                refused = True
                s.close()
                break
        except OSError:
            refused = True
            s.close()
            break
        hog.append(s)
    check(refused, "the hog is refused after %d connections" % len(hog))
    rate = rate_over(3)
    check(rate >= 0.8 * base, "while the hog holds them, logging goes on at %.1f readings/s" % rate)
    for s in hog:
        s.close()
    reply = wait_for(lambda: console_status()[0], 5, "a console to be answered again")
    check(reply["beds"][0]["bed"] == "chair-1", "once the hog lets go a console is answered again")
    check(d.proc.poll() is None, "vitalsd is still running")
    log = d.log()
    check(log.count("\n") < 400, "the flood did not flood the log (%d lines)" % log.count("\n"))
finally:
    rc = d.stop()
    sim.stop()
check(rc == 0, "vitalsd exits cleanly (%r)" % rc)
finish()
