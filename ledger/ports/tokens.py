"""Tokens of portal invitations and cart links: only their SHA-256 hash is ever stored.

Seed 002: a portal invitation link is "valid for 72 hours only"; seed 003: an activation link goes to the
primary email; seed 004: a reauthorization sends "a link to a new cart". Raw tokens are derived with
HMAC-SHA256(secret, purpose and parts), so the worker that sends the email can regenerate the link from the
event's fields and the secret, while events hold only ``hash_token(raw)`` and no raw token is written down.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ledger.errors import ValidationError

#: Shortest secret accepted, in bytes (a guessable secret would let anyone mint invitation links).
MIN_SECRET_BYTES = 16
_SECRET_BYTES = 32
_SEPARATOR = "\x1f"


def hash_token(raw: str) -> str:
    """Hex SHA-256 of a raw token: the only form of a token kept in events."""
    return hashlib.sha256(raw.encode()).hexdigest()


def verify(raw: str, token_hash: str) -> bool:
    """True when ``raw`` is the token whose hash was stored; compared in constant time (no timing oracle)."""
    if not isinstance(raw, str) or not isinstance(token_hash, str):
        return False
    return hmac.compare_digest(hash_token(raw).encode(), token_hash.encode())


class TokenIssuer:
    """Derives URL-safe raw tokens from a secret, so links can be rebuilt but never need storing."""

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def issue(self, purpose: str, *parts: str) -> str:
        """The raw token for ``purpose`` ("invitation", "cart") and the parts that identify it.

        The same purpose and parts give the same token (so a worker regenerates the emailed link); any other
        purpose, part or secret gives an unrelated one. Parts may not contain the unit separator U+001F.
        """
        fields = (purpose, *parts)
        if any(not isinstance(f, str) or _SEPARATOR in f for f in fields):
            raise ValueError("token purpose and parts are strings without U+001F")
        digest = hmac.new(self._secret, _SEPARATOR.join(fields).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def load_or_create_secret(path: str | Path, given: bytes | None = None) -> bytes:
    """The HMAC secret: ``given`` (LEDGER_SECRET) if set, else the file at ``path``, created with 32 random bytes
    on first use.

    The file is written whole under a temporary name and linked into place, so processes starting together all
    end up with the one secret and none reads a half-written file. A secret shorter than 16 bytes is refused.
    """
    if given:
        return _strong(given, "LEDGER_SECRET")
    target = Path(path)
    if not target.exists():
        _create(target)
    return _strong(target.read_bytes(), str(target))


def _create(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(_SECRET_BYTES))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: its secret is the secret
            os.link(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)


def _strong(secret: bytes, field: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValidationError(f"the secret must be at least {MIN_SECRET_BYTES} bytes", field=field,
                              code="weak_secret")
    return secret
