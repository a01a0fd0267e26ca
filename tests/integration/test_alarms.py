# SPDX-License-Identifier: BSD-2-Clause
"""Every alarm condition in real time, through real vitals-sim monitors and a
real vitalsd with the shipped ketamine-infusion profile, checked in what a
nurse or an auditor gets out: the exported alarm events (JSON alarms array,
and the CSV for one bed) and their times.

Alarm delays are real host time, so the scenarios run at --time-scale 1 with
one record a second ("interval 1").  To keep the run short every condition
has its own bed, all beds run at once in one daemon (one vitals-sim per
bed), and everything is over in about a minute and a half:

  bed       scenario (scenario time)                   expected
  desat     SpO2 85 % 0:05-0:20, then silent 0:40-1:25   SPO2_DESAT high at once, SPO2_LOW
                                                         after 10 s; NO_DATA high within 30 s
                                                         of the silence, and no per-parameter
                                                         NO_DATA_* for a bed gone quiet
  dip       SpO2 89 % for 6 s                            nothing: shorter than the 10 s delay
  hover     91 % for 12 s, then 92/93/91 for 40 s        one SPO2_LOW, held through the hover
  hr        HR 130 0:05-0:25, HR 40 0:35-0:55            HR_HIGH, HR_LOW after 10 s, cleared
                                                         5 s after returning
  surge     NIBP 125/80, 170/95, 190/105, 130/85         medium, then high, on the measurement
  sensor    SpO2 probe off 0:05-0:25, ECG off 0:30-0:45  SENSOR_OFF_SPO2, SENSOR_OFF_HR
  cable     cable pulled 0:10-0:25                       DEVICE_DISCONNECTED high, cleared on
                                                         the re-plug
  garbage   6 damaged frames and 300 garbage bytes       DECODE_ERRORS medium, cleared after a
                                                         quiet 10 s
  module    SpO2 module out 0:10-0:40                    NO_DATA_SPO2 medium after 3 periods
                                                         (15 s for a GE S/5 at interval 5)
  nibp      NIBP at 0:00, then stale (the last result    after session-start with a profile
            repeats, marked old) until 1:10              whose NIBP cycle is 60 s and a `mark`
                                                         infusion-start: NIBP_OVERDUE low 60 s
                                                         after the last real measurement, ended
                                                         by the next one

A second daemon runs beside it with wallstep.so preloaded, through which
the test steps its CLOCK_REALTIME forward by an hour while CLOCK_BOOTTIME
and every timer run on, exactly as an administrator's `date -s` or a first
NTP sync looks to a process (wallstep.c says why not libfaketime):
CLOCK_JUMP (medium, with the step in its detail) must come and go 60 s
later, and readings keep their wall-clock timestamps.  The machine's own
clock is never touched.
"""
import csv
import json
import os
import re
import shutil
import time
from datetime import datetime, timezone

from harness import BUILD, SOURCE, Daemon, Sim, check, finish, vitalsctl, wait_for, workdir

WALLSTEP = os.environ.get("VITALS_WALLSTEP",
                          os.path.join(BUILD, "tests", "integration", "wallstep.so"))


def hover_scenario():
    lines = ["interval 1", "end 1:30", "at 0:00 hr 76 spo2 97", "at 0:05 spo2 91"]
    pattern = [92, 93, 91]
    for i, t in enumerate(range(17, 57)):
        lines.append("at 0:%02d spo2 %d" % (t, pattern[i % 3]))
    lines.append("at 0:57 spo2 97")
    return "\n".join(lines) + "\n"


