"""The sealed copy of a signed PDF, and checking one: plain Python over bytes, no database, no nameko.

`sealed_pdf` takes the original's bytes as they are (every page, kept byte for byte in the new file's
first revision as pypdf copies it), appends an evidence page drawn with reportlab (each signer's typed
name, email, time, client address and user agent, and the original's SHA-256), then signs the whole with
pyHanko as a PAdES baseline signature (subfilter ETSI.CAdES.detached, SHA-256) under the installation's
seal (`Seal`: key and certificate from configuration, docs/signatures.md).

The signing time is the installation's own clock, passed in (`sealed_at`): PAdES forbids the CMS
signing-time attribute, so it is the signature dictionary's /M entry, which lies inside the signed byte
range; the evidence page prints it too, saying where it came from. There is no RFC 3161 timestamp
from a trusted authority: the time is as good as the server's clock, and the page says so.

`verify` answers `POST /api/public/verify`: sealed (a signature made with one of this installation's
seal keys: its certificate is ours and its signature value verifies) and intact (pyHanko finds the
signed bytes unchanged and covering the whole file, so nothing was appended after the seal either).
"""
from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shared.errors import ValidationFailed

log = logging.getLogger(__name__)

SEAL_FIELD = "PortaSeal"
EVIDENCE_TITLE = "Signature evidence"
# reportlab's own Bitstream Vera (shipped with it): a font embedded in the page, so every reader shows
# the same glyphs and pypdf extracts the same text, wherever the PDF is opened.
FONT, FONT_BOLD = "PortaVera", "PortaVeraBold"


class SealUnavailable(RuntimeError):
    """No usable seal key and certificate: the deployment is incomplete (docs/signatures.md)."""


@dataclass(frozen=True)
class Seal:
    """The installation's seal: its key, its certificate (with any chain to embed), and the certificates
    of seals it used before a rotation, which `verify` still recognises."""

    key: asn1_keys.PrivateKeyInfo
    certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...] = ()
    former: tuple[asn1_x509.Certificate, ...] = ()

    @classmethod
    def load(cls, key_file: str, cert_file: str, *, passphrase: str = "", former_certs_file: str = "") -> Seal:
        """From PEM (or DER) files: the key (encrypted with `passphrase` if one is given), the certificate
        file (the seal's certificate first, then any intermediates), the former seals' certificates."""
        if not key_file or not cert_file:
            raise SealUnavailable("No seal configured: set PORTA_SEAL_KEY_FILE and PORTA_SEAL_CERT_FILE.")
        try:
            key = load_private_key_from_pemder(key_file, passphrase.encode() if passphrase else None)
            certificate, *chain = load_certs_from_pemder([cert_file])
            former = tuple(load_certs_from_pemder([former_certs_file])) if former_certs_file else ()
        except (OSError, ValueError, TypeError) as exc:  # never the key's bytes in the message, only why
            raise SealUnavailable(f"The seal's key or certificate cannot be read: {type(exc).__name__}") from None
        return cls(key=key, certificate=certificate, chain=tuple(chain), former=former)

    def recognises(self, certificate: asn1_x509.Certificate | None) -> bool:
        """True for this seal's certificate or a former one (compared as DER bytes)."""
        if certificate is None:
            return False
        der = certificate.dump()
        return any(der == known.dump() for known in (self.certificate, *self.former))

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.certificate.dump()).hexdigest()


_SEALS: dict[tuple[str, ...], Seal] = {}


def seal_of(settings: Any) -> Seal:
    """The seal the settings name, read once per process (a rotation is a restart)."""
    key = (settings.seal_key_file, settings.seal_cert_file, settings.seal_former_certs_file)
    if key not in _SEALS:
        _SEALS[key] = Seal.load(settings.seal_key_file, settings.seal_cert_file,
                                passphrase=settings.seal_key_passphrase,
                                former_certs_file=settings.seal_former_certs_file)
    return _SEALS[key]


# -- what the evidence page says --------------------------------------------------------------------


@dataclass(frozen=True)
class SignerEvidence:
    name: str  # as the signer typed it
    email: str
    signed_at: datetime
    address: str
    user_agent: str
    through: str  # "link" or "portal"


@dataclass(frozen=True)
class Evidence:
    request_id: str
    firm_name: str
    document_name: str
    original_sha256: str
    signers: Sequence[SignerEvidence]
    sealed_at: datetime


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        folder = Path(__import__("reportlab").__file__).parent / "fonts"
        pdfmetrics.registerFont(TTFont(FONT, str(folder / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "VeraBd.ttf")))


