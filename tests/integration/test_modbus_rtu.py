# SPDX-License-Identifier: BSD-2-Clause
"""A real vitalsd polls two RTU slaves on one serial line — vitals-sim on a
pseudo-terminal answering slave addresses 1 and 2, each with its own
scenario — in turn, over one worker and one libmodbus context:

  each bed gets its own slave's values (addressing is right);
  slave 1 answers with a wrong CRC for 6 s     MODBUS_ERRORS "CRC error" on its bed only
  slave 1 goes silent for 8 s                  DEVICE_DISCONNECTED "timed out" on its bed
                                               only, while slave 2 keeps its pace
  the cable is pulled for 4 s                  DEVICE_DISCONNECTED on both beds; both
                                               recover when it is back
"""
import time
from datetime import datetime

from harness import Daemon, check, finish, wait_for, workdir
from modbus_harness import ModbusSim, export_csv, export_json, install_maps, modbus_counters

wd = workdir("modbus-rtu")
with open(wd + "/one.scn", "w") as f:
    f.write("end 1:00\ninterval 1\n"
            "at 0:00 hr 72 spo2 97 pr 71\n"
            "at 0:08 bad-crc for 0:06\n"
            "at 0:17 silence for 0:08\n"
            "at 0:30 hangup for 0:04\n")
with open(wd + "/two.scn", "w") as f:
    f.write("end 1:00\ninterval 1\nat 0:00 hr 90 spo2 93 pr 89\n")

sim = ModbusSim(wd, "line", "modbus-rtu", ["--map", "gateway-int16", "--scenario",
                                           wd + "/one.scn", "--slave", "1",
                                           "--slave", "2:" + wd + "/two.scn"])
common = {"driver": "modbus", "port": sim.port, "map": "gateway-int16",
          "response_timeout_ms": "600", "byte_timeout_ms": "100", "failed_polls": "3"}
d = Daemon(wd, {"one": dict(common, bed="chair-1", slave="1"),
                "two": dict(common, bed="chair-2", slave="2")},
           {"reconnect_min": "0.5", "reconnect_max": "2"})
install_maps(d)
d.start()
try:
    wait_for(lambda: d.device("one")["state"] == "live" and d.device("two")["state"] == "live",
             10, "both slaves answer")
    while time.monotonic() < sim.started + 42:
        time.sleep(0.5)
    c1, c2 = modbus_counters(d, "one"), modbus_counters(d, "two")
    states = (d.device("one")["state"], d.device("two")["state"])
finally:
    try:
        d.stop()
    finally:
        sim.stop()

check(states == ("live", "live"), "both devices live again at the end: %r" % (states,))
check(c1.get("crc_errors", 0) >= 3 and c1.get("timeouts", 0) >= 3,
      "slave 1 counts CRC errors and timeouts: %r" % c1)
check(c2.get("crc_errors", 0) == 0 and c2.get("exceptions", 0) == 0,
      "slave 2 had no protocol errors: %r" % c2)

one, two = export_csv(d, "chair-1"), export_csv(d, "chair-2")
hr = lambda rows: {float(r["value"]) for r in rows if r["parameter"] == "HR" and
                   r["status"] == "valid"}
check(hr(one) == {72.0} and hr(two) == {90.0},
      "each bed has its own slave's heart rate: %r / %r" % (hr(one), hr(two)))
check({r["device"] for r in one} == {"one"} and {r["device"] for r in two} == {"two"},
      "readings name their device")

# Slave 2 kept its pace while slave 1 was silent (17 s .. 25 s): its
# readings never stall for longer than the poll interval plus one of slave
# 1's timeouts (0.6 s) and some slack for a busy machine.
t = lambda iso: datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
hr2 = sorted(t(r["time"]) for r in two if r["parameter"] == "HR")
first = min(t(r["time"]) for r in one + two)
window = [x for x in hr2 if first + 17 <= x <= first + 26]
gaps = [b - a for a, b in zip(window, window[1:])]
check(len(window) >= 6 and max(gaps) < 2.5,
      "slave 2 polled on while slave 1 was silent (%d readings, longest gap %.2f s)"
      % (len(window), max(gaps) if gaps else -1))

a1, a2 = export_json(d, "chair-1")["alarms"], export_json(d, "chair-2")["alarms"]
crc = [a for a in a1 if a["condition"] == "MODBUS_ERRORS"]
check(len(crc) == 2 and crc[0]["state"] == "active" and "CRC error" in crc[0]["detail"] and
      crc[1]["state"] == "inactive",
      "wrong CRCs raise MODBUS_ERRORS on slave 1's bed, which ends: %r"
      % [(a["state"], a["detail"]) for a in crc])
check(not [a for a in a2 if a["condition"] == "MODBUS_ERRORS"], "no MODBUS_ERRORS on chair-2")
d1 = [a for a in a1 if a["condition"] == "DEVICE_DISCONNECTED" and a["state"] == "active"]
d2 = [a for a in a2 if a["condition"] == "DEVICE_DISCONNECTED" and a["state"] == "active"]
check(any("timed out" in a["detail"] for a in d1),
      "silence makes slave 1 disconnected (timed out): %r" % [a["detail"] for a in d1])
check(len(d2) == 1 and "timed out" not in d2[0]["detail"],
      "chair-2 is disconnected once, by the pulled cable: %r" % [a["detail"] for a in d2])
check(len(d1) == 2, "chair-1: the silence and the cable pull (%d)" % len(d1))
for alarms, bed in ((a1, "chair-1"), (a2, "chair-2")):
    disc = [a for a in alarms if a["condition"] == "DEVICE_DISCONNECTED"]
    check(disc and disc[-1]["state"] == "inactive", "%s: the last DEVICE_DISCONNECTED ended" % bed)
if d2:
    dt = t(d2[0]["time"]) - first
    check(30 <= dt <= 33, "the cable pull is seen within a poll or two (%.1f s)" % dt)
finish()
