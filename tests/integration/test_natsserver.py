"""The bundled nats-server starts on an ephemeral port with JetStream and keeps its store across restarts."""

from __future__ import annotations

from pathlib import Path

import nats
import pytest

from ledger.natsserver import NatsServerProcess

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
