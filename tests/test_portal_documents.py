"""The client portal's documents over the whole system: a client user lists and downloads what is
in the folders shown to him, uploads into the ones he may edit, and never sees a private one."""
from __future__ import annotations

import uuid

import pytest

from tests.samples import PDF, upload


@pytest.fixture
def portal(client_portal):
    """Jane in the portal, and the account's folders by root (or name) as the firm sees them."""
    staff, account = client_portal["staff"], client_portal["account"]
    listed = staff.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
    return {**client_portal, "folders": {f["root"] or f["name"]: f for f in listed}}


def staff_upload(portal, name, data, folder):
    [document] = upload(portal["staff"], portal["account"], name, data, folder_id=folder["id"]).json()["items"]
    return document


def test_a_client_sees_only_documents_in_folders_shown_to_him(portal):
    shown = staff_upload(portal, "engagement.pdf", PDF + b"1", portal["folders"]["client"])
    staff_upload(portal, "internal notes.txt", b"do not show\n", portal["folders"]["private"])
    listed = portal["client"].get(f"{portal['base']}/documents").json()["items"]
    assert [d["id"] for d in listed] == [shown["id"]]
    folders = portal["client"].get(f"{portal['base']}/folders").json()["items"]
    assert [f["root"] for f in folders] == ["client"]


def test_a_client_downloads_a_shown_document_and_it_stops_being_new(portal):
    shown = staff_upload(portal, "engagement.pdf", PDF, portal["folders"]["client"])
    resp = portal["client"].get(f"{portal['base']}/documents/{shown['id']}/content")
    assert resp.status_code == 200 and resp.content == PDF
    assert portal["staff"].get(f"/api/v1/documents/{shown['id']}").json()["new"] is False


def test_a_private_document_is_not_found_for_the_client(portal):
    hidden = staff_upload(portal, "internal.pdf", PDF, portal["folders"]["private"])
    assert portal["client"].get(f"{portal['base']}/documents/{hidden['id']}/content").status_code == 404
    private = portal["folders"]["private"]["id"]
    assert portal["client"].get(f"{portal['base']}/documents", params={"folder_id": private}).status_code == 404


def test_a_client_uploads_into_his_folder_by_default(portal):
    resp = portal["client"].post(f"{portal['base']}/documents", params={"filename": "w2.pdf"}, data=PDF)
    assert resp.status_code == 201, resp.text
    [document] = resp.json()["items"]
    assert document["folder_id"] == portal["folders"]["client"]["id"]
    assert (document["source"], document["uploaded_by"]["kind"]) == ("portal", "client")
    staff_view = portal["staff"].get(f"/api/v1/documents/{document['id']}").json()
    assert staff_view["new"] is True


def test_a_client_cannot_upload_into_a_view_only_folder(portal):
    staff, account = portal["staff"], portal["account"]
    view_only = staff.post(f"/api/v1/accounts/{account['id']}/folders", json={
        "name": "Signed returns", "parent_id": portal["folders"]["client"]["id"], "client_access": "view"}).json()
    resp = portal["client"].post(f"{portal['base']}/documents", params={"filename": "x.pdf",
                                                                       "folder_id": view_only["id"]}, data=PDF)
    assert resp.status_code == 403


def test_after_login_off_the_clients_documents_are_not_found(portal):
    shown = staff_upload(portal, "engagement.pdf", PDF, portal["folders"]["client"])
    staff, account, address = portal["staff"], portal["account"], portal["address"]
    staff.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"login": False})
    assert portal["client"].get(f"{portal['base']}/documents").status_code == 404
    assert portal["client"].get(f"{portal['base']}/documents/{shown['id']}/content").status_code == 404


def test_a_document_of_another_account_is_not_found_under_this_one(portal):
    staff = portal["staff"]
    other = staff.post("/api/v1/accounts", json={"name": "Other", "type": "company"}).json()
    [elsewhere] = upload(staff, other, "other.pdf", PDF).json()["items"]
    hidden = portal["client"].get(f"{portal['base']}/documents/{elsewhere['id']}/content")
    unknown = portal["client"].get(f"{portal['base']}/documents/{uuid.uuid4()}/content")
    assert hidden.status_code == 404
    assert hidden.json() == unknown.json()


def test_done_uploading_needs_the_firms_switch(portal):
    assert portal["client"].post(f"{portal['base']}/done-uploading").status_code == 403
    portal["staff"].patch("/api/v1/settings/portal", json={"done_uploading": True})
    assert portal["client"].post(f"{portal['base']}/done-uploading").status_code == 204
