"""The billing service's entrypoints: validate (the contract), call the domain, dump."""
from __future__ import annotations

import uuid

from billing import invoices
from billing.models import messaging
from shared.context import require_principal
from shared.contracts.billing import CreateInvoiceSchema, InvoiceSchema
from shared.dependencies import Database
from shared.entrypoints import write
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import validated
from shared.service import PortaService


class BillingService(PortaService):
    name = "billing"
    db = Database(messaging)

    @rpc
    @write
    def create_invoice(self, payload: dict) -> dict:
        """A draft. Any staff member today; `manage_billing` comes with the billing issue."""
        staff = require_principal(self.context.principal).require_staff()
        data = validated(CreateInvoiceSchema(), payload)
        invoice = invoices.draft(self.db.session, uuid.UUID(staff.firm_id), data["account_id"], data["currency"],
                                 data["lines"], uuid.UUID(staff.user_id))
        return InvoiceSchema().dump(invoice)

    @rpc
    def get_invoice(self, invoice_id: str) -> dict:
        staff = require_principal(self.context.principal).require_staff()
        invoice = invoices.get(self.db.session, uuid.UUID(staff.firm_id), parse_id(invoice_id, "invoice"))
        return InvoiceSchema().dump(invoice)
