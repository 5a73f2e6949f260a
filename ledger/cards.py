"""Recognising card numbers in text (PCI: a card number is never stored, logged or echoed).

Tokens are checked eagerly (:func:`looks_like_card_number`: any 13-19 digit stretch passing Luhn, separators
ignored). Free text (names, references, ids, log values; :func:`card_number_in_text`) is read as issue 15 asks:
13-19 digits passing Luhn, whatever their first digit, in groups of any size with any runs of up to
MAX_SEPARATOR (16) characters that are neither letters nor digits between them ("4111 11|11 1111 1111",
"41-11 11-11 ...", "4 1 1 1-1 1 1 1 ...", "4111.1111.1111.11/11"); a letter or a longer run ends a number, and
hashes, UUIDs, ISO instants, calendar dates and amounts with two decimals are not read. The price is
false alarms: a text with 13 or more digits in short groups (integers in a row, a table's column, an order
number and a bare integer) is still taken for a card number at times (``python -m bench.cards``: 4.8% of
generated free texts, README). A refusal is better than a card number in the immutable log. :func:`displayable`
is what every echo and log line goes through: card numbers redacted, control characters shown as escapes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

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


#: The longest run of characters that are neither letters nor digits (punctuation, symbols, whitespace of any
#: kind, ``_``) between two groups of digits of one card number: people write "4242 4242", "4111|1111",
#: "(4111)(1111)", " - - ", a dash between every digit, or paste a number from a fixed-width table with its
#: groups a column apart ("4111      1111"); a longer run, or any letter, ends the number.
MAX_SEPARATOR = 16
#: Letters that people type for a dash between digits: the Japanese IME's long vowel mark (U+30FC, its
#: halfwidth U+FF70), the Korean ㅡ (U+3161) and the CJK 一 (U+4E00). Read as a dash, one character each.
_DASH_LETTERS = str.maketrans(dict.fromkeys("\u30fc\uff70\u3161\u4e00", "-"))
#: A stretch of digit groups in text, each gap at most MAX_SEPARATOR characters that are neither letters nor
#: digits (``_`` counts as a separator): a letter ends the stretch (ids, words), as does a longer gap.
_DIGIT_GROUPS = re.compile(rf"[0-9]++(?:[\W_]{{1,{MAX_SEPARATOR}}}+[0-9]++)*+")
_GROUP = re.compile(r"[0-9]+")
#: A 15 or 16 digit card number followed, without a separator, by an expiry or a CVV (2-7 more digits).
_GLUED = {15: range(17, 23), 16: range(18, 24)}
#: What is an id or an instant by its shape, never card text, and is blanked before the scan:
#: hashes (a run of 32 or more hex characters, alone or inside a key; one is a hash only when it has letters on
#: both sides of its digits: 13 or more digits with only letters before or after them are a card number with hex
#: letters glued to it, "4111111111111111abcdefabcdefabcd"), UUIDs (8-4-4-4-12 hex) and ISO 8601 instants as
#: machines write them, with a ``T`` and a valid date and time (an event's ``2026-12-07T03:01:36.123456+00:00``
#: holds 16 digits after its ``T``; a fraction longer than 9 digits is scanned).
_IDS = re.compile(r"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
                  r"|(?<![0-9])(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3])"
                  r":[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?(?![0-9])")
#: Calendar dates as people write them, blanked like the ids: year-month-day (2026-09-01, 2026/09/01,
#: 2026.09.01) and day-month-year or month-day-year (01/09/2026, 09.01.2026), one separator throughout, a year
#: 1900-2199, a month or day 01-31. "2026-09-01 2026-09-30" or a date beside an amount is 13 or more digits
#: in short groups, taken for a card number one time in five; a card number has no such group (a 4-digit group
#: 1900-2199 then two groups of 01-31 in one separator) in the ways cards are written.
_DATES = re.compile(r"(?<![0-9])(?:(?:19|20|21)[0-9]{2}(?P<a>[-/.])(?:0[1-9]|[12][0-9]|3[01])(?P=a)"
                    r"(?:0[1-9]|[12][0-9]|3[01])"
                    r"|(?:0[1-9]|[12][0-9]|3[01])(?P<b>[-/.])(?:0[1-9]|[12][0-9]|3[01])(?P=b)(?:19|20|21)[0-9]{2})"
                    r"(?![0-9])")
#: Amounts written with a decimal point and two decimals (150.00, 40088.35, 2,570,417.47), blanked likewise: a
#: list of amounts reads as a card number one time in three; a card number is not written with a point and two
#: digits ending it, and at most 12 digits before the point (the largest amount the ledger takes) keep a whole
#: card number from being read as one. An amount a group of digits stands close before is read, not blanked
#: (:func:`_blank_amounts`): "4111 1111 1111 1111.12/28" is a card number and an expiry.
_AMOUNTS = re.compile(r"(?<![0-9.,])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,12})\.[0-9]{2}"
                      r"(?![0-9]|[.,][0-9])")
_CARD_AND_HEX_LETTERS = re.compile(r"[0-9]{13,}[a-fA-F]+|[a-fA-F]+[0-9]{13,}")
#: The digits a card number may start with: all of them (issue 15). UATP numbers start 1, UnionPay and RuPay
#: issue 81 and 82, Troy 9792; ``python -m bench.cards`` measures the rate with "23456" too.
ANY_FIRST_DIGIT = "0123456789"
#: Fields the gateway fills in (its transaction ids, ``txn_5956f1a5d369769950377759``): never a person's text, so
#: never scanned; one in a hundred holds a 13-19 digit stretch passing Luhn.
GATEWAY_FIELDS = frozenset({"transaction_id", "refund_transaction_id"})


def card_number_in_text(text: str, first_digits: str = ANY_FIRST_DIGIT) -> bool:
    """True when ``text`` holds 13-19 digits that pass Luhn, whatever short runs of non-letters separate them
    (see :func:`card_number_spans`).

    Issue 15: any 13-19 Luhn-valid digits, whatever their first digit (UATP numbers start 1, UnionPay and RuPay
    issue 81 and 82, Troy 9792); a refusal of a text that only resembles one is better than a card number in the
    immutable log. Free texts made of amounts, dates and order numbers are taken for one often (``python -m
    bench.cards`` measures it, README): each window of 13-19 of their digits passes Luhn one time in ten.
    """
    return next(card_number_spans(text, first_digits), None) is not None


def card_number_spans(text: str, first_digits: str = ANY_FIRST_DIGIT) -> Iterator[tuple[int, int]]:
    """Where :func:`card_number_in_text` finds card numbers in ``text``: (start, end) of each.

    ``text`` is read as stretches of digit groups (digits in any script, see :func:`ascii_digits`), each two
    groups at most MAX_SEPARATOR characters apart that are neither letters nor digits (the dash letters of
    ``_DASH_LETTERS`` read as dashes); a letter or a longer gap ends a stretch. A card number is any run of
    consecutive whole groups of a stretch, whatever their sizes and the separators between them, whose digits
    together are 13-19 long and pass Luhn (from each group the longest such run is taken, and the search goes on
    after it: two cards in one stretch are both found); or one group of 17-23 digits that is a 15 or 16 digit card
    number with an expiry or CVV glued on. Hashes, UUIDs and ISO instants (``_IDS``) are blanked first.
    """
    if not isinstance(text, str) or len(text) < 13:
        return
    digits = text if text.isascii() else ascii_digits(text).translate(_DASH_LETTERS)
    if sum(map(digits.count, "0123456789")) < 13:  # most log values: ten counts in C, no pattern at all
        return
    # Ids and instants are blanked out (even inside a key); a blank is one character, so spans stay true.
    scanned = _blank_amounts(_DATES.sub(_blanks, _IDS.sub(_blank_id, digits)))
    for stretch in _DIGIT_GROUPS.finditer(scanned):
        if stretch.end() - stretch.start() < 13:
            continue
        groups = [(group.group(), group.start(), group.end()) for group in _GROUP.finditer(stretch.group())]
        if sum(len(group[0]) for group in groups) < 13:
            continue
        for start, end in _card_groups(groups, first_digits):
            yield stretch.start() + start, stretch.start() + end


#: A group of digits then a short run of non-letters, at the end of the text before an amount.
_GROUP_BEFORE = re.compile(rf"[0-9][\W_]{{0,{MAX_SEPARATOR}}}$")


def _blank_amounts(text: str) -> str:
    """``text`` with its amounts blanked, left to right, except an amount with a group of digits at most
    MAX_SEPARATOR non-letters before it (once earlier amounts and dates are blanks): a list of amounts goes, a
    card number's last group with a point and two digits glued to it stays."""
    for found in _AMOUNTS.finditer(text):
        start = found.start()
        if not _GROUP_BEFORE.search(text, max(0, start - MAX_SEPARATOR - 1), start):
            text = text[:start] + " " * (found.end() - start) + text[found.end():]
    return text


