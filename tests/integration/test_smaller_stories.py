"""Issue 14's smaller stories, driven through the CLI as the seeds' users would."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.ledger_fixtures import LedgerCli


@pytest.fixture
def cli(tmp_path: Path) -> LedgerCli:
    run = LedgerCli(tmp_path)
    for args in (("account", "open", "ACC1", "--email", "c@example.com"),
                 ("invoice", "issue", "ACC1", "INV-1", "--amount", "80.00", "--date", "2026-09-01", "--due",
                  "2026-09-30")):
        assert run(*args).exit_code == 0
    return run


def refusal(done: object) -> tuple[int, str, str]:
    error = json.loads(done.stdout)["error"]  # type: ignore[attr-defined]
    return done.exit_code, error["code"], error["field"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "token"), [("paypal", "tok_visa"), ("card", "tok_paypal"), ("ach", "tok_visa"),
                                               ("card", "tok_ach")])
def test_a_token_must_match_its_method(cli: LedgerCli, method: str, token: str) -> None:
    done = cli("--json", "payment", "submit", "ACC1", "P1", "--amount", "10.00", "--method", method, "--token",
               token, "--distribute")
    assert refusal(done) == (2, "token_method_mismatch", "token")
    shown = json.loads(cli("--json", "account", "show", "ACC1").stdout)
    assert shown["payments"] == []  # nothing written, nothing charged


def test_a_declined_card_exits_alike_in_research_receive_and_payment_submit(cli: LedgerCli) -> None:
    submitted = cli("--json", "payment", "submit", "ACC1", "P1", "--amount", "10.00", "--method", "card", "--token",
                    "tok_decline", "--distribute")
    received = cli("--json", "research", "receive", "G1", "--amount", "10.00", "--method", "card", "--token",
                   "tok_decline", "--reference", "order 12345")
    assert (submitted.exit_code, received.exit_code) == (0, 0)
    assert json.loads(submitted.stdout)["status"] == json.loads(received.stdout)["status"] == "declined"
    board = json.loads(cli("--json", "dashboard").stdout)
    assert board["awaiting_research"] == []  # no money came in: nothing to research


def test_an_empty_reference_is_refused_where_one_is_required(cli: LedgerCli) -> None:
    for reference in ("", "   "):
        done = cli("--json", "research", "receive", "G1", "--amount", "10.00", "--method", "card", "--token",
                   "tok_visa", "--reference", reference)
        assert refusal(done) == (2, "reference_required", "reference")
    assert json.loads(cli("--json", "dashboard").stdout)["awaiting_research"] == []


def test_the_audit_log_shows_every_instant_in_the_business_time_zone(cli: LedgerCli) -> None:
    assert cli("order", "place", "ACC1", "O1", "--amount", "50.00").exit_code == 0
    assert cli("auth", "create", "ACC1", "A1", "--order", "O1", "--amount", "50.00", "--token",
               "tok_visa").exit_code == 0
    rows = json.loads(cli("--json", "audit", "log", "--account", "ACC1").stdout)
    held = next(row for row in rows if row["event"] == "CardAuthorized")
    assert "expires_at=2026-10-09T12:00:00-04:00" in held["details"], held["details"]  # 29 days on, New York
    assert "+00:00" not in held["details"]


def test_the_balance_header_and_the_unpaid_list_name_what_is_owed_on_orders(cli: LedgerCli) -> None:
    assert cli("order", "place", "ACC1", "O1", "--amount", "100.00").exit_code == 0
    assert cli("order", "place", "ACC1", "O2", "--amount", "0.00").exit_code == 0  # a quote: nothing owed yet
    header = json.loads(cli("--json", "account", "balance", "ACC1").stdout)[0]
    assert (header["balance"], header["orders_due"]) == ("80.00", "100.00")
    unpaid = json.loads(cli("--json", "account", "unpaid", "ACC1").stdout)
    assert [(row["kind"], row["id"], row["open"]) for row in unpaid] == [("invoice", "INV-1", "80.00"),
                                                                        ("order", "O1", "100.00")]
    shown = json.loads(cli("--json", "account", "show", "ACC1").stdout)
    assert (shown["balance"], shown["orders_due"]) == ("80.00", "100.00")


def test_exports_statuses_and_replays_show_their_instants_in_the_configured_business_zone(tmp_path: Path) -> None:
    tokyo = LedgerCli(tmp_path)
    tokyo.env["LEDGER_TIMEZONE"] = "Asia/Tokyo"  # +09:00 all year: neither UTC nor the default New York
    for args in (("account", "open", "ACC1", "--email", "c@example.com"),
                 ("order", "place", "ACC1", "O1", "--amount", "50.00"),
                 ("auth", "create", "ACC1", "A1", "--order", "O1", "--amount", "50.00", "--token", "tok_visa")):
        assert tokyo(*args).exit_code == 0
    lines = tokyo("audit", "export", "--from", "2026-09-01", "--to", "2026-10-01", "--format", "jsonl").stdout
    records = [json.loads(line) for line in lines.splitlines()]
    held = next(r for r in records if r.get("event") == "CardAuthorized")
    assert held["at"] == "2026-09-10T12:00:00+09:00"  # --at, in Tokyo: parseable, the same instant
    assert "expires_at=2026-10-09T12:00:00+09:00" in held["details"], held["details"]  # 29 days on
    assert all(datetime.fromisoformat(r["at"]).utcoffset() == timedelta(hours=9) for r in records if "at" in r)
    table = tokyo("audit", "export", "--from", "2026-09-01", "--to", "2026-10-01", "--format", "csv").stdout
    assert "2026-09-10T12:00:00+09:00" in table and "expires_at=2026-10-09T12:00:00+09:00" in table
    assert "+00:00" not in lines + table
    status = json.loads(tokyo("--json", "projections", "status").stdout)
    assert all(row["updated_at"].endswith("+09:00") for row in status if row["updated_at"]), status
    as_of = json.loads(tokyo("--json", "replay", "balances", "--as-of", "2026-09-11").stdout)["as_of"]
    assert as_of == "2026-09-11T00:00:00+09:00"
