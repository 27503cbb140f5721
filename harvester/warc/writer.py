"""Writing WARC/1.1 files: where the bytes land (records themselves: ``harvester.warc.records``).

* every file starts with a ``warcinfo`` record (``warcinfo`` fields given to the writer, plus
  software, hostname, format); every other record carries its ``WARC-Warcinfo-ID``;
* an exchange is a ``response`` (or ``revisit``) record followed by its ``request`` record; the
  pair is serialised into a buffer and appended in one go; if anything fails the file is cut back
  to where it was, so a file never holds half a pair; ``metadata`` records are appended alone;
* a file is written as ``NAME.warc.gz.open`` (held with an exclusive ``flock`` while written) and
  renamed to ``NAME.warc.gz`` when complete (rotation or ``close()``); names are
  ``{prefix}-{UTC timestamp}-{serial:05d}-{host}.warc.gz``;
* a new file is started when the next pair would push the current one past ``max_size``
  (a single pair larger than ``max_size`` still gets written, alone in its file);
* the CDXJ index (``harvester.warc.cdxj``) gets one line per capture (response, revisit) of a file
  when the file is finished: merged in sorted order and replaced atomically, so the index is
  always sorted and never names a file that does not exist;
* ``recover()`` (called when a crawl starts) finishes the ``.open`` files a killed crawl left:
  each is cut after its last whole record, renamed, and indexed.
"""
from __future__ import annotations

import fcntl
import io
import logging
import os
import re
import socket
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

from warcio.warcwriter import WARCWriter

from harvester.warc import cdxj
from harvester.warc.pointer import WarcPointer
from harvester.warc.records import (  # re-exported: the writer's public vocabulary
    REVISIT_IDENTICAL_PAYLOAD,
    REVISIT_SERVER_NOT_MODIFIED,
    WARC_VERSION,
    RecordBuilder,
    RequestData,
    ResponseData,
    now_iso,
    payload_digest,
    reason_phrase,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_SIZE", "RequestData", "ResponseData", "WarcPointer", "WarcWriter", "reason_phrase",
    "payload_digest", "software_versions", "REVISIT_IDENTICAL_PAYLOAD", "REVISIT_SERVER_NOT_MODIFIED",
]

DEFAULT_MAX_SIZE = 1_000_000_000  # bytes; Heritrix / warcprox rotate near 1 GB
OPEN_SUFFIX = ".open"
_SPOOL_MAX = 16 * 1024 * 1024  # pairs larger than this are buffered on disk, not in memory


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # pragma: no cover - not installed
        return "?"


def software_versions() -> str:
    """``gov-nianbao-harvester/0.1.0 (scrapy/2.19.0; warcio/1.8.1; python/3.11.7)``."""
    import platform

    from harvester import __version__

    return (f"gov-nianbao-harvester/{__version__} (scrapy/{_version('scrapy')}; warcio/{_version('warcio')};"
            f" python/{platform.python_version()})")


def _record_id(record) -> str:
    return record.rec_headers.get_header("WARC-Record-ID")


@dataclass
class _OpenFile:
    name: str  # final name
    path: str  # path of the ".open" file
    fh: io.FileIO
    warcinfo_id: str = ""
    size: int = 0
    pairs: int = 0
    cdxj_lines: list[str] = field(default_factory=list)


