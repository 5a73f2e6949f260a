"""Deleting seal rows (no secret needed) does not make an edited, unchained event 'predate seals': where seals
begin is recorded once, keyed, so a missing seal is a finding of ``audit verify``."""
from __future__ import annotations

from pathlib import Path

import pytest

from ledger.commands import messages as m
from ledger.projections.keeper import ProjectionKeeper
from replay.verify import verify
from tests.integration.test_chain_seals import edit_invoice_total, opened
from tests.ledger_fixtures import store_sql

pytestmark = pytest.mark.usefixtures("store_backend")


@pytest.mark.parametrize("deleted", [
    ["delete from event_seals where notification_id <= 2"],
    ["delete from event_seals where notification_id <= 2", "delete from seal_meta"],
    ["delete from event_seals where notification_id <= 2", "update seal_meta set value = 3"],
])
def test_an_edited_unchained_event_whose_seals_were_deleted_still_fails_verify(tmp_path: Path,
                                                                              deleted: list[str]) -> None:
    ledger, keeper = opened(tmp_path)
    keeper.close()
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))
    edit_invoice_total(tmp_path, '"total":1000', '"total":9000')
    store_sql(tmp_path, *((statement, ()) for statement in deleted))  # no key needed
    fresh = ProjectionKeeper(ledger.store, tmp_path)  # the next `ledger audit verify` / serve
    result = verify(ledger.store, fresh)
    head = fresh.chain.head()[0]
    fresh.close()
    ledger.close()
    chain = [f.detail for f in result.findings if f.check == "hash_chain"]
    assert not result.ok and chain and "not sealed" in chain[0], result.findings
    assert head == 1  # the forged row is never chained
