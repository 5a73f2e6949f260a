"""Issue 15: a card number in free text is found whatever short runs of non-digits separate its digits
(``4111|1111|1111|1111``, ``* ; ~ # =``, parentheses, four spaces, `` - - ``, groups of one or two digits), and
what is echoed or logged never carries it. Between groups of other sizes the separator is the same throughout
(that is what keeps amounts and dates in a row apart, see ``python -m bench.cards``). The Luhn check is the
independent one of ``test_card_number_detection``.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from ledger.cards import MAX_SEPARATOR, card_number_in_text, displayable, looks_like_card_number
from tests.property.test_card_number_detection import DIGITS, with_check_digit

#: Characters people put between digit groups (and a few they would not), none a letter or a digit.
SEPARATOR_CHARS = " -|*;~#=()/\\.,:+_\t\u00a0[]{}<>'\"!?%&^`@$"


#: What card networks issue: 13-19 digits starting 2-6, passing Luhn.
card_numbers = st.builds(lambda first, rest: with_check_digit(first + rest), st.sampled_from("23456"),
                         st.text(DIGITS, min_size=11, max_size=17))
separators = st.text(SEPARATOR_CHARS, min_size=1, max_size=MAX_SEPARATOR)
words = st.text("abcdefghijklmnopqrstuvwxyz ", max_size=12)


@st.composite
def written(draw: st.DrawFn) -> tuple[str, str]:
    """(the card number, the card number in grouped text with separators and words around it): one separator
    between groups of any size, or any mix of separators between groups of four."""
    number = draw(card_numbers)
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=len(number) - 1)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    if draw(st.booleans()):  # one separator throughout, groups of any size
        text = draw(separators).join(groups)
    else:  # as cards are printed, groups of four, any mix of separators between them
        groups = [number[i:i + 4] for i in range(0, len(number), 4)]
        text = groups[0]
        for group in groups[1:]:
            text += draw(separators) + group
    before, after = draw(words), draw(words)
    return number, f"{before} {text} {after}" if before or after else text


@given(written())
def test_a_card_number_split_by_any_short_separators_is_found_and_redacted(case: tuple[str, str]) -> None:
    number, text = case
    assert card_number_in_text(text), text
    assert looks_like_card_number(text)
    shown = displayable(text)
    digits_left = "".join(re.findall(r"[0-9]", shown))
    assert number not in digits_left and "[card number]" in shown


@given(number=card_numbers, gap=st.text(" \t\u00a0\u3000", min_size=1, max_size=MAX_SEPARATOR))
def test_groups_a_table_column_apart_are_one_number(number: str, gap: str) -> None:
    """A card number pasted from a fixed-width table or a justified line: whitespace alone, up to a column."""
    text = gap.join(number[i:i + 4] for i in range(0, len(number), 4))
    assert card_number_in_text(f"card {text} end"), text
    assert "[card number]" in displayable(text)


@given(number=card_numbers, gap=st.one_of(
    st.text(" -.", min_size=MAX_SEPARATOR + 1, max_size=40), st.text(" \t", min_size=MAX_SEPARATOR + 1, max_size=40)))
def test_digits_far_apart_are_two_numbers(number: str, gap: str) -> None:
    """A run of non-digits longer than a separator (or than a table column, for whitespace alone) ends a number:
    two short numbers are not one card."""
    half = len(number) // 2
    text = number[:half] + gap + number[half:]
    assert not card_number_in_text(text)
