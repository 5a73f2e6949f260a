"""Issue 14, seed 000 step 6b: money deposited for a purpose (service parts, a service fee, labour, a protection
plan, a delivery) stays with that purpose until a CSR applies it; no other payment sweeps it up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ledger_fixtures import LedgerCli


@pytest.fixture
def cli(tmp_path: Path) -> LedgerCli:
    run = LedgerCli(tmp_path)
    assert run("account", "open", "C1", "--email", "guest@example.com").exit_code == 0
    assert run("order", "place", "C1", "O1", "--amount", "100.00").exit_code == 0
    return run


def show(cli: LedgerCli) -> dict[str, object]:
    done = cli("--json", "account", "show", "C1")
    assert done.exit_code == 0, done.output
    shown: dict[str, object] = json.loads(done.stdout)
    return shown


def test_a_parts_deposit_is_not_spent_by_a_payment_on_another_order(cli: LedgerCli) -> None:
    done = cli("payment", "submit", "C1", "DEP", "--amount", "45.00", "--method", "card", "--token", "tok_visa",
               "--deposit", "--purpose", "parts")
    assert done.exit_code == 0, done.output
    done = cli("payment", "submit", "C1", "P1", "--amount", "100.00", "--method", "card", "--token", "tok_visa",
               "--order", "O1=100.00")
    assert done.exit_code == 0, done.output
    shown = show(cli)
    assert [(o["id"], o["paid"]) for o in shown["orders"]] == [("O1", "100.00")]  # type: ignore[attr-defined]
    assert [(c["id"], c["remaining"], c["kind"]) for c in shown["credits"]] == [  # type: ignore[attr-defined]
        ("DEP-DEP", "45.00", "deposit")]
    assert "parts" in shown["credits"][0]["reference"]  # type: ignore[index]


def test_a_csr_applies_a_service_fee_deposit_to_its_order(cli: LedgerCli) -> None:
    assert cli("order", "place", "C1", "SVC", "--amount", "60.00").exit_code == 0
    cli("payment", "submit", "C1", "DEP", "--amount", "45.00", "--method", "card", "--token", "tok_visa",
        "--deposit", "--purpose", "service_fee")
    done = cli("--actor", "csr:jdoe", "credit", "apply", "C1", "DEP-DEP", "--amount", "45.00", "--order", "SVC")
    assert done.exit_code == 0, done.output
    shown = show(cli)
    assert {o["id"]: o["paid"] for o in shown["orders"]}["SVC"] == "45.00"  # type: ignore[attr-defined]


def test_a_purpose_is_one_of_the_seeds_and_only_for_a_deposit(cli: LedgerCli) -> None:
    done = cli("--json", "payment", "submit", "C1", "DEP", "--amount", "45.00", "--method", "card", "--token",
               "tok_visa", "--order", "O1=45.00", "--purpose", "parts")
    assert done.exit_code == 2 and json.loads(done.stdout)["error"]["field"] == "purpose"
    done = cli("payment", "submit", "C1", "DEP", "--amount", "45.00", "--method", "card", "--token",
               "tok_visa", "--deposit", "--purpose", "snacks")
    assert done.exit_code == 2


def test_deposits_stored_before_purposes_replay_as_open_credit() -> None:
    from ledger.aggregates import events as ev
    from ledger.store.mapper import decode_event

    body = (b'{"originator_id":"6f1f7e7e-3a3c-4d3c-9a1e-2f0b8b1f1a11","originator_version":4,'
            b'"timestamp":"2026-09-01T14:00:00Z","payment_id":"DEP","credit_id":"DEP-DEP","amount":4500}')
    deposited = decode_event("PaymentDeposited:1", body)
    assert isinstance(deposited, ev.PaymentDeposited) and deposited.purpose is None
    submitted = decode_event("PaymentSubmitted:1", body.replace(b'"credit_id":"DEP-DEP"', (
        b'"method":"card","token":"tok_visa","transaction_id":"t","idempotency_key":"k","request_hash":"h",'
        b'"instruction":{"mode":"deposit","lines":[],"exact":false}')))
    assert isinstance(submitted, ev.PaymentSubmitted) and submitted.instruction.purpose is None


def test_staff_deposit_a_researched_payment_for_its_purpose(cli: LedgerCli) -> None:
    """Seed 000 step 6b: staff apply a gateway payment to the guest's account for service related issues."""
    done = cli("research", "receive", "G1", "--amount", "30.00", "--method", "card", "--token", "tok_visa",
               "--reference", "service call 77")
    assert done.exit_code == 0, done.output
    done = cli("--actor", "csr:jdoe", "research", "match", "G1", "C1", "--purpose", "labour")
    assert done.exit_code == 0, done.output
    cli("payment", "submit", "C1", "P1", "--amount", "10.00", "--method", "card", "--token", "tok_visa",
        "--order", "O1=10.00")
    shown = show(cli)
    assert [(c["id"], c["remaining"]) for c in shown["credits"]] == [("G1-DEP", "30.00")]  # type: ignore[attr-defined]
    assert {o["id"]: o["paid"] for o in shown["orders"]}["O1"] == "10.00"  # type: ignore[attr-defined]
    refused = cli("--json", "research", "match", "G2", "C1", "--order", "O1", "--purpose", "labour")
    assert refused.exit_code == 2
