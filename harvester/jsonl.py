"""JSON Lines files the crawl keeps (the dump, the crawl state): read tolerantly, appended durably,
consolidated atomically.

Each file is a consolidated ``X.jsonl`` (rewritten whole, atomically) plus, while a crawl runs, an
append-only journal ``X.jsonl.journal`` (one line per update, flushed per line, fsynced in
batches). A crash loses at most the journal's unsynced tail; a line cut by the crash is dropped on
reading. Output errors (disk full, folder gone) raise ``OutputError`` with a one-line message.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from typing import Any, Callable, Iterable, Iterator

logger = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".journal"


class OutputError(OSError):
    """Output could not be written (disk full, unwritable folder); the message is one line."""


def output_error(path: str, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


def journal_path(path: str) -> str:
    return path + JOURNAL_SUFFIX


def read_jsonl(path: str) -> Iterator[dict[str, Any]]:
    """Every object of the file; an unreadable line (e.g. cut by a crash) is logged and skipped."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:   # cut by a crash, or a number Python refuses to read back
                logger.warning("%s:%d: unreadable line dropped", path, n)
                continue
            if isinstance(obj, dict):
                yield obj


def dumps_line(obj: dict[str, Any], **dumps: Any) -> str:
    """One JSON line that can be written as UTF-8 and read back; ValueError / TypeError /
    RecursionError when it cannot (e.g. an int of more than 4,300 digits, a lone surrogate)."""
    line = json.dumps(obj, ensure_ascii=False, allow_nan=False, **dumps) + "\n"   # NaN is not JSON
    line.encode("utf-8")   # UnicodeEncodeError (a ValueError) for lone surrogates
    return line


def write_jsonl_atomic(path: str, objects: Iterable[dict[str, Any]], **dumps: Any) -> None:
    """Write to a temporary file beside `path`, fsync, rename over it: never half-written.

    Every object must serialise (callers check with `dumps_line` first); OutputError when the
    file system refuses, and the earlier file is then left as it was."""
    _write_atomic(path, (dumps_line(obj, **dumps) for obj in objects))


def write_lines_atomic(path: str, lines: Iterable[str]) -> None:
    """Lines already made by `dumps_line`, written like write_jsonl_atomic."""
    _write_atomic(path, lines)


def write_json_atomic(path: str, obj: Any) -> None:
    """One JSON document (indented), written like write_jsonl_atomic."""
    _write_atomic(path, [json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n"])


def _write_atomic(path: str, chunks: Iterable[str]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + "-", suffix=".tmp")
        # mkstemp creates 0600; the renamed file gets the mode open() would give (0666 & ~umask),
        # so whoever publishes the dump can read it.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
    except OSError as exc:
        raise output_error(path, exc) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def current_umask() -> int:
    """The process umask: from /proc (Linux) without touching it; elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _drop_partial_tail(path: str) -> None:
    """A line cut by a crash or a full disk is cut off, so the next line does not glue onto it."""
    try:
        with open(path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if not size:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            end = size
            while end > 0:
                start = max(0, end - 65536)
                fh.seek(start)
                chunk = fh.read(end - start)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    fh.truncate(start + nl + 1)
                    return
                end = start
            fh.truncate(0)
        logger.warning("%s: a line cut short by an earlier failure was removed", path)
    except FileNotFoundError:
        return


class Journal:
    """An append-only JSONL file: `append` writes and flushes a line; `sync` fsyncs and returns the
    payloads appended since the last sync (now durable). `sync` runs by itself every `batch` lines
    or `interval` seconds, calling `on_durable` with those payloads."""

    def __init__(self, path: str, *, batch: int = 64, interval: float = 1.0,
                 on_durable: Callable[[list[Any]], None] | None = None, **dumps: Any):
        self.path = path
        self.batch = batch
        self.interval = interval
        self.on_durable = on_durable
        self.dumps = dumps
        self._fh = None
        self._unsynced: list[Any] = []
        self._last_sync = time.monotonic()
        self.lines = 0

    def _open(self):
        if self._fh is None:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                _drop_partial_tail(self.path)
                self._fh = open(self.path, "a", encoding="utf-8")
            except OSError as exc:
                raise output_error(self.path, exc) from None
        return self._fh

    def append(self, line: str, payload: Any = None) -> None:
        """Append one serialised line (see `dumps_line`); `payload` is handed to `on_durable` later."""
        fh = self._open()
        try:
            fh.write(line)
            fh.flush()
        except OSError as exc:
            raise output_error(self.path, exc) from None
        self.lines += 1
        self._unsynced.append(payload)
        if len(self._unsynced) >= self.batch or time.monotonic() - self._last_sync >= self.interval:
            self.sync()

    def sync(self) -> list[Any]:
        self._last_sync = time.monotonic()
        if self._fh is None:
            return []
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise output_error(self.path, exc) from None
        durable, self._unsynced = self._unsynced, []
        if durable and self.on_durable is not None:
            self.on_durable(durable)
        return durable

    def close(self) -> None:
        if self._fh is not None:
            try:
                self.sync()
            finally:
                try:
                    self._fh.close()
                except OSError:
                    pass
                self._fh = None

    def remove(self) -> None:
        """Close and delete (after its content was consolidated)."""
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise output_error(self.path, exc) from None
