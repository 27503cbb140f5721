"""CDXJ index lines: ``urlkey timestamp {json}``, one per capture, sorted: pywb serves from it as is.

The url key is pywb's canonical SURT (``surt.surt``, what ``pywb.utils.canonicalize`` calls), the
timestamp has 14 digits, and the file is sorted by plain byte order (``LC_ALL=C sort``), which is
what pywb's binary search needs. One line per capture that replays: ``response`` and ``revisit``
(and ``resource``) records; request and metadata records are not indexed (a request line with the
same key and timestamp would sort ahead of its response and shadow it). The JSON keys:

    url        the record's WARC-Target-URI
    mime       the HTTP Content-Type without parameters; "warc/revisit" for revisits
    status     the HTTP status code as a string ("200")
    digest     WARC-Payload-Digest without its "sha1:" prefix (base32), as pywb writes it
    length     the record's length in the WARC file, compressed, in bytes (int)
    offset     where the record starts in the WARC file (int)
    filename   the WARC file's name (no directory)
    rectype    "response" | "revisit" | "resource"
    record_id  WARC-Record-ID, so a citation can be checked against the record itself

The writer adds a finished file's lines with ``merge_into`` (a streaming merge written to a
temporary file and renamed over the index), so the index stays sorted across appends and only
names finished files.
"""
from __future__ import annotations

import heapq
import tempfile
import json
import os
from dataclasses import dataclass
from typing import IO, Callable, Iterable, Iterator

__all__ = ["CdxjEntry", "surt", "format_line", "parse_line", "read_cdxj", "sort_cdxj", "merge_into"]


def surt(url: str) -> str:
    """pywb's url key: ``http://www.Example.gov.cn:8080/a/B?b=2&a=1`` → ``cn,gov,example:8080)/a/b?a=1&b=2``."""
    import surt as surt_lib   # here, not above: it pulls in tldextract and requests (0.08 s), which
                              # replay's reading side and the parser workers never need
    try:
        return surt_lib.surt(url)
    except Exception:  # noqa: BLE001 - pywb falls back to the url itself (urn:…)
        return url


@dataclass(frozen=True, slots=True)
class CdxjEntry:
    """One parsed CDXJ line."""

    urlkey: str
    timestamp: str
    fields: dict

    @property
    def url(self) -> str:
        return self.fields["url"]

    @property
    def filename(self) -> str:
        return self.fields["filename"]

    @property
    def offset(self) -> int:
        return int(self.fields["offset"])

    @property
    def length(self) -> int:
        return int(self.fields["length"])

    @property
    def record_id(self) -> str | None:
        return self.fields.get("record_id")


def warc_date_to_timestamp(warc_date: str) -> str:
    """``2024-05-01T12:34:56.123456Z`` → ``20240501123456``."""
    digits = "".join(ch for ch in warc_date if ch.isdigit())
    return digits[:14].ljust(14, "0")


def format_line(url: str, warc_date: str, fields: dict) -> str:
    """One CDXJ line (with trailing newline). ``fields`` must contain ``url``."""
    body = json.dumps(fields, ensure_ascii=False, separators=(", ", ": "))
    return f"{surt(url)} {warc_date_to_timestamp(warc_date)} {body}\n"


def parse_line(line: str) -> CdxjEntry:
    urlkey, timestamp, body = line.rstrip("\n").split(" ", 2)
    return CdxjEntry(urlkey, timestamp, json.loads(body))


def read_cdxj(path: str | os.PathLike | IO[str]) -> Iterator[CdxjEntry]:
    """Iterate the entries of a CDXJ file (or open text stream), skipping blank lines."""
    if hasattr(path, "read"):
        for line in path:  # type: ignore[union-attr]
            if line.strip():
                yield parse_line(line)
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield parse_line(line)


def _key(line: str) -> bytes:
    return line.encode("utf-8")   # byte order, as LC_ALL=C sort and pywb's binary search


def sort_cdxj(src: str | os.PathLike, dst: str | os.PathLike | None = None) -> None:
    """Sort a CDXJ file by byte order the way ``LC_ALL=C sort`` does (in memory)."""
    with open(src, encoding="utf-8") as fh:
        lines = sorted((line for line in fh if line.strip()), key=_key)
    _write_atomic(os.fspath(dst or src), lines)


def _filename(line: str) -> str | None:
    try:
        return parse_line(line).fields.get("filename")
    except (ValueError, json.JSONDecodeError):
        return None


def merge_into(index: str | os.PathLike, lines: Iterable[str],
               keep_file: Callable[[str], bool] | None = None) -> None:
    """Add ``lines`` to the sorted CDXJ file ``index`` (created if missing), atomically.

    A streaming merge (the index is read once, never held); an index that is not sorted (written
    by an older version) is sorted in memory once. ``keep_file(name)`` False drops the lines of
    that WARC file (it no longer exists). Duplicate lines are written once.
    """
    index = os.fspath(index)
    new = sorted(lines, key=_key)

    def existing() -> Iterator[str]:
        if not os.path.exists(index):
            return
        with open(index, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line if line.endswith("\n") else line + "\n"

    def merged(old: Iterable[str]) -> Iterator[str]:
        last = None
        for line in heapq.merge(old, new, key=_key):
            if line == last:
                continue
            if keep_file is not None:
                name = _filename(line)
                if name is None or not keep_file(name):
                    continue
            last = line
            yield line

    if not _is_sorted(existing()):
        old: Iterable[str] = sorted(existing(), key=_key)
    else:
        old = existing()
    _write_atomic(index, merged(old))


def _is_sorted(lines: Iterable[str]) -> bool:
    prev = None
    for line in lines:
        key = _key(line)
        if prev is not None and key < prev:
            return False
        prev = key
    return True


def _write_atomic(path: str, lines: Iterable[str]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cdxj-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
