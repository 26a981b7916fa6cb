"""Unpacking a .zip that is already in the object store: member by member, never to local disk.

Reliability notes U5 (bombs) and U6 (zip slip). Nothing is stored before the whole central
directory has passed: entry count, paths, links, encryption, compression methods, declared sizes
and ratios, entries that overlap. Then each member is inflated here, in chunks, counting what
really comes out: a header may lie about its size, and CPython's zipfile trusts it (cpython#83522),
so zipfile only reads the central directory and the bytes are read and inflated by this module.
"""
from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar, cast

from documents.filetypes import sanitize_filename
from shared.config import Settings
from shared.errors import PayloadTooLarge, PortaError, ValidationFailed

T = TypeVar("T")

GIB = 1024 ** 3
MIB = 1024 ** 2
# The most a member's stream hands out per read, and reads of the archive per inflate step.
CHUNK = MIB
_COMPRESSED_CHUNK = 64 * 1024
# Room the central directory may take: generous for real names and extra fields, small enough that
# reading it at once stays cheap (zipfile reads it in one piece).
_DIRECTORY_BYTES_PER_ENTRY = 1024
_DIRECTORY_SLACK = 64 * 1024
_END_RECORD = struct.Struct("<4s4H2LH")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_END_SIGNATURE = b"PK\x05\x06"
_LOCAL_SIGNATURE = b"PK\x03\x04"
_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
_METHODS = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 98: "PPMd", 99: "AES encryption"}
_ENCRYPTED = 0x1 | 0x40 | 0x2000  # traditional, strong, central directory encryption
_UTF8_NAME = 0x800
_JUNK_FOLDERS = frozenset({"__MACOSX"})
# Files the operating system leaves in folders (Finder, Explorer), never what a client meant to send.
_JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may hold; `max_ratio` (inflated/compressed, per entry) is only applied past
    `ratio_floor` inflated bytes, so a small, very repetitive file is not taken for a bomb."""

    max_entries: int = 1000
    max_total_bytes: int = GIB
    max_ratio: int = 100
    max_depth: int = 20
    ratio_floor: int = MIB

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveLimits:
        """The limits configured for this process (PORTA_ZIP_MAX_*)."""
        return cls(max_entries=settings.zip_max_entries, max_total_bytes=settings.zip_max_bytes,
                   max_ratio=settings.zip_max_ratio)


@dataclass(frozen=True)
class ArchiveMember:
    """A file of the archive: where it goes (folder names from the archive's root, then its name,
    all cleaned by `sanitize_filename`), and what its header declares."""

    path: str  # as written in the archive, for messages
    folder_path: tuple[str, ...]
    filename: str
    size: int
    compressed_size: int


@dataclass(frozen=True)
class _Entry:
    member: ArchiveMember
    info: zipfile.ZipInfo
    raw_name: bytes


def is_zip(head: bytes) -> bool:
    """Whether bytes start like a zip archive (an empty archive is only its end record)."""
    return head.startswith(_LOCAL_SIGNATURE) or head.startswith(_END_SIGNATURE)


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(f"The archive was not unpacked: {reason}")


def _shown(path: str) -> str:
    """A member's path for a message: quoted, control characters escaped, not too long."""
    shown = repr(path)
    return shown if len(shown) <= 120 else shown[:100] + "…" + shown[-19:]


class _DirectoryReads(io.RawIOBase):
    """The archive as zipfile sees it while it reads the central directory (in one read): a read
    larger than `max_entries` entries can need is refused, so a lying end record cannot make
    zipfile load gigabytes into memory."""

    def __init__(self, source: BinaryIO, size: int, max_read: int, max_entries: int) -> None:
        self.source = source
        self.size = size
        self.max_read = max_read
        self.max_entries = max_entries

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self.source.tell(), io.SEEK_END: self.size}[whence] + offset
        if target < 0:
            raise OSError("negative seek")
        return self.source.seek(target)

    def tell(self) -> int:
        return self.source.tell()

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.source.tell()
        if size > self.max_read:
            raise _refuse(f"its table of contents is larger than {self.max_entries:,} entries need.")
        return self.source.read(size)


