# SPDX-License-Identifier: BSD-2-Clause
"""A power cut or a crash mid-stream: vitalsd is killed with SIGKILL while a
simulated monitor streams; after a restart the session log passes
PRAGMA integrity_check, every reading committed before the kill is still
there, and the restarted daemon continues the same session.

Then 20 more kills at random moments under load (16 monitors at 50 records
per second each, commits every 0.1 s, so kills land inside commits too):
after each, integrity_check is ok, every reading a reader had seen committed
just before the kill is still there unchanged, and no session is split."""
import os
import random
import signal
import time

from harness import Daemon, Pump, Sim, check, finish, wait_for, workdir

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

# --- 20 kills at random points under load ---------------------------------
KILLS, BEDS = 20, 16
rng = random.Random(20)
wd = workdir("killstorm")
pump = Pump(BEDS, 50)
d = Daemon(wd, {"mon-%02d" % i: {"driver": "ge-s5", "port": p, "bed": "bed-%02d" % i}
                for i, p in enumerate(pump.ports, 1)}, {"tick": "0.1"}).start()
pump.go()
ok_integrity = ok_kept = ok_sessions = 0
try:
    wait_for(lambda: d.query("SELECT COUNT(*) FROM sessions")[0][0] == BEDS, 20,
             "every bed's session")
    for k in range(KILLS):
        time.sleep(rng.uniform(0.2, 1.2))
        # What a reader sees committed at this instant, then the kill at once.
        con_rows = d.query("SELECT MAX(id), COUNT(*), SUM(wall_ns % 1000000007), TOTAL(value) FROM readings")
        top, n, sum_wall, total = con_rows[0]
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.logf.close()
        integrity = d.query("PRAGMA integrity_check")
        ok_integrity += integrity == [("ok",)]
        after = d.query("SELECT COUNT(*), SUM(wall_ns % 1000000007), TOTAL(value) FROM readings WHERE id <= ?",
                        (top,))[0]
        ok_kept += after == (n, sum_wall, total)
        if after != (n, sum_wall, total):
            print("kill %d: before %r, after %r" % (k + 1, (n, sum_wall, total), after))
        sessions = d.query("SELECT COUNT(*), COUNT(DISTINCT bed), SUM(ended_ns IS NULL) "
                           "FROM sessions")[0]
        ok_sessions += sessions == (BEDS, BEDS, BEDS)
        d.start()
    total_rows = d.query("SELECT COUNT(*) FROM readings")[0][0]
    check(ok_integrity == KILLS, "integrity_check ok after %d of %d kills" % (ok_integrity, KILLS))
    check(ok_kept == KILLS, "every committed reading survived %d of %d kills (%d readings in all)" %
          (ok_kept, KILLS, total_rows))
    check(ok_sessions == KILLS, "no session split or lost after %d of %d kills" %
          (ok_sessions, KILLS))
    n0 = d.query("SELECT COUNT(*) FROM readings")[0][0]
    wait_for(lambda: d.query("SELECT COUNT(*) FROM readings")[0][0] > n0 + 1000, 20,
             "logging after the last restart")
    check(True, "the last restart logs again")
finally:
    rc = d.stop()
    pump.stop()
check(rc == 0, "SIGTERM exits 0 after the storm (%r)" % rc)
finish()
