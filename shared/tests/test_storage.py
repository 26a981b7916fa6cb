"""shared.storage.ObjectStore against two S3 servers: s3rver (the run's, PORTA_S3_ENDPOINT) and moto's
server mode (PORTA_MOTO_ENDPOINT, started by devstack.infra beside it), so that code shaped around one
server's quirks fails on the other. Every test runs once per server, under a key prefix of its own."""
from __future__ import annotations

import hashlib
import io
import os
import uuid
import zipfile

import pytest
from devstack import environment, infra
from minio import Minio

from shared.errors import PayloadTooLarge
from shared.storage import MIB, CountingReader, ObjectStore

# Three parts of 5 MiB (the smallest S3 allows but for the last), the last one short.
BIG = os.urandom(11 * MIB + 7)
PART = 5 * MIB


def _moto(porta_env: dict[str, str]) -> ObjectStore:
    endpoint = infra.moto_endpoint(porta_env)
    host, _, port = endpoint.rpartition(":")
    if not environment.port_answers(host, int(port)):
        pytest.fail(f"moto's S3 server does not answer at {endpoint} ({infra.MOTO_ENDPOINT_VAR}): start it with "
                    "`python -m devstack.infra` (`make test` does it for you)", pytrace=False)
    client = Minio(endpoint, access_key="porta-test", secret_key="porta-test-secret", secure=False)
    bucket = porta_env["PORTA_S3_BUCKET"]
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    return ObjectStore(client, bucket)


@pytest.fixture(scope="module", params=["s3rver", "moto"])
def store(request, porta_env):
    """An ObjectStore on the run's bucket of one server; what the tests leave there goes at the end."""
    if request.param == "s3rver":
        client = Minio(porta_env["PORTA_S3_ENDPOINT"], access_key=porta_env["PORTA_S3_ACCESS_KEY"],
                       secret_key=porta_env["PORTA_S3_SECRET_KEY"], secure=porta_env["PORTA_S3_SECURE"] == "true")
        yield ObjectStore(client, porta_env["PORTA_S3_BUCKET"])  # the bucket goes with the run (porta_env)
        return
    store = _moto(porta_env)
    yield store
    store.remove_prefix("")
    store.client.remove_bucket(store.bucket)


@pytest.fixture
def prefix():
    """Keys of this test only."""
    return f"tests/{uuid.uuid4().hex}/"


@pytest.fixture
def big(store, prefix):
    """BIG stored through put_stream (unknown length, as the gateway streams an upload); its key."""
    key = prefix + "big.bin"
    store.put_stream(key, io.BytesIO(BIG), max_bytes=100 * MIB, content_type="application/octet-stream")
    return key


def read(store: ObjectStore, key: str, offset: int = 0, length: int | None = None) -> tuple[bytes, int]:
    download = store.open(key, offset, length)
    try:
        return b"".join(download.chunks), download.length
    finally:
        download.close()


def test_a_stream_over_two_parts_is_stored_whole_with_its_hash(store, prefix):
    key = prefix + "upload.bin"
    counted = CountingReader(io.BytesIO(BIG), limit=100 * MIB)
    store.put_stream(key, counted, max_bytes=100 * MIB, content_type="application/pdf")
    assert (counted.size, counted.sha256.hexdigest()) == (len(BIG), hashlib.sha256(BIG).hexdigest())
    stat = store.client.stat_object(store.bucket, key)
    assert (stat.size, stat.content_type) == (len(BIG), "application/pdf")
    data, length = read(store, key)
    assert length == len(BIG) and hashlib.sha256(data).hexdigest() == hashlib.sha256(BIG).hexdigest()


def test_a_stream_over_its_limit_stores_nothing(store, prefix):
    key = prefix + "too-large.bin"
    with pytest.raises(PayloadTooLarge):
        store.put_stream(key, CountingReader(io.BytesIO(BIG), limit=7 * MIB), max_bytes=7 * MIB,
                         content_type="application/octet-stream")
    assert not store.exists(key)


def test_an_empty_stream_is_an_empty_object(store, prefix):
    key = prefix + "empty.txt"
    store.put_stream(key, io.BytesIO(b""), max_bytes=MIB, content_type="text/plain")
    assert store.exists(key) and read(store, key) == (b"", 0)


