"""Billing's entrypoints. Nothing to do yet but answer health checks (PortaService)."""
from shared.dependencies import Database
from shared.service import PortaService

from billing.models import messaging


class BillingService(PortaService):
    name = "billing"
    db = Database(messaging)
