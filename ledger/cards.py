"""Recognising card numbers in text (PCI: a card number is never stored, logged or echoed).

Tokens are checked eagerly (:func:`looks_like_card_number`: any 13-19 digit stretch passing Luhn, separators
ignored); free text (names, references, ids) with fewer false alarms (:func:`card_number_in_text`: card-shaped
numbers, as people write them, starting as card networks' numbers do). :func:`displayable` is what every
echo and log line goes through: card numbers redacted, control characters shown as escapes.
"""

from __future__ import annotations

import itertools
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


#: The longest run of non-digits between two groups of a card number: people write "4242 4242", "4242 - 4242",
#: "4111|1111", "(4111)(1111)", four spaces or " - - " between groups; a longer run ends the number.
MAX_SEPARATOR = 5
#: The longest run of whitespace alone between two groups: a card number pasted from a fixed-width table or a
#: justified PDF line has its groups a column apart ("4111      1111      1111      1111").
MAX_WHITESPACE = 16
#: Letters that people type for a dash between digits: the Japanese IME's long vowel mark (U+30FC, its
#: halfwidth U+FF70), the Korean ㅡ (U+3161) and the CJK 一 (U+4E00). Read as a dash, one character each.
_DASH_LETTERS = str.maketrans(dict.fromkeys("\u30fc\uff70\u3161\u4e00", "-"))
#: A stretch of digit groups in text, each gap at most MAX_SEPARATOR characters that are neither letters nor
#: digits (``_`` counts as a separator), or at most MAX_WHITESPACE of whitespace: a letter ends the stretch
#: (ids, words), as does a longer gap.
_DIGIT_GROUPS = re.compile(rf"[0-9]++(?:(?:[\W_]{{1,{MAX_SEPARATOR}}}+|\s{{{MAX_SEPARATOR + 1},{MAX_WHITESPACE}}}+)"
                           r"[0-9]++)*+")
