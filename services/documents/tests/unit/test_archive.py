"""Unpacking zips (reliability notes U5, U6): fixtures built in code, the bombs without inflating them."""
from __future__ import annotations

import io
import random
import stat
import struct
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass

import pytest

from documents.archive import CHUNK, ArchiveLimits, ArchiveMember, is_zip, unpack
from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

MIB = 1024 ** 2
GIB = 1024 ** 3


@dataclass
class Raw:
    """One entry written byte by byte, so a test can make it lie."""

    name: str | bytes
    data: bytes = b""  # as stored (already compressed for method 8)
    size: int | None = None  # declared uncompressed size; len(data) when None
    crc: int = 0
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    mode: int = 0  # Unix st_mode in the external attributes' high half
    offset: int | None = None  # the central directory's local header offset; the real one when None


def raw_file(name: str, data: bytes) -> Raw:
    return Raw(name, data, crc=zlib.crc32(data))


def deflated(name: str, data: bytes, size: int | None = None) -> Raw:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return Raw(name, compressor.compress(data) + compressor.flush(), size=len(data) if size is None else size,
               crc=zlib.crc32(data), method=zipfile.ZIP_DEFLATED)


def build(*entries: Raw, count: int | None = None) -> bytes:
    """A zip of `entries` (zip64 sizes when declared sizes need them); `count` overrides the end record's."""
    body, directory = io.BytesIO(), io.BytesIO()
    for entry in entries:
        name = entry.name if isinstance(entry.name, bytes) else entry.name.encode()
        size = len(entry.data) if entry.size is None else entry.size
        offset = body.tell()
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, entry.flags, entry.method, 0, 0x21, entry.crc,
                               len(entry.data), min(size, 0xFFFFFFFF), len(name), 0))
        body.write(name + entry.data)
        extra = struct.pack("<HHQ", 1, 8, size) if size >= 0xFFFFFFFF else b""
        directory.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 3 << 8 | 45, 45, entry.flags, entry.method, 0,
                                    0x21, entry.crc, len(entry.data), min(size, 0xFFFFFFFF), len(name), len(extra),
                                    0, 0, 0, entry.mode << 16, offset if entry.offset is None else entry.offset))
        directory.write(name + extra)
    count = len(entries) if count is None else count
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                      directory.tell(), body.tell(), 0)
    return body.getvalue() + directory.getvalue() + end


