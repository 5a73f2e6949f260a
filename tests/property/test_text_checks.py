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


@given(st.text(alphabet=st.characters(), min_size=1, max_size=64))
def test_an_id_is_refused_exactly_when_it_holds_a_space_or_a_character_that_is_not_printable(value: str) -> None:
    assert refused(check_id, value) == any(c.isspace() or not c.isprintable() for c in value)


@given(st.text(alphabet=st.characters(), max_size=80))
def test_text_is_refused_exactly_when_it_holds_a_character_that_is_not_printable(value: str) -> None:
    assert refused(check_text, value) == any(not c.isprintable() for c in value)


@pytest.mark.parametrize("value", ["A\u00a0B", "A\u2003B", "A\u3000B", "A\tB", "A\u2028B", "A B"])
def test_unicode_spaces_are_refused_in_ids(value: str) -> None:
    assert refused(check_id, value)
