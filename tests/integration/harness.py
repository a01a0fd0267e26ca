# SPDX-License-Identifier: BSD-2-Clause
"""harness.py — real processes for integration tests.

Starts a real vitalsd on a throw-away state directory with a generated
config, real vitals-sim processes on pseudo-terminals, talks to the control
socket (AF_UNIX SOCK_SEQPACKET, one JSON object per message), runs
vitalsctl, and reads the SQLite file read-only.  No mocks.

Paths come from the environment meson sets: VITALS_BUILD (build root),
VITALS_SOURCE (source root), VITALS_CAPTURES (../shared/captures).
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ.get("VITALS_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("VITALS_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
CAPTURES = os.environ.get("VITALS_CAPTURES", os.path.join(SOURCE, "..", "shared", "captures"))

VITALSD = os.path.join(BUILD, "daemon", "vitalsd")
VITALSCTL = os.path.join(BUILD, "console", "vitalsctl")
VITALS_SIM = os.path.join(BUILD, "sim", "vitals-sim")
PUMP = os.environ.get("VITALS_PUMP", os.path.join(BUILD, "tests", "bench", "bench-pump"))
FAULTFS = os.environ.get("VITALS_FAULTFS",
                         os.path.join(BUILD, "tests", "integration", "libvitals-faultfs.so"))

FAILURES = []


def check(cond, what):
    """Records a failed expectation without stopping the test."""
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILURES.append(what)
    return cond


def finish():
    if FAILURES:
        print("%d expectation(s) failed" % len(FAILURES))
        sys.exit(1)
    print("all expectations met")
    sys.exit(0)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_check(who, log):
    """In a sanitizer build (./run.sh sanitize) a finding is printed, then
    the program aborts; name it here so that no test can miss it."""
    for mark in SANITIZER_MARKS:
        if mark in log:
            i = log.index(mark)
            print(log[max(0, i - 200):i + 2000])
            check(False, "%s: sanitizer report (%s)" % (who, mark))
            return


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


class Sim:
    """A vitals-sim process; .port is the stable path (a symlink it keeps current)."""

    def __init__(self, workdir, name, args, link=True):
        self.link = os.path.join(workdir, name + ".tty") if link else None
        cmd = [VITALS_SIM, "--protocol", "ge-s5"] + list(args)
        if self.link:
            cmd += ["--link", self.link]
        self.stderr_path = os.path.join(workdir, name + ".sim.log")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, text=True)
        self.pty = self.proc.stdout.readline().strip()
        if not self.pty:
            raise RuntimeError("vitals-sim printed no port: " + open(self.stderr_path).read())
        self.port = self.link or self.pty

    def log(self):
        self.stderr.flush()
        return open(self.stderr_path).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        sanitizer_check("vitals-sim", open(self.stderr_path).read())


class Daemon:
    """A real vitalsd with its own config, state directory and socket."""

    def __init__(self, workdir, devices, daemon_conf=None, extra_files=None):
        self.workdir = workdir
        self.confdir = os.path.join(workdir, "etc")
        self.state_dir = os.path.join(workdir, "state")
        self.socket = os.path.join(workdir, "control.sock")
        os.makedirs(os.path.join(self.confdir, "devices.d"), exist_ok=True)
        os.makedirs(self.state_dir, exist_ok=True)
        self.config = os.path.join(self.confdir, "vitalsd.conf")
        conf = {"tick": "0.2"}
        conf.update(daemon_conf or {})
        with open(self.config, "w") as f:
            f.write("[daemon]\n")
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
            for name, dev in devices.items():
                f.write("\n[device %s]\n" % name)
                for k, v in dev.items():
                    f.write("%s = %s\n" % (k, v))
        for rel, text in (extra_files or {}).items():
            path = os.path.join(self.confdir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        self.db = os.path.join(self.state_dir, "vitals.db")
        self.proc = None
        self.log_path = os.path.join(workdir, "vitalsd.log")

    def start(self, env=None, wait=True):
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("JOURNAL_STREAM", None)
        e.update(env or {})
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([VITALSD, "--config", self.config, "--state-dir",
                                      self.state_dir, "--socket", self.socket],
                                     stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL,
                                     env=e)
        if wait:
            wait_for(lambda: os.path.exists(self.socket) or self.proc.poll() is not None, 10,
                     "control socket")
            if self.proc.poll() is not None:
                raise RuntimeError("vitalsd exited %d: %s" % (self.proc.returncode, self.log()))
        return self

    def log(self):
        try:
            return open(self.log_path).read()
        except FileNotFoundError:
            return ""

    def request(self, obj, timeout=5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(timeout)
        s.connect(self.socket)
        s.send(json.dumps(obj).encode())
        reply = json.loads(s.recv(1 << 20))
        s.close()
        return reply

    def status(self):
        return self.request({"type": "status", "id": 1})

    def device(self, name):
        for bed in self.status()["beds"]:
            for dev in bed["devices"]:
                if dev["name"] == name:
                    return dev
        return None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        if self.proc:
            self.logf.close()
            sanitizer_check("vitalsd", self.log())
        return self.proc.returncode if self.proc else None

    def query(self, sql, args=()):
        """Reads the session log read-only, as an exporter would."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


