"""The running gateway against its own OpenAPI document (schemathesis): for generated requests, valid
and invalid alike, never a server error, and every answer (status, media type, headers, body) as the
document describes it, so the document and the gateway cannot drift apart.

Bounded for `make test`: a few examples per operation and kind (valid, invalid); the whole module stays well
under three minutes. Every operation runs with the bearer token of a fresh staff user (portal
operations then answer their documented 403), except logout, which would end that token for the rest.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from devstack.fixtures import Mailbox
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.samples import PDF
from tests.signing_samples import signable_pdf

# Per operation and kind (valid, then invalid requests): enough to walk every status an operation
# documents on the way, few enough for `make test`.
EXAMPLES = 4
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def staff(porta_system, porta_env) -> dict[str, Any]:
    """A fresh firm's owner (`headers`) and ids of things his firm has, for the path parameters of valid
    requests (`known`): without them every valid request for an id would end in a 404."""
    api = requests.Session()
    url = porta_system.url
    email = f"connie-{uuid.uuid4().hex[:10]}@example.com"
    signup = api.post(url + "/api/v1/auth/signup", timeout=30, json={
        "firm_name": "Conformance CPA", "name": "Connie", "email": email, "password": "correct horse battery"})
    assert signup.status_code == 201, signup.text
    api.headers["Authorization"] = f"Bearer {signup.json()['token']}"

    def made(resp: requests.Response) -> dict[str, Any]:
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    account = made(api.post(url + "/api/v1/accounts", json={"name": "Smith Family", "type": "family"}, timeout=30))
    base = f"{url}/api/v1/accounts/{account['id']}"
    contact = made(api.post(url + "/api/v1/contacts", timeout=30, json={
        "first_name": "Jane", "last_name": "Smith", "emails": [f"jane-{email}"]}))
    made(api.post(base + "/contacts", json={"contact_id": contact["id"]}, timeout=30))
    job = made(api.post(base + "/jobs", json={"name": "2026 return", "status": "open"}, timeout=30))
    folders = made(api.get(base + "/folders", timeout=30))["items"]
    private = next(f for f in folders if f["root"] == "private")
    document = made(api.post(base + "/documents", params={"filename": "w2.pdf"}, data=PDF, timeout=30,
                             headers={"Content-Type": "application/octet-stream"}))["items"][0]
    request = made(api.post(base + "/file-requests", json={"folder_id": private["id"], "message": "W-2"}, timeout=30))
    known = {"account_id": account["id"], "contact_id": contact["id"], "email": f"jane-{email}", "job_id": job["id"],
             "document_id": document["id"], "file_request_id": request["id"], "token": request["url"].rsplit("/", 1)[1]}
    shared = made(api.post(url + "/api/v1/shares", timeout=30, json={  # shares and approvals
        "document_ids": [document["id"]], "recipients": [{"email": f"banker-{email}"}], "send_email": False}))
    approval = made(api.post(f"{url}/api/v1/documents/{document['id']}/approval-requests", timeout=30,
                             json={"emails": [f"partner-{email}"]}))
    known.update(share_id=shared["id"], recipient_id=shared["recipients"][0]["id"],
                 approval_request_id=approval["id"])
    invoice = made(api.post(base + "/invoices", timeout=30, json={  # billing: an issued invoice, paid in part
        "items": [{"description": "Return", "quantity": 1, "unit_price": 100000}], "currency": "EUR",
        "due_date": "2026-12-31"}))
    made(api.post(f"{url}/api/v1/invoices/{invoice['id']}/issue", timeout=30))
    payment = made(api.post(f"{url}/api/v1/invoices/{invoice['id']}/payments", timeout=30,
                            json={"amount": 1000, "method": "cash"}))
    known.update(invoice_id=invoice["id"], payment_id=payment["id"])
    # Jane gets a portal login: /portal/v1 operations run with her token, and chats (which need an
    # activated client) can start.
    mailbox = Mailbox(Path(porta_env["PORTA_MAIL_DIR"]))
    made(api.patch(f"{base}/access/jane-{email}", json={"login": True}, timeout=30))
    invitation = mailbox.wait_for(lambda m: f"jane-{email}" in m["To"], timeout=30).get_body(("plain",)).get_content()
    accepted = made(requests.post(url + "/api/public/invitations/" + re.search(r"/p/([\w-]+)", invitation).group(1),
                                  json={"password": "jane's long password"}, timeout=30))
    thread = made(api.post(base + "/chats", timeout=30, json={"subject": "Your return", "body": "Hello Jane",
                                                              "tasks": [{"title": "Send the W-2"}]}))
    template = made(api.post(url + "/api/v1/chat-templates", timeout=30,
                             json={"name": "Welcome", "subject": "Welcome", "body": "Hello [CONTACT_FIRST_NAME]"}))
    signable = made(api.post(base + "/documents", params={"filename": "letter.pdf"}, data=signable_pdf(), timeout=30,
                             headers={"Content-Type": "application/octet-stream"}))["items"][0]
    signing = made(api.post(f"{url}/api/v1/documents/{signable['id']}/signature-requests", timeout=30,
                            json={"signers": [{"name": "Jane Smith", "email": f"jane-{email}"}]}))
    questions = made(api.post(base + "/client-requests", timeout=30, json={
        "title": "2026 questions", "questions": [{"kind": "text", "label": "Anything new?", "required": False}],
        "recipients": [f"jane-{email}"], "login_required": False}))
    known.update(thread_id=thread["id"], task_id=thread["tasks"][0]["id"], template_id=template["id"],
                 signature_request_id=signing["id"], signer_id=signing["signers"][0]["id"],
                 client_request_id=questions["id"])
    return {"headers": {"Authorization": api.headers["Authorization"]},
            "client_headers": {"Authorization": f"Bearer {accepted['token']}"}, "known": known}


def test_the_gateway_answers_as_its_openapi_document_says(porta_system, staff):
    # Logout would end the token every other operation uses (tests/test_identity_api.py tests it).
    schema = schemathesis.openapi.from_url(porta_system.url + "/openapi.json").exclude(path="/api/v1/auth/logout")
    problems: list[str] = []
    answered: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        names = {parameter.name for parameter in operation.path_parameters}
        # Valid requests name things the firm has, but delete none of them (the other operations need them).
        known = {name: staff["known"][name] for name in names & set(staff["known"]) if operation.method != "delete"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode,
                                             path_parameters=known if mode is GenerationMode.POSITIVE else None)

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def exercise(case: schemathesis.Case) -> None:
                headers = staff["client_headers"] if case.operation.path.startswith("/portal/") else staff["headers"]
                response = case.call(base_url=porta_system.url, headers=headers, timeout=30)
                answered.setdefault(case.operation.label, set()).add(response.status_code)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                exercise()
            except Unsatisfiable:  # no invalid request exists (an operation without any input)
                continue
            except (Exception, BaseExceptionGroup) as failure:  # every operation's findings, not only the first
                problems.append(f"{operation.label} ({mode.value}): {failure}")
    # The valid requests went deep, not only into 404s and 422s.
    succeeded = sorted(label for label, statuses in answered.items() if any(200 <= s < 300 for s in statuses))
    print(f"{len(succeeded)} of {len(operations)} operations answered 2xx:", *succeeded, sep="\n  ")
    print("never:", *sorted(f"{label} {sorted(answered.get(label, ()))}" for label in
                            {o.label for o in operations} - set(succeeded)), sep="\n  ")
    assert not problems, f"{len(problems)} findings:\n\n" + "\n\n".join(problems)
    assert len(succeeded) >= len(operations) // 2
