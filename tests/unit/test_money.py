from __future__ import annotations

import pytest

from ledger.errors import ValidationError
from ledger.money import format_amount, parse_amount


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("120.50", "USD", 12050), ("0.01", "USD", 1), ("100", "CAD", 10000), ("1000", "JPY", 1000),
    ("7.5", "EUR", 750), ("1.234", "KWD", 1234), ("100000000000.00", "USD", 10**13), ("007", "USD", 700),
])
def test_parses_decimal_strings_into_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(("value", "code"), [
    (120.5, "float_amount"), (100, "invalid_amount"), ("1.001", "too_many_decimals"), ("-5.00", "negative_amount"),
    ("0.00", "zero_amount"), ("abc", "invalid_amount"), ("1e3", "invalid_amount"), ("NaN", "invalid_amount"),
    ("", "invalid_amount"), ("1" * 40, "invalid_amount"), ("99999999999999999", "amount_too_large"),
    ("\u0665.00", "invalid_amount"), ("\uff15.00", "invalid_amount"),  # Arabic-Indic and full-width digits
    (" 7.5 ", "invalid_amount"), ("+5.00", "invalid_amount"), ("5.", "invalid_amount"), (".5", "invalid_amount"),
    ("5.000", "too_many_decimals"), ("1,000.00", "invalid_amount"), ("100000000000.01", "amount_too_large"),
])
def test_refuses_bad_amounts_naming_the_field(value: object, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount(value, "USD", "allocations.INV-1")
    assert caught.value.code == code
    assert caught.value.field == "allocations.INV-1"


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_amount("1.00", "XXX")
    assert caught.value.field == "currency"


def test_formats_minor_units() -> None:
    assert format_amount(11000, "USD") == "110.00"
    assert format_amount(-5, "USD") == "-0.05"
    assert format_amount(1000, "JPY") == "1000"
