"""File names and types (reliability notes U1-U3): pure functions, fixtures built in code."""
from __future__ import annotations

import io
import random
import struct
import unicodedata
import zipfile
import zlib

import pytest

from documents import filetypes
from documents.filetypes import ALLOWED_EXTENSIONS, check_type, extension_of, sanitize_filename, sniff
from shared.errors import UnsupportedMediaType, ValidationFailed

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def zipped(*members: tuple[str, str | bytes], stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(members):
            method = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b""))


def ooxml(part: str) -> bytes:
    types = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
    return zipped(("[Content_Types].xml", types), ("_rels/.rels", "<Relationships/>"), (part, "<x/>"))


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 44 + b"\x80\0\0\0" + b"PE\0\0" * 8
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>"
CSV = b"date;amount;memo\n2024-01-31;1250.00;Rent\n"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504

SAMPLES = {
    "pdf": (PDF, "application/pdf"),
    "png": (png(), "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\0" * 64, "image/jpeg"),
    "jpeg exif": (b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*" + b"\0" * 64, "image/jpeg"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\0" * 32, "image/gif"),
    "tiff little-endian": (b"II*\x00\x08\x00\x00\x00" + b"\0" * 32, "image/tiff"),
    "tiff big-endian": (b"MM\x00*\x00\x00\x00\x08" + b"\0" * 32, "image/tiff"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\0" * 32, "image/webp"),
    "heic": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 32, "image/heic"),
    "heif mif1": (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf" + b"\0" * 32, "image/heif"),
    "zip": (zipped(("a.txt", "hello")), "application/zip"),
    "docx": (ooxml("word/document.xml"), DOCX),
    "xlsx": (ooxml("xl/workbook.xml"), XLSX),
    "pptx": (ooxml("ppt/presentation.xml"), PPTX),
    "odt": (zipped(("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<x/>"),
                   stored_first=True), "application/vnd.oasis.opendocument.text"),
    "ole2 (doc, xls, ppt)": (OLE2, "application/x-ole-storage"),
    "rtf": (b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Hello}", "application/rtf"),
    "utf-8 text": ("Grüße, état: 12 €\n".encode(), "text/plain"),
    "ascii csv": (CSV, "text/plain"),
    "windows-1252 csv": ("Société;Montant\nCafé;12,50 €\n".encode("cp1252"), "text/plain"),
    "utf-16 text with BOM": ("\ufeffName\tAmount\r\nÉlise\t10\r\n".encode("utf-16-le"), "text/plain"),
    "json": (b'{"total": 12.5}', "text/plain"),
    "xml": (b'<?xml version="1.0"?>\n<invoice><total>12.5</total></invoice>', "text/plain"),
    "ofx 1 (sgml)": (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><SIGNONMSGSRSV1>", "text/plain"),
    "text starting like a bitmap": (b"BMW lease;450.00\n", "text/plain"),
    "text starting like a program": (b"MZ Holdings;1200\n", "text/plain"),
    "html": (HTML, "text/html"),
    "html fragment": (b"  <p>Pay here</p>", "text/html"),
    "xhtml": (b'<?xml version="1.0"?>\n<!-- x -->\n<html xmlns="http://www.w3.org/1999/xhtml"/>', "text/html"),
    "svg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
    "windows program": (EXE, "application/x-msdownload"),
    "elf program": (b"\x7fELF\x02\x01\x01" + b"\0" * 57, "application/x-executable"),
    "unknown binary": (bytes(range(256)) * 4, "application/octet-stream"),
    "nothing": (b"", "application/x-empty"),
}


@pytest.mark.parametrize("head,expected", SAMPLES.values(), ids=SAMPLES.keys())
def test_sniff_names_the_content(head, expected):
    assert sniff(head) == expected


def test_sniff_takes_a_utf_16_head_cut_inside_a_character():
    text = ("\ufeff" + "Receipt 😀\n" * 1000).encode("utf-16-le")
    assert sniff(text[:8191]) == sniff(text[:8190]) == "text/plain"


def test_sniff_looks_only_at_the_head_it_is_given():
    assert sniff(PDF + bytes(range(256)) * 64) == "application/pdf"
    assert sniff((b"a;b\n" * 5000)[:8192]) == "text/plain"


# --- sanitize_filename (U1, U3) ---

@pytest.mark.parametrize("raw,expected", [
    ("a.pdf.exe", "a.pdf.exe"),  # kept as is: check_type refuses it for its last suffix
    ("a.php%00.pdf", "a.php%00.pdf"),  # a literal "%00" is only text
    ("A.PDF", "A.PDF"),
    ("\u202egpj.exe", "gpj.exe"),  # the right-to-left override that shows it as "exe.jpg" goes
    ("inv\u200boice\ufeff.pdf", "invoice.pdf"),  # zero-width and BOM characters go
    ("a\x00b.pdf", "ab.pdf"),
    ("tab\tnew\nline.txt", "tab new line.txt"),
    ("  many    spaces  .pdf  ", "many spaces.pdf"),
    ("...hidden...", "hidden"),
    ("e\u0301te\u0301.pdf", "\u00e9t\u00e9.pdf"),  # NFC
    ("../../etc/passwd", "passwd"),  # only the last component is kept: no separator ever survives
    ("C:\\Users\\me\\tax return.pdf", "tax return.pdf"),
    ("dir/sub\\x.pdf", "x.pdf"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("COM1.pdf", "_COM1.pdf"),
    ("lpt9", "_lpt9"),
    ("con.tar.gz", "_con.tar.gz"),
    ("console.pdf", "console.pdf"),
    ("report (final) v2.xlsx", "report (final) v2.xlsx"),
])
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", ".", "..", "...", "\u202e", "\x00", "a/", "/", "\\", " . . "])
def test_sanitize_filename_refuses_what_leaves_no_name(raw):
    with pytest.raises(ValidationFailed) as refused:
        sanitize_filename(raw)
    assert "filename" in refused.value.errors


def test_sanitize_filename_caps_a_10_kb_name_at_255_bytes_keeping_the_extension():
    name = sanitize_filename("a" * 10_000 + ".pdf")
    assert len(name.encode()) == 255
    assert name.endswith(".pdf")


def test_sanitize_filename_cuts_multibyte_names_between_characters():
    name = sanitize_filename("€" * 5_000 + ".xlsx")
    assert len(name.encode()) <= 255
    assert name == "€" * 83 + ".xlsx"


def test_sanitize_filename_cuts_a_name_whose_suffix_is_too_long_to_be_an_extension():
    name = sanitize_filename("a." + "b" * 1_000)
    assert name == "a." + "b" * 253


def test_sanitized_names_never_hold_separators_or_control_characters():
    alphabet = "aZ9 ._-/\\:\x00\x01\x1f\x7f\u202e\u200b\ufeff\u2028\u00a0é€😀\u0301"
    rng = random.Random(83522)
    for _ in range(3_000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        try:
            name = sanitize_filename(raw)
        except ValidationFailed:
            continue
        assert name and len(name.encode()) <= 255
        assert not set(name) & {"/", "\\", "\x00"}
        assert all(unicodedata.category(c) not in ("Cc", "Cf") for c in name)
        assert name == name.strip(" .") and "  " not in name
        assert sanitize_filename(name) == name


def test_extension_of_is_the_last_suffix_in_lower_case():
    assert extension_of("Invoice.March.PDF") == "pdf"
    assert extension_of("a.pdf.exe") == "exe"
    assert extension_of("README") == ""
    assert extension_of(".pdf") == ""  # a leading dot is not an extension (the dot goes)


# --- check_type (U1, U2) ---

@pytest.mark.parametrize("filename", [
    "a.pdf.exe", "a.exe", "\u202egpj.exe", "a.php", "a.html", "a.svg", "a.js", "a.jpg.php", "a.pdf.exe.",
    "a.pdf\x00.exe", "README", "a.ｐｄｆ",  # fullwidth letters are not "pdf"
    "a.p\u0440f",  # Cyrillic er looks like p
])
def test_check_type_refuses_extensions_outside_the_allow_list(filename):
    with pytest.raises(UnsupportedMediaType):
        check_type(filename, "application/pdf", None)


@pytest.mark.parametrize("filename", ["a.pdf.", "a.pdf ", " a.pdf.. "])
def test_check_type_judges_the_cleaned_name_which_loses_trailing_dots_and_spaces(filename):
    assert sanitize_filename(filename) == "a.pdf"
    assert check_type(filename, sniff(PDF), None) == "application/pdf"


def test_check_type_takes_an_upper_case_extension():
    assert check_type("A.PDF", sniff(PDF), "application/pdf") == "application/pdf"


def test_check_type_goes_by_the_last_suffix_of_a_percent_00_name():
    assert check_type("a.php%00.pdf", sniff(PDF), None) == "application/pdf"
    with pytest.raises(UnsupportedMediaType):
        check_type("a.php%00.pdf", sniff(b"<?php system($_GET['c']); ?>"), None)


def test_check_type_refuses_an_exe_renamed_pdf():
    with pytest.raises(UnsupportedMediaType) as refused:
        check_type("invoice.pdf", sniff(EXE), "application/pdf")
    assert "a Windows program" in refused.value.description


def test_check_type_refuses_html_renamed_png():
    with pytest.raises(UnsupportedMediaType) as refused:
        check_type("receipt.png", sniff(HTML), "image/png")
    assert "HTML" in refused.value.description


@pytest.mark.parametrize("filename", ["notes.txt", "data.csv", "data.xml", "data.json"])
def test_check_type_refuses_html_under_a_text_name(filename):
    with pytest.raises(UnsupportedMediaType):
        check_type(filename, sniff(HTML), None)


def test_check_type_refuses_svg_under_an_xml_name():
    with pytest.raises(UnsupportedMediaType):
        check_type("logo.xml", sniff(SAMPLES["svg"][0]), None)


def test_check_type_refuses_a_pdf_named_png():
    with pytest.raises(UnsupportedMediaType):
        check_type("scan.png", sniff(PDF), None)


def test_check_type_refuses_a_pdf_declared_as_image_png():
    with pytest.raises(UnsupportedMediaType) as refused:
        check_type("scan.pdf", sniff(PDF), "image/png")
    assert "image/png" in refused.value.description


@pytest.mark.parametrize("declared", [None, "", "application/octet-stream", "application/pdf",
                                      "Application/PDF; charset=binary", "application/x-pdf", "nonsense"])
def test_check_type_takes_a_declared_type_that_agrees_or_says_nothing(declared):
    assert check_type("scan.pdf", sniff(PDF), declared) == "application/pdf"


@pytest.mark.parametrize("declared", [None, "text/csv", "text/plain", "application/vnd.ms-excel", "application/csv"])
def test_check_type_takes_a_csv(declared):
    assert check_type("bank.csv", sniff(CSV), declared) == "text/csv"


def test_check_type_takes_a_windows_1252_csv_and_a_utf_16_text():
    assert check_type("bank.csv", sniff(SAMPLES["windows-1252 csv"][0]), None) == "text/csv"
    assert check_type("notes.txt", sniff(SAMPLES["utf-16 text with BOM"][0]), None) == "text/plain"


@pytest.mark.parametrize("filename", ["bank.csv", "notes.txt", "data.json", "statement.ofx"])
def test_check_type_refuses_binary_content_under_a_text_name(filename):
    with pytest.raises(UnsupportedMediaType):
        check_type(filename, sniff(PDF), None)


@pytest.mark.parametrize("declared", [None, DOCX, "application/zip", "application/octet-stream"])
def test_check_type_takes_a_docx(declared):
    assert check_type("letter.docx", sniff(SAMPLES["docx"][0]), declared) == DOCX


def test_check_type_takes_an_ooxml_file_that_sniffs_as_a_plain_zip():
    assert check_type("book.xlsx", sniff(zipped(("xl/workbook.xml", "<x/>"))), None) == XLSX


def test_check_type_refuses_a_docx_declared_as_a_pdf():
    with pytest.raises(UnsupportedMediaType):
        check_type("letter.docx", sniff(SAMPLES["docx"][0]), "application/pdf")


def test_check_type_refuses_a_docx_named_xlsx():
    with pytest.raises(UnsupportedMediaType):
        check_type("letter.xlsx", sniff(SAMPLES["docx"][0]), None)


def test_check_type_stores_an_office_file_named_zip_as_a_zip():
    assert check_type("letter.zip", sniff(SAMPLES["docx"][0]), "application/x-zip-compressed") == "application/zip"


@pytest.mark.parametrize("filename,expected", [("old.doc", "application/msword"),
                                               ("old.xls", "application/vnd.ms-excel"),
                                               ("old.ppt", "application/vnd.ms-powerpoint")])
def test_check_type_takes_legacy_office_files(filename, expected):
    assert check_type(filename, sniff(OLE2), None) == expected


@pytest.mark.parametrize("sample,filename,expected", [
    ("png", "a.png", "image/png"), ("jpeg", "a.jpg", "image/jpeg"), ("jpeg exif", "a.JPEG", "image/jpeg"),
    ("gif", "a.gif", "image/gif"), ("tiff big-endian", "a.tif", "image/tiff"), ("webp", "a.webp", "image/webp"),
    ("heic", "IMG_0001.HEIC", "image/heic"), ("heif mif1", "a.heic", "image/heic"),
    ("rtf", "a.rtf", "application/rtf"), ("odt", "a.odt", "application/vnd.oasis.opendocument.text"),
    ("pptx", "a.pptx", PPTX), ("zip", "a.zip", "application/zip"), ("xml", "a.xml", "application/xml"),
    ("json", "a.json", "application/json"), ("ofx 1 (sgml)", "a.qfx", "application/vnd.intu.qfx"),
])
def test_check_type_takes_what_an_accounting_firm_receives(sample, filename, expected):
    assert check_type(filename, sniff(SAMPLES[sample][0]), None) == expected


def test_check_type_takes_a_quickbooks_file_as_unknown_binary_only():
    company_file = b"\x00\x00\x00\x08QBW" + bytes(range(256)) * 8
    assert check_type("company.qbw", sniff(company_file), None) == "application/octet-stream"
    with pytest.raises(UnsupportedMediaType):
        check_type("company.qbw", sniff(EXE), None)


def test_check_type_takes_an_empty_file_of_an_allowed_type():
    assert check_type("empty.pdf", sniff(b""), None) == "application/pdf"


def test_check_type_refuses_a_file_without_extension():
    with pytest.raises(UnsupportedMediaType) as refused:
        check_type("Makefile", sniff(b"all:\n\techo\n"), None)
    assert "no extension" in refused.value.description


def test_check_type_narrows_to_a_requests_extensions():
    with pytest.raises(UnsupportedMediaType) as refused:
        check_type("a.png", sniff(SAMPLES["png"][0]), None, ["pdf", "jpg"])
    assert "jpg, pdf" in refused.value.description
    assert check_type("a.pdf", sniff(PDF), None, ["PDF", "jpg"]) == "application/pdf"


def test_check_type_counts_jpg_and_jpeg_as_one_extension_when_narrowing():
    assert check_type("a.jpeg", sniff(SAMPLES["jpeg"][0]), None, ["jpg"]) == "image/jpeg"
    assert check_type("a.tif", sniff(SAMPLES["tiff little-endian"][0]), None, ["tiff"]) == "image/tiff"


def test_check_type_cannot_be_widened_by_a_request():
    with pytest.raises(UnsupportedMediaType):
        check_type("a.exe", sniff(EXE), None, ["exe"])


def test_every_allowed_extension_has_a_stored_type():
    assert {"pdf", "docx", "xlsx", "csv", "jpg", "png", "zip", "qbw", "ofx"} <= ALLOWED_EXTENSIONS
    for extension in ALLOWED_EXTENSIONS:
        assert "/" in filetypes._KINDS[extension].stored