_GROUP = re.compile(r"[0-9]+")
#: Spaces and dashes alone, as between the groups of a printed Amex number.
_DASHES = re.compile(r"[\s\-\u2010-\u2015\u2212]{1,3}")
_WHITESPACE = re.compile(r"\s+")
#: A 15 (Amex) or 16 digit number followed, without a separator, by an expiry or a CVV (2-7 more digits).
_GLUED = {15: range(17, 23), 16: range(18, 24)}
#: Hashes and UUIDs (hex with digits in long runs) are ids, never card text, alone or inside a key. A run of 32
#: or more hex characters is one only when it has letters on both sides of its digits: 13 or more digits with
#: only letters before or after them are a card number with hex letters glued to it
#: ("4111111111111111abcdefabcdefabcd"), not a hash.
_HEX_ID = re.compile(r"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_CARD_AND_HEX_LETTERS = re.compile(r"[0-9]{13,}[a-fA-F]+|[a-fA-F]+[0-9]{13,}")
#: Fields the gateway fills in (its transaction ids, ``txn_5956f1a5d369769950377759``): never a person's text, so
#: never scanned; one in a hundred holds a 13-19 digit stretch passing Luhn.
GATEWAY_FIELDS = frozenset({"transaction_id", "refund_transaction_id"})


def card_number_in_text(text: str) -> bool:
    """True when ``text`` holds what reads as a card number: 13-19 digits (contiguous, or in groups of any size
    with at most MAX_SEPARATOR non-letters, or MAX_WHITESPACE of whitespace, between them; not part of a longer
    number) that start as every card network's numbers do (2-6) and pass Luhn.

    Less eager than :func:`looks_like_card_number` (for tokens, where anything is suspect): ids, references and
    names carry dates, order numbers, hashes and UUIDs, which must pass; a bare 13-19 digit number starting
    with 2-6 that passes Luhn (one in ten) is refused, since it cannot be told from a card number.
    """
    return next(card_number_spans(text), None) is not None


def card_number_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where :func:`card_number_in_text` finds card numbers in ``text``: (start, end) of each.

    Each stretch of digit groups (see ``_DIGIT_GROUPS``) is read as people write card numbers: whole groups
    in a row whose digits, together, are a card number (13-19 digits starting 2-6, passing Luhn), with one
    separator between every two groups (any non-letters up to MAX_SEPARATOR long, or whitespace up to
    MAX_WHITESPACE; runs of whitespace alike; the dash letters of ``_DASH_LETTERS`` read as dashes) whatever the
    size of the groups, or a mix of separators as cards are printed (see :func:`_printed`); or
    a lone run of 17-23 digits that is a 15 or 16 digit card number with an expiry or CVV glued on. A run of
    digits longer than a card is never searched inside. Amounts, dates and times in a row change separators
    ("2026-09-01 | 120.50"), which keeps them apart (``python -m bench.cards`` measures the rate).
    """
    if not isinstance(text, str) or len(text) < 13:
        return
    digits = text if text.isascii() else ascii_digits(text).translate(_DASH_LETTERS)
    if sum(map(digits.count, "0123456789")) < 13:  # most log values: ten counts in C, no pattern at all
        return
    # Hashes and UUIDs are blanked out (even inside a key); a blank is one character, so spans stay true.
    scanned = _HEX_ID.sub(_blank_hash, digits)
    for stretch in _DIGIT_GROUPS.finditer(scanned):
        if stretch.end() - stretch.start() < 13:
            continue
        groups = [(group.group(), group.start(), group.end()) for group in _GROUP.finditer(stretch.group())]
        if sum(len(group[0]) for group in groups) < 13:
            continue
        for start, end in _card_groups(groups, stretch.group()):
            yield stretch.start() + start, stretch.start() + end


def _blank_hash(hexed: re.Match[str]) -> str:
    """A hash or UUID as blanks, one a character; a card number with hex letters glued to it as it is."""
    text = hexed.group()
    return text if _CARD_AND_HEX_LETTERS.fullmatch(text) else " " * len(text)


def _card_groups(groups: list[tuple[str, int, int]], scanned: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of consecutive whole groups that is a card number, or of a lone glued run;
    after one is found, the search goes on after it (two cards in one stretch are both redacted)."""
    first = 0
    while first < len(groups):
        found = _card_from(groups, first, scanned)
        if found is None:
            first += 1
            continue
        yield groups[first][1], groups[found][2]
        first = found + 1


def _card_from(groups: list[tuple[str, int, int]], first: int, scanned: str) -> int | None:
    """The index of the last group of a card number that starts at group ``first``, or None."""
    digits = ""
    for index in range(first, len(groups)):
        digits += groups[index][0]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and _card_digits(digits) and (_one_separator(groups[first:index + 1], scanned)
                                                            or _printed(groups[first:index + 1], scanned)):
            return index
    text = groups[first][0]
    if any(len(text) in glued and _card_digits(text[:length]) for length, glued in _GLUED.items()):
        return first
    return None


def _one_separator(groups: list[tuple[str, int, int]], scanned: str) -> bool:
    """The same separator between every two of ``groups`` (runs of whitespace alike)."""
    gaps = {_WHITESPACE.sub(" ", scanned[before[2]:after[1]]) for before, after in itertools.pairwise(groups)}
    return len(gaps) <= 1


def _printed(groups: list[tuple[str, int, int]], scanned: str) -> bool:
    """Groups of four before the last one, whatever mix of separators is between, or the 4-6-5 of an Amex (34 or
    37 first) with spaces and dashes between (``3782 822463-10005``; not ``2028-677989 42866`` or
    ``2021-340903 = $ 43438``, an order number and an amount): a card as it is printed."""
    sizes = [len(text) for text, _, _ in groups]
    if all(size == 4 for size in sizes[:-1]):
        return True
    gaps = (scanned[before[2]:after[1]] for before, after in itertools.pairwise(groups))
    return sizes == [4, 6, 5] and groups[0][0][:2] in ("34", "37") and all(map(_DASHES.fullmatch, gaps))


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
