"""The billing service's entrypoints. Nothing to do yet but answer health checks (PortaService)."""
from billing.models import messaging
from shared.dependencies import Database
from shared.service import PortaService


class BillingService(PortaService):
    name = "billing"
    db = Database(messaging)
