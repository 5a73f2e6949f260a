"""The signed session header a portal or staff tool vouches for the person it serves with.

The NATS credential proves which service sends a request (its subject); this header says which person, and for
a customer which account, that service authenticated. It is ``Ledger-Session: v1.<payload>.<signature>``:

* ``payload``: base64url (no padding) of the compact JSON ``{"account", "exp", "kind", "name"}`` with sorted
  keys: ``kind`` ``customer`` or ``guest`` (a portal), ``csr`` or ``finance`` (a staff tool); ``account`` the
  business id a customer's session belongs to (``""`` otherwise); ``exp`` Unix seconds, at most
  ``MAX_LIFETIME`` ahead of the ledger's clock.
* ``signature``: base64url (no padding) of HMAC-SHA256 over the ASCII ``v1.<payload>`` with the credential's
  session key, :func:`session_key` of its NATS password: only that service and the ledger hold it.

The standard library only, so a portal imports this module as it is: ``sign(key, Session(...))``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

HEADER = "Ledger-Session"
VERSION = "v1"
#: Longest a signed session may be valid, from the ledger's clock (a leaked header is useless soon after).
MAX_LIFETIME = 3600


class SessionInvalid(Exception):
    """The header is malformed, signed with another key, expired or too long-lived."""


@dataclass(frozen=True, slots=True)
class Session:
    """Who a portal or staff tool vouches for, until ``exp`` (Unix seconds)."""

    kind: str
    name: str
    exp: int
    account: str = ""


def session_key(password: str) -> bytes:
    """The HMAC key of a credential: HMAC-SHA256 of ``b"ledger-session-v1"`` keyed by its NATS password."""
    return hmac.new(password.encode(), b"ledger-session-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, session: Session) -> str:
    """The ``Ledger-Session`` header value for ``session``."""
    payload = json.dumps({"account": session.account, "exp": session.exp, "kind": session.kind,
                          "name": session.name}, sort_keys=True, separators=(",", ":"))
    signed = f"{VERSION}.{_b64(payload.encode())}"
    return f"{signed}.{_b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())}"


def verify(key: bytes, header: str, now: float) -> Session:
    """The session ``header`` vouches for, if ``key`` signed it and it is valid at ``now`` (Unix seconds)."""
    version, _, rest = header.partition(".")
    payload, _, signature = rest.partition(".")
    if version != VERSION or not payload or not signature:
        raise SessionInvalid("not a v1 session header")
    expected = hmac.new(key, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
        fields = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise SessionInvalid("malformed session header") from None
    if not hmac.compare_digest(expected, given):
        raise SessionInvalid("session signature does not match this credential")
    if not isinstance(fields, dict) or set(fields) != {"account", "exp", "kind", "name"}:
        raise SessionInvalid("session fields are account, exp, kind and name")
    exp, kind, name, account = fields["exp"], fields["kind"], fields["name"], fields["account"]
    if not isinstance(exp, int) or isinstance(exp, bool) or not all(isinstance(v, str) for v in (kind, name, account)):
        raise SessionInvalid("session field types")
    if exp <= now:
        raise SessionInvalid("session expired")
    if exp > now + MAX_LIFETIME:
        raise SessionInvalid(f"session valid for more than {MAX_LIFETIME} s")
    return Session(kind=kind, name=name, exp=exp, account=account)
