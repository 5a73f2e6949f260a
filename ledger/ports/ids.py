"""Id generation, and the deterministic mapping of business ids to aggregate ids.

Business ids ("ACC1", "INV-SEP") map to aggregate UUIDs with uuid5 in fixed namespaces, so every command can
address an account without a lookup table.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Protocol

#: Namespaces of the aggregate id mappings; never change them (stored histories are keyed by them).
ACCOUNT_NAMESPACE = uuid.UUID("6f1c1a52-3c1e-5d4b-9a57-0c1e4a7d2b10")
UNIDENTIFIED_NAMESPACE = uuid.UUID("b2f0e7a4-8d61-5a3c-8e2f-4c9d1b7a6e23")


class IdGenerator(Protocol):
    """Fresh ids for things the ledger names itself (invitations, carts, manual refunds)."""

    def new_id(self, prefix: str) -> str:
        """A new unique id starting with ``prefix``."""
        ...


class RandomIds:
    """Random ids: prefix plus 26 characters of a uuid4 in Crockford-free lower base32."""

    def new_id(self, prefix: str) -> str:
        """A new unique id such as ``CART_3f9k...``."""
        import base64

        raw = base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()
        return f"{prefix}_{raw}"


class SequentialIds:
    """Predictable ids for tests: ``PREFIX-0001``, ``PREFIX-0002`` ... per prefix."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}

    def new_id(self, prefix: str) -> str:
        """The next id of ``prefix``."""
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}-{next(counter):04d}"


def account_uuid(account_id: str) -> uuid.UUID:
    """The aggregate id of the account with business id ``account_id``."""
    return uuid.uuid5(ACCOUNT_NAMESPACE, account_id)


def unidentified_uuid(payment_id: str) -> uuid.UUID:
    """The aggregate id of an unidentified payment awaiting research."""
    return uuid.uuid5(UNIDENTIFIED_NAMESPACE, payment_id)
