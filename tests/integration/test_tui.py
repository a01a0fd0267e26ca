# SPDX-License-Identifier: BSD-2-Clause
"""The nurse console (`vitalsctl watch` on a terminal), driven through tmux
the way a nurse uses it, against a real vitalsd and four real vitals-sim
monitors in real time:

- at 100x30 every tile shows the values the simulators send: HR and SpO2 in
  block digits (read back from the captured screen by an independent reader
  of the glyphs) and the NIBP as text;
- a desaturation on chair-1 shows up in the alarm list (***, ACTIVE, the
  value and the limit) with a bell, and the bell repeats while the
  high-priority alarm is unacknowledged; nothing rings before it;
- `a` acknowledges the selected alarm: the session log gets an
  acknowledged row whose actor is the user running the test, and the bell
  stops repeating;
- `m` adds a marker (bed, kind, text) that lands in the log with the actor;
  `s` silences the bed and the banner counts down;
- resized to 80x24 the screen lays out anew with nothing garbled;
- when vitalsd stops the console says DISCONNECTED and shows no value as
  current; when it comes back the console reconnects by itself;
- `q` then `y` quits with status 0.
"""
import os
import pwd
import re
import shutil
import subprocess
import threading
import time

from harness import SOURCE, VITALSCTL, Daemon, Sim, check, finish, wait_for, workdir

if not shutil.which("tmux"):
    from harness import skip
    skip("tmux is not installed (run.sh installs it)")

USER = pwd.getpwuid(os.getuid()).pw_name
wd = workdir("tui")

# What each simulated monitor shows (the test's expectations come from here).
BEDS = {
    "chair-1": dict(hr=78, spo2=97, sys=124, dia=80),
    "chair-2": dict(hr=61, spo2=99, sys=118, dia=76),
    "chair-3": dict(hr=92, spo2=95, sys=131, dia=84),
    "chair-4": dict(hr=104, spo2=94, sys=142, dia=91),
}
DESAT_AT = 20      # scenario seconds: chair-1 SpO2 drops to 85 %
DESAT_SPO2 = 85

sims, devices = {}, {}
for bed, v in BEDS.items():
    scn = os.path.join(wd, bed + ".scn")
    with open(scn, "w") as f:
        f.write("interval 1\nnibp-duration 5\nend 10:00\n"
                "at 0:00 hr %(hr)d spo2 %(spo2)d nibp_sys %(sys)d nibp_dia %(dia)d\n"
                "at 0:00 nibp %(sys)d/%(dia)d\n" % v)
        if bed == "chair-1":
            f.write("at 0:%02d spo2 %d for 1:40\n" % (DESAT_AT, DESAT_SPO2))
    sims[bed] = Sim(wd, bed, ["--scenario", scn])
    devices[bed + "-monitor"] = {"driver": "ge-s5", "port": sims[bed].port, "bed": bed}
sim_start = time.monotonic()

d = Daemon(wd, devices, {"profile": "ketamine-infusion"})
shutil.copytree(os.path.join(SOURCE, "config", "profiles"), os.path.join(d.confdir, "profiles"))
d.start()

TMUX = ["tmux", "-u", "-f", "/dev/null", "-S", os.path.join(wd, "tmux.sock")]
TENV = dict(os.environ, LANG="C.UTF-8")
TENV.pop("TMUX", None)
raw_path = os.path.join(wd, "pane.raw")


