"""A driver of random Account histories for the property tests: every step goes through the aggregate's
public decisions, refusals are swallowed (nothing is written on refusal), and every event is kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.errors import LedgerError

START = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)
ACCOUNT_ID = UUID("00000000-0000-0000-0000-0000000000a1")


class History:
    """One account driven through random commands, with the full list of recorded events."""

    def __init__(self) -> None:
        self.now = START
        self.account = Account.open(self.ctx(), aggregate_id=ACCOUNT_ID, account_id="ACC1", currency="USD",
                                    email="guest@example.com")
        self.events: list[ev.Event] = list(self.account.collect_events())
        self.counter = 0
        self.answer: object = None  # what the last decision that was not refused returned

    def ctx(self) -> ev.Context:
        self.now += timedelta(minutes=7)
        return ev.Context(at=self.now, by=ev.Actor("csr", "jdoe", "csr"))

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def attempt(self, action: str, **kwargs: object) -> bool:
        """Run one decision; on refusal nothing may have been recorded."""
        version = self.account.version
        try:
            self.answer = getattr(self.account, action)(self.ctx(), **kwargs)
        except LedgerError:
            assert self.account.version == version and not self.account.pending_events, "refusal wrote events"
            return False
        self.events.extend(self.account.collect_events())
        return True

    # -- the vocabulary of random steps --------------------------------------------------------------

    def issue_invoice(self, total: int, day: int) -> bool:
        issued = date(2026, 9, 1) + timedelta(days=day)
        return self.attempt("issue_invoice", invoice=self.next_id("INV-"), total=total, issued_on=issued,
                            due_on=issued + timedelta(days=30))

    def pay(self, amount: int, method: str, mode: str, pick: int, status: str | None = None) -> str | None:
        payment_id = self.next_id("P")
        if mode == "explicit":
            invoices = sorted(self.account.state.invoices.values(), key=lambda i: i.sequence)
            open_ones = [i for i in invoices if i.open > 0]
            if not open_ones:
                return None
            target = open_ones[pick % len(open_ones)]
            instruction = Instruction("explicit", (Line("invoice", target.id, amount),))
        elif mode.startswith("deposit:"):  # a deposit held for a purpose: "deposit:parts"
            instruction = Instruction("deposit", purpose=mode.partition(":")[2])  # type: ignore[arg-type]
        else:
            instruction = Instruction(mode)  # type: ignore[arg-type]
        if status is None:
            status = {"card": "approved", "paypal": "approved", "ach": "pending"}[method]
        ok = self.attempt("record_payment", payment=payment_id, amount=amount, method=method,
                          token=f"tok_{method}", transaction_id=f"txn_{payment_id}", status=status,
                          decline_code="card_declined" if status == "declined" else None,
                          idempotency_key=f"key-{payment_id}", request_hash="h", instruction=instruction)
        return payment_id if ok else None

    def payments(self, method: str, status: str) -> list[str]:
        return [p.id for p in self.account.state.payments.values() if p.method == method and p.status == status]

    def balances(self) -> tuple[int, int, dict[str, int], dict[str, int]]:
        """What a customer sees: balance, credit, open per invoice, remaining per credit (non-zero)."""
        s = self.account.state
        return (s.balance, s.credit_balance, {i.id: i.open for i in s.invoices.values()},
                {c.id: c.remaining for c in s.credits.values() if c.remaining})
