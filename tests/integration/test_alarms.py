# SPDX-License-Identifier: BSD-2-Clause
"""A desaturation and a monitor gone quiet, in real time through a real
vitalsd with the shipped ketamine-infusion profile: the zero-delay
desaturation alarm fires on the first low reading, SpO2 low after its 10 s
on-delay, both end when SpO2 recovers (the high one latched), and a silent
monitor raises the high-priority technical NO_DATA within 30 s.  The
exported alarm events carry those times."""
import json
import os
import shutil

from harness import SOURCE, Daemon, Sim, check, finish, vitalsctl, wait_for, workdir

wd = workdir("alarms")
scn = os.path.join(wd, "desat-then-quiet.scn")
with open(scn, "w") as f:
    f.write("interval 1\nend 1:40\n"
            "at 0:00 hr 78 spo2 97\n"
            "at 0:05 spo2 85 for 0:15\n"     # 15 s at 85 %: desat at once, low after 10 s
            "at 0:40 silence for 0:45\n")    # the monitor goes quiet, the line stays up
sim = Sim(wd, "mon", ["--scenario", scn])
d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"}},
           {"profile": "ketamine-infusion"})
shutil.copytree(os.path.join(SOURCE, "config", "profiles"), os.path.join(d.confdir, "profiles"))
d.start()
try:
    wait_for(lambda: d.query("SELECT COUNT(*) FROM alarm_events WHERE condition='NO_DATA'")[0][0] > 0,
             90, "NO_DATA")
finally:
    d.stop()
    sim.stop()

out = os.path.join(wd, "s.json")
vitalsctl("export", "--state-dir", d.state_dir, "--bed", "chair-1", "--format", "json",
          "--output", out)
doc = json.load(open(out))
alarms = doc["alarms"]
readings = doc["readings"]


def first(cond, state):
    for a in alarms:
        if a["condition"] == cond and a["state"] == state:
            return a
    return None


def t(iso):
    from datetime import datetime
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


low = [r for r in readings if r["parameter"] == "SPO2" and r["value"] is not None and r["value"] < 88]
check(len(low) >= 10, "the desaturation was recorded (%d readings below 88 %%)" % len(low))
desat = first("SPO2_DESAT", "active")
spo2_low = first("SPO2_LOW", "active")
check(desat is not None and desat["priority"] == "high" and desat["technical"] is False,
      "SPO2_DESAT high, physiological: %r" % (desat,))
check(spo2_low is not None and spo2_low["priority"] == "medium", "SPO2_LOW medium: %r" % (spo2_low,))
if low and desat and spo2_low:
    t0 = t(low[0]["time"])
    check(abs(t(desat["time"]) - t0) < 0.5,
          "SPO2_DESAT fires with the first low reading (%.2f s after it)" % (t(desat["time"]) - t0))
    dt = t(spo2_low["time"]) - t0
    check(9.9 <= dt <= 11.5, "SPO2_LOW fires after its 10 s on-delay (%.2f s)" % dt)
    check(desat["value"] == 85 and desat["limit"] == 88 and spo2_low["limit"] == 92,
          "events carry value and limit (%r/%r, %r)" % (desat["value"], desat["limit"],
                                                         spo2_low["limit"]))
check(first("SPO2_LOW", "inactive") is not None, "SPO2_LOW ends when SpO2 recovers")
check(first("SPO2_DESAT", "latched") is not None,
      "the high-priority desaturation latches until a nurse acknowledges it")
nodata = first("NO_DATA", "active")
check(nodata is not None and nodata["priority"] == "high" and nodata["technical"] is True,
      "NO_DATA is a high-priority technical alarm: %r" % (nodata,))
if nodata:
    last = max(t(r["time"]) for r in readings if t(r["time"]) < t(nodata["time"]))
    gap = t(nodata["time"]) - last
    check(gap <= 31, "NO_DATA within 30 s of the last reading (%.1f s)" % gap)
check(all(a["bed"] == "chair-1" and a["session"] == doc["session"]["id"] for a in alarms),
      "every event names the bed and the session")
log = d.log()
check("SESSION-" not in log, "no patient reference in the daemon's log")
finish()
