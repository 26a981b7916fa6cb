"""Files larger than two S3 parts (over 10 MiB with 5 MiB parts) through the gateway and the real S3
server, up and down, and a zip whose members cross the 1 MiB buffers the documents service reads
archives with (`ObjectStore.reader`): every byte and every SHA-256 compared end to end."""
from __future__ import annotations

import hashlib
import io
import random
import zipfile

import pytest

from shared.storage import MIB, MIN_PART_SIZE
from tests.samples import form, pdf_of, upload

# Three parts: two full ones and a third that ends mid-buffer.
LARGE = 2 * MIN_PART_SIZE + 3 * MIB + 12_345


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


@pytest.fixture(scope="module")
def large() -> bytes:
    return pdf_of(LARGE, seed=14)


def ledger_lines(size: int, seed: int) -> bytes:
    """`size` bytes of text that deflates a few times over (well under the archive's ratio limit)."""
    rng = random.Random(seed)
    words = ("coffee", "parking", "rent", "fuel", "postage", "software", "lunch", "train")
    text = "".join(f"{rng.choice(words)} {rng.randint(1, 99_999) / 100:.2f}\n" for _ in range(size // 8))
    return text.encode()[:size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(api, document: dict, **headers: str):
    resp = api.get(f"/api/v1/documents/{document['id']}/content", headers=headers)
    assert resp.status_code in (200, 206), resp.text
    return resp


def assert_stored_whole(api, document: dict, data: bytes) -> None:
    assert (document["size"], document["sha256"]) == (len(data), sha256(data))
    down = content(api, document)
    assert int(down.headers["Content-Length"]) == len(data)
    assert sha256(down.content) == sha256(data) and down.content == data


def test_a_raw_upload_over_two_parts_comes_back_byte_for_byte(firm, account, large):
    resp = upload(firm["api"], account, "ledger.pdf", large)
    assert resp.status_code == 201, resp.text
    [document] = resp.json()["items"]
    assert_stored_whole(firm["api"], document, large)


def test_a_chunked_upload_over_two_parts_comes_back_byte_for_byte(firm, account, large):
    def body():
        for start in range(0, len(large), 700_000):  # pieces that never line up with a part
            yield large[start:start + 700_000]

    resp = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": "ledger.pdf"},
                            data=body(), headers={"Content-Type": "application/pdf"})
    assert resp.status_code == 201, resp.text
    [document] = resp.json()["items"]
    assert_stored_whole(firm["api"], document, large)


def test_multipart_files_over_two_parts_come_back_byte_for_byte(firm, account, large):
    other = pdf_of(MIN_PART_SIZE * 2 + 1, seed=15)
    body, headers = form(("file", "ledger.pdf", large), ("file", "journal.pdf", other))
    resp = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", data=body, headers=headers)
    assert resp.status_code == 201, resp.text
    first, second = resp.json()["items"]
    assert_stored_whole(firm["api"], first, large)
    assert_stored_whole(firm["api"], second, other)


def test_a_range_across_a_part_boundary_is_the_bytes_asked_for(firm, account, large):
    [document] = upload(firm["api"], account, "ledger.pdf", large).json()["items"]
    start, end = MIN_PART_SIZE - 1000, 2 * MIN_PART_SIZE + 1000
    resp = content(firm["api"], document, Range=f"bytes={start}-{end}")
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{LARGE}"
    assert resp.content == large[start:end + 1]


def test_a_zip_whose_members_cross_the_read_buffers_unpacks_every_byte(firm, account):
    # Members of odd sizes, so their headers and data straddle the reader's 1 MiB buffers; the stored
    # ones are copied through as they are, the deflated one is inflated in 1 MiB chunks; the archive
    # itself takes two S3 parts.
    members = {
        "2025/a.pdf": (pdf_of(MIB - 100, seed=1), zipfile.ZIP_STORED),
        "2025/b.pdf": (pdf_of(MIB + 333, seed=2), zipfile.ZIP_STORED),
        "notes.txt": (ledger_lines(MIB + MIB // 2, seed=5), zipfile.ZIP_DEFLATED),
        "2025/receipts/c.pdf": (pdf_of(2 * MIB + MIB // 2 + 7, seed=3), zipfile.ZIP_STORED),
        "e.pdf": (pdf_of(777_777, seed=4), zipfile.ZIP_DEFLATED),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (data, compression) in members.items():
            archive.writestr(name, data, compress_type=compression)
    archive_bytes = buffer.getvalue()
    assert len(archive_bytes) > MIN_PART_SIZE

    resp = upload(firm["api"], account, "year.zip", archive_bytes)
    assert resp.status_code == 201, resp.text
    zipped, *unpacked = resp.json()["items"]
    assert_stored_whole(firm["api"], zipped, archive_bytes)
    by_name = {name.rsplit("/", 1)[-1]: data for name, (data, _) in members.items()}
    assert sorted(d["name"] for d in unpacked) == sorted(by_name)
    for document in unpacked:
        assert_stored_whole(firm["api"], document, by_name[document["name"]])
