# SPDX-License-Identifier: BSD-2-Clause
"""Real GE S/5 monitor streams, replayed byte-exact through a pseudo-terminal
into a real vitalsd: every good frame becomes readings, no damaged frame
does, and the exported values match an independent reading of the capture.

Skips (saying so) when ../shared/captures is absent."""
import json
import os
import sys
import time

from harness import (CAPTURES, Daemon, Sim, check, finish, ge_frames, ge_phdb_basic, skip,
                     vitalsctl, wait_for, workdir)

capdir = os.path.join(CAPTURES, "ge-s5")
if not os.path.isdir(capdir):
    skip("no captures at %s (../shared/captures is absent)" % capdir)

names = sys.argv[1:] or ["notebook.raw", "db02.raw", "db01.raw", "db00.raw"]

for name in names:
    path = os.path.join(capdir, name)
    if not os.path.exists(path):
        print("SKIP %s: not present" % name)
        continue
    data = open(path, "rb").read()
    frames = list(ge_frames(data))
    good = [rec for ok, rec in frames if ok]
    bad = [rec for ok, rec in frames if not ok]
    phdb = [b for b in (ge_phdb_basic(r) for r in good) if b]
    # Records of damaged frames whose content is not also in a good frame.
    good_times = {b[0] for b in phdb}

    wd = workdir("replay")
    sim = Sim(wd, "mon", ["--replay", path])
    d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "bed-1"}}).start()
    try:
        wait_for(lambda: "replay done" in sim.log(), 240, "the replay to finish")
        # Wait until the daemon has taken every byte in and committed it.
        def settled():
            dev = d.device("mon")
            st = d.status()["store"]
            return dev if dev and dev["bytes_in"] >= len(data) and st["queued"] == 0 else None
        dev = wait_for(settled, 60, "vitalsd to read the whole capture")
    finally:
        d.stop()
        sim.stop()

    check(dev["frames_ok"] == len(good),
          "%s: frames_ok %d == %d good frames" % (name, dev["frames_ok"], len(good)))
    check(dev["frames_bad"] >= (1 if bad else 0) and (dev["frames_bad"] > 0) == bool(bad),
          "%s: frames_bad %d (reference reader: %d damaged)" % (name, dev["frames_bad"], len(bad)))

    out = os.path.join(wd, "export.json")
    vitalsctl("export", "--state-dir", d.state_dir, "--bed", "bed-1", "--format", "json",
              "--output", out)
    doc = json.load(open(out))
    readings = doc["readings"]
    hr = [r for r in readings if r["parameter"] == "HR"]
    spo2 = [r for r in readings if r["parameter"] == "SPO2"]
    check(len(hr) == len(phdb), "%s: one HR reading per PHDB record (%d == %d)" %
          (name, len(hr), len(phdb)))
    check(len(spo2) == len(phdb), "%s: one SpO2 reading per PHDB record (%d == %d)" %
          (name, len(spo2), len(phdb)))

    # Values match the reference reader, record by record, in order.
    mism = 0
    for r, ref in zip(hr, phdb):
        t, ref_hr = ref[0], ref[1]
        exp = ref_hr if ref_hr > -32001 else None
        if r["value"] != exp:
            mism += 1
    check(mism == 0, "%s: every HR equals the reference reading (%d mismatches)" % (name, mism))
    mism = 0
    for r, ref in zip(spo2, phdb):
        exp = ref[2] / 100.0 if ref[2] > -32001 else None
        if (r["value"] is None) != (exp is None) or (exp is not None and abs(r["value"] - exp) > 1e-9):
            mism += 1
    check(mism == 0, "%s: every SpO2 equals the reference reading (%d mismatches)" % (name, mism))

    # Device time comes from the record, host time from this machine.
    dts = {r["device_time"] for r in hr}
    check(all(dt is not None and dt.endswith("Z") for dt in dts),
          "%s: every HR carries the monitor's own time" % name)
    check(all(r["time"].startswith(time.strftime("%Y", time.gmtime())) for r in hr[:5]),
          "%s: host time is today's, not the capture's 2018" % name)
    invalid = [r for r in hr if r["status"] != "valid"]
    check(all(r["value"] is None for r in invalid),
          "%s: invalid HR readings carry no number (%d invalid)" % (name, len(invalid)))

    if name == "notebook.raw":
        first = {r["parameter"]: r for r in readings if r["device_time"] == hr[0]["device_time"]}
        check(first.get("HR", {}).get("value") == 80, "notebook: first HR is 80 /min")
        check(abs(first.get("SPO2", {}).get("value", 0) - 96.65) < 1e-9,
              "notebook: first SpO2 is 96.65 %")
        check(first.get("PR", {}).get("value") == 83, "notebook: first PR is 83 /min")
        check(first.get("NIBP_SYS", {}).get("value") == 93 and
              first.get("NIBP_DIA", {}).get("value") == 48 and
              first.get("NIBP_MEAN", {}).get("value") == 69,
              "notebook: NIBP 93/48 (69) mm[Hg]")
        check(first.get("HR", {}).get("unit") == "/min" and first.get("SPO2", {}).get("unit") == "%"
              and first.get("NIBP_SYS", {}).get("unit") == "mm[Hg]", "notebook: UCUM units")
        nibp = [r for r in readings if r["parameter"] == "NIBP_SYS"]
        check(len(nibp) == 1, "notebook: the NIBP the monitor repeats in every record is stored once (%d stored)" % len(nibp))

finish()
