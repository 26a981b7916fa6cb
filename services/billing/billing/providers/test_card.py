"""The `test` provider: a card processor in test mode. No money moves; Stripe's test card numbers decide.

It exists only while `PORTA_PAYMENTS_TEST_MODE` is on (`make run`, the tests); production configuration
never turns it on, and `TestCardProcessor` refuses to be made without it, so no code path can take a
pretend payment there. Like a real processor in test mode it takes only test cards: any other number is
declined, as Stripe declines a real card in test mode.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from billing.providers.base import Card, Charged, PaymentDeclined, PaymentRequest
from shared.errors import Conflict, ValidationFailed

NAME = "test"

# Stripe's test cards (docs.stripe.com/testing): these succeed...
SUCCEEDING = {"4242424242424242": "visa", "5555555555554444": "mastercard", "378282246310005": "amex"}
# ...and these are declined, with the reason the payer is told.
DECLINED = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000000069": "Your card has expired.",
    "4000000000000127": "Your card's security code is incorrect.",
}


class TestModeOff(Conflict):
    """The `test` provider was asked for while test mode is off (a production installation)."""


def luhn_valid(number: str) -> bool:
    """The check digit every card number carries (ISO/IEC 7812)."""
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class TestCardProcessor:
    """The `test` PaymentProvider. `today` is the clock that decides whether a card has expired."""

    __test__ = False  # not a pytest test class, whatever its name says
    name = NAME

    def __init__(self, test_mode: bool, today: datetime | None = None) -> None:
        if not test_mode:
            raise TestModeOff("Test card payments are not available on this installation "
                              "(PORTA_PAYMENTS_TEST_MODE is off).")
        self.today = today

    def pay(self, request: PaymentRequest) -> Charged:
        card = request.card
        if card is None:
            raise ValidationFailed("A card is needed to pay.", {"card": ["Missing data for required field."]})
        self._check(card)
        if card.number in DECLINED:
            raise PaymentDeclined(DECLINED[card.number] + " Nothing was charged.")
        if card.number not in SUCCEEDING:
            raise PaymentDeclined("Your card was declined: this installation takes test cards only "
                                  "(4242 4242 4242 4242). Nothing was charged.")
        # The same attempt always gets the same charge id, as a processor's idempotency key would.
        charge = "test_ch_" + hashlib.sha256(request.reference.encode()).hexdigest()[:24]
        return Charged(provider=NAME, charge_id=charge, card_last4=card.last4)

    def _check(self, card: Card) -> None:
        """What a processor refuses before it asks the bank: a number that cannot be a card, a past date."""
        if not luhn_valid(card.number):
            raise ValidationFailed("This is not a valid card number.", {"card": {"number": ["Invalid card number."]}})
        today = self.today or datetime.now(UTC)
        if (card.exp_year, card.exp_month) < (today.year, today.month):
            raise PaymentDeclined("Your card has expired. Nothing was charged.")
