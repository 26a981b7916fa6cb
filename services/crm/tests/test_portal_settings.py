"""The firm's portal settings and the record of each change."""
from __future__ import annotations

import pytest

from crm import portal_settings
from shared.errors import Forbidden


def test_defaults_let_clients_create_chats_and_nothing_else(db, owner):
    settings = portal_settings.get_settings(db, owner)
    assert {name: getattr(settings, name) for name in portal_settings.SWITCHES} == {
        "prepayment": False, "done_uploading": False, "auto_rename": False, "appointments": False,
        "announcement": False, "clients_create_chats": True, "client_organizers": False, "work_in_progress": False,
        "chat_email_content": False}
    assert settings.announcement_text == ""


def test_a_change_reports_each_setting_with_old_and_new_value(db, owner):
    _, changes = portal_settings.update_settings(db, owner, {"announcement": True, "announcement_text": "Closed Friday",
                                                             "prepayment": False})
    assert changes == [{"setting": "announcement", "old": False, "new": True},
                       {"setting": "announcement_text", "old": "", "new": "Closed Friday"}]


def test_settings_belong_to_one_firm(db, owner, other_owner):
    portal_settings.update_settings(db, owner, {"work_in_progress": True})
    assert portal_settings.get_settings(db, other_owner).work_in_progress is False


def test_employees_cannot_change_portal_settings(db, employee_factory):
    with pytest.raises(Forbidden):
        portal_settings.update_settings(db, employee_factory("manage_accounts"), {"prepayment": True})
