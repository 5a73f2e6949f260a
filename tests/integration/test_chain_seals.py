"""Issue 15: an event edited before anything chained it fails ``audit verify`` (the database seals every event
with a keyed MAC as it is written), the chain is keyed with the ledger's secret, and a chain begun before it
was keyed keeps verifying."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.projections.chain import HashChain
from ledger.projections.keeper import ProjectionKeeper
from replay.verify import verify
from tests.ledger_fixtures import backend, edit_events, make_ledger, store_sql

pytestmark = pytest.mark.usefixtures("store_backend")


def edit_invoice_total(folder: Path, old: str, new: str) -> None:
    """Rewrite the issued invoice's total in its event row, without the ledger's key."""
    assert edit_events(folder, old, new, topic="InvoiceIssued") == 1


def opened(tmp_path: Path) -> tuple[Ledger, ProjectionKeeper]:
    """A ledger with one account, its chain caught up to the opening."""
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    return ledger, keeper


def test_an_event_edited_before_it_was_chained_fails_verify(tmp_path: Path) -> None:
    ledger, keeper = opened(tmp_path)
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))
    edit_invoice_total(tmp_path, '"total":1000', '"total":9000')  # 10.00 -> 90.00, unchained yet
    result = verify(ledger.store, keeper)
    chain = [f.detail for f in result.findings if f.check == "hash_chain"]
    assert not result.ok and len(chain) == 1
    assert chain[0].startswith("position 2 ") and "edited before it was chained" in chain[0]
    assert keeper.chain.head()[0] == 1  # never vouched for
    keeper.close()
    ledger.close()


def test_the_chain_is_keyed_with_the_ledgers_secret(tmp_path: Path) -> None:
    ledger, keeper = opened(tmp_path)
    assert verify(ledger.store, keeper).ok
    keeper.close()
    unkeyed = HashChain(tmp_path / "chain.db")  # who rebuilds the links without the secret gets other hashes
    assert [p.problem for p in unkeyed.verify(ledger.store)] == ["event row edited"]
    other = HashChain(tmp_path / "chain.db", key=b"another ledger's secret!")
    assert other.verify(ledger.store) != []
    unkeyed.close()
    other.close()
    ledger.close()


def test_a_chain_begun_before_it_was_keyed_keeps_verifying(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C1", amount="5.00"))
    ledger.close()
    trigger = [] if backend() == "postgres" else ["drop trigger seal_events"]  # PostgreSQL: sealed in Python
    as_older = [*trigger, "drop table event_seals", "drop table seal_meta"]  # a store of an older version
    store_sql(tmp_path, *((statement, ()) for statement in as_older))
    ledger = make_ledger(tmp_path)  # the new version: seals begin at 3
    old = HashChain(tmp_path / "chain.db")  # as an older version kept it: sha256 links
    old.catch_up(ledger.store)
    old.close()
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C2", amount="5.00"))
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    assert keeper.chain.keyed_from == 3 and keeper.chain.head()[0] == 3
    result = verify(ledger.store, keeper)
    assert result.ok, result.findings
    keeper.close()
    ledger.close()
