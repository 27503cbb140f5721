"""The portal registry: which agencies to crawl, from which entry URLs, inside which hosts.

Format: JSON Lines, one portal per line (see registry/README.md for every key and why JSONL).
`load_registry` refuses a file with errors (each reported as ``file:line: message``);
`lint_registry` returns every problem, errors and warnings, without raising;
`convert_observed` turns the shared observation list (portals-observed.csv) into this format.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import pathlib
import re
from typing import Any, Iterable
from urllib.parse import urlsplit

from harvester.netpolicy import is_private_host

logger = logging.getLogger(__name__)

# The converted real registry, the default target of `harvester crawl`.
DEFAULT_REGISTRY = pathlib.Path(__file__).resolve().parent.parent / "registry" / "portals.jsonl"

KNOWN_KEYS = {"agency", "region", "level", "entry_urls", "allowed_hosts", "hints", "provenance", "verified"}
# Each hint changes what the crawl does (spiders/discovery.py, spiders/pages/); `notes` is for people.
KNOWN_HINTS = {"cms", "list_endpoint", "allow_private", "notes", "column_url_template", "known_report_urls",
               "browser"}


class RegistryError(ValueError):
    """A registry that cannot be used; the message lists every error as file:line: message."""


@dataclasses.dataclass(frozen=True)
class Portal:
    agency: str
    entry_urls: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    region: str | None = None
    level: str | None = None
    hints: dict[str, Any] = dataclasses.field(default_factory=dict)
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)
    verified: bool = False
    source: str | None = None   # "file:line" the entry came from

    @property
    def allow_private(self) -> bool:
        return bool(self.hints.get("allow_private"))

    def to_row(self) -> dict[str, Any]:
        return portal_row(agency=self.agency, region=self.region, level=self.level,
                          entry_urls=list(self.entry_urls), allowed_hosts=list(self.allowed_hosts),
                          hints=self.hints, provenance=self.provenance, verified=self.verified)


@dataclasses.dataclass(frozen=True)
class Issue:
    severity: str      # "error" | "warning"
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


def portal_row(*, agency: str, entry_urls: list[str], region: str | None = None, level: str | None = None,
               allowed_hosts: list[str] | None = None, hints: dict | None = None,
               provenance: dict | None = None, verified: bool = False) -> dict[str, Any]:
    """One registry line as a dict, keys in the documented order (empty optional keys left out)."""
    row: dict[str, Any] = {"agency": agency, "region": region, "level": level, "entry_urls": list(entry_urls)}
    if allowed_hosts:
        row["allowed_hosts"] = list(allowed_hosts)
    row["hints"] = dict(hints or {})
    row["provenance"] = dict(provenance or {})
    row["verified"] = bool(verified)
    return row


def dump_rows(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write_registry(rows: Iterable[dict[str, Any]], path: str | pathlib.Path) -> None:
    pathlib.Path(path).write_text(dump_rows(rows), encoding="utf-8")


def host_of(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _is_private(host: str, resolve_names: bool = False) -> bool:
    return is_private_host(host, resolve_names=resolve_names)


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.?")
YEAR_PLACEHOLDER = "{Y}"
MAX_TEXT = 500      # hints that are free text (cms family, notes) stay short


def _check_url(url: Any, what: str) -> str | None:
    """None when the URL is usable, else what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        return f"{what}: not a URL string: {url!r}"
    if url != url.strip() or re.search(r"\s", url):
        return f"{what}: URL contains whitespace: {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises on a bad port
    except ValueError as exc:
        return f"{what}: malformed URL {url!r} ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"{what}: scheme must be http or https, not {parts.scheme or 'missing'!r}: {url}"
    if not parts.hostname:
        return f"{what}: URL has no host: {url}"
    if not _HOST.fullmatch(parts.hostname):
        return f"{what}: bad host {parts.hostname!r} in {url}"
    if "{" in url or "}" in url:
        return f"{what}: URL holds a template placeholder (put templates in hints.column_url_template): {url}"
    return None


