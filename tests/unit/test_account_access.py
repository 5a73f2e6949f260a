"""Portal invitations (seeds 002, 003) and saved methods / autopay (seed 002)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.errors import Conflict, Expired, PolicyViolation, ValidationError

T0 = datetime(2026, 9, 1, 14, tzinfo=UTC)


def at(**delta: float) -> ev.Context:
    return ev.Context(at=T0 + timedelta(**delta), by=ev.Actor("csr", "jdoe", "csr"))


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_account() -> Account:
    account = Account.open(at(), aggregate_id=uuid4(), account_id="ACC1", currency="USD", email="p@example.com")
    account.collect_events()
    return account


def test_invitation_goes_to_the_primary_email_and_stores_only_the_hash() -> None:
    account = new_account()
    sent = account.send_invitation(at(), invitation_id="INV1", token_hash=digest("raw-secret"))
    assert sent.email == "p@example.com"
    assert sent.expires_at == T0 + timedelta(hours=72)
    assert b"raw-secret" not in msgspec.json.encode(account.collect_events())


def test_invitation_is_valid_for_72_hours_only() -> None:
    account = new_account()
    account.send_invitation(at(), invitation_id="INV1", token_hash=digest("t1"))
    account.collect_events()
    with pytest.raises(Expired) as caught:
        account.accept_invitation(at(hours=72), token_hash=digest("t1"))
    assert caught.value.field == "token"
    assert account.pending_events == ()
    account.accept_invitation(at(hours=71, minutes=59), token_hash=digest("t1"))
    assert account.state.invitation is not None and account.state.invitation.status == "accepted"


def test_expired_invitation_must_be_resent_and_the_old_link_dies() -> None:
    account = new_account()
    account.send_invitation(at(), invitation_id="INV1", token_hash=digest("t1"))
    with pytest.raises(PolicyViolation):
        account.expire_invitation(at(hours=71))
    account.expire_invitation(at(hours=73))
    account.resend_invitation(at(hours=80), token_hash=digest("t2"))
    with pytest.raises(PolicyViolation):
        account.accept_invitation(at(hours=81), token_hash=digest("t1"))
    account.accept_invitation(at(hours=80 + 71), token_hash=digest("t2"))
    with pytest.raises(Conflict):
        account.send_invitation(at(hours=200), invitation_id="INV2", token_hash=digest("t3"))


def test_a_pending_invitation_is_resent_not_sent_again() -> None:
    account = new_account()
    account.send_invitation(at(), invitation_id="INV1", token_hash=digest("t1"))
    with pytest.raises(Conflict) as caught:
        account.send_invitation(at(hours=1), invitation_id="INV2", token_hash=digest("t2"))
    assert caught.value.code == "invitation_pending"


def test_first_saved_method_becomes_default_and_autopay_needs_one() -> None:
    account = new_account()
    with pytest.raises(PolicyViolation) as caught:
        account.enable_autopay(at())
    assert caught.value.code == "autopay_needs_method"
    account.add_method(at(), method="M1", kind="card", token="tok_visa", brand="visa", last4="4242",
                       exp_month=12, exp_year=2030)
    assert account.state.default_method == "M1"
    account.enable_autopay(at())
    with pytest.raises(PolicyViolation):
        account.remove_method(at(), method="M1")
    account.disable_autopay(at())
    account.remove_method(at(), method="M1")
    assert account.state.methods == {} and account.state.default_method is None


def test_saved_method_details_are_validated() -> None:
    account = new_account()
    with pytest.raises(ValidationError) as caught:
        account.add_method(at(), method="M1", kind="card", token="tok_visa", brand="visa", last4="42",
                           exp_month=12, exp_year=2030)
    assert caught.value.field == "last4"
    with pytest.raises(ValidationError):
        account.add_method(at(), method="M1", kind="card", token="tok_visa", brand="visa", last4="4242")
