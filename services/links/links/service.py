"""The links service's entrypoints. Nothing to do yet but answer health checks (PortaService)."""
from links.models import messaging
from shared.dependencies import Database
from shared.service import PortaService


class LinksService(PortaService):
    name = "links"
    db = Database(messaging)
