"""Stopping ``ledger serve`` when NATS is already gone (Ctrl-C on a terminal reaches the bundled nats-server
too) is a clean stop, not an internal error; anything else still fails loudly."""

from __future__ import annotations

import asyncio

import nats
import pytest
import structlog

from workers.runtime import close_quietly


async def gone() -> None:
    raise nats.errors.ConnectionReconnectingError


async def refused() -> None:
    raise ConnectionRefusedError(111, "Connect call failed")


def test_nats_gone_at_shutdown_is_not_an_error() -> None:
    closed: list[str] = []

    async def close() -> None:
        closed.append("nc")

    asyncio.run(close_quietly(gone(), refused(), close()))
    assert closed == ["nc"]  # the later closings still run


def test_other_failures_at_shutdown_still_raise() -> None:
    async def bug() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        asyncio.run(close_quietly(bug()))


async def test_a_stop_while_nats_is_unreachable_ends_the_connection_attempt(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``ledger worker emails --nats-url nats://127.0.0.1:1`` then SIGTERM: the worker stops (it used to wait for
    ever), after one warning naming the URL."""
    import asyncio

    from ledger import natsserver

    monkeypatch.setattr(natsserver, "UNREACHABLE_AFTER", 0.2)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    started = asyncio.get_running_loop().time()
    with structlog.testing.capture_logs() as logged:
        client = await natsserver.connect_until_stopped("nats://127.0.0.1:1", stop, max_reconnect_attempts=-1,
                                                        reconnect_time_wait=0.05)
    assert client is None and asyncio.get_running_loop().time() - started < 5
    warned = [line for line in logged if line["event"] == "nats_unreachable"]
    assert len(warned) == 1 and warned[0]["url"] == "nats://127.0.0.1:1"
