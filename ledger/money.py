"""Money as integer minor units plus an ISO 4217 currency.

Amounts arrive as decimal strings ("120.50"); floats are refused because they cannot say a cent exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ledger.errors import ValidationError

#: Minor-unit exponent of the currencies the ledger accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2, "CAD": 2, "CHF": 2, "EUR": 2, "GBP": 2, "MXN": 2, "NZD": 2, "SEK": 2, "USD": 2,
    "JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3,
}  # fmt: skip

#: How an amount is written, all of it: ``^[0-9]+(\.[0-9]+)?$`` (the decimals then checked against the currency's
#: exponent, so "5.00" is USD's and JPY's "5" only): no sign, no spaces, no exponent, no thousands separator.
_AMOUNT = re.compile(r"[0-9]+(\.([0-9]+))?")

#: The largest amount one command may carry, in minor units: 100,000,000,000.00 in a two-decimal currency,
#: JPY 10,000,000,000,000 (about USD 65 billion), BHD 10,000,000,000.000. No invoice, payment or hold behind a
#: customer portal comes near; a typo or a hostile client's 9999999999999.99 is refused (``amount_too_large``).
MAX_AMOUNT = 10**13
#: The most an account may owe (open invoices and orders) or hold as open credit, in minor units: a hundred
#: of the largest amounts (``balance_limit``). Far below 2**63 (9.2e18), so no account's figure nears SQLite's
#: integers; the ledger's total is not capped (no account can decide it alone), and every sum of it in the read
#: models and replays is exact however large (ledger.projections.sums, Python ints).
MAX_BALANCE = 10**15
MAX_MINOR_UNITS = MAX_AMOUNT


def check_currency(currency: object, field: str = "currency") -> str:
    """Return the currency code, or refuse one the ledger does not know."""
    if not isinstance(currency, str) or currency not in CURRENCY_EXPONENTS:
        raise ValidationError(f"unknown currency {currency!r}", field=field, code="unknown_currency")
    return currency


def parse_amount(text: object, currency: str, field: str = "amount", *, allow_zero: bool = False) -> int:
    """Parse a decimal string into minor units of ``currency``.

    Refuses floats, non-strings, more decimals than the currency has, negative amounts, zero (unless
    ``allow_zero``) and absurdly large amounts, each with a :class:`ValidationError` naming ``field``.
    """
    if isinstance(text, float):
        raise ValidationError("amounts must be decimal strings, not floats", field=field, code="float_amount")
    if not isinstance(text, str):
        raise ValidationError("amount must be a decimal string such as '120.50'", field=field, code="invalid_amount")
    exponent = CURRENCY_EXPONENTS[check_currency(currency)]
    written = _AMOUNT.fullmatch(text[1:] if text.startswith("-") else text) if len(text) <= 32 else None
    if written is None:  # ASCII digits only: Decimal also reads "٥.00" (Arabic-Indic five), " 5", "+5", "5e2"
        raise ValidationError(f"{text!r} is not a decimal amount (digits, then optionally a point and up to "
                              f"{exponent} decimals)", field=field, code="invalid_amount")
    if text.startswith("-"):
        raise ValidationError("amount must not be negative", field=field, code="negative_amount")
    if len(written.group(2) or "") > exponent:
        raise ValidationError(
            f"{text!r} has more than {exponent} decimals for {currency}", field=field, code="too_many_decimals"
        )
    units = int(Decimal(text).scaleb(exponent))
    if units == 0 and not allow_zero:
        raise ValidationError("amount must be greater than zero", field=field, code="zero_amount")
    if units > MAX_MINOR_UNITS:
        raise ValidationError("amount is too large", field=field, code="amount_too_large")
    return units


def format_amount(minor: int, currency: str, *, with_currency: bool = False) -> str:
    """Format minor units as a decimal string with the currency's decimals ("110.00"); ``with_currency``: as a
    person reads it in a message, "110.00 USD"."""
    exponent = CURRENCY_EXPONENTS[currency]
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    text = f"{sign}{whole}" if exponent == 0 else f"{sign}{whole}.{frac:0{exponent}d}"
    return f"{text} {currency}" if with_currency else text
