# SPDX-License-Identifier: BSD-2-Clause
"""A real full disk: vitalsd's state directory is a 4 MiB tmpfs that a
filler file fills up while two monitors stream.  SQLite gets ENOSPC from the
kernel; vitalsd raises STORE_FAILURE on every bed, keeps running with the
readings queued, and once the filler is deleted writes every one of them
and ends the alarm.  (test_store_faults.py covers read-only and the bounded
queue with a fault-injection shim.)

Mounting needs a private mount namespace: the test re-runs itself under
`unshare --mount` as root, or `unshare --user --map-root-user --mount`
otherwise, and skips, saying so, when neither is allowed."""
import os
import subprocess
import sys

MARK = "VITALS_TEST_IN_MOUNT_NS"
if os.environ.get(MARK) != "1":
    env = dict(os.environ, **{MARK: "1"})
    for prefix in (["unshare", "--mount", "--propagation", "private"],
                   ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]):
        try:
            ok = subprocess.run(prefix + ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                                          "/mnt"], capture_output=True).returncode == 0
        except FileNotFoundError:
            ok = False
        if ok:
            os.execvpe(prefix[0], prefix + [sys.executable, os.path.abspath(__file__)] +
                       sys.argv[1:], env)
    print("SKIP: cannot mount a tmpfs here (needs root or unprivileged user namespaces)")
    sys.exit(77)

from harness import Daemon, Sim, Subscriber, check, finish, wait_for, workdir  # noqa: E402

wd = workdir("diskfull")
scn = os.path.join(wd, "fast.scn")
with open(scn, "w") as f:
    f.write("interval 1\nend 30:00\nat 0:00 hr 70 spo2 97\n")
sims = [Sim(wd, "mon%d" % i, ["--scenario", scn, "--time-scale", "20"]) for i in (1, 2)]
d = Daemon(wd, {"mon%d" % i: {"driver": "ge-s5", "port": s.port, "bed": "chair-%d" % i}
                for i, s in enumerate(sims, 1)})
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0750", "tmpfs", d.state_dir],
               check=True)
d.start()
filler = os.path.join(d.state_dir, "filler")


def store():
    return d.status()["store"]


def readings_taken():
    return sum(dev["readings"] for bed in d.status()["beds"] for dev in bed["devices"])


def fill():
    """Writes until the kernel says ENOSPC; returns the bytes written."""
    n = 0
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(b"\0" * 4096)
        except OSError as e:
            if e.errno != 28:
                raise
    return n


sub = Subscriber(d.socket)
try:
    wait_for(lambda: d.query("SELECT COUNT(*) FROM readings")[0][0] >= 60, 20, "readings flowing")
    n = fill()
    print("filled the tmpfs with %d KiB" % (n // 1024))
    st = wait_for(lambda: (lambda s: s if not s["ok"] else None)(store()), 10,
                  "the store to report the full disk")
    check("No space" in (st["last_error"] or ""), "status says: %r" % st["last_error"])
    active = wait_for(lambda: (lambda a: a if len(a) >= 2 else None)(
        sub.alarms("STORE_FAILURE", "active")), 5, "STORE_FAILURE on both beds")
    check(all(a["technical"] and a["priority"] == "high" for a in active) and
          sorted(a["bed"] for a in active) == ["chair-1", "chair-2"],
          "a high-priority technical STORE_FAILURE alarm on both beds")
    n0 = readings_taken()
    wait_for(lambda: readings_taken() >= n0 + 300, 10, "readings while full")
    st = store()
    check(st["queued"] >= 300 and st["dropped"] == 0 and d.proc.poll() is None,
          "vitalsd keeps running and queues the readings (%d queued)" % st["queued"])
    os.unlink(filler)
    wait_for(lambda: (lambda s: s["ok"] and s["queued"] == 0)(store()), 10, "recovery")
    check(True, "with space again the queue is committed")
    wait_for(lambda: len(sub.alarms("STORE_FAILURE", "inactive")) >= 2, 5, "the alarm to end")
    check(True, "and STORE_FAILURE ends on both beds")
    for s in sims:
        s.stop()
    wait_for(lambda: store()["queued"] == 0, 5, "the last commit")
    taken = readings_taken()
    stored = d.query("SELECT COUNT(*) FROM readings")[0][0]
    check(stored == taken and store()["dropped"] == 0,
          "every reading taken is in the log (%d taken, %d stored)" % (taken, stored))
finally:
    sub.close()
    rc = d.stop()
    for s in sims:
        s.stop()
check(rc == 0, "vitalsd exits cleanly (%r)" % rc)
check(d.query("PRAGMA integrity_check") == [("ok",)], "integrity_check ok")
subprocess.run(["umount", d.state_dir])
finish()
