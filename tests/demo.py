# SPDX-License-Identifier: BSD-2-Clause
"""./run.sh demo — three recliners on simulated GE S/5 monitors.

Starts vitalsd on a throw-away state directory, three vitals-sim processes
playing the ketamine-session scenario time-compressed on pseudo-terminals,
and shows the live view (`vitalsctl watch`: the console on a terminal,
plain lines otherwise).  --seconds N bounds the run.  At the end it prints
where the session log is and how to export it.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser(prog="./run.sh demo")
ap.add_argument("--build", required=True)
ap.add_argument("--seconds", type=float, default=0,
                help="stop after this many seconds (default: until Ctrl-C)")
ap.add_argument("--time-scale", type=float, default=60,
                help="scenario minutes per real second x60 (default 60: a 110-minute session in ~2 min)")
args = ap.parse_args()

build = os.path.abspath(args.build)
vitalsd = os.path.join(build, "daemon", "vitalsd")
vitalsctl = os.path.join(build, "console", "vitalsctl")
sim = os.path.join(build, "sim", "vitals-sim")

wd = tempfile.mkdtemp(prefix="vitals-demo-")
etc = os.path.join(wd, "etc")
state = os.path.join(wd, "state")
sock = os.path.join(wd, "control.sock")
os.makedirs(os.path.join(etc, "devices.d"))
os.makedirs(state)

procs = []


def cleanup(*_):
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))

beds = ["chair-1", "chair-2", "chair-3"]
try:
    with open(os.path.join(etc, "vitalsd.conf"), "w") as f:
        f.write("[daemon]\nclinic = Demo Clinic\ntick = 0.5\nsession_idle_timeout = 60\n"
                "profile = ketamine-infusion\n")
    shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config",
                                 "profiles"), os.path.join(etc, "profiles"))
    simlog = open(os.path.join(wd, "sim.log"), "w")
    for i, bed in enumerate(beds):
        link = os.path.join(wd, bed + ".tty")
        p = subprocess.Popen([sim, "--protocol", "ge-s5", "--scenario", "ketamine-session",
                              "--time-scale", str(args.time_scale), "--seed", str(i + 1),
                              "--link", link, "--quiet"],
                             stdout=subprocess.PIPE, stderr=simlog, stdin=subprocess.DEVNULL,
                             text=True)
        procs.append(p)
        p.stdout.readline()
        with open(os.path.join(etc, "devices.d", bed + ".conf"), "w") as f:
            f.write("[device %s-monitor]\ndriver = ge-s5\nport = %s\nbed = %s\n" % (bed, link, bed))
    dlog = open(os.path.join(wd, "vitalsd.log"), "w")
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    d = subprocess.Popen([vitalsd, "--config", os.path.join(etc, "vitalsd.conf"), "--state-dir",
                          state, "--socket", sock], stdout=dlog, stderr=dlog,
                         stdin=subprocess.DEVNULL, env=env)
    procs.append(d)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock) and time.monotonic() < deadline and d.poll() is None:
        time.sleep(0.05)
    if d.poll() is not None:
        sys.exit("vitalsd did not start; see " + os.path.join(wd, "vitalsd.log"))

    # The nurse's part, as she would do it with vitalsctl: start each
    # patient's session under a pseudonym, mark infusion start and end at the
    # scenario's times (10:00 and 50:00), and a dose on chair-2.
    def act(obj):
        try:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            c.settimeout(5)
            c.connect(sock)
            c.send(json.dumps(obj).encode())
            c.recv(1 << 16)
            c.close()
        except OSError:
            pass

    stop_nurse = threading.Event()

    def nurse():
        t0 = time.monotonic()
        for i, bed in enumerate(beds):
            act({"type": "session-start", "bed": bed, "patient_ref": "DEMO-%03d" % (i + 1)})
        plan = sorted([(10 * 60, bed, "infusion-start", "ketamine 0.5 mg/kg over 40 min")
                       for bed in beds] +
                      [(25 * 60, "chair-2", "dose", "ondansetron 4 mg IV")] +
                      [(50 * 60, bed, "infusion-end", None) for bed in beds])
        for at, bed, kind, text in plan:
            if stop_nurse.wait(max(0, t0 + at / args.time_scale - time.monotonic())):
                return
            obj = {"type": "mark", "bed": bed, "kind": kind}
            if text:
                obj["text"] = text
            act(obj)

    threading.Thread(target=nurse, daemon=True).start()

    print("vitals-logger demo: 3 beds, ketamine-session scenario at x%g" % args.time_scale,
          flush=True)
    print("(SAFETY: a recorder and secondary notification only; the bedside monitor's own "
          "alarms stay primary)\n", flush=True)
    watch = [vitalsctl, "--socket", sock, "watch"]
    if args.seconds:
        watch += ["--seconds", str(args.seconds)]
    try:
        subprocess.run(watch)
    except KeyboardInterrupt:
        pass
    print()
    stop_nurse.set()
    subprocess.run([vitalsctl, "--socket", sock, "status"])
finally:
    cleanup()

db = os.path.join(state, "vitals.db")
print("\nSession log: %s" % db)
print("Export a bed's session, e.g.:")
print("  %s export --state-dir %s --bed chair-1 --format csv" % (vitalsctl, state))
print("  %s export --state-dir %s --bed chair-1 --format json --output chair-1.json" %
      (vitalsctl, state))
print("  %s export --state-dir %s --bed chair-1 --format pdf --output chair-1.pdf" %
      (vitalsctl, state))
print("Logs: %s/vitalsd.log" % wd)
