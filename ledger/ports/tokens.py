"""Tokens of portal invitations and cart links: only their SHA-256 hash is ever stored.

Raw tokens are derived with HMAC-SHA256(secret, purpose and parts), so the worker that sends the email can
regenerate the link from the event's fields and the secret, and no raw token is ever written down.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


def hash_token(raw: str) -> str:
    """Hex SHA-256 of a raw token: the only form kept in events."""
    return hashlib.sha256(raw.encode()).hexdigest()


def verify(raw: str, token_hash: str) -> bool:
    """Constant-time check of a raw token against its stored hash."""
    return hmac.compare_digest(hash_token(raw), token_hash)


class TokenIssuer:
    """Derives URL-safe raw tokens from a secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the token secret must have at least 16 bytes")
        self._secret = secret

    def issue(self, purpose: str, *parts: str) -> str:
        """The raw token for ``purpose`` (invitation, cart) and its identifying parts."""
        message = "\x1f".join((purpose, *parts)).encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def load_or_create_secret(path: Path) -> bytes:
    """The secret from LEDGER_SECRET, else from ``path`` (32 random bytes written there on first use)."""
    from_env = os.environ.get("LEDGER_SECRET")
    if from_env:
        return from_env.encode()
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    return secret
