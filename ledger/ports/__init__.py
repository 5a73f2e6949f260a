"""Ports: the small interfaces through which time, ids, tokens and the payment gateway reach the domain.

Each port is a Protocol (or, for tokens, one small class) with its pure helpers; adapters that keep state or talk
to the outside world (system and manual clocks, the gateway simulator, mailers) live in ``ledger.adapters``.
The id generators and the token issuer are a few lines each and live beside their port.
"""

from dataclasses import dataclass

from ledger.aggregates.idempotency import check_idempotency_key
from ledger.cards import looks_like_card_number
from ledger.ports.clock import Clock, business_date, parse_instant, start_of_business_day, zone_of
from ledger.ports.gateway import (
    AchReport,
    AchStatus,
    AuthorizationResult,
    ChargeResult,
    Gateway,
    PaymentMethod,
    WatchedGateway,
    check_amount,
    check_token,
    check_transaction_id,
)
from ledger.ports.ids import IdGenerator, RandomIds, SequentialIds, account_uuid, unidentified_uuid
from ledger.ports.tokens import TokenIssuer, hash_token, load_or_create_secret, verify

__all__ = [
    "AchReport",
    "AchStatus",
    "AuthorizationResult",
    "ChargeResult",
    "Clock",
    "Gateway",
    "IdGenerator",
    "PaymentMethod",
    "Ports",
    "RandomIds",
    "SequentialIds",
    "TokenIssuer",
    "WatchedGateway",
    "account_uuid",
    "business_date",
    "check_amount",
    "check_idempotency_key",
    "check_token",
    "check_transaction_id",
    "hash_token",
    "load_or_create_secret",
    "looks_like_card_number",
    "parse_instant",
    "start_of_business_day",
    "unidentified_uuid",
    "verify",
    "zone_of",
]


@dataclass(frozen=True)
class Ports:
    """The side effects the domain may reach, each behind a port with a real and a test adapter."""

    clock: Clock
    gateway: Gateway
    ids: IdGenerator
    tokens: TokenIssuer