SCENARIOS = {
    "desat": "interval 1\nend 1:40\nat 0:00 hr 78 spo2 97\n"
             "at 0:05 spo2 85 for 0:15\n"
             "at 0:40 silence for 0:45\n",
    "dip": "interval 1\nend 1:30\nat 0:00 hr 74 spo2 97\nat 0:05 spo2 89 for 0:06\n",
    "hover": hover_scenario(),
    "hr": "interval 1\nend 1:30\nat 0:00 hr 80 spo2 97\n"
          "at 0:05 hr 130 for 0:20\nat 0:35 hr 40 for 0:20\n",
    "surge": "interval 1\nnibp-duration 5\nend 1:30\nat 0:00 hr 80 spo2 97\n"
             "at 0:00 nibp 125/80\nat 0:15 nibp 170/95\nat 0:30 nibp 190/105\n"
             "at 0:45 nibp 130/85\n",
    "sensor": "interval 1\nend 1:30\nat 0:00 hr 76 spo2 97\n"
              "at 0:05 sensor-off spo2 for 0:20\nat 0:30 sensor-off ecg for 0:15\n",
    "cable": "interval 1\nend 1:30\nat 0:00 hr 72 spo2 98\nat 0:10 hangup for 0:15\n",
    "garbage": "interval 1\nend 1:30\nat 0:00 hr 70 spo2 97\n"
               "at 0:10 damage 6\nat 0:12 garbage 300\n",
    "module": "interval 1\nend 1:30\nat 0:00 hr 75 spo2 97\n"
              "at 0:10 module-off spo2 for 0:30\n",
    "nibp": "interval 1\nnibp-duration 5\nend 1:40\n"
            "at 0:00 hr 74 spo2 97 nibp_sys 126 nibp_dia 81\n"
            "at 0:00 nibp auto\nat 0:06 stale-nibp for 1:04\nat 1:10 nibp auto\n",
}
# The event whose arrival means a bed has shown everything it will.
LAST_EVENT = {
    "desat": ("NO_DATA", "active"),
    "hover": ("SPO2_LOW", "inactive"),
    "hr": ("HR_LOW", "inactive"),
    "surge": ("NIBP_SYS_ELEVATED", "inactive"),
    "sensor": ("SENSOR_OFF_HR", "inactive"),
    "cable": ("DEVICE_DISCONNECTED", "latched"),
    "garbage": ("DECODE_ERRORS", "inactive"),
    "module": ("NO_DATA_SPO2", "inactive"),
    "nibp": ("NIBP_OVERDUE", "inactive"),
}
QUIET_BEDS_SETTLE_S = 20  # beds expecting nothing are watched at least this long


def t(iso):
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def write_scenario(wd, name, text):
    path = os.path.join(wd, name + ".scn")
    with open(path, "w") as f:
        f.write(text)
    return path


def has_event(d, bed, cond, state):
    return d.query("SELECT COUNT(*) FROM alarm_events WHERE bed=? AND condition=? AND state=?",
                   (bed, cond, state))[0][0] > 0


def export_json(d, bed):
    out = os.path.join(d.workdir, bed + ".json")
    vitalsctl("export", "--state-dir", d.state_dir, "--bed", bed, "--format", "json",
              "--output", out)
    with open(out) as f:
        return json.load(f)


class Bed:
    """One bed's export, with the lookups the checks need."""

    def __init__(self, name, doc):
        self.name = name
        self.doc = doc
        self.alarms = doc["alarms"]
        self.readings = doc["readings"]

    def events(self, cond, state=None):
        return [a for a in self.alarms
                if a["condition"] == cond and (state is None or a["state"] == state)]

    def first(self, cond, state):
        ev = self.events(cond, state)
        return ev[0] if ev else None

    def conditions(self):
        return sorted({a["condition"] for a in self.alarms})

    def series(self, param):
        return [(t(r["time"]), r["value"], r["status"]) for r in self.readings
                if r["parameter"] == param]

    def first_reading(self, param, pred, after=0.0):
        for ts, v, st in self.series(param):
            if ts > after and pred(v, st):
                return ts
        return None

    def last_reading_before(self, param, before):
        last = None
        for ts, v, st in self.series(param):
            if ts < before:
                last = ts
        return last


def near(what, got, want, lo, hi):
    """got - want within [lo, hi] seconds."""
    if got is None or want is None:
        return check(False, "%s: missing (%r, %r)" % (what, got, want))
    d = got - want
    return check(lo <= d <= hi, "%s: %.2f s (expected %.1f..%.1f)" % (what, d, lo, hi))


wd = workdir("alarms")
profiles = os.path.join(SOURCE, "config", "profiles")
sims = {}
for bed, text in SCENARIOS.items():
    sims[bed] = Sim(wd, bed, ["--scenario", write_scenario(wd, bed, text)])
d = Daemon(os.path.join(wd, "main"), {
    "mon-" + bed: {"driver": "ge-s5", "port": sim.port, "bed": bed} for bed, sim in sims.items()
}, {"profile": "ketamine-infusion", "reconnect_min": "0.2", "reconnect_max": "1"})
shutil.copytree(profiles, os.path.join(d.confdir, "profiles"))
# The nibp bed's session runs under the shipped profile with a 60 s NIBP
# cycle and no grace (the shortest a profile allows), to be seen in a minute.
with open(os.path.join(profiles, "ketamine-infusion.conf")) as f:
    fast = f.read()
