#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench.py — vitalsd's benchmark (./run.sh bench [--quick]).

For N beds (1, 64, 256, 1000; --quick: 1) on pseudo-terminals, at real-time
rate (one GE S/5 DISPL record per bed per second) and flat out, a real
vitalsd (its shipped defaults: tick 1 s, WAL, synchronous=FULL) logs what the
frame pump (pump.c) writes.  Measured from the outside:

  readings/s     rows that became visible to a read-only reader of the
                 session log (stored and committed) per second, after a
                 warm-up
  CPU/1000       vitalsd's user+system CPU time (/proc/PID/stat) per 1,000
                 committed readings, and as a share of one core
  peak RSS       VmHWM of vitalsd
  commit lag     a reading's arrival time (wall_ns, taken by vitalsd when the
                 bytes came in) to the moment a reader polling every 10 ms
                 first sees it committed; p50/p99 over sampled rows
  alarm latency  last byte of a frame with SpO2 85 % written to the pty →
                 the SPO2_DESAT "active" event received by a subscriber on
                 the control socket; p50/p99 (pump.c)
  READY          exec of vitalsd → READY=1 on a NOTIFY_SOCKET listener

Then the ceiling: plain batched inserts of the same rows with the same
durability (ceiling.c), and the ratio of vitalsd's best flat-out throughput
to it.  Prints a Markdown table and lines naming throughput, ceiling and
ratio; --output FILE also writes the report there.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))

TARGETS = {
    "ratio": 0.30,            # of the ceiling
    "cpu_1000_beds": 0.05,    # of one core, 1000 beds at 1 Hz
    "rss_1000_beds_mb": 64,
    "alarm_p99_ms": 2.0,      # 64 beds
    "ready_ms": 100,
}


def rt_label(r):
    """What ran besides the monitors in a real-time run."""
    if not r["console"]:
        return ", no console"
    return "" if r["probes"] else ", console, no alarm probes"


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime are fields 14 and 15 (1-based) of stat: index 11, 12 after ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def bench_profile(confdir):
    """The shipped ketamine-infusion profile, with two changes so that every
    probe is a new activation: no latching of high alarms and no off-delay
    on SPO2_DESAT (with both, a desaturation stays active until a nurse
    acknowledges it, and the next probe would raise nothing new)."""
    text = open(os.path.join(SOURCE, "config", "profiles", "ketamine-infusion.conf")).read()
    text = text.replace("latch_high = yes", "latch_high = no")
    out, in_desat = [], False
    for line in text.splitlines():
        if line.startswith("["):
            in_desat = line.strip() == "[rule SPO2_DESAT]"
        if in_desat and line.startswith("off_delay"):
            line = "off_delay = 0"
        out.append(line)
    os.makedirs(os.path.join(confdir, "profiles"), exist_ok=True)
    with open(os.path.join(confdir, "profiles", "bench.conf"), "w") as f:
        f.write("\n".join(out) + "\n")


