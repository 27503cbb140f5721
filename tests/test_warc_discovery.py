"""What a crawl records besides the captures (the simulator crawled twice, `sim_crawl`): a metadata
record per capture the spider handled (via, link text, hop path, portal, kind, item, outlinks),
a rich warcinfo per file, `WARC-Warcinfo-ID` on every record, and OUT/crawl.log."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from harvester.warc.records import parse_warc_fields


def warc_records(out):
    """Every record of the crawl's files: (file name, type, headers, block bytes)."""
    rows = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                block = rec.content_stream().read() if rec.rec_type in ("warcinfo", "metadata") else b""
                rows.append((path.name, rec.rec_type, rec.rec_headers, block))
    return rows


def fields(block: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in parse_warc_fields(block):
        out.setdefault(k, []).append(v)
    return out


def test_metadata_records_say_how_each_report_was_found(sim_crawl):
    out = sim_crawl["out"]
    rows = warc_records(out)
    meta = {h.get_header("WARC-Concurrent-To"): (h, fields(b)) for _, t, h, b in rows if t == "metadata"}
    captures = {h.get_header("WARC-Record-ID"): h for _, t, h, _ in rows if t in ("response", "revisit")}
    agencies = {row["agency"] for row in sim_crawl["sim"].registry_rows()}
    assert all(cid in captures for cid in meta)
    outlinks_of = {h.get_header("WARC-Target-URI"): f.get("outlink", []) for h, f in meta.values()}
    for rec in sim_crawl["records"]:            # the first crawl's dump
        src = rec["source"]
        h, f = meta[src["warc_record_id"]]
        assert h.get_header("WARC-Target-URI") == src["url"]
        assert f["item"][0] in ("page", "attachment") and f["portal"][0] in agencies
        assert f["kind"][0] == ("attachment" if f["item"][0] == "attachment" else "report")
        hops = int(f["hops"][0])
        assert hops >= 1 and len(f["hopsFromSeed"][0]) == hops and set(f["hopsFromSeed"][0]) <= {"L", "R"}
        via = f["via"][0]
        # the page it was found on lists it among its outlinks (redirect hops aside)
        if not f["hopsFromSeed"][0].endswith("R"):
            assert any(o.split(" ")[0] == src["url"] for o in outlinks_of.get(via, [])), (src["url"], via)
        if f["item"][0] == "attachment":
            assert f["detailUrl"][0] == via
    # the second crawl's 304s: the decision "unchanged", WARC-Refers-To the original response
    unchanged = [(h, f) for h, f in meta.values() if f["item"] == ["unchanged"]]
    assert unchanged
    for h, f in unchanged:
        cap = captures[h.get_header("WARC-Concurrent-To")]
        assert cap.get_header("WARC-Type") == "revisit"
        assert h.get_header("WARC-Refers-To") == cap.get_header("WARC-Refers-To")


def test_warcinfo_and_warcinfo_ids(sim_crawl):
    out = sim_crawl["out"]
    rows = warc_records(out)
    infos = {}
    for name, t, h, b in rows:
        if t == "warcinfo":
            infos[name] = (h.get_header("WARC-Record-ID"), dict(parse_warc_fields(b)))
        else:
            assert h.get_header("WARC-Warcinfo-ID") == infos[name][0], (name, t)
    registry = sim_crawl["registry"]
    digest = "sha256:" + hashlib.sha256(registry.read_bytes()).hexdigest()
    for _, info in infos.values():
        assert info["isPartOf"] == "nianbao" and info["robots"] == "obey robots.txt"
        assert info["http-header-user-agent"].startswith("gov-nianbao-harvester/")
        assert "scrapy/" in info["software"] and "warcio/" in info["software"]
        assert info["registry"] == registry.name and info["registryDigest"] == digest
        assert info["description"] and info["discoveryRecords"]
    assert len({info["crawlStart"] for _, info in infos.values()}) == 2      # two crawls


def test_crawl_log_has_a_line_per_fetch(sim_crawl):
    out = sim_crawl["out"]
    rows = warc_records(out)
    digests = {}
    for _, t, h, _ in rows:
        if t in ("response", "revisit"):
            digests.setdefault(h.get_header("WARC-Target-URI"), set()).add(h.get_header("WARC-Payload-Digest"))
    lines = [l.split(" ") for l in (out / "crawl.log").read_text("utf-8").splitlines()]
    lines = [[c for c in l if c] for l in lines]
    assert all(len(l) == 12 for l in lines)
    fetched = [l for l in lines if int(l[1]) > 0]
    # every fetch: Scrapy's, and the browser's own (the scripted portal's rendered page and what
    # it loaded), archived by harvester.middlewares.browser outside the downloader
    assert len(fetched) == sum(1 for _, t, _, _ in rows if t in ("response", "revisit"))
    browser_host = sim_crawl["sim"].portal("scripted").host
    by_browser = [l for l in fetched if "browser" in l[11].split(",")]
    assert by_browser and all(urlsplit(l[3]).hostname == browser_host for l in by_browser)
    assert any(l[4].endswith("E") and l[5] != "-" for l in by_browser), "the page's own loads: an embed hop"
    for l in fetched:
        assert l[9] in digests[l[3]], l
        assert l[8].split("+")[1].isdigit()
    reports = {r["source"]["url"] for r in sim_crawl["records"]}
    for l in fetched:
        if l[3] in reports:
            assert l[4] != "-" and l[5] != "-"     # discovery path and via
    assert any(l[11].startswith("2t") for l in fetched), "the 500 that recovers on retry: 2 tries"
    assert any("revisit:server-not-modified" in l[11] for l in fetched)
