# SPDX-License-Identifier: BSD-2-Clause
"""A Modbus device stuck in timeouts must not delay anything else.

The same GE S/5 monitor (vitals-sim on a pty, a record a second, SpO2 85 %
from 0:10) is logged twice by a real vitalsd with the ketamine-infusion
profile: alone, and beside two Modbus devices that never answer (a TCP
gateway and an RTU slave, each with a 3 s response timeout, so a worker is
always blocked in libmodbus).  A control-socket subscriber stamps each
event on arrival.  In both runs the zero-delay SPO2_DESAT alarm must reach
the console within its budget of the low record leaving the simulator, and
the serial readings must keep their one-second pace; the figures are
printed."""
import os
import shutil
import time

from harness import SOURCE, Daemon, Sim, check, finish, wait_for, workdir
from modbus_harness import ModbusSim, Subscriber, install_maps, modbus_counters

DESAT_AT = 10.0
RUN_S = 17.0
BUDGET_S = 1.0  # "no delay" condition: on the first low reading, within the monitor's second
MARGIN_S = 0.5  # the stuck devices may not cost more than this
# A loop blocked by 3 s reads would stall the serial readings again and
# again; one stall is allowed for a busy machine (a slow fsync elsewhere).
STALL_S = 1.5
STALLS_MAX = 1

SCENARIO = ("end 0:40\ninterval 1\n"
            "at 0:00 hr 78 spo2 97\n"
            "at 0:10 spo2 85 for 0:06\n")


def run(name, stuck):
    wd = workdir("modbus-isolation-" + name)
    scn = os.path.join(wd, "desat.scn")
    with open(scn, "w") as f:
        f.write(SCENARIO)
    peers = []
    devices = {}
    if stuck:
        tcp = ModbusSim(wd, "tcp", "modbus-tcp", ["--map", "gateway-int16", "--scenario", scn,
                                                 "--fault", "silence"])
        rtu = ModbusSim(wd, "rtu", "modbus-rtu", ["--map", "gateway-int16", "--scenario", scn,
                                                 "--fault", "silence"])
        peers += [tcp, rtu]
        slow = {"driver": "modbus", "map": "gateway-int16", "response_timeout_ms": "3000",
                "byte_timeout_ms": "500", "failed_polls": "2"}
        devices["gw-tcp"] = dict(slow, port=tcp.port, bed="chair-8")
        devices["gw-rtu"] = dict(slow, port=rtu.port, bed="chair-9")
    t0 = time.monotonic()
    mon = Sim(wd, "mon", ["--scenario", scn])
    peers.append(mon)
    devices["mon"] = {"driver": "ge-s5", "port": mon.port, "bed": "chair-1"}
    d = Daemon(wd, devices, {"profile": "ketamine-infusion", "reconnect_min": "0.5",
                             "reconnect_max": "2"})
    shutil.copytree(os.path.join(SOURCE, "config", "profiles"), os.path.join(d.confdir, "profiles"))
    install_maps(d)
    d.start()
    counters = {}
    sub = None
    try:
        sub = Subscriber(d.socket)
        sub.pump(t0 + RUN_S - time.monotonic())
        if stuck:
            counters = {n: modbus_counters(d, n) for n in ("gw-tcp", "gw-rtu")}
            counters["states"] = (d.device("gw-tcp")["state"], d.device("gw-rtu")["state"])
            counters["alarms"] = d.query("SELECT bed, detail FROM alarm_events WHERE "
                                         "condition = 'DEVICE_DISCONNECTED' AND state = 'active'")
    finally:
        if sub:
            sub.close()
        try:
            d.stop()
        finally:
            for p in peers:
                p.stop()

    desat = [t for t, e in sub.events if e["type"] == "alarm" and e["bed"] == "chair-1" and
             e["condition"] == "SPO2_DESAT" and e["state"] == "active"]
    hr = [t for t, e in sub.events if e["type"] == "readings" and e["bed"] == "chair-1" and
          any(r["parameter"] == "HR" for r in e["readings"])]
    # Record k leaves the simulator at t0 + k (its clock starts as it
    # starts); the latency of a reading is how far past its second it
    # arrived.  A blocked loop would show as late readings and long gaps.
    lat = [(t - t0) - int(t - t0) for t in hr if t - t0 > 1.5]
    gaps = [b - a for a, b in zip(hr, hr[1:])]
    out = {
        "desat": desat[0] - (t0 + DESAT_AT) if desat else None,
        "readings": len(hr),
        "latency_max": max(lat) if lat else None,
        "latency_median": sorted(lat)[len(lat) // 2] if lat else None,
        "gap_max": max(gaps) if gaps else None,
        "stalls": len([g for g in gaps if g > STALL_S]),
        "counters": counters,
    }
    print("%-6s desat alarm %.3f s after the low record, %d HR readings, reading latency "
          "median %.3f s max %.3f s, longest gap %.3f s, %d gaps over %.1f s" %
          (name, out["desat"] if out["desat"] is not None else -1, out["readings"],
           out["latency_median"] or -1, out["latency_max"] or -1, out["gap_max"] or -1,
           out["stalls"], STALL_S))
    return out


alone = run("alone", False)
stuck = run("stuck", True)

c = stuck["counters"]
check(c and c["gw-tcp"].get("timeouts", 0) >= 2 and c["gw-rtu"].get("timeouts", 0) >= 2 and
      c["states"] == ("disconnected", "disconnected"),
      "both Modbus devices were stuck in timeouts: %r" % (c,))
check(c and {bed for bed, _ in c["alarms"]} >= {"chair-8", "chair-9"} and
      all("timed out" in detail for _, detail in c["alarms"]),
      "and raised DEVICE_DISCONNECTED (timed out): %r" % (c.get("alarms"),))
for name, r in (("alone", alone), ("stuck", stuck)):
    check(r["desat"] is not None and 0 <= r["desat"] <= BUDGET_S,
          "%s: SPO2_DESAT within %.2f s of the low record (%s s)" % (name, BUDGET_S, r["desat"]))
    check(r["readings"] >= RUN_S - 4 and r["stalls"] <= STALLS_MAX,
          "%s: serial readings keep their 1 s pace (%d, %d gaps over %.1f s, longest %s s)"
          % (name, r["readings"], r["stalls"], STALL_S, r["gap_max"]))
if alone["desat"] is not None and stuck["desat"] is not None:
    check(stuck["desat"] - alone["desat"] <= MARGIN_S,
          "the stuck Modbus devices do not delay the serial alarm (%.3f s vs %.3f s alone)"
          % (stuck["desat"], alone["desat"]))
if alone["latency_median"] is not None and stuck["latency_median"] is not None:
    check(stuck["latency_median"] - alone["latency_median"] <= MARGIN_S / 2,
          "nor its readings (median latency %.3f s vs %.3f s alone)"
          % (stuck["latency_median"], alone["latency_median"]))
finish()
