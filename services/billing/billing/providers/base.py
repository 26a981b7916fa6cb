"""What every payment provider does, and what it answers.

A provider either takes the money at once (`Charged`: the caller records the payment in the same
transaction) or sends the payer to its own page (`Redirect`: the payment is recorded later, when the
provider's signed notice of the completed payment arrives). A refused card is `PaymentDeclined` (402):
nothing is recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shared.errors import PaymentDeclined

__all__ = ["Card", "Charged", "PaymentDeclined", "PaymentProvider", "PaymentRequest", "Redirect"]


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class PaymentRequest:
    """One attempt to take `amount` (minor units of `currency`) from a payer. `reference` is ours and unique
    per attempt, so a provider that is asked twice (a retried request) makes one charge or one session."""

    reference: str
    amount: int
    currency: str
    description: str
    payer_name: str
    payer_email: str
    card: Card | None = None
    # Where a provider with its own page sends the payer back (the pay page), after paying or giving up.
    return_url: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Charged:
    """The money was taken: `charge_id` is the provider's id for it."""

    provider: str
    charge_id: str
    card_last4: str | None = None


@dataclass(frozen=True)
class Redirect:
    """The payer continues at `checkout_url`; `session_id` is what the provider's later notice will name."""

    provider: str
    session_id: str
    checkout_url: str


class PaymentProvider(Protocol):
    name: str

    def pay(self, request: PaymentRequest) -> Charged | Redirect:
        """Take the money or start the provider's checkout; PaymentDeclined when the card is refused,
        ValidationFailed when what the payer typed cannot be a card."""
        ...
