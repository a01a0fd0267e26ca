# SPDX-License-Identifier: BSD-2-Clause
"""The Debian package: packaging/debian/ turned into a .deb by
`dpkg-buildpackage -us -uc -b` on a copy of the source tree, then

  * lintian reports no error (warnings and notes are printed);
  * dpkg-deb -c lists every installed file (printed) and the expected ones
    are there; /etc/vitalsd/ files are conffiles;
  * (as root) the package installs into a scratch root with dpkg --root,
    running its maintainer scripts chrootless as Debian's DPKG_ROOT support
    allows: the vitalsd user and vitals group are created, vitalsd.service
    and vitalsd.socket enabled, /var/lib/vitalsd and /run/vitalsd created
    0750 vitalsd:vitals; systemd-analyze verify passes on the installed units;
    a purge removes the configuration and the enablement but keeps the
    session log.

The package build runs the package's own tests (dh_auto_test: the meson
suite without this "deb" suite), so this shows they pass in a package
build too; it takes about 90 s.  VITALS_DEB_NOCHECK=1 builds with
DEB_BUILD_OPTIONS=nocheck instead, for a quicker run while working on the
packaging.
"""
import glob
import os
import re
import shutil
import stat
import tempfile

from pkgtest import (SOURCE, add_distribution_units, check, db_entries, finish, need, run,
                     verify_units)

need("dpkg-buildpackage", "dh", "lintian", "dpkg-deb", "systemd-analyze")

