"""Whether a client email goes out, and whether it carries the "activate your account" banner.

The one place that decides it for every email to a client or a third party (file requests now;
chats, invoices and the rest later). It reads crm's answer about the address
(`crm.client_email_preferences(firm_id, account_id, email)`):

    {"known": bool, "notify": bool, "categories": {name: bool}, "status": "none"|"invited"|"active",
     "user_id": str | None}

- An address that is no access row of the account (`known` false: a third party, a bank, a
  colleague of the client) always gets the email, without a banner: nothing of the firm's says
  otherwise, and the staff member typed it in for this very email.
- An access row with NOTIFY off, or with the email's category off, gets nothing (`reason` says which).
- Otherwise it is sent; with the banner when the client was invited to the portal and has not
  activated yet (status `invited`), so every email he gets is also a way in.

Plain Python, no nameko.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.contracts.crm import NOTIFICATION_CATEGORIES

# The categories a client may switch off (API.md, Accounts: "Notification categories"): crm keeps them.
CATEGORIES = NOTIFICATION_CATEGORIES

NOTIFY_OFF = "notify_off"
CATEGORY_OFF = "category_off"


@dataclass(frozen=True)
class Decision:
    send: bool
    banner: bool = False  # add the activate-your-account banner (needs a fresh activation link)
    reason: str | None = None  # why not sent: NOTIFY_OFF or CATEGORY_OFF


def decide(preferences: Mapping[str, Any] | None, category: str) -> Decision:
    """Send or suppress an email of `category` to the address `preferences` describes (None: unknown).

    A category the row does not mention is on (crm's default for every category)."""
    if category not in CATEGORIES:
        raise ValueError(f"not a notification category: {category!r}")
    if not preferences or not preferences.get("known"):
        return Decision(send=True)
    if not preferences.get("notify"):
        return Decision(send=False, reason=NOTIFY_OFF)
    if not (preferences.get("categories") or {}).get(category, True):
        return Decision(send=False, reason=CATEGORY_OFF)
    return Decision(send=True, banner=preferences.get("status") == "invited" and bool(preferences.get("user_id")))
