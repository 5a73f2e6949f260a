"""Fault test: the gateway loses answers and the ledger process dies between the gateway's act and its write,
at random points over many payments, holds, captures, reauthorizations and refunds; after one reconciliation
every gateway transaction that moved money is in the ledger exactly once (or, when its command can no longer
record it, on the reconciliation list), no hold the ledger does not want is live, and the invariants hold."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.commands.reconciliation import GRACE, reconcile
from ledger.errors import GatewayUnavailable, LedgerError
from ledger.invariants import violations
from tests.ledger_fixtures import START, logged, make_ledger


class Killed(BaseException):
    """The ledger process dies here (nothing after this point of the command runs)."""


class FaultyGateway(GatewaySimulator):
    """Acts on every call, then with some probability loses the answer or kills the caller."""

    def __init__(self, clock: ManualClock, path: str, rng: random.Random) -> None:
        super().__init__(clock, path)
        self.rng = rng
        self.faults: Counter[str] = Counter()

    def _acted(self, result: Any) -> Any:
        roll = self.rng.random()
        if roll < 0.08:
            self.faults["answer_lost"] += 1
            raise GatewayUnavailable("the answer was lost")
        if roll < 0.16:
            self.faults["killed_after_gateway"] += 1
            raise Killed
        return result

    def charge(self, **kwargs: Any) -> Any:
        return self._acted(super().charge(**kwargs))

    def authorize(self, **kwargs: Any) -> Any:
        return self._acted(super().authorize(**kwargs))

    def capture(self, **kwargs: Any) -> Any:
        return self._acted(super().capture(**kwargs))

    def refund(self, **kwargs: Any) -> Any:
        return self._acted(super().refund(**kwargs))


def scenario(rng: random.Random, n: int, accounts: int) -> list[m.Command]:
    """One customer's story, in order: an invoice paid (and perhaps partly refunded), or an order held and
    then captured, cancelled, or reauthorized after a price rise (and then captured or cancelled)."""
    acc, inv, order, hold = f"ACC{rng.randrange(accounts)}", f"I{n}", f"O{n}", f"A{n}"
    if rng.random() < 0.5:
        steps: list[m.Command] = [
            m.IssueInvoice(account=acc, invoice=inv, amount="20.00", date="2026-09-01", due="2026-09-30"),
            m.SubmitPayment(account=acc, payment=f"P{n}", amount="20.00", method="card", token="tok_visa",
                            invoices={inv: "20.00"})]
        if rng.random() < 0.4:
            steps.append(m.RefundPayment(account=acc, payment=f"P{n}", amount="5.00"))
        return steps
    steps = [m.PlaceOrder(account=acc, order=order, amount="50.00"),
             m.AuthorizeCard(account=acc, authorization=hold, order=order, amount="50.00", token="tok_visa")]
    if rng.random() < 0.4:
        steps += [m.RequestReauthorization(account=acc, authorization=hold, amount="60.00"),
                  m.Reauthorize(account=acc, authorization=hold, new_authorization=f"R{n}")]
        hold = f"R{n}"
    steps.append(rng.choice([m.CaptureAuthorization(account=acc, authorization=hold, payment=f"C{n}"),
                             m.CancelOrder(account=acc, order=order)]))
    return steps


def commands(rng: random.Random, accounts: int, count: int) -> list[m.Command]:
    """Stories interleaved at random (each in its own order), about ``count`` commands in all."""
    stories: list[list[m.Command]] = []
    while sum(map(len, stories)) < count:
        stories.append(scenario(rng, len(stories), accounts))
    out: list[m.Command] = []
    while stories:
        story = rng.choice(stories)
        out.append(story.pop(0))
        if not story:
            stories.remove(story)
    return out


def recorded_transactions(events: list[Any]) -> Counter[str]:
    """How many times each gateway transaction that moved money is recorded as a payment (a capture is one,
    beside its AuthorizationCaptured) or a refund."""
    seen: Counter[str] = Counter()
    for event in events:
        if isinstance(event, ev.PaymentSubmitted):
            seen[event.transaction_id] += 1
        elif (txn := getattr(event, "refund_transaction_id", None)) is not None:
            seen[txn] += 1
    return seen


def every_transaction(gateway: GatewaySimulator) -> list[Any]:
    """The gateway's whole list, page after page."""
    listed: list[Any] = []
    while page := gateway.transactions(since=START, after=listed[-1].transaction_id if listed else None):
        listed += page
    return listed


def run_faults(tmp_path: Path, seed: int, count: int) -> dict[str, int]:
    rng = random.Random(seed)
    clock = ManualClock(START)
    gateway = FaultyGateway(clock, str(tmp_path / "gateway.db"), rng)
    ledger = make_ledger(tmp_path, clock=clock, gateway=gateway)
    outcomes: Counter[str] = Counter()
    try:
        for n in range(5):
            ledger.service.handle(m.OpenAccount(account=f"ACC{n}", email=f"a{n}@example.com"))
        for command in commands(rng, 5, count):
            clock.advance(seconds=1)
            for attempt in range(2):  # after a fault the client retries once in two, with the same key
                try:
                    ledger.service.handle(command)
                    outcomes["done" if attempt == 0 else "done_on_retry"] += 1
                    break
                except LedgerError as error:
                    outcomes[error.code] += 1
                except Killed:
                    outcomes["killed"] += 1
                if rng.random() < 0.5:
                    break
        clock.advance(seconds=GRACE.total_seconds())
        report = reconcile(ledger.store, ledger.ports)
        events = logged(ledger)
        recorded = recorded_transactions(events)
        listed = every_transaction(gateway)
        moved = [t for t in listed if t.kind != "authorization"
                 and t.status != "declined" and not t.idempotency_key.endswith(":undone")]
        flagged = {item.transaction_id for item in ledger.store.gateway_book.flagged()}
        assert [t.transaction_id for t in moved if recorded[t.transaction_id] != 1
                and t.transaction_id not in flagged] == []
        assert all(n == 1 for n in recorded.values())  # never twice
        holds = {e.transaction_id for e in events if isinstance(e, ev.CardAuthorized | ev.Reauthorized)}
        live = [t for t in listed if t.live]
        assert all(t.transaction_id in holds for t in live)  # every live hold is one the ledger recorded ...
        assert reconcile(ledger.store, ledger.ports).voided == 0  # ... and still wants
        assert violations(events) == [] and ledger.store.gateway_book.intents() == []
        return {"commands": count, **outcomes, **gateway.faults, "gateway_moved_money": len(moved),
                "holds": sum(t.kind == "authorization" for t in listed),
                **{k: v for k, v in msgspec_dict(report).items() if v}}
    finally:
        ledger.close()


def msgspec_dict(report: Any) -> dict[str, int]:
    return dict(msgspec.structs.asdict(report))


def test_after_random_faults_one_reconciliation_puts_every_gateway_transaction_in_the_ledger(
        tmp_path: Path) -> None:
    counts = run_faults(tmp_path, seed=15, count=400)
    print(counts)
    assert counts["answer_lost"] and counts["killed_after_gateway"] and counts["recorded"] and counts["voided"]
    assert "flagged" not in counts  # each story's command could record what its gateway call did


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_after_thousands_of_random_faults_the_ledger_converges(tmp_path: Path, seed: int) -> None:
    print(run_faults(tmp_path, seed=seed, count=3000))
