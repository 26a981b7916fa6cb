"""File names and types: the display name we keep, and whether a file is what its name says.

Reliability notes U1-U3: extensions are allow-listed (never block-listed), the extension must
agree with the content's magic bytes, and the client's Content-Type is only a claim to check.
The display name is metadata: object keys are ours and never contain it.

Magic numbers come from `filetype` (pure Python, reads the first 8 KiB like we do). It has no
notion of text, so text, HTML and SVG are told apart here; and since some of its signatures are
two bytes long (`BM` is a bitmap), it is trusted over "this is text" only for the types below.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

import filetype

from shared.errors import UnsupportedMediaType, ValidationFailed

MAX_NAME_BYTES = 255
# A suffix longer than this is not an extension ("a." + 300 letters); it is cut like the rest.
_MAX_EXTENSION_BYTES = 16

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"
HTML = "text/html"
SVG = "image/svg+xml"
EMPTY = "application/x-empty"
ZIP = "application/zip"
OLE2 = "application/x-ole-storage"  # a legacy Office file whose kind the first 8 KiB do not tell
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
EPUB = "application/epub+zip"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
RTF = "application/rtf"

_ZIPPED = frozenset({ZIP, DOCX, XLSX, PPTX, ODT, ODS, ODP, EPUB})
_OLE = frozenset({OLE2, DOC, XLS, PPT})
_HEIF = frozenset({"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"})
# What `filetype` says that we believe even of bytes that would also pass for text.
_TRUSTED = _ZIPPED | _OLE | _HEIF | {PDF, RTF, "image/png", "image/jpeg", "image/gif", "image/tiff", "image/webp"}
_GENERIC_DECLARED = frozenset({"", OCTET_STREAM, "binary/octet-stream", "application/unknown"})


@dataclass(frozen=True)
class _Kind:
    stored: str  # the content type we store and serve
    content: frozenset[str]  # what `sniff` may say of such a file
    declared: frozenset[str] = frozenset()  # what else a client may call it
    text: bool = False  # any declared text/* agrees


def _kind(stored: str, content: Collection[str], declared: Collection[str] = (), text: bool = False) -> _Kind:
    return _Kind(stored, frozenset(content), frozenset(declared), text)


_ZIP_DECLARED = ("application/x-zip-compressed", "application/x-zip", "application/zip-compressed", "multipart/x-zip",
                 ZIP)
_OLE_DECLARED = tuple(_OLE) + ("application/vnd.ms-office", "application/x-msexcel", "application/x-excel",
                               "application/cdfv2")
_OFX_DECLARED = ("application/x-ofx", "application/ofx", "application/vnd.intu.qfx", "application/vnd.intu.qbo",
                 "application/xml")

# The extensions an accounting firm's documents come in, and what each must contain.
_KINDS: dict[str, _Kind] = {
    "pdf": _kind(PDF, {PDF}, {"application/x-pdf", "application/acrobat"}),
    "doc": _kind(DOC, _OLE, _OLE_DECLARED),
    "xls": _kind(XLS, _OLE, _OLE_DECLARED),
    "ppt": _kind(PPT, _OLE, _OLE_DECLARED),
    "docx": _kind(DOCX, {DOCX, ZIP}, _ZIP_DECLARED),
    "xlsx": _kind(XLSX, {XLSX, ZIP}, _ZIP_DECLARED + (XLS,)),
    "pptx": _kind(PPTX, {PPTX, ZIP}, _ZIP_DECLARED),
    "odt": _kind(ODT, {ODT, ZIP}, _ZIP_DECLARED),
    "ods": _kind(ODS, {ODS, ZIP}, _ZIP_DECLARED),
    "csv": _kind("text/csv", {TEXT}, {"application/csv", "application/x-csv", XLS}, text=True),
    "txt": _kind(TEXT, {TEXT}, text=True),
    "rtf": _kind(RTF, {RTF}, {"text/rtf", "application/x-rtf", "text/richtext"}),
    "xml": _kind("application/xml", {TEXT}, text=True),
    "json": _kind("application/json", {TEXT}, text=True),
    "jpg": _kind("image/jpeg", {"image/jpeg"}, {"image/jpg", "image/pjpeg"}),
    "jpeg": _kind("image/jpeg", {"image/jpeg"}, {"image/jpg", "image/pjpeg"}),
    "png": _kind("image/png", {"image/png"}, {"image/x-png"}),
    "gif": _kind("image/gif", {"image/gif"}),
    "tif": _kind("image/tiff", {"image/tiff"}, {"image/tif", "image/x-tiff"}),
    "tiff": _kind("image/tiff", {"image/tiff"}, {"image/tif", "image/x-tiff"}),
    "heic": _kind("image/heic", _HEIF),
    "webp": _kind("image/webp", {"image/webp"}),
    "zip": _kind(ZIP, _ZIPPED, _ZIP_DECLARED),
    # Bank and bookkeeping exchange files (OFX 1 is SGML text, OFX 2 XML; IIF is tab-separated).
    "ofx": _kind("application/x-ofx", {TEXT}, _OFX_DECLARED, text=True),
    "qfx": _kind("application/vnd.intu.qfx", {TEXT}, _OFX_DECLARED, text=True),
    "qbo": _kind("application/vnd.intu.qbo", {TEXT}, _OFX_DECLARED, text=True),
    "iif": _kind(TEXT, {TEXT}, text=True),
    # QuickBooks company files and backups: no published magic, so "unknown binary" is what they are,
    # and anything recognisable (a program, a PDF, text) named like them is refused.
    "qbw": _kind(OCTET_STREAM, {OCTET_STREAM}),
    "qbb": _kind(OCTET_STREAM, {OCTET_STREAM, ZIP}),
}
ALLOWED_EXTENSIONS: frozenset[str] = frozenset(_KINDS)
_SAME_EXTENSION = {"jpg": "jpeg", "jpeg": "jpg", "tif": "tiff", "tiff": "tif"}


def _wanted(allowed: Collection[str]) -> set[str]:
    return {str(e).strip().lower().lstrip(".") for e in allowed}


def extension_allowed(extension: str, allowed: Collection[str]) -> bool:
    """Whether a narrowed list (a file request's `allowed_types`) takes this extension; jpg is jpeg."""
    wanted = _wanted(allowed)
    return extension in wanted or _SAME_EXTENSION.get(extension) in wanted

_WHAT: dict[str, str] = {
    PDF: "a PDF document", TEXT: "plain text", HTML: "an HTML page", SVG: "an SVG image", EMPTY: "empty",
    ZIP: "a zip archive", DOCX: "a Word document", XLSX: "an Excel workbook", PPTX: "a PowerPoint presentation",
    ODT: "an OpenDocument text", ODS: "an OpenDocument spreadsheet", ODP: "an OpenDocument presentation",
    DOC: "a Word 97-2003 document", XLS: "an Excel 97-2003 workbook", PPT: "a PowerPoint 97-2003 presentation",
    OLE2: "an Office 97-2003 file", RTF: "an RTF document", "image/jpeg": "a JPEG image", "image/png": "a PNG image",
    "image/gif": "a GIF image", "image/tiff": "a TIFF image", "image/webp": "a WebP image",
    "image/heic": "a HEIC image", "image/heif": "a HEIF image", "application/x-msdownload": "a Windows program",
    "application/x-executable": "a program", "application/x-mach-binary": "a program",
    OCTET_STREAM: "unrecognised binary data",
}

# Windows refuses these as file names, with any extension ("con.txt" too).
_RESERVED = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$"}
                      | {f"{port}{n}" for port in ("com", "lpt") for n in (*"123456789", "¹", "²", "³")})


