"""Another firm's ids are 404 on every route that takes one, enumerated from the OpenAPI document."""
from __future__ import annotations

import re

import pytest

# A valid body for every write that takes an id, so the 404 cannot hide behind a 422.
SAMPLE_BODIES = {
    ("patch", "/api/v1/team/{member_id}"): {"role": "admin"},
    ("patch", "/api/v1/accounts/{account_id}"): {"name": "Mine now"},
    ("put", "/api/v1/accounts/{account_id}/team"): {"user_ids": []},
    ("patch", "/api/v1/contacts/{contact_id}"): {"first_name": "Mine"},
    ("post", "/api/v1/accounts/{account_id}/contacts"): {"contact_id": None},  # filled with our own contact
    ("patch", "/api/v1/accounts/{account_id}/access/{email}"): {"notify": True},
    ("put", "/api/v1/accounts/{account_id}/access/{email}/notifications"): {"categories": {"proposals": False}},
    ("post", "/api/v1/accounts/{account_id}/jobs"): {"name": "Job", "status": "Open"},
    ("patch", "/api/v1/jobs/{job_id}"): {"status": "Done"},
}


@pytest.fixture
def theirs(signup):
    """A second firm with one of everything that has an id."""
    firm = signup("Theirs")
    api = firm["api"]
    account = api.post("/api/v1/accounts", json={"name": "Their client", "type": "company"}).json()
    contact = api.post("/api/v1/contacts", json={"first_name": "T", "last_name": "C",
                                                 "emails": ["t-" + firm["email"]]}).json()
    api.post(f"/api/v1/accounts/{account['id']}/contacts", json={"contact_id": contact["id"]})
    member = api.post("/api/v1/team", json={"name": "M", "email": "m-" + firm["email"], "role": "employee"}).json()
    job = api.post(f"/api/v1/accounts/{account['id']}/jobs", json={"name": "J", "status": "Open"}).json()
    return {"account_id": account["id"], "contact_id": contact["id"], "member_id": member["id"],
            "job_id": job["id"], "email": contact["emails"][0], "api": api}


def test_every_route_with_an_id_answers_404_to_another_firm(firm, theirs, anonymous):
    ours = firm["api"]
    our_contact = ours.post("/api/v1/contacts", json={"first_name": "O", "last_name": "C",
                                                      "emails": ["o-" + firm["email"]]}).json()
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
                body = dict(SAMPLE_BODIES[(method, path)])
                if "contact_id" in body:
                    body["contact_id"] = our_contact["id"]
            resp = getattr(ours, method)(url, **({"json": body} if body is not None else {}))
            assert resp.status_code == 404, f"{method.upper()} {path}: {resp.status_code} {resp.text}"
            assert theirs["account_id"] not in resp.text
            tried.append((method, path))
    assert len(tried) >= 15
    # and nothing of theirs changed
    assert theirs["api"].get(f"/api/v1/accounts/{theirs['account_id']}").json()["name"] == "Their client"
