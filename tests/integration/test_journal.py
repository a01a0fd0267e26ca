# SPDX-License-Identifier: BSD-2-Clause
"""What vitalsd sends to the journal, read by a stand-in journald.

libsystemd sends journal entries as datagrams to /run/systemd/journal/socket
(the native protocol: "FIELD=value" lines, or FIELD, a 64-bit length and the
value for values with newlines).  This test runs in a private mount
namespace with a tmpfs over /run (root, or a user namespace otherwise), so
its own listener is that socket and nothing touches the host's journal.
vitalsd runs with JOURNAL_STREAM naming its stderr, as under systemd.

It shows: every entry has MESSAGE, PRIORITY and SYSLOG_IDENTIFIER; start,
device state, session, marker, alarm and configuration events carry their
MESSAGE_ID, and VITALS_DEVICE/VITALS_BED where they apply; a high alarm is
logged at LOG_CRIT and a rejected configuration at LOG_ERR; no placeholder
fields; and neither the patient reference of a session nor the text of a
marker ever reaches the journal (or stderr).
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

NS_FLAG = "VITALS_TEST_IN_MOUNT_NS"

if not os.environ.get(NS_FLAG):
    # Re-run this test inside a private mount namespace.
    env = dict(os.environ, **{NS_FLAG: "1"})
    attempts = [["unshare", "--mount", "--propagation", "private"]] if os.geteuid() == 0 else []
    attempts.append(["unshare", "--user", "--map-root-user", "--mount", "--propagation",
                     "private"])
    why = []
    for prefix in attempts if shutil.which("unshare") else []:
        p = subprocess.run(prefix + ["true"], capture_output=True, text=True)
        if p.returncode == 0:
            os.execvpe(prefix[0], prefix + [sys.executable] + sys.argv, env)
        why.append("%s: %s" % (" ".join(prefix), p.stderr.strip()))
    print("SKIP: no private mount namespace for a stand-in journald (%s)" % "; ".join(why))
    sys.exit(77)

from harness import Daemon, Sim, check, finish, skip, wait_for, workdir  # noqa: E402

MSGID = {
    "started": "4b2a6f0d3c9e4a31b7f1e2c5d8a90e11",
    "device": "7d0c5b8e2f6a41c9a3e4b5d6c7f80912",
    "session": "1f9e8d7c6b5a4e3d2c1b0a9f8e7d6c5b",
    "marker": "0a7e3c5b9d2f4e18b6c4a2e0f8d6b4a1",
    "alarm_active": "a1b2c3d4e5f647188a9b0c1d2e3f4a51",
    "config": "f6a7b8c9d0e14c63cf4a5b6c7d8e9fa6",
}
PATIENT_REF = "PSEUDO-4711-XYZ"
MARKER_TEXT = "secret note about Q"

if not shutil.which("mount") or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=0755", "vitals-test-run", "/run"]).returncode:
    skip("cannot mount a tmpfs over /run in the private mount namespace")
os.makedirs("/run/systemd/journal")


def parse_native(data):
    """The journal's native protocol (systemd's JOURNAL_NATIVE_PROTOCOL)."""
    fields = []
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            break
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields.append((k.decode(), v.decode(errors="replace")))
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            fields.append((line.decode(), data[nl + 9:nl + 9 + n].decode(errors="replace")))
            i = nl + 9 + n + 1
    return fields


class Journal:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.raw = []
        self.entries = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, anc, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(64))
            except socket.timeout:
                continue
            except OSError:
                return
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    # Large entries come as a memfd; read it.
                    fd = struct.unpack("i", payload[:4])[0]
                    data = os.pread(fd, 1 << 20, 0)
                    os.close(fd)
            self.raw.append(data)
            self.entries.append(parse_native(data))

    def find(self, **want):
        out = []
        for e in self.entries:
            d = dict(e)
            if all(d.get(k) == v for k, v in want.items()):
                out.append(d)
        return out

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


wd = workdir("journal")
journal = Journal("/run/systemd/journal/socket")
sim = Sim(wd, "mon", ["--scenario", "steady", "--time-scale", "10"])
d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"}})
open(d.log_path, "w").close()
st = os.stat(d.log_path)
try:
    d.start(env={"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)})
    wait_for(lambda: journal.find(MESSAGE_ID=MSGID["started"]), 10, "the start entry")
    wait_for(lambda: d.device("mon")["state"] == "live", 20, "the device live")
    r = d.request({"type": "session-start", "id": 1, "bed": "chair-1",
                   "patient_ref": PATIENT_REF})
    check(r.get("ok") is True, "a nurse starts a session with patient reference %s" % PATIENT_REF)
    r = d.request({"type": "mark", "id": 2, "bed": "chair-1", "kind": "note", "text": MARKER_TEXT})
    check(r.get("ok") is True, "and records a note marker")
    sim.stop()  # the cable is pulled: DEVICE_DISCONNECTED, high during a session
    wait_for(lambda: journal.find(MESSAGE_ID=MSGID["alarm_active"]), 15, "the alarm entry")
    with open(d.config, "a") as f:
        f.write("\n[daemon]\nbogus = 1\n")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: journal.find(MESSAGE_ID=MSGID["config"], PRIORITY="3"), 10,
             "the rejected reload")
    rc = d.stop()
    check(rc == 0, "vitalsd stops cleanly (%r)" % rc)
    time.sleep(0.3)

    check(len(journal.entries) >= 8, "%d journal entries received" % len(journal.entries))
    bare = [e for e in journal.entries
            if not {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"} <= {k for k, _ in e}]
    check(not bare, "every entry has MESSAGE, PRIORITY and SYSLOG_IDENTIFIER")
    check(all(dict(e).get("SYSLOG_IDENTIFIER") == "vitalsd" for e in journal.entries),
          "SYSLOG_IDENTIFIER=vitalsd")
    placeholders = [k for e in journal.entries for k, _ in e if k.startswith("VITALS_NO_")]
    check(not placeholders, "no placeholder fields (%r)" % placeholders[:3])
    check(journal.find(MESSAGE_ID=MSGID["started"], PRIORITY="6"),
          "start: MESSAGE_ID %s at LOG_INFO" % MSGID["started"])
    check(journal.find(MESSAGE_ID=MSGID["device"], VITALS_DEVICE="mon", VITALS_BED="chair-1"),
          "device state changes: their MESSAGE_ID with VITALS_DEVICE and VITALS_BED")
    check(journal.find(MESSAGE_ID=MSGID["session"], VITALS_BED="chair-1"),
          "session changes: their MESSAGE_ID with VITALS_BED")
    check(journal.find(MESSAGE_ID=MSGID["marker"], VITALS_BED="chair-1"),
          "markers: their MESSAGE_ID with VITALS_BED")
    alarms = journal.find(MESSAGE_ID=MSGID["alarm_active"], VITALS_BED="chair-1")
    check(any(a["PRIORITY"] == "2" and "DEVICE_DISCONNECTED" in a["MESSAGE"] for a in alarms),
          "a high alarm: its MESSAGE_ID at LOG_CRIT with VITALS_BED (%r)" %
          [(a["PRIORITY"], a["MESSAGE"]) for a in alarms][:2])
    errs = journal.find(MESSAGE_ID=MSGID["config"], PRIORITY="3")
    check(any("bogus" in e["MESSAGE"] and "vitalsd.conf:" in e["MESSAGE"] for e in errs),
          "a configuration error at LOG_ERR names file:line:key")

    everything = b"".join(journal.raw)
    check(PATIENT_REF.encode() not in everything,
          "the patient reference never reaches the journal")
    check(MARKER_TEXT.encode() not in everything, "nor the text of a marker")
    log = open(d.log_path).read()
    check(PATIENT_REF not in log and MARKER_TEXT not in log, "nor stderr")
    check(not log.strip(), "with JOURNAL_STREAM set, stderr stays empty (%d bytes)" % len(log))
finally:
    if d.proc and d.proc.poll() is None:
        d.proc.kill()
    sim.stop()
    journal.close()

finish()
