# SPDX-License-Identifier: BSD-2-Clause
"""pymodbus_peer.py — a third-party Modbus TCP server for the tests:
Debian's python3-pymodbus (3.0.x), driven line by line on stdin.

Prints "tcp://127.0.0.1:PORT" on stdout once it listens (an ephemeral port,
or --port).  Commands, one per line:

  set TABLE ADDRESS VALUE[,VALUE...]   write registers (TABLE: holding|input),
                                       protocol addresses as on the wire
  limit TABLE COUNT                    the table ends after COUNT registers:
                                       reads beyond get pymodbus's own
                                       exception 02 (illegal data address)
  stop                                 close the server and every connection
  start                                listen again on the same port
  quit

Addressing: pymodbus's ModbusSlaveContext defaults to zero_mode=False, in
which it adds one to every request's address before looking in its data
blocks (pymodbus/datastore/context.py, getValues/validate).  This server
keeps that default, as a site would, and so starts its data blocks at 1:
protocol address N is values[N].  vitalsd's maps use protocol addresses.
"""
import argparse
import asyncio
import sys
import threading

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.server.async_io import ModbusTcpServer

SIZE = 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--unit", type=int, default=1)
    args = ap.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    tables = {"holding": [0] * SIZE, "input": [0] * SIZE}
    limits = {"holding": SIZE, "input": SIZE}

    def blocks():
        # zero_mode=False (the default): pymodbus adds 1 to the address.
        return {"hr": ModbusSequentialDataBlock(1, tables["holding"][:limits["holding"]]),
                "ir": ModbusSequentialDataBlock(1, tables["input"][:limits["input"]])}

    slave = ModbusSlaveContext(**blocks())
    context = ModbusServerContext(slaves={args.unit: slave}, single=False)
    state = {"server": None, "task": None, "port": args.port}

    async def start():
        server = ModbusTcpServer(context, address=("127.0.0.1", state["port"]),
                                 allow_reuse_address=True)
        state["server"] = server
        state["task"] = asyncio.ensure_future(server.serve_forever())
        await server.serving
        state["port"] = server.server.sockets[0].getsockname()[1]

    async def stop():
        if state["server"]:
            await state["server"].shutdown()
            state["server"] = None
            state["task"].cancel()

    def refresh():
        new = blocks()
        slave.store["h"] = new["hr"]
        slave.store["i"] = new["ir"]

    async def command(line):
        words = line.split()
        if not words:
            return True
        if words[0] == "set":
            table, address = words[1], int(words[2])
            for i, v in enumerate(words[3].split(",")):
                tables[table][address + i] = int(v, 0) & 0xFFFF
            refresh()
        elif words[0] == "limit":
            limits[words[1]] = int(words[2])
            refresh()
        elif words[0] == "stop":
            await stop()
        elif words[0] == "start":
            await start()
        elif words[0] == "quit":
            return False
        print("ok " + line.strip(), file=sys.stderr, flush=True)
        return True

    queue = asyncio.Queue()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, "quit")

    async def run():
        await start()
        print("tcp://127.0.0.1:%d" % state["port"], flush=True)
        threading.Thread(target=read_stdin, daemon=True).start()
        while await command(await queue.get()):
            pass
        await stop()

    loop.run_until_complete(run())


if __name__ == "__main__":
    main()
