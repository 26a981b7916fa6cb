"""The sealed PDF (documents/sealing.py): original pages, an evidence page, a PAdES seal that pyHanko's own
validator accepts; and `verify`, which tells a sealed, intact PDF from a changed, extended or foreign one."""
from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from asn1crypto import pem
from devstack.seal import self_signed
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from documents import sealing
from shared.errors import ValidationFailed

SIGNED_AT = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
SEALED_AT = datetime(2026, 11, 23, 10, 30, 0, tzinfo=UTC)


def _seal(tmp_path, name: str) -> sealing.Seal:
    key, cert = self_signed(name)
    (tmp_path / f"{name}.key").write_bytes(key)
    (tmp_path / f"{name}.crt").write_bytes(cert)
    return sealing.Seal.load(str(tmp_path / f"{name}.key"), str(tmp_path / f"{name}.crt"))


@pytest.fixture(scope="module")
def seal(tmp_path_factory) -> sealing.Seal:
    return _seal(tmp_path_factory.mktemp("seal"), "ours")


@pytest.fixture(scope="module")
def other_seal(tmp_path_factory) -> sealing.Seal:
    return _seal(tmp_path_factory.mktemp("other"), "theirs")


def letter(*lines: str) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for line in lines:
        pdf.drawString(72, 720, line)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


ORIGINAL = letter("Engagement letter, page one", "Engagement letter, page two")


def evidence(original: bytes = ORIGINAL) -> sealing.Evidence:
    return sealing.Evidence(
        request_id="0b8e6f0e-5d4a-4c1e-9d59-3f1f2b7a8c9d", firm_name="Acme CPA", document_name="engagement.pdf",
        original_sha256=hashlib.sha256(original).hexdigest(), sealed_at=SEALED_AT,
        signers=[sealing.SignerEvidence("Jane Q. Smith", "jane@home.example", SIGNED_AT, "203.0.113.7",
                                        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile Safari", "link"),
                 sealing.SignerEvidence("Bob <Brown>", "bob@home.example", SIGNED_AT, "2001:db8::1",
                                        "Mozilla/5.0 (X11; Linux x86_64) Chrome/131", "portal")])


@pytest.fixture(scope="module")
def sealed(seal) -> bytes:
    return sealing.sealed_pdf(ORIGINAL, evidence(), seal)


def pyhanko_status(pdf: bytes, seal: sealing.Seal):
    signature = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[0]
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[seal.certificate]))


def test_pyhankos_validator_finds_the_seal_intact_trusted_and_covering_the_whole_file(sealed, seal):
    status = pyhanko_status(sealed, seal)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_the_seal_is_a_pades_signature_by_the_seal_certificate(sealed, seal):
    [signature] = PdfFileReader(io.BytesIO(sealed), strict=False).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.signer_cert.dump() == seal.certificate.dump()


def test_the_signing_time_is_the_installations_clock_as_given(sealed, seal):
    [signature] = PdfFileReader(io.BytesIO(sealed), strict=False).embedded_signatures
    assert signature.self_reported_timestamp == SEALED_AT
    assert sealing.verify(sealed, seal).sealed_at == SEALED_AT


def test_the_original_pages_come_first_then_the_evidence_page(sealed):
    pages = PdfReader(io.BytesIO(sealed)).pages
    assert len(pages) == 3
    assert "page one" in pages[0].extract_text() and "page two" in pages[1].extract_text()
    assert sealing.EVIDENCE_TITLE in pages[2].extract_text()


def test_the_evidence_page_names_each_signer_his_time_address_agent_and_the_originals_digest(sealed):
    text = " ".join(PdfReader(io.BytesIO(sealed)).pages[-1].extract_text().split())
    for expected in ("Jane Q. Smith", "jane@home.example", "2026-11-23 10:00:05 UTC", "203.0.113.7",
                     "iPhone OS 17_0", "Bob <Brown>", "2001:db8::1", "Chrome/131", "the client portal",
                     "an emailed link", hashlib.sha256(ORIGINAL).hexdigest(), "engagement.pdf", "Acme CPA",
                     "installation's own clock"):
        assert expected in text, expected


