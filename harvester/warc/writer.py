"""Writing WARC/1.1 files: request/response pairs, per-record gzip, rotation, CDXJ lines.

Everything record-shaped is done by warcio (``WARCWriter.create_warc_record`` computes the
lengths and the block/payload digests); this module only decides *what* goes into a record and
*where* the bytes land:

* every file starts with a ``warcinfo`` record;
* an exchange is written as a ``response`` record followed by its ``request`` record, linked both
  ways with ``WARC-Concurrent-To`` and sharing ``WARC-Target-URI`` and ``WARC-Date``;
* the pair is first serialised into a temporary buffer and then appended to the file in one go;
  if anything fails the file is truncated back to where it was, so a file never holds half a pair;
* a file is written as ``NAME.warc.gz.open`` and renamed to ``NAME.warc.gz`` when it is complete
  (rotation or ``close()``); names are ``{prefix}-{UTC timestamp}-{serial:05d}-{host}.warc.gz``;
* a new file is started when the next pair would push the current one past ``max_size``
  (a single pair larger than ``max_size`` still gets written, alone in its file);
* each write appends two CDXJ lines (see ``harvester.warc.cdxj``) and returns a ``WarcPointer``
  to the response record.

HTTP header names and values are kept byte for byte: they are handed to warcio as latin-1 text
and serialised back as latin-1 (warcio itself would percent-encode non-ASCII bytes, which loses
the original bytes of e.g. a GBK ``Content-Disposition`` file name).
"""

from __future__ import annotations

import http
import io
import logging
import os
import re
import socket
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Sequence

import warcio
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from harvester.warc import cdxj

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "RequestData",
    "ResponseData",
    "WarcPointer",
    "WarcWriter",
    "reason_phrase",
    "payload_digest",
    "REVISIT_IDENTICAL_PAYLOAD",
    "REVISIT_SERVER_NOT_MODIFIED",
]

# WARC/1.1 revisit profiles (section 6.7)
REVISIT_IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
REVISIT_SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


def payload_digest(body: bytes) -> str:
    """``WARC-Payload-Digest`` of a payload the way warcio computes it (``sha1:`` + base32)."""
    import base64
    import hashlib

    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")

DEFAULT_MAX_SIZE = 1_000_000_000  # bytes; Heritrix / warcprox rotate near 1 GB
WARC_VERSION = "WARC/1.1"
OPEN_SUFFIX = ".open"
_SPOOL_MAX = 16 * 1024 * 1024  # pairs larger than this are buffered on disk, not in memory

HeaderList = Sequence[tuple[bytes | str, bytes | str]]


