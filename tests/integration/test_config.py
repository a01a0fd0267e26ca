# SPDX-License-Identifier: BSD-2-Clause
"""A clinic's IT person edits vitalsd.conf: every mistake is named by file,
line and key, `--check-config` exits non-zero on any of them and zero on a
good file, and the shipped example config is valid."""
import os
import subprocess

from harness import SOURCE, VITALSD, check, finish, workdir

GOOD = """[daemon]
tick = 1
session_idle_timeout = 600

[device bed1]
driver = ge-s5
port = /dev/ttyUSB0
bed = chair-1
baud = 115200
interval = 10
"""

# (what a user would have typed, the line, the text the error must contain)
BAD = [
    ("unknown key", GOOD.replace("tick = 1", "tik = 1"), 2, "tik: unknown key"),
    ("tick out of range", GOOD.replace("tick = 1", "tick = 99"), 2, "tick: must be seconds"),
    ("unsupported baud", GOOD.replace("baud = 115200", "baud = 12345"), 9, "baud: unsupported"),
    ("unknown driver", GOOD.replace("driver = ge-s5", "driver = ge-s6"), 6, "unknown driver \"ge-s6\""),
    ("missing port", GOOD.replace("port = /dev/ttyUSB0\n", ""), 5, "port: missing"),
    ("missing bed", GOOD.replace("bed = chair-1\n", ""), 5, "bed: missing"),
    ("unknown section", GOOD + "\n[devise bed2]\ndriver = ge-s5\n", 12, "unknown section [devise bed2]"),
    ("syntax error", GOOD + "\nthis line has no equals sign\n", 12, "syntax error"),
    ("driver option out of range", GOOD.replace("interval = 10", "interval = 2"), 10, "interval"),
    ("unknown driver option", GOOD + "speed = 3\n", 11, "speed: unknown key for driver ge-s5"),
    ("duplicate key", GOOD + "interval = 5\n", 11, "set twice"),
    ("decode-error burst out of range", GOOD.replace("tick = 1", "decode_error_burst = 101"), 2,
     "decode_error_burst: must be 0 (off) or a whole number"),
    ("decode-error window of no time", GOOD.replace("tick = 1", "decode_error_window = 0"), 2,
     "decode_error_window: must be seconds between 1 and 600"),
]


def run_check(text, name="vitalsd.conf"):
    d = workdir("config")
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([VITALSD, "--config", path, "--check-config"], capture_output=True,
                       text=True, timeout=10)
    return path, p


path, p = run_check(GOOD)
check(p.returncode == 0, "a good config passes --check-config (rc=%d %s)" % (p.returncode, p.stderr.strip()))

for what, text, line, needle in BAD:
    path, p = run_check(text)
    where = "%s:%d:" % (path, line)
    check(p.returncode == 1, "%s: --check-config exits 1 (got %d)" % (what, p.returncode))
    check(where in p.stderr and needle in p.stderr,
          "%s: error names %s and says %r (stderr: %s)" % (what, where, needle, p.stderr.strip()))

# A device in devices.d/ is read, and its errors name that file.
d = workdir("config-d")
os.makedirs(os.path.join(d, "devices.d"))
with open(os.path.join(d, "vitalsd.conf"), "w") as f:
    f.write("[daemon]\ntick = 1\n")
with open(os.path.join(d, "devices.d", "chair2.conf"), "w") as f:
    f.write("[device mon2]\ndriver = ge-s5\nport = /dev/ttyS1\nbed = chair-2\nparity = sometimes\n")
p = subprocess.run([VITALSD, "--config", os.path.join(d, "vitalsd.conf"), "--check-config"],
                   capture_output=True, text=True, timeout=10)
check(p.returncode == 1 and "devices.d/chair2.conf:5: parity" in p.stderr,
      "an error in devices.d names that file and line (%s)" % p.stderr.strip())

# The shipped example configuration is valid.
example = os.path.join(SOURCE, "config", "vitalsd.conf")
p = subprocess.run([VITALSD, "--config", example, "--check-config"], capture_output=True,
                   text=True, timeout=10)
check(p.returncode == 0, "config/vitalsd.conf as shipped is valid (%s)" % p.stderr.strip())

# A missing file is an error, not a silent default.
p = subprocess.run([VITALSD, "--config", "/nonexistent/vitalsd.conf", "--check-config"],
                   capture_output=True, text=True, timeout=10)
check(p.returncode == 1 and "cannot read" in p.stderr, "a missing config file is an error")

finish()
