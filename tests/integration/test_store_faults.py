# SPDX-License-Identifier: BSD-2-Clause
"""The session log's disk fails under a running vitalsd: first it turns
read-only (EROFS, as after a filesystem error), then it fills up (ENOSPC) for
longer than the in-memory queue can cover, then it stops answering (fsync
hangs, as a dying disk or a lost network mount does).  Both come from faultfs.c, an
LD_PRELOAD shim below SQLite (a filesystem cannot be remounted read-only
while the daemon has files open on it, and this works as root or not; a
real full tmpfs is test_disk_full.py).

A nurse must see: a high-priority technical STORE_FAILURE alarm on every bed
at once, the daemon still running and still taking readings, a queue that
stays within store_queue_max, every queued reading written once the disk
recovers (none lost while the queue had room; the oldest dropped and counted
beyond it), and the alarm ending by itself.  While the disk hangs, the
console must go on showing readings: the writes wait on the store's writer
thread, not in the event loop."""
import os
import time

from harness import (FAULTFS, Daemon, Sim, Subscriber, check, finish, proc_cpu_s, wait_for,
                     workdir)

QUEUE_MAX = 1024  # the smallest store_queue_max the config accepts

wd = workdir("storefault")
ctl = os.path.join(wd, "fault")
scn = os.path.join(wd, "fast.scn")
with open(scn, "w") as f:
    f.write("interval 1\nend 30:00\nat 0:00 hr 70 spo2 97\n")
# 20 records/s per monitor, 3 readings each: 120 readings/s in all.
sims = [Sim(wd, "mon%d" % i, ["--scenario", scn, "--time-scale", "20"]) for i in (1, 2)]
d = Daemon(wd, {"mon%d" % i: {"driver": "ge-s5", "port": s.port, "bed": "chair-%d" % i}
                for i, s in enumerate(sims, 1)},
           {"store_queue_max": str(QUEUE_MAX)})
d.start(env={"LD_PRELOAD": FAULTFS, "VITALS_FAULT_CTL": ctl,
             "VITALS_FAULT_DIR": os.path.realpath(d.state_dir),
             # The sanitizer runtime must come first; the shim is harmless behind it.
             "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"})


def fault(kind):
    with open(ctl, "w") as f:
        f.write(kind)


def store():
    return d.status()["store"]


def readings_taken():
    return sum(dev["readings"] for bed in d.status()["beds"] for dev in bed["devices"])


