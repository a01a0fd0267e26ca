# SPDX-License-Identifier: BSD-2-Clause
"""The service files as `meson install` puts them into a scratch root
(DESTDIR), checked with systemd's own tools, none of which needs a running
systemd:

  * systemd-analyze verify: vitalsd.service and vitalsd.socket load with no
    warning, their dependencies resolve, ExecStart= is executable and every
    Documentation= man page is installed;
  * systemd-analyze security --offline=true: vitalsd.service exposure <= 2.0;
  * modules-load.d names the USB-serial and CDC-ACM drivers, so that
    DeviceAllow=char-ttyUSB/char-ttyACM resolve at service start;
  * systemd-sysusers --root and systemd-tmpfiles --root find our files in
    the directories they search and create the vitals group, the vitalsd
    user (primary group vitals, in dialout) and /run/vitalsd and
    /var/lib/vitalsd 0750 vitalsd:vitals;
  * every man page formats without a groff warning.
"""
import os
import shutil
import subprocess
import tempfile

from pkgtest import (BUILD, add_distribution_units, check, db_entries, exposure, find, finish,
                     need, run, verify_units)

EXPOSURE_MAX = 2.0

need("systemd-analyze", "systemd-sysusers", "systemd-tmpfiles", "man")
root = tempfile.mkdtemp(prefix="vitals-units-")
try:
    rc, _ = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", root])
    check(rc == 0, "meson install --destdir %s" % root)

    service = find(root, "vitalsd.service")
    socket_unit = find(root, "vitalsd.socket")
    man8 = find(root, "vitalsd.8")
    check(service and socket_unit and os.path.dirname(service) == os.path.dirname(socket_unit),
          "vitalsd.service and vitalsd.socket installed side by side (%s)" % service)
    pages = {name: find(root, name) for name in
             ("vitalsd.8", "vitalsd.conf.5", "vitalsctl.1", "vitals-sim.1")}
    check(all(pages.values()), "man pages installed: %s" % sorted(n for n, p in pages.items() if p))
    unitdir = "/" + os.path.relpath(os.path.dirname(service), root)
    rc, paths = run(["systemd-analyze", "unit-paths"], show=lambda line: False)
    check(unitdir in paths.split("\n"),
          "units in a directory systemd loads units from (%s)" % unitdir)

    modules = [
        p for p in (os.path.join(root, d.lstrip("/"), "vitalsd.conf") for d in
                    ("/usr/lib/modules-load.d", "/usr/local/lib/modules-load.d",
                     "/lib/modules-load.d")) if os.path.exists(p)]
    check(modules and "usbserial" in open(modules[0]).read().split() and
          "cdc_acm" in open(modules[0]).read().split(),
          "modules-load.d loads usbserial and cdc_acm at boot (%s)" % modules)

    add_distribution_units(root)
    manpath = os.path.dirname(os.path.dirname(man8))
    ok, out = verify_units(root, [unitdir + "/vitalsd.service", unitdir + "/vitalsd.socket"],
                           manpath)
    check(ok, "systemd-analyze verify passes with no warning")

    level, out = exposure(root, "vitalsd.service")
    check(level is not None and level <= EXPOSURE_MAX,
          "systemd-analyze security --offline=true: exposure %s <= %.1f" % (level, EXPOSURE_MAX))

    # sysusers.d: by name, as the package's postinst calls it, so that the
    # file must be where systemd-sysusers looks.
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    rc, _ = run(["systemd-sysusers", "--root=" + root, "vitalsd.conf"])
    users, groups = db_entries(root, "passwd"), db_entries(root, "group")
    check(rc == 0 and "vitalsd" in users and "vitals" in groups,
          "systemd-sysusers creates the vitalsd user and the vitals group")
    if "vitalsd" in users and "vitals" in groups:
        check(users["vitalsd"][3] == groups["vitals"][2],
              "vitalsd's primary group is vitals (gid %s)" % users["vitalsd"][3])
        check(users["vitalsd"][5] == "/var/lib/vitalsd" and
              users["vitalsd"][6].endswith("nologin"),
              "home /var/lib/vitalsd, no login shell (%r)" % users["vitalsd"][5:])
        check("dialout" in groups and "vitalsd" in groups["dialout"][3].split(","),
              "vitalsd is in dialout (%r)" % groups.get("dialout"))

    if os.geteuid() != 0:
        print("SKIP part: systemd-tmpfiles --create needs root to give the directories "
              "to vitalsd (not counted as passed)")
    else:
        rc, _ = run(["systemd-tmpfiles", "--root=" + root, "--create", "vitalsd.conf"])
        check(rc == 0, "systemd-tmpfiles --create vitalsd.conf")
        for d in ("run/vitalsd", "var/lib/vitalsd"):
            try:
                st = os.stat(os.path.join(root, d))
            except FileNotFoundError:
                check(False, "/%s created" % d)
                continue
            check(oct(st.st_mode & 0o7777) == "0o750" and
                  str(st.st_uid) == users.get("vitalsd", [None] * 3)[2] and
                  str(st.st_gid) == groups.get("vitals", [None] * 3)[2],
                  "/%s is 0750 vitalsd:vitals (%o %d:%d)" % (d, st.st_mode & 0o7777, st.st_uid,
                                                            st.st_gid))

    for name, path in pages.items():
        if not path:
            continue
        p = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
        check(p.returncode == 0 and not p.stderr.strip() and len(p.stdout) > 1000,
              "man %s formats without warnings%s" % (name, (": " + p.stderr) if p.stderr else ""))
finally:
    shutil.rmtree(root, ignore_errors=True)

finish()
