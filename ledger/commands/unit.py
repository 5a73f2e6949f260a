"""One attempt at one command: the aggregates it loaded, the ports it may use, and the edge validation.

Handlers load through the unit, call one aggregate method and return an :class:`Outcome`; the service saves
every aggregate the unit touched in one transaction, or retries the whole attempt on a concurrency conflict.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, cast

import msgspec
import structlog

from ledger.aggregates import Account, UnidentifiedPayment
from ledger.aggregates import events as ev
from ledger.cards import card_number_field
from ledger.commands.messages import ActorIn
from ledger.errors import NotFound, ValidationError
from ledger.money import parse_amount
from ledger.ports.clock import Clock
from ledger.ports.gateway import Gateway, check_token
from ledger.ports.ids import IdGenerator, account_uuid, unidentified_uuid
from ledger.ports.tokens import TokenIssuer, hash_token
from ledger.store.application import LedgerStore

_ID_LIMIT = 64
#: How far a running clock may be behind an account's newest event and still record after it (see _not_before).
CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class Ports:
    """The side effects the domain may reach, each behind a port with a real and a test adapter."""

    clock: Clock
    gateway: Gateway
    ids: IdGenerator
    tokens: TokenIssuer


class WatchedGateway:
    """The gateway as one command attempt sees it, noting what it did there (``acted``: what and which
    transaction), so that a failure to record it afterwards (a full disk, the store gone) can say so."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.acted: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.gateway, name)
        if name not in ("charge", "authorize", "capture", "refund", "void"):
            return method

        def watched(**kwargs: Any) -> Any:
            result = method(**kwargs)
            if result.status in ("approved", "pending"):
                self.acted.append(f"{name} {result.transaction_id}")
            return result

        return watched


class Unit:
    """The aggregates and context of one command attempt.

    ``after_conflict``: an earlier attempt of the same command lost a write race (another writer saved the account
    first) after running to its end, so whatever it asked of the gateway was done (a charge, a hold). Handlers
    then record that, or undo it, rather than refuse on state the other writer changed meanwhile. ``memo`` is
    shared by every attempt of one command: what an attempt asked the gateway for, so that a retry asks the same.
    ``after_commit`` actions run once the command's events are saved (releasing an old hold at the gateway only
    when the new one is on record); ``on_refused`` actions once the command is finally refused (undoing what an
    earlier attempt got from the gateway), not when an attempt is merely decided again on fresher state.
    """

    def __init__(self, store: LedgerStore, ports: Ports, actor: ActorIn | None, *,
                 after_conflict: bool = False, memo: dict[str, Any] | None = None) -> None:
        self.store = store
        self.gateway = WatchedGateway(ports.gateway)
        self.ports = replace(ports, gateway=cast(Gateway, self.gateway))
        self.after_conflict = after_conflict
        self.memo: dict[str, Any] = {} if memo is None else memo
        self._after_commit: list[Callable[[], Any]] = []
        self._on_refused: list[Callable[[], Any]] = []
        by = actor or ActorIn()
        if by.kind not in ev.base.ACTOR_KINDS:
            raise ValidationError(f"unknown actor kind {by.kind!r}", field="actor.kind")
        if by.channel not in ev.base.CHANNELS:
            raise ValidationError(f"unknown channel {by.channel!r}", field="actor.channel")
        self.ctx = ev.Context(at=ports.clock.now(), by=ev.Actor(by.kind, check_text(by.name, "actor.name"),
                                                                   by.channel))
        self.touched: list[Any] = []

    def account(self, account_id: str) -> Account:
        """Load the account named by its business id (NotFound names the ``account`` field)."""
        account = self.store.account(account_uuid(check_id(account_id, "account")))
        self.touched.append(account)
        self._not_before(account.modified_on)
        return account

    def new_account(self, account: Account) -> Account:
        """Track a newly opened account."""
        self.touched.append(account)
        return account

    def account_exists(self, account_id: str) -> Account | None:
        """The account, or None when no such account was opened."""
        try:
            return self.store.account(account_uuid(account_id))
        except NotFound:
            return None

    def unidentified(self, payment_id: str) -> UnidentifiedPayment:
        """Load an unidentified payment awaiting research."""
        found = self.store.unidentified(unidentified_uuid(check_id(payment_id, "payment")))
        self.touched.append(found)
        self._not_before(found.modified_on)
        return found

    def _not_before(self, newest: datetime) -> None:
        """On a running clock, keep the command's time at or after a loaded aggregate's newest event when that
        event is at most ``CLOCK_SKEW`` newer: the clock was read before loading, and another process (or
        host, clocks a little apart) may have written in between. Anything further ahead (an event written
        ``--at`` a future instant) and a chosen time (``--at``) are left for the aggregate to refuse: moving
        far forward would stamp this command, and its expiry checks, with a time that has not come."""
        if self.ctx.at < newest <= self.ctx.at + CLOCK_SKEW and not self.ports.clock.fixed:
            self.ctx = ev.Context(at=newest, by=self.ctx.by)

    def track(self, aggregate: Any) -> None:
        """Save ``aggregate`` with the others when the command succeeds."""
        self.touched.append(aggregate)

    def commit(self) -> list[tuple[ev.Event, int | None]]:
        """Save every touched aggregate in one transaction; returns each event with its log position."""
        recordings = self.store.save(*self.touched)
        return [(cast(ev.Event, r.domain_event), r.notification.id if r.notification else None) for r in recordings]

    def after_commit(self, action: Callable[[], Any]) -> None:
        """Run ``action`` once this attempt's events are saved (never when it is refused or loses a race)."""
        self._after_commit.append(action)

    def on_refused(self, action: Callable[[], Any]) -> None:
        """Run ``action`` if the command ends refused by this attempt's refusal."""
        self._on_refused.append(action)

    def committed(self) -> None:
        """Run the after-commit actions; one that fails is logged (the command itself is done)."""
        _run_all(self._after_commit, "after_commit_failed")

    def refused(self) -> None:
        """Run the on-refused actions; one that fails is logged (the refusal stands)."""
        _run_all(self._on_refused, "on_refused_failed")


