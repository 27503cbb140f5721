"""`harvester parse` of every corpus fixture reproduces its gold, field by field."""
import json

import pytest

from conftest import CORPUS, parse_cli
from goldcompare import mismatches


def gold_cases():
    cases = []
    for gold_path in sorted(CORPUS.glob("*/*.gold.json")):
        stem = gold_path.name[: -len(".gold.json")]
        doc = next(p for p in gold_path.parent.glob(stem + ".*") if not p.name.endswith(".gold.json"))
        cases.append(pytest.param(doc, json.loads(gold_path.read_text("utf-8")), id=doc.name))
    for flat in sorted(CORPUS.glob("*/gold.jsonl")):
        for line in flat.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cases.append(pytest.param(flat.parent / row["file"], row, id=f"flat:{row['file']}"))
    return cases


CASES = gold_cases()


def test_corpus_is_complete():
    names = {c.values[0].name for c in CASES}
    assert len([n for n in names if n[:3].isdigit()]) == 5, "five seeds"
    assert len(names - {n for n in names if n[:3].isdigit()}) == 7, "seven real reports"
    assert any(n.endswith(".pdf") for n in names)


@pytest.mark.parametrize("doc,gold", CASES)
def test_parse_matches_gold(capsys, record_schema, doc, gold):
    status, records, err = parse_cli(capsys, str(doc))
    assert status == 0, err
    assert len(records) == 1
    record = records[0]
    assert mismatches(gold, record) == []
    from harvester.report.schema import schema_errors

    assert schema_errors(record) == []


def test_glued_cells_warn_instead_of_guessing(capsys):
    _, [record], _ = parse_cli(capsys, str(CORPUS / "real" / "pingtan-2019.txt"))
    assert record["active_disclosure"]["normative_documents"] == {"made": None, "published": None,
                                                                  "total_published": None}
    assert any("898989" in w and "cannot be split" in w for w in record["warnings"])
    # …but table 三's rows, whose totals decide the split, are read exactly
    assert record["requests"]["rows"]["new"] == [23, 0, 0, 0, 0, 0, 23]


def test_traditional_script_is_converted_and_recorded(capsys):
    _, [record], _ = parse_cli(capsys, str(CORPUS / "seeds" / "002_77d2692ba1a32ccf.txt"))
    assert record["script"] == "traditional"
    assert record["agency"] == "新余市政务服务中心"
    assert "總體" not in (record["sections"]["overview"] or "") and record["sections"]["overview"]


def test_money_is_normalised_to_wan_yuan_with_remark_warning(capsys):
    _, [record], _ = parse_cli(capsys, str(CORPUS / "seeds" / "001_99990898297ce98c.txt"))
    assert record["active_disclosure"]["fees"]["amount_wan_yuan"] == pytest.approx(8.6)
    assert any("罚没收入" in w for w in record["warnings"])


def test_records_are_stable_ids_per_agency_year(capsys):
    _, [a], _ = parse_cli(capsys, str(CORPUS / "real" / "hongze-2023.pdf"))
    _, [b], _ = parse_cli(capsys, str(CORPUS / "real" / "hongze-2023.pdf"))
    _, [c], _ = parse_cli(capsys, str(CORPUS / "real" / "hongze-2024.pdf"))
    assert a["id"] == b["id"] != c["id"]
