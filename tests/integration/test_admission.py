"""Deadlines and load shedding of the command API on a real nats-server, with a clock the test moves and a gateway
(or a service) that blocks until the test lets it go: no timing is asserted.

A request past its deadline before it is decided is answered ``deadline_exceeded`` and never executed (the
gateway is not asked); one already past the gateway when its deadline passes is recorded; a request finding the
queue full is answered ``overloaded`` at once with a retry-after hint; a burst of 10,000 requests never makes
the service hold more than its capacity.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
import structlog

from ledger.bootstrap import Ledger
from ledger.nats_api.admission import DEADLINE_HEADER, TIMEOUT_HEADER, Admission
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import make_ledger, serving

pytestmark = pytest.mark.nats


class Clock:
    """Unix time that stands still until the test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class BlockingGateway:
    """The ledger's gateway, but a charge waits until ``release`` is set (``entered`` says one is waiting)."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        self.entered, self.release = threading.Event(), threading.Event()
        self.charges: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    def charge(self, **kwargs: Any) -> Any:
        self.charges.append(kwargs["idempotency_key"])
        self.entered.set()
        self.release.wait(30)
        return self.gateway.charge(**kwargs)


async def ask(nc: nats.NATS, subject: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    reply = await nc.request(f"ledger.cmd.{subject}", msgspec.json.encode(body), timeout=30, headers=headers)
    return msgspec.json.decode(reply.data)


def pay(payment: str) -> dict[str, Any]:
    return {"account": "A1", "payment": payment, "amount": "10.00", "method": "card", "token": "tok_visa",
            "deposit": True}


@asynccontextmanager
async def api(ledger: Ledger, home: Path, url: str, admission: Admission) -> AsyncIterator[nats.NATS]:
    async with serving(ledger, home, url, concurrency=1, admission=admission):
        nc = await nats.connect(url)
        try:
            yield nc
        finally:
            await nc.close()


async def until(condition: Any, polls: int = 3000) -> None:
    """Wait (boundedly: ``polls`` times 10 ms at least) until ``condition()`` holds; the test fails if it never
    does."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_a_request_past_its_deadline_is_not_executed(tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    gateway = BlockingGateway(ledger.ports.gateway)
    gateway.release.set()
    ledger.service.ports = replace(ledger.service.ports, gateway=gateway)
    clock = Clock(1000.0)
    try:
        async with api(ledger, tmp_path, nats_server, Admission(4, now=clock)) as nc:
            with structlog.testing.capture_logs() as logged:
                late = await ask(nc, "account.open", {"account": "A0", "email": "a@example.com"},
                                 {DEADLINE_HEADER: "999.5"})
            assert late["error"]["code"] == "deadline_exceeded"
            assert [(line["event"], line["deadline_exceeded"]) for line in logged] == [
                ("commands_refused_on_arrival", 1)]  # counted, not a line per refusal
            assert not ledger.store.recorder.max_notification_id()  # nothing written
            opened = await ask(nc, "account.open", {"account": "A1", "email": "a@example.com"},
                               {TIMEOUT_HEADER: "2"})
            assert "ok" in opened
            late_payment = await ask(nc, "payment.submit", pay("P0"), {DEADLINE_HEADER: "998"})
            assert late_payment["error"]["code"] == "deadline_exceeded" and gateway.charges == []
            bad = await ask(nc, "account.open", {"account": "A2", "email": "a@example.com"},
                            {DEADLINE_HEADER: "soon"})
            assert bad["error"] == {"code": "invalid", "field": DEADLINE_HEADER,
                                    "message": f"the {DEADLINE_HEADER} header must be a number of seconds"}
        assert set(ledger.store.account(account_uuid("A1")).state.payments) == set()
    finally:
        ledger.close()


async def test_a_queued_request_whose_deadline_passes_is_not_executed_and_a_full_queue_sheds(
        tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    gateway = BlockingGateway(ledger.ports.gateway)
    ledger.service.ports = replace(ledger.service.ports, gateway=gateway)
    clock = Clock(1000.0)
    admission = Admission(2, now=clock)  # one deciding (concurrency 1), one waiting
    try:
        async with api(ledger, tmp_path, nats_server, admission) as nc:
            assert "ok" in await ask(nc, "account.open", {"account": "A1", "email": "a@example.com"})
            first = asyncio.create_task(ask(nc, "payment.submit", pay("P1"), {DEADLINE_HEADER: "1010"}))
            await asyncio.to_thread(gateway.entered.wait, 30)  # P1 is at the gateway
            queued = asyncio.create_task(ask(nc, "payment.submit", pay("P2"), {DEADLINE_HEADER: "1010"}))
            await until(lambda: admission.in_flight == 2)
            shed = await ask(nc, "account.open", {"account": "A2", "email": "a@example.com"})
            assert shed["error"]["code"] == "overloaded" and float(shed["error"]["retry_after"]) > 0
            assert not first.done() and not queued.done()
            clock.now = 1020.0  # both deadlines pass: P1 is past the gateway, P2 still waits
            gateway.release.set()
            assert "ok" in await first
            assert (await queued)["error"]["code"] == "deadline_exceeded"
            assert "ok" in await ask(nc, "account.open", {"account": "A2", "email": "a@example.com"})
        assert len(gateway.charges) == 1  # P1's: the gateway never heard of P2
        assert set(ledger.store.account(account_uuid("A1")).state.payments) == {"P1"}
    finally:
        ledger.close()


async def test_a_burst_of_ten_thousand_requests_is_shed_beyond_the_capacity(tmp_path: Path,
                                                                            nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    release = threading.Event()
    real = ledger.service.handle

    def blocked(command: Any) -> Any:
        release.wait(60)
        return real(command)

    ledger.service.handle = blocked  # type: ignore[method-assign]
    admission = Admission(8, default_timeout=3000)  # those let in wait for the test, however slow the machine
    try:
        async with api(ledger, tmp_path, nats_server, admission) as nc:
            bodies = [msgspec.json.encode({"account": f"B{n}", "email": "b@example.com"}) for n in range(10_000)]
            sent = [asyncio.create_task(nc.request("ledger.cmd.account.open", body, timeout=60)) for body in bodies]
            await until(lambda: sum(task.done() for task in sent) >= 10_000 - 8, polls=12_000)
            assert admission.most == 8 == admission.in_flight
            release.set()
            codes = [msgspec.json.decode((await task).data) for task in sent]
        assert sum("ok" in reply for reply in codes) == 8
        assert sum(reply.get("error", {}).get("code") == "overloaded" for reply in codes) == 10_000 - 8
        assert ledger.store.recorder.max_notification_id() == 8
    finally:
        ledger.close()