def _run_all(actions: list[Callable[[], Any]], failure: str) -> None:
    for action in actions:
        try:
            action()
        except Exception as error:
            structlog.get_logger("ledger.commands").error(failure, error=repr(error), exc_info=error)


def refuse_card_numbers(command: msgspec.Struct) -> None:
    """Refuse a command with anything that looks like a card number in any of its text (ids, references,
    names, descriptions, keys, the actor, the keys and values of allocation maps), naming the field: only
    gateway tokens may be stored (seed 002), and every text of a command ends up in an event, on JetStream,
    in the read models and in emails. The ``token`` field gets the same check with its own message."""
    field = card_number_field(msgspec.to_builtins(command))
    if field is not None:
        raise ValidationError("card numbers are never accepted, in any field", field=field or "body",
                              code="raw_card_number")


#: The characters of a business id (README "Ids"): ASCII letters and digits and ``. _ : / # @ + -``. Nothing
#: else, so no two ids that look alike can name two accounts: no Cyrillic or Greek letter that looks Latin
#: ("UHOMO\u0410" and "UHOMOA"), no accent written two ways (NFC "CAF\u00c9" and NFD "CAFE\u0301"), no invisible
#: or fullwidth character, no space.
ID_CHARACTERS = re.compile(r"[A-Za-z0-9._:/#@+-]+")


def check_id(value: str, field: str) -> str:
    """A business id: 1-64 characters of :data:`ID_CHARACTERS`."""
    if not isinstance(value, str) or not value or len(value) > _ID_LIMIT:
        raise ValidationError(f"{field} must be 1-{_ID_LIMIT} characters", field=field, code="invalid_id")
    if not ID_CHARACTERS.fullmatch(value):
        raise ValidationError(f"{field} may hold only the letters A-Z and a-z, the digits 0-9 and . _ : / # @ + -",
                              field=field, code="invalid_id")
    return value


def check_text(value: str, field: str, limit: int = 500) -> str:
    """Free text (reasons, references, names): bounded, printable."""
    if len(value) > limit or not value.isprintable():
        raise ValidationError(f"{field} must be at most {limit} printable characters", field=field)
    return value


#: One address as mail servers take it (RFC 5321 dot-atom local part, a domain of letter-digit-hyphen labels):
#: no display names, no second recipient after a comma, no control characters.
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
#: Dates a ledger records: written YYYY-MM-DD, within these years.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_YEARS = range(1900, 2200)


def check_email(value: str, field: str = "email") -> str:
    """One email address: ``local@domain.tld``, ASCII, at most 254 characters."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationError(f"{value!r} is not an email address", field=field, code="invalid_email")
    return value


def check_date(value: str, field: str) -> date:
    """A date written YYYY-MM-DD (2026-09-01), between the years 1900 and 2199."""
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", field=field, code="invalid_date") from None
    if parsed.year not in DATE_YEARS:
        raise ValidationError(f"{value} is not between {DATE_YEARS[0]} and {DATE_YEARS[-1]}", field=field,
                              code="invalid_date")
    return parsed


def amount_of(account: Account, text: str, field: str = "amount") -> int:
    """Minor units of ``text`` in the account's currency."""
    return parse_amount(text, account.state.currency, field)


def gateway_token(token: str, field: str = "token") -> str:
    """A gateway token; a raw card number is refused and never reaches an event."""
    return check_token(token, field)


def request_hash(command: msgspec.Struct) -> str:
    """Fingerprint of a command's body (without key and actor) for idempotency checks."""
    body = msgspec.to_builtins(command)
    body.pop("key", None)
    body.pop("actor", None)
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


def token_hash(raw: str) -> str:
    """SHA-256 of a raw token: the only form stored."""
    return hash_token(raw)
