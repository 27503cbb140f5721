"""A fast walk over a record-per-gzip-member WARC file (``.warc.gz`` as every crawler writes it):
where each record starts, how long it is, its WARC headers and the start of its block.

    with open(path, "rb") as fh:
        for m in gzip_members(fh):
            m.offset, m.length, m.headers["warc-type"], m.block_head, m.whole

Why not warcio's ``ArchiveIterator``: replay's main process walks every record of an archive
only to find the few it hands to parser workers, and warcio's pure-Python line reading costs
about as much as a tenth of the parsing it feeds. Here the gzip members are inflated by zlib in
large pieces and only the head of each record is kept, so the walk costs little more than
inflating the file. Records are read whole (including payloads) only by whoever parses them,
with warcio (``harvester.warc.reader.read_record_at``).

Damage (a member cut short, bytes that are not gzip, a member that is not one WARC record)
raises ``MemberError`` after every whole record before it was yielded; a last record whose block
is shorter than its Content-Length is yielded with ``whole=False``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

__all__ = ["Member", "MemberError", "gzip_members", "http_status"]

READ_SIZE = 1 << 20          # bytes read from the file at a time
INFLATE_STEP = 1 << 20       # bytes inflated at a time: a gzip bomb is walked, never held
FEED_SIZE = 1 << 16          # compressed bytes fed at a time: zlib copies what is left of a feed
                             # (unused_data) at each member's end, so feeds stay small
GZIP_MAGIC = b"\x1f\x8b"


class MemberError(ValueError):
    """The file is damaged at ``offset``; every record before it was yielded."""

    def __init__(self, offset: int, why: str) -> None:
        super().__init__(f"{why} at offset {offset}")
        self.offset = offset


@dataclass(slots=True)
class Member:
    offset: int              # of the gzip member in the file
    length: int              # compressed length of the member
    headers: dict[str, str]  # WARC headers, names lower-cased, the first of repeated names
    block_head: bytes        # the first bytes of the block (at most the walk's head_limit)
    whole: bool              # the block holds at least Content-Length bytes


def _parse_head(head: bytes, offset: int) -> tuple[dict[str, str], int, int]:
    """(headers, header length, Content-Length) of a WARC record's start."""
    if not head.startswith(b"WARC/"):
        raise MemberError(offset, "not a WARC record")
    end = head.find(b"\r\n\r\n")
    sep = 4
    if end < 0:   # sloppy writers end header lines with a bare "\n"
        end, sep = head.find(b"\n\n"), 2
    if end < 0:
        raise MemberError(offset, "WARC headers not ended")
    headers: dict[str, str] = {}
    for line in head[:end].decode("utf-8", "replace").splitlines()[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.setdefault(name.strip().lower(), value.strip())
    uri = headers.get("warc-target-uri", "")
    if uri.startswith("<") and uri.endswith(">"):   # WARC/1.1's draft form, written by wget 1.20
        headers["warc-target-uri"] = uri[1:-1]
    try:
        content_length = int(headers.get("content-length", ""))
    except ValueError:
        raise MemberError(offset, "no Content-Length") from None
    return headers, end + sep, content_length


def gzip_members(fh: BinaryIO, *, head_limit: int = 1 << 20) -> Iterator[Member]:
    """Every record of a gzip-per-record WARC file, from the current position of ``fh``."""
    buf, pos, base = b"", 0, fh.tell()      # buf holds file bytes [base, base + len(buf))
    while True:
        if pos >= len(buf):
            base += len(buf)
            buf, pos = fh.read(READ_SIZE), 0
            if not buf:
                return
        offset = base + pos
        if buf[pos:pos + 2] != GZIP_MAGIC and len(buf) - pos >= 2:
            raise MemberError(offset, "not a gzip member")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        head, size = bytearray(), 0
        while not inflater.eof:
            if pos >= len(buf):
                base += len(buf)
                buf, pos = fh.read(READ_SIZE), 0
                if not buf:
                    raise MemberError(offset, "gzip member cut short")
            piece = memoryview(buf)[pos:pos + FEED_SIZE]
            try:
                data = piece
                while True:
                    out = inflater.decompress(data, INFLATE_STEP)
                    size += len(out)
                    if len(head) < head_limit:
                        head += out[:head_limit - len(head)]
                    data = inflater.unconsumed_tail
                    if inflater.eof or not data:
                        break
            except zlib.error as exc:
                raise MemberError(offset, f"bad gzip data ({exc})") from None
            pos += len(piece) - len(inflater.unused_data) if inflater.eof else len(piece)
        headers, header_length, content_length = _parse_head(bytes(head), offset)
        # a member holds one record: its block, then the record's closing "\r\n\r\n"
        if size > header_length + content_length + 4:
            raise MemberError(offset, "gzip member holds more than one record")
        block_head = bytes(head[header_length:header_length + content_length])
        yield Member(offset, base + pos - offset, headers, block_head, size - header_length >= content_length)


def http_status(block_head: bytes) -> int:
    """The status code of an HTTP response block's status line (``HTTP/1.1 200 OK``, the reason
    text optional); 0 when there is none."""
    line = block_head[:200].split(b"\n", 1)[0]
    parts = line.split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return 0
