"""No card number gets in (seed 002: only a gateway token, brand, last four and expiry are stored).

Any Luhn-valid 13-19 digit number is refused however it is written; gateway tokens and short or invalid digit
strings are not. The Luhn check here is written independently of the one under test.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.ports.gateway import check_token, looks_like_card_number

DIGITS = "0123456789"


def luhn_valid(number: str) -> bool:
    """The textbook check: double every second digit from the right, add the digits of the products."""
    total = 0
    for position, char in enumerate(reversed(number)):
        product = int(char) * (2 if position % 2 else 1)
        total += sum(int(d) for d in str(product))
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    """``body`` plus the one check digit that makes it Luhn-valid."""
    (number,) = [body + d for d in DIGITS if luhn_valid(body + d)]
    return number


card_numbers = st.text(DIGITS, min_size=12, max_size=18).map(with_check_digit)
separators = st.lists(st.sampled_from(["", "", " ", "-", "  ", " - ", "\t"]), min_size=19, max_size=19)


def write(number: str, seps: list[str]) -> str:
    return "".join(digit + sep for digit, sep in zip(number, seps, strict=False)).strip(" -\t")


@given(number=card_numbers, seps=separators)
def test_luhn_valid_numbers_with_any_separators_are_refused(number: str, seps: list[str]) -> None:
    written = write(number, seps)
    assert looks_like_card_number(written)
    with pytest.raises(ValidationError) as caught:
        check_token(written, "method_token")
    assert (caught.value.code, caught.value.field) == ("raw_card_number", "method_token")
    assert number not in caught.value.message and written not in caught.value.message


@given(number=card_numbers, seps=separators, before=st.text("abcxyz_:/", max_size=8),
       after=st.text("abcxyz_:/", max_size=8))
def test_card_numbers_inside_other_text_are_refused(number: str, seps: list[str], before: str, after: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_token("tok_" + before + write(number, seps) + after)
    assert caught.value.code == "raw_card_number"


@given(st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=60))
def test_gateway_tokens_are_accepted(suffix: str) -> None:
    token = "tok_" + suffix
    assert not looks_like_card_number(token)
    assert check_token(token) == token


@given(st.text(DIGITS, min_size=13, max_size=13))
def test_a_thirteen_digit_number_is_refused_exactly_when_it_passes_luhn(number: str) -> None:
    assert looks_like_card_number(f"ref {number} end") == luhn_valid(number)


@given(st.lists(st.text(DIGITS, min_size=1, max_size=12), min_size=1, max_size=6))
def test_digit_groups_of_twelve_or_fewer_between_letters_are_not_card_numbers(groups: list[str]) -> None:
    token = "tok_" + "x".join(groups)
    assert not looks_like_card_number(token)
    assert check_token(token) == token


@given(st.text(DIGITS, min_size=14, max_size=19))
def test_a_number_is_refused_when_any_13_to_19_digit_stretch_passes_luhn(number: str) -> None:
    stretches = [number[i:j] for i in range(len(number)) for j in range(i + 13, min(i + 19, len(number)) + 1)]
    assert looks_like_card_number(number) == any(luhn_valid(s) for s in stretches)