def run_config(build, beds, mode, warmup_s, measure_s, console=True, probes=True):
    wd = tempfile.mkdtemp(prefix="vitals-bench-")
    confdir = os.path.join(wd, "etc")
    state = os.path.join(wd, "state")
    sock = os.path.join(wd, "control.sock")
    os.makedirs(confdir)
    os.makedirs(state)
    bench_profile(confdir)
    # Alarm probes and a subscribing console in the real-time runs only: a
    # console that cannot keep up with a flat-out stream of readings events is
    # disconnected by design (docs/control-protocol.md), and the flat-out runs
    # measure throughput.
    probe_beds = min(beds, 16) if mode == "real-time" and console and probes else 0
    subscribe = mode == "real-time" and console
    probe_interval = max(0.3, 2.5 / probe_beds) if probe_beds else 1
    pump = subprocess.Popen([os.path.join(build, "tests", "bench", "bench-pump"),
                             "--beds", str(beds), "--rate", "1" if mode == "real-time" else "0",
                             "--probe-beds", str(probe_beds),
                             "--probe-interval", str(probe_interval)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    paths = []
    while True:
        line = pump.stdout.readline()
        if not line:
            raise RuntimeError("pump exited before it was ready")
        line = line.strip()
        if line == "ready":
            break
        paths.append(line)
    conf = os.path.join(confdir, "vitalsd.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nprofile = bench\n")
        for i, p in enumerate(paths):
            f.write("\n[device mon-%04d]\ndriver = ge-s5\nport = %s\nbed = bed-%04d\n"
                    % (i + 1, p, i + 1))

    notify = os.path.join(wd, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify)
    ns.settimeout(30)
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify
    env.pop("JOURNAL_STREAM", None)
    log = open(os.path.join(wd, "vitalsd.log"), "w")
    t_exec = time.monotonic()
    d = subprocess.Popen([os.path.join(build, "daemon", "vitalsd"), "--config", conf,
                          "--state-dir", state, "--socket", sock],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
    ready_ms = None
    while ready_ms is None:
        msg = ns.recv(4096).decode()
        if "READY=1" in msg.split("\n"):
            ready_ms = (time.monotonic() - t_exec) * 1000
    ns.close()

    pump.stdin.write("go %s\n" % sock if subscribe else "go\n")
    pump.stdin.flush()
    db = os.path.join(state, "vitals.db")
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)

    def max_id():
        return con.execute("SELECT COALESCE(MAX(id), 0) FROM readings").fetchone()[0]

    time.sleep(warmup_s)
    t0, id0, cpu0 = time.monotonic(), max_id(), proc_cpu_s(d.pid)
    last = id0
    lags = []
    while time.monotonic() - t0 < measure_s:
        time.sleep(0.01)
        top = max_id()
        seen_ns = time.time_ns()
        if top > last:
            # At most ~50 sampled rows per poll, spread over the new ones.
            step = max(1, (top - last) // 50)
            rows = con.execute("SELECT wall_ns FROM readings WHERE id > ? AND id <= ? "
                               "AND (id - ?) % ? = 0", (last, top, last + 1, step)).fetchall()
            lags += [(seen_ns - w) / 1e6 for (w,) in rows]
            last = top
    t1, id1, cpu1 = time.monotonic(), max_id(), proc_cpu_s(d.pid)
    hwm_kb = proc_hwm_kb(d.pid)
    # The store's own account (readings dropped from a full queue), from a
    # status request for the daemon and store part only ("beds": []): a
    # full status of 1,000 beds is larger than one message can be.
    dropped, status_error = None, None
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.settimeout(10)
        c.connect(sock)
        c.send(b'{"type":"status","id":1,"beds":[]}')
        reply = c.recv(16 << 20)
        c.close()
        if not reply:
            status_error = "connection closed without a reply"
        else:
            dropped = json.loads(reply)["store"]["dropped"]
    except (OSError, ValueError, KeyError) as e:
        status_error = str(e)

    pump.stdin.write("stop\n")
    pump.stdin.flush()
    out, _ = pump.communicate(timeout=60)
    d.send_signal(signal.SIGTERM)
    rc = d.wait(60)
    log.close()
    con.close()

    figures = {}
    latencies = []
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        if k == "latency_ns":
            latencies.append(int(v) / 1e6)
        else:
            figures[k] = v
    rows = id1 - id0
    res = {
        "beds": beds, "mode": mode, "console": subscribe, "probes": bool(probe_beds),
        "readings_per_s": rows / (t1 - t0),
        # /proc counts CPU in clock ticks (10 ms): too few for a figure at 1 bed.
        "cpu_ms_per_1000": (cpu1 - cpu0) * 1000 / rows * 1000 if rows and cpu1 > cpu0 else None,
        "cpu_share": (cpu1 - cpu0) / (t1 - t0),
        "rss_mb": hwm_kb / 1024 if hwm_kb else None,
        "lag_p50_ms": pct(lags, 50), "lag_p99_ms": pct(lags, 99),
        "alarm_p50_ms": pct(latencies, 50), "alarm_p99_ms": pct(latencies, 99),
        "alarm_n": len(latencies), "probes": int(figures.get("probes", 0)),
        "subscriber_dropped": figures.get("subscriber_dropped") == "1",
        "ready_ms": ready_ms, "exit": rc,
        "dropped": dropped, "status_error": status_error,
    }
    if rc != 0:
        print("vitalsd exited %d; log in %s" % (rc, wd), file=sys.stderr)
    else:
        shutil.rmtree(wd, ignore_errors=True)
    return res


def ceiling(build, seconds, batch, beds):
    wd = tempfile.mkdtemp(prefix="vitals-ceiling-")
    try:
        out = subprocess.run([os.path.join(build, "tests", "bench", "bench-ceiling"),
                              os.path.join(wd, "vitals.db"), str(seconds), str(batch), str(beds)],
                             capture_output=True, text=True, check=True).stdout
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    return float(out.split("ceiling_rows_per_s")[1].split()[0])


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return ("%s, %d cores, %.0f GiB RAM, Linux %s, SQLite %s, load average at start %.2f"
            % (model, os.cpu_count(), mem_gb, platform.release(), sqlite3.sqlite_version, load[0]))


def fmt(v, spec="%.1f"):
    return "—" if v is None else spec % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--quick", action="store_true", help="1 bed only, short runs")
    ap.add_argument("--output", help="also write the report to this file")
    ap.add_argument("--beds", help="comma-separated bed counts instead of 1,64,256,1000")
    ap.add_argument("--seconds", type=float, help="measuring time per run (default 15; quick 6)")
    args = ap.parse_args()

    beds_list = [1] if args.quick else [1, 64, 256, 1000]
    if args.beds:
        beds_list = [int(b) for b in args.beds.split(",")]
    warmup = 2 if args.quick else 3
    # Real-time runs longer: at ~3 probes/s, 60 s give ~200 alarm latencies.
    measure = {"real-time": args.seconds or (8 if args.quick else 60),
               "flat out": args.seconds or (6 if args.quick else 15)}
    report = ["Machine: " + machine(), ""]
    print(report[0], flush=True)
    results = []
    for mode in ("real-time", "flat out"):
        for n in beds_list:
            print("bench: %d beds, %s ..." % (n, mode), file=sys.stderr, flush=True)
            results.append(run_config(args.build, n, mode, warmup, measure[mode]))
    # The largest real-time load twice more: with a console but no alarm
    # probes (the probes raise ~3 alarms a second, each journalled and
    # committed at once), and with no console at all (a subscriber costs
    # vitalsd one `readings` event per record).
    n = max(beds_list)
    print("bench: %d beds, real-time, console, no probes ..." % n, file=sys.stderr, flush=True)
    results.append(run_config(args.build, n, "real-time", warmup, measure["flat out"],
                              probes=False))
    print("bench: %d beds, real-time, no console ..." % n, file=sys.stderr, flush=True)
    results.append(run_config(args.build, n, "real-time", warmup, measure["flat out"],
                              console=False))

    # One ceiling per bed count: each bed is a session, and the readings
    # index (session_id, wall_ns) takes appends at one place for one session
    # but inserts at as many places as there are sessions.
    ceilings = {n: ceiling(args.build, 4 if args.quick else 10, 10000, n) for n in beds_list}
    report += [
        "| beds | rate | readings/s | CPU ms/1000 readings | CPU (share of a core) | peak RSS MB "
        "| commit lag p50 / p99 ms | alarm latency p50 / p99 ms (probes) | READY ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        report.append("| %d | %s | %s | %s | %s | %s | %s / %s | %s / %s (%d/%d%s) | %s |" % (
            r["beds"], "1 Hz per bed" + rt_label(r) if r["mode"] == "real-time" else "flat out",
            fmt(r["readings_per_s"], "%.0f"), fmt(r["cpu_ms_per_1000"], "%.2f"),
            fmt(r["cpu_share"] * 100, "%.1f %%"), fmt(r["rss_mb"]),
            fmt(r["lag_p50_ms"], "%.0f"), fmt(r["lag_p99_ms"], "%.0f"),
            fmt(r["alarm_p50_ms"], "%.2f"), fmt(r["alarm_p99_ms"], "%.2f"),
            r["alarm_n"], r["probes"], ", subscriber dropped" if r["subscriber_dropped"] else "",
            fmt(r["ready_ms"])))
    for r in results:
        # At 1 Hz every bed's three readings must arrive: anything less means
        # another process is reading the ptys (a stale reader on a reused
        # /dev/pts number) or the daemon cannot keep up.
        if r["mode"] == "real-time" and r["readings_per_s"] < 0.95 * 3 * r["beds"]:
            report.append("WARNING: %d beds at 1 Hz: %.0f readings/s committed, %d expected"
                          % (r["beds"], r["readings_per_s"], 3 * r["beds"]))
        what = "%d beds, %s%s" % (r["beds"], r["mode"],
                                  rt_label(r) if r["mode"] == "real-time" else "")
        if r["status_error"]:
            report.append("note: %s: the status request failed (%s)" % (what, r["status_error"]))
        elif r["dropped"]:
            report.append("note: %s: vitalsd dropped %d readings from its full queue"
                          % (what, r["dropped"]))
    ratios = {}
    report.append("")
    for r in results:
        if r["mode"] != "flat out":
            continue
        n = r["beds"]
        ratios[n] = r["readings_per_s"] / ceilings[n]
        report += [
            "throughput %.0f readings/s (vitalsd, %d bed%s flat out)"
            % (r["readings_per_s"], n, "" if n == 1 else "s"),
            "ceiling %.0f rows/s (plain batched SQLite inserts of the same rows for %d session%s: "
            "same schema, WAL, synchronous=FULL, 10000 rows per commit)"
            % (ceilings[n], n, "" if n == 1 else "s"),
            "ratio %.3f (%d bed%s; target >= %.2f: %s)"
            % (ratios[n], n, "" if n == 1 else "s", TARGETS["ratio"],
               "met" if ratios[n] >= TARGETS["ratio"] else "MISSED"),
        ]
    # The other targets, where this run measured them.
    checks = [("ratio to the ceiling at %d bed%s: %.2f (target >= 0.30)"
               % (n, "" if n == 1 else "s", v), v >= TARGETS["ratio"]) for n, v in ratios.items()]
    for r in results:
        if r["beds"] == 1000 and r["mode"] == "real-time":
            checks.append(("1000 beds at 1 Hz%s: CPU %.1f %% of a core (target < 5 %%)"
                           % (rt_label(r), r["cpu_share"] * 100),
                           r["cpu_share"] < TARGETS["cpu_1000_beds"]))
            checks.append(("1000 beds at 1 Hz%s: peak RSS %.1f MB (target < 64 MB)"
                           % (rt_label(r), r["rss_mb"]),
                           r["rss_mb"] < TARGETS["rss_1000_beds_mb"]))
        # Issue 3 sets the target at 64 beds; every bed count is shown.
        if r["mode"] == "real-time" and r["alarm_p99_ms"] is not None:
            checks.append(("%d bed%s: alarm latency p99 %.2f ms (target < 2 ms)"
                           % (r["beds"], "" if r["beds"] == 1 else "s", r["alarm_p99_ms"]),
                           r["alarm_p99_ms"] < TARGETS["alarm_p99_ms"]))
    worst_ready = max(r["ready_ms"] for r in results)
    checks.append(("READY in at most %.1f ms over all runs (target < 100 ms)" % worst_ready,
                   worst_ready < TARGETS["ready_ms"]))
    for what, ok in checks:
        report.append("target: %s: %s" % (what, "met" if ok else "MISSED"))
    text = "\n".join(report)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    if any(r["exit"] != 0 for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
