"""Idempotency (DESIGN invariant 6): the same key twice has the effect of once and answers the first result; the
same key with another request is refused (``idempotency_key_reused``).

Every piece of it is here: the keys a command may carry and the key the gateway sees, the fingerprints of a
request (of a command's body, or of what a money request does), and the check of a key against the account's
records, and how a record is kept (:func:`remember`, which ``evolve`` calls for each event that carries a key:
a payment's ``PaymentSubmitted``, a refund's ``PaymentRefunded`` / ``CreditRefunded``).
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import msgspec

from ledger.aggregates.state import AccountState, IdempotencyRecord
from ledger.errors import Conflict, ValidationError


def idempotency_key(key: str | None, default: str) -> str:
    """The command's key, or one derived from its business id; bounded and printable."""
    chosen = key if key is not None else default
    if not chosen or len(chosen) > 128 or any(not c.isprintable() for c in chosen):
        raise ValidationError("the idempotency key must be 1-128 printable characters", field="key")
    return chosen


def check_idempotency_key(key: str, field: str = "key") -> str:
    """An idempotency key as the gateway takes it: 1-255 printable characters."""
    if not isinstance(key, str) or not key or len(key) > 255 or not key.isprintable():
        raise ValidationError("an idempotency key of 1-255 printable characters is required", field=field,
                              code="invalid_key")
    return key


def gateway_key(scope: UUID, key: str) -> str:
    """The idempotency key the gateway sees: the aggregate's id (32 hex digits, never a colon) then the command's
    key. Ids and keys may hold colons, so ``account:key`` could be spelt alike by two accounts (``B`` with key
    ``payment:P1``, ``B:payment`` with ``P1``) and one charge be recorded by both."""
    return f"{scope.hex}:{key}"


#: Fields added to a command after its requests were first fingerprinted: left out of the fingerprint while unset,
#: so a request made before they existed, retried after an upgrade, is still the same request.
ADDED_FIELDS = ("purpose", "saved")


def request_hash(command: msgspec.Struct) -> str:
    """Fingerprint of a command's body (without key and actor) for idempotency checks."""
    body = msgspec.to_builtins(command)
    body.pop("key", None)
    body.pop("actor", None)
    for name in ADDED_FIELDS:
        if body.get(name, "") is None:
            del body[name]
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


def request_fingerprint(kind: str, source_id: str, amount: int) -> str:
    """The fingerprint of a money request by what it does (``kind`` "refund" of a payment, "credit-refund" of
    a credit, "capture" of a hold into a payment) and the amount it resolves to, computed alike from the
    command and from its event: a key reused for another request, or another kind of command, is refused
    rather than answered with the first result, and a retry written differently ("80" for "80.00") is not."""
    return hashlib.sha256(f"{kind}|{source_id}|{amount}".encode()).hexdigest()


def check_repeat(state: AccountState, key: str, digest: str, *earlier: str) -> str | None:
    """The id first recorded under ``key`` on the account, or None; the same key with another body, or for
    another kind of command (its fingerprint differs too), is refused."""
    seen = state.idempotency.get(key)
    if seen is None:
        return None
    if seen.request_hash not in (digest, *earlier):
        raise Conflict("this idempotency key was used for a different request", field="key",
                       code="idempotency_key_reused")
    return seen.result_id


def remember(state: AccountState, key: str, fingerprint: str, result_id: str) -> None:
    """Keep what ``key`` was first used for: the request's fingerprint and what it produced (a payment id, a
    refund's transaction id), for :func:`check_repeat` to answer a repeat with."""
    state.idempotency[key] = IdempotencyRecord(fingerprint, result_id)
