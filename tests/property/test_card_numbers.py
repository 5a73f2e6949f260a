"""No card number ever gets in: any Luhn-valid 13-19 digit number, however written, is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.ports.gateway import check_token, looks_like_card_number


def luhn_complete(body: str) -> str:
    """Append the check digit that makes ``body`` pass Luhn."""
    for check in "0123456789":
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return digits
    raise AssertionError


@given(body=st.text("0123456789", min_size=12, max_size=18), seps=st.lists(st.sampled_from(["", " ", "-"]),
                                                                           min_size=19, max_size=19))
def test_luhn_valid_numbers_with_any_separators_are_refused(body: str, seps: list[str]) -> None:
    number = luhn_complete(body)
    written = "".join(d + s for d, s in zip(number, seps, strict=False)).strip(" -")
    assert looks_like_card_number(written)
    with pytest.raises(ValidationError) as caught:
        check_token(written)
    assert caught.value.code == "raw_card_number"


@given(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=40))
def test_gateway_tokens_pass(suffix: str) -> None:
    assert check_token("tok_" + suffix) == "tok_" + suffix
