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
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["field"] == "amount"
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
