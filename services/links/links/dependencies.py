"""`self.sealer`: the key that seals the tokens of retrievable links (links.sealing), read once at start.

Config: `LINK_SEALING_KEY` in the nameko config, else the `PORTA_LINK_SEALING_KEY` setting.
"""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from links.sealing import Sealer, SealingKeyError
from shared.config import load_settings


class LinkSealer(DependencyProvider):
    """Without a valid key the service refuses to start (the container's setup fails), rather than
    answering invitations and failing the first file request later, or storing a token in clear."""

    def setup(self) -> None:
        config = self.container.config
        keys = config["LINK_SEALING_KEY"] if "LINK_SEALING_KEY" in config else load_settings().link_sealing_key
        try:
            self.sealer = Sealer(keys)
        except SealingKeyError as error:
            raise SealingKeyError(f"the links service cannot start: {error}") from None

    def get_dependency(self, worker_ctx: Any) -> Sealer:
        return self.sealer
