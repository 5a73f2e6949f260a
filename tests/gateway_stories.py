"""What the gateway fault tests share: customers' stories of payments, holds, captures, reauthorizations and
refunds interleaved at random, a gateway that loses answers (or kills its caller in-process), a client that
retries once in two with the same key, and the check that one reconciliation leaves every gateway transaction
that moved money in the ledger exactly once, no hold the ledger does not want live and the invariants holding
(issue 15)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import msgspec

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.commands.reconciliation import reconcile
from ledger.errors import GatewayUnavailable, LedgerError
from ledger.invariants import violations
from tests.ledger_fixtures import START, logged

#: The accounts the stories belong to (opened before the first command).
ACCOUNTS = 5


class Killed(BaseException):
    """The ledger process dies here (nothing after this point of the command runs)."""


class FaultyGateway(GatewaySimulator):
    """Acts on every call, then with some probability loses the answer or (``kill``) kills the caller."""

    def __init__(self, clock: ManualClock, path: str, rng: random.Random, *, lose: float = 0.08,
                 kill: float = 0.08) -> None:
        super().__init__(clock, path)
        self.rng, self.lose, self.kill = rng, lose, kill
        self.faults: Counter[str] = Counter()

    def _acted(self, result: Any) -> Any:
        roll = self.rng.random()
        if roll < self.lose:
            self.faults["answer_lost"] += 1
            raise GatewayUnavailable("the answer was lost")
        if roll < self.lose + self.kill:
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


def open_accounts(ledger: Ledger) -> None:
    """The accounts every story uses."""
    for n in range(ACCOUNTS):
        ledger.service.handle(m.OpenAccount(account=f"ACC{n}", email=f"a{n}@example.com"))


def scenario(rng: random.Random, n: int) -> list[m.Command]:
    """One customer's story, in order: an invoice paid (and perhaps partly refunded), or an order held and
    then captured, cancelled, or reauthorized after a price rise (and then captured or cancelled)."""
    acc, inv, order, hold = f"ACC{rng.randrange(ACCOUNTS)}", f"I{n}", f"O{n}", f"A{n}"
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


def commands(rng: random.Random, count: int) -> list[m.Command]:
    """Stories interleaved at random (each in its own order), about ``count`` commands in all."""
    stories: list[list[m.Command]] = []
    while sum(map(len, stories)) < count:
        stories.append(scenario(rng, len(stories)))
    out: list[m.Command] = []
    while stories:
        story = rng.choice(stories)
        out.append(story.pop(0))
        if not story:
            stories.remove(story)
    return out


def attempt(ledger: Ledger, command: m.Command, rng: random.Random, outcomes: Counter[str]) -> None:
    """The client sends ``command``; after a fault it retries once in two, with the same key."""
    for tries in range(2):
        try:
            ledger.service.handle(command)
            outcomes["done" if tries == 0 else "done_on_retry"] += 1
            return
        except LedgerError as error:
            outcomes[error.code] += 1
        except Killed:
            outcomes["killed"] += 1
        if rng.random() < 0.5:
            return


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


def reconciled(ledger: Ledger, gateway: GatewaySimulator) -> dict[str, int]:
    """Reconcile once (the clock past ``GRACE`` after the last command) and check that the ledger converged:
    every gateway transaction that moved money recorded exactly once or flagged, never twice, every live hold
    one the ledger recorded and still wants, the invariants holding and no intent left. The run's counts."""
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
    return {"gateway_moved_money": len(moved), "holds": sum(t.kind == "authorization" for t in listed),
            **{k: v for k, v in msgspec.structs.asdict(report).items() if v}}
