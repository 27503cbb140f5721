"""Reading stored responses back out of WARC files (for replay and for checks).

    for rec in iter_responses("out/warc"):          # a file, a folder, or a list of them
        rec.url, rec.status, rec.headers             # headers: [(name, value)] as stored
        rec.raw_payload                              # HTTP body as received (still gzip etc.)
        rec.payload                                  # body decoded by its Content-Encoding
        rec.pointer                                  # WarcPointer: file, offset, length, id

    rec = read_record_at("out/warc/x.warc.gz", offset)   # one record, e.g. from a CDXJ line

Reads WARC/1.0 and 1.1, gzip or not, and ARC / ARC.gz (converted on the fly by warcio's
``arc2warc``). Content-Encodings decoded: gzip, x-gzip, deflate, br (``brotli``), zstd
(``zstandard``), chains of them. One that cannot be decoded (unknown, corrupt data) does not raise:
``payload`` is then the raw bytes and ``decode_error`` says why.

``iter_responses`` skips revisit records; ``iter_records`` returns every record as-is.
``whole_records_end`` and ``index_lines`` serve the writer's recovery of ``.open`` files.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator

from warcio.archiveiterator import ArchiveIterator

from harvester.warc import cdxj
from harvester.warc.pointer import WarcPointer

__all__ = [
    "StoredResponse",
    "RawRecord",
    "iter_warc_files",
    "iter_records",
    "iter_responses",
    "read_record_at",
    "decode_content",
    "UnsupportedEncoding",
    "WARC_SUFFIXES",
    "OPEN_SKIPPED_SUFFIX",
    "record_complete",
    "archive_iterator",
    "whole_records_end",
    "index_lines",
]

# what a folder is searched for; ``.open`` files (still being written) are not among them
WARC_SUFFIXES = (".warc.gz", ".warc", ".arc.gz", ".arc")
OPEN_SKIPPED_SUFFIX = ".open"


def archive_iterator(fh) -> ArchiveIterator:
    """warcio's iterator for WARC and ARC (ARC records converted to WARC ones)."""
    return ArchiveIterator(fh, arc2warc=True)



class UnsupportedEncoding(ValueError):
    """A Content-Encoding we cannot decode (e.g. ``br``/``zstd``; the capture never asks for them)."""


@dataclass(slots=True)
class StoredResponse:
    url: str
    status: int
    # HTTP response headers in stored order; warcio decodes each line as UTF-8 when it is valid
    # UTF-8, else as latin-1 (which gives the original bytes back with .encode("latin-1"))
    headers: list[tuple[str, str]]
    raw_payload: bytes  # entity body as received: de-chunked, still content-encoded
    payload: bytes  # raw_payload decoded by Content-Encoding (== raw_payload when none)
    pointer: WarcPointer
    ip_address: str | None
    concurrent_to: list[str]
    decode_error: str | None = None  # set when Content-Encoding could not be decoded

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def header_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