def unbatch(msg):
    """The events a pushed message carries: a batch's, or itself."""
    if msg.get("type") == "batch":
        return list(msg["events"])
    return [msg]


class Subscriber:
    """A console on the control socket: subscribes and keeps every pushed
    event (with the monotonic time it arrived) until closed."""

    def __init__(self, sock_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(sock_path)
        self.sock.send(json.dumps({"type": "subscribe", "id": 1}).encode())
        reply = json.loads(self.sock.recv(1 << 20))
        if not reply.get("ok"):
            raise RuntimeError("subscribe refused: %r" % reply)
        self.events = []
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                break
            if not data:
                break
            ev = json.loads(data)
            now = time.monotonic()
            with self.lock:
                # A batch carries readings events vitalsd held back.
                self.events += [(now, e) for e in unbatch(ev)]
        self.closed = True

    def alarms(self, condition=None, state=None):
        with self.lock:
            return [e for _, e in self.events if e.get("type") == "alarm" and
                    (condition is None or e["condition"] == condition) and
                    (state is None or e["state"] == state)]

    def close(self):
        self.sock.close()


class Pump:
    """The benchmark's frame pump (tests/bench/pump.c): many GE S/5 monitors
    on ptys from one process, at `rate` records per second each (0: as fast
    as the reader takes them)."""

    def __init__(self, beds, rate):
        self.proc = subprocess.Popen([PUMP, "--beds", str(beds), "--rate", str(rate)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ports = []
        while True:
            line = self.proc.stdout.readline().strip()
            if line == "ready":
                break
            if not line:
                raise RuntimeError("pump exited")
            self.ports.append(line)

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
                out, _ = self.proc.communicate(timeout=10)
                return dict(l.split(" ", 1) for l in out.splitlines() if " " in l)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        return {}


def sim_capture(workdir, scenario_text, time_scale):
    """The exact bytes vitals-sim sends for a whole scenario (read from its
    pty until it exits at the scenario's end)."""
    import select
    import tty
    scn = os.path.join(workdir, "capture-%d.scn" % len(os.listdir(workdir)))
    with open(scn, "w") as f:
        f.write(scenario_text)
    proc = subprocess.Popen([VITALS_SIM, "--protocol", "ge-s5", "--scenario", scn,
                             "--time-scale", str(time_scale), "--exit-at-end", "-q"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    fd = os.open(proc.stdout.readline().strip(), os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    data = bytearray()
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    os.close(fd)
    proc.wait(10)
    return bytes(data)


def proc_cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vitalsctl(*args, check_rc=True):
    p = subprocess.run([VITALSCTL] + list(args), capture_output=True, text=True, timeout=60)
    if check_rc and p.returncode != 0:
        raise RuntimeError("vitalsctl %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def workdir(prefix):
    return tempfile.mkdtemp(prefix="vitals-" + prefix + "-")


# --- an independent reference reader for GE S/5 captures -------------------
# Written from M1017617 (framing, checksum) and 8005313 (record layout), in
# Python, so the C decoder is checked against a second implementation.

def ge_frames(data):
    """Yields (ok, record) for every closed frame in an escaped stream."""
    cur = None
    esc = False
    bad = False
    for b in data:
        if b == 0x7E:
            if cur:
                ok = not bad and len(cur) >= 2 and (sum(cur[:-1]) & 0xFF) == cur[-1]
                if ok:
                    r_len = int.from_bytes(cur[0:2], "little", signed=True)
                    ok = r_len == len(cur) - 1
                yield ok, bytes(cur[:-1])
            cur = bytearray()
            esc = bad = False
            continue
        if cur is None:
            continue
        if esc:
            cur.append(b ^ 0x20)
            esc = False
        elif b == 0x7D:
            esc = True
        else:
            cur.append(b)
        if len(cur) > 1537:
            bad = True
            cur = cur[:1537]


def ge_phdb_basic(rec):
    """(r_time, hr, spo2_x100, pr) of a PHDB record's basic class, or None."""
    if len(rec) < 40 or int.from_bytes(rec[14:16], "little", signed=True) != 0:
        return None
    for i in range(8):
        off = int.from_bytes(rec[16 + 3 * i:18 + 3 * i], "little", signed=True)
        typ = rec[18 + 3 * i]
        if typ == 0xFF:
            break
        sr = rec[40 + off:40 + off + 278]
        if len(sr) < 278:
            return None
        cls = (int.from_bytes(sr[276:278], "little") >> 8) & 0xF
        if cls != 0:
            continue
        t = int.from_bytes(sr[0:4], "little")
        b = sr[4:274]
        s16 = lambda o: int.from_bytes(b[o:o + 2], "little", signed=True)
        return (t, s16(6), s16(124), s16(126))
    return None
