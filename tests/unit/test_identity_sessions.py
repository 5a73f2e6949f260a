"""The signed session header (ledger.identity.sessions) and each role's NATS permissions (ledger.identity.roles)."""

from __future__ import annotations

import pytest

from ledger.errors import ValidationError
from ledger.identity.roles import permissions
from ledger.identity.sessions import MAX_LIFETIME, Session, SessionInvalid, session_key, sign, verify

KEY = session_key("portal-password")
NOW = 1_800_000_000


def test_a_signed_session_verifies_with_its_key_only() -> None:
    session = Session(kind="customer", name="ada@example.com", account="ACC1", exp=NOW + 60)
    header = sign(KEY, session)
    assert verify(KEY, header, NOW) == session
    with pytest.raises(SessionInvalid, match="signature"):
        verify(session_key("another-password"), header, NOW)


def test_a_session_cannot_be_altered_expired_or_too_long() -> None:
    header = sign(KEY, Session(kind="customer", name="ada", account="ACC1", exp=NOW + 60))
    version, payload, signature = header.split(".")
    other = sign(KEY, Session(kind="customer", name="ada", account="ACC2", exp=NOW + 60)).split(".")[1]
    with pytest.raises(SessionInvalid):
        verify(KEY, f"{version}.{other}.{signature}", NOW)  # another account under the first signature
    with pytest.raises(SessionInvalid, match="expired"):
        verify(KEY, header, NOW + 60)
    with pytest.raises(SessionInvalid, match="more than"):
        verify(KEY, sign(KEY, Session(kind="guest", name="g", exp=NOW + MAX_LIFETIME + 1)), NOW)
    for garbled in ("", "v2.x.y", "v1..", "v1.!!.??", f"v1.{payload}"):
        with pytest.raises(SessionInvalid):
            verify(KEY, garbled, NOW)


def test_only_the_admin_may_purge_delete_or_update_streams() -> None:
    for role, name in (("ledger", ""), ("relay", ""), ("worker", "emails"), ("portal", "web"), ("staff", "jdoe"),
                       ("subscriber", "bi")):
        granted = permissions(role, name)
        assert granted is not None
        allowed = " ".join(granted["publish"]["allow"])
        assert "DELETE" not in allowed and "PURGE" not in allowed and "$JS.API.>" not in allowed
        assert ".UPDATE." not in allowed
        assert granted["subscribe"]["allow"][-1] == f"_INBOX_{role}{'-' + name if name else ''}.>"
    assert permissions("admin") is None
    with pytest.raises(ValidationError):
        permissions("root")
