#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""export-bench.py — how long `vitalsctl export` takes for a 24-hour session
and how much memory it needs, per format.  A benchmark that prints figures,
not a test: it passes or fails nothing.

    /usr/bin/python3 tests/bench/export-bench.py [--build build] [--hours 24] [--keep]

The session log is made by a real vitalsd (so the schema is the daemon's
own: it starts with no devices, creates vitals.db and stops), then filled
directly with SQLite: one session of HOURS hours with HR, PR, SpO2 and RR at
1 Hz (four parameters, 345,600 readings for 24 h), one SpO2 probe-off minute
per hour (readings without a value), a two-minute silence every six hours
(gaps), NIBP every 5 minutes, a few markers and alarm events.  Each format
is then exported once to a file; time is wall-clock, peak memory is the
child's maximum resident set size (wait4/getrusage ru_maxrss).
"""
import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

NS = 1000000000

ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
ap.add_argument("--hours", type=float, default=24)
ap.add_argument("--keep", action="store_true", help="keep the database and the exports")
args = ap.parse_args()
build = os.path.abspath(args.build)
vitalsd = os.path.join(build, "daemon", "vitalsd")
vitalsctl = os.path.join(build, "console", "vitalsctl")

wd = tempfile.mkdtemp(prefix="vitals-bench-")
state = os.path.join(wd, "state")
os.makedirs(state)
conf = os.path.join(wd, "vitalsd.conf")
with open(conf, "w") as f:
    f.write("[daemon]\nclinic = Benchmark Clinic\n")

# 1. vitalsd creates the schema.
env = dict(os.environ)
env.pop("NOTIFY_SOCKET", None)
d = subprocess.Popen([vitalsd, "--config", conf, "--state-dir", state, "--socket",
                      os.path.join(wd, "control.sock")], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, env=env)
deadline = time.monotonic() + 10
db = os.path.join(state, "vitals.db")
while not os.path.exists(os.path.join(wd, "control.sock")) and time.monotonic() < deadline:
    time.sleep(0.05)
d.send_signal(signal.SIGTERM)
d.wait(10)
if not os.path.exists(db):
    sys.exit("vitalsd did not create %s" % db)

# 2. A 24-hour session, written directly.
t_fill = time.monotonic()
con = sqlite3.connect(db)
t0 = (int(time.time()) - int(args.hours * 3600) - 600) * NS
seconds = int(args.hours * 3600)
con.execute("INSERT INTO sessions(id, bed, patient_ref, profile, started_ns, ended_ns, opened_by, "
            "closed_by, end_reason) VALUES (1, 'chair-1', 'SESSION-1', 'ketamine-infusion', ?, ?, "
            "'nurse', 'nurse', 'done')", (t0, t0 + seconds * NS))


def rows():
    for s in range(seconds):
        t = t0 + s * NS
        if s % 21600 < 120 and s > 120:
            continue  # the monitor silent for two minutes every six hours
        off = s % 3600 < 60
        hr = 70 + (s // 60) % 25
        for p, v, u in (("HR", hr, "/min"), ("PR", hr + 1, "/min"),
                        ("SPO2", None if off else 97 - (s // 600) % 4, "%"),
                        ("RR", 14 + (s // 300) % 5, "/min")):
            status = "unavailable" if v is None else "valid"
            yield (1, "mon", p, v, u, status, 2 if v is None else 0, t, t, t)
        if s % 300 == 30:
            for p, v in (("NIBP_SYS", 120 + (s // 3600) % 40), ("NIBP_DIA", 80 + (s // 3600) % 20),
                         ("NIBP_MEAN", 95 + (s // 3600) % 25)):
                yield (1, "mon", p, v, "mm[Hg]", "valid", 1, t, t, t)


con.executemany("INSERT INTO readings(session_id, device, parameter, value, unit, status, flags, "
                "wall_ns, mono_ns, device_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
for i, kind in enumerate(("infusion-start", "dose", "infusion-end")):
    con.execute("INSERT INTO markers(session_id, wall_ns, mono_ns, kind, text, actor) VALUES "
                "(1, ?, 0, ?, NULL, 'nurse')", (t0 + (600 + i * 1200) * NS, kind))
for h in range(int(args.hours)):
    for st, off in (("active", 0), ("acknowledged", 20), ("inactive", 95)):
        con.execute("INSERT INTO alarm_events(alarm_id, session_id, bed, wall_ns, mono_ns, condition, "
                    "technical, priority, state, phase, value, limit_value, actor) VALUES "
                    "(?, 1, 'chair-1', ?, 0, 'SPO2_LOW', 0, 'medium', ?, 'infusion', 90, 92, ?)",
                    (h + 1, t0 + (h * 3600 + 1800 + off) * NS, st,
                     "nurse" if st == "acknowledged" else "vitalsd"))
con.commit()
(n_readings,) = con.execute("SELECT count(*) FROM readings").fetchone()
con.close()
print("session log: %s, %.1f h, %d readings, %.0f MB (filled in %.1f s)" % (
    db, args.hours, n_readings, os.path.getsize(db) / 1e6, time.monotonic() - t_fill))

# 3. Each format once.
print("%-8s %10s %14s %14s" % ("format", "seconds", "peak RSS MB", "output MB"))
for fmt, extra in (("csv", []), ("csv", ["--wide"]), ("json", []), ("fhir", []), ("hl7", []),
                   ("pdf", []), ("png", []), ("svg", [])):
    out = os.path.join(wd, "export." + fmt)
    t = time.monotonic()
    p = subprocess.Popen([vitalsctl, "export", "--db", db, "--session", "1", "--format", fmt,
                          "--config", conf, "--output", out] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.monotonic() - t
    err = p.stderr.read().decode().strip()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        print("%-8s failed: %s" % (fmt, err))
        continue
    print("%-8s %10.2f %14.1f %14.1f" % (fmt + (" wide" if extra else ""), elapsed,
                                         usage.ru_maxrss / 1024, os.path.getsize(out) / 1e6))

if args.keep:
    print("kept in %s" % wd)
else:
    shutil.rmtree(wd)