work = tempfile.mkdtemp(prefix="vitals-deb-")
# The package's tests run some programs as another user (exit codes of a
# refused client): the build tree must be reachable, as a checkout is.
os.chmod(work, 0o755)
src = os.path.join(work, "vitals-logger")
try:
    top = os.path.realpath(SOURCE)

    def ignore(d, names):
        # Build trees and VCS data, and a stale top-level debian/ if any.
        skipped = {n for n in names if n in (".git", "build") or n.startswith(("build-", "obj-"))}
        if os.path.realpath(d) == top and "debian" in names:
            skipped.add("debian")
        return skipped

    shutil.copytree(SOURCE, src, symlinks=True, ignore=ignore)
    shutil.copytree(os.path.join(src, "packaging", "debian"), os.path.join(src, "debian"))

    env = {"DEB_BUILD_OPTIONS": "nocheck" if os.environ.get("VITALS_DEB_NOCHECK") else ""}
    # The package's tests find their build tree by themselves: not ours.
    env.update({k: None for k in os.environ if k.startswith("VITALS_")})
    rc, out = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                  show=lambda line: line.startswith(("dpkg-", " dpkg-", "dh ", "   dh_auto",
                                                     "Ok:", "Fail:", "Skipped:")) or
                  " / " in line or "error" in line.lower() or "warning" in line.lower())
    debs = glob.glob(os.path.join(work, "vitals-logger_*.deb"))
    changes = glob.glob(os.path.join(work, "vitals-logger_*.changes"))
    if not check(rc == 0 and len(debs) == 1 and changes,
                 "dpkg-buildpackage -us -uc -b builds vitals-logger_*.deb"):
        print(out[-6000:])
        finish()
    deb = debs[0]
    if env["DEB_BUILD_OPTIONS"] != "nocheck":
        ran = re.findall(r"^Ok:\s+(\d+)", out, re.M)
        failed = re.findall(r"^Fail:\s+(\d+)", out, re.M)
        check(ran and int(ran[-1]) >= 8 and failed and int(failed[-1]) == 0,
              "the package build ran its unit tests: %s passed, %s failed" %
              (ran[-1] if ran else "?", failed[-1] if failed else "?"))

    rc, out = run(["lintian", "--display-info", "--pedantic", "--tag-display-limit", "0",
                   changes[0]])
    errors = [line for line in out.split("\n") if line.startswith("E: ")]
    check(rc in (0, 1) and not errors, "lintian: no errors (%d)" % len(errors))

    rc, listing = run(["dpkg-deb", "-c", deb])
    files = {line.split(None, 5)[5].split(" -> ")[0].lstrip(".") for line in listing.split("\n")
             if line.strip()}
    expected = [
        "/usr/sbin/vitalsd", "/usr/bin/vitalsctl", "/usr/bin/vitals-sim",
        "/lib/systemd/system/vitalsd.service", "/lib/systemd/system/vitalsd.socket",
        "/usr/lib/sysusers.d/vitalsd.conf", "/usr/lib/tmpfiles.d/vitalsd.conf",
        "/usr/lib/modules-load.d/vitalsd.conf",
        "/etc/vitalsd/vitalsd.conf", "/etc/vitalsd/profiles/ketamine-infusion.conf",
        "/etc/vitalsd/devices.d/example-ge-s5.conf.example",
        "/etc/vitalsd/devices.d/example-modbus.conf.example",
        "/etc/vitalsd/modbus/gateway-int16.conf", "/etc/vitalsd/modbus/gateway-float32.conf",
        "/usr/share/man/man8/vitalsd.8.gz", "/usr/share/man/man5/vitalsd.conf.5.gz",
        "/usr/share/man/man1/vitalsctl.1.gz", "/usr/share/man/man1/vitals-sim.1.gz",
        "/usr/share/doc/vitals-logger/copyright",
        "/usr/share/doc/vitals-logger/examples/60-vitals-serial.rules.example",
        "/usr/share/vitals-logger/scenarios/ketamine-session.scn",
        "/usr/share/bash-completion/completions/vitalsctl",
    ]
    missing = [f for f in expected if f not in files]
    check(not missing, "the package holds the programs, units, sysusers/tmpfiles, config, "
          "man pages and scenarios (missing: %s)" % missing)

    ctl = os.path.join(work, "control")
    run(["dpkg-deb", "-e", deb, ctl])
    with open(os.path.join(ctl, "conffiles")) as f:
        conffiles = sorted(f.read().split())
    check(conffiles == ["/etc/vitalsd/devices.d/example-ge-s5.conf.example",
                        "/etc/vitalsd/devices.d/example-modbus.conf.example",
                        "/etc/vitalsd/modbus/gateway-float32.conf",
                        "/etc/vitalsd/modbus/gateway-int16.conf",
                        "/etc/vitalsd/profiles/ketamine-infusion.conf",
                        "/etc/vitalsd/vitalsd.conf"],
          "/etc/vitalsd files are conffiles: %s" % conffiles)

    if os.geteuid() != 0:
        print("SKIP part: installing into a scratch root with dpkg --root needs root "
              "(not counted as passed)")
        finish()

    root = os.path.join(work, "root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "usr/sbin", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    # Never start anything on the host: deb-systemd-invoke asks the root's
    # policy-rc.d first, and 101 means "not allowed".
    with open(os.path.join(root, "usr/sbin/policy-rc.d"), "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(os.path.join(root, "usr/sbin/policy-rc.d"), 0o755)
    dpkg = ["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends",
            "--log=/dev/null"]
    rc, _ = run(dpkg + ["-i", deb])
    check(rc == 0, "dpkg --root installs the package, maintainer scripts included")

    users, groups = db_entries(root, "passwd"), db_entries(root, "group")
    check("vitalsd" in users and "vitals" in groups and
          users["vitalsd"][3] == groups["vitals"][2],
          "postinst created the vitalsd user with primary group vitals")
    check("vitalsd" in groups.get("dialout", ["", "", "", ""])[3].split(","),
          "vitalsd is in dialout")
    for link in ("etc/systemd/system/multi-user.target.wants/vitalsd.service",
                 "etc/systemd/system/sockets.target.wants/vitalsd.socket"):
        p = os.path.join(root, link)
        check(os.path.islink(p) and os.path.exists(os.path.join(root, os.readlink(p).lstrip("/"))),
              "enabled on install: /%s" % link)
    for d in ("var/lib/vitalsd", "run/vitalsd"):
        p = os.path.join(root, d)
        st = os.stat(p) if os.path.exists(p) else None
        check(st and stat.S_IMODE(st.st_mode) == 0o750 and
              str(st.st_uid) == users.get("vitalsd", [""] * 3)[2] and
              str(st.st_gid) == groups.get("vitals", [""] * 3)[2],
              "/%s is 0750 vitalsd:vitals" % d)

    add_distribution_units(root)
    ok, _ = verify_units(root, ["/lib/systemd/system/vitalsd.service",
                                "/lib/systemd/system/vitalsd.socket"],
                         os.path.join(root, "usr/share/man"))
    check(ok, "systemd-analyze verify passes on the installed units")

    # A session log, then a purge: the records stay.
    with open(os.path.join(root, "var/lib/vitalsd/vitals.db"), "w") as f:
        f.write("records\n")
    rc, _ = run(dpkg + ["--purge", "vitals-logger"])
    check(rc == 0, "dpkg --purge")
    check(not os.path.exists(os.path.join(root, "etc/vitalsd/vitalsd.conf")) and
          not os.path.lexists(os.path.join(
              root, "etc/systemd/system/multi-user.target.wants/vitalsd.service")),
          "purge removes the configuration and the enablement")
    check(os.path.exists(os.path.join(root, "var/lib/vitalsd/vitals.db")),
          "purge keeps the session log /var/lib/vitalsd/vitals.db")
finally:
    shutil.rmtree(work, ignore_errors=True)

finish()
