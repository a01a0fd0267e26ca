# SPDX-License-Identifier: BSD-2-Clause
"""pkgtest.py — what the packaging tests share: the integration harness's
check/finish/skip, running commands with their output shown, installing
the build into a scratch root, reading a scratch root's user database."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import BUILD, SOURCE, check, finish, skip  # noqa: E402,F401


def run(cmd, env=None, cwd=None, timeout=600, show=None):
    """Runs cmd; returns (returncode, combined output), printing the output
    (only the lines show(line) accepts, when given)."""
    e = dict(os.environ)
    e.update(env or {})
    e = {k: v for k, v in e.items() if v is not None}  # None: unset
    print("$ " + " ".join(cmd))
    p = subprocess.run(cmd, env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    out = p.stdout
    lines = [line for line in out.rstrip("\n").split("\n") if out.strip() and
             (show is None or show(line))]
    if lines:
        print("\n".join("  | " + line for line in lines))
    return p.returncode, out


def need(*programs):
    missing = [p for p in programs if not shutil.which(p)]
    if missing:
        skip("not installed: " + ", ".join(missing) + " (./run.sh installs them)")


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    return None


def add_distribution_units(root):
    """Copies the host's systemd targets and slices into root, which the
    units depend on (sysinit.target, sockets.target, multi-user.target,
    system.slice...), as they are on every system the package lands on."""
    dest = os.path.join(root, "usr", "lib", "systemd", "system")
    os.makedirs(dest, exist_ok=True)
    for src in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if not os.path.isdir(src):
            continue
        for f in os.listdir(src):
            if f.endswith((".target", ".slice")) and not os.path.exists(os.path.join(dest, f)):
                p = os.path.join(src, f)
                if os.path.isfile(p) and not os.path.islink(p):
                    shutil.copy(p, dest)


def db_entries(root, name):
    """{name: fields} of root's /etc/passwd or /etc/group."""
    out = {}
    try:
        with open(os.path.join(root, "etc", name)) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                out[fields[0]] = fields
    except FileNotFoundError:
        pass
    return out


def verify_units(root, units, manpath):
    """systemd-analyze verify inside root: every directive known, every
    dependency found, ExecStart= executable, Documentation= man pages
    present.  Passes only with no output at all (unknown keys are warnings)."""
    rc, out = run(["systemd-analyze", "verify", "--root=" + root] + units,
                  env={"MANPATH": manpath, "SYSTEMD_LOG_COLOR": "0"})
    return rc == 0 and not out.strip(), out


def exposure(root, unit):
    """The overall exposure of systemd-analyze security --offline=true."""
    rc, out = run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                   "--root=" + root, unit], env={"SYSTEMD_COLORS": "0"},
                 show=lambda line: "\u2717" in line or "Overall" in line)
    for line in out.split("\n"):
        if "Overall exposure level for " + unit in line:
            return float(line.split(":")[1].split()[0]), out
    return None, out