fast = re.sub(r"(?m)^nibp_cycle = .*$", "nibp_cycle = 60", fast)
fast = re.sub(r"(?m)^nibp_grace = .*$", "nibp_grace = 0", fast)
with open(os.path.join(d.confdir, "profiles", "fast-nibp.conf"), "w") as f:
    f.write(fast)

# The clock daemon: its own monitor, its wall clock steered by wallstep.so.
clock_sim = clock_d = None
offset_file = os.path.join(wd, "wallstep")
if os.path.exists(WALLSTEP):
    clock_sim = Sim(wd, "clock", ["--scenario", write_scenario(
        wd, "clock", "interval 1\nend 2:00\nat 0:00 hr 72 spo2 98\n")])
    clock_d = Daemon(os.path.join(wd, "clock"),
                     {"mon-clock": {"driver": "ge-s5", "port": clock_sim.port, "bed": "clock"}},
                     {"profile": "ketamine-infusion"})
    shutil.copytree(profiles, os.path.join(clock_d.confdir, "profiles"))
    with open(offset_file, "w") as f:
        f.write("0\n")

started = time.monotonic()
d.start()
if clock_d:
    clock_d.start(env={"LD_PRELOAD": WALLSTEP, "VITALS_WALLSTEP_FILE": offset_file,
                       # In the ASan build the shim comes before the runtime.
                       "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0"})
step_at = None
try:
    # A nurse starts the nibp bed's session with the fast-NIBP profile (it
    # replaces the one opened automatically on the first data) and marks
    # the start of the infusion, before the first NIBP result at 0:05.
    wait_for(lambda: d.query("SELECT COUNT(*) FROM sessions WHERE bed='nibp'")[0][0] > 0, 10,
             "the nibp bed's automatic session")
    r = d.request({"type": "session-start", "bed": "nibp", "patient_ref": "TEST-NIBP",
                   "profile": "fast-nibp"})
    check(r.get("ok") is True, "nibp: session-start with profile fast-nibp: %r" % r)
    r = d.request({"type": "mark", "bed": "nibp", "kind": "infusion-start"})
    check(r.get("ok") is True and r.get("phase") == "infusion",
          "nibp: mark infusion-start moves the session to the infusion phase: %r" % r)
    if clock_d:
        wait_for(lambda: clock_d.query("SELECT COUNT(*) FROM readings")[0][0] >= 5, 20,
                 "readings from the clock bed")
        with open(offset_file + ".new", "w") as f:
            f.write("3600\n")
        os.rename(offset_file + ".new", offset_file)
        step_at = time.time()

    def all_done():
        done = all(has_event(d, b, c, s) for b, (c, s) in LAST_EVENT.items())
        if clock_d:
            done = done and has_event(clock_d, "clock", "CLOCK_JUMP", "inactive")
        return done and time.monotonic() - started > QUIET_BEDS_SETTLE_S

    try:
        wait_for(all_done, 130, "the last expected event of every bed", interval=0.5)
    except TimeoutError:
        # Say which beds never got there; the checks below then say how far they got.
        missing = ["%s (%s %s)" % (b, c, st) for b, (c, st) in LAST_EVENT.items()
                   if not has_event(d, b, c, st)]
        if clock_d and not has_event(clock_d, "clock", "CLOCK_JUMP", "inactive"):
            missing.append("clock (CLOCK_JUMP inactive)")
        check(False, "every bed reached its last expected event within 130 s; missing: %s"
              % ", ".join(missing))
finally:
    d.stop()
    if clock_d:
        clock_d.stop()
    for s in sims.values():
        s.stop()
    if clock_sim:
        clock_sim.stop()
print("all beds done after %.0f s" % (time.monotonic() - started))

beds = {b: Bed(b, export_json(d, b)) for b in SCENARIOS}
check(all(a["bed"] == b.name and a["session"] == b.doc["session"]["id"]
          for b in beds.values() for a in b.alarms),
      "every exported event names its bed and session")
check(all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", a["time"])
          for b in beds.values() for a in b.alarms),
      "every event time is UTC ISO 8601 with milliseconds")

# --- desat: a dip longer than the delay, then a monitor gone quiet ----------
b = beds["desat"]
low = b.first_reading("SPO2", lambda v, st: v is not None and v < 88)
desat, spo2_low = b.first("SPO2_DESAT", "active"), b.first("SPO2_LOW", "active")
check(desat is not None and desat["priority"] == "high" and desat["technical"] is False,
      "desat: SPO2_DESAT high, physiological: %r" % (desat,))
