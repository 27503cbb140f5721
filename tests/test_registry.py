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
        registry.load_registry(path)
    assert f"{path}:3: error: entry URL: scheme must be" in str(exc.value)


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