def iter_warc_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> Iterator[str]:
    """Expand files and folders into ``*.warc.gz`` / ``*.warc`` / ``*.arc.gz`` / ``*.arc`` paths,
    sorted by name (folders recursively). ``.open`` files (still being written) are skipped.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found = []
            for folder, dirs, names in os.walk(path):
                dirs.sort()
                found += [os.path.join(folder, n) for n in names if n.lower().endswith(WARC_SUFFIXES)]
            yield from sorted(found)
        else:
            yield path


@dataclass(slots=True)
class RawRecord:
    """Any WARC record, read into memory: for checks and tools, not for replay."""

    warc_path: str
    offset: int
    length: int  # stored (compressed) length of the record
    rec_type: str
    rec_headers: object  # warcio StatusAndHeaders (WARC headers)
    http_headers: object | None  # warcio StatusAndHeaders, or None (warcinfo, metadata...)
    raw_payload: bytes  # the block after the HTTP headers, as stored

    @property
    def record_id(self) -> str:
        return self.rec_headers.get_header("WARC-Record-ID")


def iter_records(paths) -> Iterator[RawRecord]:
    """Yield every record of the given WARC files/folders, in file order."""
    for path in iter_warc_files(paths):
        with open(path, "rb") as fh:
            it = archive_iterator(fh)
            for record in it:
                raw = record.raw_stream.read()
                it.read_to_end(record)  # now offset and length are known
                yield RawRecord(
                    warc_path=path,
                    offset=it.get_record_offset(),
                    length=it.get_record_length(),
                    rec_type=record.rec_type,
                    rec_headers=record.rec_headers,
                    http_headers=record.http_headers,
                    raw_payload=raw,
                )


def _split_encodings(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip().lower() for v in value.split(",") if v.strip()]


def decode_content(body: bytes, content_encoding: str | None) -> bytes:
    """Undo a Content-Encoding header (``gzip``, ``x-gzip``, ``deflate``, ``identity``, chains).

    Raises ``UnsupportedEncoding`` for anything else.
    """
    for enc in reversed(_split_encodings(content_encoding)):
        if enc == "identity":
            continue
        if enc in ("gzip", "x-gzip"):
            body = _gunzip(body)
        elif enc == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, seen in the wild
        elif enc == "br":
            import brotli

            try:
                body = brotli.decompress(body)
            except brotli.error as exc:
                raise UnsupportedEncoding(f"br: corrupt data ({exc})") from None
        elif enc == "zstd":
            import zstandard

            try:
                # streaming: frames written without a content size (most servers) decode too
                body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
            except zstandard.ZstdError as exc:
                raise UnsupportedEncoding(f"zstd: corrupt data ({exc})") from None
        else:
            raise UnsupportedEncoding(enc)
    return body


def _gunzip(body: bytes) -> bytes:
    # concatenated gzip members are legal; decompressobj stops at the first one
    out = []
    while body:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(body))
        out.append(d.flush())
        body = d.unused_data
        if not d.eof:
            break
    return b"".join(out)


def _pointer(path: str, it: ArchiveIterator, record, offset: int | None = None) -> WarcPointer:
    rh = record.rec_headers
    return WarcPointer(
        warc_file=os.path.basename(path),
        offset=it.get_record_offset() if offset is None else offset,
        length=it.get_record_length(),
        record_id=rh.get_header("WARC-Record-ID"),
        warc_date=rh.get_header("WARC-Date"),
    )


def dechunk(data: bytes) -> bytes:
    """Undo HTTP/1.1 chunked framing (RFC 9112 §7.1); a body that is not validly chunked, or is
    cut short, keeps what could be read (a damaged capture still gives its beginning)."""
    out, pos = bytearray(), 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return bytes(out) if out else data
        size_text = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(out) if out else data
        if size == 0:
            return bytes(out)
        start = eol + 2
        out += data[start:start + size]
        pos = start + size + 2


def _stored_response(path: str, record) -> StoredResponse:
    """Read a response record's payload (call before ``read_to_end``); pointer filled later."""
    raw = record.raw_stream.read()
    http = record.http_headers
    headers = list(http.headers) if http else []
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        # written by another tool that kept the chunked framing: undo it
        raw = dechunk(raw)
    enc = None
    for k, v in headers:
        if k.lower() == "content-encoding":
            enc = v if enc is None else f"{enc}, {v}"
    error = None
    try:
        payload = decode_content(raw, enc)
    except (UnsupportedEncoding, zlib.error) as exc:
        payload, error = raw, f"{type(exc).__name__}: {exc}"
    rh = record.rec_headers
    status = http.get_statuscode() if http else "0"
    return StoredResponse(
        url=rh.get_header("WARC-Target-URI"),
        status=int(status) if status and status.isdigit() else 0,
        headers=headers,
        raw_payload=raw,
        payload=payload,
        pointer=None,  # type: ignore[arg-type]  # set by the caller once the length is known
        ip_address=rh.get_header("WARC-IP-Address"),
        concurrent_to=[v for k, v in rh.headers if k.lower() == "warc-concurrent-to"],
        decode_error=error,
    )


