# SPDX-License-Identifier: BSD-2-Clause
"""vitalsctl's action verbs against a real vitalsd started the way systemd
starts it with vitalsd.socket: the listening socket passed as fd 3 with
LISTEN_FDS/LISTEN_PID (socket activation).  Checks the human sentences,
--json output, and that every exit code means what vitalsctl --help says:
0 done, 1 refused, 2 usage, 3 no daemon, 4 not allowed, 5 not found."""
import json
import os
import shutil
import socket
import subprocess

from harness import SOURCE, VITALSCTL, VITALSD, Daemon, check, finish, wait_for, workdir

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def complete(line):
    """What bash completion offers after typing line (the word being typed
    is the text after the last space)."""
    script = ('source %s; source %s/completions/vitalsctl; COMP_LINE="$1"; '
              'read -ra COMP_WORDS <<<"$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); '
              'COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_POINT=${#1}; '
              '_vitalsctl; printf "%%s\\n" "${COMPREPLY[@]}"' % (BASH_COMPLETION, SOURCE))
    e = dict(env, PATH=os.path.dirname(VITALSCTL) + ":" + os.environ["PATH"])
    p = subprocess.run(["/bin/bash", "-c", script, "bash", line], capture_output=True, text=True,
                       env=e, timeout=30)
    return sorted(w for w in p.stdout.split("\n") if w)

wd = workdir("vitalsctl")
os.chmod(wd, 0o755)
d = Daemon(wd, {"gone": {"driver": "ge-s5", "port": os.path.join(wd, "no-such-tty"),
                         "bed": "chair-3"}}, {"control_group": "users"})

# The service manager's part: bind and listen, then hand the socket over.
lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
lsock.bind(d.socket)
os.chmod(d.socket, 0o660)
lsock.listen(16)
fd = lsock.fileno()
log = open(d.log_path, "a")


def to_fd3():
    os.dup2(fd, 3)
    os.set_inheritable(3, True)


# sh sets LISTEN_PID to its own pid, then execs vitalsd, which keeps the pid.
proc = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", VITALSD,
                         "--config", d.config, "--state-dir", d.state_dir,
                         "--socket", os.path.join(wd, "not-this-one.sock")],
                        preexec_fn=to_fd3, pass_fds=(fd,), stdout=log, stderr=log,
                        stdin=subprocess.DEVNULL)
lsock.close()
env = dict(os.environ, VITALSD_SOCKET=d.socket)
# Another user may not be able to reach the build tree (a checkout under a
# 0700 directory): that user runs a copy from the world-readable workdir.
VITALSCTL_ANYONE = os.path.join(wd, "vitalsctl")
shutil.copy(VITALSCTL, VITALSCTL_ANYONE)
os.chmod(VITALSCTL_ANYONE, 0o755)


def ctl(*args, user=None):
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    exe = VITALSCTL_ANYONE if user == "nobody" else VITALSCTL
    p = subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=30,
                       env=env, preexec_fn=drop if user == "nobody" else None)
    return p.returncode, p.stdout, p.stderr


