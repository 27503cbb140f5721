"""JSON Lines files the crawl keeps (the dump, the crawl state): read tolerantly, written atomically."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any, Iterable, Iterator

logger = logging.getLogger(__name__)


def read_jsonl(path: str) -> Iterator[dict[str, Any]]:
    """Every object of the file; an unreadable line is logged and skipped, not fatal."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s:%d: unreadable line dropped", path, n)
                continue
            if isinstance(obj, dict):
                yield obj


def write_jsonl_atomic(path: str, objects: Iterable[dict[str, Any]], **dumps: Any) -> None:
    """Write to a temporary file beside `path`, fsync, rename over it: never half-written."""
    _write_atomic(path, (json.dumps(obj, ensure_ascii=False, **dumps) + "\n" for obj in objects))


def write_json_atomic(path: str, obj: Any) -> None:
    """One JSON document (indented), written like write_jsonl_atomic."""
    _write_atomic(path, [json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n"])


def _write_atomic(path: str, chunks: Iterable[str]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + "-", suffix=".tmp")
    try:
        # mkstemp creates 0600; the renamed file gets the mode open() would give (0666 & ~umask),
        # so whoever publishes the dump can read it.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
