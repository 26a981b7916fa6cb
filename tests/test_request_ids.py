"""A request id given to the gateway follows the request into every service's JSON logs."""
from __future__ import annotations

import json
import time
import uuid


def log_records(path) -> list[dict]:
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def test_request_id_reaches_the_crm_log(porta_system, firm):
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    resp = firm["api"].post("/api/v1/accounts", json={"name": "Traced", "type": "company"},
                            headers={"X-Request-ID": request_id})
    assert resp.status_code == 201 and resp.headers["X-Request-ID"] == request_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [r for r in log_records(porta_system.log_dir / "crm.log") if r.get("request_id") == request_id]
        if {r.get("entrypoint") for r in mine} >= {"authenticate", "create_account"}:
            break
        time.sleep(0.2)
    assert {r.get("entrypoint") for r in mine} >= {"authenticate", "create_account"}
    assert all(r["service"] == "crm" for r in mine)