@pytest.mark.parametrize(("offset", "length"), [
    (0, 1),
    (PART - 3, 10),  # across the first part boundary
    (2 * PART - 1, 2),  # across the second
    (len(BIG) - 1, None),  # the last byte
    (len(BIG) - 100, 100),  # the tail, its length given
    (3 * MIB, None),  # from the middle to the end
    (0, None),  # all of it
])
def test_open_reads_exactly_the_range_asked_for(store, big, offset, length):
    expected = BIG[offset:None if length is None else offset + length]
    assert read(store, big, offset, length) == (expected, len(expected))


def test_the_reader_seeks_and_reads_across_its_buffers(store, big):
    reader = store.reader(big, len(BIG), buffer_size=MIB)
    assert reader.seekable() and reader.tell() == 0
    assert reader.read(10) == BIG[:10]
    reader.seek(MIB - 5)
    assert reader.read(10) == BIG[MIB - 5:MIB + 5]  # across the first buffer's end
    reader.seek(PART - 1)
    assert reader.read(2 * MIB + 2) == BIG[PART - 1:PART + 2 * MIB + 1]  # more than a buffer at once
    reader.seek(3, io.SEEK_CUR)
    assert reader.tell() == PART + 2 * MIB + 4 and reader.read(4) == BIG[PART + 2 * MIB + 4:PART + 2 * MIB + 8]
    reader.seek(-10, io.SEEK_END)
    assert reader.read() == BIG[-10:]
    assert reader.read(1) == b""  # at the end
    reader.seek(0)
    assert reader.read(3) == BIG[:3]  # back to the start


def test_a_zip_is_read_through_the_reader_entry_by_entry(store, prefix):
    """What the documents service does with an uploaded archive: zipfile seeks to the directory at the
    end, then to each entry; the entries here cross the reader's 1 MiB buffers."""
    entries = {f"folder/{n}.bin": os.urandom(MIB // 2 + n * 4099) for n in range(5)}
    entries["text.txt"] = b"line\n" * 300_000  # compresses well: a deflated entry
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as writer:
        for name, data in entries.items():
            writer.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if name.endswith(".txt")
                            else zipfile.ZIP_STORED)
    key = prefix + "archive.zip"
    store.put_stream(key, io.BytesIO(archive.getvalue()), max_bytes=100 * MIB, content_type="application/zip")
    with zipfile.ZipFile(store.reader(key, len(archive.getvalue()))) as reader:
        assert reader.namelist() == list(entries)
        assert reader.testzip() is None  # every CRC checked
        for name, data in entries.items():
            with reader.open(name) as member:
                assert hashlib.sha256(member.read()).digest() == hashlib.sha256(data).digest(), name


def test_exists_is_true_for_an_object_only(store, big, prefix):
    assert store.exists(big)
    assert not store.exists(prefix + "missing.bin")
    assert not store.exists(prefix.rstrip("/"))  # a prefix of keys is no object
    assert not store.exists(big + ".part")


def test_remove_deletes_the_keys_given_and_a_key_already_gone_is_fine(store, prefix):
    keys = [prefix + name for name in ("a.txt", "b.txt", "sub/c.txt")]
    for key in keys:
        store.put_stream(key, io.BytesIO(b"x"), max_bytes=MIB, content_type="text/plain")
    store.remove(*keys[:2], prefix + "never-there.txt")
    assert [store.exists(key) for key in keys] == [False, False, True]
    store.remove(keys[0])  # again: retried deletes after a crash
    store.remove()


def test_remove_prefix_deletes_everything_under_it_and_nothing_beside_it(store, prefix):
    under = [prefix + f"firm/{name}" for name in ("a.txt", "b.txt", "c/d.txt", "c/e/f.txt", "c/e/g.txt")]
    beside = [prefix + name for name in ("firm0/a.txt", "firm-other/a.txt", "firm.txt", "other/firm/a.txt")]
    for key in under + beside:
        store.put_stream(key, io.BytesIO(key.encode()), max_bytes=MIB, content_type="text/plain")
    assert store.remove_prefix(prefix + "firm/") == len(under)
    assert not any(store.exists(key) for key in under)
    assert all(store.exists(key) for key in beside)
    assert store.remove_prefix(prefix + "firm/") == 0
    assert store.remove_prefix(prefix) == len(beside)