def iter_responses(paths) -> Iterator[StoredResponse]:
    """Yield every ``response`` record of the given WARC files/folders as a ``StoredResponse``."""
    for path in iter_warc_files(paths):
        with open(path, "rb") as fh:
            it = archive_iterator(fh)
            for record in it:
                if record.rec_type != "response":
                    continue
                stored = _stored_response(path, record)
                it.read_to_end(record)
                stored.pointer = _pointer(path, it, record)
                yield stored


def read_record_at(path: str | os.PathLike, offset: int):
    """Read the one record that starts at ``offset`` (e.g. from a CDXJ line or a WarcPointer).

    Returns a ``StoredResponse`` for response records, otherwise the warcio record with its
    content already read into ``record.content`` (bytes).
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        it = archive_iterator(fh)
        record = next(iter(it))
        if record.rec_type == "response":
            stored = _stored_response(path, record)
            it.read_to_end(record)
            stored.pointer = _pointer(path, it, record, offset=offset)
            return stored
        record.content = record.content_stream().read()
        return record


def record_complete(path: str | os.PathLike, offset: int, length: int) -> bool:
    """True when the record stored at ``offset`` is whole: its gzip member (if any) ends, and its
    block holds at least ``Content-Length`` bytes."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    if data[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = d.decompress(data) + d.flush()
        except zlib.error:
            return False
        if not d.eof:
            return False
    # the header block ends at the first empty line; sloppy writers use "\r\r\n" or bare "\n"
    blank = re.search(rb"\n\r*\n", data)
    if blank is None:
        return False
    head, rest = data[:blank.start()], data[blank.end():]
    for line in head.split(b"\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(rest) >= int(value.strip())
            except ValueError:
                return False
    return False


def whole_records_end(path: str | os.PathLike) -> tuple[int, int]:
    """(offset just after the last whole record, number of whole records) of a possibly cut file."""
    end = count = 0
    last: tuple[int, int] | None = None
    with open(path, "rb") as fh:
        it = archive_iterator(fh)
        try:
            for record in it:
                it.read_to_end(record)
                last = (it.get_record_offset(), it.get_record_length())
                end, count = last[0] + last[1], count + 1
        except Exception:  # noqa: BLE001 - the damage: everything before it counts
            return end, count
    if last is not None and not record_complete(path, *last):
        return last[0], count - 1
    return end, count


def index_lines(path: str | os.PathLike) -> list[str]:
    """The CDXJ lines (``harvester.warc.cdxj``) of the captures in one WARC file."""
    lines = []
    name = os.path.basename(os.fspath(path))
    with open(path, "rb") as fh:
        it = archive_iterator(fh)
        for record in it:
            rtype = record.rec_type
            if rtype not in ("response", "revisit", "resource"):
                it.read_to_end(record)
                continue
            rh, http = record.rec_headers, record.http_headers
            it.read_to_end(record)
            url = rh.get_header("WARC-Target-URI") or ""
            if rtype == "revisit":
                mime = "warc/revisit"
            elif http is not None:
                mime = (http.get_header("Content-Type") or "-").split(";", 1)[0].strip().lower() or "-"
            else:
                mime = (rh.get_header("Content-Type") or "-").split(";", 1)[0].strip().lower() or "-"
            fields = {"url": url, "mime": mime}
            if http is not None and http.get_statuscode():
                fields["status"] = http.get_statuscode()
            digest = rh.get_header("WARC-Payload-Digest") or "-"
            fields.update({"digest": digest.split(":", 1)[-1], "length": it.get_record_length(),
                           "offset": it.get_record_offset(), "filename": name, "rectype": rtype,
                           "record_id": rh.get_header("WARC-Record-ID")})
            lines.append(cdxj.format_line(url, rh.get_header("WARC-Date") or "", fields))
    return lines
