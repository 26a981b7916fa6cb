"""ObjectStore facing S3 answers neither test server gives (shared/tests/test_storage.py runs the rest on
s3rver and moto): a range answered from elsewhere, a failed abort of a multipart upload."""
from __future__ import annotations

import io

import pytest
from minio.error import MinioException, S3Error

from shared.errors import PayloadTooLarge
from shared.storage import MIB, CountingReader, ObjectStore


class Response:
    def __init__(self, body: bytes, content_range: str | None) -> None:
        self.body = body
        self.headers = {"Content-Length": str(len(body)), **({"Content-Range": content_range} if content_range else {})}
        self.closed = False

    def stream(self, size: int):
        for start in range(0, len(self.body), 3):
            yield self.body[start:start + 3]

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


class Client:
    """Answers every GET with `response`; put_object reads the stream as minio does, then fails to abort."""

    def __init__(self, response: Response | None = None) -> None:
        self.response = response

    def get_object(self, bucket, key, offset=0, length=0):
        return self.response

    def put_object(self, bucket, key, data, length, part_size, **kwargs):
        try:
            while data.read(part_size):
                pass
        except Exception:
            raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.",
                          None, None, None, None) from None


def test_a_whole_object_sent_for_a_range_from_its_start_is_cut_to_the_range():
    store = ObjectStore(Client(Response(b"0123456789", None)), "bucket")  # 200: the Range header ignored
    download = store.open("key", 0, 4)
    assert (b"".join(download.chunks), download.length) == (b"0123", 4)


def test_more_than_asked_from_the_right_start_is_cut_too():
    store = ObjectStore(Client(Response(b"3456789", "bytes 3-9/10")), "bucket")
    download = store.open("key", 3, 2)
    assert (b"".join(download.chunks), download.length) == (b"34", 2)


def test_bytes_from_another_offset_are_refused_not_taken_for_the_range():
    response = Response(b"0123456789", None)
    with pytest.raises(MinioException, match="from byte 0, not from 5"):
        ObjectStore(Client(response), "bucket").open("key", 5, 2)
    assert response.closed


def test_a_stream_over_its_limit_stays_payload_too_large_when_the_abort_fails_too():
    store = ObjectStore(Client(), "bucket")
    with pytest.raises(PayloadTooLarge):
        store.put_stream("key", CountingReader(io.BytesIO(bytes(7 * MIB)), limit=6 * MIB), max_bytes=6 * MIB,
                         content_type="application/octet-stream")
