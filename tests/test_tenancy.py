"""Another firm's ids are 404 on every route that takes one, enumerated from the OpenAPI document."""
from __future__ import annotations

import re
import time
import uuid

import pytest

from shared.contracts.documents import CLIENT_DONE_UPLOADING
from tests.signing_samples import signable_pdf

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
THEIR_FOLDER = "<their folder>"  # in a sample body: the other firm's folder id

# A valid body for every write that takes an id, so the 404 cannot hide behind a 422. `bytes`: a file,
# sent raw with ?filename= (and ?folder_id= their folder).
SAMPLE_BODIES = {
    # chats
    ("post", "/api/v1/accounts/{account_id}/chats"): {"subject": "Mine now", "body": "Mine now"},
    ("post", "/api/v1/chats/{thread_id}/messages"): {"body": "Mine now"},
    ("post", "/api/v1/chats/{thread_id}/attachments"): PDF,
    ("post", "/api/v1/chats/{thread_id}/tasks"): {"title": "Mine now"},
    ("patch", "/api/v1/chats/{thread_id}/tasks/{task_id}"): {"done": True},
    ("put", "/api/v1/chats/{thread_id}/reminders"): {"enabled": True},
    ("patch", "/api/v1/chat-templates/{template_id}"): {"name": "Mine now"},
    # client requests
    ("post", "/api/v1/accounts/{account_id}/client-requests"): {"title": "Mine now", "login_required": False,
                                                                "questions": [{"kind": "text", "label": "Mine"}]},
    # shares and approvals
    ("patch", "/api/v1/shares/{share_id}/recipients/{recipient_id}"): {"expires_at": None},
    ("post", "/api/v1/documents/{document_id}/approval-requests"): {"emails": ["mine-now@example.com"]},
    # signature requests
    ("post", "/api/v1/documents/{document_id}/signature-requests"): {"signers": [{"name": "Mine",
                                                                                  "email": "mine-now@example.com"}]},
    # billing
    ("post", "/api/v1/accounts/{account_id}/invoices"): {"items": [{"description": "Mine now", "quantity": 1,
                                                                    "unit_price": 100}],
                                                         "currency": "EUR", "due_date": "2026-12-31"},
    ("patch", "/api/v1/invoices/{invoice_id}"): {"memo": "Mine now"},
    ("post", "/api/v1/invoices/{invoice_id}/payments"): {"amount": 1, "method": "cash"},
    ("post", "/api/v1/payments/{payment_id}/refunds"): {"amount": 1},
    ("post", "/api/v1/accounts/{account_id}/credit"): {"amount": 100, "currency": "EUR", "method": "cash"},
    ("patch", "/api/v1/team/{member_id}"): {"role": "admin"},
    ("patch", "/api/v1/accounts/{account_id}"): {"name": "Mine now"},
    ("put", "/api/v1/accounts/{account_id}/team"): {"user_ids": []},
    ("patch", "/api/v1/contacts/{contact_id}"): {"first_name": "Mine"},
    ("post", "/api/v1/accounts/{account_id}/contacts"): {"contact_id": None},  # filled with our own contact
    ("patch", "/api/v1/accounts/{account_id}/access/{email}"): {"notify": True},
    ("put", "/api/v1/accounts/{account_id}/access/{email}/notifications"): {"categories": {"proposals": False}},
    ("post", "/api/v1/accounts/{account_id}/jobs"): {"name": "Job", "status": "Open"},
    ("patch", "/api/v1/jobs/{job_id}"): {"status": "Done"},
    ("post", "/api/v1/accounts/{account_id}/folders"): {"name": "Mine now", "client_access": "none",
                                                        "parent_id": THEIR_FOLDER},
    ("post", "/api/v1/accounts/{account_id}/documents"): PDF,
    ("patch", "/api/v1/documents/{document_id}"): {"name": "Mine now.pdf"},
    ("post", "/api/v1/accounts/{account_id}/file-requests"): {"folder_id": THEIR_FOLDER, "message": "Mine now"},
    ("patch", "/api/v1/file-requests/{file_request_id}"): {"message": "Mine now"},
    ("post", "/api/v1/file-requests/{file_request_id}/resend"): {"recipients": ["mine-now@example.com"]},
}


def request_of(body, their_folder: str, our_contact: str) -> dict:
    """The keyword arguments that send a sample body, its placeholders filled."""
    if body is None:
        return {}
    if isinstance(body, bytes):
        return {"data": body, "params": {"filename": "mine.pdf", "folder_id": their_folder},
                "headers": {"Content-Type": "application/octet-stream"}}
    body = {k: their_folder if v == THEIR_FOLDER else v for k, v in body.items()}
    if "contact_id" in body:
        body["contact_id"] = our_contact
    return {"json": body}


