# SPDX-License-Identifier: BSD-2-Clause
"""vitalsd under a stand-in service manager.

This test plays systemd's part of the sd_notify protocol (sd_notify(3),
systemd.service(5) Type=notify, WatchdogSec=): a NOTIFY_SOCKET datagram
listener that reads the sender's credentials like systemd does, and
WATCHDOG_USEC in vitalsd's environment.  With a real vitals-sim monitor on a
pty it shows:

  * READY=1 comes once the session log is open and the device configured,
    from vitalsd's own pid; STATUS= lines tell beds, live devices, alarms;
  * WATCHDOG=1 pings arrive at half the interval while healthy, stop while
    the session log cannot be written (the daemon keeps running and keeps
    the readings), and resume when it can again;
  * SIGHUP sends RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC), then
    READY=1; a bad config or a bad profile is rejected with file:line and the
    old devices keep running; a good one replaces them;
  * SIGTERM sends STOPPING=1, commits what was queued and exits 0: no
    committed reading is lost.

Making the session log unwritable must work as root too (CI runs as root,
and root ignores file modes).  The state directory is a 4 MiB tmpfs that
the test fills (a real full disk) when it may mount; otherwise vitalsd's
file-size limit is lowered to 0 with prlimit(2), which binds root as well.
"""
import errno
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

from harness import VITALSD, Daemon, Sim, check, finish, skip, wait_for, workdir

WATCHDOG_USEC = 1000000


class ServiceManager:
    """The notify side of systemd: one datagram socket, messages with the
    sender's pid (SCM_CREDENTIALS), as systemd's manager reads them."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, pid, {field: value})
        self.lock = threading.Lock()
        self.on_message = None
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        creds = struct.calcsize("3i")
        while self.running:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(creds))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds])[0]
            fields = {}
            for line in data.decode(errors="replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            now = time.monotonic()
            if self.on_message:
                self.on_message(fields)
            with self.lock:
                self.messages.append((now, pid, fields))

    def since(self, t0, key=None):
        with self.lock:
            return [(t, pid, f) for t, pid, f in self.messages
                    if t >= t0 and (key is None or key in f)]

    def last_status(self):
        with self.lock:
            for _, _, f in reversed(self.messages):
                if "STATUS" in f:
                    return f["STATUS"]
        return ""

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class ServiceDaemon(Daemon):
    """vitalsd started the way the service manager starts it: NOTIFY_SOCKET
    and WATCHDOG_USEC in its environment, stderr read through a pipe (so
    its log lines survive a file-size limit on vitalsd)."""

    def start(self, env=None, wait=False):
        e = dict(os.environ)
        e.pop("JOURNAL_STREAM", None)
        e.pop("WATCHDOG_PID", None)
        e.update(env or {})
        self.lines = []
        self.proc = subprocess.Popen([VITALSD, "--config", self.config, "--state-dir",
                                      self.state_dir, "--socket", self.socket],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=e, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        with open(self.log_path, "a") as logf:
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                logf.write(line)
                logf.flush()

    def log(self):
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        self.reader.join(5)
        return self.proc.returncode


def try_mount_tmpfs(path):
    if os.environ.get("VITALS_TEST_NO_MOUNT") or not shutil.which("mount"):
        return False  # exercise the prlimit path, or no mount(8) in a build chroot
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0750", "vitals-test", path],
                       capture_output=True, text=True)
    return p.returncode == 0


def fill(path):
    """Writes path until the filesystem is full (ENOSPC); returns the bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            chunk = b"\0" * size
            try:
                while True:
                    n += os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return n


def config(devices, tick="0.2", extra=""):
    text = "[daemon]\ntick = %s\nstale_factor = 3\n%s" % (tick, extra)
    for name, port in devices.items():
        text += "\n[device %s]\ndriver = ge-s5\nport = %s\nbed = chair-1\n" % (name, port)
    return text


def device_names(d):
    return sorted(dev["name"] for bed in d.status()["beds"] for dev in bed["devices"])


def readings(d):
    return d.query("SELECT id, device, parameter, value, wall_ns FROM readings ORDER BY id")


wd = workdir("service")
sm = ServiceManager(os.path.join(wd, "notify.sock"))
sim = Sim(wd, "mon", ["--scenario", "steady", "--time-scale", "10"])
d = ServiceDaemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"}})
mounted = try_mount_tmpfs(d.state_dir)
print("store made unwritable by: %s" % ("filling a 4 MiB tmpfs (ENOSPC)" if mounted else
                                        "prlimit RLIMIT_FSIZE=0 on vitalsd (EFBIG)"))