class WarcWriter:
    """Append records to rotating ``.warc.gz`` files in ``directory``.

    >>> with WarcWriter("out/warc", prefix="nianbao", cdxj_path="out/index.cdxj") as w:
    ...     ptr = w.write_exchange("http://example.gov.cn/a?x=1",
    ...                            RequestData("GET", "/a?x=1", [("Host", "example.gov.cn")]),
    ...                            ResponseData(200, [("Content-Type", "text/html")], b"<p>hi"),
    ...                            ip_address="127.0.0.1")

    Not thread-safe (Scrapy is single-threaded). Files are opened lazily: a writer that never
    writes leaves no file behind. ``warcinfo`` adds fields to every file's warcinfo record.
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
        warcinfo: Mapping[str, object] | None = None,
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
        self.software = software or software_versions()
        self.operator = operator
        self.description = description
        self.warcinfo = dict(warcinfo or {})
        self.cdxj_path = os.fspath(cdxj_path) if cdxj_path else None
        if self.cdxj_path and os.path.dirname(self.cdxj_path):
            os.makedirs(os.path.dirname(self.cdxj_path), exist_ok=True)
        self.builder = RecordBuilder(WARC_VERSION)
        self._serial = 0
        self._current: _OpenFile | None = None
        self.finished_files: list[str] = []  # paths of completed (renamed) files
        self.recovered: list[str] = []  # ".open" files finished by recover()
        self.records_written = 0
        self.bytes_written = 0
        self._closed = False

    # -- public API -----------------------------------------------------------------------------

    def write_exchange(self, url: str, request: RequestData, response: ResponseData, *,
                       ip_address: str | None = None, warc_date: str | None = None,
                       truncated: str | None = None,
                       extra_response_headers: Mapping[str, str] | None = None) -> WarcPointer:
        """Write a response record and its request record; return a pointer to the response.

        ``truncated`` becomes ``WARC-Truncated`` on the response ("length", "time",
        "disconnect", "unspecified"). Either both records are appended or nothing is.
        """
        warc_date = warc_date or now_iso()

        def build(warcinfo_id: str):
            return self.builder.exchange(url, request, response, warcinfo_id=warcinfo_id, warc_date=warc_date,
                                         ip_address=ip_address, truncated=truncated,
                                         extra_response_headers=extra_response_headers)

        return self._write_pair(url, warc_date, build, response, rectype="response",
                                mime=response.mime, truncated=truncated)

    def write_revisit(self, url: str, request: RequestData, response: ResponseData, *, profile: str,
                      refers_to_uri: str, refers_to_date: str, refers_to: str | None = None,
                      digest: str | None = None, ip_address: str | None = None, warc_date: str | None = None,
                      extra_warc_headers: Mapping[str, str] | None = None) -> WarcPointer:
        """Write a ``revisit`` record (HTTP headers only, no payload) and its request record.

        ``profile`` is ``REVISIT_SERVER_NOT_MODIFIED`` (a 304 to a conditional request) or
        ``REVISIT_IDENTICAL_PAYLOAD`` (a 200 whose payload digest equals the earlier capture's);
        ``refers_to_uri`` / ``refers_to_date`` / ``refers_to`` name the earlier response record,
        ``digest`` its payload digest (required for identical-payload-digest).
        """
        if profile == REVISIT_IDENTICAL_PAYLOAD and not digest:
            raise ValueError("an identical-payload-digest revisit needs the payload digest")
        warc_date = warc_date or now_iso()

        def build(warcinfo_id: str):
            return self.builder.revisit(url, request, response, profile=profile, refers_to_uri=refers_to_uri,
                                        refers_to_date=refers_to_date, refers_to=refers_to, digest=digest,
                                        ip_address=ip_address, warcinfo_id=warcinfo_id, warc_date=warc_date,
                                        extra_warc_headers=extra_warc_headers)

        return self._write_pair(url, warc_date, build, response, rectype="revisit", mime="warc/revisit",
                                digest=digest)

    def write_metadata(self, url: str, fields, *, concurrent_to: str | None = None,
                       refers_to: str | None = None, warc_date: str | None = None) -> WarcPointer:
        """Append a ``metadata`` record (``application/warc-fields``) describing a capture."""
        warc_date = warc_date or now_iso()
        fields = list(fields)

        def build(warcinfo_id: str):
            return (self.builder.metadata(url, fields, warcinfo_id=warcinfo_id, warc_date=warc_date,
                                          concurrent_to=concurrent_to, refers_to=refers_to),)

        current, base, lengths, records = self._commit(build)
        return WarcPointer(current.name, base, lengths[0], _record_id(records[0]), warc_date)

    def write_resource(self, url: str, body: bytes, content_type: str, *, record_type: str = "resource",
                       refers_to: str | None = None, refers_to_uri: str | None = None,
                       warc_date: str | None = None) -> WarcPointer:
        """Write one record without HTTP headers (``resource`` or ``conversion``): e.g. a browser's
        rendered DOM as a ``conversion`` of the response record ``refers_to``. Whole or not at all;
        a ``resource`` is indexed (it replays), a ``conversion`` is not (``urn:dom:`` is no URL)."""
        if record_type not in ("resource", "conversion"):
            raise ValueError(f"not a headerless record type: {record_type!r}")
        warc_date = warc_date or now_iso()

        def build(warcinfo_id: str):
            return (self.builder.headerless(url, record_type, body, content_type, warcinfo_id=warcinfo_id,
                                            warc_date=warc_date, links=[("WARC-Refers-To", refers_to),
                                                                        ("WARC-Refers-To-Target-URI", refers_to_uri)]),)

        current, base, lengths, records = self._commit(build)
        digest = records[0].rec_headers.get_header("WARC-Payload-Digest") or \
            records[0].rec_headers.get_header("WARC-Block-Digest") or ""
        if record_type == "resource":
            current.cdxj_lines.append(cdxj.format_line(url, warc_date, {
                "url": url, "mime": content_type.split(";", 1)[0].strip().lower() or "-", "status": "200",
                "digest": digest.split(":", 1)[-1], "length": lengths[0], "offset": base,
                "filename": current.name, "rectype": record_type, "record_id": _record_id(records[0])}))
        return WarcPointer(current.name, base, lengths[0], _record_id(records[0]), warc_date, payload_digest=digest)

    @property
    def current_path(self) -> str | None:
        """Path of the ``.open`` file being written, if any."""
        return self._current.path if self._current else None

    def rotate(self) -> None:
        """Finish the current file (rename it, index it); the next write starts a new one."""
        if self._current is None:
            return
        cur, self._current = self._current, None
        final = os.path.join(self.directory, cur.name)
        try:
            os.fsync(cur.fh.fileno())
        except OSError:  # pragma: no cover - fsync unsupported
            pass
        os.replace(cur.path, final)
        cur.fh.close()  # releases the flock only after the rename
        self.finished_files.append(final)
        self._index(cur.cdxj_lines)

    def close(self) -> None:
        """Finish the current file and the CDXJ index. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.rotate()

    def __enter__(self) -> "WarcWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def recover(self) -> list[str]:
        """Finish the ``.open`` files of an earlier, killed run (not those another live writer holds).

        Each is cut after its last whole record and renamed; its captures are added to the index;
        a file with no whole record beyond warcinfo is removed. Index lines naming files that no
        longer exist are dropped. Returns the recovered files' paths.
        """
        from harvester.warc.reader import index_lines, whole_records_end

        recovered, new_lines = [], []
        for name in sorted(os.listdir(self.directory)):
            if not name.endswith(".warc.gz" + OPEN_SUFFIX) and not name.endswith(".warc" + OPEN_SUFFIX):
                continue
            path = os.path.join(self.directory, name)
            if self._current is not None and path == self._current.path:
                continue
            try:
                fh = open(path, "r+b")
            except OSError as exc:
                logger.error("WARC: cannot open %s to recover it: %s", path, exc)
                continue
            with fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # another writer is still writing it
                end, records = whole_records_end(path)
                final = path[: -len(OPEN_SUFFIX)]
                if records <= 1 or os.path.exists(final):
                    os.unlink(path)
                    logger.warning("WARC: removed %s (no whole capture in it)", name)
                    continue
                size = os.fstat(fh.fileno()).st_size
                if end < size:
                    fh.truncate(end)
                    logger.warning("WARC: %s cut after its last whole record (%d of %d bytes)", name, end, size)
                os.fsync(fh.fileno())
                os.replace(path, final)
            recovered.append(final)
            new_lines += index_lines(final)
            logger.warning("WARC: recovered %s from a crawl that did not finish", os.path.basename(final))
        self.recovered += recovered
        if self.cdxj_path and (new_lines or os.path.exists(self.cdxj_path)):
            cdxj.merge_into(self.cdxj_path, new_lines, keep_file=self._file_exists)
        return recovered

    # -- internals ------------------------------------------------------------------------------

    def _file_exists(self, name: str) -> bool:
        return os.path.exists(os.path.join(self.directory, name))

    def _index(self, lines: list[str]) -> None:
        if not self.cdxj_path or not lines:
            return
        try:
            cdxj.merge_into(self.cdxj_path, lines)
        except OSError as exc:  # the WARC file is whole; `recover`/re-indexing restores the lines
            logger.error("WARC: could not update the index %s: %s", self.cdxj_path, exc)

    def _write_pair(self, url: str, warc_date: str, build, response: ResponseData, *, rectype: str, mime: str,
                    digest: str | None = None, truncated: str | None = None) -> WarcPointer:
        current, base, lengths, records = self._commit(build)
        record_id = _record_id(records[0])
        digest = digest or records[0].rec_headers.get_header("WARC-Payload-Digest") or ""
        current.cdxj_lines.append(cdxj.format_line(url, warc_date, {
            "url": url, "mime": mime, "status": str(response.status), "digest": digest.split(":", 1)[-1] or "-",
            "length": lengths[0], "offset": base, "filename": current.name, "rectype": rectype,
            "record_id": record_id}))
        return WarcPointer(current.name, base, lengths[0], record_id, warc_date,
                           request_record_id=_record_id(records[1]), payload_digest=digest,
                           truncated=truncated)

    def _commit(self, build):
        """Build the records for the file they land in, serialise them into one buffer, append it
        whole: (file, offset, record lengths, records)."""
        if self._closed:
            raise ValueError("write to a closed WarcWriter")
        current = self._current or self._open_new()
        buf = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX)
        try:
            records, lengths = self._serialise(build(current.warcinfo_id), buf)
            total = sum(lengths)
            if current.pairs and current.size + total > self.max_size:
                self.rotate()
                current = self._open_new()
                buf.seek(0)
                buf.truncate()
                records, lengths = self._serialise(build(current.warcinfo_id), buf)
                total = sum(lengths)
            base = current.size
            self._append(current, buf)
        finally:
            buf.close()
        current.pairs += 1
        self.records_written += len(records)
        self.bytes_written += total
        return current, base, lengths, records

    @staticmethod
    def _serialise(records, buf) -> tuple[list, list[int]]:
        writer = WARCWriter(buf, gzip=True, warc_version=WARC_VERSION)
        lengths = []
        for record in records:
            start = buf.tell()
            writer.write_record(record)
            lengths.append(buf.tell() - start)
        return list(records), lengths

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
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # recover() leaves files held by a live writer alone
        opened = _OpenFile(name=name, path=path, fh=fh)
        try:
            info = {"software": self.software, "hostname": self.hostname, "format": "WARC File Format 1.1",
                    "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                    "isPartOf": self.prefix, "operator": self.operator, "description": self.description}
            info.update(self.warcinfo)
            record = self.builder.warcinfo(name, info)
            opened.warcinfo_id = record.rec_headers.get_header("WARC-Record-ID")
            buf = io.BytesIO()
            WARCWriter(buf, gzip=True, warc_version=WARC_VERSION).write_record(record)
            self._append(opened, buf)
            self.records_written += 1
            self.bytes_written += opened.size
        except BaseException:
            fh.close()
            os.unlink(path)
            raise
        self._current = opened
        return opened

    def _append(self, target: _OpenFile, buf) -> None:
        """Append all of ``buf`` to ``target``; on failure cut the file back to its old size.

        If even the cut fails, the file is abandoned (left as ``.open``, never renamed, so it is
        visibly incomplete; the next crawl's ``recover`` finishes it) and the next write starts a
        new file.
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
                logger.error("WARC: could not cut %s back after a failed write; abandoning it", target.path)
                target.fh.close()
                if self._current is target:
                    self._current = None
            raise
        target.size = base + written
