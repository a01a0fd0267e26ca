# SPDX-License-Identifier: BSD-2-Clause
"""A real vitalsd polls vitals-sim as a Modbus TCP gateway (map
gateway-int16): the exported readings are the scenario's values with the
map's scaling and statuses, and each fault the simulator injects raises the
technical alarm a nurse would see, which ends when the gateway recovers:

  exception 02 for 6 s          MODBUS_ERRORS "exception 02 (Illegal data address)"
  answers 3 s late for 6 s      DEVICE_DISCONNECTED "Connection timed out"
  connection dropped            DEVICE_DISCONNECTED "Connection reset by peer"
  gateway down for 5 s          DEVICE_DISCONNECTED (reset, then refused)
  SpO2 probe off for 4 s        SPO2 readings "unavailable"
"""
import calendar
import time

from harness import Daemon, check, finish, wait_for, workdir
from modbus_harness import (ModbusSim, alarm_rows, export_csv, export_json, install_maps,
                            modbus_counters)

wd = workdir("modbus-tcp")
scn = wd + "/gateway.scn"
with open(scn, "w") as f:
    f.write("end 1:30\ninterval 1\nnibp-duration 5\n"
            "at 0:00 hr 72 spo2 97 pr 71 temp 36.8 rr 14\n"
            "at 0:01 nibp 128/82/97\n"
            "at 0:30 nibp 141/90/107\n"
            "at 0:08 exception 2 for 0:06\n"
            "at 0:18 delay 3 for 0:06\n"
            "at 0:28 drop\n"
            "at 0:34 hangup for 0:05\n"
            "at 0:46 sensor-off spo2 for 0:04\n")

sim = ModbusSim(wd, "gw", "modbus-tcp", ["--map", "gateway-int16", "--scenario", scn])
check(sim.endpoint.startswith("tcp://127.0.0.1:") and int(sim.endpoint.rsplit(":", 1)[1]) > 0,
      "vitals-sim prints its ephemeral endpoint: %s" % sim.endpoint)
d = Daemon(wd, {"gw": {"driver": "modbus", "port": sim.port, "bed": "chair-1",
                       "map": "gateway-int16", "response_timeout_ms": "500",
                       "failed_polls": "3"}},
           {"reconnect_min": "0.5", "reconnect_max": "2"})
install_maps(d)
d.start()
counters = {}
try:
    wait_for(lambda: d.device("gw")["state"] == "live", 10, "first poll")
    # Let the scenario run through every fault and the sensor-off window.
    deadline = sim.started + 53
    while time.monotonic() < deadline:
        time.sleep(0.5)
    counters = modbus_counters(d, "gw")
    state = d.device("gw")["state"]
finally:
    try:
        d.stop()
    finally:
        sim.stop()

check(state == "live", "the device is live again after every fault (%s)" % state)
check(counters.get("exceptions", 0) >= 3 and counters.get("timeouts", 0) >= 3 and
      counters.get("disconnects", 0) >= 2 and counters.get("polls_ok", 0) >= 25,
      "status counts exceptions, timeouts, disconnects and good polls: %r" % counters)

rows = export_csv(d, "chair-1")
by = {}
for r in rows:
    by.setdefault(r["parameter"], []).append(r)
valid = lambda p: [float(r["value"]) for r in by.get(p, []) if r["status"] == "valid"]
check(len(valid("HR")) >= 25 and set(valid("HR")) == {72.0}, "HR 72 /min throughout")
check(set(valid("SPO2")) == {97.0} and all(r["unit"] == "%" for r in by["SPO2"]),
      "SpO2 97 % (tenths in the register, scaled by the map)")
check(set(valid("TEMP")) == {36.8} and by["TEMP"][0]["unit"] == "Cel", "temperature 36.8 Cel")
check(set(valid("RR")) == {14.0} and set(valid("PR")) == {71.0}, "RR and PR as in the scenario")
check({128.0, 141.0} <= set(valid("NIBP_SYS")) and {82.0, 90.0} <= set(valid("NIBP_DIA")) and
      by["NIBP_SYS"][0]["unit"] == "mm[Hg]",
      "both NIBP results arrive: %r" % sorted(set(valid("NIBP_SYS"))))
off = [r for r in by["SPO2"] if r["status"] == "unavailable"]
check(3 <= len(off) <= 6 and all(r["value"] == "" for r in off),
      "the probe-off seconds are unavailable SpO2 with an empty value (%d rows)" % len(off))
check(all(r["value"] != "" for r in rows if r["status"] == "valid"), "no valid row without value")

doc = export_json(d, "chair-1")
alarms = doc["alarms"]
modbus = [a for a in alarms if a["condition"] == "MODBUS_ERRORS"]
disc = [a for a in alarms if a["condition"] == "DEVICE_DISCONNECTED"]
check([a["state"] for a in modbus] == ["active", "inactive"] and
      "exception 02 (Illegal data address)" in (modbus[0]["detail"] or "") and
      modbus[0]["technical"] is True and modbus[0]["priority"] == "high",
      "the exception window raises MODBUS_ERRORS once, high during a session, then ends: %r"
      % [(a["state"], a["detail"]) for a in modbus])
details = [a["detail"] or "" for a in disc if a["state"] == "active"]
check(any("Connection timed out" in x for x in details),
      "answers later than the timeout make the device disconnected (timed out): %r" % details)
check(any("Connection reset by peer" in x for x in details),
      "a dropped connection makes it disconnected (reset): %r" % details)
check(len(details) >= 3 and len([a for a in disc if a["state"] == "inactive"]) == len(details),
      "every DEVICE_DISCONNECTED ends when the gateway answers again (%d raised)" % len(details))

# The order a nurse would have seen them in, against the scenario's clock.
iso = lambda s: calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + float(s[19:-1] or 0)
for a in alarms:
    a["_t"] = iso(a["time"])
t0 = min(iso(r["time"]) for r in rows)
if modbus:
    dt = modbus[0]["_t"] - t0
    check(8 <= dt <= 14, "MODBUS_ERRORS within the exception window (%.1f s)" % dt)
timed_out = [a for a in disc if a["state"] == "active" and "timed out" in (a["detail"] or "")]
if timed_out:
    dt = timed_out[0]["_t"] - t0
    check(18 <= dt <= 25, "timed out within the late-answer window (%.1f s)" % dt)

raw = alarm_rows(d, "MODBUS_ERRORS")
check(all(bed == "chair-1" for bed, _, _ in raw), "alarm_events rows name the bed")
check("SESSION-" not in d.log(), "no patient reference in the daemon's log")
finish()
