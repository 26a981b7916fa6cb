"""`self.sealer`: the key that seals the tokens of retrievable links (links.sealing), read once at start
from the container's settings (`link_sealing_key`, PORTA_LINK_SEALING_KEY)."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from links.sealing import Sealer, SealingKeyError
from shared.config import settings_of


class LinkSealer(DependencyProvider):
    """Without a valid key the service refuses to start (the container's setup fails), rather than
    answering invitations and failing the first file request later, or storing a token in clear."""

    def setup(self) -> None:
        try:
            self.sealer = Sealer(settings_of(self.container).link_sealing_key)
        except SealingKeyError as error:
            raise SealingKeyError(f"the links service cannot start: {error}") from None

    def get_dependency(self, worker_ctx: Any) -> Sealer:
        return self.sealer
