"""Edge validation of the commands' fields (:mod:`ledger.commands.messages`): business ids, free text, emails,
dates, amounts in the account's currency, gateway tokens, and no card number anywhere. Each refusal is a
:class:`ValidationError` naming the field; nothing is written.
"""

from __future__ import annotations

import re
from datetime import date

import msgspec

from ledger.aggregates import Account
from ledger.cards import card_number_field
from ledger.errors import ValidationError
from ledger.money import parse_amount
from ledger.ports.gateway import check_token
from ledger.ports.tokens import hash_token

_ID_LIMIT = 64


def refuse_card_numbers(command: msgspec.Struct) -> None:
    """Refuse a command with anything that looks like a card number in any of its text (ids, references,
    names, descriptions, keys, the actor, the keys and values of allocation maps), naming the field: only
    gateway tokens may be stored (seed 002), and every text of a command ends up in an event, on JetStream,
    in the read models and in emails. The ``token`` field gets the same check with its own message. Issue 15:
    a date and an amount in a row are refused one time in six (their digits pass Luhn), so the message says
    how to write them."""
    field = card_number_field(msgspec.to_builtins(command))
    if field is not None:
        raise ValidationError("card numbers are never accepted, in any field (13-19 digits passing the Luhn "
                              "check, whatever short runs of punctuation or spaces are between them: put a word "
                              "between numbers that are not one)", field=field or "body", code="raw_card_number")


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


def check_reference(value: str, field: str) -> str:
    """The id of something that may already exist (the account a command is for, an invoice or order a payment
    names): :func:`check_id`'s rule, or the rule ids were created under before it (1-64 printable characters, no
    space), so an account or invoice recorded before the safe alphabet can still be paid, read and closed. A
    look-alike of an existing id finds nothing (``not_found``): only :func:`check_id` creates."""
    if not isinstance(value, str) or not value or len(value) > _ID_LIMIT:
        raise ValidationError(f"{field} must be 1-{_ID_LIMIT} characters", field=field, code="invalid_id")
    if not value.isprintable() or " " in value:  # every other whitespace character is not printable
        raise ValidationError(f"{field} must not contain spaces or control characters", field=field,
                              code="invalid_id")
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


def amount_of(account: Account, text: str, field: str = "amount", *, allow_zero: bool = False) -> int:
    """Minor units of ``text`` in the account's currency (0.00 only where ``allow_zero``: an order's price)."""
    return parse_amount(text, account.state.currency, field, allow_zero=allow_zero)


def gateway_token(token: str, field: str = "token") -> str:
    """A gateway token; a raw card number is refused and never reaches an event."""
    return check_token(token, field)


#: A cart link's raw token: URL-safe base64 as :class:`ledger.ports.tokens.TokenIssuer` makes them (43 characters),
#: with room for a longer secret's.
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def cart_proof(cart: str | None, cart_token: str | None) -> tuple[str | None, str]:
    """The cart a checkout names and the hash of its link token (``(None, "")`` when it names none): both or
    neither; the token is never kept, only its hash goes on to the account (seed 004)."""
    if cart is None and cart_token is None:
        return None, ""
    if cart is None:
        raise ValidationError("a cart token comes with its cart", field="cart", code="required")
    if not isinstance(cart_token, str) or not _LINK_TOKEN.fullmatch(cart_token):
        raise ValidationError("this cart link is not valid", field="cart_token", code="cart_token_invalid")
    return check_reference(cart, "cart"), token_hash(cart_token)


def token_hash(raw: str) -> str:
    """SHA-256 of a raw token: the only form stored."""
    return hash_token(raw)
