"""A keyed chain rebuilt without the key (plain sha256 links, no keying record) is refused, not adopted as a
chain begun before it was keyed: ``audit verify`` reports it and no link is added."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ledger.commands import messages as m
from ledger.projections.chain import HashChain
from ledger.projections.keeper import ProjectionKeeper
from replay.verify import verify
from tests.integration.test_chain_seals import edit_invoice_total, opened
from tests.ledger_fixtures import make_ledger

pytestmark = pytest.mark.usefixtures("store_backend")


def verified(tmp_path: Path) -> tuple[bool, list[str], int]:
    """(ok, hash chain findings, chain head) of the next `ledger audit verify`, read models rebuilt."""
    ledger = make_ledger(tmp_path)  # reopened
    shutil.rmtree(tmp_path / "projections")  # read models are rebuildable from the log (projections rebuild)
    fresh = ProjectionKeeper(ledger.store, tmp_path)
    result = verify(ledger.store, fresh)
    head = fresh.chain.head()[0]
    fresh.close()
    ledger.close()
    return result.ok, [f.detail for f in result.findings if f.check == "hash_chain"], head


def edited(tmp_path: Path, *, rebuild_unkeyed: bool) -> None:
    """A ledger whose chained invoice was edited 10.00 -> 90.00 and whose chain file was deleted (then, with
    ``rebuild_unkeyed``, rebuilt without the key: plain sha256 links, no chain_meta)."""
    ledger, keeper = opened(tmp_path)
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))
    keeper.catch_up()
    keeper.close()
    edit_invoice_total(tmp_path, '"total":1000', '"total":9000')  # chained, keyed: must be caught
    (tmp_path / "chain.db").unlink()  # no secret needed from here on
    if rebuild_unkeyed:
        unkeyed = HashChain(tmp_path / "chain.db")
        unkeyed.catch_up(ledger.store)
        unkeyed.close()
    ledger.close()


def test_a_chain_rewritten_without_the_key_fails_verify(tmp_path: Path) -> None:
    edited(tmp_path, rebuild_unkeyed=True)
    ok, chain, head = verified(tmp_path)
    assert not ok and any("chain file not keyed as recorded" in f for f in chain), chain
    assert head == 2  # refused: nothing more is linked to it


def test_a_keyed_from_moved_past_the_forged_links_fails_verify(tmp_path: Path) -> None:
    edited(tmp_path, rebuild_unkeyed=True)
    db = sqlite3.connect(tmp_path / "chain.db")  # the forger also writes the keying tables, without the key
    db.execute("create table chain_meta (name text primary key, value integer not null)")
    db.execute("insert into chain_meta values ('keyed_from', 3)")
    db.execute("create table chain_keying (keyed_from integer not null, head text not null, mac text not null)")
    db.execute("insert into chain_keying select 3, hash, 'f00d' from chain where position = 2")
    db.commit()
    db.close()
    ok, chain, _ = verified(tmp_path)
    assert not ok and any("chain file not keyed as recorded" in f for f in chain), chain


def test_a_chain_deleted_is_rebuilt_keyed_and_catches_the_edit_by_its_seal(tmp_path: Path) -> None:
    edited(tmp_path, rebuild_unkeyed=False)
    ok, chain, head = verified(tmp_path)
    assert not ok and head == 1 and "edited before it was chained" in chain[0], chain