def _text_hint(value: Any, name: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"hints.{name} must be a non-empty string, not {value!r}"
    if len(value) > MAX_TEXT:
        return f"hints.{name} is longer than {MAX_TEXT} characters"
    return None


def _check_hints(hints: dict[str, Any], allowed_hosts: list[str]) -> list[tuple[str, str]]:
    """(severity, message) for every hint of the wrong type or value."""
    out: list[tuple[str, str]] = []

    def url_in_scope(url: Any, what: str) -> None:
        problem = _check_url(url, what)
        if problem:
            out.append(("error", problem))
        elif allowed_hosts and host_of(url) not in allowed_hosts:
            out.append(("error", f"{what}: host {host_of(url)!r} is outside allowed_hosts {allowed_hosts}: {url}"))

    for key in sorted(set(hints) - KNOWN_HINTS):
        out.append(("warning", f"unknown hint {key!r}"))
    for name in ("cms", "notes"):
        if hints.get(name) is not None:
            problem = _text_hint(hints[name], name)
            if problem:
                out.append(("error", problem))
    for name in ("allow_private", "browser"):
        if name in hints and not isinstance(hints[name], bool):
            out.append(("error", f"hints.{name} must be true or false, not {hints[name]!r}"))
    if hints.get("list_endpoint") is not None:
        url_in_scope(hints["list_endpoint"], "hints.list_endpoint")
    template = hints.get("column_url_template")
    if template is not None:
        if not isinstance(template, str) or YEAR_PLACEHOLDER not in template:
            out.append(("error", f"hints.column_url_template must be a URL string holding {YEAR_PLACEHOLDER}, "
                                 f"not {template!r}"))
        else:
            url_in_scope(template.replace(YEAR_PLACEHOLDER, "2023"), "hints.column_url_template")
    known = hints.get("known_report_urls")
    if known is not None:
        if not isinstance(known, list):
            out.append(("error", f"hints.known_report_urls must be a list of URLs, not {known!r}"))
        else:
            for url in known:
                url_in_scope(url, "hints.known_report_urls")
    return out


def _lint_entries(entries: list[tuple[int, Any]], file: str, resolve_names: bool = False
                  ) -> tuple[list[Issue], list[Portal]]:
    issues: list[Issue] = []
    portals: list[Portal] = []
    seen_pairs: dict[tuple[str, str], int] = {}
    host_agencies: dict[str, dict[str, int]] = {}

    for line, obj in entries:
        line_issues: list[Issue] = []

        def err(msg: str, sev: str = "error") -> None:
            line_issues.append(Issue(sev, file, line, msg))

        if not isinstance(obj, dict):
            issues.append(Issue("error", file, line, f"expected a JSON object, got {type(obj).__name__}"))
            continue
        for key in sorted(set(obj) - KNOWN_KEYS):
            err(f"unknown key {key!r}", "warning")
        agency = obj.get("agency")
        if not isinstance(agency, str) or not agency.strip():
            err("missing agency" if agency in (None, "") else f"agency must be a non-empty string, not {agency!r}")
            agency = None
        for key in ("region", "level"):
            if obj.get(key) is not None and not isinstance(obj[key], str):
                err(f"{key} must be a string or null, not {obj[key]!r}")
        if not obj.get("region"):
            err("no region", "warning")

        entry_urls = obj.get("entry_urls")
        if not isinstance(entry_urls, list) or not entry_urls:
            err("entry_urls must be a non-empty list of URLs")
            entry_urls = []
        good_urls = []
        for url in entry_urls:
            problem = _check_url(url, "entry URL")
            if problem:
                err(problem)
            else:
                good_urls.append(url)

        allowed = obj.get("allowed_hosts")
        if allowed is None:
            allowed_hosts = sorted({host_of(u) for u in good_urls} - {None})
        elif not isinstance(allowed, list) or not all(isinstance(h, str) and h for h in allowed):
            err("allowed_hosts must be a list of host names")
            allowed_hosts = []
        else:
            allowed_hosts = [h.lower() for h in allowed]
            for h in allowed_hosts:
                if not _HOST.fullmatch(h):
                    err(f"allowed_hosts: bad host name {h!r}")
            for url in good_urls:
                if host_of(url) not in allowed_hosts:
                    err(f"entry URL host {host_of(url)!r} is outside allowed_hosts {allowed_hosts}: {url}")

        hints = obj.get("hints", {})
        if hints is None:
            hints = {}
        if not isinstance(hints, dict):
            err("hints must be an object")
            hints = {}
        for sev, msg in _check_hints(hints, allowed_hosts):
            err(msg, sev)
        private = [h for h in allowed_hosts if _is_private(h, resolve_names)]
        if private and hints.get("allow_private") is not True:
            err(f"private/loopback host {private[0]!r} needs hints.allow_private: true")

        provenance = obj.get("provenance", {})
        if provenance is None:
            provenance = {}
        if not isinstance(provenance, dict):
            err("provenance must be an object")
            provenance = {}
        verified = obj.get("verified", False)
        if not isinstance(verified, bool):
            err("verified must be true or false")
            verified = False

        if agency:
            for url in good_urls:
                pair = (agency.strip(), url)
                if pair in seen_pairs:
                    err(f"duplicate agency + entry URL (first on line {seen_pairs[pair]}): {agency} {url}")

        issues.extend(line_issues)
        if any(i.severity == "error" for i in line_issues):
            continue    # a bad line is skipped whole; it never affects the others
        for url in good_urls:
            seen_pairs.setdefault((agency.strip(), url), line)
        for h in allowed_hosts:
            host_agencies.setdefault(h, {}).setdefault(agency.strip(), line)
        portals.append(Portal(agency=agency.strip(), entry_urls=tuple(good_urls),
                              allowed_hosts=tuple(allowed_hosts), region=obj.get("region"),
                              level=obj.get("level"), hints=dict(hints), provenance=dict(provenance),
                              verified=verified, source=f"{file}:{line}"))

    for host, agencies in host_agencies.items():
        if len(agencies) > 1:
            names = sorted(agencies, key=agencies.get)
            first = min(agencies.values())
            issues.append(Issue("warning", file, max(agencies.values()),
                                f"host {host} is shared by different agencies: {', '.join(names)} "
                                f"(first on line {first})"))
    issues.sort(key=lambda i: (i.line, i.severity != "error"))
    return issues, portals


def _read_entries(path: pathlib.Path) -> tuple[list[Issue], list[tuple[int, Any]]]:
    file = str(path)
    issues: list[Issue] = []
    entries: list[tuple[int, Any]] = []
    if not file.strip() or file == ".":
        raise RegistryError("registry path is empty")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise RegistryError(f"{file}: Is a directory, not a registry file") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{file}: not UTF-8 ({exc})") from None
    except OSError as exc:
        raise RegistryError(f"{file}: cannot read ({exc.strerror})") from None
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue  # blank lines and `#` comment lines are allowed
        try:
            entries.append((n, json.loads(s)))
        except json.JSONDecodeError as exc:
            issues.append(Issue("error", file, n, f"not valid JSON: {exc.msg} at column {exc.colno}"))
        except RecursionError:
            issues.append(Issue("error", file, n, "not valid JSON: nested too deeply"))
    if not entries and not issues:
        issues.append(Issue("error", file, 1, "registry has no entries"))
    return issues, entries


def _path(path: str | os.PathLike | None) -> pathlib.Path:
    if path is None:
        return DEFAULT_REGISTRY
    if not str(path).strip():
        raise RegistryError("registry path is empty")
    return pathlib.Path(path)


def lint_registry(path: str | os.PathLike, *, resolve_names: bool = False) -> list[Issue]:
    """Every problem in the file (errors and warnings), in line order. Raises only if unreadable.
    `resolve_names`: also resolve every host name and flag those resolving to private addresses."""
    path = _path(path)
    issues, entries = _read_entries(path)
    more, _ = _lint_entries(entries, str(path), resolve_names)
    return sorted(issues + more, key=lambda i: (i.line, i.severity != "error"))


def read_registry(path: str | os.PathLike | None = None) -> tuple[list[Portal], list[Issue]]:
    """The portals of every good line, and every issue (a bad line is skipped, the others load).
    Raises RegistryError when the file cannot be read."""
    path = _path(path)
    issues, entries = _read_entries(path)
    more, portals = _lint_entries(entries, str(path))
    return portals, sorted(issues + more, key=lambda i: (i.line, i.severity != "error"))


def load_registry(path: str | os.PathLike | None = None, *, strict: bool = False) -> list[Portal]:
    """The portals of a registry file (default: the converted real registry).

    Bad lines are skipped, each logged as ``file:line: error: message``; the good ones load.
    Raises RegistryError when nothing usable is left (or, with `strict`, on any error).
    """
    portals, issues = read_registry(path)
    errors = [str(i) for i in issues if i.severity == "error"]
    if errors and (strict or not portals):
        raise RegistryError("\n".join(errors))
    for e in errors:
        logger.error("registry line skipped: %s", e)
    return portals


def portals_from_rows(rows: Iterable[dict[str, Any]], name: str = "<rows>") -> list[Portal]:
    """Like load_registry(strict=True), over in-memory rows (e.g. the simulator's registry_rows())."""
    issues, portals = _lint_entries(list(enumerate(rows, 1)), name)
    errors = [str(i) for i in issues if i.severity == "error"]
    if errors:
        raise RegistryError("\n".join(errors))
    return portals


# --- conversion of /work/shared/registry/portals-observed.csv ------------------------------------

def _home(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}/"


def convert_observed_rows(rows: Iterable[dict[str, str]], source_name: str = "portals-observed.csv"
                          ) -> list[dict[str, Any]]:
    """Rows of portals-observed.csv → registry rows. Entry URL: the 年报 column when known (a `{Y}`
    template is cut back to its last fixed folder and kept as a hint), else the report host's home
    page. The sample report URL is kept as a hint and in the provenance; nothing is verified."""
    out = []
    for r in rows:
        report_url = (r.get("report_url") or "").strip()
        column_url = (r.get("column_url") or "").strip()
        hints: dict[str, Any] = {}
        if r.get("cms"):
            hints["cms"] = r["cms"].strip()
        entry_urls: list[str] = []
        if column_url:
            if "{" in column_url:
                hints["column_url_template"] = column_url
                column_url = column_url[: column_url.index("{")]
                column_url = column_url[: column_url.rindex("/") + 1]
            entry_urls.append(column_url)
        if report_url:
            hints["known_report_urls"] = [report_url]
            if not column_url:
                entry_urls.append(_home(report_url))
        hosts = []
        for u in entry_urls + ([report_url] if report_url else []):
            h = host_of(u)
            if h and h not in hosts:
                hosts.append(h)
        provenance = {"source": source_name, "evidence": (r.get("evidence") or "").strip(),
                      "seen_year": int(r["seen_year"]) if (r.get("seen_year") or "").strip().isdigit() else None,
                      "report_url": report_url or None, "column_url": (r.get("column_url") or "").strip() or None,
                      "column_url_inferred": (r.get("column_url_inferred") or "").strip() or None}
        out.append(portal_row(agency=r["agency"].strip(), region=(r.get("province") or "").strip() or None,
                              level=(r.get("level") or "").strip() or None, entry_urls=entry_urls,
                              allowed_hosts=hosts, hints=hints, provenance=provenance, verified=False))
    return out


def convert_observed(src: str | pathlib.Path, dst: str | pathlib.Path | None = None) -> list[dict[str, Any]]:
    """Convert an observation CSV into a registry file (re-runnable; overwrites dst)."""
    src = pathlib.Path(src)
    with src.open(encoding="utf-8", newline="") as fh:
        rows = convert_observed_rows(csv.DictReader(fh), src.name)
    if dst is not None:
        write_registry(rows, dst)
    return rows