check(spo2_low is not None and spo2_low["priority"] == "medium", "desat: SPO2_LOW medium")
if desat and spo2_low:
    near("desat: SPO2_DESAT fires with the first reading below 88 %", t(desat["time"]), low,
         0, 0.5)
    near("desat: SPO2_LOW fires after its 10 s on-delay", t(spo2_low["time"]), low, 9.9, 11.5)
    check(desat["value"] == 85 and desat["limit"] == 88 and spo2_low["limit"] == 92,
          "desat: events carry value and limit")
check(b.first("SPO2_LOW", "inactive") is not None, "desat: SPO2_LOW ends when SpO2 recovers")
check(b.first("SPO2_DESAT", "latched") is not None,
      "desat: the high-priority desaturation latches until a nurse acknowledges it")
nodata = b.first("NO_DATA", "active")
check(nodata is not None and nodata["priority"] == "high" and nodata["technical"] is True,
      "desat: NO_DATA is a high-priority technical alarm")
if nodata:
    last = max(ts for ts, _, _ in b.series("HR") if ts < t(nodata["time"]))
    near("desat: NO_DATA within 30 s of the last reading", t(nodata["time"]), last, 29.5, 31)
check(not [c for c in b.conditions() if c.startswith("NO_DATA_")],
      "desat: a bed gone wholly quiet gives NO_DATA alone, no NO_DATA_<PARAM> (%s)" %
      b.conditions())

# --- dip: shorter than the delay ---------------------------------------------
b = beds["dip"]
dip = [ts for ts, v, _ in b.series("SPO2") if v is not None and v < 92]
check(len(dip) >= 5, "dip: the 6 s dip to 89 %% was recorded (%d readings)" % len(dip))
check(b.alarms == [], "dip: a dip shorter than the 10 s delay raises nothing (%s)" %
      b.conditions())

# --- hover: no flapping ------------------------------------------------------
b = beds["hover"]
act, ina = b.events("SPO2_LOW", "active"), b.events("SPO2_LOW", "inactive")
check(len(act) == 1, "hover: one SPO2_LOW activation for 12 s below and 40 s around the limit "
      "(%d)" % len(act))
check(len(ina) == 1, "hover: and one end (%d)" % len(ina))
back = b.first_reading("SPO2", lambda v, st: v == 97, after=b.first_reading(
    "SPO2", lambda v, st: v == 91) or 0)
if act and ina:
    near("hover: it ends only 5 s after SpO2 is back above the band for good",
         t(ina[0]["time"]), back, 4.9, 6.5)
check(not b.events("SPO2_DESAT"), "hover: 91 % is no desaturation")

# --- hr: high and low --------------------------------------------------------
b = beds["hr"]
for cond, val, limit, back_val in (("HR_HIGH", 130, 120, 80), ("HR_LOW", 40, 50, 80)):
    start = b.first_reading("HR", lambda v, st, val=val: v == val)
    back = b.first_reading("HR", lambda v, st, bv=back_val: v == bv, after=start or 0)
    a, i = b.first(cond, "active"), b.first(cond, "inactive")
    check(a is not None and a["priority"] == "medium" and a["value"] == val and
          a["limit"] == limit, "hr: %s medium with value %d and limit %d: %r" %
          (cond, val, limit, a))
    if a and i:
        near("hr: %s after its 10 s on-delay" % cond, t(a["time"]), start, 9.9, 11.5)
        near("hr: %s ends 5 s after HR is back" % cond, t(i["time"]), back, 4.9, 6.5)
    check(len(b.events(cond, "active")) == 1, "hr: %s raised once" % cond)

# --- surge: judged per measurement, medium then high -------------------------
b = beds["surge"]
nibp = [(ts, v) for ts, v, st in b.series("NIBP_SYS")]
check([v for _, v in nibp] == [125, 170, 190, 130],
      "surge: four measurements, each recorded once (%r)" % [v for _, v in nibp])
