"""Currencies: an ISO 4217 code and its exponent (digits of the minor unit), from the ISO table itself
(the `iso4217` package): EUR 2, JPY 0, BHD 3. A code with no minor unit (gold, a fund) is refused."""
from __future__ import annotations

import iso4217

from shared.contracts.billing import format_amount
from shared.errors import ValidationFailed


def exponent_of(currency: str, field: str = "currency") -> int:
    """The currency's exponent; a code ISO 4217 does not list, or one without minor units, is a 422."""
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        raise ValidationFailed("Not an ISO 4217 currency.", {field: ["Not an ISO 4217 currency code."]}) from None
    if exponent is None:
        raise ValidationFailed("This currency has no minor unit to count in.",
                               {field: ["Not a currency of money (no minor unit)."]})
    return exponent


def display(amount: int, currency: str) -> str:
    """`display(123456, "EUR")` -> "EUR 1,234.56"."""
    return format_amount(amount, currency, exponent_of(currency))