sub = Subscriber(d.socket)
try:
    wait_for(lambda: d.query("SELECT COUNT(*) FROM readings")[0][0] >= 60, 20, "readings flowing")

    # --- read-only for about 3 s: everything queued, nothing lost ------------
    fault("EROFS")
    st = wait_for(lambda: (lambda s: s if not s["ok"] else None)(store()), 5,
                  "the store to report the failure")
    # SQLite reports a write refused by a read-only filesystem as a disk I/O
    # error (SQLITE_IOERR_WRITE, without the errno).
    check(st["last_error"] in ("Input/output error", "Read-only file system"),
          "status names the failure: %r" % st["last_error"])
    active = wait_for(lambda: (lambda a: a if len(a) >= 2 else None)(
        sub.alarms("STORE_FAILURE", "active")), 5, "STORE_FAILURE on both beds")
    check(sorted(a["bed"] for a in active) == ["chair-1", "chair-2"] and
          all(a["technical"] and a["priority"] == "high" for a in active),
          "a high-priority technical STORE_FAILURE alarm on every bed")
    n0 = readings_taken()
    cpu0 = proc_cpu_s(d.proc.pid)
    wait_for(lambda: readings_taken() >= n0 + 300, 10, "readings while read-only")
    st = store()
    check(st["queued"] >= 300 and st["dropped"] == 0,
          "while read-only the readings wait in memory (%d queued, %d dropped)" %
          (st["queued"], st["dropped"]))
    fault("")
    wait_for(lambda: (lambda s: s["ok"] and s["queued"] == 0)(store()), 5, "recovery")
    check(True, "once writable again the queue is committed")
    wait_for(lambda: len(sub.alarms("STORE_FAILURE", "inactive")) >= 2, 5,
             "STORE_FAILURE to end")
    check(True, "and the STORE_FAILURE alarm ends by itself on both beds")

    # --- full for longer than the queue covers: bounded, oldest dropped ------
    fault("ENOSPC")
    wait_for(lambda: store()["dropped"] > 0, 30, "the queue to reach store_queue_max")
    n1 = readings_taken()
    wait_for(lambda: readings_taken() >= n1 + 240, 10, "readings while full")
    st = store()
    # Besides readings the queue holds the alarm events of the episode.
    check(st["queued"] <= QUEUE_MAX + 8,
          "the queue stays bounded: %d queued (store_queue_max %d), %d oldest dropped" %
          (st["queued"], QUEUE_MAX, st["dropped"]))
    check("No space" in (st["last_error"] or ""), "status says the disk is full: %r" %
          st["last_error"])
    check(d.proc.poll() is None, "vitalsd keeps running on a full disk")
    latest = d.status()["beds"][0]["latest"]
    check("HR" in latest and latest["HR"]["value"] == 70,
          "the live view keeps showing readings while the disk is full")
    fault("")
    wait_for(lambda: (lambda s: s["ok"] and s["queued"] == 0)(store()), 5, "recovery from full")
    cpu = proc_cpu_s(d.proc.pid) - cpu0
    check(True, "recovered from the full disk")

    # --- the disk stops answering: writes hang, the monitoring does not ----
    n_active = len(sub.alarms("STORE_FAILURE", "active"))
    n_inactive = len(sub.alarms("STORE_FAILURE", "inactive"))
    fault("STALL")
    t0 = time.monotonic()
    n_events = len(sub.events)
    active = wait_for(lambda: (lambda a: a if len(a) >= n_active + 2 else None)(
        sub.alarms("STORE_FAILURE", "active")), 25, "STORE_FAILURE for the hung disk")
    took = time.monotonic() - t0
    check(9 <= took <= 20 and sorted(a["bed"] for a in active[n_active:]) == ["chair-1", "chair-2"],
          "a hung disk raises STORE_FAILURE on every bed after about 10 s (%.1f s)" % took)
    check("not responding" in (active[-1]["detail"] or ""),
          "the alarm says the disk is not responding: %r" % active[-1]["detail"])
    with sub.lock:
        during = [e for t, e in sub.events[n_events:] if t < t0 + took and
                  e.get("type") == "readings"]
    check(len(during) >= 100, "readings kept reaching the console while the disk hung "
          "(%d reading events in %.1f s)" % (len(during), took))
    t1 = time.monotonic()
    st = store()
    check(time.monotonic() - t1 < 3 and not st["ok"] and "not responding" in st["last_error"],
          "status answers at once during the hang and says why: %r" % st["last_error"])
    fault("")
    wait_for(lambda: (lambda s: s["ok"] and s["queued"] == 0)(store()), 15, "recovery from the hang")
    wait_for(lambda: len(sub.alarms("STORE_FAILURE", "inactive")) >= n_inactive + 2, 5,
             "STORE_FAILURE to end after the hang")
    check(True, "once the disk answers again the queue is committed and the alarm ends")

    for s in sims:
        s.stop()
    wait_for(lambda: store()["queued"] == 0, 5, "the last commit")
    taken, st = readings_taken(), store()
    stored = d.query("SELECT COUNT(*) FROM readings")[0][0]
    check(stored == taken - st["dropped"],
          "every reading taken is in the log except the %d counted as dropped "
          "(%d taken, %d stored)" % (st["dropped"], taken, stored))
    for bed in ("chair-1", "chair-2"):
        rows = d.query("SELECT state FROM alarm_events WHERE bed=? AND condition='STORE_FAILURE' "
                       "ORDER BY id", (bed,))
        check([r[0] for r in rows].count("active") == 3 and
              [r[0] for r in rows].count("inactive") == 3,
              "%s: the three episodes' STORE_FAILURE events were written after recovery (%r)" %
              (bed, [r[0] for r in rows]))
    log = d.log()
    check(log.count("cannot write the session log") == 3,
          "one log line per failure episode, not one per retry (%d)" %
          log.count("cannot write the session log"))
    print("vitalsd used %.2f s of CPU over both failure episodes" % cpu)
    check(d.proc.poll() is None, "vitalsd is still running")
finally:
    fault("")
    sub.close()
    rc = d.stop()
    for s in sims:
        s.stop()
check(rc == 0, "and exits cleanly (%r)" % rc)
check(d.query("PRAGMA integrity_check") == [("ok",)], "integrity_check ok")
finish()
