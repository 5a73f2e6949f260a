"""Issue 15: a card number in free text is any 13-19 digits passing Luhn, whatever their first digit and whatever
runs of up to MAX_SEPARATOR characters that are neither letters nor digits separate them: the digits cut into
groups of any size (1 to all of them), each gap its own run drawn from punctuation, symbols, spaces, controls and
format characters of every script, the digits themselves in any script. Each is found, and what is echoed or
logged keeps none of its digits; redacting any text leaves no window of 13-19 digits passing Luhn. The Luhn check
and the reading of groups and gaps here are written independently of ``ledger.cards``.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ledger.cards import MAX_SEPARATOR, card_number_in_text, displayable, looks_like_card_number, redact_card_numbers
from tests.property.test_card_number_detection import DIGITS, luhn_valid, with_check_digit

#: Every kind of character that is neither a letter nor a digit: punctuation, symbols, spaces, line and
#: paragraph separators, controls (tab, newline, NUL ...) and format characters (zero-width space ...).
GAP_CATEGORIES = ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf")
gap_chars = st.characters(categories=GAP_CATEGORIES)
#: The zero of a few scripts' digits: ASCII, fullwidth, Arabic-Indic, Devanagari, Bengali, Thai.
ZEROS = ("0", "\uff10", "\u0660", "\u0966", "\u09e6", "\u0e50")
#: Letters that are not hex digits nor the T of an ISO instant (the shapes ledger.cards does not read).
LETTERS = "ghijklmnopqrsuvwxyzGHIJKLMNOPQRSUVWXYZ"

#: 13-19 digits passing Luhn, any first digit.
card_numbers = st.text(DIGITS, min_size=12, max_size=18).map(with_check_digit)
gaps = st.text(gap_chars, min_size=1, max_size=MAX_SEPARATOR)
words = st.text(LETTERS + " ", max_size=12)


@st.composite
def written(draw: st.DrawFn, numbers: st.SearchStrategy[str] = card_numbers) -> tuple[str, str]:
    """(a card number of ``numbers``, the card number cut into groups of any size with any gap between every two,
    its digits in any scripts, with words around it)."""
    number = draw(numbers)
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=len(number) - 1)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    if draw(st.booleans()):  # digits of other scripts, each its own
        groups = ["".join(chr(ord(draw(st.sampled_from(ZEROS))) + int(digit)) for digit in group) for group in groups]
    text = groups[0]
    for group in groups[1:]:
        text += draw(gaps) + group
    before, after = draw(words), draw(words)
    return number, f"{before} {text} {after}" if before or after else text


def digit_groups(text: str) -> list[list[str]]:
    """The stretches of ``text``: each a list of its groups of digits (as ASCII), two groups in one stretch when at
    most MAX_SEPARATOR characters that are neither letters nor digits are between them."""
    stretches: list[list[str]] = [[]]
    group, gap = "", 0
    for char in text:
        if char.isdecimal():
            if not group and gap > MAX_SEPARATOR:
                stretches.append([])
            group, gap = group + str(unicodedata.decimal(char)), 0
            continue
        if group:
            stretches[-1].append(group)
            group = ""
        if char.isalnum():  # a letter ends the stretch
            stretches.append([])
            gap = 0
        else:
            gap += 1
    if group:
        stretches[-1].append(group)
    return [stretch for stretch in stretches if stretch]


#: UUIDs are ids, never read as card text (ledger.cards): one made of digits alone is not a window either.
UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
#: Nor is a calendar date (2026-09-01, 01/09/2026: a year 1900-2199, months and days 01-31, one separator).
_DAY = r"(?:0[1-9]|[12][0-9]|3[01])"
_YEAR = r"(?:19|20|21)[0-9]{2}"
DATE = re.compile(rf"(?<![0-9])(?:{_YEAR}([-/.]){_DAY}\1{_DAY}|{_DAY}([-/.]){_DAY}\2{_YEAR})(?![0-9])")
#: Nor an amount with two decimals (150.00, 2,570,417.47).
AMOUNT = re.compile(r"(?<![0-9.,])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,12})\.[0-9]{2}"
                    r"(?![0-9]|[.,][0-9])")


def holds_a_date(text: str) -> bool:
    """Whether ``text``, its digits read as ASCII, has a calendar date or an amount with two decimals in it (a
    card number is never written so)."""
    ascii_text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return DATE.search(ascii_text) is not None or AMOUNT.search(ascii_text) is not None


def luhn_windows(text: str) -> list[str]:
    """Every run of whole consecutive groups of a stretch of ``text`` with 13-19 digits passing Luhn."""
    found = []
    ascii_text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    unread = DATE.sub(lambda found: " " * len(found.group()), UUID.sub(lambda uuid: "u" * len(uuid.group()),
                                                                       ascii_text))
    for found in AMOUNT.finditer(unread):  # an amount alone, not a group's tail: no digit shortly before it
        if not re.search(rf"[0-9][^0-9A-Za-z]{{0,{MAX_SEPARATOR}}}$", unread[:found.start()]):
            unread = unread[:found.start()] + " " * len(found.group()) + unread[found.end():]
    for groups in digit_groups(unread):
        for first in range(len(groups)):
            for last in range(first, len(groups)):
                digits = "".join(groups[first:last + 1])
                if 13 <= len(digits) <= 19 and luhn_valid(digits):
                    found.append(digits)
    return found


@given(written().filter(lambda case: not holds_a_date(case[1])))
def test_a_card_number_cut_anywhere_by_any_short_runs_is_found_and_redacted(case: tuple[str, str]) -> None:
    number, text = case
    assert number in luhn_windows(text)  # the independent reading agrees that it is there
    assert card_number_in_text(text), ascii(text)
    assert looks_like_card_number(text)
    assert not [char for char in redact_card_numbers(text) if char.isdecimal()], ascii(text)
    assert "[card number]" in displayable(text)


@given(number=card_numbers, gap=st.one_of(st.text(gap_chars, min_size=MAX_SEPARATOR + 1, max_size=40),
                                          st.text(LETTERS, min_size=1, max_size=3)))
def test_digits_further_apart_or_with_a_letter_between_are_two_numbers(number: str, gap: str) -> None:
    """A run of more than MAX_SEPARATOR non-letters, or a letter, ends a number: two short numbers (at most 10
    digits each) are not one card."""
    half = len(number) // 2
    text = number[:half] + gap + number[half:]
    assert luhn_windows(text) == []
    assert not card_number_in_text(text), ascii(text)


#: Pieces of any text: digits, gaps of any length (a run longer than MAX_SEPARATOR too), letters and card numbers
#: written as people write them.
pieces = st.one_of(st.text(DIGITS, min_size=1, max_size=8), st.text(gap_chars, min_size=1,
                                                                     max_size=MAX_SEPARATOR + 4),
                   st.text(LETTERS, min_size=1, max_size=3), written().map(lambda case: case[1]))


@given(st.lists(pieces, max_size=14).map("".join))
def test_redacting_any_text_leaves_no_window_of_13_to_19_digits_passing_luhn(text: str) -> None:
    shown = redact_card_numbers(text)
    assert luhn_windows(shown) == [], ascii(text)
    assert card_number_in_text(text) == (shown != text)
