# SPDX-License-Identifier: BSD-2-Clause
"""The control socket protocol (docs/control-protocol.md) against a real
vitalsd: every request and its error paths, two subscribers at once, a
subscriber that stops reading, a client that sends garbage, session phases
surviving a restart, and access control by SO_PEERCRED (a client outside
the console group is refused; a member's name goes into the record).

Switching to another user needs root; without it those checks are skipped,
and the test says so."""
import json
import os
import pwd
import re
import socket
import sqlite3
import subprocess
import threading
import time

from harness import (SOURCE, VITALSD, Daemon, Sim, check, finish, unbatch, vitalsctl, wait_for,
                     workdir)

wd = workdir("control")
os.chmod(wd, 0o755)  # other users must reach the socket for the access checks
scn = os.path.join(wd, "desat.scn")
with open(scn, "w") as f:
    f.write("interval 1\nend 10:00\n"
            "at 0:00 hr 78 spo2 97\n"
            "at 0:04 spo2 85 for 0:08\n")  # the zero-delay desaturation alarm
sim = Sim(wd, "mon", ["--scenario", scn])
GROUP = "users"  # exists on every Debian system (gid 100)
d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"},
                "gone": {"driver": "ge-s5", "port": os.path.join(wd, "no-such-tty"),
                         "bed": "chair-2"}},
           {"profile": "ketamine-infusion", "control_group": GROUP},
           extra_files={"profiles/" + n: open(os.path.join(SOURCE, "config", "profiles", n)).read()
                        for n in os.listdir(os.path.join(SOURCE, "config", "profiles"))})
d.start()


