# SPDX-License-Identifier: BSD-2-Clause
"""What a clinic sees on a bad day: a port that does not exist, a port that is
not a serial device, a cable pulled mid-stream and plugged back, a monitor
spewing garbage and damaged frames.  Each gives a clear device state and
error, the daemon keeps running and keeps every good reading.

Damage at 1 %, 10 % and 50 %: a stream vitals-sim sent is corrupted here
(bit flips, cut frames, stray bytes and escapes, garbage bursts that may
hold flag bytes) and replayed byte-exact; the readings in the log must be
exactly the good frames an independent reader (harness.ge_frames) finds:
every good frame kept, none invented."""
import os
import random

from harness import (Daemon, Sim, check, finish, ge_frames, ge_phdb_basic, sim_capture, wait_for,
                     workdir)

wd = workdir("bad")
notaserial = os.path.join(wd, "not-a-port.txt")
with open(notaserial, "w") as f:
    f.write("hello\n")



def corrupt(data, rate, rng):
    """Damages about `rate` of the frames and puts garbage before about
    `rate` of them."""
    flags = [i for i, b in enumerate(data) if b == 0x7E]
    frames = [bytearray(data[a:b + 1]) for a, b in zip(flags[::2], flags[1::2])]
    out = bytearray()
    for f in frames:
        if rng.random() < rate:
            out += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        if rng.random() < rate:
            kind = rng.randrange(4)
            k = rng.randrange(1, len(f) - 1)
            if kind == 0:       # one bit flipped
                f[k] ^= 1 << rng.randrange(8)
            elif kind == 1:     # cut short: the next flag closes it
                f = f[:k]
            elif kind == 2:     # a stray byte
                f[k:k] = bytes([rng.randrange(256)])
            else:               # a stray escape
                f[k:k] = b"\x7d"
        out += f
    return bytes(out)


def reference(data):
    """{record time: (HR, SpO2, PR)} of the good frames, as the independent
    reader sees them."""
    ref = {}
    for ok, rec in ge_frames(data):
        b = ge_phdb_basic(rec) if ok else None
        if b:
            ref[b[0]] = (float(b[1]), b[2] / 100.0, float(b[3]))
    return ref


rng = random.Random(8)
clean = sim_capture(wd, "interval 1\nend 5:00\nat 0:00 hr 60 spo2 99\n"
                    "ramp 0:00-5:00 hr 60->140\nramp 0:00-5:00 spo2 99->90\n"
                    "noise hr 2 spo2 1\n", 100)
rates = {"dmg1": 0.01, "dmg10": 0.10, "dmg50": 0.50}
streams, replays = {}, {}
for name, rate in rates.items():
    streams[name] = corrupt(clean, rate, rng)
    path = os.path.join(wd, name + ".raw")
    with open(path, "wb") as f:
        f.write(streams[name])
    replays[name] = Sim(wd, name, ["--replay", path])

# The cable is pulled at 1:00 scenario time for 20 s; at x10 that is 6 s in.
pull = Sim(wd, "pull", ["--scenario", "cable-pull", "--time-scale", "10"])
noisy = Sim(wd, "noisy", ["--scenario", "garbage", "--time-scale", "10"])
d = Daemon(wd, {
    "ghost": {"driver": "ge-s5", "port": "/dev/serial/by-id/usb-no-such-adapter", "bed": "chair-9"},
    "file": {"driver": "ge-s5", "port": notaserial, "bed": "chair-8"},
    "pull": {"driver": "ge-s5", "port": pull.port, "bed": "chair-1"},
    "noisy": {"driver": "ge-s5", "port": noisy.port, "bed": "chair-2"},
    **{name: {"driver": "ge-s5", "port": r.port, "bed": "bed-" + name} for name, r in replays.items()},
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
    events = wait_for(lambda: (lambda e: e if any(r[0] == "inactive" for r in e) else None)(d.query(
        "SELECT state, priority, technical FROM alarm_events WHERE bed='chair-1' AND "
        "condition='DEVICE_DISCONNECTED' ORDER BY id")), 10, "the disconnection alarm to end")
    check(events[0] == ("active", "high", 1) and events[-1][0] == "inactive",
          "the pull raises a high-priority technical DEVICE_DISCONNECTED alarm that ends on "
          "re-plugging (%r)" % (events,))

    noisy_dev = wait_for(lambda: (lambda n: n if n["frames_bad"] >= 4 else None)(d.device("noisy")),
                         40, "damaged frames to be counted")
    check(noisy_dev["frames_ok"] > 0 and noisy_dev["state"] == "live",
          "garbage and damaged frames are counted (%d bad) and good ones still flow (%d ok)" %
          (noisy_dev["frames_bad"], noisy_dev["frames_ok"]))
    hr = d.query("SELECT DISTINCT value FROM readings WHERE device='noisy' AND parameter='HR'")
    check(hr == [(70.0,)], "no invented value from a damaged frame: every HR is 70 (%r)" % (hr,))

    for name, rate in rates.items():
        data = streams[name]
        wait_for(lambda: "replay done" in replays[name].log(), 60, name + " to be replayed")
        dev = wait_for(lambda: (lambda v: v if v["bytes_in"] >= len(data) else None)(
            d.device(name)), 30, "vitalsd to read all of " + name)
        wait_for(lambda: d.status()["store"]["queued"] == 0, 10, "the commit")
        ref = reference(data)
        got = {}
        for t, param, value in d.query(
                "SELECT device_ns / 1000000000, parameter, value FROM readings WHERE device=?",
                (name,)):
            got.setdefault(t, {})[param] = value
        got = {t: (v.get("HR"), v.get("SPO2"), v.get("PR")) for t, v in got.items()}
        frames = list(ge_frames(data))
        n_bad = sum(1 for ok, _ in frames if not ok)
        lost = [t for t in ref if got.get(t) != ref[t]]
        invented = [t for t in got if t not in ref]
        check(not lost and len(ref) > 0,
              "%d %% damage: every one of the %d good frames is in the log with its values "
              "(%d missing or different; %d frames damaged)" %
              (rate * 100, len(ref), len(lost), n_bad))
        check(not invented, "%d %% damage: no reading from a damaged frame (%d invented)" %
              (rate * 100, len(invented)))
        check(dev["frames_ok"] == len(ref) and dev["state"] == "live",
              "%d %% damage: the device counts %d good and %d bad frames (reader: %d, %d)" %
              (rate * 100, dev["frames_ok"], dev["frames_bad"], len(ref), n_bad))
    check(d.proc.poll() is None, "vitalsd is still running")
finally:
    rc = d.stop()
    pull.stop()
    noisy.stop()
    for r in replays.values():
        r.stop()
check(rc == 0, "and exits cleanly on SIGTERM (%r)" % rc)
finish()