def _declared_entries(source: BinaryIO, size: int) -> int | None:
    """The entry count of the end record, found the way zipfile finds it, so that too many entries
    are refused before zipfile parses them (None when there is none, or zip64's: the bound on the
    directory's size and a count of what zipfile read cover those)."""
    tail_size = min(size, _END_RECORD.size + 0xFFFF)
    source.seek(size - tail_size)
    tail = source.read(tail_size)
    if tail[-_END_RECORD.size:][:4] == _END_SIGNATURE and tail[-2:] == b"\0\0":
        at = len(tail) - _END_RECORD.size
    else:
        at = tail.rfind(_END_SIGNATURE)
        if at < 0 or len(tail) - at < _END_RECORD.size:
            return None
    entries = _END_RECORD.unpack_from(tail, at)[4]
    return None if entries == 0xFFFF else entries


def _read_directory(source: BinaryIO, limits: ArchiveLimits) -> tuple[list[zipfile.ZipInfo], int]:
    """The central directory's entries and where it starts; refuses an archive that has too many."""
    size = source.seek(0, io.SEEK_END)
    if size < _END_RECORD.size:
        raise _refuse("it is not a valid zip archive.")
    declared = _declared_entries(source, size)
    too_many = f"it has more than {limits.max_entries:,} entries."
    if declared is not None and declared > limits.max_entries:
        raise _refuse(too_many)
    budget = _DIRECTORY_SLACK + limits.max_entries * _DIRECTORY_BYTES_PER_ENTRY
    guarded = _DirectoryReads(source, size, max(budget, _END_RECORD.size + 0xFFFF), limits.max_entries)
    try:
        with zipfile.ZipFile(guarded) as archive:  # type: ignore[arg-type]
            infos, start = archive.infolist(), archive.start_dir
    except PortaError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, UnicodeDecodeError, ValueError,
            struct.error, EOFError) as error:
        raise _refuse("it is not a valid zip archive.") from error
    if len(infos) > limits.max_entries:
        raise _refuse(too_many)
    return infos, start


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & _UTF8_NAME else "cp437")


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry's name; one without the UTF-8 flag is read as UTF-8 when it is valid UTF-8 (many
    tools write UTF-8 without saying so), else as the legacy code page 437."""
    if info.flag_bits & _UTF8_NAME:
        return info.orig_filename
    try:
        return _raw_name(info).decode("utf-8")
    except UnicodeDecodeError:
        return info.orig_filename


def _parts(path: str, limits: ArchiveLimits) -> list[str]:
    """The path's components, refusing any that could leave the archive's folder."""
    shown = _shown(path)
    if "\0" in path:
        raise _refuse(f"{shown} has a NUL character in its name.")
    if "\\" in path:
        raise _refuse(f"{shown} has a backslash in its name (paths in a zip use '/').")
    if path.startswith("/"):
        raise _refuse(f"{shown} has an absolute path.")
    if len(path) >= 2 and path[1] == ":" and path[0].isascii() and path[0].isalpha():
        raise _refuse(f"{shown} names a drive.")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refuse(f"{shown} leaves its folder.")
    if len(parts) > limits.max_depth + 1:
        raise _refuse(f"{shown} is nested more than {limits.max_depth} folders deep.")
    return parts


def _is_directory(info: zipfile.ZipInfo) -> bool:
    return info.orig_filename.endswith("/") or stat.S_ISDIR(info.external_attr >> 16)


def _check_entry(info: zipfile.ZipInfo, path: str) -> None:
    shown = _shown(path)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _refuse(f"{shown} is a symbolic link.")
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(f"{shown} is a special file, not a file or a folder.")
    if info.flag_bits & _ENCRYPTED or info.compress_type == 99:
        raise _refuse(f"{shown} is encrypted.")


def _check_member_sizes(info: zipfile.ZipInfo, path: str, limits: ArchiveLimits) -> None:
    shown = _shown(path)
    if info.compress_type not in (_STORED, _DEFLATED):
        method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
        raise _refuse(f"{shown} is compressed with {method}, which we do not unpack; "
                      "make the archive again with the standard method (deflate).")
    if info.compress_type == _STORED and info.file_size != info.compress_size:
        raise _refuse(f"{shown} is damaged (its sizes disagree).")
    if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise _refuse(f"{shown} would inflate more than {limits.max_ratio} times (a zip bomb?).")


def _is_junk(parts: list[str]) -> bool:
    """What macOS adds to the archives it makes: resource forks and Finder settings."""
    return parts[0] in _JUNK_FOLDERS or parts[-1] in _JUNK_FILES or parts[-1].startswith("._")


def _member(info: zipfile.ZipInfo, path: str, parts: list[str]) -> ArchiveMember:
    try:
        folder_path = tuple(sanitize_filename(part) for part in parts[:-1])
        filename = sanitize_filename(parts[-1])
    except ValidationFailed as error:
        raise _refuse(f"{_shown(path)} has no usable name.") from error
    return ArchiveMember(path=path, folder_path=folder_path, filename=filename, size=info.file_size,
                         compressed_size=info.compress_size)


def _check_overlaps(infos: list[zipfile.ZipInfo], directory_start: int) -> None:
    """Entries whose data overlap are how the densest bombs reuse one compressed stream many times."""
    spans = sorted(((info.header_offset, info.header_offset + _LOCAL_HEADER.size + len(_raw_name(info))
                     + info.compress_size, info) for info in infos), key=lambda span: span[:2])
    next_starts = [start for start, _, _ in spans[1:]] + [directory_start]
    for (_, end, info), next_start in zip(spans, next_starts[:len(spans)], strict=True):
        if end > next_start:
            raise _refuse(f"{_shown(_decoded_name(info))} overlaps another entry (a zip bomb?).")


def _plan(source: BinaryIO, limits: ArchiveLimits) -> list[_Entry]:
    """The files to store, in archive order, once every entry of the central directory has passed."""
    infos, directory_start = _read_directory(source, limits)
    entries: list[_Entry] = []
    total = 0
    for info in infos:
        path = _decoded_name(info)
        parts = _parts(path, limits)
        _check_entry(info, path)
        if not parts or _is_directory(info) or _is_junk(parts):
            continue  # folders are made for the files in them
        member = _member(info, path, parts)
        _check_member_sizes(info, path, limits)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise PayloadTooLarge(f"The archive was not unpacked: its files add up to more than the limit of "
                                  f"{limits.max_total_bytes:,} bytes.")
        entries.append(_Entry(member, info, _raw_name(info)))
    _check_overlaps(infos, directory_start)
    return entries


class _Budget:
    """The bytes inflated so far across the archive."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise PayloadTooLarge(f"The archive was not unpacked: its files add up to more than the limit of "
                                  f"{self.limit:,} bytes.")


