"""Files, uploads and requests the documents tests share."""
from __future__ import annotations

import http.client
import io
import json
import random
import re
import socket
import uuid
import zipfile
from typing import Any
from urllib.parse import urlsplit

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BOUNDARY = "porta-sample-boundary"


def zip_of(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pdf_of(size: int, seed: int) -> bytes:
    """A `.pdf` of `size` bytes: PDF's magic, then bytes that do not compress (the same for the same seed)."""
    return (PDF + random.Random(seed).randbytes(size))[:size]


def upload(api: Any, account: dict, name: str, data: bytes, **params: Any) -> Any:
    """A staff upload with a raw body."""
    return api.post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": name, **params}, data=data,
                    headers={"Content-Type": "application/octet-stream"})


def objects_under(s3_client: Any, bucket: str, firm: dict) -> list[str]:
    """Every object the firm has in the store."""
    return [o.object_name for o in s3_client.list_objects(bucket, prefix=f"firms/{firm['firm']['id']}/",
                                                          recursive=True)]


def documents_of(api: Any, account: dict) -> list[dict]:
    """The account's documents as staff list them."""
    resp = api.get(f"/api/v1/accounts/{account['id']}/documents")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


# -- file requests --------------------------------------------------------------------------------


def private_root(api: Any, account: dict) -> dict:
    folders = api.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
    return next(f for f in folders if f["root"] == "private")


def make_request(api: Any, account: dict, **fields: Any) -> dict:
    """An open file request into the account's private root (201 checked)."""
    body = {"folder_id": private_root(api, account)["id"], "message": "Please send your W-2 for 2025.", **fields}
    resp = api.post(f"/api/v1/accounts/{account['id']}/file-requests", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def token_of(request: dict) -> str:
    return request["url"].rsplit("/", 1)[1]


# -- people ---------------------------------------------------------------------------------------


def employee(firm: dict, mailbox: Any, anonymous: Any, api_for: Any, account: dict | None = None, *,
             rights: list[str] | None = None) -> Any:
    """An activated employee of the firm, with `rights`, assigned to `account` if given (else to none): his api."""
    address = f"emma-{uuid.uuid4().hex[:8]}-{firm['email']}"
    invited = firm["api"].post("/api/v1/team", json={"name": "Emma", "email": address, "role": "employee",
                                                    "rights": rights or []})
    assert invited.status_code == 201, invited.text
    if account is not None:
        assigned = firm["api"].put(f"/api/v1/accounts/{account['id']}/team", json={"user_ids": [invited.json()["id"]]})
        assert assigned.status_code == 200, assigned.text
    text = mailbox.wait_for(lambda m: address in m["To"], timeout=20).get_body(("plain",)).get_content()
    token = re.search(r"/p/([A-Za-z0-9_-]+)", text).group(1)
    accepted = anonymous.post(f"/api/public/invitations/{token}", json={"password": "emma's long password"})
    assert accepted.status_code == 200, accepted.text
    return api_for(accepted.json()["token"])


# -- request bodies -------------------------------------------------------------------------------


def form(*parts: tuple[str, bytes | str | None, bytes]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of `(name, filename or None for a text field, data)` parts, and its
    Content-Type. A filename given as bytes goes into the part's header as those bytes."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'.encode()
        if filename is not None:
            disposition += b'; filename="' + (filename if isinstance(filename, bytes) else filename.encode()) + b'"'
        body += f"--{BOUNDARY}\r\n".encode() + b"Content-Disposition: " + disposition + b"\r\n\r\n" + data + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def post_cut_short(base_url: str, path: str, headers: dict[str, str], sent: bytes, *,
                   chunked: bool) -> tuple[int, dict]:
    """POST a body that stops early, as from a client that goes away: `sent` goes out, then the client
    closes its side of the connection. Chunked: `sent` in chunks and never the last (zero) chunk;
    otherwise under a Content-Length longer than `sent`. The answer's status and JSON body."""
    url = urlsplit(base_url)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", "Connection: close",
            *(f"{name}: {value}" for name, value in headers.items())]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        pieces = [sent[i:i + 1000] for i in range(0, len(sent), 1000)]
        data = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    else:
        head.append(f"Content-Length: {len(sent) + 1000}")
        data = sent
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + data)
        sock.shutdown(socket.SHUT_WR)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = answer.read()
    return answer.status, json.loads(body) if body else {}
