"""The contract subscribers rely on, checked as another service would: every message the relay stores on a real
nats-server JetStream validates, with a standard JSON Schema validator (Draft 2020-12), against the published
``docs/schema/events.json``, and carries the business account id in ``Ledger-Account``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from uuid import UUID

import nats
import pytest
from jsonschema import Draft202012Validator

from bench.generator import HistoryGenerator
from ledger.commands import messages as m
from ledger.nats_api.subjects import EVENTS_STREAM
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import ids_as_before, make_ledger, reset_streams
from workers.relay import Relay
from workers.streams import ensure_events_stream

pytestmark = pytest.mark.nats
PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "schema" / "events.json"


def strict(node: Any) -> Any:
    """The document with every object schema closed (``additionalProperties: false``): stricter than JSON
    Schema's default, so a field the relay publishes but the schema does not document fails the test (the
    published document stays open, for subscribers to accept fields added later)."""
    if isinstance(node, dict):
        closed = {key: strict(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [strict(item) for item in node]
    return node


async def relayed(ledger: Any, url: str) -> list[Any]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await reset_streams(js)
    await ensure_events_stream(js)
    relay = Relay(ledger.store, js, batch=500)
    while await relay.publish_batch():
        pass
    relay.close()
    info = await js.stream_info(EVENTS_STREAM)
    messages = [await js.get_msg(EVENTS_STREAM, seq) for seq in range(1, info.state.last_seq + 1)]
    await nc.close()
    return messages


async def test_relayed_messages_validate_against_the_published_schema(
        tmp_path: Path, nats_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids_as_before(monkeypatch)  # "ACC/1-é", from before the safe alphabet: its Ledger-Account is percent-encoded
    ledger = make_ledger(tmp_path)
    HistoryGenerator(ledger.store, accounts=50).run(1500)
    s = ledger.service
    s.handle(m.OpenAccount(account="ACC/1-é", email="ada@example.com"))
    s.handle(m.PlaceOrder(account="ACC/1-é", order="O1", amount="40.00"))
    s.handle(m.SendInvitation(account="ACC/1-é"))  # the login's own aggregate: LoginClaimed
    s.handle(m.ReceiveUnidentifiedPayment(payment="G1", amount="40.00", currency="USD", method="card",
                                          token="tok_visa", reference="order 0001"))
    s.handle(m.ReferToAccounting(payment="G1", note="no such order"))
    s.handle(m.MatchPayment(payment="G1", account="ACC/1-é", order="O1"))
    messages = await relayed(ledger, nats_server)
    ledger.close()
    document = strict(json.loads(PUBLISHED.read_text()))
    Draft202012Validator.check_schema(document)
    seen: Counter[str] = Counter()
    for message in messages:
        name, body = message.headers["Ledger-Event-Type"], json.loads(message.data)
        validator = Draft202012Validator({**document, "$ref": f"#/events/{name}/schema"})
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert not problems, (name, problems[:5])
        header = message.headers.get("Ledger-Account")
        account = None if header is None else unquote(header)  # percent-encoded outside printable ASCII
        if name in ("PaymentReceivedUnidentified", "PaymentReferredToAccounting"):
            assert account is None  # a guest payment belongs to no account until it is matched
        elif name in ("PaymentMatched", "LoginClaimed"):  # on aggregates of their own, naming the account
            assert header == "ACC/1-%C3%A9" and account == body["account_id"] == "ACC/1-é"
        else:
            assert account is not None and account_uuid(account) == UUID(body["originator_id"]), (name, account)
        seen[name] += 1
    assert len(messages) > 1500 and len(seen) >= 15, seen  # a varied history, not one event type


def test_a_message_the_schema_does_not_allow_is_refused() -> None:
    """The validator used above finds what is wrong (a test that cannot fail is no test)."""
    document = strict(json.loads(PUBLISHED.read_text()))
    validator = Draft202012Validator({**document, "$ref": "#/events/PaymentApplied/schema"})
    good = {"originator_id": "6f1c1a52-3c1e-5d4b-9a57-0c1e4a7d2b10", "originator_version": 3,
            "timestamp": "2026-09-01T12:00:00Z", "by": {"kind": "csr", "name": "jdoe", "channel": "cli"},
            "payment_id": "P1", "target_kind": "invoice", "target_id": "I1", "amount": 1000}
    assert [e.message for e in validator.iter_errors(good)] == []
    assert list(validator.iter_errors({**good, "amount": "10.00"}))
    assert list(validator.iter_errors({**good, "target_kind": "basket"}))
    assert list(validator.iter_errors({**good, "card_number": "4242"}))
