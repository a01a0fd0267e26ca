# SPDX-License-Identifier: BSD-2-Clause
"""A real vitalsd polls a third-party Modbus TCP server — Debian's
python3-pymodbus, started here (pymodbus_peer.py) — through the shipped
gateway-float32 map: IEEE floats in input registers, low word first (one
high word first), NIBP in kPa.  The exported readings are the values the
server holds, converted to mm[Hg]; pymodbus's own exception 02 for a read
past its data raises MODBUS_ERRORS, and the server going away raises
DEVICE_DISCONNECTED; both end when it is back.

pymodbus adds one to every address in its default zero_mode=False; the peer
keeps that default and starts its data blocks at 1, so the map's protocol
addresses are right (see pymodbus_peer.py)."""
import calendar
import struct
import time

from harness import Daemon, check, finish, skip, wait_for, workdir
from modbus_harness import (PymodbusPeer, export_csv, export_json, install_maps,
                            modbus_counters, pymodbus_available)

if not pymodbus_available():
    skip("Debian's python3-pymodbus is not installed (run.sh installs it)")

MMHG_PER_KPA = 1000 / 133.322387415


def words(x, low_first=True):
    hi, lo = struct.unpack(">HH", struct.pack(">f", x))
    return "%d,%d" % ((lo, hi) if low_first else (hi, lo))


wd = workdir("modbus-pymodbus")
peer = PymodbusPeer(wd)
peer.send("set input 100 " + words(72.0))                      # HR
peer.send("set input 102 " + words(-9999.0))                   # SpO2: "no value"
peer.send("set input 110 " + words(120 / MMHG_PER_KPA))        # NIBP_SYS in kPa
peer.send("set input 112 " + words(80 / MMHG_PER_KPA))         # NIBP_DIA
peer.send("set input 114 " + words(93 / MMHG_PER_KPA, False))  # NIBP_MEAN, high word first
peer.send("set input 116 " + words(5.2))                       # ETCO2 (not in the catalogue)
peer.send("set input 120 0")                                   # status word

d = Daemon(wd, {"gw": {"driver": "modbus", "port": peer.port, "bed": "chair-3",
                       "map": "gateway-float32", "slave": "1", "response_timeout_ms": "500",
                       "failed_polls": "2"}},
           {"reconnect_min": "0.5", "reconnect_max": "2"})
install_maps(d)
d.start()
marks = {}
try:
    wait_for(lambda: d.device("gw")["state"] == "live", 10, "first poll")
    time.sleep(4)
    marks["spo2"] = time.time()
    peer.send("set input 102 " + words(96.5))
    time.sleep(5)
    marks["off"] = time.time()
    peer.send("set input 120 1")                # bit 0: SpO2 probe off
    time.sleep(5)
    peer.send("set input 120 0")
    time.sleep(3)
    peer.send("limit input 110")                # reads from 110 on: exception 02
    wait_for(lambda: d.query("SELECT COUNT(*) FROM alarm_events WHERE condition = "
                             "'MODBUS_ERRORS'")[0][0] >= 1, 12, "MODBUS_ERRORS")
    peer.send("limit input 1000")
    wait_for(lambda: d.query("SELECT COUNT(*) FROM alarm_events WHERE condition = "
                             "'MODBUS_ERRORS'")[0][0] >= 2, 12, "MODBUS_ERRORS to end")
    peer.send("stop")
    wait_for(lambda: d.query("SELECT COUNT(*) FROM alarm_events WHERE condition = "
                             "'DEVICE_DISCONNECTED'")[0][0] >= 1, 15, "DEVICE_DISCONNECTED")
    time.sleep(2)
    peer.send("start")
    wait_for(lambda: d.device("gw")["state"] == "live", 15, "the server back")
    time.sleep(2.5)
    counters = modbus_counters(d, "gw")
finally:
    try:
        d.stop()
    finally:
        peer.stop()

check(counters.get("exceptions", 0) >= 2, "pymodbus's exceptions are counted: %r" % counters)

rows = export_csv(d, "chair-3")
by = {}
for r in rows:
    by.setdefault(r["parameter"], []).append(r)
vals = lambda p: [float(r["value"]) for r in by.get(p, []) if r["status"] == "valid"]
check(vals("HR") and set(vals("HR")) == {72.0}, "HR 72 from a low-word-first float")
check(vals("NIBP_SYS") and all(abs(v - 120) < 0.01 for v in vals("NIBP_SYS")) and
      by["NIBP_SYS"][0]["unit"] == "mm[Hg]",
      "NIBP_SYS given in kPa is recorded as 120 mm[Hg]: %r" % sorted(set(vals("NIBP_SYS"))))
check(vals("NIBP_DIA") and all(abs(v - 80) < 0.01 for v in vals("NIBP_DIA")),
      "NIBP_DIA 80 mm[Hg]")
check(vals("NIBP_MEAN") and all(abs(v - 93) < 0.01 for v in vals("NIBP_MEAN")),
      "NIBP_MEAN 93 mm[Hg] from its own high-word-first float")
check(vals("ETCO2") and all(abs(v - 5.2) < 1e-3 for v in vals("ETCO2")) and
      by["ETCO2"][0]["unit"] == "%", "ETCO2, unknown to the catalogue, kept under its name")

iso = lambda s: calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + float(s[19:-1] or 0)
spo2 = by.get("SPO2", [])
before = [r for r in spo2 if iso(r["time"]) < marks["spo2"] - 1]
during_off = [r for r in spo2 if marks["off"] + 3 <= iso(r["time"]) <= marks["off"] + 5]
check(before and all(r["status"] == "unavailable" and r["value"] == "" for r in before),
      "the -9999 sentinel is an unavailable SpO2, never a number (%d rows)" % len(before))
check(96.5 in vals("SPO2"), "SpO2 96.5 once the server holds it")
check(during_off and all(r["status"] == "unavailable" for r in during_off),
      "the sensor-off bit makes SpO2 unavailable (%d rows)" % len(during_off))

alarms = export_json(d, "chair-3")["alarms"]
me = [a for a in alarms if a["condition"] == "MODBUS_ERRORS"]
check(len(me) == 2 and me[0]["state"] == "active" and
      "exception 02 (Illegal data address)" in me[0]["detail"] and me[1]["state"] == "inactive",
      "pymodbus's exception 02 raises MODBUS_ERRORS, which ends: %r"
      % [(a["state"], a["detail"]) for a in me])
dc = [a for a in alarms if a["condition"] == "DEVICE_DISCONNECTED"]
check(len(dc) >= 2 and dc[0]["state"] == "active" and dc[-1]["state"] == "inactive",
      "the server going away raises DEVICE_DISCONNECTED, which ends when it is back: %r"
      % [(a["state"], a["detail"]) for a in dc])
finish()
