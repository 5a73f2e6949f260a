"""Issue 14, seed 004: "This will be the case EVERY time you have a zero dollar price quote": an order may be
quoted at 0.00 until its real price is known; no card hold is ever placed for 0.00."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ledger_fixtures import LedgerCli


def test_a_zero_dollar_quote_is_an_order_and_its_hold_waits_for_the_real_price(tmp_path: Path) -> None:
    cli = LedgerCli(tmp_path)
    assert cli("account", "open", "ACC1", "--email", "c@example.com").exit_code == 0
    done = cli("order", "place", "ACC1", "Q1", "--amount", "0.00", "--channel", "phone")
    assert done.exit_code == 0, done.output
    refused = cli("--json", "auth", "create", "ACC1", "A1", "--order", "Q1", "--amount", "0.00", "--token", "tok_visa")
    error = json.loads(refused.stdout)["error"]
    assert (refused.exit_code, error["code"], error["field"]) == (2, "zero_amount", "amount")  # as README says
    assert cli("order", "reprice", "ACC1", "Q1", "--amount", "150.00").exit_code == 0
    done = cli("auth", "create", "ACC1", "A1", "--order", "Q1", "--amount", "150.00", "--token", "tok_visa")
    assert done.exit_code == 0, done.output
    shown = json.loads(cli("--json", "account", "show", "ACC1").stdout)
    assert [(o["id"], o["amount"]) for o in shown["orders"]] == [("Q1", "150.00")]
    assert [(a["id"], a["amount"]) for a in shown["authorizations"]] == [("A1", "150.00")]
    board = json.loads(cli("--json", "dashboard").stdout)
    assert [row["order"] for row in board["unpaid_orders"]] == ["Q1"]


def test_a_zero_dollar_quote_is_not_unpaid(tmp_path: Path) -> None:
    cli = LedgerCli(tmp_path)
    cli("account", "open", "ACC1", "--email", "c@example.com")
    assert cli("order", "place", "ACC1", "Q1", "--amount", "0.00").exit_code == 0
    assert json.loads(cli("--json", "dashboard").stdout)["unpaid_orders"] == []


async def test_a_cart_for_the_real_price_of_a_quote_with_no_hold(tmp_path: Path) -> None:
    """Once the real price is known, the CSR sends the "Approve Order Payment" cart for an order that has no hold
    (a 0.00 quote never had one); its checkout places the first hold (auth create)."""
    from ledger.adapters.mailers import MemoryMailer
    from ledger.aggregates import events as ev
    from tests.integration.test_reauthorization import events
    from tests.ledger_fixtures import make_ledger
    from workers.emails import EmailWorker

    cli = LedgerCli(tmp_path)
    cli("account", "open", "ACC1", "--email", "c@example.com")
    cli("order", "place", "ACC1", "Q1", "--amount", "0.00")
    refused = cli("--json", "order", "send-cart", "ACC1", "Q1")
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["code"] == "nothing_due"
    cli("order", "reprice", "ACC1", "Q1", "--amount", "150.00")
    done = cli("--actor", "csr:jdoe", "order", "send-cart", "ACC1", "Q1")
    assert done.exit_code == 0, done.output
    ledger = make_ledger(tmp_path)
    try:
        sent = [e for e in events(ledger) if isinstance(e, ev.CartRequested)]  # type: ignore[arg-type]
        assert [(e.order_id, e.amount) for e in sent] == [("Q1", 15000)]
        mailer = MemoryMailer()
        worker = EmailWorker(ledger.store, mailer, ledger.ports.tokens)
        for event in events(ledger):  # type: ignore[arg-type]
            if worker.relevant(event):
                await worker.handle(event, str(event.event_id))
        assert [mail.subject for mail in mailer.sent] == ["Approve Order Payment for order Q1"]
    finally:
        ledger.close()
    assert cli("auth", "create", "ACC1", "A1", "--order", "Q1", "--amount", "150.00", "--token",
               "tok_visa").exit_code == 0
    refused = cli("--json", "order", "send-cart", "ACC1", "Q1")
    assert json.loads(refused.stdout)["error"]["code"] == "authorization_exists"  # re-trigger: auth request-reauth
