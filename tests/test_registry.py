"""The portal registry: the converted real registry lints clean; broken ones say what is wrong."""
import json
import pathlib

import pytest

from harvester import registry
from harvester.cli import main

OBSERVED = pathlib.Path("/work/shared/registry/portals-observed.csv")
REPO = pathlib.Path(__file__).resolve().parents[1]


def test_real_registry_lints_clean():
    portals = registry.load_registry(registry.DEFAULT_REGISTRY)
    assert len(portals) == 146
    provinces = {p.region for p in portals} - {"全国"}
    assert len(provinces) == 31
    assert all(not p.verified for p in portals)
    assert all(p.provenance.get("source") == "portals-observed.csv" for p in portals)
    issues = registry.lint_registry(registry.DEFAULT_REGISTRY)
    assert [i for i in issues if i.severity == "error"] == []
    for p in portals:
        assert p.entry_urls and all(registry.host_of(u) in p.allowed_hosts for u in p.entry_urls)


@pytest.mark.skipif(not OBSERVED.exists(), reason="shared observation list not available")
def test_conversion_is_reproducible(tmp_path):
    out = tmp_path / "p.jsonl"
    rows = registry.convert_observed(OBSERVED, out)
    assert out.read_text(encoding="utf-8") == registry.DEFAULT_REGISTRY.read_text(encoding="utf-8")
    templ = [r for r in rows if "column_url_template" in r["hints"]]
    assert templ and all("{" not in u for r in templ for u in r["entry_urls"])


def write(tmp_path, rows, raw_lines=()):
    p = tmp_path / "reg.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "".join(raw_lines), encoding="utf-8")
    return p


GOOD = {"agency": "某市人民政府", "region": "江苏", "level": "city", "entry_urls": ["http://www.a.gov.cn/zfxxgknb/"],
        "hints": {}, "provenance": {"source": "test"}, "verified": False}


def test_broken_registry_messages(tmp_path):
    rows = [
        GOOD,                                                                        # 1 ok
        {**GOOD, "agency": ""},                                                      # 2 missing agency
        {**GOOD, "agency": "乙", "entry_urls": ["ftp://www.b.gov.cn/"]},              # 3 scheme
        {**GOOD, "agency": "丙", "entry_urls": ["http:///nohost"]},                   # 4 no host
        {**GOOD, "agency": "丁", "entry_urls": ["http://www.d.gov.cn/"], "allowed_hosts": ["www.e.gov.cn"]},  # 5
        GOOD,                                                                        # 6 duplicate
        {**GOOD, "agency": "戊"},                                                     # 7 same host, other agency
        {**GOOD, "agency": "己", "entry_urls": ["http://127.0.0.9:8080/"]},           # 8 loopback w/o allow_private
        {**GOOD, "agency": "庚", "entry_urls": []},                                   # 9 no entry URLs
        {**GOOD, "agency": "辛", "verified": "yes"},                                  # 10
    ]
    path = write(tmp_path, rows, ["{not json\n"])                                   # 11
    issues = registry.lint_registry(path)
    msgs = {(i.line, i.severity): i.message for i in issues}
    text = "\n".join(str(i) for i in issues)
    assert (1, "error") not in msgs
    assert "missing agency" in msgs[(2, "error")]
    assert "scheme must be http or https" in msgs[(3, "error")]
    assert "no host" in msgs[(4, "error")]
    assert "outside allowed_hosts" in msgs[(5, "error")]
    assert "duplicate agency + entry URL (first on line 1)" in msgs[(6, "error")]
    assert "shared by different agencies" in text and any(
        i.severity == "warning" and "www.a.gov.cn" in i.message for i in issues)
    assert "allow_private" in msgs[(8, "error")]
    assert "entry_urls must be a non-empty list" in msgs[(9, "error")]
    assert "verified must be true or false" in msgs[(10, "error")]
    assert "not valid JSON" in msgs[(11, "error")]
    assert str(issues[0]).startswith(f"{path}:2: error:")
    with pytest.raises(registry.RegistryError) as exc:
        registry.load_registry(path, strict=True)
    assert f"{path}:3: error: entry URL: scheme must be" in str(exc.value)
    # not strict: every bad line is skipped, the good ones load (7 shares line 1's host: a warning)
    portals = registry.load_registry(path)
    assert [p.source for p in portals] == [f"{path}:1", f"{path}:7"]


def test_loopback_allowed_with_hint(tmp_path):
    row = {**GOOD, "entry_urls": ["http://127.0.0.9:8080/"], "hints": {"allow_private": True}}
    (p,) = registry.load_registry(write(tmp_path, [row]))
    assert p.allow_private and p.allowed_hosts == ("127.0.0.9",)


def test_cli_lint(tmp_path, capsys):
    assert main(["registry", "lint", str(registry.DEFAULT_REGISTRY), "-q"]) == 0
    bad = write(tmp_path, [{**GOOD, "agency": None}])
    assert main(["registry", "lint", str(bad)]) == 1
    assert f"{bad}:1: error: missing agency" in capsys.readouterr().out
    assert main(["registry", "lint", str(tmp_path / "missing.jsonl")]) == 2


def test_cli_convert(tmp_path):
    if not OBSERVED.exists():
        pytest.skip("shared observation list not available")
    assert main(["registry", "convert", str(OBSERVED), str(tmp_path / "out.jsonl")]) == 0
    assert len(registry.load_registry(tmp_path / "out.jsonl")) == 146


