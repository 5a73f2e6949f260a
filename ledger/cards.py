"""Recognising card numbers in text (PCI: a card number is never stored, logged or echoed).

Tokens are checked eagerly (:func:`looks_like_card_number`: any 13-19 digit stretch passing Luhn, separators
ignored); free text (names, references, ids) with fewer false alarms (:func:`card_number_in_text`: card-shaped
numbers, as people write them, starting as card networks' numbers do). :func:`displayable` is what every
echo and log line goes through: card numbers redacted, control characters shown as escapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_CARD_DIGITS = (13, 19)
#: Anything between the digits of a token that is not a letter or a digit ("4242_4242 4242/4242").
_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")
_DIGIT_RUN = re.compile(r"[0-9]{13,}")
#: Any decimal digit Unicode knows (``\d`` in a str pattern): fullwidth, Arabic-Indic, Devanagari ...
_ANY_DIGIT = re.compile(r"\d")


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit written as its ASCII digit (a card number in fullwidth is one)."""
    if text.isascii():
        return text
    return _ANY_DIGIT.sub(lambda digit: chr(ord("0") + unicodedata.digit(digit.group())), text)


def _luhn_value(digit: int, offset: int) -> int:
    """A digit's share of the Luhn sum, ``offset`` places from the right end of the number."""
    if offset % 2 == 0:
        return digit
    return digit * 2 - 9 if digit > 4 else digit * 2


def _has_luhn_window(run: str) -> bool:
    """True when some 13-19 digit stretch of the digit string ``run`` passes the Luhn check."""
    low, high = _CARD_DIGITS
    values = [int(char) for char in run]
    for end in range(low, len(values) + 1):
        total = 0
        for offset in range(min(high, end)):
            total += _luhn_value(values[end - 1 - offset], offset)
            if offset + 1 >= low and total % 10 == 0:
                return True
    return False


def looks_like_card_number(text: str) -> bool:
    """True when ``text``, with spaces and dashes removed, holds 13-19 consecutive digits that pass Luhn.

    Seed 002 / DESIGN "methods": only a gateway token, brand, last four and expiry are ever stored, so a card
    number must be recognised however it is written ("4242 4242 4242 4242", "4242-4242-...", glued to other
    digits). A stretch inside a longer run of digits counts too: a false refusal is better than a stored PAN.
    """
    if not isinstance(text, str):
        return False
    compact = _SEPARATORS.sub("", ascii_digits(text))
    return any(_has_luhn_window(match.group()) for match in _DIGIT_RUN.finditer(compact))


#: Between the groups of a card number as people write it: up to three spaces (any kind), dashes, dots,
#: underscores, slashes, commas, pluses or colons ("4242 4242", "4242-4242", "4242 - 4242", "4242/4242").
_SEP = r"[\s.\-_/,+:]{1,3}"
#: A card number in text, not inside a longer run of digits: contiguous 13-23 digits (a card number with its
#: expiry or CVV glued on), or grouped as cards are printed (4-4-4-4 with a shorter last group, 4-6-5) or as 4
#: then the rest; what follows (an expiry, a CVV) may be one more group, so every run of whole groups of 13-19
#: digits is a candidate.
_PAN_IN_TEXT = re.compile(rf"(?<![0-9])(?:[0-9]{{13,23}}|[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{2,3}}(?:{_SEP}[0-9]{{1,4}})*"
                          rf"|[0-9]{{4}}{_SEP}[0-9]{{6}}{_SEP}[0-9]{{4,5}}|[0-9]{{4}}{_SEP}[0-9]{{9,15}})(?![0-9])")
#: A 15 (Amex) or 16 digit number followed, without a separator, by an expiry or a CVV (2-7 more digits).
_GLUED = {15: range(17, 23), 16: range(18, 24)}
#: Hashes and UUIDs (hex with digits in long runs) are ids, never card text, alone or inside a key.
_HEX_ID = re.compile(r"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: Fields the gateway fills in (its transaction ids, ``txn_5956f1a5d369769950377759``): never a person's text, so
#: never scanned; one in a hundred holds a 13-19 digit stretch passing Luhn.
GATEWAY_FIELDS = frozenset({"transaction_id", "refund_transaction_id"})


def card_number_in_text(text: str) -> bool:
    """True when ``text`` holds what reads as a card number: 13-19 digits (contiguous or in printed groups, not
    part of a longer number) that start as every card network's numbers do (2-6) and pass Luhn.

    Less eager than :func:`looks_like_card_number` (for tokens, where anything is suspect): ids, references and
    names carry dates, order numbers, hashes and UUIDs, which must pass; a bare 13-19 digit number starting
    with 2-6 that passes Luhn (one in ten) is refused, since it cannot be told from a card number.
    """
    return next(card_number_spans(text), None) is not None


def card_number_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where :func:`card_number_in_text` finds card numbers in ``text``: (start, end) of each."""
    if not isinstance(text, str) or len(text) < 13:
        return
    # Hashes and UUIDs are blanked out (even inside a key); a blank is one character, so spans stay true.
    scanned = _HEX_ID.sub(lambda hexed: " " * len(hexed.group()), ascii_digits(text))
    for match in _PAN_IN_TEXT.finditer(scanned):
        if _holds_card_number(re.findall(r"[0-9]+", match.group())):
            yield match.span()


def _holds_card_number(groups: list[str]) -> bool:
    """Do consecutive digit groups, or a long run's leading 15 or 16 digits, make a card number?"""
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if _card_digits(digits):
                return True
    if len(groups) == 1:
        run = groups[0]
        return any(len(run) in glued and _card_digits(run[:length]) for length, glued in _GLUED.items())
    return False


def _card_digits(digits: str) -> bool:
    return len(digits) >= 13 and digits[0] in "23456" and _luhn(digits)


def redact_card_numbers(text: str) -> str:
    """``text`` with every card number in it replaced by ``[card number]``: for what is echoed or logged."""
    spans = list(card_number_spans(text))
    for start, end in reversed(spans):
        text = f"{text[:start]}[card number]{text[end:]}"
    return text


def card_number_field(value: object, path: str = "") -> str | None:
    """The field (``invoices``, ``actor.name``, "" for the whole value) of the first text in ``value`` (a
    decoded command or event: dicts, lists, strings) that holds a card number, or None. A map's key is
    reported under the map's name, and names its value's field only when it is not a card number itself:
    the field is echoed and logged."""
    if isinstance(value, str):
        return path if card_number_in_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if name in GATEWAY_FIELDS and isinstance(item, str):
                continue
            if card_number_in_text(name):
                return path
            found = card_number_field(item, f"{path}.{name}" if path else name)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = card_number_field(item, path)
            if found is not None:
                return found
    return None


def _luhn(digits: str) -> bool:
    return sum(_luhn_value(int(char), offset) for offset, char in enumerate(reversed(digits))) % 10 == 0


def displayable(text: str) -> str:
    """``text`` safe to echo to a terminal or write to a log: card numbers replaced by ``[card number]``, control
    characters (terminal escapes, NUL, newlines) written as ``\\xNN`` escapes."""
    text = redact_card_numbers(text)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char == " " else f"\\x{ord(char):02x}" if ord(char) < 256
                   else f"\\u{ord(char):04x}" for char in text)