class MemberStream(io.RawIOBase):
    """One member's bytes, inflated as they are read, at most CHUNK per read. `read` raises
    ValidationFailed or PayloadTooLarge as soon as the member inflates past its declared size, its
    ratio or the archive's total, and again on every later read."""

    def __init__(self, source: BinaryIO, entry: _Entry, limits: ArchiveLimits, budget: _Budget) -> None:
        self.source = source
        self.entry = entry
        self.limits = limits
        self.budget = budget
        info = entry.info
        self.shown = _shown(entry.member.path)
        self.position = self._data_offset()
        self.compressed_left = info.compress_size
        self.inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == _DEFLATED else None
        self.pending = b""  # compressed bytes read but not yet inflated
        self.inflated = 0
        self.crc = 0
        self.done = False
        self.error: PortaError | None = None

    def _data_offset(self) -> int:
        info = self.entry.info
        self.source.seek(info.header_offset)
        header = self.source.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise _refuse(f"{self.shown} is damaged (no local header).")
        fields = _LOCAL_HEADER.unpack(header)
        flags, method, name_length, extra_length = fields[2], fields[3], fields[9], fields[10]
        if flags & _ENCRYPTED:
            raise _refuse(f"{self.shown} is encrypted.")
        if method != info.compress_type or self.source.read(name_length) != self.entry.raw_name:
            raise _refuse(f"{self.shown} is damaged (its local header disagrees with the table of contents).")
        return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.error is not None:
            raise self.error
        try:
            return self._read(CHUNK if size is None or size < 0 else min(size, CHUNK))
        except PortaError as error:
            self.error = error
            raise

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _compressed(self, limit: int = _COMPRESSED_CHUNK) -> bytes:
        count = min(limit, self.compressed_left)
        if count <= 0:
            return b""
        self.source.seek(self.position)
        data = self.source.read(count)
        if not data:
            raise _refuse(f"{self.shown} is damaged (the archive ends inside it).")
        self.position += len(data)
        self.compressed_left -= len(data)
        return data

    def _read(self, size: int) -> bytes:
        out = bytearray()
        while not self.done and len(out) < size:
            data = self._step(size - len(out))
            if data is None:
                self._finish()
            else:
                self._count(data)
                out += data
        return bytes(out)

    def _step(self, size: int) -> bytes | None:
        """Up to `size` more bytes of the member (maybe none yet), or None at its end."""
        if self.inflater is None:
            return self._compressed(size) or None
        if not self.pending:
            self.pending = self._compressed()
        data = self.inflater.decompress(self.pending, size)
        self.pending = self.inflater.unconsumed_tail
        if not data and (self.inflater.eof or (not self.pending and self.compressed_left <= 0)):
            return None
        return data

    def _count(self, data: bytes) -> None:
        info = self.entry.info
        self.inflated += len(data)
        self.budget.spend(len(data))
        if self.inflated > info.file_size:
            raise _refuse(f"{self.shown} inflates past the {info.file_size:,} bytes its header declares "
                          "(a zip bomb?).")
        if self.inflated > self.limits.ratio_floor and \
                self.inflated > self.limits.max_ratio * max(info.compress_size, 1):
            raise _refuse(f"{self.shown} inflates more than {self.limits.max_ratio} times (a zip bomb?).")
        self.crc = zlib.crc32(data, self.crc)

    def _finish(self) -> None:
        self.done = True
        info = self.entry.info
        if self.inflater is not None and not self.inflater.eof:
            raise _refuse(f"{self.shown} is damaged (its compressed data ends early).")
        if self.inflated != info.file_size:
            raise _refuse(f"{self.shown} is damaged (shorter than its header declares).")
        if self.crc != info.CRC:
            raise _refuse(f"{self.shown} is damaged (its checksum does not match).")

    def drain(self) -> None:
        """Read what the store left unread, so every member is checked to its end."""
        while self.read(CHUNK):
            pass


