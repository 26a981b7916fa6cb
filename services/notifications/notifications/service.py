"""The notifications service's entrypoints. Nothing to do yet but answer health checks (PortaService)."""
from notifications.models import messaging
from shared.dependencies import Database
from shared.service import PortaService


class NotificationsService(PortaService):
    name = "notifications"
    db = Database(messaging)
