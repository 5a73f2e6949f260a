"""Id generation, and the deterministic mapping of business ids to aggregate ids.

Business ids ("ACC1", "INV-SEP") map to aggregate UUIDs with uuid5 in fixed namespaces, so every command can
address an account without a lookup table (seed 000: a guest pays against "their order number ... and customer
number", and a payment that matches nothing still needs an address of its own while it waits for research).
The two small id adapters live here beside their protocol: ``RandomIds`` (real) and ``SequentialIds`` (tests).
"""

from __future__ import annotations

import base64
import functools
import uuid
from typing import Protocol

#: Namespaces of the aggregate id mappings; never change them (stored histories are keyed by them).
ACCOUNT_NAMESPACE = uuid.UUID("6f1c1a52-3c1e-5d4b-9a57-0c1e4a7d2b10")
UNIDENTIFIED_NAMESPACE = uuid.UUID("b2f0e7a4-8d61-5a3c-8e2f-4c9d1b7a6e23")
LOGIN_NAMESPACE = uuid.UUID("0d3b8f5e-6a1c-5e2f-9b47-3c8e1f2a7d64")


class IdGenerator(Protocol):
    """Fresh ids for things the ledger names itself (invitations, carts, manual refunds)."""

    def new_id(self, prefix: str) -> str:
        """A new unique id starting with ``prefix``."""
        ...


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix or not all(c.isascii() and (c.isalnum() or c in "-_")
                                                            for c in prefix):
        raise ValueError(f"an id prefix is ASCII letters, digits, '-' or '_', not {prefix!r}")
    return prefix


class RandomIds:
    """Random ids: ``prefix`` + "_" + 26 lower-case base32 characters of a uuid4 (128 random-ish bits)."""

    def new_id(self, prefix: str) -> str:
        """A new unique id such as ``CART_3f9k...`` (26 characters after the underscore)."""
        raw = base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()
        return f"{_check_prefix(prefix)}_{raw}"


class SequentialIds:
    """Predictable ids for tests: ``PAY-0001``, ``PAY-0002`` ... counted per prefix."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def new_id(self, prefix: str) -> str:
        """The next id of ``prefix``."""
        count = self._counters.get(_check_prefix(prefix), 0) + 1
        self._counters[prefix] = count
        return f"{prefix}-{count:04d}"


def account_uuid(account_id: str) -> uuid.UUID:
    """The aggregate id of the account with business id ``account_id`` (the same id always gives the same UUID)."""
    if not isinstance(account_id, str):
        raise TypeError("an account id is a string")
    return _account_uuid(account_id)


@functools.lru_cache(maxsize=1 << 16)
def _account_uuid(account_id: str) -> uuid.UUID:
    """Every command names its account: a SHA-1 per command saved for the busy ones."""
    return uuid.uuid5(ACCOUNT_NAMESPACE, account_id)


def unidentified_uuid(payment_id: str) -> uuid.UUID:
    """The aggregate id of a guest payment that matched nothing and waits for research (seed 000, step 6c)."""
    if not isinstance(payment_id, str):
        raise TypeError("a payment id is a string")
    return uuid.uuid5(UNIDENTIFIED_NAMESPACE, payment_id)


def login_uuid(email: str) -> uuid.UUID:
    """The aggregate id of the portal login of ``email``, compared case-insensitively (seed 003: one login per
    customer, the primary email)."""
    return uuid.uuid5(LOGIN_NAMESPACE, email.strip().casefold())
