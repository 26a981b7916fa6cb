"""Who may upload where, and whose upload a call reaches: rules on objects in memory."""
from __future__ import annotations

import uuid

import pytest

from documents import archive, uploads
from documents.models import Upload
from shared.config import Settings
from shared.context import Principal
from shared.errors import Forbidden

FIRM, USER = uuid.uuid4(), uuid.uuid4()


def upload(kind: str = "staff", user_id: uuid.UUID | None = USER, firm_id: uuid.UUID = FIRM) -> Upload:
    return Upload(id=uuid.uuid4(), firm_id=firm_id, uploaded_by_kind=kind, uploaded_by_id=user_id)


def test_staff_need_manage_documents_to_upload_and_a_client_no_right():
    assert uploads.right_to_upload("staff") == "manage_documents"
    assert uploads.right_to_upload("client") is None


@pytest.mark.parametrize("client,kind,source", [(False, "staff", "staff"), (True, "client", "portal")])
def test_a_logged_in_uploader_is_staff_or_a_client_in_the_portal(client, kind, source):
    uploader = uploads.Uploader.user(USER, {"name": "Jane", "email": "jane@home.example"}, client=client)
    assert uploader == uploads.Uploader(kind=kind, source=source, user_id=USER, name="Jane",
                                        email="jane@home.example")


def test_a_logged_in_caller_reaches_only_his_own_uploads():
    mine = Principal(str(FIRM), str(USER), "staff")
    assert uploads.belongs_to(upload(), mine)
    assert not uploads.belongs_to(upload(user_id=uuid.uuid4()), mine)
    assert not uploads.belongs_to(upload(firm_id=uuid.uuid4()), mine)
    assert not uploads.belongs_to(upload("link", None), mine)


def test_a_call_without_a_caller_reaches_only_link_uploads():
    assert uploads.belongs_to(upload("link", None), None)
    assert not uploads.belongs_to(upload(), None)


@pytest.mark.parametrize("portal_settings", [None, {}, {"done_uploading": False}])
def test_done_uploading_needs_the_firm_to_turn_the_button_on(portal_settings):
    with pytest.raises(Forbidden):
        uploads.require_done_uploading_button(portal_settings)
    uploads.require_done_uploading_button({"done_uploading": True})


def test_archive_limits_come_from_the_settings():
    limits = archive.ArchiveLimits.from_settings(Settings(zip_max_entries=7, zip_max_bytes=1024, zip_max_ratio=3))
    assert (limits.max_entries, limits.max_total_bytes, limits.max_ratio) == (7, 1024, 3)
    assert limits.max_depth == archive.ArchiveLimits().max_depth
