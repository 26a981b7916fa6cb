"""The invoice PDF (reportlab) from InvoiceSchema's fields."""
from __future__ import annotations

import io

from pypdf import PdfReader

from billing import pdf


def test_the_pdf_shows_the_invoice_as_its_fields_say():
    invoice = {"display_number": "INV-0042", "status": "partially_paid", "currency": "BHD", "exponent": 3,
               "due_date": "2026-12-31", "issued_at": "2026-12-01T10:00:00Z", "memo": "Net 30 <b>days</b>",
               "items": [{"description": "Audit & review", "quantity": 2, "unit_price": 1500, "amount": 3000}],
               "total": 3000, "credit_applied": 500, "amount_paid": 1000, "amount_refunded": 0, "amount_due": 1500}
    content = pdf.render(invoice, "Ledger & Co", "Smith Family")
    assert content.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    for expected in ("Ledger & Co", "Invoice INV-0042", "Smith Family", "Partially paid", "Audit & review",
                     "BHD 1.500", "BHD 3.000", "-BHD 0.500", "-BHD 1.000", "Amount due", "Net 30 <b>days</b>"):
        assert expected in text, expected
    assert pdf.filename(invoice) == "INV-0042.pdf"