def reason_phrase(status: int) -> str:
    """The standard reason phrase for a status code ("" for unknown codes)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _text(value: bytes | str) -> str:
    # latin-1 maps every byte to one code point, so bytes survive the round trip unchanged
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


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


@dataclass(frozen=True, slots=True)
class WarcPointer:
    """Where a response record was stored: enough to cite it and to read it back."""

    warc_file: str  # file name (final name, no directory, no ".open")
    offset: int  # byte offset of the record in the file
    length: int  # length of the (gzipped) record in the file
    record_id: str  # WARC-Record-ID of the response record
    warc_date: str  # WARC-Date, ISO 8601 UTC with microseconds
    request_record_id: str = ""
    payload_digest: str = ""  # WARC-Payload-Digest of the record ("" when unknown)


def _now_iso() -> str:
    return datetime_to_iso_date(datetime.now(timezone.utc).replace(tzinfo=None), use_micros=True)


def _mime(headers: HeaderList) -> str:
    for name, value in headers:
        if _text(name).lower() == "content-type":
            return _text(value).split(";", 1)[0].strip().lower() or "-"
    return "-"


@dataclass
class _OpenFile:
    name: str  # final name
    path: str  # path of the ".open" file
    fh: io.FileIO
    size: int = 0
    pairs: int = 0


class WarcWriter:
    """Append request/response pairs to rotating ``.warc.gz`` files in ``directory``.

    >>> with WarcWriter("out/warc", prefix="nianbao", cdxj_path="out/warc/index.cdxj") as w:
    ...     ptr = w.write_exchange("http://example.gov.cn/a?x=1",
    ...                            RequestData("GET", "/a?x=1", [("Host", "example.gov.cn")]),
    ...                            ResponseData(200, [("Content-Type", "text/html")], b"<p>hi"),
    ...                            ip_address="127.0.0.1")

    Not thread-safe (Scrapy is single-threaded).  Files are opened lazily: a writer that never
    writes leaves no file behind.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        prefix: str = "harvester",
        max_size: int = DEFAULT_MAX_SIZE,
        cdxj_path: str | os.PathLike | None = None,
        hostname: str | None = None,
        software: str | None = None,
        operator: str | None = None,
        description: str | None = None,
        warcinfo_extra: Mapping[str, str] | None = None,
    ) -> None:
        if max_size <= 0:
            raise ValueError(f"max_size must be positive, got {max_size!r}")
        if not prefix or re.search(r"[\s/\\]", prefix):
            raise ValueError(f"bad WARC file prefix {prefix!r}")
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.prefix = prefix
        self.max_size = int(max_size)
        self.hostname = hostname or socket.gethostname()
        self._host_token = re.sub(r"[^A-Za-z0-9._-]", "_", self.hostname) or "localhost"
        from harvester import __version__

        self.software = software or (
            f"gov-nianbao-harvester/{__version__} (warcio/{_warcio_version()})"
        )
        self.operator = operator
        self.description = description
        self.warcinfo_extra = dict(warcinfo_extra or {})
        self.cdxj_path = os.fspath(cdxj_path) if cdxj_path else None
        self._cdxj = None
        if self.cdxj_path:
            parent = os.path.dirname(self.cdxj_path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            self._cdxj = open(self.cdxj_path, "a", encoding="utf-8")
        self._serial = 0
        self._current: _OpenFile | None = None
        self.finished_files: list[str] = []  # paths of completed (renamed) files
        self.records_written = 0
        self.bytes_written = 0
        self._closed = False

    # -- public API -----------------------------------------------------------------------------

    def write_exchange(
        self,
        url: str,
        request: RequestData,
        response: ResponseData,
        *,
        ip_address: str | None = None,
        warc_date: str | None = None,
        truncated: str | None = None,
        extra_response_headers: Mapping[str, str] | None = None,
    ) -> WarcPointer:
        """Write a response record and its request record; return a pointer to the response.

        ``truncated`` becomes ``WARC-Truncated`` on the response ("length", "time",
        "disconnect", "unspecified").  Either both records are appended or nothing is.
        """
        if self._closed:
            raise ValueError("write to a closed WarcWriter")
        warc_date = warc_date or _now_iso()
        resp_id = StatusAndHeadersParser.make_warc_id()
        req_id = StatusAndHeadersParser.make_warc_id()

        resp_warc = [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", resp_id),
            ("WARC-Date", warc_date),
            ("WARC-Target-URI", url),
        ]
        if ip_address:
            resp_warc.append(("WARC-IP-Address", str(ip_address)))
        resp_warc.append(("WARC-Concurrent-To", req_id))
        if truncated:
            resp_warc.append(("WARC-Truncated", truncated))
        for name, value in (extra_response_headers or {}).items():
            resp_warc.append((name, value))
        req_warc = [
            ("WARC-Type", "request"),
            ("WARC-Record-ID", req_id),
            ("WARC-Date", warc_date),
            ("WARC-Target-URI", url),
            ("WARC-Concurrent-To", resp_id),
        ]

        resp_http = _RawHeaders(
            response.status_line,
            [(_text(n), _text(v)) for n, v in response.headers],
            protocol=response.protocol,
        )
        req_http = _RawHeaders(
            request.request_line,
            [(_text(n), _text(v)) for n, v in request.headers],
            protocol="",
            is_http_request=True,
        )

        buf = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX)
        try:
            writer = WARCWriter(buf, gzip=True, warc_version=WARC_VERSION)
            resp_rec = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(response.body),
                length=len(response.body),
                http_headers=resp_http,
                warc_headers=StatusAndHeaders("", resp_warc, protocol=WARC_VERSION),
            )
            req_rec = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(request.body),
                length=len(request.body),
                http_headers=req_http,
                warc_headers=StatusAndHeaders("", req_warc, protocol=WARC_VERSION),
            )
            current, base, resp_len, pair_len = self._commit_pair(writer, buf, resp_rec, req_rec)
        finally:
            buf.close()
        pointer = WarcPointer(
            warc_file=current.name,
            offset=base,
            length=resp_len,
            record_id=resp_id,
            warc_date=warc_date,
            request_record_id=req_id,
            payload_digest=resp_rec.rec_headers.get_header("WARC-Payload-Digest") or "",
        )
        if self._cdxj is not None:
            resp_digest = resp_rec.rec_headers.get_header("WARC-Payload-Digest") or ""
            req_digest = req_rec.rec_headers.get_header("WARC-Payload-Digest") or ""
            lines = cdxj.format_line(
                url,
                warc_date,
                {
                    "url": url,
                    "mime": _mime(response.headers),
                    "status": str(response.status),
                    "digest": resp_digest.split(":", 1)[-1],
                    "length": resp_len,
                    "offset": base,
                    "filename": current.name,
                    "rectype": "response",
                    "record_id": resp_id,
                },
            ) + cdxj.format_line(
                url,
                warc_date,
                {
                    "url": url,
                    "mime": "-",
                    "method": request.method,
                    "digest": req_digest.split(":", 1)[-1],
                    "length": pair_len - resp_len,
                    "offset": base + resp_len,
                    "filename": current.name,
                    "rectype": "request",
                    "record_id": req_id,
                },
            )
            self._cdxj.write(lines)
            self._cdxj.flush()
        return pointer

    def _commit_pair(self, writer: WARCWriter, buf, first, request_record):
        """Serialise a record and its request record into `buf`, then append both to the current
        file in one piece: (file, offset of the pair, length of the first record, pair length)."""
        writer.write_record(first)
        first_len = buf.tell()
        writer.write_record(request_record)
        pair_len = buf.tell()
        current, base = self._commit(buf, pair_len, 2)
        return current, base, first_len, pair_len

    def _commit(self, buf, length: int, records: int) -> tuple[_OpenFile, int]:
        """Append the serialised records in `buf` to the current file in one piece: (file, offset)."""
        current = self._file_for(length)
        base = current.size
        self._append(current, buf)
        current.pairs += 1
        self.records_written += records
        self.bytes_written += length
        return current, base

    def write_revisit(
        self,
        url: str,
        request: RequestData,
        response: ResponseData,
        *,
        profile: str,
        refers_to_uri: str,
        refers_to_date: str,
        refers_to: str | None = None,
        digest: str | None = None,
        ip_address: str | None = None,
        warc_date: str | None = None,
        extra_warc_headers: dict[str, str] | None = None,
    ) -> WarcPointer:
        """Write a ``revisit`` record (HTTP headers only, no payload) and its request record.

        ``profile`` is ``REVISIT_SERVER_NOT_MODIFIED`` (a 304 to a conditional request) or
        ``REVISIT_IDENTICAL_PAYLOAD`` (a 200 whose payload digest equals the earlier capture's);
        ``refers_to_uri`` / ``refers_to_date`` / ``refers_to`` name the earlier response record,
        ``digest`` its payload digest (required for identical-payload-digest). Built with warcio's
        ``create_revisit_record`` (profile replaced for server-not-modified).
        """
        if self._closed:
            raise ValueError("write to a closed WarcWriter")
        if profile == REVISIT_IDENTICAL_PAYLOAD and not digest:
            raise ValueError("an identical-payload-digest revisit needs the payload digest")
        warc_date = warc_date or _now_iso()
        rev_id = StatusAndHeadersParser.make_warc_id()
        req_id = StatusAndHeadersParser.make_warc_id()
        rev_warc = {"WARC-Record-ID": rev_id, "WARC-Date": warc_date}
        if ip_address:
            rev_warc["WARC-IP-Address"] = str(ip_address)
        rev_warc["WARC-Concurrent-To"] = req_id
        rev_warc.update(extra_warc_headers or {})
        if refers_to:
            rev_warc["WARC-Refers-To"] = refers_to
        req_warc = [
            ("WARC-Type", "request"),
            ("WARC-Record-ID", req_id),
            ("WARC-Date", warc_date),
            ("WARC-Target-URI", url),
            ("WARC-Concurrent-To", rev_id),
        ]
        resp_http = _RawHeaders(
            response.status_line,
            [(_text(n), _text(v)) for n, v in response.headers],
            protocol=response.protocol,
        )
        req_http = _RawHeaders(
            request.request_line,
            [(_text(n), _text(v)) for n, v in request.headers],
            protocol="",
            is_http_request=True,
        )
        buf = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX)
        try:
            writer = WARCWriter(buf, gzip=True, warc_version=WARC_VERSION)
            if digest:
                rev_rec = writer.create_revisit_record(
                    url, digest, refers_to_uri, refers_to_date,
                    http_headers=resp_http, warc_headers_dict=rev_warc,
                )
            else:  # server-not-modified without a known digest: warcio insists on one
                rev_rec = writer.create_warc_record(
                    url, "revisit", http_headers=resp_http, warc_headers_dict=rev_warc
                )
                rev_rec.rec_headers.add_header("WARC-Profile", profile)
                rev_rec.rec_headers.add_header("WARC-Refers-To-Target-URI", refers_to_uri)
                rev_rec.rec_headers.add_header("WARC-Refers-To-Date", refers_to_date)
            rev_rec.rec_headers.replace_header("WARC-Profile", profile)
            req_rec = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(request.body),
                length=len(request.body),
                http_headers=req_http,
                warc_headers=StatusAndHeaders("", req_warc, protocol=WARC_VERSION),
            )
            current, base, rev_len, pair_len = self._commit_pair(writer, buf, rev_rec, req_rec)
        finally:
            buf.close()
        pointer = WarcPointer(
            warc_file=current.name,
            offset=base,
            length=rev_len,
            record_id=rev_id,
            warc_date=warc_date,
            request_record_id=req_id,
            payload_digest=digest or "",
        )
        if self._cdxj is not None:
            req_digest = req_rec.rec_headers.get_header("WARC-Payload-Digest") or ""
            self._cdxj.write(cdxj.format_line(
                url, warc_date,
                {"url": url, "mime": "warc/revisit", "status": str(response.status),
                 "digest": (digest or "-").split(":", 1)[-1], "length": rev_len, "offset": base,
                 "filename": current.name, "rectype": "revisit", "record_id": rev_id},
            ) + cdxj.format_line(
                url, warc_date,
                {"url": url, "mime": "-", "method": request.method,
                 "digest": req_digest.split(":", 1)[-1], "length": pair_len - rev_len,
                 "offset": base + rev_len, "filename": current.name, "rectype": "request",
                 "record_id": req_id},
            ))
            self._cdxj.flush()
        return pointer

    def write_resource(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        record_type: str = "resource",
        refers_to: str | None = None,
        refers_to_uri: str | None = None,
        warc_date: str | None = None,
    ) -> WarcPointer:
        """Write one record without HTTP headers (``resource``, ``conversion`` or ``metadata``):
        e.g. a browser's rendered DOM as a ``conversion`` of the response record ``refers_to``.
        Whole or not at all, like a pair; one CDXJ line."""
        if self._closed:
            raise ValueError("write to a closed WarcWriter")
        if record_type not in ("resource", "conversion", "metadata"):
            raise ValueError(f"not a headerless record type: {record_type!r}")
        warc_date = warc_date or _now_iso()
        rec_id = StatusAndHeadersParser.make_warc_id()
        headers = [("WARC-Type", record_type), ("WARC-Record-ID", rec_id), ("WARC-Date", warc_date),
                   ("WARC-Target-URI", url)]
        if refers_to:
            headers.append(("WARC-Refers-To", refers_to))
        if refers_to_uri:
            headers.append(("WARC-Refers-To-Target-URI", refers_to_uri))
        buf = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX)
        try:
            writer = WARCWriter(buf, gzip=True, warc_version=WARC_VERSION)
            rec = writer.create_warc_record(
                url, record_type, payload=io.BytesIO(body), length=len(body),
                warc_content_type=content_type,
                warc_headers=StatusAndHeaders("", headers, protocol=WARC_VERSION),
            )
            writer.write_record(rec)
            rec_len = buf.tell()
            current, base = self._commit(buf, rec_len, 1)
        finally:
            buf.close()
        digest = rec.rec_headers.get_header("WARC-Payload-Digest") or rec.rec_headers.get_header(
            "WARC-Block-Digest") or ""
        if self._cdxj is not None:
            self._cdxj.write(cdxj.format_line(url, warc_date, {
                "url": url, "mime": content_type.split(";", 1)[0].strip().lower() or "-",
                "digest": digest.split(":", 1)[-1], "length": rec_len, "offset": base,
                "filename": current.name, "rectype": record_type, "record_id": rec_id}))
            self._cdxj.flush()
        return WarcPointer(warc_file=current.name, offset=base, length=rec_len, record_id=rec_id,
                           warc_date=warc_date, payload_digest=digest)

    @property
    def current_path(self) -> str | None:
        """Path of the ``.open`` file being written, if any."""
        return self._current.path if self._current else None

    def rotate(self) -> None:
        """Finish the current file (rename it); the next write starts a new one."""
        if self._current is not None:
            cur, self._current = self._current, None
            cur.fh.close()
            final = os.path.join(self.directory, cur.name)
            os.replace(cur.path, final)
            self.finished_files.append(final)

    def close(self) -> None:
        """Finish the current file and the CDXJ index.  Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.rotate()
        finally:
            if self._cdxj is not None:
                self._cdxj.close()
                self._cdxj = None

    def __enter__(self) -> "WarcWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _file_for(self, pair_len: int) -> _OpenFile:
        cur = self._current
        if cur is not None and cur.pairs and cur.size + pair_len > self.max_size:
            self.rotate()
            cur = None
        if cur is None:
            cur = self._current = self._open_new()
        return cur

    def _next_name(self) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")[:17]
        name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self._host_token}.warc.gz"
        self._serial += 1
        return name

    def _open_new(self) -> _OpenFile:
        while True:
            name = self._next_name()
            final = os.path.join(self.directory, name)
            path = final + OPEN_SUFFIX
            if os.path.exists(final):
                continue
            try:
                fh = open(path, "xb", buffering=0)
            except FileExistsError:
                continue
            break
        opened = _OpenFile(name=name, path=path, fh=fh)
        try:
            info = {
                "software": self.software,
                "hostname": self.hostname,
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                "warc-format/warc-1.1/",
                "isPartOf": self.prefix,
                "operator": self.operator,
                "description": self.description,
            }
            info.update(self.warcinfo_extra)
            buf = io.BytesIO()
            writer = WARCWriter(buf, gzip=True, warc_version=WARC_VERSION)
            writer.write_record(writer.create_warcinfo_record(name, info))
            buf.seek(0)
            self._append(opened, buf)
            self.records_written += 1
            self.bytes_written += opened.size
        except BaseException:
            fh.close()
            os.unlink(path)
            raise
        return opened

    def _append(self, target: _OpenFile, buf) -> None:
        """Append all of ``buf`` to ``target``; on failure cut the file back to its old size.

        If even the cut fails, the file is abandoned (left as ``.open``, never renamed, so it is
        visibly incomplete) and the next write starts a new file.
        """
        buf.seek(0)
        base = target.size
        written = 0
        try:
            while True:
                chunk = buf.read(1024 * 1024)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    n = target.fh.write(view)
                    if not n:
                        raise OSError("short write")
                    written += n
                    view = view[n:]
        except BaseException:
            try:
                target.fh.truncate(base)
                target.fh.seek(base)
            except Exception:
                logger.error("WARC: could not cut %s back after a failed write; abandoning it",
                             target.path)
                target.fh.close()
                if self._current is target:
                    self._current = None
            raise
        target.size = base + written


def _warcio_version() -> str:
    try:
        from importlib.metadata import version

        return version("warcio")
    except Exception:  # pragma: no cover
        return getattr(warcio, "__version__", "?")