def what_they_have(theirs) -> dict:
    """Everything of theirs a cross-firm write could touch, as their owner sees it."""
    api, account = theirs["api"], theirs["account_id"]
    document = api.get(f"/api/v1/documents/{theirs['document_id']}")
    request = api.get(f"/api/v1/file-requests/{theirs['file_request_id']}").json()
    return {
        "account": api.get(f"/api/v1/accounts/{account}").json(),
        "folders": api.get(f"/api/v1/accounts/{account}/folders").json()["items"],
        "documents": api.get(f"/api/v1/accounts/{account}/documents").json()["items"],
        "document": (document.status_code, document.json()),
        "content": api.get(f"/api/v1/documents/{theirs['document_id']}/content").content,
        "file_requests": api.get(f"/api/v1/accounts/{account}/file-requests").json()["items"],
        "file_request": {k: request[k] for k in ("message", "status", "recipients", "url")},
        "contacts": api.get(f"/api/v1/contacts/{theirs['contact_id']}").json(),
        "jobs": api.get(f"/api/v1/accounts/{account}/jobs").json()["items"],
        "team": api.get("/api/v1/team").json()["items"],
        "thread": api.get(f"/api/v1/chats/{theirs['thread_id']}").json(),  # chats
        "messages": api.get(f"/api/v1/chats/{theirs['thread_id']}/messages").json()["items"],
        "template": api.get(f"/api/v1/chat-templates/{theirs['template_id']}").json(),
        "share": api.get(f"/api/v1/shares/{theirs['share_id']}").json(),
        "client_request": api.get(f"/api/v1/client-requests/{theirs['client_request_id']}").json(),
        "approval": api.get(f"/api/v1/approval-requests/{theirs['approval_request_id']}").json(),
        "invoice": api.get(f"/api/v1/invoices/{theirs['invoice_id']}").json(),
        "ledger": api.get(f"/api/v1/accounts/{account}/ledger").json()["items"],
        "credit": api.get(f"/api/v1/accounts/{account}/credit").json(),
        "signature_request": api.get(f"/api/v1/signature-requests/{theirs['signature_request_id']}").json(),
    }


def objects_of(s3_client, bucket, firm_id: str) -> list[str]:
    return sorted(o.object_name for o in s3_client.list_objects(bucket, prefix=f"firms/{firm_id}/", recursive=True))