def _strip_controls(text: str) -> str:
    """Whitespace of any kind becomes a space; other control and format characters (NUL, U+202E, ...) go."""
    return "".join(" " if c.isspace() else c for c in text
                   if c.isspace() or unicodedata.category(c) not in ("Cc", "Cf", "Cs"))


def _cut(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    return text.encode()[:max_bytes].decode(errors="ignore")


def sanitize_filename(raw: str) -> str:
    """The display name we keep for `raw`: one path component, no control characters, at most 255
    UTF-8 bytes with its extension kept. Raises ValidationFailed if nothing usable is left."""
    # Again after the strip: a removed U+202E may have parted a letter from its accent.
    name = unicodedata.normalize("NFC", _strip_controls(unicodedata.normalize("NFC", raw)))
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(name.split()).strip(" .")
    if not name:
        raise ValidationFailed("The file name is empty once cleaned.",
                               {"filename": ["Give the file a name with letters or digits in it."]})
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension.encode()) > _MAX_EXTENSION_BYTES:
        stem, extension = name, ""
    if name.split(".")[0].rstrip().lower() in _RESERVED:
        stem = "_" + stem
    if extension:
        extension = "." + extension
    stem = _cut(stem, MAX_NAME_BYTES - len(extension.encode())).rstrip(" .")
    return stem + extension


def extension_of(filename: str) -> str:
    """The last suffix of the cleaned name, lower case, without its dot; "" when it has none."""
    stem, dot, extension = sanitize_filename(filename).rpartition(".")
    return extension.lower() if dot and stem else ""


# Bytes that do not occur in text in UTF-8 or any single-byte encoding: C0 controls but tab, LF, VT,
# FF, CR, SUB (DOS end of file) and ESC; and DEL.
_NOT_TEXT = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_TEXT_BYTES = bytes(b for b in range(256) if b not in _NOT_TEXT)
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe", "utf-16-le"),
         (b"\xfe\xff", "utf-16-be"))
