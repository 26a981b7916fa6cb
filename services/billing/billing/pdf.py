"""The invoice as a PDF (reportlab), made from the same fields the API answers with: what the firm sees,
the client reads in the email attachment and downloads are one and the same."""
from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shared.contracts.billing import format_amount

STATUS_WORDS = {"draft": "Draft", "open": "Open", "partially_paid": "Partially paid", "paid": "Paid", "void": "Void",
                "partially_refunded": "Partially refunded", "refunded": "Refunded"}


def filename(invoice: Mapping[str, Any]) -> str:
    return f"{invoice.get('display_number') or 'draft-invoice'}.pdf"


def render(invoice: Mapping[str, Any], firm_name: str, account_name: str) -> bytes:
    """`invoice`: InvoiceSchema's fields (amounts in minor units, `exponent` its currency's)."""
    styles = getSampleStyleSheet()
    currency, exponent = invoice["currency"], invoice["exponent"]

    def money(amount: int) -> str:
        return format_amount(amount, currency, exponent)

    def text(value: Any, style: str = "Normal") -> Paragraph:
        return Paragraph(escape(str(value)), styles[style])

    buffer = io.BytesIO()
    title = f"Invoice {invoice.get('display_number') or '(draft)'}"
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, author=firm_name, leftMargin=18 * mm,
                                 rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    story: list[Any] = [text(firm_name, "Title"), text(title, "Heading2"),
                        text(f"Billed to: {account_name}"),
                        text(f"Status: {STATUS_WORDS.get(invoice['status'], invoice['status'])}"),
                        text(f"Due date: {invoice['due_date']}")]
    if invoice.get("issued_at"):
        text_issued = str(invoice["issued_at"])[:10]
        story.append(text(f"Issued: {text_issued}"))
    story.append(Spacer(1, 8 * mm))
    rows: list[list[Any]] = [["Description", "Quantity", "Unit price", "Amount"]]
    for item in invoice["items"]:
        rows.append([text(item["description"]), str(item["quantity"]), money(item["unit_price"]),
                     money(item["amount"])])
    rows += [["", "", "Total", money(invoice["total"])]]
    if invoice.get("credit_applied"):
        rows.append(["", "", "Credit applied", money(-invoice["credit_applied"])])
    if invoice.get("amount_paid"):
        rows.append(["", "", "Paid", money(-invoice["amount_paid"])])
    if invoice.get("amount_refunded"):
        rows.append(["", "", "Refunded", money(invoice["amount_refunded"])])
    rows.append(["", "", "Amount due", money(invoice["amount_due"])])
    table = Table(rows, colWidths=[88 * mm, 20 * mm, 32 * mm, 34 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (2, len(invoice["items"]) + 1), (-1, len(invoice["items"]) + 1), 0.8, colors.black),
        ("FONTNAME", (2, -1), (-1, -1), "Helvetica-Bold"),
    ]))
    story.append(table)
    if invoice.get("memo"):
        story += [Spacer(1, 8 * mm), text("Memo", "Heading4"), text(invoice["memo"])]
    document.build(story)
    return buffer.getvalue()
