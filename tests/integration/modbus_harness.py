# SPDX-License-Identifier: BSD-2-Clause
"""modbus_harness.py — real Modbus peers for integration tests: vitals-sim
as a Modbus TCP server or RTU slave on a pseudo-terminal, and Debian's
python3-pymodbus as a third-party TCP server (pymodbus_peer.py); plus the
control-socket subscriber the latency test times events with."""
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import time

from harness import SOURCE, VITALS_SIM, Sim, unbatch, vitalsctl

PYTHON = "/usr/bin/python3"  # Debian's, where python3-pymodbus lives
MAPS = os.path.join(SOURCE, "config", "modbus")


class ModbusSim(Sim):
    """vitals-sim --protocol modbus-tcp|modbus-rtu; .port is what a device
    section's `port` takes (tcp://HOST:PORT, or the pty's stable link).
    log() and stop() are harness.Sim's."""

    def __init__(self, workdir, name, protocol, args):
        cmd = [VITALS_SIM, "--protocol", protocol] + list(args)
        self.link = None
        if protocol == "modbus-rtu":
            self.link = os.path.join(workdir, name + ".tty")
            cmd += ["--link", self.link]
        self.stderr_path = os.path.join(workdir, name + ".sim.log")
        self.stderr = open(self.stderr_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, text=True)
        self.endpoint = self.proc.stdout.readline().strip()
        if not self.endpoint:
            raise RuntimeError("vitals-sim printed no endpoint: " + self.log())
        self.port = self.link or self.endpoint


class PymodbusPeer:
    """Debian's pymodbus as a Modbus TCP server, driven line by line."""

    def __init__(self, workdir):
        self.stderr = open(os.path.join(workdir, "pymodbus.log"), "w")
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(os.path.dirname(__file__), "pymodbus_peer.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.port = self.proc.stdout.readline().strip()
        if not self.port.startswith("tcp://"):
            raise RuntimeError("pymodbus peer did not start: " +
                               open(os.path.join(workdir, "pymodbus.log")).read())

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def pymodbus_available():
    return subprocess.run([PYTHON, "-c", "import pymodbus.server.async_io"],
                          capture_output=True).returncode == 0


def install_maps(daemon):
    """The shipped example maps, where vitalsd looks: modbus/ beside the config."""
    shutil.copytree(MAPS, os.path.join(daemon.confdir, "modbus"), dirs_exist_ok=True)


def export_json(daemon, bed):
    p = vitalsctl("export", "--state-dir", daemon.state_dir, "--bed", bed, "--format", "json")
    return json.loads(p.stdout)


def export_csv(daemon, bed, what=None):
    args = ["export", "--state-dir", daemon.state_dir, "--bed", bed, "--format", "csv"]
    if what:
        args += ["--what", what]
    return list(csv.DictReader(io.StringIO(vitalsctl(*args).stdout)))


def alarm_rows(daemon, condition):
    """(state, detail) of every alarm_events row of a condition, in order."""
    return daemon.query("SELECT bed, state, detail FROM alarm_events WHERE condition = ? "
                        "ORDER BY id", (condition,))


def modbus_counters(daemon, name):
    dev = daemon.device(name)
    return (dev or {}).get("modbus") or {}


class Subscriber:
    """A control-socket subscriber that stamps every pushed event with the
    test's own CLOCK_MONOTONIC when it arrives."""

    def __init__(self, socket_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(socket_path)
        self.sock.send(json.dumps({"type": "subscribe", "id": 1}).encode())
        self.sock.settimeout(0.2)
        self.events = []

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not data:
                break
            now = time.monotonic()
            for msg in unbatch(json.loads(data)):
                if msg.get("type") in ("readings", "alarm", "device", "session", "marker"):
                    self.events.append((now, msg))

    def close(self):
        self.sock.close()
