"""Issue 14, seed 002: "Click Add Payment Method or use a saved payment": pay with a saved method (its token is
never shown, so it is named), and an expired card is neither saved nor charged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ledger_fixtures import LedgerCli


@pytest.fixture
def cli(tmp_path: Path) -> LedgerCli:
    run = LedgerCli(tmp_path)  # runs at 2026-09-10
    for args in (("account", "open", "ACC1", "--email", "c@example.com"),
                 ("invoice", "issue", "ACC1", "INV-1", "--amount", "80.00", "--date", "2026-09-01", "--due",
                  "2026-09-30"),
                 ("method", "add", "ACC1", "M1", "--token", "tok_visa", "--brand", "visa", "--last4", "4242",
                  "--exp", "09/2026")):
        done = run(*args)
        assert done.exit_code == 0, done.output
    return run


def error(done: object) -> dict[str, str]:
    found: dict[str, str] = json.loads(done.stdout)["error"]  # type: ignore[attr-defined]
    return found


def test_a_payment_with_a_saved_method_charges_its_token(cli: LedgerCli) -> None:
    done = cli("payment", "submit", "ACC1", "P1", "--amount", "80.00", "--saved", "M1", "--invoice", "INV-1=80.00")
    assert done.exit_code == 0, done.output
    shown = json.loads(cli("--json", "account", "show", "ACC1").stdout)
    assert [(p["id"], p["method"], p["status"]) for p in shown["payments"]] == [("P1", "card", "settled")]
    assert shown["invoices"][0]["status"] == "paid"


def test_a_saved_method_or_a_token_but_not_both_and_an_unknown_one_is_named(cli: LedgerCli) -> None:
    both = cli("--json", "payment", "submit", "ACC1", "P1", "--amount", "80.00", "--saved", "M1", "--token",
               "tok_visa", "--method", "card", "--distribute")
    assert both.exit_code == 2 and error(both)["field"] == "saved"
    unknown = cli("--json", "payment", "submit", "ACC1", "P1", "--amount", "80.00", "--saved", "M9", "--distribute")
    assert unknown.exit_code == 2 and (error(unknown)["code"], error(unknown)["field"]) == ("not_found", "saved")


def test_an_expired_card_is_not_saved_nor_charged(cli: LedgerCli) -> None:
    done = cli("--json", "method", "add", "ACC1", "M2", "--token", "tok_visa", "--brand", "visa", "--last4", "1111",
               "--exp", "08/2026")
    assert done.exit_code == 2 and error(done)["code"] == "card_expired"
    later = cli.runner.invoke(cli_main, ["--at", "2026-10-02T12:00", "--json", "payment", "submit", "ACC1", "P1",
                                         "--amount", "80.00", "--saved", "M1", "--distribute"], env=cli.env)
    assert later.exit_code == 2 and (error(later)["code"], error(later)["field"]) == ("card_expired", "saved")


from ledger.cli.main import cli as cli_main  # noqa: E402


def test_a_payment_fingerprinted_before_saved_methods_and_purposes_is_the_same_request() -> None:
    import hashlib

    import msgspec

    from ledger.aggregates.idempotency import request_hash
    from ledger.commands import messages as m

    cmd = m.SubmitPayment(account="ACC1", payment="P1", amount="80.00", method="card", token="tok_visa",
                          distribute=True)
    before = {"account": "ACC1", "payment": "P1", "amount": "80.00", "method": "card", "token": "tok_visa",
              "invoices": {}, "orders": {}, "distribute": True, "deposit": False, "exact": False}
    assert request_hash(cmd) == hashlib.sha256(msgspec.json.encode(before, order="sorted")).hexdigest()
