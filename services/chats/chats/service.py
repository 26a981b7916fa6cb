"""The chats service's entrypoints. Nothing to do yet but answer health checks (PortaService)."""
from chats.models import messaging
from shared.dependencies import Database
from shared.service import PortaService


class ChatsService(PortaService):
    name = "chats"
    db = Database(messaging)