if len(nibp) == 4:
    expect = [(1, "NIBP_SYS_ELEVATED", "active", "medium", 170, 160),
              (2, "NIBP_SYS_HIGH", "active", "high", 190, 180),
              (2, "NIBP_DIA_ELEVATED", "active", "medium", 105, 100),
              (3, "NIBP_SYS_HIGH", "latched", "high", None, None),
              (3, "NIBP_SYS_ELEVATED", "inactive", "medium", None, None),
              (3, "NIBP_DIA_ELEVATED", "inactive", "medium", None, None)]
    for k, cond, state, prio, val, limit in expect:
        e = b.first(cond, state)
        ok = e is not None and e["priority"] == prio and \
            (val is None or (e["value"] == val and e["limit"] == limit))
        check(ok, "surge: %s %s %s with measurement %d: %r" % (cond, state, prio, k + 1, e))
        if e:
            near("surge: %s %s at the measurement's arrival" % (cond, state), t(e["time"]),
                 nibp[k][0], -0.05, 0.5)
    check(not [a for a in b.alarms if t(a["time"]) < nibp[1][0] - 0.05],
          "surge: 125/80 raises nothing")
    check(not b.events("NIBP_DIA_HIGH"), "surge: diastolic 105 is not above 110")

# --- sensor: probe off and leads off -----------------------------------------
b = beds["sensor"]
for cond, param in (("SENSOR_OFF_SPO2", "SPO2"), ("SENSOR_OFF_HR", "HR")):
    off = b.first_reading(param, lambda v, st: st != "valid")
    on = b.first_reading(param, lambda v, st: st == "valid", after=off or 0)
    a, i = b.first(cond, "active"), b.first(cond, "inactive")
    check(a is not None and a["priority"] == "medium" and a["technical"] is True,
          "sensor: %s is a medium technical alarm: %r" % (cond, a))
    if a and i:
        near("sensor: %s after the 10 s sensor-off delay" % cond, t(a["time"]), off, 9.9, 11.5)
        near("sensor: %s ends with the first valid %s" % (cond, param), t(i["time"]), on,
             -0.05, 0.5)
check(b.conditions() == ["SENSOR_OFF_HR", "SENSOR_OFF_SPO2"],
      "sensor: a sensor off is not a low SpO2 or HR, nor missing data (%s)" % b.conditions())

# --- cable: pulled and plugged back ------------------------------------------
b = beds["cable"]
a, i = b.first("DEVICE_DISCONNECTED", "active"), b.first("DEVICE_DISCONNECTED", "latched")
check(a is not None and a["priority"] == "high" and a["technical"] is True,
      "cable: DEVICE_DISCONNECTED high while a session is open: %r" % (a,))
check(i is not None, "cable: the high alarm latches when the cable is back, for a nurse to see")
if a and i:
    before = b.last_reading_before("HR", t(a["time"]))
    after = b.first_reading("HR", lambda v, st: True, after=t(a["time"]))
    near("cable: raised at the hang-up", t(a["time"]), before, 0, 1.5)
    near("cable: cleared on the re-plug, before data flows again", t(i["time"]), after, -2, 0)
    near("cable: the pull lasted 15 s", t(i["time"]), t(a["time"]), 13.5, 17)
check(b.conditions() == ["DEVICE_DISCONNECTED"],
      "cable: 15 s without data is no NO_DATA (%s)" % b.conditions())
check(d.query("SELECT COUNT(*) FROM sessions WHERE bed='cable'")[0][0] == 1,
      "cable: the pull does not split the session")

# --- garbage: a decode-error burst -------------------------------------------
b = beds["garbage"]
a, i = b.first("DECODE_ERRORS", "active"), b.first("DECODE_ERRORS", "inactive")
check(a is not None and a["priority"] == "medium" and a["technical"] is True and
      "mon-garbage: 5 damaged frames in 10 s" in (a["detail"] or ""),
      "garbage: DECODE_ERRORS is a medium technical alarm naming the damage: %r" % (a,))
if a and i:
    gap_start = b.last_reading_before("HR", t(a["time"]))
    gap_end = b.first_reading("HR", lambda v, st: True, after=t(a["time"]))
    near("garbage: raised at the 5th damaged frame, inside the gap", t(a["time"]), gap_start,
         3, 5.9)
    check(gap_end is not None and t(a["time"]) < gap_end, "garbage: while frames were damaged")
    near("garbage: cleared after 10 quiet seconds", t(i["time"]), gap_end, 8, 11)
check(b.conditions() == ["DECODE_ERRORS"], "garbage: nothing else (%s)" % b.conditions())
check({v for _, v, _ in b.series("HR")} == {70}, "garbage: no invented value from a damaged frame")