def evidence_page(evidence: Evidence) -> bytes:
    """The evidence as a PDF of its own (one page, more for many signers), to append to the original."""
    _fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=colors.HexColor("#3b4650"))
    title = ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=16, leading=20, spaceAfter=4 * mm)
    heading = ParagraphStyle("heading", parent=body, fontName=FONT_BOLD, fontSize=11, leading=15, spaceBefore=3 * mm)

    def text(value: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(value), style)

    story: list[Any] = [
        text(EVIDENCE_TITLE, title),
        text(f"Document: {evidence.document_name}"),
        text(f"Requested by: {evidence.firm_name}"),
        text(f"Signature request: {evidence.request_id}"),
        text(f"SHA-256 of the original PDF: {evidence.original_sha256}", small),
        Spacer(1, 2 * mm),
        text("The pages before this one are the original PDF, unchanged. Each signer below opened it, "
             "typed his name and ticked an explicit consent to sign it electronically."),
    ]
    for number, signer in enumerate(evidence.signers, start=1):
        rows = [
            ["Name typed", text(signer.name)],
            ["Email", text(signer.email)],
            ["Signed at", text(_utc(signer.signed_at))],
            ["Client address", text(signer.address or "unknown")],
            ["User agent", text(signer.user_agent or "unknown", small)],
            ["Signed through", text("the client portal" if signer.through == "portal" else "an emailed link")],
        ]
        table = Table([[text(label, body), value] for label, value in rows], colWidths=[38 * mm, 132 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#c5ccd3"))]))
        story += [text(f"Signer {number}", heading), table]
    story += [
        Spacer(1, 4 * mm),
        text(f"Sealed at {_utc(evidence.sealed_at)} by this Porta installation's seal certificate. The time is "
             "the installation's own clock (no timestamp authority was asked). Any change to this file after "
             "the seal shows in a PDF validator, and at POST /api/public/verify of the installation.", small),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=EVIDENCE_TITLE, author="Porta", leftMargin=20 * mm,
                      rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm).build(story)
    return out.getvalue()


# -- the original: signable or not -------------------------------------------------------------------


def check_signable(pdf: bytes) -> int:
    """The number of pages of a PDF that can be signed; a 422 naming why one cannot (unreadable,
    encrypted, no pages). Checked when the request is made, not when the last signer signs."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            raise ValidationFailed("A password-protected PDF cannot be signed.",
                                   {"document_id": ["The PDF is encrypted."]})
        pages = len(reader.pages)
    except ValidationFailed:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ValidationFailed("This PDF cannot be read, so it cannot be signed.",
                               {"document_id": ["The PDF is damaged or not a PDF."]}) from None
    if pages == 0:
        raise ValidationFailed("This PDF has no pages to sign.", {"document_id": ["The PDF has no pages."]})
    return pages


def with_evidence(original: bytes, evidence_pdf: bytes) -> bytes:
    """The original's pages (and everything else of it, cloned by pypdf) followed by the evidence page(s)."""
    writer = PdfWriter(clone_from=io.BytesIO(original))
    for page in PdfReader(io.BytesIO(evidence_pdf)).pages:
        writer.add_page(page)
    writer.add_metadata({"/PortaEvidence": "The last page(s) hold the signature evidence"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- the seal ----------------------------------------------------------------------------------------


class _SignerAt(signers.PdfSigner):
    """pyHanko's PdfSigner with the signing time given, not read from the clock (the time it writes
    into /M: the installation's clock, injected by the caller, as the evidence page prints it)."""

    def __init__(self, *args: Any, signing_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


def seal_pdf(pdf: bytes, seal: Seal, sealed_at: datetime) -> bytes:
    """`pdf` signed as a PAdES baseline signature under `seal`, at `sealed_at` (an incremental update,
    so the bytes before it stay as they were)."""
    signer = signers.SimpleSigner(signing_cert=seal.certificate, signing_key=seal.key,
                                  cert_registry=SimpleCertificateStore.from_certs([seal.certificate, *seal.chain]))
    meta = signers.PdfSignatureMetadata(field_name=SEAL_FIELD, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", name="Porta seal",
                                        reason="Signatures collected through Porta; evidence on the last page")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = _SignerAt(meta, signer=signer, signing_time=sealed_at).sign_pdf(writer)
    return out.getvalue()


def sealed_pdf(original: bytes, evidence: Evidence, seal: Seal) -> bytes:
    """The whole: original pages + evidence page(s), sealed at `evidence.sealed_at`."""
    return seal_pdf(with_evidence(original, evidence_page(evidence)), seal, evidence.sealed_at)


# -- checking a PDF someone hands us ------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    sealed: bool
    intact: bool
    sealed_at: datetime | None = None


def verify(pdf: bytes, seal: Seal) -> Verification:
    """Is `pdf` sealed by this installation, and intact? Never raises on what it is given: a file that is
    no PDF, or a damaged one, is neither."""
    try:
        embedded = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        ours = [signature for signature in embedded if seal.recognises(signature.signer_cert)]
    except Exception as exc:  # noqa: BLE001 - anything a hostile file makes the parser raise means "not ours"
        log.info("verify: not a readable signed PDF (%s)", type(exc).__name__)
        return Verification(sealed=False, intact=False)
    if not ours:
        return Verification(sealed=False, intact=False)
    signature = ours[-1]
    try:
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=[signature.signer_cert]),
                                        skip_diff=True)
    except Exception as exc:  # noqa: BLE001 - a signature pyHanko cannot even evaluate is not a valid one
        log.info("verify: the seal cannot be validated (%s)", type(exc).__name__)
        return Verification(sealed=False, intact=False)
    intact = bool(status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
    return Verification(sealed=bool(status.valid), intact=intact, sealed_at=signature.self_reported_timestamp)
