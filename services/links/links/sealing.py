"""Sealed tokens: the raw token of a retrievable link, encrypted with the server's key. Plain code, no nameko.

A link is found by the SHA-256 of its token (links.tokens); the hash cannot give the token back.
A retrievable link (a file request whose URL staff copy again later) also keeps its token sealed
with Fernet (AES-128-CBC with HMAC-SHA256, a random IV per token): a copy of the database, its
backups or a replica alone reveals nothing; the key is in the services' environment
(`PORTA_LINK_SEALING_KEY`), never in the database.

The setting is one key or a comma-separated list (MultiFernet): the first key seals, every key
unseals. To rotate: put a new key first and keep the old ones after it for as long as the links
they sealed must stay copyable; nothing seals stored tokens again with the new key yet. A token
sealed with a key no longer in the list cannot be revealed again (`unseal` answers None); its link
still works for whoever holds the URL, since lookups go by hash.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealingKeyError(ValueError):
    """The configured key is missing or not a Fernet key. The message never contains the key."""


class Sealer:
    def __init__(self, keys: str) -> None:
        """`keys`: one urlsafe-base64 Fernet key (32 bytes) or several, comma-separated, newest first."""
        parts = [part.strip() for part in (keys or "").split(",") if part.strip()]
        if not parts:
            raise SealingKeyError("no link sealing key is configured (PORTA_LINK_SEALING_KEY)")
        fernets = []
        for position, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part))
            except (ValueError, TypeError):  # binascii.Error is a ValueError
                raise SealingKeyError(f"PORTA_LINK_SEALING_KEY: key {position} of {len(parts)} is not a Fernet key "
                                      "(32 bytes in urlsafe base64)") from None
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "Sealer(<keys hidden>)"

    def seal(self, token: str) -> str:
        """The token encrypted with the first key, as ASCII text."""
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def unseal(self, sealed: str) -> str | None:
        """The token, or None when no configured key opens it (or it was altered)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            return None


def new_key() -> str:
    """A fresh key for PORTA_LINK_SEALING_KEY."""
    return Fernet.generate_key().decode("ascii")