BAD_FIELDS = [
    ({"agency": 5}, "agency must be a non-empty string"),
    ({"region": 3}, "region must be a string or null"),
    ({"level": ["city"]}, "level must be a string or null"),
    ({"entry_urls": "http://www.a.gov.cn/"}, "entry_urls must be a non-empty list"),
    ({"entry_urls": [5]}, "entry URL: not a URL string"),
    ({"allowed_hosts": "www.a.gov.cn"}, "allowed_hosts must be a list"),
    ({"allowed_hosts": ["www.a.gov.cn", "bad host!"]}, "allowed_hosts: bad host name"),
    ({"hints": []}, "hints must be an object"),
    ({"hints": {"known_report_urls": [5]}}, "hints.known_report_urls: not a URL string"),
    ({"hints": {"known_report_urls": "http://www.a.gov.cn/x.html"}}, "hints.known_report_urls must be a list"),
    ({"hints": {"known_report_urls": ["http://evil.example.com/x.html"]}}, "is outside allowed_hosts"),
    ({"hints": {"list_endpoint": 7}}, "hints.list_endpoint: not a URL string"),
    ({"hints": {"list_endpoint": "http://other.gov.cn/dataproxy.jsp"}}, "is outside allowed_hosts"),
    ({"hints": {"allow_private": "yes"}}, "hints.allow_private must be true or false"),
    ({"hints": {"browser": "always"}}, "hints.browser must be true or false"),
    ({"hints": {"cms": 3}}, "hints.cms must be a non-empty string"),
    ({"hints": {"cms": ""}}, "hints.cms must be a non-empty string"),
    ({"hints": {"notes": ["x"]}}, "hints.notes must be a non-empty string"),
    ({"hints": {"column_url_template": "http://www.a.gov.cn/nb/"}}, "column_url_template must be a URL string holding {Y}"),
    ({"hints": {"column_url_template": 2023}}, "column_url_template must be a URL string holding {Y}"),
    ({"hints": {"column_url_template": "ftp://www.a.gov.cn/{Y}/"}}, "scheme must be http or https"),
    ({"provenance": "observed"}, "provenance must be an object"),
    ({"verified": 1}, "verified must be true or false"),
]


@pytest.mark.parametrize("change,message", BAD_FIELDS, ids=[m for _, m in BAD_FIELDS])
def test_every_field_is_type_checked_and_a_bad_line_never_affects_the_others(tmp_path, change, message):
    before = {**GOOD, "agency": "甲", "entry_urls": ["http://www.b.gov.cn/"]}
    after = {**GOOD, "agency": "丙", "entry_urls": ["http://www.c.gov.cn/"]}
    bad = {**GOOD, **change}
    path = write(tmp_path, [before, bad, after])
    errors = [i for i in registry.lint_registry(path) if i.severity == "error"]
    assert [(i.line, message in i.message) for i in errors] == [(2, True)], errors
    portals = registry.load_registry(path)            # line 2 skipped, lines 1 and 3 load
    assert [p.agency for p in portals] == ["甲", "丙"]


def test_good_hints_pass(tmp_path):
    row = {**GOOD, "hints": {"cms": "TRS", "browser": True, "notes": "n",
                             "column_url_template": "http://www.a.gov.cn/gknb/{Y}nb/",
                             "known_report_urls": ["http://www.a.gov.cn/gknb/t1.html"],
                             "list_endpoint": "http://www.a.gov.cn/module/dataproxy.jsp", "allow_private": False}}
    assert [i for i in registry.lint_registry(write(tmp_path, [row])) if i.severity == "error"] == []


NUMERIC_LOOPBACK = ["127.1", "2130706433", "0x7f000001", "017700000001", "127.0.0.1", "0", "localhost",
                    "foo.localhost", "localhost."]


@pytest.mark.parametrize("host", NUMERIC_LOOPBACK)
def test_numeric_and_named_loopback_need_allow_private(tmp_path, host):
    row = {**GOOD, "entry_urls": [f"http://{host}:8080/"]}
    issues = registry.lint_registry(write(tmp_path, [row]))
    assert any(i.severity == "error" and "needs hints.allow_private" in i.message for i in issues), issues
    ok = {**row, "hints": {"allow_private": True}}
    assert [i for i in registry.lint_registry(write(tmp_path, [ok])) if i.severity == "error"] == []


def test_lint_resolve_flags_a_name_resolving_to_loopback(tmp_path, capsys):
    import socket

    from harvester import netpolicy

    name = socket.gethostname()
    if not any(a.is_loopback for a in netpolicy.resolve(name)):
        pytest.skip(f"this machine's host name {name!r} does not resolve to loopback")
    path = write(tmp_path, [{**GOOD, "entry_urls": [f"http://{name}:8080/"]}])
    assert main(["registry", "lint", str(path)]) == 0          # spelling alone: looks public
    assert main(["registry", "lint", "--resolve", str(path)]) == 1
    assert "needs hints.allow_private" in capsys.readouterr().out


def test_empty_registry_path_is_an_error(tmp_path, capsys):
    with pytest.raises(registry.RegistryError, match="empty"):
        registry.load_registry("")
    assert main(["registry", "lint", ""]) == 2
    assert main(["crawl", "--registry", "", "--out", str(tmp_path / "out")]) == 2
    assert "registry path is empty" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
