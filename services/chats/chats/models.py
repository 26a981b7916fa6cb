"""The chats service's own tables."""
from sqlalchemy.orm import DeclarativeBase

from shared.outbox import messaging_tables


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
