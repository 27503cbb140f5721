"""Building WARC records (no files here): warcinfo, request/response pairs, revisits, metadata.

warcio keeps record building (``recordbuilder``) apart from writing (``warcwriter``); so do we.
``harvester.warc.writer`` decides where the bytes land (rotation, ``.open`` files, the index);
this module decides what goes into a record. Every record but warcinfo carries the
``WARC-Warcinfo-ID`` of the file it is written to.

HTTP header names and values are kept byte for byte: they are handed to warcio as latin-1 text
and serialised back as latin-1 (warcio itself would percent-encode non-ASCII bytes, which loses
the original bytes of e.g. a GBK ``Content-Disposition`` file name).
"""
from __future__ import annotations

import base64
import hashlib
import http
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping, Sequence

from warcio.recordbuilder import RecordBuilder as WarcioRecordBuilder
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date

__all__ = [
    "WARC_VERSION", "RequestData", "ResponseData", "RecordBuilder", "reason_phrase", "payload_digest",
    "warc_fields", "parse_warc_fields", "now_iso", "new_record_id",
    "REVISIT_IDENTICAL_PAYLOAD", "REVISIT_SERVER_NOT_MODIFIED",
]

WARC_VERSION = "WARC/1.1"
# WARC/1.1 revisit profiles (section 6.7)
REVISIT_IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
REVISIT_SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"

HeaderList = Sequence[tuple[bytes | str, bytes | str]]


def payload_digest(body: bytes) -> str:
    """``WARC-Payload-Digest`` of a payload the way warcio computes it (``sha1:`` + base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def reason_phrase(status: int) -> str:
    """The standard reason phrase for a status code ("" for unknown codes)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def now_iso() -> str:
    return datetime_to_iso_date(datetime.now(timezone.utc).replace(tzinfo=None), use_micros=True)


def new_record_id() -> str:
    return StatusAndHeadersParser.make_warc_id()


def _text(value: bytes | str) -> str:
    # latin-1 maps every byte to one code point, so bytes survive the round trip unchanged
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def warc_fields(fields: Iterable[tuple[str, object]]) -> bytes:
    """An ``application/warc-fields`` block: ``name: value`` lines (UTF-8, CRLF); None values left out."""
    return "".join(f"{name}: {_one_line(value)}\r\n" for name, value in fields
                   if value is not None and str(value) != "").encode("utf-8")


def parse_warc_fields(block: bytes) -> list[tuple[str, str]]:
    """The (name, value) lines of an ``application/warc-fields`` block, in order."""
    out = []
    for line in block.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            out.append((name.strip(), value.strip()))
    return out


def _capture_headers(rec_type: str, record_id: str, url: str, warc_date: str, warcinfo_id: str,
                     ip_address: str | None, request_id: str) -> list[tuple[str, str]]:
    """The WARC headers a response or revisit record starts with."""
    pairs = [("WARC-Type", rec_type), ("WARC-Record-ID", record_id), ("WARC-Date", warc_date),
             ("WARC-Target-URI", url), ("WARC-Warcinfo-ID", warcinfo_id)]
    if ip_address:
        pairs.append(("WARC-IP-Address", str(ip_address)))
    pairs.append(("WARC-Concurrent-To", request_id))
    return pairs


class _RawHeaders(StatusAndHeaders):
    """StatusAndHeaders whose header block is serialised as latin-1 (i.e. the original bytes)."""

    def to_ascii_bytes(self, filter_func=None):  # noqa: D401 - warcio's name
        return self.to_str(filter_func).encode("latin-1") + b"\r\n"


@dataclass(slots=True)
class RequestData:
    """An HTTP request as it went on the wire.

    ``target`` is the request-target (``/path?x=1``, or an absolute URL for a proxy request);
    ``headers`` are (name, value) pairs in order, repeated names repeated.
    """

    method: str
    target: str
    headers: HeaderList = ()
    body: bytes = b""
    protocol: str = "HTTP/1.1"

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.target} {self.protocol}"

    def http_headers(self) -> StatusAndHeaders:
        return _RawHeaders(self.request_line, [(_text(n), _text(v)) for n, v in self.headers],
                           protocol="", is_http_request=True)


@dataclass(slots=True)
class ResponseData:
    """An HTTP response: body is the payload as received (still content-encoded, de-chunked)."""

    status: int
    headers: HeaderList = ()
    body: bytes = b""
    reason: str | None = None  # None: the standard phrase for ``status``
    protocol: str = "HTTP/1.1"

    @property
    def status_line(self) -> str:
        reason = reason_phrase(self.status) if self.reason is None else self.reason
        return f"{self.status} {reason}".rstrip()

    @property
    def mime(self) -> str:
        for name, value in self.headers:
            if _text(name).lower() == "content-type":
                return _text(value).split(";", 1)[0].strip().lower() or "-"
        return "-"

    def http_headers(self) -> StatusAndHeaders:
        return _RawHeaders(self.status_line, [(_text(n), _text(v)) for n, v in self.headers],
                           protocol=self.protocol)


