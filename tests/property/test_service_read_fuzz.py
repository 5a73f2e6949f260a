"""Hostile read requests: whatever arrives on a read subject, the reply is a typed error or a result, and a read
never writes to the event store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.nats_api.api import handle_command, handle_read
from ledger.nats_api.subjects import READS
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import make_ledger

values = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                   st.text(max_size=30), st.sampled_from(["ACC1", "open", "paid", "30d", "2026-09", "'; drop table x",
                                                          "\u0000", "../../etc/passwd", "%s%n", "ACC1\n"]))
fields = st.sampled_from(["account", "status", "period", "within_days", "text", "limit", "extra"])
bodies = st.one_of(st.dictionaries(fields, values, max_size=5).map(msgspec.json.encode), st.binary(max_size=100),
                   st.just(b""), st.just(b"[]"), st.just(b"null"))


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(view=st.sampled_from([*READS, "nope", "account.extra", ""]), body=bodies)
def test_any_read_gets_a_typed_reply_and_writes_nothing(view: str, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = make_ledger(Path(folder))
        keeper = ProjectionKeeper(ledger.store, Path(folder))
        try:
            handle_command(ledger, "account.open", b'{"account": "ACC1", "email": "a@example.com"}')
            handle_command(ledger, "invoice.issue", b'{"account": "ACC1", "invoice": "INV-1", "amount": "10.00", '
                                                    b'"date": "2026-09-01", "due": "2026-09-30"}')
            before = ledger.store.recorder.max_notification_id()
            reply = msgspec.json.decode(handle_read(ledger, keeper, view, body))
            assert set(reply) <= {"ok", "error"} and len(reply) == 1
            if "error" in reply:
                assert set(reply["error"]) == {"code", "field", "message"}
                assert reply["error"]["code"] not in ("", "internal"), reply
            assert ledger.store.recorder.max_notification_id() == before
        finally:
            keeper.close()
            ledger.close()
