"""Workers on real JetStream: emails for every customer-facing event, cancel-and-relink, autopay, expiry,
redelivery with backoff, and no email twice after a crash mid-batch or a replay from the start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.adapters.mailers import MemoryMailer
from ledger.commands import messages as m
from ledger.nats_api.subjects import EVENTS_STREAM
from ledger.ports.ids import account_uuid
from ledger.ports.mailer import Email
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import START, fresh_streams, make_ledger
from workers import expiry
from workers.autopay import AutopayWorker
from workers.consumer import consume
from workers.emails import EmailWorker
from workers.inbox import Inbox
from workers.orders import OrdersWorker
from workers.relay import Relay

pytestmark = pytest.mark.nats


async def relay_all(ledger: Any, js: Any) -> None:
    relay = Relay(ledger.store, js)
    while await relay.publish_batch():
        pass


async def run_worker(js: Any, worker: Any, inbox: Inbox, until: Any, timeout: float = 15.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consume(js, worker, inbox, stop, backoff=(0.2,)))
    deadline = asyncio.get_running_loop().time() + timeout
    while not until() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert until(), "worker did not finish in time"


async def test_emails_for_every_customer_facing_event(tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    s = ledger.service
    s.handle(m.OpenAccount(account="ACC1", email="ada@example.com", name="<i>Ada</i>"))
    invite = s.handle(m.SendInvitation(account="ACC1"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="50.00", date="2026-09-01", due="2026-09-30"))
    s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="20.00", method="card", token="tok_visa",
                             distribute=True))
    s.handle(m.SubmitPayment(account="ACC1", payment="P2", amount="30.00", method="ach", token="tok_ach",
                             distribute=True))
    s.handle(m.SettlePayment(account="ACC1", payment="P2"))
    s.handle(m.SubmitPayment(account="ACC1", payment="P3", amount="5.00", method="ach", token="tok_ach",
                             deposit=True))
    s.handle(m.ReturnPayment(account="ACC1", payment="P3"))
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    s.handle(m.SubmitPayment(account="ACC1", payment="P4", amount="40.00", method="card", token="tok_visa",
                             orders={"O1": "40.00"}))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="60.00", token="tok_visa"))
    s.handle(m.ChangeOrderPrice(account="ACC1", order="O1", amount="120.00"))
    cart = s.handle(m.RequestReauthorization(account="ACC1", authorization="A1"))
    s.handle(m.PlaceOrder(account="ACC1", order="O2", amount="1.00"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I2", amount="7.00", date="2026-09-02", due="2026-10-02"))
    s.handle(m.SendStatement(account="ACC1", period_from="2026-09-01", period_to="2026-09-30"))
    nc, js = await fresh_streams(nats_server)
    await relay_all(ledger, js)
    mailer, inbox = MemoryMailer(), Inbox(tmp_path / "inbox.db")
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens, "https://portal.example")
    await run_worker(js, worker, inbox, lambda: len(mailer.sent) >= 10)
    subjects = [e.subject for e in mailer.sent]
    assert subjects == ["Your customer portal invitation", "Payment received: 20.00 USD",
                        "Bank payment pending: 30.00 USD", "Bank payment cleared: 30.00 USD",
                        "Bank payment pending: 5.00 USD", "Bank payment failed: 5.00 USD",
                        "Payment received: 40.00 USD", "Payment applied to your order O1",
                        "Approve Order Payment for order O1",
                        "Your statement 2026-09-01 to 2026-09-30: closing balance 7.00 USD"]
    raw = ledger.ports.tokens.issue("invitation", "ACC1", invite.reference, "0")
    assert f"https://portal.example/portal/invitation/{raw}?account=ACC1" in mailer.sent[0].text
    raw_cart = ledger.ports.tokens.issue("cart", "ACC1", cart.reference)
    assert (f"https://portal.example/portal/cart/{raw_cart}?account=ACC1&cart={cart.reference}&order=O1&hold=A1"
            in mailer.sent[-2].text)
    statement = mailer.sent[-1]
    assert "/portal/pay?account=ACC1&statement=" in statement.text and "I2" in statement.text
    invitation = mailer.sent[0]  # ids hold no markup (README "Ids"); a name may, and is escaped in HTML
    assert "<i>Ada</i>" in invitation.text and "&lt;i&gt;Ada&lt;/i&gt;" in invitation.html
    assert "<i>Ada</i>" not in invitation.html
    assert all(e.to == "ada@example.com" for e in mailer.sent)
    failed = next(e for e in mailer.sent if e.subject == "Bank payment failed: 5.00 USD")  # returned while pending
    assert "It had not been applied to anything yet." in failed.text and "open again" not in failed.text
    assert all(e.sent_at == START for e in mailer.sent)  # the Date header: the time of the event
    # A replay of the whole stream (a new durable, same inbox) sends nothing again.
    before = len(mailer.sent)
    await js.delete_consumer(EVENTS_STREAM, "ledger-emails")
    await run_worker(js, worker, inbox, lambda: inbox.count("emails") >= before, timeout=5)
    await asyncio.sleep(0.5)
    assert len(mailer.sent) == before
    await nc.close()
    ledger.close()


class FlakyMailer(MemoryMailer):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, email: Email) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("SMTP relay down")
        await super().send(email)


async def test_failures_are_redelivered_with_backoff_and_sent_once(tmp_path: Path, nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="20.00", method="card",
                                          token="tok_visa", deposit=True))
    nc, js = await fresh_streams(nats_server)
    await relay_all(ledger, js)
    mailer = FlakyMailer(failures=2)
    await run_worker(js, EmailWorker(ledger.store, mailer, ledger.ports.tokens), Inbox(":memory:"),
                     lambda: len(mailer.sent) == 1)
    assert [e.subject for e in mailer.sent] == ["Payment received: 20.00 USD"]
    await nc.close()
    ledger.close()


async def test_orders_autopay_and_expiry(tmp_path: Path, nats_server: str) -> None:
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock)
    s = ledger.service
    s.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    s.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token="tok_visa", brand="visa",
                                last4="4242", exp_month=1, exp_year=2031))
    s.handle(m.EnableAutopay(account="ACC1"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="75.00", date="2026-09-01", due="2026-09-30"))
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="100.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="100.00", token="tok_visa"))
    s.handle(m.Reauthorize(account="ACC1", authorization="A1", new_authorization="A2", amount="130.00"))
    s.handle(m.PlaceOrder(account="ACC1", order="O9", amount="10.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A9", order="O9", amount="10.00", token="tok_visa"))
    s.handle(m.SendInvitation(account="ACC1"))
    nc, js = await fresh_streams(nats_server)
    await relay_all(ledger, js)
    inbox = Inbox(":memory:")

    def state() -> Any:
        return ledger.store.account(account_uuid("ACC1")).state

    await run_worker(js, AutopayWorker(ledger.store, s), inbox, lambda: "AUTO-I1" in state().payments)
    assert state().invoices["I1"].status == "paid"
    await run_worker(js, OrdersWorker(ledger.store, s), inbox, lambda: state().orders["O1"].status == "replaced")
    new_order = state().orders["O1"].replaced_by
    assert state().orders[new_order].amount == 13000 and state().orders[new_order].replaces == "O1"
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    assert expiry.expire_due(ledger, keeper) == 0
    clock.advance(days=29, minutes=1)
    assert expiry.expire_due(ledger, keeper) == 3  # A2 (on the new order), A9, and the 72-hour invitation
    assert state().authorizations["A9"].status == "expired" and state().invitation.status == "expired"
    assert expiry.expire_due(ledger, keeper) == 0
    keeper.close()
    await nc.close()
    ledger.close()


async def test_a_worker_rewound_to_any_position_sends_only_what_it_never_sent(tmp_path: Path,
                                                                            nats_server: str) -> None:
    from click.testing import CliRunner

    from ledger.cli.main import cli
    from workers.consumer import rewind, wanted_subjects

    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    for n in range(6):
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"P{n}", amount="1.00", method="card",
                                              token="tok_visa", deposit=True))
    nc, js = await fresh_streams(nats_server)
    await relay_all(ledger, js)
    mailer, inbox = MemoryMailer(), Inbox(tmp_path / "workers.db")
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens)
    await run_worker(js, worker, inbox, lambda: len(mailer.sent) == 6)
    for seq in (1, 7, 12):  # rewind to the start, the middle, near the end: nothing is sent again
        await rewind(js, "emails", seq)
        await run_worker(js, worker, inbox, lambda: True)
        await asyncio.sleep(0.3)
        info = await js.consumer_info(EVENTS_STREAM, "ledger-emails")
        # rewind made it unfiltered at seq; the worker gave it back its filters, keeping the position
        assert info.config.opt_start_seq == seq and info.config.filter_subjects == wanted_subjects(worker.wants)
        assert "ledger.events.PaymentSettled.>" in info.config.filter_subjects
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P9", amount="2.00", method="card",
                                          token="tok_visa", deposit=True))
    await relay_all(ledger, js)
    await rewind(js, "emails", 1)
    await run_worker(js, worker, inbox, lambda: len(mailer.sent) == 7)
    await asyncio.sleep(0.3)
    assert len(mailer.sent) == 7 and len({e.message_id for e in mailer.sent}) == 7
    assert mailer.sent[-1].subject == "Payment received: 2.00 USD"
    inbox.close()
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "ledger.db"), "--json", "workers", "--uncertain"])
    assert result.exit_code == 0, result.output
    # the receipts (PaymentSettled) of 7 card payments; a card's PaymentSubmitted calls for no email and is
    # acknowledged without entering the inbox
    assert result.output.strip() == '{"workers":{"emails":{"done":7}},"uncertain":[]}'
    await nc.close()
    ledger.close()


class SlowRecorder:
    """A worker that takes a little time over every event, and remembers which it handled."""

    name = "recorder"
    wants = frozenset({"AccountOpened", "PaymentSubmitted", "PaymentSettled", "PaymentDeposited"})
    repeatable = False

    def __init__(self) -> None:
        self.handled: list[str] = []

    async def handle(self, event: Any, event_id: str) -> None:
        await asyncio.sleep(0.01)
        self.handled.append(event_id)


async def test_a_clean_stop_finishes_the_event_in_hand_and_hands_the_rest_back(tmp_path: Path,
                                                                             nats_server: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    for n in range(10):
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"P{n}", amount="1.00", method="card",
                                              token="tok_visa", deposit=True))
    total = ledger.store.recorder.max_notification_id()
    nc, js = await fresh_streams(nats_server)
    await relay_all(ledger, js)
    worker, inbox = SlowRecorder(), Inbox(tmp_path / "workers.db")
    stop = asyncio.Event()
    task = asyncio.create_task(consume(js, worker, inbox, stop, batch=20, ack_wait=600))
    while len(worker.handled) < 5:
        await asyncio.sleep(0.002)
    stop.set()  # mid-batch
    await task
    assert 5 <= len(worker.handled) < 20 and inbox.listed("claimed") == []  # nothing left half done
    # ack_wait is 10 minutes: only the NAKs on stop let the next run get the rest of the batch at once
    await run_worker(js, worker, inbox, lambda: len(worker.handled) == total, timeout=20)
    assert len(set(worker.handled)) == total
    inbox.close()
    await nc.close()
    ledger.close()


async def test_a_statement_email_shows_its_period_and_what_is_due_when_sent(tmp_path: Path) -> None:
    """A May statement sent on 12 June closes at May's balance; June's payment and invoice only change what
    is due today (the email said "May: 70.00 due" and listed June's invoice as May's)."""
    clock = ManualClock(datetime(2026, 5, 5, 14, tzinfo=UTC))
    ledger = make_ledger(tmp_path, clock=clock)
    s = ledger.service
    s.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="300.00", date="2026-05-05", due="2026-06-04"))
    clock.set(datetime(2026, 6, 5, 14, tzinfo=UTC))
    s.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="250.00", method="card", token="tok_visa",
                             distribute=True))
    clock.set(datetime(2026, 6, 10, 14, tzinfo=UTC))
    s.handle(m.IssueInvoice(account="ACC1", invoice="I2", amount="20.00", date="2026-06-10", due="2026-07-10"))
    clock.set(datetime(2026, 6, 12, 14, tzinfo=UTC))
    s.handle(m.SendStatement(account="ACC1", period_from="2026-05-01", period_to="2026-05-31"))
    mailer = MemoryMailer()
    worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens, "https://portal.example")
    sent = [e for e in ledger.store.events.get(account_uuid("ACC1")) if type(e).__name__ == "StatementSent"]
    await worker.handle(sent[0], str(sent[0].event_id))
    [email] = mailer.sent
    assert email.subject == "Your statement 2026-05-01 to 2026-05-31: closing balance 300.00 USD"
    assert "Opening balance: 0.00 USD" in email.text
    assert "2026-05-05  Invoice Issued I1  +300.00 USD  balance 300.00 USD" in email.text
    assert "Closing balance: 300.00 USD" in email.text and "2026-06" not in email.text.split("Closing")[0]
    assert "Balance due today: 70.00 USD on 2 open invoice(s)" in email.text
    ledger.close()


def test_a_worker_acts_only_on_events_the_log_holds(tmp_path: Path) -> None:
    """A message someone else put on ledger.events.> (NATS allows it) is not acted on: a forged payment, a
    changed amount or a borrowed event id would otherwise email customers or charge saved cards."""
    import msgspec

    from ledger.aggregates.events.base import event_uuid
    from workers.consumer import from_the_log

    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="ada@example.com"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="5.00", method="card",
                                          token="tok_visa", deposit=True))
    stored = [e for e in ledger.store.events.get(account_uuid("ACC1")) if type(e).__name__ == "PaymentSubmitted"]
    real = stored[0]
    real_id = event_uuid(real.originator_id, real.originator_version)
    assert from_the_log(ledger.store, real, real_id)
    changed = msgspec.structs.replace(real, amount=500000)
    assert not from_the_log(ledger.store, changed, real_id)
    invented = msgspec.structs.replace(real, originator_version=99, payment_id="P99")
    assert not from_the_log(ledger.store, invented, event_uuid(real.originator_id, 99))
    assert not from_the_log(ledger.store, real, "not-its-id")
    ledger.close()
