# SPDX-License-Identifier: BSD-2-Clause
"""What a clinic sees on a bad day: a port that does not exist, a port that is
not a serial device, a cable pulled mid-stream and plugged back, a monitor
spewing garbage and damaged frames.  Each gives a clear device state and
error, the daemon keeps running and keeps every good reading."""
import os

from harness import Daemon, Sim, check, finish, wait_for, workdir

wd = workdir("bad")
notaserial = os.path.join(wd, "not-a-port.txt")
with open(notaserial, "w") as f:
    f.write("hello\n")

# The cable is pulled at 1:00 scenario time for 20 s; at x10 that is 6 s in.
pull = Sim(wd, "pull", ["--scenario", "cable-pull", "--time-scale", "10"])
noisy = Sim(wd, "noisy", ["--scenario", "garbage", "--time-scale", "10"])
d = Daemon(wd, {
    "ghost": {"driver": "ge-s5", "port": "/dev/serial/by-id/usb-no-such-adapter", "bed": "chair-9"},
    "file": {"driver": "ge-s5", "port": notaserial, "bed": "chair-8"},
    "pull": {"driver": "ge-s5", "port": pull.port, "bed": "chair-1"},
    "noisy": {"driver": "ge-s5", "port": noisy.port, "bed": "chair-2"},
}, {"reconnect_min": "0.2", "reconnect_max": "1"}).start()
try:
    ghost = wait_for(lambda: (lambda g: g if g and g["last_error"] else None)(d.device("ghost")),
                     10, "the missing port to be reported")
    check(ghost["state"] == "disconnected" and "No such file" in ghost["last_error"],
          "a port that does not exist: disconnected, %r" % ghost["last_error"])
    f = d.device("file")
    check(f["state"] == "disconnected" and "not a serial device" in (f["last_error"] or ""),
          "a regular file as port: disconnected, %r" % f["last_error"])

    wait_for(lambda: d.device("pull")["state"] == "live", 10, "the pulled device to be live")
    wait_for(lambda: d.device("pull")["state"] == "disconnected", 20, "the cable pull to be seen")
    check(True, "a pulled cable puts the device in state disconnected")
    n_during = d.query("SELECT COUNT(*) FROM readings WHERE device='pull'")[0][0]
    live = wait_for(lambda: (lambda p: p if p["state"] == "live" and p["reconnects"] >= 1 else None)(
        d.device("pull")), 30, "the device to come back after re-plugging")
    check(True, "after re-plugging the device is live again without a restart (%d reconnects)" %
          live["reconnects"])
    wait_for(lambda: d.query("SELECT COUNT(*) FROM readings WHERE device='pull'")[0][0] > n_during,
             20, "readings after the re-plug")
    sessions = d.query("SELECT COUNT(*) FROM sessions WHERE bed='chair-1'")[0][0]
    check(sessions == 1, "the pull does not split the session (%d sessions)" % sessions)

    noisy_dev = wait_for(lambda: (lambda n: n if n["frames_bad"] >= 4 else None)(d.device("noisy")),
                         40, "damaged frames to be counted")
    check(noisy_dev["frames_ok"] > 0 and noisy_dev["state"] == "live",
          "garbage and damaged frames are counted (%d bad) and good ones still flow (%d ok)" %
          (noisy_dev["frames_bad"], noisy_dev["frames_ok"]))
    hr = d.query("SELECT DISTINCT value FROM readings WHERE device='noisy' AND parameter='HR'")
    check(hr == [(70.0,)], "no invented value from a damaged frame: every HR is 70 (%r)" % (hr,))
    check(d.proc.poll() is None, "vitalsd is still running")
finally:
    rc = d.stop()
    pull.stop()
    noisy.stop()
check(rc == 0, "and exits cleanly on SIGTERM (%r)" % rc)
finish()