def inbox_item(firm, account, documents_event) -> str:
    """The id of an Inbox+ item of the firm's owner, made as the documents service's event makes one."""
    documents_event(CLIENT_DONE_UPLOADING, {
        "account_id": account["id"], "account_name": account["name"],
        "user": {"id": str(uuid.uuid4()), "name": "Their client", "email": "c-" + firm["email"]}},
        firm_id=firm["firm"]["id"], account_id=account["id"])
    deadline = time.monotonic() + 15
    while not (items := firm["api"].get("/api/v1/inbox").json()["items"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert items, "no inbox item appeared"
    return items[0]["id"]


def their_chats(api, account: dict, address: str, mailbox, anonymous) -> dict:
    """Chats: their client activated (a thread needs one), a thread with a task, a chat template."""
    assert api.patch(f"/api/v1/accounts/{account['id']}/access/{address}", json={"login": True}).status_code == 200
    text = mailbox.wait_for(lambda m: address in m["To"], timeout=20).get_body(("plain",)).get_content()
    token = re.search(r"/p/([A-Za-z0-9_-]+)", text).group(1)
    assert anonymous.post(f"/api/public/invitations/{token}", json={"password": "their long password"}).ok
    thread = api.post(f"/api/v1/accounts/{account['id']}/chats", json={"subject": "Theirs", "body": "Theirs",
                                                                      "tasks": [{"title": "Theirs"}]})
    assert thread.status_code == 201, thread.text
    template = api.post("/api/v1/chat-templates", json={"name": "Theirs", "subject": "Theirs", "body": "Theirs"})
    assert template.status_code == 201, template.text
    return {"thread_id": thread.json()["id"], "task_id": thread.json()["tasks"][0]["id"],
            "template_id": template.json()["id"]}


@pytest.fixture
def theirs(signup, documents_event, mailbox, anonymous):
    """A second firm with one of everything that has an id."""
    firm = signup("Theirs")
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Their client", "type": "company"}).json()
    contact = api.post("/api/v1/contacts", json={"first_name": "T", "last_name": "C",
                                                 "emails": ["t-" + firm["email"]]}).json()
    api.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": contact["id"]})
    member = api.post("/api/v1/team", json={"name": "M", "email": "m-" + firm["email"], "role": "employee"}).json()
    job = api.post(f"/api/v1/accounts/{account['id']}/jobs", json={"name": "J", "status": "Open"}).json()
    item_id = inbox_item(firm, account, documents_event)
    folders = api.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
    client_root = next(f["id"] for f in folders if f["root"] == "client")
    folder = api.post(f"/api/v1/accounts/{account['id']}/folders", json={
        "name": "Theirs", "client_access": "view", "parent_id": client_root})
    assert folder.status_code == 201, folder.text
    document = api.post(f"/api/v1/accounts/{account['id']}/documents", data=PDF,
                        params={"filename": "theirs.pdf", "folder_id": folder.json()["id"]},
                        headers={"Content-Type": "application/octet-stream"})
    assert document.status_code == 201, document.text
    request = api.post(f"/api/v1/accounts/{account['id']}/file-requests", json={
        "folder_id": folder.json()["id"], "message": "Theirs", "recipients": ["r-" + firm["email"]]})
    assert request.status_code == 201, request.text
    shared = api.post("/api/v1/shares", json={"document_ids": [document.json()["items"][0]["id"]],  # shares
                                              "recipients": [{"email": "s-" + firm["email"]}], "send_email": False})
    assert shared.status_code == 201, shared.text
    approval = api.post(f"/api/v1/documents/{document.json()['items'][0]['id']}/approval-requests",
                        json={"emails": ["a-" + firm["email"]]})
    assert approval.status_code == 201, approval.text
    shares_and_approvals = {"share_id": shared.json()["id"], "recipient_id": shared.json()["recipients"][0]["id"],
                            "approval_request_id": approval.json()["id"]}
    invoice = api.post(f"/api/v1/accounts/{account['id']}/invoices", json={  # billing: issued, paid in part
        "items": [{"description": "Theirs", "quantity": 1, "unit_price": 5000}], "currency": "EUR",
        "due_date": "2026-12-31"}).json()
    assert api.post(f"/api/v1/invoices/{invoice['id']}/issue").status_code == 200
    payment = api.post(f"/api/v1/invoices/{invoice['id']}/payments", json={"amount": 1000, "method": "cash"})
    assert payment.status_code == 201, payment.text
    signable = api.post(f"/api/v1/accounts/{account['id']}/documents", data=signable_pdf(),  # signature requests
                        params={"filename": "letter.pdf", "folder_id": folder.json()["id"]},
                        headers={"Content-Type": "application/octet-stream"}).json()["items"][0]
    signature = api.post(f"/api/v1/documents/{signable['id']}/signature-requests",
                         json={"signers": [{"name": "S", "email": "sig-" + firm["email"]}]})
    assert signature.status_code == 201, signature.text
    return {"signature_request_id": signature.json()["id"], "signer_id": signature.json()["signers"][0]["id"],
            "invoice_id": invoice["id"], "payment_id": payment.json()["id"],
            "account_id": account["id"], "contact_id": contact["id"], "member_id": member["id"],
            "job_id": job["id"], "email": contact["emails"][0], "item_id": item_id, "api": api,
            "firm_id": firm["firm"]["id"], "folder_id": folder.json()["id"],
            "document_id": document.json()["items"][0]["id"], "file_request_id": request.json()["id"],
            "client_request_id": api.post(f"/api/v1/accounts/{account['id']}/client-requests", json={  # theirs
                "title": "Theirs", "login_required": False, "questions": [{"kind": "text", "label": "Theirs"}]}
            ).json()["id"],
            **shares_and_approvals, **their_chats(api, account, contact["emails"][0], mailbox, anonymous),
            # bulk messages: a job of theirs
            "bulk_id": api.post("/api/v1/chats/bulk", json={"account_ids": [account["id"]], "subject": "Theirs",
                                                            "body": "Theirs"}).json()["id"]}


def test_every_route_with_an_id_answers_404_to_another_firm(firm, theirs, anonymous, s3_client, bucket):
    ours = firm["api"]
    our_contact = ours.post("/api/v1/contacts", json={"first_name": "O", "last_name": "C",
                                                      "emails": ["o-" + firm["email"]]}).json()
    before, their_objects = what_they_have(theirs), objects_of(s3_client, bucket, theirs["firm_id"])
    spec = anonymous.get("/openapi.json").json()
    tried = []
    for path, operations in spec["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params or not path.startswith("/api/v1/"):
            continue
        url = path.format(**{p: theirs[p] for p in params})
        for method, operation in operations.items():
            body = None
            if "requestBody" in operation:
                assert (method, path) in SAMPLE_BODIES, f"add a sample body for {method.upper()} {path}"
                body = SAMPLE_BODIES[(method, path)]
            resp = getattr(ours, method)(url, **request_of(body, theirs["folder_id"], our_contact["id"]))
            assert resp.status_code == 404, f"{method.upper()} {path}: {resp.status_code} {resp.text}"
            assert theirs["account_id"] not in resp.text
            tried.append((method, path))
    assert len(tried) >= 15
    assert {("get", "/api/v1/documents/{document_id}/content"), ("post", "/api/v1/accounts/{account_id}/documents"),
            ("post", "/api/v1/file-requests/{file_request_id}/revoke")} <= set(tried)
    # and nothing of theirs changed, and nothing was stored for us
    assert before["account"]["name"] == "Their client"
    assert what_they_have(theirs) == before
    assert objects_of(s3_client, bucket, theirs["firm_id"]) == their_objects
    assert objects_of(s3_client, bucket, firm["firm"]["id"]) == []


def test_another_firms_folder_named_on_our_own_account_is_not_found(firm, theirs, s3_client, bucket):
    """Their folder id in a body or query of a route on our own account or document: 404 as well."""
    ours = firm["api"]
    account = ours.post("/api/v1/accounts", json={"name": "Our client", "type": "company"}).json()["id"]
    [document] = ours.post(f"/api/v1/accounts/{account}/documents", data=PDF, params={"filename": "ours.pdf"},
                           headers={"Content-Type": "application/octet-stream"}).json()["items"]
    objects, before = objects_of(s3_client, bucket, firm["firm"]["id"]), what_they_have(theirs)
    folder = theirs["folder_id"]
    attempts = {
        "list": ours.get(f"/api/v1/accounts/{account}/documents", params={"folder_id": folder}),
        "folder": ours.post(f"/api/v1/accounts/{account}/folders", json={"name": "In theirs", "parent_id": folder,
                                                                        "client_access": "none"}),
        "upload": ours.post(f"/api/v1/accounts/{account}/documents", data=PDF,
                            params={"filename": "x.pdf", "folder_id": folder},
                            headers={"Content-Type": "application/octet-stream"}),
        "move": ours.patch(f"/api/v1/documents/{document['id']}", json={"folder_id": folder}),
        "file request": ours.post(f"/api/v1/accounts/{account}/file-requests", json={"folder_id": folder,
                                                                                    "message": "Into theirs"}),
    }
    assert {what: resp.status_code for what, resp in attempts.items()} == dict.fromkeys(attempts, 404)
    assert all(folder not in resp.text for resp in attempts.values())
    assert ours.get(f"/api/v1/documents/{document['id']}").json()["folder_id"] == document["folder_id"]
    assert ours.get(f"/api/v1/accounts/{account}/file-requests").json()["items"] == []
    assert objects_of(s3_client, bucket, firm["firm"]["id"]) == objects
    assert what_they_have(theirs) == before


def test_another_firms_documents_cannot_be_shared_nor_sent_for_approval(firm, theirs):
    """Their document ids in a share's body: 404 like an unknown id, and nothing of theirs is shared."""
    ours = firm["api"]
    account = ours.post("/api/v1/accounts", json={"name": "Our client", "type": "company"}).json()["id"]
    [document] = ours.post(f"/api/v1/accounts/{account}/documents", data=PDF, params={"filename": "ours.pdf"},
                           headers={"Content-Type": "application/octet-stream"}).json()["items"]
    before = what_they_have(theirs)
    for ids in ([theirs["document_id"]], [document["id"], theirs["document_id"]]):
        resp = ours.post("/api/v1/shares", json={"document_ids": ids, "recipients": [{"email": "x@example.com"}]})
        assert resp.status_code == 404 and theirs["document_id"] not in resp.text, resp.text
    assert ours.get(f"/api/v1/accounts/{account}/shares").json()["items"] == []
    assert what_they_have(theirs) == before


# -- payments in the portal: another firm's account or invoice is as unknown to a client as a made-up id


def test_another_firms_account_and_invoice_are_unknown_in_the_portal(client_portal, theirs):
    client, ours = client_portal["client"], client_portal["base"]
    their_account = f"/portal/v1/accounts/{theirs['account_id']}"
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    before = what_they_have(theirs)
    attempts = {
        "their invoices": client.get(f"{their_account}/invoices"),
        "their credit": client.get(f"{their_account}/credit"),
        "pay theirs": client.post(f"{their_account}/invoices/{theirs['invoice_id']}/payments",
                                  json={"amount": 100, "card": card}),
        "their invoice on our account": client.post(f"{ours}/invoices/{theirs['invoice_id']}/payments",
                                                    json={"amount": 100, "card": card}),
        "prepay theirs": client.post(f"{their_account}/prepayments",
                                     json={"amount": 100, "currency": "EUR", "card": card}),
    }
    assert {what: resp.status_code for what, resp in attempts.items()} == dict.fromkeys(attempts, 404)
    assert all(theirs["invoice_id"] not in resp.text for resp in attempts.values())
    assert what_they_have(theirs) == before