class RecordBuilder:
    """warcio records for our captures; ``warcinfo_id`` is the id of the file's warcinfo record."""

    def __init__(self, warc_version: str = WARC_VERSION) -> None:
        self.warc_version = warc_version
        self._builder = WarcioRecordBuilder(warc_version=warc_version)

    def _warc_headers(self, pairs: list[tuple[str, str]]) -> StatusAndHeaders:
        return StatusAndHeaders("", pairs, protocol=self.warc_version)

    def warcinfo(self, filename: str, info: Mapping[str, object]):
        """The ``warcinfo`` record opening a file (``info``: warc-fields, None values left out)."""
        return self._builder.create_warcinfo_record(
            filename, {k: _one_line(v) for k, v in info.items() if v not in (None, "")})

    def exchange(self, url: str, request: RequestData, response: ResponseData, *, warcinfo_id: str,
                 warc_date: str, ip_address: str | None = None, truncated: str | None = None,
                 extra_response_headers: Mapping[str, str] | None = None):
        """(response record, request record), linked both ways with ``WARC-Concurrent-To``."""
        resp_id, req_id = new_record_id(), new_record_id()
        resp_warc = _capture_headers("response", resp_id, url, warc_date, warcinfo_id, ip_address, req_id)
        if truncated:
            resp_warc.append(("WARC-Truncated", truncated))
        resp_warc.extend((extra_response_headers or {}).items())
        resp = self._builder.create_warc_record(
            url, "response", payload=io.BytesIO(response.body), length=len(response.body),
            http_headers=response.http_headers(), warc_headers=self._warc_headers(resp_warc))
        return resp, self.request(url, request, concurrent_to=resp_id, warcinfo_id=warcinfo_id,
                                  warc_date=warc_date, record_id=req_id)

    def request(self, url: str, request: RequestData, *, concurrent_to: str, warcinfo_id: str, warc_date: str,
                record_id: str | None = None):
        req_warc = [("WARC-Type", "request"), ("WARC-Record-ID", record_id or new_record_id()),
                    ("WARC-Date", warc_date), ("WARC-Target-URI", url), ("WARC-Warcinfo-ID", warcinfo_id),
                    ("WARC-Concurrent-To", concurrent_to)]
        return self._builder.create_warc_record(
            url, "request", payload=io.BytesIO(request.body), length=len(request.body),
            http_headers=request.http_headers(), warc_headers=self._warc_headers(req_warc))

    def revisit(self, url: str, request: RequestData, response: ResponseData, *, profile: str,
                refers_to_uri: str, refers_to_date: str, warcinfo_id: str, warc_date: str,
                refers_to: str | None = None, digest: str | None = None, ip_address: str | None = None,
                extra_warc_headers: Mapping[str, str] | None = None):
        """(revisit record, request record): HTTP headers only, no payload."""
        if profile == REVISIT_IDENTICAL_PAYLOAD and not digest:
            raise ValueError("an identical-payload-digest revisit needs the payload digest")
        rev_id, req_id = new_record_id(), new_record_id()
        rev_warc = [("WARC-Type", "revisit"), ("WARC-Record-ID", rev_id), ("WARC-Date", warc_date),
                    ("WARC-Target-URI", url), ("WARC-Warcinfo-ID", warcinfo_id)]
        if ip_address:
            rev_warc.append(("WARC-IP-Address", str(ip_address)))
        rev_warc.append(("WARC-Concurrent-To", req_id))
        rev_warc.extend((extra_warc_headers or {}).items())
        if refers_to:
            rev_warc.append(("WARC-Refers-To", refers_to))
        rev_warc += [("WARC-Profile", profile), ("WARC-Refers-To-Target-URI", refers_to_uri),
                     ("WARC-Refers-To-Date", refers_to_date)]
        if digest:
            rev_warc.append(("WARC-Payload-Digest", digest))
        rev = self._builder.create_warc_record(
            url, "revisit", payload=io.BytesIO(b""), length=0, http_headers=response.http_headers(),
            warc_headers=self._warc_headers(rev_warc))
        return rev, self.request(url, request, concurrent_to=rev_id, warcinfo_id=warcinfo_id,
                                 warc_date=warc_date, record_id=req_id)

    def metadata(self, url: str, fields: Iterable[tuple[str, object]], *, warcinfo_id: str, warc_date: str,
                 concurrent_to: str | None = None, refers_to: str | None = None):
        """A ``metadata`` record (``application/warc-fields``) about the capture ``concurrent_to``."""
        return self.headerless(url, "metadata", warc_fields(fields), "application/warc-fields",
                               warcinfo_id=warcinfo_id, warc_date=warc_date,
                               links=[("WARC-Concurrent-To", concurrent_to), ("WARC-Refers-To", refers_to)])

    def headerless(self, url: str, record_type: str, body: bytes, content_type: str, *, warcinfo_id: str,
                   warc_date: str, links: Iterable[tuple[str, str | None]] = ()):
        """A record without HTTP headers (``metadata``, ``resource``, ``conversion``); ``links``: WARC
        headers naming other records (``WARC-Refers-To``…), left out when None."""
        pairs = [("WARC-Type", record_type), ("WARC-Record-ID", new_record_id()), ("WARC-Date", warc_date),
                 ("WARC-Target-URI", url), ("WARC-Warcinfo-ID", warcinfo_id)]
        pairs += [(name, value) for name, value in links if value]
        return self._builder.create_warc_record(
            url, record_type, payload=io.BytesIO(body), length=len(body), warc_content_type=content_type,
            warc_headers=self._warc_headers(pairs))
