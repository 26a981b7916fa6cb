"""The documents service's entrypoints. Nothing to do yet but answer health checks (PortaService)."""
from documents.models import messaging
from shared.dependencies import Database
from shared.service import PortaService


class DocumentsService(PortaService):
    name = "documents"
    db = Database(messaging)
