"""One static HTML page over a dump (and its crawl folder): what was found, what is missing, what
failed. No server, no external assets, no script: inline CSS and SVG only, so the file can be
mailed, archived or opened from disk.

Sections: summary; records per year (chart); coverage (agency × year: found / failed checks /
missing); portals (OUT/crawl-stats.json, its `per_portal` breakdown when present); records with
failed checks; cross-year findings (harvester.series); every record with links to its capture.

Links to a capture: with a pywb prefix (`http://localhost:8080/coll/`) → `PREFIX{14-digit
timestamp}/{url}`, pywb's replay URL; always → the WARC file (relative link, only when that file
exists in the crawl folder's warc/) and the live source URL (http/https only).
"""
from __future__ import annotations

import datetime as dt
import html
import json
import os
import pathlib
import re
from collections import Counter, defaultdict
from typing import Any, Iterable

from harvester.series import normalise_agency, series_checks

NO_AGENCY = "(agency not named)"
STYLE = """
body{font:14px/1.45 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.found{background:#cdebc5} .failed{background:#f6d28b} .missing{background:#f3f3f3;color:#999}
.finding{outline:2px solid #c0392b;outline-offset:-2px}
dl.summary{display:grid;grid-template-columns:max-content max-content;gap:2px 14px} dl.summary dd{margin:0;font-weight:600}
.note{color:#666;font-size:12px} tr.bad td{background:#fbe3e1} .legend span{display:inline-block;padding:0 6px;margin-right:6px}
.scroll{overflow-x:auto}
"""


# ---------------------------------------------------------------- links
def capture_timestamp(fetched_at: str | None) -> str | None:
    """ISO 8601 → the 14-digit timestamp pywb URLs use."""
    digits = re.sub(r"\D", "", fetched_at or "")[:14]
    return digits if len(digits) == 14 else None


def replay_url(prefix: str, url: str, fetched_at: str | None) -> str:
    stamp = capture_timestamp(fetched_at) or ""
    return f"{prefix.rstrip('/')}/{stamp}/{url}" if stamp else f"{prefix.rstrip('/')}/{url}"


def _http(url: Any) -> str | None:
    return url if isinstance(url, str) and re.match(r"https?://", url, re.I) else None


def warc_link(warc_file: Any, warc_dir: pathlib.Path | None, page_dir: pathlib.Path) -> str | None:
    """A relative link to the WARC file, only for a plain file name that exists in warc_dir."""
    if not warc_dir or not isinstance(warc_file, str) or os.path.basename(warc_file) != warc_file:
        return None
    target = warc_dir / warc_file
    if not target.is_file():
        return None
    return pathlib.Path(os.path.relpath(target, page_dir)).as_posix()


# ---------------------------------------------------------------- small HTML helpers
def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _a(href: str | None, text: str, cls: str) -> str:
    return f'<a class="{cls}" href="{esc(href)}">{esc(text)}</a>' if href else ""


def _table(header: Iterable[str], rows: Iterable[str], table_id: str) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    return f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _num(value: Any) -> str:
    return f'<td class="num">{esc(value)}</td>'