# WHATWG's MIME sniffing: what a browser takes for HTML whatever it is called.
_HTML_START = re.compile(r"\s*<(?:!doctype\s+html|html|head|body|script|iframe|style|title|div|table|font|h1|p|a|b|br)"
                         r"[\s>/]", re.IGNORECASE)
_ELEMENT = re.compile(r"<([a-z_][\w.:-]*)", re.IGNORECASE)
# What may come before an XML document's first element: declarations, comments, a doctype.
_PROLOG = (("<?", "?>"), ("<!--", "-->"), ("<!doctype", ">"))


def _as_text(head: bytes) -> str | None:
    """The head decoded if it is text (UTF-8, UTF-16/32 with a BOM, or a legacy 8-bit encoding), else None."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            try:  # not final: the head may end inside a character
                text = codecs.getincrementaldecoder(encoding)().decode(head[len(bom):], final=False)
            except UnicodeDecodeError:
                return None
            return text if not text.encode("latin-1", errors="ignore").translate(None, _TEXT_BYTES) else None
    if head.translate(None, _TEXT_BYTES):
        return None
    return head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")


def _first_element(text: str) -> str | None:
    """The name of the first element of an XML-like text, without its namespace prefix."""
    position = len(text) - len(text.lstrip())
    while True:
        for start, end in _PROLOG:
            if text[position:position + len(start)].lower() == start:
                closing = text.find(end, position + len(start))
                if closing < 0:
                    return None
                position = closing + len(end)
                position += len(text[position:]) - len(text[position:].lstrip())
                break
        else:
            break
    element = _ELEMENT.match(text, position)
    return element.group(1).lower().rpartition(":")[2] if element else None


def _text_type(text: str) -> str:
    """Text a browser would run (HTML, SVG) is told apart from the rest, which is plain text."""
    if _HTML_START.match(text):
        return HTML
    element = _first_element(text)
    if element == "html":
        return HTML
    if element == "svg":
        return SVG
    return TEXT


def _heif(head: bytes) -> str | None:
    """HEIF brands `filetype` does not know (a `mif1` file without a `heic` compatible brand)."""
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"heic", b"heix", b"heim", b"heis"):
        return "image/heic"
    if brand in (b"mif1", b"msf1"):
        return "image/heif"
    return None


def sniff(head: bytes) -> str:
    """The MIME type of a file from its first bytes (up to 8 KiB): text is `text/plain`, HTML and SVG
    are named as such, unknown binary is `application/octet-stream`, nothing at all `application/x-empty`."""
    if not head:
        return EMPTY
    guess = filetype.guess_mime(head)
    if guess in _TRUSTED:
        return guess
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE2
    heif = _heif(head)
    if heif:
        return heif
    text = _as_text(head)
    if text is not None:
        return _text_type(text)
    return guess or OCTET_STREAM


def _what(content_type: str) -> str:
    return _WHAT.get(content_type, content_type)


def _listing(extensions: Collection[str]) -> str:
    return ", ".join(sorted(extensions))


def check_type(filename: str, sniffed: str, declared: str | None, allowed: Collection[str] | None = None) -> str:
    """The content type to store for a file named `filename` whose content `sniff` found to be `sniffed`,
    sent as `declared`; `allowed` (extensions) narrows ALLOWED_EXTENSIONS. Raises UnsupportedMediaType
    for an extension we do not take or one its content or declared type contradicts."""
    extension = extension_of(filename)
    if not extension:
        raise UnsupportedMediaType(f"The file {sanitize_filename(filename)!r} has no extension, so its type is "
                                   f"unknown. Accepted: {_listing(ALLOWED_EXTENSIONS)}.")
    kind = _KINDS.get(extension)
    if kind is None:
        raise UnsupportedMediaType(f".{extension} files are not accepted. Accepted: {_listing(ALLOWED_EXTENSIONS)}.")
    if allowed and not extension_allowed(extension, allowed):
        raise UnsupportedMediaType(f"Only {_listing(_wanted(allowed))} files are accepted here, not .{extension}.")
    if sniffed not in kind.content and sniffed != EMPTY:
        raise UnsupportedMediaType(f"The file is named .{extension} but its content is {_what(sniffed)}.")
    claimed = (declared or "").split(";")[0].strip().lower()
    if claimed not in _GENERIC_DECLARED and "/" in claimed:
        agrees = (claimed in kind.content or claimed == kind.stored or claimed in kind.declared
                  or (kind.text and claimed.startswith("text/")))
        if not agrees:
            raise UnsupportedMediaType(f"The file was sent as {claimed} but its content is {_what(sniffed)}.")
    return kind.stored
