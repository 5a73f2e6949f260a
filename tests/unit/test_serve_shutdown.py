"""Stopping ``ledger serve`` when NATS is already gone (Ctrl-C on a terminal reaches the bundled nats-server
too) is a clean stop, not an internal error; anything else still fails loudly."""

from __future__ import annotations

import asyncio

import nats
import pytest

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