class Client:
    def __init__(self, path=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(5)
        self.s.connect(path or d.socket)
        self.next_id = 100
        self.seen = []      # every reply and event received (batches unpacked)
        self.messages = []  # every message as it came

    def send_raw(self, data):
        self.s.send(data)

    def recv(self, timeout=5):
        self.s.settimeout(timeout)
        data = self.s.recv(1 << 20)
        m = json.loads(data) if data else None
        if m is not None:
            self.messages.append(m)
            self.seen += unbatch(m)
        return m

    def request(self, obj):
        self.next_id += 1
        obj = dict(obj, id=self.next_id)
        self.s.send(json.dumps(obj).encode())
        while True:
            m = self.recv()
            if m is None or m.get("id") == self.next_id:
                return m

    def close(self):
        self.s.close()


def req(obj):
    c = Client()
    try:
        return c.request(obj)
    finally:
        c.close()


def err(obj):
    r = req(obj)
    return r.get("error") if r and r.get("ok") is False and r.get("type") == "error" else r


try:
    wait_for(lambda: any(b["session"] for b in d.status()["beds"] if b["bed"] == "chair-1"), 15,
             "an automatic session on chair-1")
    st = d.status()
    auto_id = [b for b in st["beds"] if b["bed"] == "chair-1"][0]["session"]["id"]

    # --- subscribers, then session-start replacing the automatic session ---
    sub1, sub2 = Client(), Client()
    check(sub1.request({"type": "subscribe"})["ok"] and sub2.request({"type": "subscribe"})["ok"],
          "two clients subscribe")

    r = req({"type": "session-start", "bed": "chair-1", "patient_ref": "P-0042"})
    check(r["ok"] and r["session"]["patient_ref"] == "P-0042" and r["session"]["phase"] == "baseline"
          and r["session"]["automatic"] is False and r["session"]["id"] != auto_id,
          "session-start opens a user session in phase baseline, replacing the automatic one: %r" % r)
    sid = r["session"]["id"]
    check(r["actor"] == "root" or os.getuid() != 0, "the reply names the acting user: %r" % r.get("actor"))
    check(err({"type": "session-start", "bed": "chair-1", "patient_ref": "P-0043"}) == "session-open",
          "a second session-start on the bed is refused (session-open)")
    check(err({"type": "session-start", "bed": "chair-9", "patient_ref": "X"}) == "no-such-bed",
          "session-start on an unknown bed: no-such-bed")
    check(err({"type": "session-start", "bed": "chair-2", "patient_ref": "X", "profile": "nope"})
          == "no-such-profile", "session-start with an unknown profile: no-such-profile")
    check(err({"type": "session-start", "bed": "chair-2", "patient_ref": "X\u0007Y"}) == "bad-request",
          "a patient reference with a control character is refused")
    check(err({"type": "session-start", "bed": "chair-2", "patient_ref": ""}) == "bad-request",
          "an empty patient reference is refused")
    check(err({"type": "session-start", "bed": "chair-2", "patient_ref": "x" * 64}) == "bad-request",
          "a 64-character patient reference is refused")
    check(err({"type": "session-start", "bed": "chair-2"}) == "bad-request",
          "session-start without patient_ref: bad-request")
    check(err({"type": "session-start", "bed": 7, "patient_ref": "X"}) == "bad-request",
          "a bed that is not a string: bad-request")

    # --- markers and phases ---
    check(err({"type": "mark", "bed": "chair-1", "kind": "bolus"}) == "bad-kind", "unknown marker kind: bad-kind")
    check(err({"type": "mark", "bed": "chair-2", "kind": "note", "text": "x"}) in ("no-session",),
          "mark on a bed without a session: no-session")
    r = req({"type": "mark", "bed": "chair-1", "kind": "infusion-start", "text": "ketamine 0.5 mg/kg over 40 min"})
    check(r["ok"] and r["phase"] == "infusion" and r["marker"]["kind"] == "infusion-start",
          "infusion-start moves the session to phase infusion: %r" % r)
    r = req({"type": "mark", "bed": "chair-1", "kind": "dose", "text": "=cmd|' /C calc'!A0\nsecond line"})
    check(r["ok"] and r["phase"] == "infusion", "a dose marker keeps the phase; newlines are allowed in text")

    # --- the desaturation alarm reaches both subscribers; ack by id ---
    def alarm_event(c, cond, state):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = c.recv(timeout=max(0.1, deadline - time.monotonic()))
            if m and m.get("type") == "alarm" and m["condition"] == cond and m["state"] == state:
                return m
        return None

    seen = {}
    for c, name in ((sub1, "first"), (sub2, "second")):
        seen[name] = [m for m in [alarm_event(c, "SPO2_DESAT", "active")] if m]
    check(seen["first"] and seen["second"] and seen["first"][0]["alarm_id"] == seen["second"][0]["alarm_id"],
          "both subscribers get the SPO2_DESAT alarm event")
    # Both also saw the session and marker events before it.
    st = d.status()
    desat = [a for a in st["alarms"] if a["condition"] == "SPO2_DESAT"]
    check(len(desat) == 1 and desat[0]["bed"] == "chair-1" and desat[0]["priority"] == "high"
          and desat[0]["state"] == "active", "status lists the active SPO2_DESAT alarm with its id: %r" % desat)
    chair1 = [b for b in st["beds"] if b["bed"] == "chair-1"][0]
    check(chair1["session"]["phase"] == "infusion", "status shows phase infusion")
    check(any(a["condition"] == "SPO2_DESAT" for a in chair1["alarms"]), "the bed's alarms list it too")
    if desat:
        aid = desat[0]["id"]
        r = req({"type": "ack", "alarm": aid})
        check(r["ok"] and r["state"] in ("acknowledged", "inactive") and r["alarm"] == aid,
              "ack by the id status gave: %r" % r)
        check(err({"type": "ack", "alarm": aid}) in ("already-acknowledged", "no-such-alarm"),
              "acknowledging twice is refused")
        me = pwd.getpwuid(os.getuid()).pw_name
        rows = d.query("SELECT state, actor FROM alarm_events WHERE alarm_id=? ORDER BY id", (aid,))
        check(any(s in ("acknowledged", "inactive") and a == me for s, a in rows[1:]),
              "the acknowledgement is in the store under %s: %r" % (me, rows))
    check(err({"type": "ack", "alarm": 999999}) == "no-such-alarm", "ack of an unknown id: no-such-alarm")
    check(err({"type": "ack", "alarm": "7"}) == "bad-request", "ack with a string id: bad-request")
    check(err({"type": "ack"}) == "bad-request", "ack with neither alarm nor bed: bad-request")

    # --- the disconnected monitor on chair-2: a technical alarm, ack by bed ---
    st = d.status()
    gone = [a for a in st["alarms"] if a["bed"] == "chair-2" and a["condition"] == "DEVICE_DISCONNECTED"]
    check(len(gone) == 1 and gone[0]["technical"] is True,
          "a monitor whose port is missing at start-up raises DEVICE_DISCONNECTED: %r" % gone)
    r = req({"type": "ack", "bed": "chair-2"})
    check(r["ok"] and r["count"] == 1, "ack --bed acknowledges the bed's one alarm: %r" % r)

    # --- status of some beds only (a console for part of a ward; the daemon
    # and store part alone with "beds": []) ---
    r = req({"type": "status", "beds": ["chair-2"]})
    check(r["ok"] and [b["bed"] for b in r["beds"]] == ["chair-2"] and
          {a["bed"] for a in r["alarms"]} == {"chair-2"} and
          r["beds"][0]["alarms"] and r["store"]["ok"] is True,
          "status of chair-2 only: its bed, its alarms, and the store: %r" %
          (([b["bed"] for b in r["beds"]], [a["condition"] for a in r["alarms"]]),))
    r = req({"type": "status", "beds": []})
    check(r["ok"] and r["beds"] == [] and r["alarms"] == [] and "queued" in r["store"],
          "status with beds [] answers the daemon and store part alone")
    check(err({"type": "status", "beds": ["chair-9"]}) == "no-such-bed",
          "status of an unknown bed: no-such-bed")
    check(err({"type": "status", "beds": "chair-1"}) == "bad-request" and
          err({"type": "status", "beds": [1]}) == "bad-request",
          "status with beds not an array of names: bad-request")

    # --- silence ---
    r = req({"type": "silence", "bed": "chair-1", "seconds": 30})
    check(r["ok"] and r["bed"] == "chair-1" and 29 <= r["seconds"] <= 30 and r["until"],
          "silence one bed for 30 s: %r" % r)
    chair1 = [b for b in d.status()["beds"] if b["bed"] == "chair-1"][0]
    check(chair1["silenced_until"] is not None, "status shows the bed silenced")
    r = req({"type": "silence"})
    check(r["ok"] and r["bed"] is None and 110 <= r["seconds"] <= 120, "silence all beds: up to 120 s: %r" % r)
    check(err({"type": "silence", "seconds": 121}) == "bad-request", "silence longer than 120 s: bad-request")
    check(err({"type": "silence", "seconds": 0}) == "bad-request", "silence of 0 s: bad-request")
    check(err({"type": "silence", "bed": "chair-9"}) == "no-such-bed", "silence an unknown bed: no-such-bed")

    # --- malformed requests and garbage ---
    c = Client()
    for raw, want in ((b"{not json", "bad-json"), (b"[1,2]", "bad-request"), (b'"x"', "bad-request"),
                      (b'{"id":1}', "bad-request"), (b'{"type":"reboot"}', "unknown-request"),
                      (b'{"type":"status"} {"type":"status"}', "bad-json"),
                      (bytes(range(256)) * 4, "bad-json"),
                      (b'{"type":"mark","bed":"chair-1","kind":"note","text":"' + b"x" * 600 + b'"}', "bad-request"),
                      (b'{"type":"status","pad":"' + b"x" * 70000 + b'"}', "too-large")):
        c.send_raw(raw)
        m = c.recv()
        check(m and m.get("type") == "error" and m.get("error") == want,
              "garbage %r... gets %s" % (raw[:24], want))
    c.close()
    check(d.proc.poll() is None and req({"type": "status"})["ok"], "the daemon still answers after garbage")
    n_markers = d.query("SELECT COUNT(*) FROM markers WHERE session_id=?", (sid,))[0][0]
    check(n_markers == 2, "refused requests changed nothing: still 2 markers (%d)" % n_markers)

    # --- a subscriber that stops reading is dropped; the others go on ---
    sub2.close()
    drained, stop_draining = [], threading.Event()

    def drain():
        while not stop_draining.is_set():
            try:
                m = sub1.recv(timeout=0.5)
            except socket.timeout:
                continue
            except OSError:
                return
            if m is None:
                return
            drained.extend(unbatch(m))
    drainer = threading.Thread(target=drain)
    drainer.start()
    slow = Client()
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.request({"type": "subscribe"})
    # Fill its queue quickly with marker and session traffic it never reads.
    for i in range(400):
        req({"type": "mark", "bed": "chair-1", "kind": "note", "text": "flood %d %s" % (i, "y" * 400)})
        if "dropping a subscriber" in d.log():
            break
    check("dropping a subscriber" in d.log(), "the daemon drops the subscriber that stopped reading")
    t0 = time.monotonic()
    check(req({"type": "status"})["ok"] and time.monotonic() - t0 < 2, "status still answers at once")
    n_before = len(drained)
    time.sleep(2.5)
    stop_draining.set()
    drainer.join()
    check(any(m.get("type") == "marker" for m in drained) and
          any(m.get("type") == "readings" for m in drained[n_before:]),
          "a subscriber that reads got every kind of event and keeps receiving readings")
    check(any(m.get("type") == "session" and m.get("state") == "started"
              and m["session"]["patient_ref"] == "P-0042" for m in sub1.seen)
          and any(m.get("type") == "session" and m.get("state") == "stopped"
                  and m["session"]["id"] == auto_id for m in sub1.seen),
          "session events are pushed: the automatic session stopped, the user's started")
    check(any(m.get("type") == "marker" and m.get("kind") == "infusion-start"
              and m.get("phase") == "infusion" for m in sub1.seen), "marker events are pushed")

    # --- readings: one event per monitor record, ahead of the alarm they raise ---
    seen1 = sub1.seen
    held = [m for m in sub1.messages if m.get("type") == "batch"]
    check(held and all(m["events"] and all(e.get("type") == "readings" for e in m["events"])
                       for m in held) and
          not any(m.get("type") == "readings" for m in sub1.messages),
          "readings events arrive held back in batch messages (%d), which carry nothing else"
          % len(held))
    batches = [m for m in seen1 if m.get("type") == "readings"]
    check(batches and not any(m.get("type") == "reading" for m in seen1),
          "readings come as `readings` events (%d), never one `reading` event each" % len(batches))
    check(all(m["bed"] == "chair-1" and m["device"] == "mon" and isinstance(m["session"], int)
              and m["readings"] and all(set(r) == {"parameter", "value", "unit", "status", "time",
                                                   "device_time"} for r in m["readings"])
              for m in batches),
          "every readings event names its bed, device and session; each reading has parameter, "
          "value, unit, status, time and device_time")
    # One GE S/5 record per second: its HR, SpO2 and PR arrive in one event,
    # stamped with the one arrival time.
    whole = [m for m in batches if {"HR", "SPO2", "PR"} <= {r["parameter"] for r in m["readings"]}
             and len({r["time"] for r in m["readings"]}) == 1]
    check(len(whole) >= 3, "a record's HR, SPO2 and PR arrive together in one event, one time "
          "(%d of %d events)" % (len(whole), len(batches)))
    started = [i for i, m in enumerate(seen1) if m.get("type") == "session"
               and m.get("state") == "started" and m["session"]["id"] == sid]
    after = [m["session"] for m in seen1[started[0]:] if m.get("type") == "readings"] if started else []
    check(after and set(after) == {sid},
          "after the session-started event every readings event names the new session %d: %r"
          % (sid, sorted(set(after))))
    # The desaturation was raised by one SpO2 reading (the alarm's time is
    # that reading's arrival): the event carrying it came first.
    i_alarm = next((i for i, m in enumerate(seen1) if m.get("type") == "alarm"
                    and m["condition"] == "SPO2_DESAT" and m["state"] == "active"), None)
    i_cause = None
    if i_alarm is not None:
        a = seen1[i_alarm]
        i_cause = next((i for i, m in enumerate(seen1) if m.get("type") == "readings"
                        and any(r["parameter"] == "SPO2" and r["time"] == a["time"]
                                and r["value"] == a["value"] for r in m["readings"])), None)
    check(i_alarm is not None and i_cause is not None and i_cause < i_alarm,
          "the readings event with the SpO2 that raised SPO2_DESAT arrives before the alarm "
          "(event %r, alarm %r)" % (i_cause, i_alarm))
    # The plain console (vitalsctl watch, not on a terminal) still prints a
    # bed's record as one line from these events.
    p = vitalsctl("--socket", d.socket, "watch", "--plain", "--seconds", "3.5")
    lines = [l for l in p.stdout.splitlines()
             if re.fullmatch(r"\S+Z chair-1 +HR 78 SPO2 (97|85) PR 78", l)]
    check(lines, "vitalsctl watch --plain prints chair-1's record as one line: %r" % p.stdout)
    sub1.close()
    slow.close()

    # --- access control by SO_PEERCRED ---
    if os.getuid() != 0:
        print("SKIP access-control checks: they switch to the user nobody, which needs root")
    else:
        import grp
        gid = grp.getgrnam(GROUP).gr_gid
        probe = ("import json,socket,sys\n"
                 "s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET);s.settimeout(5)\n"
                 "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print(json.dumps({'connect':e.errno}));sys.exit()\n"
                 "try:\n s.send(sys.argv[2].encode())\nexcept OSError:\n pass  # refused: the reason is waiting\n"
                 "d=s.recv(65536);print(d.decode() if d else json.dumps({'closed':True}))\n")

        def as_nobody(groups, request={"type": "mark", "bed": "chair-1", "kind": "note",
                                       "text": "by a console user", "id": 1}):
            def drop():
                os.setgroups(groups)
                os.setgid(65534)
                os.setuid(65534)
            p = subprocess.run(["/usr/bin/python3", "-c", probe, d.socket, json.dumps(request)],
                               preexec_fn=drop,
                               capture_output=True, text=True, timeout=20)
            return json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else {"stderr": p.stderr}

        mode = os.stat(d.socket).st_mode & 0o777
        check(mode == 0o660 and os.stat(d.socket).st_gid == gid,
              "the socket is 0660 in the console group (%o, gid %d)" % (mode, os.stat(d.socket).st_gid))
        r = as_nobody([])
        check(r.get("connect") == 13, "a user outside the group cannot even connect (EACCES): %r" % r)
        os.chmod(d.socket, 0o666)  # past the file mode: the daemon's own check must refuse
        r = as_nobody([])
        check(r.get("error") == "permission-denied", "the daemon refuses a user outside the group: %r" % r)
        check("refused a client of uid 65534" in d.log(), "the refusal is logged")
        os.chmod(d.socket, 0o660)
        # A member of the group (supplementary, seen through SO_PEERGROUPS) may act.
        r = as_nobody([gid])
        check(r.get("ok") is True and r.get("marker", {}).get("actor") == "nobody",
              "a member of the group is served and named as the actor: %r" % r)
        check(d.query("SELECT COUNT(*) FROM markers WHERE actor='nobody'")[0][0] == 1,
              "the member's marker is in the store under their name")

    # --- session-stop; phases rebuilt after a restart ---
    r = req({"type": "session-start", "bed": "chair-2", "patient_ref": "P-0099"})
    check(r["ok"], "a session on a bed whose monitor is gone can still start")
    sid2 = r["session"]["id"]
    req({"type": "mark", "bed": "chair-2", "kind": "infusion-start"})
    req({"type": "mark", "bed": "chair-2", "kind": "infusion-end"})
    d.stop()
    d.start()
    st = d.status()
    beds = {b["bed"]: b for b in st["beds"]}
    check(beds["chair-2"]["session"] and beds["chair-2"]["session"]["id"] == sid2
          and beds["chair-2"]["session"]["phase"] == "recovery"
          and beds["chair-2"]["session"]["automatic"] is False,
          "after a restart chair-2's session continues in phase recovery: %r" % beds["chair-2"]["session"])
    check(beds["chair-1"]["session"]["id"] == sid and beds["chair-1"]["session"]["phase"] == "infusion",
          "chair-1's session continues in phase infusion")
    r = req({"type": "session-stop", "bed": "chair-2", "reason": "discharged"})
    check(r["ok"] and r["session"] == sid2, "session-stop: %r" % r)
    check(err({"type": "session-stop", "bed": "chair-2"}) == "no-session", "stopping again: no-session")
finally:
    d.stop()
    sim.stop()

rows = d.query("SELECT id, opened_by, closed_by, end_reason FROM sessions ORDER BY id")
byid = {r[0]: r for r in rows}
check(byid[auto_id][1] == "auto" and byid[auto_id][3].startswith("replaced by a session started by"),
      "the automatic session was closed as replaced: %r" % (byid[auto_id],))
check(byid[sid2][3] == "discharged", "the stop reason is recorded")
kinds = d.query("SELECT kind FROM markers WHERE session_id=? ORDER BY id", (sid,))
check([k for (k,) in kinds[:2]] == ["infusion-start", "dose"], "markers are in the store in order")

# --- a status too large for one message: a clear error, not a hang-up ---
# 400 beds whose monitors are missing (each bed with its DEVICE_DISCONNECTED
# alarm): the full reply is larger than the socket takes in one packet.
big = Daemon(workdir("control-big"),
             {"m%03d" % i: {"driver": "ge-s5", "port": "/nonexistent/tty%d" % i,
                            "bed": "bed-%03d" % i} for i in range(400)})
big.start()
try:
    c = Client(big.socket)
    r = c.request({"type": "status"})
    check(r is not None and r.get("error") == "reply-too-large" and "beds" in r["message"],
          "a status of 400 beds says reply-too-large and how to ask for less: %r" % (r,))
    r = c.request({"type": "status", "beds": ["bed-007", "bed-123"]})
    check(r["ok"] and [b["bed"] for b in r["beds"]] == ["bed-007", "bed-123"] and
          len(r["alarms"]) == 2,
          "on the same connection, a status of two of the 400 beds is answered")
    c.close()
finally:
    big.stop()

# --- names that JSON must escape: a bed and a device named with quotes, a
# backslash and non-ASCII text reach a console exactly as configured (the
# readings event is written as text, not through json-c: jsontext.c) ---
odd_bed, odd_dev = 'recliner "3" \\ Ünï 床', 'mon "b" \\ 2'
odd_wd = workdir("control-names")
odd_sim = Sim(odd_wd, "odd", ["--scenario", scn])
odd = Daemon(odd_wd, {odd_dev: {"driver": "ge-s5", "port": odd_sim.port, "bed": odd_bed}})
odd.start()
try:
    c = Client(odd.socket)
    c.request({"type": "subscribe"})
    deadline = time.monotonic() + 10
    got = []
    while not got and time.monotonic() < deadline:
        try:
            c.recv(timeout=1)
        except socket.timeout:
            continue
        got = [m for m in c.seen if m.get("type") == "readings"]
    check(got and all(m["bed"] == odd_bed and m["device"] == odd_dev for m in got),
          "readings events name the bed %r and device %r exactly: %r"
          % (odd_bed, odd_dev, [(m["bed"], m["device"]) for m in got[:2]]))
    c.close()
finally:
    odd.stop()
    odd_sim.stop()

# vitalsctl session list reads the same file.
p = vitalsctl("session", "list", "--state-dir", d.state_dir, "--json")
listed = [json.loads(l) for l in p.stdout.splitlines()]
check([s["id"] for s in listed] == sorted(byid, reverse=True)[:20],
      "vitalsctl session list --json lists the sessions newest first")
finish()
