"""The msgspec mapper: every event type round-trips; old versions are upcast; topics are stable names."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import JSONTranscoder

from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line
from ledger.store import mapper, topics
from ledger.store.mapper import MsgspecMapper, decode_event

SAMPLES: dict[type[Any], Any] = {
    int: 1234, str: "x", bool: True, datetime: datetime(2026, 9, 1, tzinfo=UTC), date: date(2026, 9, 1),
}


def sample(cls: type[ev.Event]) -> ev.Event:
    """An instance of ``cls`` with plausible values in every field."""
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        if field.name in ("originator_id", "originator_version", "timestamp", "by"):
            continue
        values[field.name] = _value(field.type)
    return cls(originator_id=uuid4(), originator_version=3, timestamp=datetime(2026, 9, 1, tzinfo=UTC),
               by=ev.Actor("csr", "jdoe", "csr"), **values)


def _value(tp: Any) -> Any:
    if tp in SAMPLES:
        return SAMPLES[tp]
    if tp is Instruction:
        return Instruction("explicit", (Line("invoice", "INV-1", 100),))
    if tp is Line:
        return Line("invoice", "INV-1", 100)
    if tp is ev.OrderItem:
        return ev.OrderItem(sku="TSHIRT-M", description="T-shirt", quantity=2, unit_price=1250)
    if getattr(tp, "__origin__", None) is tuple:
        return (_value(tp.__args__[0]),)
    args = getattr(tp, "__args__", ())
    if args:  # Optional / Literal / Union: take the first non-None choice
        first = next(a for a in args if a is not type(None))
        return first if isinstance(first, str) else _value(first)
    raise AssertionError(f"no sample for {tp}")


@pytest.mark.parametrize("cls", sorted(ev.EVENT_TYPES.values(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_event_round_trips(cls: type[ev.Event]) -> None:
    mapper = MsgspecMapper(transcoder=JSONTranscoder())
    event = sample(cls)
    stored = mapper.to_stored_event(event)
    assert stored.topic == f"{cls.__name__}:{cls.class_version}"
    assert mapper.to_domain_event(stored) == event


def test_catalogue_covers_the_design() -> None:
    expected = {
        "AccountOpened", "InvitationSent", "InvitationResent", "InvitationAccepted", "InvitationExpired",
        "OrderPlaced", "OrderPriceChanged", "OrderCancelled", "OrderReplaced", "InvoiceIssued", "InvoiceAdjusted",
        "InvoiceVoided", "PaymentSubmitted", "PaymentSettled", "PaymentDeclined", "PaymentReturned",
        "PaymentRefunded", "PaymentApplied", "PaymentDeposited", "PaymentUnapplied", "CreditIssued",
        "CreditApplied", "CreditRefunded", "CardAuthorized", "AuthorizationExpired", "ReauthorizationRequested",
        "Reauthorized", "ReauthorizationFailed", "AuthorizationCaptured", "AuthorizationVoided",
        "PaymentMethodAdded", "PaymentMethodRemoved", "DefaultPaymentMethodSet", "AutopayEnabled",
        "AutopayDisabled", "PaymentReceivedUnidentified", "PaymentMatched", "PaymentReferredToAccounting",
    }
    assert expected <= set(ev.EVENT_TYPES)


def test_an_old_version_is_upcast_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    event = sample(ev.OrderCancelled)
    old = msgspec.json.decode(msgspec.json.encode(event))
    del old["reason"]
    old["why"] = "customer asked"
    monkeypatch.setattr(ev.OrderCancelled, "class_version", 2)
    monkeypatch.setattr(mapper, "_current", {})  # decoders by topic are cached for the versions of the code
    monkeypatch.setitem(topics.UPCASTERS, ("OrderCancelled", 1),
                        lambda s: {**{k: v for k, v in s.items() if k != "why"}, "reason": s["why"]})
    decoded = decode_event("OrderCancelled:1", msgspec.json.encode(old))
    assert decoded.reason == "customer asked"
    assert decoded.originator_id == event.originator_id


def test_missing_upcaster_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev.OrderCancelled, "class_version", 2)
    monkeypatch.setattr(mapper, "_current", {})
    with pytest.raises(LookupError):
        decode_event("OrderCancelled:1", msgspec.json.encode(sample(ev.OrderCancelled)))


def test_unknown_topic_is_refused() -> None:
    with pytest.raises(LookupError):
        decode_event("Nope:1", b"{}")


def test_an_order_placed_before_line_items_is_read_with_none() -> None:
    event = sample(ev.OrderPlaced)
    stored = MsgspecMapper(transcoder=JSONTranscoder()).to_stored_event(event)
    old = msgspec.json.decode(stored.state)
    del old["items"]
    version_1 = stored.__class__(originator_id=stored.originator_id, originator_version=stored.originator_version,
                                 topic="OrderPlaced:1", state=msgspec.json.encode(old))
    read = MsgspecMapper(transcoder=JSONTranscoder()).to_domain_event(version_1)
    assert isinstance(read, ev.OrderPlaced) and read.items == () and read.order_id == event.order_id


def test_an_actor_with_no_via_encodes_as_before_it_existed() -> None:
    """``via`` (the NATS user that carried a portal's or staff tool's request) is left out when empty: events
    recorded before it encode, and so hash in the audit chain, exactly as they did."""
    assert msgspec.json.encode(ev.Actor("csr", "jdoe", "csr")) == b'{"kind":"csr","name":"jdoe","channel":"csr"}'
    carried = msgspec.json.decode(msgspec.json.encode(ev.Actor("customer", "c-1", "portal", "portal-web")),
                                  type=ev.Actor)
    assert carried.via == "portal-web" and carried.describe() == "customer c-1 via portal-web"


def test_a_payment_submitted_before_plans_is_read_with_none() -> None:
    event = sample(ev.PaymentSubmitted)
    old = msgspec.json.decode(msgspec.json.encode(event))
    del old["planned"]
    read = decode_event("PaymentSubmitted:2", msgspec.json.encode(old))
    assert isinstance(read, ev.PaymentSubmitted) and read.planned is None and read.payment_id == event.payment_id
