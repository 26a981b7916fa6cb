"""What the signature tests share: a real PDF to sign, a request on it, its signers' emailed links, and
pyHanko's own reading of a sealed PDF."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen import canvas

from tests.emails import link_in, to
from tests.waiting import eventually


def signable_pdf(title: str = "Engagement letter 2026") -> bytes:
    """A two-page PDF as a firm would send it (the minimal samples.PDF has no pages to sign)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for number in (1, 2):
        pdf.drawString(72, 720, f"{title}, page {number}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def upload_pdf(api: Any, account: dict, name: str = "engagement.pdf", data: bytes | None = None) -> dict:
    resp = api.post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": name},
                    data=data if data is not None else signable_pdf(), headers={"Content-Type": "application/pdf"})
    assert resp.status_code == 201, resp.text
    return resp.json()["items"][0]


def request_signatures(api: Any, document: dict, signers: list[tuple[str, str]], **fields: Any) -> dict:
    resp = api.post(f"/api/v1/documents/{document['id']}/signature-requests",
                    json={"signers": [{"name": n, "email": e} for n, e in signers], **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def signing_link(mailbox: Any, address: str, *, nth: int = 1, timeout: float = 20) -> str:
    """The link in the `nth` signing email `address` received (the newest is the only one that works)."""
    eventually(lambda: len([m for m in mailbox.messages() if to(address)(m)]) >= nth, timeout=timeout)
    return link_in([m for m in mailbox.messages() if to(address)(m)][nth - 1])


def pyhanko_validate(pdf: bytes, cert_file: str) -> Any:
    """pyHanko's verdict on the PDF's (last) signature, trusting the certificate in `cert_file` (the run's seal).
    In a thread of its own: pyHanko runs asyncio, and Playwright's sync API holds this thread's event loop."""

    def validate() -> Any:
        signature = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[-1]
        return validate_pdf_signature(signature, ValidationContext(trust_roots=[load_cert_from_pemder(cert_file)]))

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(validate).result()
