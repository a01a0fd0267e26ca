# SPDX-License-Identifier: BSD-2-Clause
"""A power cut or a crash mid-stream: vitalsd is killed with SIGKILL while a
simulated monitor streams; after a restart the session log passes
PRAGMA integrity_check, every reading committed before the kill is still
there, and the restarted daemon continues the same session."""
import os
import signal
import time

from harness import Daemon, Sim, check, finish, wait_for, workdir

wd = workdir("crash")
sim = Sim(wd, "mon", ["--scenario", "steady", "--time-scale", "20"])
d = Daemon(wd, {"mon": {"driver": "ge-s5", "port": sim.port, "bed": "chair-1"}},
           {"tick": "0.1"}).start()
try:
    wait_for(lambda: d.query("SELECT COUNT(*) FROM readings")[0][0] >= 60, 60,
             "60 committed readings")
    # Everything a reader can see is committed.
    before = d.query("SELECT id, parameter, value, wall_ns FROM readings ORDER BY id")
    session_before = d.query("SELECT id FROM sessions")
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    check(d.proc.returncode == -signal.SIGKILL, "vitalsd was killed with SIGKILL")

    integrity = d.query("PRAGMA integrity_check")
    check(integrity == [("ok",)], "integrity_check after SIGKILL: %r" % (integrity,))
    after = d.query("SELECT id, parameter, value, wall_ns FROM readings ORDER BY id")
    after_set = set(after)
    lost = [r for r in before if r not in after_set]
    check(not lost, "all %d readings committed before the kill survive (%d lost)" %
          (len(before), len(lost)))

    d.logf.close()
    d.start()
    n0 = len(after)
    wait_for(lambda: d.query("SELECT COUNT(*) FROM readings")[0][0] > n0 + 20, 60,
             "new readings after the restart")
    sessions = d.query("SELECT id, ended_ns FROM sessions")
    check(len(sessions) == 1 and sessions[0][1] is None and
          [(sessions[0][0],)] == session_before,
          "the restarted daemon continues the open session (%r)" % (sessions,))
    rc = d.stop()
    check(rc == 0, "SIGTERM exits 0 (%r)" % rc)
    check(d.query("PRAGMA integrity_check") == [("ok",)], "integrity_check after SIGTERM")
finally:
    if d.proc.poll() is None:
        d.proc.kill()
    sim.stop()

finish()