if not mounted and not hasattr(resource, "prlimit"):
    skip("cannot mount a tmpfs and Python has no resource.prlimit")
with open(d.config, "w") as f:
    f.write(config({"mon": sim.port}))
filler = os.path.join(d.state_dir, "filler")
fsize_hard = None

# What the store looked like when READY=1 arrived, seen from the listener
# thread the moment the datagram came in.
at_ready = {}


def on_message(fields):
    if fields.get("READY") == "1" and "store_open" not in at_ready:
        try:
            fds = [os.readlink("/proc/%d/fd/%s" % (d.proc.pid, fd))
                   for fd in os.listdir("/proc/%d/fd" % d.proc.pid)]
        except OSError:
            fds = []
        at_ready["store_open"] = d.db in fds
        at_ready["socket"] = os.path.exists(d.socket)


sm.on_message = on_message
t_start = time.monotonic()
d.start(env={"NOTIFY_SOCKET": sm.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)})
try:
    # --- READY=1 and STATUS= ---------------------------------------------
    ready = wait_for(lambda: sm.since(t_start, "READY"), 10, "READY=1")
    check(ready[0][1] == d.proc.pid, "READY=1 comes from vitalsd's own pid (%r, %r)" %
          (ready[0][1], d.proc.pid))
    check(at_ready.get("store_open") is True,
          "when READY=1 arrives vitalsd holds the session log open (%r)" % at_ready)
    check(at_ready.get("socket") is True, "and its control socket is listening")
    first = ready[0][2].get("STATUS", "")
    check("1 bed" in first and "/1 devices" in first,
          "READY=1 carries a STATUS= naming the configured bed and device: %r" % first)
    check(len(sm.since(t_start, "READY")) == 1, "READY=1 is sent once at start-up")
    wait_for(lambda: "1/1 devices live" in sm.last_status(), 20, "STATUS with the device live")
    status = sm.last_status()
    check("1 bed, 1/1 devices live, 1 open session, 0 alarms" == status,
          "STATUS= tells beds, live devices, sessions and alarms: %r" % status)

    # --- watchdog while healthy --------------------------------------------
    t0 = time.monotonic()
    time.sleep(3)
    pings = sm.since(t0, "WATCHDOG")
    check(len(pings) >= 4, "healthy: %d WATCHDOG=1 pings in 3 s with WATCHDOG_USEC=1 s" %
          len(pings))
    check(all(p[1] == d.proc.pid for p in pings), "every ping comes from vitalsd's pid")

    # --- the session log stops accepting writes ----------------------------
    n_before_fault = len(readings(d))
    if mounted:
        fill(filler)
    else:
        fsize_hard = resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (0, fsize_hard))
    t_fault = time.monotonic()
    wait_for(lambda: "SESSION LOG NOT WRITABLE" in sm.last_status(), 15,
             "STATUS saying the session log is not writable")
    t_noticed = time.monotonic()
    check("UNHEALTHY" in wait_for(lambda: "UNHEALTHY" in sm.last_status() and sm.last_status(),
                                  5, "STATUS saying unhealthy"),
          "STATUS= says why the watchdog is not fed: %r" % sm.last_status())
    time.sleep(3.5)
    late = [p for p in sm.since(t_noticed + 0.6, "WATCHDOG")]
    check(not late, "no WATCHDOG=1 for 3 s while the store cannot write (%d sent)" % len(late))
    check(d.proc.poll() is None, "vitalsd keeps running with an unwritable session log")
    st = d.status()
    check(st["store"]["ok"] is False and st["store"]["queued"] > 0,
          "the control socket answers: store not ok, %d readings queued in memory" %
          st["store"]["queued"])
    check(any("cannot write the session log" in line for line in d.lines),
          "the failure is logged")
    check(any("watchdog pings withheld" in line for line in d.lines),
          "withholding the watchdog is logged with its reason")

    if mounted:
        os.unlink(filler)
    else:
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (fsize_hard, fsize_hard))
    t_fixed = time.monotonic()
    wait_for(lambda: "NOT WRITABLE" not in sm.last_status() and
             "UNHEALTHY" not in sm.last_status(), 15, "STATUS healthy again")
    wait_for(lambda: len(sm.since(t_fixed, "WATCHDOG")) >= 2, 5, "pings resuming")
    check(True, "WATCHDOG=1 pings resume once the session log accepts writes")
    st = d.status()
    check(st["store"]["ok"] is True and st["store"]["dropped"] == 0,
          "store ok again, nothing dropped (%r)" % st["store"])
    n_after = len(readings(d))
    check(n_after > n_before_fault + 10,
          "the readings queued during the fault are committed (%d → %d)" %
          (n_before_fault, n_after))

    # --- SIGHUP with a bad config: the old one stays ------------------------
    good = open(d.config).read()
    bad = config({"other": sim.port}, extra="bogus_key = 1\n")
    bad_line = bad.split("\n").index("bogus_key = 1") + 1
    with open(d.config, "w") as f:
        f.write(bad)
    t_hup = time.monotonic()
    mono_before = time.clock_gettime(time.CLOCK_MONOTONIC)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: sm.since(t_hup, "READY"), 10, "READY=1 after the rejected reload")
    mono_after = time.clock_gettime(time.CLOCK_MONOTONIC)
    reloading = sm.since(t_hup, "RELOADING")
    check(len(reloading) == 1, "SIGHUP: RELOADING=1 is sent")
    if reloading:
        mono = int(reloading[0][2].get("MONOTONIC_USEC", "0")) / 1e6
        check(mono_before <= mono <= mono_after,
              "with MONOTONIC_USEC on CLOCK_MONOTONIC (%.3f in [%.3f, %.3f])" %
              (mono, mono_before, mono_after))
        check(reloading[0][0] <= sm.since(t_hup, "READY")[0][0], "RELOADING=1 before READY=1")
    want = "vitalsd.conf:%d: bogus_key: unknown key in [daemon]" % bad_line
    wait_for(lambda: any("new configuration rejected" in line for line in d.lines), 5,
             "rejection logged")
    check(any(want in line for line in d.lines), "the error names file:line:key (%r)" % want)
    check(device_names(d) == ["mon"], "status still shows the old device: %r" % device_names(d))
    check(d.device("mon")["state"] == "live", "which is still live")

    # A valid config whose profile directory holds a broken profile.
    os.makedirs(os.path.join(d.confdir, "profiles"), exist_ok=True)
    with open(os.path.join(d.confdir, "profiles", "broken.conf"), "w") as f:
        f.write("[profile]\nsilence_max = 600\n")
    with open(d.config, "w") as f:
        f.write(config({"other": sim.port}))
    t_hup = time.monotonic()
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: sm.since(t_hup, "READY"), 10, "READY=1 after the second rejected reload")
    check(any("broken.conf:2: silence_max" in line for line in d.lines),
          "a bad profile rejects the reload too, named with file:line:key")
    check(device_names(d) == ["mon"], "status still shows the old device: %r" % device_names(d))
    os.unlink(os.path.join(d.confdir, "profiles", "broken.conf"))

    # --- SIGHUP with a good config: it replaces the old one -----------------
    with open(d.config, "w") as f:
        f.write(config({"mon-b": sim.port}, tick="10"))
    t_hup = time.monotonic()
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: sm.since(t_hup, "READY"), 10, "READY=1 after the good reload")
    check(device_names(d) == ["mon-b"], "a good reload swaps the devices: %r" % device_names(d))
    wait_for(lambda: d.device("mon-b")["state"] == "live", 20, "the new device live")

    # --- SIGTERM: commit the queue, exit 0 ----------------------------------
    # With tick = 10 s, readings wait in memory between commits.
    wait_for(lambda: d.status()["store"]["queued"] >= 3, 12, "readings queued for the next tick")
    committed = readings(d)
    queued = d.status()["store"]["queued"]
    t_term = time.monotonic()
    rc = d.stop()
    check(rc == 0, "SIGTERM: vitalsd exits 0 (%r)" % rc)
    check(sm.since(t_term, "STOPPING"), "STOPPING=1 is sent")
    after = readings(d)
    after_set = set(after)
    lost = [r for r in committed if r not in after_set]
    check(not lost, "no committed reading lost (%d before, %d lost)" % (len(committed), len(lost)))
    check(len(after) >= len(committed) + queued,
          "the %d readings queued at SIGTERM are committed (%d → %d)" %
          (queued, len(committed), len(after)))
    check(d.query("PRAGMA integrity_check") == [("ok",)], "integrity_check after SIGTERM")
    check(sm.since(t_start, "WATCHDOG") and
          all(p[1] == d.proc.pid for p in sm.since(t_start)),
          "every notification came from vitalsd's main pid")
except Exception:
    print(d.log())
    raise
finally:
    if d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()
    sim.stop()
    sm.close()
    if mounted:
        subprocess.run(["umount", d.state_dir])

finish()
