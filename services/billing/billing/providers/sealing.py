"""A firm's provider keys (Stripe's secret key and webhook secret) sealed at rest, never returned.

Sealed with Fernet under a key derived (HKDF-SHA256, its own `info`) from each of the installation's
PORTA_LINK_SEALING_KEY keys: one secret for the operator to keep and rotate, while a key that opens link
tokens opens no payment keys and the other way round. The first key seals, every key unseals (rotation),
as the links service does with the same setting (docs/payments.md).
"""
from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.errors import Conflict

INFO = b"porta billing: payment provider keys"


class KeysUnavailable(Conflict):
    """No usable sealing key is configured, or a sealed value no longer opens. Never names a key."""


def _derived(key: str) -> Fernet:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise KeysUnavailable("The installation's sealing key is not a Fernet key (PORTA_LINK_SEALING_KEY).") from None
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(raw)
    return Fernet(base64.urlsafe_b64encode(derived))


class ProviderKeySeal:
    """Seals and opens a firm's provider secrets with keys derived from `keys` (PORTA_LINK_SEALING_KEY)."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise KeysUnavailable("Payment provider keys cannot be stored: the installation has no sealing key "
                                  "(PORTA_LINK_SEALING_KEY).")
        self._fernet = MultiFernet([_derived(part) for part in parts])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise KeysUnavailable("The firm's payment keys were sealed with a key this installation no longer has: "
                                  "enter them again in the payment settings.") from None
