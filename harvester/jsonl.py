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
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + "-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for obj in objects:
                fh.write(json.dumps(obj, ensure_ascii=False, **dumps) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