def bar_chart(bars: list[tuple[str, list[tuple[str, int, str]]]], chart_id: str, title: str) -> str:
    """Vertical stacked bars: [(label, [(part name, value, colour)])] → inline SVG with <title>s."""
    if not bars:
        return ""
    top = max(sum(v for _, v, _ in parts) for _, parts in bars) or 1
    width, height, bar_w, gap = max(160, len(bars) * 44 + 40), 160, 30, 14
    out = [f'<svg id="{chart_id}" role="img" aria-label="{esc(title)}" width="{width}" height="{height + 40}" '
           f'viewBox="0 0 {width} {height + 40}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, parts) in enumerate(bars):
        x, y = 30 + i * (bar_w + gap), height
        for name, value, colour in parts:
            h = round(value / top * (height - 20))
            if h:
                y -= h
                out.append(f'<rect x="{x}" y="{y}" width="{bar_w}" height="{h}" fill="{colour}" data-part="{esc(name)}" '
                           f'data-value="{value}"><title>{esc(label)} {esc(name)}: {value}</title></rect>')
        total = sum(v for _, v, _ in parts)
        out.append(f'<text x="{x + bar_w / 2}" y="{y - 4}" font-size="11" text-anchor="middle">{total}</text>')
        out.append(f'<text x="{x + bar_w / 2}" y="{height + 16}" font-size="11" text-anchor="middle">{esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def hbar_chart(bars: list[tuple[str, int]], chart_id: str, title: str, colour: str) -> str:
    """Horizontal bars, one row per label (long names such as agencies stay readable, never
    overlap): [(label, value)] → inline SVG; labels past LABEL_CHARS are cut, whole in <title>."""
    if not bars:
        return ""
    top = max(v for _, v in bars) or 1
    font, row_h, bar_max = 12, 20, 240
    shown = [(label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…", label, v) for label, v in bars]
    label_w = font * max(len(short) for short, _, _ in shown) + 8
    width, height = label_w + bar_max + 50, row_h * len(bars) + 4
    out = [f'<svg id="{chart_id}" role="img" aria-label="{esc(title)}" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (short, label, value) in enumerate(shown):
        y = i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="{font}" text-anchor="end" class="label">'
                   f'<title>{esc(label)}</title>{esc(short)}</text>')
        w = round(value / top * bar_max)
        if w:
            out.append(f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row_h - 6}" fill="{colour}" '
                       f'data-value="{value}"><title>{esc(label)}: {value}</title></rect>')
        out.append(f'<text x="{label_w + w + 4}" y="{y + 15}" font-size="{font}">{value}</text>')
    out.append("</svg>")
    return "".join(out)


LABEL_CHARS = 24


# ---------------------------------------------------------------- the page
def load_stats(folder: pathlib.Path | None) -> dict[str, Any] | None:
    """OUT/crawl-stats.json's summary, or None (absent or unreadable: the page says so)."""
    path = folder / "crawl-stats.json" if folder else None
    if not path or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    summary = data.get("summary") if isinstance(data, dict) else None
    return summary if isinstance(summary, dict) else None


def _portal_rows(per_portal: Any) -> list[tuple[str, dict[str, Any]]]:
    """The per-portal breakdown as [(portal, {key: scalar})], whatever its shape (dict or list)."""
    if isinstance(per_portal, dict):
        items = list(per_portal.items())
    elif isinstance(per_portal, list):
        items = [(str(next((p[k] for k in ("portal", "agency", "name", "host") if p.get(k)), f"portal {i + 1}")), p)
                 for i, p in enumerate(per_portal) if isinstance(p, dict)]
    else:
        return []
    return [(str(name), {k: v for k, v in values.items() if isinstance(v, (int, float, str)) or v is None})
            for name, values in items if isinstance(values, dict)]


def render_page(records: list[dict[str, Any]], *, title: str = "Annual reports: coverage and checks",
                stats: dict[str, Any] | None = None, replay_prefix: str | None = None,
                warc_dir: pathlib.Path | None = None, page_dir: pathlib.Path = pathlib.Path("."),
                source_label: str = "") -> str:
    """The whole page as one HTML string."""
    findings = series_checks(records)
    findings_by_record: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        findings_by_record[f["record_id"]].append(f)
    failed_records = [r for r in records if failed_checks(r)]
    years = sorted({r["year"] for r in records if isinstance(r.get("year"), int)})

    parts = [f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(title)}</title>'
             f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>',
             f"<h1>{esc(title)}</h1>",
             f'<p class="note">{esc(source_label)} · generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>']
    agencies = {(normalise_agency(r.get("region")) or "", normalise_agency(r.get("agency")) or NO_AGENCY) for r in records}
    numbers = [("records", "records (agency-years)", len(records)), ("agencies", "agencies", len(agencies)),
               ("years", "years", f"{years[0]}–{years[-1]}" if years else "—"),
               ("failed_records", "records with failed checks", len(failed_records)),
               ("failed_checks", "failed checks", sum(len(failed_checks(r)) for r in failed_records)),
               ("series_findings", "cross-year findings", len(findings)),
               ("warnings", "records with parser warnings", sum(1 for r in records if r.get("warnings")))]
    parts.append('<dl class="summary" id="summary">' + "".join(
        f'<dt>{esc(label)}</dt><dd data-key="{key}">{esc(value)}</dd>' for key, label, value in numbers) + "</dl>")

    parts.append("<h2>Records per year</h2>")
    per_year = Counter(r["year"] for r in records if isinstance(r.get("year"), int))
    failed_per_year = Counter(r["year"] for r in failed_records if isinstance(r.get("year"), int))
    parts.append(bar_chart([(str(y), [("checks pass", per_year[y] - failed_per_year[y], "#7cb870"),
                                      ("failed checks", failed_per_year[y], "#e8a33d")]) for y in years],
                           "chart-years", "records per year, with and without failed checks"))

    parts.append(_coverage(records, years, findings_by_record))
    parts.append(_portals(stats))
    parts.append(_failed_checks(failed_records))
    parts.append(_findings(findings))
    parts.append(_records(records, replay_prefix, warc_dir, page_dir, findings_by_record))
    parts.append("</body></html>")
    return "\n".join(parts)


def failed_checks(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's failed checks; a malformed entry (not an object) still counts, shown by its text."""
    checks = record.get("checks")
    if not isinstance(checks, list):
        return []
    return [c if isinstance(c, dict) else {"code": str(c)} for c in checks]


def _order(record: dict[str, Any]) -> tuple[str, int]:
    """Agency, then year; a malformed year sorts first instead of failing the comparison."""
    year = record.get("year")
    return str(record.get("agency")), year if isinstance(year, int) else 0


def _anchor(record: dict[str, Any]) -> str:
    return "r-" + re.sub(r"[^0-9A-Za-z_-]", "", str(record.get("id") or ""))


def _coverage(records, years, findings_by_record) -> str:
    rows: dict[tuple[str, str], dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    names: dict[tuple[str, str], str] = {}
    for r in records:
        key = (normalise_agency(r.get("region")) or "", normalise_agency(r.get("agency")) or NO_AGENCY)
        names.setdefault(key, " · ".join(x for x in (r.get("region"), r.get("agency") if key[1] != NO_AGENCY else NO_AGENCY)
                                         if isinstance(x, str) and x))
        by_year = rows[key]   # a record without a year still gives its agency a row
        if isinstance(r.get("year"), int):
            by_year[r["year"]].append(r)
    out = ["<h2>Coverage</h2>",
           '<p class="legend note"><span class="found">found</span><span class="failed">found, failed checks</span>'
           '<span class="missing">missing</span><span class="finding">cross-year finding</span> '
           "(missing: no record for that year in this dump)</p>"]
    body = []
    for key in sorted(rows, key=lambda k: (k[1] == NO_AGENCY, k)):
        cells = []
        for year in years:
            found = rows[key].get(year, [])
            if not found:
                cells.append(f'<td class="missing" data-agency="{esc(key[1])}" data-year="{year}" data-status="missing">–</td>')
                continue
            failed = sum(len(failed_checks(r)) for r in found)
            flagged = sum(len(findings_by_record.get(r.get("id"), [])) for r in found)
            status = "failed" if failed else "found"
            text = f"{failed}✗" if failed else "✓"
            cells.append(f'<td class="{status}{" finding" if flagged else ""}" data-agency="{esc(key[1])}" '
                         f'data-year="{year}" data-status="{status}" data-failed="{failed}" data-findings="{flagged}">'
                         f'<a href="#{_anchor(found[0])}">{text}</a></td>')
        body.append(f"<tr><th>{esc(names[key])}</th>{''.join(cells)}</tr>")
    out.append(_table(["agency", *map(str, years)], body, "coverage"))
    return "".join(out)


# run-summary keys whose bare name would read as one of the page's own numbers (the summary above
# counts the dump; these count the last run or the whole folder: README, "For operators")
CRAWL_LABELS = {"pages": "pages fetched (last run)", "reports": "reports found (last run)",
                "failed_fetches": "failed fetches (last run)", "parse_failures": "parse failures (last run)",
                "warc_bytes_written": "WARC bytes written (last run)", "portals_failed": "portals that answered nothing",
                "records": "records in the folder (all runs)",
                "failed_checks": "records with failed checks in the folder (all runs)",
                "warc_files": "WARC files (all runs)", "warc_bytes": "WARC bytes (all runs)"}

PORTAL_ORDER = ("pages", "reports", "records", "failed_fetches", "failures", "new", "changed", "unchanged",
                "not_modified", "parse_failures", "status")


def _portals(stats: dict[str, Any] | None) -> str:
    out = ["<h2>Portals</h2>"]
    if stats is None:
        out.append('<p class="note" id="no-stats">No crawl-stats.json next to this dump: crawl statistics unknown.</p>')
        return "".join(out)
    overall = [(k, v) for k, v in stats.items() if isinstance(v, (int, float, str)) and k != "per_portal"]
    out.append('<dl class="summary" id="crawl-summary">' + "".join(
        f'<dt>{esc(CRAWL_LABELS.get(k, k.replace("_", " ")))}</dt><dd data-key="{esc(k)}">{esc(v)}</dd>'
        for k, v in overall) + "</dl>")
    portals = _portal_rows(stats.get("per_portal"))
    if not portals:
        out.append('<p class="note" id="no-per-portal">This crawl recorded no per-portal breakdown.</p>')
        return "".join(out)
    keys = [k for k in PORTAL_ORDER if any(k in v for _, v in portals)]
    keys += sorted({k for _, v in portals for k in v} - set(keys) - {"portal", "agency", "name"})
    body = []
    for name, values in portals:
        bad = values.get("status") not in (None, "ok") or any(
            isinstance(values.get(k), (int, float)) and values[k] > 0 for k in values if "fail" in k)
        body.append(f'<tr class="portal{" bad" if bad else ""}" data-portal="{esc(name)}"><th>{esc(name)}</th>'
                    + "".join(_num(values.get(k)) for k in keys) + "</tr>")
    out.append(_table(["portal", *(k.replace("_", " ") for k in keys)], body, "portals"))
    if "reports" in keys:
        out.append(hbar_chart([(name, int(v.get("reports") or 0)) for name, v in portals],
                              "chart-portals", "reports per portal", "#5b8fd1"))
    return "".join(out)


def _failed_checks(failed_records) -> str:
    body = []
    for r in sorted(failed_records, key=_order):
        for c in failed_checks(r):
            body.append(f'<tr class="check" data-record="{esc(r.get("id"))}"><td><a href="#{_anchor(r)}">'
                        f'{esc(r.get("agency") or NO_AGENCY)}</a></td>{_num(r.get("year"))}<td>{esc(c.get("code"))}</td>'
                        f'<td>{esc(c.get("row"))}</td><td>{esc(c.get("column"))}</td>{_num(c.get("expected"))}'
                        f'{_num(c.get("found"))}</tr>')
    if not body:
        return '<h2>Records with failed checks</h2><p class="note">None: every check holds.</p>'
    return "<h2>Records with failed checks</h2>" + _table(
        ["agency", "year", "check", "row", "column", "expected", "found"], body, "failed-checks")


def _findings(findings) -> str:
    if not findings:
        return '<h2>Cross-year findings</h2><p class="note">None (consecutive years agree, no sudden jumps).</p>'
    body = [f'<tr class="series-finding" data-record="{esc(f["record_id"])}"><td>{esc(f["agency"])}</td>'
            f'{_num(f["previous_year"])}{_num(f["year"])}<td>{esc(f["code"])}</td><td>{esc(f["table"])}</td>'
            f'<td>{esc(f["row"])}</td><td>{esc(f["column"])}</td>{_num(f["expected"])}{_num(f["found"])}</tr>'
            for f in findings]
    return ('<h2>Cross-year findings</h2><p class="note">CARRIED_OVER: 上年结转 ≠ last year\'s 结转下年度; '
            "IN_FORCE: 现行有效件数 ≠ last year's + 制发 − 废止; JUMP: a headline figure changed tenfold (and ≥ 50); "
            "DUPLICATE_YEAR: two records for one agency-year. Reported, never repaired.</p>"
            + _table(["agency", "previous year", "year", "check", "table", "row", "column", "expected", "found"],
                     body, "series-findings"))


def _records(records, replay_prefix, warc_dir, page_dir, findings_by_record) -> str:
    body = []
    for r in sorted(records, key=_order):
        source = r.get("source") if isinstance(r.get("source"), dict) else {}
        url = _http(source.get("url"))
        capture = replay_url(replay_prefix, url, source.get("fetched_at")) if replay_prefix and url else None
        links = " ".join(x for x in (_a(capture, "capture", "capture"),
                                     _a(warc_link(source.get("warc_file"), warc_dir, page_dir), "WARC", "warc"),
                                     _a(url, "source", "source")) if x)
        body.append(f'<tr class="record" id="{_anchor(r)}" data-record="{esc(r.get("id"))}">'
                    f'<td>{esc(r.get("agency") or NO_AGENCY)}</td>{_num(r.get("year"))}<td>{esc(r.get("template"))}</td>'
                    f'<td>{esc(r.get("title"))}</td><td>{esc(r.get("published"))}</td>{_num(len(failed_checks(r)))}'
                    f'{_num(len(findings_by_record.get(r.get("id"), [])))}<td>{links}</td></tr>')
    return "<h2>Records</h2>" + _table(["agency", "year", "template", "title", "published", "failed checks",
                                        "cross-year findings", "links"], body, "records")
