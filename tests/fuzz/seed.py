#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""seed.py — builds a fuzzing corpus: the committed corpus, plus inputs
taken at run time from the simulator and the monitor captures.

    seed.py --build BUILD --out DIR [--captures DIR] [--source SRC]

DIR/<target>/ gets: tests/fuzz/corpus/<target>/*; for ge-s5, the bytes
vitals-sim sends on a pty for a few shipped scenarios (good frames, NIBP
cycles, garbage, damaged frames) and, when ../shared/captures is there,
excerpts of the real GE S/5 streams (a few frames each; the captures
themselves are never copied into the repository); for scenario, the shipped
scenarios; for config and profile, the shipped files.  Used by
`./run.sh fuzz`, and by hand to refresh tests/fuzz/corpus/ge-s5 (--commit).
"""
import argparse
import glob
import hashlib
import os
import select
import shutil
import subprocess
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))


def put(outdir, data, prefix):
    os.makedirs(outdir, exist_ok=True)
    name = "%s-%s" % (prefix, hashlib.sha1(data).hexdigest()[:16])
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def sim_stream(build, scenario, seconds, time_scale):
    """What vitals-sim writes on its pty in `seconds` of real time."""
    proc = subprocess.Popen([os.path.join(build, "sim", "vitals-sim"), "--protocol", "ge-s5",
                             "--scenario", scenario, "--time-scale", str(time_scale), "-q"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        path = proc.stdout.readline().strip()
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        data = bytearray()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                data += os.read(fd, 65536)
        os.close(fd)
        return bytes(data)
    finally:
        proc.terminate()
        proc.wait(5)


def frames(data):
    """Splits an escaped stream at flags: [(start, end)] of each 7E..7E span."""
    flags = [i for i, b in enumerate(data) if b == 0x7E]
    return [(a, b + 1) for a, b in zip(flags, flags[1:]) if b - a > 1]


def ge_s5_seeds(args, outdir):
    # The simulator: a few frames of each scenario that exercises the decoder.
    for scn in ("steady", "garbage", "sensor-off", "bp-surge", "stale-nibp", "desat-long"):
        data = sim_stream(args.build, scn, 1.5, 200)
        spans = frames(data)
        for i in range(0, min(len(spans), 6), 3):
            a = spans[i][0]
            b = spans[min(i + 2, len(spans) - 1)][1]
            put(outdir, data[a:b], "sim-" + scn)
    # Real monitors, when the captures are beside the repository.
    for path in sorted(glob.glob(os.path.join(args.captures or "", "ge-s5", "*.raw"))):
        data = open(path, "rb").read()
        spans = frames(data)
        step = max(1, len(spans) // 40)
        for i in range(0, len(spans), step):
            a, b = spans[i][0], spans[min(i + 1, len(spans) - 1)][1]
            put(outdir, data[a:b], "capture-" + os.path.basename(path)[:-4])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--captures")
    ap.add_argument("--source", default=os.path.join(HERE, "..", ".."))
    ap.add_argument("--commit", action="store_true",
                    help="write only simulator seeds, into tests/fuzz/corpus/ge-s5")
    args = ap.parse_args()
    if args.commit:
        args.captures = None
    src = args.source
    for target in ("ge-s5", "scenario", "config", "profile", "control"):
        dst = os.path.join(args.out, target)
        os.makedirs(dst, exist_ok=True)
        if not args.commit:
            for f in glob.glob(os.path.join(HERE, "corpus", target, "*")):
                shutil.copy(f, dst)
    ge_s5_seeds(args, os.path.join(args.out, "ge-s5"))
    if args.commit:
        return
    for f in glob.glob(os.path.join(src, "sim", "scenarios", "*.scn")):
        shutil.copy(f, os.path.join(args.out, "scenario"))
    shutil.copy(os.path.join(src, "config", "vitalsd.conf"), os.path.join(args.out, "config"))
    for f in glob.glob(os.path.join(src, "config", "profiles", "*.conf")):
        shutil.copy(f, os.path.join(args.out, "profile"))


if __name__ == "__main__":
    main()
