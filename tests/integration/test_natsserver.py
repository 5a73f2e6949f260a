"""The bundled nats-server starts on an ephemeral port with JetStream and keeps its store across restarts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest

from ledger.errors import LedgerError
from ledger.natsserver import NatsServerProcess, stop_orphan
from workers.runtime import port_is_free

pytestmark = pytest.mark.nats


async def test_jetstream_message_survives_a_restart(tmp_path: Path) -> None:
    with NatsServerProcess(store_dir=tmp_path) as server:
        assert server.url.startswith("nats://127.0.0.1:")
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="T", subjects=["t.>"])
        ack = await js.publish("t.one", b"hello", headers={"Nats-Msg-Id": "m1"})
        assert ack.seq == 1
        await nc.close()
        server.restart()
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        msg = await js.get_msg("T", 1)
        assert msg.data == b"hello"
        again = await js.publish("t.one", b"hello", headers={"Nats-Msg-Id": "m1"})
        assert again.duplicate
        await nc.close()


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    with NatsServerProcess(store_dir=tmp_path / "first") as first:
        second = NatsServerProcess(store_dir=tmp_path / "second", port=first.port)
        with pytest.raises(RuntimeError, match="address already in use"):
            second.start()


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and b"nats-server" in Path(f"/proc/{pid}/cmdline").read_bytes()


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


PARENT = """
import sys, time
from ledger.natsserver import NatsServerProcess
server = NatsServerProcess(sys.argv[1], die_with_parent=True)
server.start()
print(server._process.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal and /proc are Linux")
def test_a_server_dies_with_its_sigkilled_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert _alive(pid)
    parent.kill()
    parent.wait()
    assert _gone_within(pid, 10), "the bundled nats-server outlived its SIGKILLed parent"


ORPHANING = """
import os, sys
from ledger.natsserver import NatsServerProcess
server = NatsServerProcess(sys.argv[1])
server.start()
if len(sys.argv) > 2:  # as the previous version wrote it: the pid alone
    server.pid_path.write_text(str(server._process.pid))
print(server._process.pid, server.port, flush=True)
os._exit(0)  # dies without stopping it
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux")
@pytest.mark.parametrize("pid_file", ["pid parent", "pid alone (previous version)"])
def test_the_next_start_stops_a_server_its_dead_parent_left_on_the_same_store(tmp_path: Path, pid_file: str) -> None:
    older = ["old"] if "alone" in pid_file else []
    left = subprocess.run([sys.executable, "-c", ORPHANING, str(tmp_path), *older], capture_output=True,
                          text=True, check=True)
    pid, port = (int(x) for x in left.stdout.split())
    assert _alive(pid)
    with NatsServerProcess(store_dir=tmp_path, port=port) as again:  # its port is free again
        assert again.port == port and _gone_within(pid, 1)
    unrelated = tmp_path / "other.pid"
    unrelated.write_text(f"{os.getpid()} 1")  # a pid now used by another program is left alone
    assert not stop_orphan(unrelated, tmp_path / "js")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux")
def test_a_second_server_on_a_store_whose_server_runs_is_refused(tmp_path: Path) -> None:
    with NatsServerProcess(store_dir=tmp_path) as first:
        with pytest.raises(LedgerError) as refused:
            NatsServerProcess(store_dir=tmp_path).start()
        assert refused.value.code == "nats_server_running"
        assert first._process is not None and first._process.poll() is None  # untouched


def test_a_port_whose_last_connections_are_closing_is_free(tmp_path: Path) -> None:
    """TIME_WAIT sockets of a server just stopped do not hold its port (nats-server can bind it)."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nats-server's (Go) listeners do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        assert not port_is_free(port)  # listening
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT on the port
        client.close()
    assert port_is_free(port)