# --- module: one parameter gone, the rest flowing ----------------------------
b = beds["module"]
a, i = b.first("NO_DATA_SPO2", "active"), b.first("NO_DATA_SPO2", "inactive")
check(a is not None and a["priority"] == "medium" and a["technical"] is True,
      "module: NO_DATA_SPO2 is a medium technical alarm: %r" % (a,))
if a and i:
    last = b.last_reading_before("SPO2", t(a["time"]))
    back = b.first_reading("SPO2", lambda v, st: True, after=t(a["time"]))
    near("module: 3 periods (15 s) after the last SpO2", t(a["time"]), last, 14.9, 16.5)
    near("module: ends with the next SpO2", t(i["time"]), back, -0.05, 0.5)
    hr_during = [ts for ts, _, _ in b.series("HR") if t(a["time"]) - 10 < ts < t(i["time"])]
    check(len(hr_during) >= 15, "module: HR kept coming meanwhile (%d)" % len(hr_during))
check(b.conditions() == ["NO_DATA_SPO2"],
      "module: no NO_DATA, no SENSOR_OFF, no NO_DATA_PR for an unwatched parameter (%s)" %
      b.conditions())
csv_out = vitalsctl("export", "--state-dir", d.state_dir, "--bed", "module", "--format", "csv",
                    "--what", "alarms").stdout
rows = list(csv.DictReader(csv_out.splitlines()))
check([(r["condition"], r["state"], r["priority"], r["technical"]) for r in rows] ==
      [("NO_DATA_SPO2", "active", "medium", "1"), ("NO_DATA_SPO2", "inactive", "medium", "1")],
      "module: the CSV lists the same events (%r)" % rows)
check([r["time"] for r in rows] == [e["time"] for e in b.alarms], "module: at the same times")

# --- clock: a wall-clock step ------------------------------------------------
if not clock_d:
    check(False, "clock: %s is missing (meson builds it with the tests)" % WALLSTEP)
else:
    b = Bed("clock", export_json(clock_d, "clock"))
    a, i = b.first("CLOCK_JUMP", "active"), b.first("CLOCK_JUMP", "inactive")
    check(a is not None and a["priority"] == "medium" and a["technical"] is True and
          "forward by 3600" in (a["detail"] or "") and abs(a["value"] - 3600) < 1 and
          a["limit"] == 2,
          "clock: CLOCK_JUMP medium, its detail and value say by how much: %r" % (a,))
    if a and i:
        near("clock: it clears by itself 60 s later", t(i["time"]), t(a["time"]), 59.8, 61)
        near("clock: stamped with the new wall time", t(a["time"]), step_at + 3600, -0.5, 2)
    hr = [ts for ts, _, _ in b.series("HR")]
    steps = [y - x for x, y in zip(hr, hr[1:])]
    check(any(3599 < s < 3602 for s in steps) and
          all(0.5 < s < 1.6 for s in steps if not 3599 < s < 3602),
          "clock: readings keep their wall-clock timestamps, one a second either side of the step")
    check(b.conditions() == ["CLOCK_JUMP"],
          "clock: the step fires nothing else, no NO_DATA (%s)" % b.conditions())

# --- nibp: overdue during the infusion --------------------------------------
b = beds["nibp"]
check(b.doc["session"]["profile"] == "fast-nibp", "nibp: the session ran under its own profile")
check([m["kind"] for m in b.doc["markers"]] == ["infusion-start"], "nibp: the marker is exported")
nibp = [ts for ts, v, st in b.series("NIBP_SYS")]
check(len(nibp) == 2, "nibp: two measurements, the stale repeats in between not counted (%d)" %
      len(nibp))
a, i = b.first("NIBP_OVERDUE", "active"), b.first("NIBP_OVERDUE", "inactive")
check(a is not None and a["priority"] == "low" and a["technical"] is True and
      a["phase"] == "infusion",
      "nibp: NIBP_OVERDUE is a low technical alarm of the infusion phase: %r" % (a,))
if a and i and len(nibp) == 2:
    mark = t(b.doc["markers"][0]["time"])
    check(mark < nibp[0], "nibp: the infusion started before the first measurement")
    near("nibp: overdue 60 s (cycle + grace) after the last measurement", t(a["time"]), nibp[0],
         59.9, 61)
    near("nibp: ended by the next measurement", t(i["time"]), nibp[1], -0.05, 0.5)
check(b.conditions() == ["NIBP_OVERDUE"], "nibp: nothing else (%s)" % b.conditions())

check("SESSION-" not in d.log() and "TEST-NIBP" not in d.log(),
      "no patient reference in the daemon's log")
finish()
