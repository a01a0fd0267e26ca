# SPDX-License-Identifier: BSD-2-Clause
"""Modbus devices and register maps in a clinic's configuration: the
shipped example maps and device file are valid; every mistake in a device
section or a map is named by file, line and key and makes --check-config
exit 1; --check-config checks every map in modbus/, used or not; and
--list-drivers shows the modbus driver and its keys."""
import os
import shutil
import subprocess

from harness import SOURCE, VITALSD, check, finish, workdir

MAPS = os.path.join(SOURCE, "config", "modbus")

DEVICE = """[daemon]
tick = 1

[device gw]
driver = modbus
port = tcp://192.0.2.10:502
bed = chair-1
map = gateway-int16
slave = 1
"""

RTU = """
[device line-a]
driver = modbus
port = /dev/ttyUSB3
bed = chair-2
map = gateway-float32
slave = 3
baud = 9600
"""


def check_config(text, maps=None):
    d = workdir("modbus-config")
    os.makedirs(os.path.join(d, "modbus"))
    for name in os.listdir(MAPS):
        shutil.copy(os.path.join(MAPS, name), os.path.join(d, "modbus", name))
    for name, body in (maps or {}).items():
        with open(os.path.join(d, "modbus", name), "w") as f:
            f.write(body)
    path = os.path.join(d, "vitalsd.conf")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([VITALSD, "--config", path, "--check-config"], capture_output=True,
                       text=True, timeout=10)
    return d, p


d, p = check_config(DEVICE + RTU)
check(p.returncode == 0, "TCP and RTU devices with the shipped maps are valid (rc=%d %s)"
      % (p.returncode, p.stderr.strip()))

# The shipped device example, with its maps beside it.
d = workdir("modbus-example")
shutil.copytree(os.path.join(SOURCE, "config", "modbus"), os.path.join(d, "modbus"))
os.makedirs(os.path.join(d, "devices.d"))
shutil.copy(os.path.join(SOURCE, "config", "devices.d", "example-modbus.conf.example"),
            os.path.join(d, "devices.d", "example-modbus.conf"))
with open(os.path.join(d, "vitalsd.conf"), "w") as f:
    f.write("[daemon]\n")
p = subprocess.run([VITALSD, "--config", os.path.join(d, "vitalsd.conf"), "--check-config"],
                   capture_output=True, text=True, timeout=10)
check(p.returncode == 0 and "2 devices" in p.stdout,
      "config/devices.d/example-modbus.conf.example is valid (%s %s)"
      % (p.stdout.strip(), p.stderr.strip()))

BAD_MAP = """[map]
poll_interval = 1

[SPO2]
function = holding
address = 0
type = uint16
unit = %

[HR]
function = holding
address = 0
type = int24
unit = /min

[PR]
function = holding
address = 0
type = uint16
unit = /min

[RR]
function = holding
address = 5
type = uint16
unit = kPa
"""

# (what, config, extra maps, file the error names, line, text)
BAD = [
    ("missing map", DEVICE.replace("map = gateway-int16\n", ""), None, "vitalsd.conf", 4,
     "map: missing in [device gw]"),
    ("no such map", DEVICE.replace("gateway-int16", "gateway-x"), None, "vitalsd.conf", 8,
     "map: no register map \"gateway-x\""),
    ("bad port", DEVICE.replace("tcp://192.0.2.10:502", "tcp://192.0.2.10"), None, "vitalsd.conf",
     4, "port: must be tcp://HOST:PORT"),
    ("line settings on TCP", DEVICE + "baud = 9600\n", None, "vitalsd.conf", 10,
     "baud: applies to an RTU line"),
    ("slave out of range", DEVICE.replace("slave = 1", "slave = 300"), None, "vitalsd.conf", 9,
     "slave: must be a whole number from 0 to 255"),
    ("RTU broadcast address", DEVICE + RTU.replace("slave = 3", "slave = 0"), None,
     "vitalsd.conf", 16, "slave: an RTU slave address is 1 to 247"),
    ("two devices, one address", DEVICE + RTU + RTU.replace("line-a", "line-b"), None,
     "vitalsd.conf", 24, "both use address 3 on /dev/ttyUSB3"),
    ("one line, two speeds", DEVICE + RTU + RTU.replace("line-a", "line-b").replace(
        "slave = 3", "slave = 4").replace("9600", "19200"), None, "vitalsd.conf", 19,
     "shares the line /dev/ttyUSB3"),
    ("unknown type", DEVICE.replace("gateway-int16", "bad"), {"bad.conf": BAD_MAP}, "bad.conf",
     13, "type: unknown type \"int24\""),
    ("overlap", DEVICE.replace("gateway-int16", "bad"), {"bad.conf": BAD_MAP}, "bad.conf", 18,
     "address: [PR] holding registers 0-0 overlap [SPO2]"),
    ("unit it cannot convert", DEVICE.replace("gateway-int16", "bad"), {"bad.conf": BAD_MAP},
     "bad.conf", 26, "unit: RR is recorded in /min and \"kPa\" cannot be converted to it"),
    ("a broken map no device uses", DEVICE, {"unused.conf": BAD_MAP}, "unused.conf", 13,
     "type: unknown type"),
]

for what, text, maps, fname, line, needle in BAD:
    d, p = check_config(text, maps)
    where = "%s:%d:" % (os.path.join(d, fname if fname == "vitalsd.conf" else "modbus/" + fname),
                        line)
    ok = p.returncode == 1 and any(where in l and needle in l for l in p.stderr.splitlines())
    check(ok, "%s: rc 1 and \"%s %s\"%s" % (what, where.rsplit("/", 1)[1], needle,
                                             "" if ok else " — got rc=%d:\n%s"
                                             % (p.returncode, p.stderr)))

p = subprocess.run([VITALSD, "--list-drivers"], capture_output=True, text=True, timeout=10)
out = p.stdout
check(p.returncode == 0 and "modbus" in out and "tcp://HOST:PORT" in out and
      all(k in out for k in ("map", "slave", "response_timeout_ms", "byte_timeout_ms",
                             "failed_polls")),
      "--list-drivers shows the modbus driver, its ports and keys")
finish()