try:
    wait_for(lambda: ctl("status")[0] == 0 or proc.poll() is not None, 10, "vitalsd on the passed socket")
    check(proc.poll() is None, "vitalsd runs on the socket it was passed")
    check("control socket passed by the service manager" in open(d.log_path).read(),
          "vitalsd says it uses the passed socket")
    check(not os.path.exists(os.path.join(wd, "not-this-one.sock")),
          "it did not create a socket of its own")

    rc, out, err = ctl("status", "--json")
    st = json.loads(out)
    alarm = [a for a in st["alarms"] if a["condition"] == "DEVICE_DISCONNECTED"]
    check(rc == 0 and len(alarm) == 1, "status --json lists the DEVICE_DISCONNECTED alarm with its id")
    rc, out, err = ctl("status")
    check(rc == 0 and "ALARM **  medium DEVICE_DISCONNECTED (technical) active" in out
          and ("id %d" % alarm[0]["id"]) in out, "status shows the alarm, marked, with its id:\n" + out)

    # bash completion, with names from the running daemon
    if os.path.exists(BASH_COMPLETION):
        check(complete("vitalsctl se") == ["session"], "completes a verb")
        check(complete("vitalsctl session ") == ["--help", "list", "start", "stop"],
              "completes session actions: %r" % complete("vitalsctl session "))
        check(complete("vitalsctl mark ") == ["chair-3"], "completes bed names from the daemon: %r"
              % complete("vitalsctl mark "))
        check(complete("vitalsctl mark chair-3 inf") == ["infusion-end", "infusion-start"],
              "completes marker kinds")
        check(complete("vitalsctl ack ") == [str(alarm[0]["id"])], "completes alarm ids: %r"
              % complete("vitalsctl ack "))
        check(complete("vitalsctl export --format p") == ["pdf", "png"], "completes export formats")
    else:
        print("SKIP bash completion checks: %s is not installed" % BASH_COMPLETION)

    # usage errors: 2
    for args in (("ack",), ("ack", "x"), ("ack", "1", "2"), ("silence", "--seconds", "121"),
                 ("session",), ("session", "begin", "chair-3"), ("session", "start", "chair-3"),
                 ("mark", "chair-3"), ("frobnicate",)):
        rc, out, err = ctl(*args)
        check(rc == 2 and err, "vitalsctl %s: usage error, exit 2 (%d)" % (" ".join(args), rc))

    # not found: 5
    for args in (("ack", "99999"), ("mark", "chair-3", "note", "x"), ("session", "stop", "chair-3"),
                 ("session", "start", "chair-9", "--patient", "P-1"),
                 ("session", "start", "chair-3", "--patient", "P-1", "--profile", "nope")):
        rc, out, err = ctl(*args)
        check(rc == 5 and "vitalsd refused" in err, "vitalsctl %s: exit 5, says why: %s" % (" ".join(args), err.strip()))

    rc, out, err = ctl("session", "start", "chair-3", "--patient", "P-0007")
    check(rc == 0 and out.startswith("session ") and "started on chair-3 for P-0007" in out
          and "by root" in out, "session start says what it did and as whom: " + out.strip())
    rc, out, err = ctl("session", "start", "chair-3", "--patient", "P-0008")
    check(rc == 1 and "session-open" in err, "a second start is refused: exit 1")
    rc, out, err = ctl("mark", "chair-3", "infusion-start", "ketamine 0.5 mg/kg")
    check(rc == 0 and "phase infusion" in out, "mark infusion-start: " + out.strip())
    rc, out, err = ctl("mark", "chair-3", "dose", "--json")
    check(rc == 0 and json.loads(out)["marker"]["kind"] == "dose", "mark --json prints the reply")
    rc, out, err = ctl("mark", "chair-3", "bolus")
    check(rc == 1 and "bad-kind" in err, "an unknown marker kind is refused: exit 1")

    aid = alarm[0]["id"]
    rc, out, err = ctl("ack", str(aid))
    check(rc == 0 and out.strip() == "alarm %d acknowledged by root" % aid, "ack ID: " + out.strip())
    rc, out, err = ctl("ack", str(aid))
    check(rc == 1 and "already-acknowledged" in err, "acknowledging twice: exit 1")
    rc, out, err = ctl("ack", "--bed", "chair-3", "--json")
    check(rc == 0 and json.loads(out)["count"] == 0, "ack --bed with nothing left: count 0")
    rc, out, err = ctl("silence", "chair-3", "--seconds", "45")
    check(rc == 0 and "silenced on chair-3 for 45 s" in out, "silence one bed: " + out.strip())
    rc, out, err = ctl("status")
    check("SILENCED for" in out, "status shows the silence")
    rc, out, err = ctl("silence", "--json")
    check(rc == 0 and json.loads(out)["seconds"] == 120, "silence all beds: 120 s")

    # not allowed: 4 (needs root to become another user)
    if os.getuid() == 0:
        rc, out, err = ctl("ack", str(aid), user="nobody")
        check(rc == 4 and "console group" in err, "a user outside the group: exit 4: " + err.strip())
        rc, out, err = ctl("status", user="nobody")
        check(rc == 4 and "console group" in err, "status for a user outside the group: exit 4")
    else:
        print("SKIP exit code 4 check: switching to the user nobody needs root")

    rc, out, err = ctl("session", "stop", "chair-3", "--reason", "discharged")
    check(rc == 0 and "stopped by root" in out, "session stop: " + out.strip())
    rc, out, err = ctl("session", "list", "--state-dir", d.state_dir)
    lines = out.splitlines()
    check(rc == 0 and lines[0].split()[:3] == ["ID", "BED", "PATIENT"] and "P-0007" in lines[1]
          and "ended" in lines[1], "session list shows the session:\n" + out)
finally:
    proc.terminate()
    proc.wait(10)

check(os.path.exists(d.socket), "a passed socket is not unlinked at exit (systemd owns it)")
rc, out, err = ctl("status")
check(rc == 3 and "not running" in err, "no daemon: exit 3")
rows = d.query("SELECT kind, actor FROM markers ORDER BY id")
check(rows == [("infusion-start", "root"), ("dose", "root")] or os.getuid() != 0,
      "the markers are in the store under the user's name: %r" % rows)
finish()