def tmux(*args, check_rc=True):
    p = subprocess.run(TMUX + list(args), capture_output=True, text=True, env=TENV, timeout=10,
                       stdin=subprocess.DEVNULL)
    if check_rc and p.returncode != 0:
        raise RuntimeError("tmux %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def screen():
    out = tmux("capture-pane", "-p", "-t", "tui")
    return (out[:-1] if out.endswith("\n") else out).split("\n")


def text():
    return "\n".join(screen())


def keys(*k):
    tmux("send-keys", "-t", "tui", *k)


class Bells(threading.Thread):
    """Timestamps every BEL the console writes to its terminal (the pane's
    raw output, through pipe-pane), OSC strings left out."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.times, self.stop = path, [], False

    def run(self):
        buf, pos = b"", 0
        while not self.stop:
            try:
                with open(self.path, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            pos += len(data)
            buf += data
            buf = re.sub(rb"\x1b\][^\x07\x1b]*(\x07|\x1b\\)", b"", buf)
            # Keep an unterminated OSC for the next read.
            cut = buf.rfind(b"\x1b]")
            done, buf = (buf[:cut], buf[cut:]) if cut >= 0 else (buf, b"")
            now = time.monotonic()
            self.times += [now] * done.count(b"\x07")
            time.sleep(0.05)

    def between(self, t0, t1):
        return [t for t in self.times if t0 <= t < t1]


# --- an independent reader of the block digits ---------------------------
# The glyphs as drawn by console/tui_draw.c: three columns, five rows.
FONT = {
    "0": ["###", "# #", "# #", "# #", "###"], "1": [" # ", "## ", " # ", " # ", "###"],
    "2": ["###", "  #", "###", "#  ", "###"], "3": ["###", "  #", "###", "  #", "###"],
    "4": ["# #", "# #", "###", "  #", "  #"], "5": ["###", "#  ", "###", "  #", "###"],
    "6": ["###", "#  ", "###", "# #", "###"], "7": ["###", "  #", "  #", "  #", "  #"],
    "8": ["###", "# #", "###", "# #", "###"], "9": ["###", "# #", "###", "  #", "###"],
}


def big_numbers(lines):
    """[(row, col, "78"), ...] for every number drawn in block digits."""
    w = max(len(l) for l in lines) + 2
    grid = [l.ljust(w) for l in lines]
    on = lambda y, x: 0 <= y < len(grid) and 0 <= x < w and grid[y][x] == "\u2588"

    def glyph(y, x):
        for y2 in (y - 1, y + 5):
            if any(on(y2, x + c) for c in range(3)):
                return None
        if any(on(y + r, x - 1) or on(y + r, x + 3) for r in range(5)):
            return None
        cell = ["".join("#" if on(y + r, x + c) else " " for c in range(3)) for r in range(5)]
        for digit, pattern in FONT.items():
            if cell == pattern:
                return digit
        return None

    found = []
    for y in range(len(grid)):
        x = 0
        while x < w:
            g = glyph(y, x)
            if g is None:
                x += 1
                continue
            start, digits = x, ""
            while g is not None:
                digits += g
                x += 4
                g = glyph(y, x)
            found.append((y, start, digits))
    return found


def tiles(lines):
    """{bed: (top row, left col, right col)} from the tiles' title borders."""
    out = {}
    for y, line in enumerate(lines):
        for m in re.finditer(r"\u250c (chair-\d+) ", line):
            right = line.find("\u2510", m.end())
            out[m.group(1)] = (y, m.start(), right if right >= 0 else len(line))
    return out


def tile_values(lines):
    """{bed: {"big": [HR, SpO2], "nibp": "124/80 (95)"}} as the screen shows them."""
    nums = big_numbers(lines)
    result = {}
    for bed, (top, left, right) in tiles(lines).items():
        big = [n for (y, x, n) in sorted(nums, key=lambda t: t[1])
               if top < y < top + 10 and left < x < right]
        nibp = None
        for y in range(top + 1, min(top + 10, len(lines))):
            m = re.search(r"NIBP (\d+/\d+ \(\d+\))", lines[y][left:right + 1])
            if m:
                nibp = m.group(1)
        result[bed] = {"big": big, "nibp": nibp}
    return result


def nibp_expected():
    """'124/80 (95)': systolic and diastolic from the scenario, the mean as
    the monitor sent it (read from vitalsd)."""
    out = {}
    for b in d.status()["beds"]:
        mean = b["latest"].get("NIBP_MEAN", {}).get("value")
        v = BEDS[b["bed"]]
        out[b["bed"]] = "%d/%d (%s)" % (v["sys"], v["dia"],
                                       "%d" % round(mean) if mean is not None else "?")
    return out


def db(sql, args=()):
    return d.query(sql, args)


bells = Bells(raw_path)
try:
    tmux("new-session", "-d", "-s", "tui", "-x", "100", "-y", "30",
         "env TERM=tmux-256color LANG=C.UTF-8 %s --socket %s watch 2>%s; echo EXITED $?; "
         "sleep 60" % (VITALSCTL, d.socket, os.path.join(wd, "watch.err")))
    tmux("pipe-pane", "-t", "tui", "cat >> %s" % raw_path)
    bells.start()

    # --- 1. the tiles show what the monitors send -------------------------
    want = {bed: [str(v["hr"]), str(v["spo2"])] for bed, v in BEDS.items()}
    try:
        wait_for(lambda: all(tile_values(screen()).get(b, {}).get("big") == want[b] for b in BEDS)
                 and all(tile_values(screen())[b]["nibp"] for b in BEDS),
                 max(5, DESAT_AT - 1 - (time.monotonic() - sim_start)),
                 "all tiles showing their monitor's values")
    except TimeoutError:
        pass
    shown = tile_values(screen())
    for bed, v in BEDS.items():
        check(shown.get(bed, {}).get("big") == want[bed],
              "%s shows HR %d and SpO2 %d in block digits (screen: %r)"
              % (bed, v["hr"], v["spo2"], shown.get(bed)))
    expected_nibp = nibp_expected()
    for bed in BEDS:
        check(shown.get(bed, {}).get("nibp") == expected_nibp[bed],
              "%s shows NIBP %s (screen: %r)" % (bed, expected_nibp[bed], shown.get(bed)))
    page = text()
    check("HR /min" in page and "SpO2 %" in page, "the big values are labelled with their units")
    check("Alarms: none" in page, "no alarms while every value is in range")
    check("live" in page and "SESSION-" in page and "baseline" in page,
          "tiles show device state, session and phase")
    check(len(bells.times) == 0, "calm: no bell while all is well (%d)" % len(bells.times))

    # --- 2. a desaturation: in the list, with a bell that repeats -------------
    row = re.compile(r"\*\*\*\s+ACTIVE\s+chair-1\s+SPO2_DESAT\s+%d lim 88" % DESAT_SPO2)
    wait_for(lambda: row.search(text()), DESAT_AT + 20, "SPO2_DESAT in the alarm list")
    t_alarm = time.monotonic()
    check(True, "the desaturation shows as *** ACTIVE chair-1 SPO2_DESAT %d lim 88" % DESAT_SPO2)
    wait_for(lambda: tile_values(screen())["chair-1"]["big"] == ["78", str(DESAT_SPO2)], 5,
             "chair-1's tile showing SpO2 %d" % DESAT_SPO2)
    lines = screen()
    sel = [l for l in lines if "SPO2_DESAT" in l]
    check(sel and sel[0].startswith("\u25b6"), "the cursor is on the high-priority alarm: %r" % sel)
    wait_for(lambda: bells.between(t_alarm - 3, t_alarm + 3), 3, "a bell for the new alarm")
    check(True, "a bell rang with the new alarm")
    # SPO2_LOW (medium) follows after its 10 s delay with a bell of its own;
    # then nothing new happens, and the bell must still repeat for the
    # unacknowledged high-priority desaturation.
    wait_for(lambda: re.search(r"\*\*\s+ACTIVE\s+chair-1\s+SPO2_LOW", text()), 20, "SPO2_LOW")
    t_low = time.monotonic()
    time.sleep(12.5)
    repeats = bells.between(t_low + 1, time.monotonic())
    check(len(repeats) >= 1,
          "the bell repeats for an unacknowledged high alarm (%d bells in %.0f s after the "
          "last new alarm)" % (len(repeats), time.monotonic() - t_low - 1))

    # --- 3. acknowledge from the keyboard --------------------------------------
    keys("a")
    t_ack = time.monotonic()
    acked = wait_for(lambda: db("SELECT alarm_id, actor FROM alarm_events WHERE "
                                "condition='SPO2_DESAT' AND state='acknowledged'"), 5,
                     "an acknowledged SPO2_DESAT row in the session log")
    check(acked[0][1] == USER, "the store records the acknowledgement by %s: %r" % (USER, acked))
    wait_for(lambda: re.search(r"\*\*\*\s+acknowledged\s+chair-1\s+SPO2_DESAT.*by %s" % USER,
                               text()), 5, "the row showing acknowledged by the user")
    check(True, "the alarm list shows SPO2_DESAT acknowledged by %s" % USER)
    check(re.search(r"acknowledged alarm %d \(SPO2_DESAT, chair-1\) as %s" % (acked[0][0], USER),
                    text()), "the status line confirms the acknowledgement")
    time.sleep(12)
    after = bells.between(t_ack + 1.5, time.monotonic())
    check(not after, "no more repeats once acknowledged (medium SPO2_LOW does not repeat): %d"
          % len(after))

    # --- 4. a marker, then a silence -------------------------------------------
    keys("m")
    wait_for(lambda: "Add a marker" in text(), 3, "the marker prompt")
    page = text()
    check(re.search(r"Bed\s+. chair-1 .", page) and re.search(r"Kind\s+. infusion-start .", page),
          "the prompt offers the selected alarm's bed and infusion-start during the baseline")
    keys("-l", "bolus 0.5 mg/kg")
    keys("Enter")
    marker = wait_for(lambda: db("SELECT kind, text, actor FROM markers"), 5, "a marker row")
    check(marker == [("infusion-start", "bolus 0.5 mg/kg", USER)],
          "the marker is in the session log with its text and actor: %r" % marker)
    wait_for(lambda: re.search(r"SESSION-\d+ . infusion", text()), 5, "chair-1 in phase infusion")
    check(True, "chair-1's tile shows the infusion phase")

    keys("s")
    wait_for(lambda: re.search(r"AUDIO SILENCED\s+chair-1 [12]:\d\d", text()), 5, "silence banner")
    check(True, "silencing shows a banner with the bed and the countdown")
    check(db("SELECT actor FROM alarm_events WHERE condition='AUDIO_SILENCE' AND "
             "state='silenced' AND bed='chair-1'") == [(USER,)],
          "the silence is in the session log by %s" % USER)

    # --- 5. 80x24: laid out anew, nothing garbled -------------------------------
    tmux("resize-window", "-t", "tui", "-x", "80", "-y", "24")
    wait_for(lambda: len(screen()) == 24 and max(len(l) for l in screen()) <= 80 and
             re.search(r"HR \d+\s+SpO2 \d+%", text()), 5, "the 80x24 layout")
    lines = screen()
    page = "\n".join(lines)
    check(len(lines) == 24 and all(len(l) <= 80 for l in lines), "the screen is 80x24")
    check(lines[0].startswith(" vitals-logger nurse console") and
          re.search(r"\d\d:\d\d:\d\d\s*$", lines[0]), "the header is whole: %r" % lines[0])
    check("q quit" in lines[-1] and "a ack" in lines[-1], "the help line is whole: %r" % lines[-1])
    for bed, v in BEDS.items():
        spo2 = DESAT_SPO2 if bed == "chair-1" else v["spo2"]
        check(page.count("\u250c %s " % bed) == 1 and
              re.search(r"\u2502 HR %d\s+SpO2 %d%%\s" % (v["hr"], spo2), page),
              "%s's tile shows HR %d and SpO2 %d as whole numbers" % (bed, v["hr"], spo2))
    frames = [l for l in lines if l.startswith(("\u2502", "\u250c", "\u2514"))]
    check(frames and all(l.rstrip()[-1] in "\u2502\u2510\u2518" for l in frames),
          "every tile line is closed by its frame")
    check(all(l.count("\u250c") == l.count("\u2510") for l in lines) and
          all(l.count("\u2514") == l.count("\u2518") for l in lines), "frames pair up")
    check(re.search(r"acknowledged\s+chair-1\s+SPO2_DESAT\s+85 lim 88", page),
          "the alarm row keeps its value and limit at 80 columns")
    check("AUDIO SILENCED" in page, "the silence banner stays")

    # --- 6. the daemon goes away and comes back ----------------------------------
    # The console may notice before stop() returns (a sanitizer build spends
    # a while in its exit checks after the sockets closed): time from the signal.
    t_stop = time.monotonic()
    d.stop()
    wait_for(lambda: "DISCONNECTED" in text(), 5, "DISCONNECTED")
    check(True, "the console says DISCONNECTED when vitalsd stops (%.1f s)"
          % (time.monotonic() - t_stop))
    page = text()
    check(not re.search(r"HR \d+", page) and "NOT LIVE" in page,
          "no value is shown as current while disconnected")
    try:
        wait_for(lambda: bells.between(t_stop, time.monotonic() + 1), 2, "a bell")
    except TimeoutError:
        pass
    check(bells.between(t_stop, time.monotonic() + 1), "a bell when the connection is lost")
    d.start()
    wait_for(lambda: "reconnected to vitalsd" in text() and "DISCONNECTED" not in text(), 10,
             "reconnection")
    check(True, "the console reconnects by itself")
    wait_for(lambda: all(re.search(r"\u2502 HR %d\s+SpO2 \d+%%" % v["hr"], text())
                         for v in BEDS.values()), 15, "values after the restart")
    check(True, "the tiles show live values again after the restart")

    # --- 7. quit -----------------------------------------------------------------
    keys("q")
    wait_for(lambda: "Quit the nurse console?" in text(), 3, "the quit question")
    keys("y")
    wait_for(lambda: "EXITED" in text(), 5, "vitalsctl to exit")
    check("EXITED 0" in text(), "q then y quits with status 0")
    err = open(os.path.join(wd, "watch.err")).read()
    check(err == "", "nothing on stderr: %r" % err)
except Exception as e:
    check(False, "unexpected: %s" % e)
    try:
        print("--- screen ---\n" + text())
    except Exception:
        pass
finally:
    bells.stop = True
    tmux("kill-server", check_rc=False)
    d.stop()
    for s in sims.values():
        s.stop()
finish()
