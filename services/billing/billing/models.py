"""The billing service's own tables. Invoices and payments arrive with the billing issue."""
from sqlalchemy.orm import DeclarativeBase

from shared.outbox import messaging_tables


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
