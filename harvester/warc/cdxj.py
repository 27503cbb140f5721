"""CDXJ index lines: ``urlkey timestamp {json}``, one per WARC record.

The line format follows pywb / OpenWayback CDXJ: a SURT url key, a 14-digit timestamp and a JSON
object.  The JSON keys we write:

    url        the record's WARC-Target-URI
    mime       response: the HTTP Content-Type without parameters; request: "-"
    status     response: the HTTP status code as a string ("200"); absent for requests
    method     request: the HTTP method ("GET")
    digest     WARC-Payload-Digest without its "sha1:" prefix (base32), as pywb writes it
    length     the record's length in the WARC file, compressed, in bytes (int)
    offset     where the record starts in the WARC file (int)
    filename   the WARC file's name (no directory)
    rectype    "response" | "request" | "revisit"
    record_id  WARC-Record-ID, so a citation can be checked against the record itself

The index is append-only and therefore not sorted; sort it (``sort_cdxj``, or
``LC_ALL=C sort``) before serving it with a binary-searching replayer such as pywb.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import IO, Iterable, Iterator
from urllib.parse import urlsplit

_WWW = re.compile(r"^www\d*\.")

__all__ = ["CdxjEntry", "surt", "format_line", "parse_line", "read_cdxj", "sort_cdxj"]


def surt(url: str) -> str:
    """A SURT url key close to pywb's default canonicalisation.

    Lower-cases the url, drops the scheme, ``www.`` prefixes, default ports, the fragment, and
    sorts query arguments: ``http://www.Example.gov.cn:8080/a/B?b=2&a=1`` →
    ``cn,gov,example:8080)/a/b?a=1&b=2``.  Not a full port of the ``surt`` package (which needs
    tldextract and a network fetch of the public-suffix list); good enough as a sort/lookup key.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").strip(".").lower()
    host = _WWW.sub("", host)
    if host.replace(".", "").isdigit():  # IPv4 literal: not reversed
        key = host
    else:
        key = ",".join(reversed(host.split("."))) if host else ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        key += f":{port}"
    path = parts.path or "/"
    key += ")" + path.lower()
    if parts.query:
        args = sorted(parts.query.lower().split("&"))
        key += "?" + "&".join(args)
    return key


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
        lines: Iterable[str] = path  # type: ignore[assignment]
        for line in lines:
            if line.strip():
                yield parse_line(line)
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield parse_line(line)


def sort_cdxj(src: str | os.PathLike, dst: str | os.PathLike | None = None) -> None:
    """Sort a CDXJ file by (urlkey, timestamp) the way ``LC_ALL=C sort`` does (in memory)."""
    with open(src, "rb") as fh:
        lines = [line for line in fh if line.strip()]
    lines.sort()
    tmp = f"{dst or src}.sorting"
    with open(tmp, "wb") as fh:
        fh.writelines(lines)
    os.replace(tmp, dst or src)
