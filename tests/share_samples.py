"""Files and calls the share and approval tests use: a PDF with a visible line of text, a small PNG, a share."""
from __future__ import annotations

import struct
import zlib
from typing import Any


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF (A5) that shows `text` in Helvetica: valid enough for pdf.js to draw it."""
    stream = f"BT /F1 24 Tf 40 500 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return body


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small solid-colour PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def uploaded(api: Any, account: dict, name: str, data: bytes) -> dict:
    """A staff upload into the account's private root: the stored document."""
    resp = api.post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": name}, data=data,
                    headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 201, resp.text
    return resp.json()["items"][0]


def share(api: Any, documents: list[dict], recipients: list[Any], **fields: Any) -> dict:
    """A share (201 checked); a recipient is an address or `{email, expires_at}`."""
    body = {"document_ids": [d["id"] for d in documents],
            "recipients": [r if isinstance(r, dict) else {"email": r} for r in recipients],
            "send_email": False, **fields}
    resp = api.post("/api/v1/shares", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def recipient(shared: dict, email: str) -> dict:
    return next(r for r in shared["recipients"] if r["email"] == email)


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]
