"""The record: normalise → split sections → find tables → read cells → check, in one place.

`parse_document` never raises on bad input: a document it cannot read gives a record whose
`warnings` say why and whose tables are null.
"""
from __future__ import annotations

import hashlib
import json
import math
import pathlib
import unicodedata
from typing import Any

from harvester.report import checks, metadata, tables
from harvester.report.identity import identity_agency
from harvester.report.document import Document, DocumentError, read_document
from harvester.report.normalize import SIMPLIFIED, squash

SCHEMA_VERSION = 1
SOURCE_KEYS = ("url", "fetched_at", "content_type", "warc_file", "warc_record_id", "warc_offset")
TEMPLATE_PRE2019 = "pre2019"
TEMPLATE_UNKNOWN = "unknown"


def record_id(agency: str | None, year: int | None, fallback: str) -> str:
    """Stable id of the agency-year: the same on every re-crawl and replay."""
    if agency and year:
        key = f"{unicodedata.normalize('NFKC', agency).strip()}|{year}"
    else:
        key = f"untitled|{year}|{fallback}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def empty_source(**given: Any) -> dict[str, Any]:
    source = {k: None for k in SOURCE_KEYS}
    source.update({k: v for k, v in given.items() if k in SOURCE_KEYS or k == "attachments"})
    source.setdefault("attachments", [])
    return source


def blank_record(source: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION, "id": None, "agency": None, "year": None, "title": None,
        "published": None, "template": TEMPLATE_UNKNOWN, "script": SIMPLIFIED,
        "source": empty_source(**(source or {})),
        "sections": {k: None for k in metadata.SECTION_KEYS},
        "active_disclosure": None, "requests": None, "review_litigation": None,
        "checks": [], "warnings": [],
    }


def parse_document(data: bytes | str, *, name: str | None = None, content_type: str | None = None,
                   source: dict[str, Any] | None = None, meta: dict[str, str] | None = None) -> dict[str, Any]:
    """Any report document → one record of the contract (../shared/spec/record.md).

    `meta` adds page metadata the caller knows (title, published, agency) and `portal_agency`,
    the registry's agency of the portal, which the record's `id` is then derived from."""
    record = blank_record(source)
    digest = hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8", "replace")).hexdigest()
    try:
        doc = read_document(data, name=name, content_type=content_type)
    except DocumentError as exc:
        record["warnings"].append(f"not parsed: {exc}")
        record["id"] = record_id(None, None, digest)
        return record
    except Exception as exc:  # a library failing on hostile input must not lose the crawl
        record["warnings"].append(f"not parsed: {type(exc).__name__}: {str(exc)[:200]}")
        record["id"] = record_id(None, None, digest)
        return record
    if meta:
        doc.meta = {**doc.meta, **{k: v for k, v in meta.items() if v}}
    try:
        fill_record(record, doc)
    except Exception as exc:  # a bug on one hostile document must not lose the others: keep what was read
        record["warnings"].append(f"parser error, record incomplete: {type(exc).__name__}: {str(exc)[:200]}")
    _sanitise(record)
    # The agency-year identity: the portal's agency where the printed name is that agency or its
    # office (harvester.report.identity); `agency` stays as printed.
    identity = identity_agency(record["agency"], (meta or {}).get("portal_agency"))
    record["id"] = record_id(identity, record["year"], digest)
    return record


MAX_ABS_NUMBER = 1e15


def _sanitise(record: dict[str, Any]) -> None:
    """Every number finite and JSON-safe, every year within the schema: the record always serialises."""
    def clean(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {k: clean(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value) or abs(value) >= MAX_ABS_NUMBER:
                record["warnings"].append(f"{where}: number out of range; left null")
                return None
        return value

    tables = ("active_disclosure", "requests", "review_litigation")
    # The common case, in C: every number finite and printable. (Numbers are read with at most 15
    # digits, so none reaches MAX_ABS_NUMBER unless this check fails and `clean` looks closer.)
    try:
        json.dumps([record[k] for k in tables], allow_nan=False)
        fine = True
    except (ValueError, OverflowError):
        fine = False
    for key in tables if not fine else ():
        if record[key] is not None:
            record[key] = clean(record[key], key)
    if record["year"] is not None and not 1990 <= record["year"] <= 2100:
        record["warnings"].append(f"year {record['year']} outside 1990–2100; left null")
        record["year"] = None


def fill_record(record: dict[str, Any], doc: Document) -> None:
    warnings: list[str] = record["warnings"]
    warnings.extend(doc.warnings)
    record["script"] = doc.script
    lines = tables.unglue(doc.lines)
    title = metadata.find_title(lines, doc.meta)
    record["title"] = title
    record["agency"] = metadata.find_agency(title, lines, doc.meta)
    record["year"] = metadata.find_year(title, lines)
    record["published"] = metadata.find_published(lines, doc.meta)
    record["sections"] = metadata.split_sections(lines)

    keys = [squash("|".join(c for c in line if c)) for line in lines]
    regions = tables.find_regions(keys)
    template = tables.detect_template(keys, regions, record["year"])
    if template is None:
        year = record["year"]
        record["template"] = TEMPLATE_PRE2019 if year is not None and year < 2019 else TEMPLATE_UNKNOWN
        if not lines:
            warnings.append("no text found in the document")
        elif record["template"] == TEMPLATE_UNKNOWN:
            warnings.append("no statutory table found: not a 2019/2021-template report, or not a report")
        return
    record["template"] = template
    if regions.table2:
        record["active_disclosure"] = tables.read_table2(lines[slice(*regions.table2)], template, warnings)
    if regions.table3:
        record["requests"] = tables.read_table3(lines[slice(*regions.table3)], template, warnings)
    if regions.table4:
        record["review_litigation"] = tables.read_table4(lines[slice(*regions.table4)], warnings)
    record["checks"] = checks.run_checks(template, record)


def parse_path(path: str | pathlib.Path, source: dict[str, Any] | None = None) -> dict[str, Any]:
    p = pathlib.Path(path)
    return parse_document(p.read_bytes(), name=p.name, source=source)