def unpack(source: BinaryIO, limits: ArchiveLimits, store: Callable[[ArchiveMember, BinaryIO], T]) -> list[T]:
    """Store each file of the zip archive `source` (seekable) with `store(member, stream)`, in archive
    order, and return what `store` returned. Folder entries are not stored: each member carries its
    folder path. macOS's `__MACOSX/`, `.DS_Store` and `._*` entries and Windows' `Thumbs.db` and
    `desktop.ini` are skipped; nested archives are
    stored as files, never opened.

    Raises ValidationFailed (422) or PayloadTooLarge (413) for an archive refused whole; that happens
    before `store` is first called for anything the central directory shows (paths, links, encryption,
    methods, entry count, declared sizes and ratios, overlaps). What only inflating shows (a member
    larger than it declares, a corrupt one) is raised by the stream's `read` while `store` consumes it,
    and `unpack` raises it again even if `store` swallowed it; so does anything `store` raises.

    Contract: when `unpack` raises, members already stored stay stored, and the caller deletes them.
    `store` should read its stream to the end; whatever it leaves is read and checked after it returns.
    Memory stays bounded: at most CHUNK inflated bytes per read, 64 KiB of compressed input at a time.
    """
    entries = _plan(source, limits)
    budget = _Budget(limits.max_total_bytes)
    stored: list[T] = []
    for entry in entries:
        stream = MemberStream(source, entry, limits, budget)
        try:
            result = store(entry.member, cast(BinaryIO, stream))
        except Exception as error:
            if stream.error is not None and stream.error is not error:
                raise stream.error from error  # the store wrapped or replaced our refusal
            raise
        if stream.error is not None:
            raise stream.error
        stream.drain()
        stored.append(result)
    return stored