def test_verify_says_a_fresh_seal_is_sealed_and_intact(sealed, seal):
    assert sealing.verify(sealed, seal) == sealing.Verification(sealed=True, intact=True, sealed_at=SEALED_AT)


def test_one_changed_byte_inside_the_signed_range_is_not_intact_for_verify_nor_pyhanko(sealed, seal):
    at = sealed.index(b"/Producer")  # in the document's info: inside the first signed range
    changed = bytearray(sealed)
    changed[at + 3] ^= 0x01
    changed = bytes(changed)
    assert not pyhanko_status(changed, seal).intact
    assert sealing.verify(changed, seal) == sealing.Verification(sealed=True, intact=False, sealed_at=SEALED_AT)


def test_an_incremental_update_after_the_seal_is_not_intact(sealed, seal):
    writer = PdfWriter(io.BytesIO(sealed), incremental=True)
    writer.add_metadata({"/Title": "changed after the seal"})
    out = io.BytesIO()
    writer.write(out)
    status = pyhanko_status(out.getvalue(), seal)
    assert status.intact and status.coverage != SignatureCoverageLevel.ENTIRE_FILE  # the seal's own bytes are fine
    assert sealing.verify(out.getvalue(), seal).intact is False


def test_a_pdf_sealed_by_another_installation_is_not_sealed_here(seal, other_seal):
    theirs = sealing.sealed_pdf(ORIGINAL, evidence(), other_seal)
    assert sealing.verify(theirs, other_seal).sealed
    assert sealing.verify(theirs, seal) == sealing.Verification(sealed=False, intact=False)


def test_a_former_seal_named_in_configuration_still_verifies_after_a_rotation(tmp_path, other_seal):
    before = sealing.sealed_pdf(ORIGINAL, evidence(), other_seal)
    key, cert = self_signed("new seal")
    (tmp_path / "new.key").write_bytes(key)
    (tmp_path / "new.crt").write_bytes(cert)
    (tmp_path / "former.pem").write_bytes(pem.armor("CERTIFICATE", other_seal.certificate.dump()))
    without = sealing.Seal.load(str(tmp_path / "new.key"), str(tmp_path / "new.crt"))
    rotated = sealing.Seal.load(str(tmp_path / "new.key"), str(tmp_path / "new.crt"),
                                former_certs_file=str(tmp_path / "former.pem"))
    assert sealing.verify(before, without).sealed is False
    assert sealing.verify(before, rotated) == sealing.Verification(sealed=True, intact=True, sealed_at=SEALED_AT)


@pytest.mark.parametrize("body", [b"", b"hello", b"%PDF-1.7\n%%EOF\n", ORIGINAL], ids=["empty", "text", "stub",
                                                                                        "unsigned"])
def test_anything_else_is_neither_sealed_nor_intact(seal, body):
    assert sealing.verify(body, seal) == sealing.Verification(sealed=False, intact=False)


def test_a_readable_pdf_with_pages_can_be_signed():
    assert sealing.check_signable(ORIGINAL) == 2


def test_an_encrypted_pdf_cannot_be_signed():
    writer = PdfWriter(clone_from=io.BytesIO(ORIGINAL))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ValidationFailed, match="password"):
        sealing.check_signable(out.getvalue())


@pytest.mark.parametrize("body", [b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
                                  b"%PDF-1.4 and then nothing"], ids=["no pages", "damaged"])
def test_a_pdf_without_pages_or_damaged_cannot_be_signed(body):
    with pytest.raises(ValidationFailed):
        sealing.check_signable(body)


def test_a_seal_that_cannot_be_read_says_so_without_its_contents(tmp_path):
    (tmp_path / "seal.key").write_text("not a key")
    (tmp_path / "seal.crt").write_text("not a certificate")
    with pytest.raises(sealing.SealUnavailable) as raised:
        sealing.Seal.load(str(tmp_path / "seal.key"), str(tmp_path / "seal.crt"))
    assert "not a key" not in str(raised.value)
    with pytest.raises(sealing.SealUnavailable, match="PORTA_SEAL_KEY_FILE"):
        sealing.Seal.load("", "")
