"""Hostile command payloads: whatever arrives on a command subject, the reply is a typed error or a result,
the service survives, and a refused request writes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.bootstrap import Ledger
from ledger.nats_api.api import handle_command
from ledger.nats_api.subjects import COMMANDS
from tests.ledger_fixtures import LedgerCopies

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                    st.text(max_size=40), st.sampled_from(["ACC1", "INV-1", "10.00", "tok_visa", "4242424242424242",
                                                           "card", "ach", "1e9", "-1", "0.001", "\u0000", "../../"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=10), inner, max_size=3), max_leaves=8)
fields = st.sampled_from(["account", "email", "amount", "invoice", "payment", "method", "token", "invoices",
                          "distribute", "key", "date", "due", "currency", "credit", "order", "actor", "extra"])
bodies = st.one_of(
    st.dictionaries(fields, json_values, max_size=8).map(msgspec.json.encode),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
)


def open_with_an_invoice(ledger: Ledger) -> None:
    """What each example finds: ACC1 open, owing INV-1."""
    handle_command(ledger, "account.open", b'{"account": "ACC1", "email": "a@example.com"}')
    handle_command(ledger, "invoice.issue", b'{"account": "ACC1", "invoice": "INV-1", "amount": "10.00", '
                                            b'"date": "2026-09-01", "due": "2026-09-30"}')


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> LedgerCopies:
    """A fresh ledger per example, each a copy of one set up once (the set-up was most of an example's time)."""
    return LedgerCopies(tmp_path_factory.mktemp("fuzz") / "template", open_with_an_invoice)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=st.sampled_from([*COMMANDS, "nope", "payment.submit.extra", ""]), body=bodies)
def test_any_payload_gets_a_typed_reply_and_refusals_write_nothing(ledgers: LedgerCopies, name: str,
                                                                   body: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = ledgers.new(Path(folder))
        try:
            before = ledger.store.recorder.max_notification_id()
            assert before == 2  # the set-up's two events, nothing else
            reply = msgspec.json.decode(handle_command(ledger, name, body))
            assert set(reply) <= {"ok", "error"} and len(reply) == 1
            if "error" in reply:
                assert set(reply["error"]) == {"code", "field", "message"} and reply["error"]["code"]
                assert ledger.store.recorder.max_notification_id() == before
        finally:
            ledger.close()
