"""Money as integer minor units plus an ISO 4217 currency.

Amounts arrive as decimal strings ("120.50"); floats are refused because they cannot say a cent exactly.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledger.errors import ValidationError

#: Minor-unit exponent of the currencies the ledger accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2, "CAD": 2, "CHF": 2, "EUR": 2, "GBP": 2, "MXN": 2, "NZD": 2, "SEK": 2, "USD": 2,
    "JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3,
}  # fmt: skip

#: The largest amount one command may carry, in minor units (a guard against typos and overflow).
MAX_MINOR_UNITS = 10**15


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
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 32 or not all(c in "0123456789.-+" for c in cleaned):  # ASCII digits only:
        # Decimal also reads "٥.00" (Arabic-Indic five) as 5, which another reader of the request may not
        raise ValidationError(f"{text!r} is not a decimal amount", field=field, code="invalid_amount")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(f"{text!r} is not a decimal amount", field=field, code="invalid_amount") from None
    if not value.is_finite():
        raise ValidationError(f"{text!r} is not a decimal amount", field=field, code="invalid_amount")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValidationError(
            f"{text!r} has more than {exponent} decimals for {currency}", field=field, code="too_many_decimals"
        )
    units = int(minor)
    if units < 0:
        raise ValidationError("amount must not be negative", field=field, code="negative_amount")
    if units == 0 and not allow_zero:
        raise ValidationError("amount must be greater than zero", field=field, code="zero_amount")
    if units > MAX_MINOR_UNITS:
        raise ValidationError("amount is too large", field=field, code="amount_too_large")
    return units


def format_amount(minor: int, currency: str) -> str:
    """Format minor units as a decimal string with the currency's decimals ("110.00")."""
    exponent = CURRENCY_EXPONENTS[currency]
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{exponent}d}"