def _blanks(found: re.Match[str]) -> str:
    """A date or an amount as blanks, one a character."""
    return " " * len(found.group())


def _blank_id(found: re.Match[str]) -> str:
    """An id or instant as blanks, one a character; a card number with hex letters glued to it as it is."""
    text = found.group()
    return text if _CARD_AND_HEX_LETTERS.fullmatch(text) else " " * len(text)


def _card_groups(groups: list[tuple[str, int, int]], first_digits: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of consecutive whole groups that is a card number, or of a lone glued group;
    after one is found, the search goes on after it."""
    first = 0
    while first < len(groups):
        last = _card_from(groups, first) if groups[first][0][0] in first_digits else None
        if last is None:
            first += 1
            continue
        yield groups[first][1], groups[last][2]
        first = last + 1


def _card_from(groups: list[tuple[str, int, int]], first: int) -> int | None:
    """The index of the last group of the longest card number that starts at group ``first``, or None."""
    low, high = _CARD_DIGITS
    digits, last = "", None
    for index in range(first, len(groups)):
        digits += groups[index][0]
        if len(digits) > high:
            break
        if len(digits) >= low and _luhn(digits):
            last = index
    if last is None:
        text = groups[first][0]
        if any(len(text) in glued and _luhn(text[:length]) for length, glued in _GLUED.items()):
            return first
    return last


def redact_card_numbers(text: str) -> str:
    """``text`` with every card number in it replaced by ``[card number]``: for what is echoed or logged."""
    spans = list(card_number_spans(text))
    for start, end in reversed(spans):
        text = f"{text[:start]}[card number]{text[end:]}"
    return text


#: A card number as the card networks print it: 13-19 digits in a row, or 4-4-4-4(-3) or Amex's 4-6-5 with one
#: space or dash throughout, starting 2-6 (Mastercard, Amex, Visa, Discover and the others of PCI DSS).
_PRINTED = re.compile(r"(?<![0-9])(?:[2-6][0-9]{12,18}|[2-6][0-9]{3}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{4}"
                      r"(?:(?P=s)[0-9]{3})?|3[47][0-9]{2}(?P<a>[ -])[0-9]{6}(?P=a)[0-9]{5})(?![0-9])")


def printed_card_number_in_text(text: str) -> bool:
    """Whether ``text`` holds a card number written as the networks print one and passing Luhn: what ``audit
    verify`` reports as a discrepancy (through :func:`card_number_field`), where any wider reading
    (:func:`card_number_in_text`) is a notice."""
    return any(_has_luhn_window(re.sub("[ -]", "", found.group())) for found in _PRINTED.finditer(text))


def card_number_field(value: object, path: str = "",
                      reads: Callable[[str], bool] = card_number_in_text) -> str | None:
    """The field (``invoices``, ``actor.name``, "" for the whole value) of the first text in ``value`` (a
    decoded command or event: dicts, lists, strings) that holds a card number as ``reads`` reads text, or None.
    A map's key is reported under the map's name, and names its value's field only when it is not a card number
    itself: the field is echoed and logged. The gateway's own fields (``GATEWAY_FIELDS``) are never read."""
    if isinstance(value, str):
        return path if reads(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if name in GATEWAY_FIELDS and isinstance(item, str):
                continue
            if reads(name):
                return path
            found = card_number_field(item, f"{path}.{name}" if path else name, reads)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = card_number_field(item, path, reads)
            if found is not None:
                return found
    return None


#: A digit's share of the Luhn sum when it is doubled (every second digit from the right).
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn(digits: str) -> bool:
    """True when the ASCII digit string ``digits`` passes the Luhn check."""
    values = [code - 48 for code in digits.encode()]
    return (sum(values[-1::-2]) + sum(_DOUBLED[value] for value in values[-2::-2])) % 10 == 0


def displayable(text: str) -> str:
    """``text`` safe to echo to a terminal or write to a log: card numbers replaced by ``[card number]``, control
    characters (terminal escapes, NUL, newlines) written as ``\\xNN`` escapes."""
    text = redact_card_numbers(text)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char == " " else f"\\x{ord(char):02x}" if ord(char) < 256
                   else f"\\u{ord(char):04x}" for char in text)
