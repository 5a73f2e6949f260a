"""The id and text checks refuse exactly the characters their definitions name, whatever the script."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.commands.validation import check_id, check_text
from ledger.errors import ValidationError


def refused(check: object, value: str) -> bool:
    try:
        check(value, "field")  # type: ignore[operator]
    except ValidationError:
        return True
    return False


SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/#@+-")


@given(st.text(alphabet=st.characters(), min_size=1, max_size=64))
def test_an_id_is_refused_exactly_when_it_holds_a_character_outside_the_safe_alphabet(value: str) -> None:
    assert refused(check_id, value) == any(c not in SAFE for c in value)


@pytest.mark.parametrize("value", ["UHOMO\u0410", "CAF\u00c9", "CAFE\u0301", "\u0410\u0412\u0421", "A\u200bB",
                                   "\uff21CC1", "ACC\u0031\u20e3"])
def test_ids_that_could_look_like_another_are_refused(value: str) -> None:
    """Issue 15: a Cyrillic A, an accent in NFC or NFD, a zero-width space or a fullwidth letter would make a
    twin of an account that looks the same on a CSR's screen."""
    assert refused(check_id, value)
    assert not refused(check_id, "UHOMOA") and not refused(check_id, "INV-2026/09#1")


@given(st.text(alphabet=st.characters(), max_size=80))
def test_text_is_refused_exactly_when_it_holds_a_character_that_is_not_printable(value: str) -> None:
    assert refused(check_text, value) == any(not c.isprintable() for c in value)


@pytest.mark.parametrize("value", ["A\u00a0B", "A\u2003B", "A\u3000B", "A\tB", "A\u2028B", "A B"])
def test_unicode_spaces_are_refused_in_ids(value: str) -> None:
    assert refused(check_id, value)