def zipped(*members: tuple[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


class Store:
    """What the caller's `store` does: read each stream to its end, in chunks, and keep the bytes."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.members: list[ArchiveMember] = []
        self.data: dict[str, bytes] = {}
        self.largest_read = 0

    def __call__(self, member: ArchiveMember, stream) -> str:
        self.members.append(member)
        chunks = []
        while chunk := stream.read(16 * MIB):
            self.largest_read = max(self.largest_read, len(chunk))
            if self.keep:
                chunks.append(chunk)
        key = "/".join((*member.folder_path, member.filename))
        self.data[key] = b"".join(chunks)
        return key


def run(archive: bytes | io.BytesIO, limits: ArchiveLimits | None = None, store: Store | None = None) -> list[str]:
    source = archive if isinstance(archive, io.BytesIO) else io.BytesIO(archive)
    return unpack(source, limits or ArchiveLimits(), store or Store())


def refused(archive: bytes | io.BytesIO, limits: ArchiveLimits | None = None,
            error=ValidationFailed) -> tuple[str, Store]:
    store = Store()
    with pytest.raises(error) as caught:
        run(archive, limits, store)
    return caught.value.description, store


class CountedReads(io.BytesIO):
    """An archive that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


class Bounded:
    """Asserts that the block stays under `megabytes` of Python allocations and, given the `archive`
    it unpacks (`.source`), reads at most `read` bytes of it: the work done, measured by what is read
    rather than by this machine's clock (inflating a 10 GiB bomb means reading all of it)."""

    def __init__(self, megabytes: int = 50, read: int | None = None, archive: bytes | None = None) -> None:
        self.megabytes, self.read = megabytes, read
        self.source = CountedReads(archive) if archive is not None else None

    def __enter__(self) -> Bounded:
        tracemalloc.start()
        return self

    def __exit__(self, *exc_info) -> None:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < self.megabytes * MIB, f"peak {peak / MIB:.1f} MiB"
        if self.read is not None:
            assert self.source is not None, "Bounded(read=...) needs the archive it opened"
            assert self.source.bytes_read <= self.read, f"read {self.source.bytes_read:,} bytes of the archive"


def zeros_deflated(size: int) -> bytes:
    """Raw deflate of `size` zero bytes (a multiple of 1 MiB), made from one compressed MiB repeated:
    each block is flushed fully, so it does not depend on what came before. 10 GiB take 10 MB and ~0.1 s."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (size // MIB) + compressor.flush()


# --- what goes through ---

def test_is_zip():
    assert is_zip(zipped(("a.txt", b"a")))
    assert is_zip(zipped())  # an empty archive is only its end record
    assert not is_zip(b"%PDF-1.7")


def test_unpack_stores_each_file_with_its_bytes():
    store = Store()
    keys = run(zipped(("a.txt", b"hello"), ("b.pdf", b"%PDF-1.7 body")), store=store)
    assert keys == ["a.txt", "b.pdf"]
    assert store.data == {"a.txt": b"hello", "b.pdf": b"%PDF-1.7 body"}
    assert [(m.filename, m.size) for m in store.members] == [("a.txt", 5), ("b.pdf", 13)]


def test_unpack_reads_stored_members_too():
    store = Store()
    run(zipped(("a.txt", b"hello" * 1000), method=zipfile.ZIP_STORED), store=store)
    assert store.data == {"a.txt": b"hello" * 1000}


def test_unpack_of_an_empty_archive_stores_nothing():
    assert run(zipped()) == []


def test_folders_become_paths_and_directory_entries_are_not_stored():
    store = Store()
    archive = build(Raw("Taxes/"), Raw("Taxes/2024/"), raw_file("Taxes/2024/W-2.pdf", b"%PDF"), Raw("Empty/"),
                    raw_file("top.txt", b"t"), raw_file("./dot/./x.txt", b"x"))
    run(archive, store=store)
    assert [(m.folder_path, m.filename) for m in store.members] == [
        (("Taxes", "2024"), "W-2.pdf"), ((), "top.txt"), (("dot",), "x.txt")]


def test_folder_and_file_names_are_sanitised():
    store = Store()
    run(build(raw_file("CON/\u202egpj.exe", b"x"), raw_file("a  b/ c .txt", b"y")), store=store)
    assert [(m.folder_path, m.filename) for m in store.members] == [(("_CON",), "gpj.exe"), (("a b",), "c.txt")]


def test_a_name_without_the_utf8_flag_is_read_as_utf8_when_it_is():
    store = Store()
    run(build(raw_file("Relevé.pdf".encode(), b"%PDF"), raw_file("Re\x82u.txt".encode("latin-1"), b"x")),
        store=store)
    assert [m.filename for m in store.members] == ["Relevé.pdf", "Reéu.txt"]  # cp437's 0x82 is é


def test_macos_junk_is_skipped_silently():
    store = Store()
    run(zipped(("__MACOSX/._a.txt", b"\0\5\26\7"), ("a.txt", b"a"), (".DS_Store", b"\0\0\0\1Bud1"),
               ("sub/.DS_Store", b"Bud1"), ("sub/._b.txt", b"\0\5\26\7"), ("sub/b.txt", b"b")), store=store)
    assert sorted(store.data) == ["a.txt", "sub/b.txt"]


def test_windows_folder_junk_is_skipped_silently():
    store = Store()
    run(zipped(("a.txt", b"a"), ("scans/Thumbs.db", b"\xd0\xcf\x11\xe0"), ("desktop.ini", b"[.ShellClassInfo]")),
        store=store)
    assert sorted(store.data) == ["a.txt"]


def test_a_nested_zip_is_stored_as_a_file_never_expanded():
    inner = zipped(("deep/secret.txt", b"s"), ("bomb.txt", bytes(10 * MIB)))
    store = Store()
    run(zipped(("inner.zip", inner), ("a.txt", b"a")), store=store)
    assert store.data == {"inner.zip": inner, "a.txt": b"a"}


def test_a_stream_hands_out_at_most_one_mib_per_read():
    store = Store()
    run(zipped(("big.bin", random.Random(0).randbytes(3 * MIB))), store=store)
    assert store.largest_read == CHUNK == MIB
    assert len(store.data["big.bin"]) == 3 * MIB


def test_a_small_very_repetitive_file_is_not_taken_for_a_bomb():
    store = Store()
    run(zipped(("blank.tif", bytes(512 * 1024))), store=store)  # ratio ~1000, under the 1 MiB floor
    assert len(store.data["blank.tif"]) == 512 * 1024


def test_exactly_max_entries_is_fine():
    assert len(run(zipped(*[(f"{i}.txt", b"") for i in range(3)]), ArchiveLimits(max_entries=3))) == 3


def test_exactly_max_depth_is_fine():
    path = "/".join(f"d{i}" for i in range(20)) + "/a.txt"
    store = Store()
    run(zipped((path, b"a")), store=store)
    assert len(store.members[0].folder_path) == 20


# --- zip slip and other entries refused before anything is stored (U6) ---

@pytest.mark.parametrize("name,reason", [
    ("../../evil", "'../../evil' leaves its folder."),
    ("a/../../evil", "'a/../../evil' leaves its folder."),
    ("a/..", "'a/..' leaves its folder."),
    ("/etc/x", "'/etc/x' has an absolute path."),
    ("C:\\x", "'C:\\\\x' has a backslash in its name"),
    ("C:/x", "'C:/x' names a drive."),
    ("c:x", "'c:x' names a drive."),
    ("a\\..\\b", "'a\\\\..\\\\b' has a backslash in its name"),
    ("a\x00.pdf", "'a\\x00.pdf' has a NUL character in its name."),
    ("__MACOSX/../../evil", "leaves its folder."),  # junk is skipped only once it is known to be harmless
])
def test_unsafe_paths_refuse_the_whole_archive(name, reason):
    description, store = refused(build(raw_file("ok.txt", b"ok"), raw_file(name, b"evil")))
    assert description.startswith("The archive was not unpacked: ")
    assert reason in description
    assert store.members == []


def test_a_symlink_member_refuses_the_archive():
    description, store = refused(build(raw_file("ok.txt", b"ok"),
                                       Raw("link", b"/etc/passwd", crc=zlib.crc32(b"/etc/passwd"),
                                           mode=stat.S_IFLNK | 0o777)))
    assert description == "The archive was not unpacked: 'link' is a symbolic link."
    assert store.members == []


def test_a_device_member_refuses_the_archive():
    description, _ = refused(build(Raw("dev", mode=stat.S_IFCHR | 0o666)))
    assert "special file" in description


def test_an_encrypted_member_refuses_the_archive():
    # Traditional PKWARE encryption: a 12-byte header before the data and flag bit 0.
    secret = Raw("secret.pdf", bytes(range(12)) + b"ciphertext", size=10, crc=0x12345678, flags=0x1)
    description, store = refused(build(raw_file("ok.txt", b"ok"), secret))
    assert description == "The archive was not unpacked: 'secret.pdf' is encrypted."
    assert store.members == []


def test_an_aes_encrypted_member_refuses_the_archive():
    description, _ = refused(build(Raw("secret.pdf", b"x" * 30, size=10, method=99, flags=0x1)))
    assert "is encrypted" in description


def test_an_unsupported_compression_method_refuses_the_archive():
    description, store = refused(zipped(("a.txt", b"a" * 100), method=zipfile.ZIP_BZIP2))
    assert "'a.txt' is compressed with bzip2" in description
    assert store.members == []


def test_a_path_deeper_than_max_depth_refuses_the_archive():
    path = "/".join(f"d{i}" for i in range(21)) + "/a.txt"
    description, _ = refused(zipped((path, b"a")))
    assert "nested more than 20 folders deep" in description


def test_a_name_that_cleans_to_nothing_refuses_the_archive():
    description, _ = refused(build(raw_file("a/\u202e/b.txt", b"x")))
    assert "has no usable name" in description


def test_more_entries_than_allowed_refuses_the_archive():
    description, store = refused(zipped(*[(f"{i}.txt", b"") for i in range(1001)]))
    assert description == "The archive was not unpacked: it has more than 1,000 entries."
    assert store.members == []


def test_100k_empty_entries_behind_a_lying_count_are_refused_within_bounds():
    archive = build(*[Raw(f"{i}") for i in range(100_000)], count=10)
    with Bounded(megabytes=50, read=MIB, archive=archive) as bounded:  # the directory alone is 5 MB
        description, _ = refused(bounded.source)
    assert "table of contents is larger than 1,000 entries need" in description


def test_a_declared_total_over_the_limit_refuses_the_archive():
    description, store = refused(zipped(("a.txt", b"a" * 600), ("b.txt", b"b" * 600)),
                                 ArchiveLimits(max_total_bytes=1000), error=PayloadTooLarge)
    assert "more than the limit of 1,000 bytes" in description
    assert store.members == []


def test_a_declared_ratio_over_the_limit_refuses_the_archive():
    description, store = refused(zipped(("zeros.bin", bytes(2 * MIB))))
    assert description == "The archive was not unpacked: 'zeros.bin' would inflate more than 100 times (a zip bomb?)."
    assert store.members == []


def test_overlapping_entries_refuse_the_archive():
    kernel = deflated("a.txt", b"a" * 1000)
    description, _ = refused(build(kernel, Raw("b.txt", kernel.data, size=1000, crc=kernel.crc, method=8, offset=0)))
    assert "overlaps another entry" in description


def test_a_single_10_gib_entry_of_zeros_is_refused_from_its_header():
    bomb = Raw("zeros.bin", zeros_deflated(10 * GIB), size=10 * GIB, method=zipfile.ZIP_DEFLATED)
    archive = build(bomb)
    with Bounded(megabytes=50, read=MIB, archive=archive) as bounded:  # inflating means reading its 10 MB
        description, store = refused(bounded.source)
    assert "'zeros.bin' would inflate more than 100 times" in description
    assert store.members == []


def test_a_10_gib_entry_of_zeros_is_refused_on_the_total_even_at_a_permissive_ratio():
    archive = build(Raw("zeros.bin", zeros_deflated(10 * GIB), size=10 * GIB, method=zipfile.ZIP_DEFLATED))
    with Bounded(megabytes=50, read=MIB, archive=archive) as bounded:
        refused(bounded.source, ArchiveLimits(max_ratio=10_000), error=PayloadTooLarge)


# --- what only inflating shows: refused while the store reads (U5) ---

def test_a_10_gib_entry_that_declares_1_mib_stops_once_it_passes_1_mib():
    archive = build(raw_file("ok.txt", b"ok"),
                    Raw("zeros.bin", zeros_deflated(10 * GIB), size=MIB, method=zipfile.ZIP_DEFLATED))
    store = Store(keep=False)
    with Bounded(megabytes=50, read=MIB, archive=archive) as bounded, pytest.raises(ValidationFailed) as caught:
        run(bounded.source, store=store)  # the 10 GiB take 10 MB: stopping at 1 MiB reads a few kB
    assert caught.value.description == ("The archive was not unpacked: 'zeros.bin' inflates past the 1,048,576 bytes "
                                        "its header declares (a zip bomb?).")
    assert [m.filename for m in store.members] == ["ok.txt", "zeros.bin"]  # the caller deletes what was stored


def test_a_header_that_lies_about_its_size_is_caught_from_the_bytes_inflated():
    archive = bytearray(zipped(("report.csv", b"0," * (25 * MIB))))  # 50 MB of text, about 50 kB deflated
    declared = 1000
    local, central = archive.find(b"PK\x03\x04"), archive.find(b"PK\x01\x02")
    struct.pack_into("<L", archive, local + 22, declared)  # the local header's uncompressed size
    struct.pack_into("<L", archive, central + 24, declared)  # the central directory's
    with Bounded(megabytes=50):  # the 50 MB it inflates to are never held at once
        description, store = refused(bytes(archive))
    assert "'report.csv' inflates past the 1,000 bytes its header declares" in description
    assert len(store.members) == 1


def test_a_refusal_while_reading_is_raised_again_by_every_later_read_and_by_unpack():
    seen: list[Exception] = []

    def swallowing_store(member: ArchiveMember, stream) -> None:
        for _ in range(2):
            try:
                while stream.read(MIB):
                    pass
            except ValidationFailed as error:
                seen.append(error)

    archive = build(Raw("zeros.bin", zeros_deflated(16 * MIB), size=MIB // 2, method=zipfile.ZIP_DEFLATED))
    with pytest.raises(ValidationFailed) as caught:
        unpack(io.BytesIO(archive), ArchiveLimits(), swallowing_store)
    assert len(seen) == 2 and seen[0] is seen[1] is caught.value


def test_unpack_prefers_the_streams_refusal_to_what_the_store_made_of_it():
    def wrapping_store(member: ArchiveMember, stream) -> None:
        try:
            stream.read()
            stream.read()
        except ValidationFailed as error:
            raise RuntimeError("upload failed") from error

    archive = build(Raw("zeros.bin", zeros_deflated(16 * MIB), size=100, method=zipfile.ZIP_DEFLATED))
    with pytest.raises(ValidationFailed, match="inflates past the 100 bytes"):
        unpack(io.BytesIO(archive), ArchiveLimits(), wrapping_store)


def test_what_the_store_raises_comes_out_of_unpack():
    def picky_store(member: ArchiveMember, stream) -> None:
        raise UnsupportedMediaType(f"{member.filename} is not welcome.")

    with pytest.raises(UnsupportedMediaType, match="a.exe is not welcome"):
        unpack(io.BytesIO(zipped(("a.exe", b"MZ"))), ArchiveLimits(), picky_store)


def test_what_the_store_leaves_unread_is_still_checked():
    archive = build(Raw("zeros.bin", zeros_deflated(16 * MIB), size=MIB, method=zipfile.ZIP_DEFLATED))
    with pytest.raises(ValidationFailed, match="inflates past"):
        unpack(io.BytesIO(archive), ArchiveLimits(), lambda member, stream: stream.read(10))


# --- damaged archives ---

def test_a_file_that_is_not_a_zip_is_refused():
    description, _ = refused(b"%PDF-1.7 this is no zip at all, whatever its name says" * 10)
    assert description == "The archive was not unpacked: it is not a valid zip archive."


@pytest.mark.parametrize("archive", [b"", b"PK\x03\x04", zipped(("a.txt", b"a" * 1000))[:-30]])
def test_a_truncated_zip_is_refused(archive):
    description, _ = refused(archive)
    assert "not a valid zip archive" in description


def test_a_member_whose_checksum_fails_is_refused():
    archive = build(Raw("a.txt", b"hello", crc=zlib.crc32(b"hellp")))
    description, _ = refused(archive)
    assert "'a.txt' is damaged (its checksum does not match)" in description


def test_a_member_shorter_than_declared_is_refused():
    description, _ = refused(build(deflated("a.txt", b"hello", size=10)))
    assert "'a.txt' is damaged (shorter than its header declares)" in description


def test_a_member_whose_deflate_stream_is_cut_is_refused():
    entry = deflated("a.txt", bytes(range(256)) * 100)
    entry.data = entry.data[:-10]
    description, _ = refused(build(entry))
    assert "'a.txt' is damaged (its compressed data ends early)" in description


def test_a_local_header_that_disagrees_with_the_directory_is_refused():
    archive = bytearray(zipped(("a.txt", b"a")))
    local = archive.find(b"PK\x03\x04")
    archive[local + 30:local + 31] = b"b"
    description, _ = refused(bytes(archive))
    assert "'a.txt' is damaged (its local header disagrees" in description
