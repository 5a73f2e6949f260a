"""Hostile read requests: whatever arrives on a read subject, the reply is a typed error or a result, and a read
never writes to the event store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.nats_api.api import handle_read
from ledger.nats_api.subjects import READS
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import LedgerCopies
from tests.property.test_command_fuzz import open_with_an_invoice

values = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                   st.text(max_size=30), st.sampled_from(["ACC1", "open", "paid", "30d", "2026-09", "'; drop table x",
                                                          "\u0000", "../../etc/passwd", "%s%n", "ACC1\n"]))
fields = st.sampled_from(["account", "status", "period", "within_days", "text", "limit", "extra"])
bodies = st.one_of(st.dictionaries(fields, values, max_size=5).map(msgspec.json.encode), st.binary(max_size=100),
                   st.just(b""), st.just(b"[]"), st.just(b"null"))


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> LedgerCopies:
    """A fresh ledger per example (its read models built by the example's first read), each a copy of one set up
    once."""
    return LedgerCopies(tmp_path_factory.mktemp("read-fuzz") / "template", open_with_an_invoice)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(view=st.sampled_from([*READS, "nope", "account.extra", ""]), body=bodies)
def test_any_read_gets_a_typed_reply_and_writes_nothing(ledgers: LedgerCopies, view: str, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = ledgers.new(Path(folder))
        keeper = ProjectionKeeper(ledger.store, Path(folder))
        try:
            before = ledger.store.recorder.max_notification_id()
            assert before == 2  # the set-up's two events, nothing else
            reply = msgspec.json.decode(handle_read(ledger, keeper, view, body))
            assert set(reply) <= {"ok", "error"} and len(reply) == 1
            if "error" in reply:
                assert set(reply["error"]) == {"code", "field", "message"}
                assert reply["error"]["code"] not in ("", "internal"), reply
            assert ledger.store.recorder.max_notification_id() == before
        finally:
            keeper.close()
            ledger.close()
