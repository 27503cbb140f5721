"""The dump in the usual data tools, and `harvester export` (CSV, Parquet, DuckDB) on the corpus records."""
import copy
import csv
import json
import os

import pytest

from conftest import CORPUS
from harvester.cli import main
from harvester.export import build_tables, statutory_cells
from harvester.jsonl import current_umask
from harvester.report import parse_document
from harvester.report.templates import TABLE3_COLUMNS, TABLE4_FIELDS

pa = pytest.importorskip("pyarrow")
duckdb = pytest.importorskip("duckdb")
pd = pytest.importorskip("pandas")


def corpus_documents():
    return sorted(p for p in CORPUS.glob("*/*") if not p.name.endswith((".json", ".jsonl")) and p.name != "SOURCES.md")


@pytest.fixture(scope="module")
def records():
    return [parse_document(p.read_bytes(), name=p.name) for p in corpus_documents()]


@pytest.fixture(scope="module")
def dump(records, tmp_path_factory):
    path = tmp_path_factory.mktemp("dump") / "records.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_corpus_dump_has_the_type_troublemakers(records):
    """The corpus holds what broke the loaders: both templates, a TABLE_MISSING, sum checks, money."""
    assert len(records) == 12
    codes = {c["code"] for r in records for c in r["checks"]}
    assert {"TABLE_MISSING", "T3_ROW_TOTAL", "T4_TOTAL"} <= codes
    assert {r["template"] for r in records} == {"2019", "2021"}
    money = [r["active_disclosure"]["fees"]["amount_wan_yuan"] for r in records
             if r["template"] == "2021" and r["active_disclosure"]]
    assert money and all(isinstance(v, float) or v is None for v in money)
    for r in records:
        for c in r["checks"]:
            assert all(v is None or isinstance(v, (int, float)) for v in (c["expected"], c["found"]))


def test_dump_loads_in_pyarrow_json(dump, records):
    import pyarrow.json as pj

    table = pj.read_json(str(dump))
    assert table.num_rows == len(records)
    assert table.column("template").to_pylist() == [r["template"] for r in records]
    expected_type = table.schema.field("checks").type.value_type.field("expected").type
    assert pa.types.is_integer(expected_type) or pa.types.is_floating(expected_type)


def test_dump_loads_in_pandas_and_goes_to_parquet(dump, records, tmp_path):
    frame = pd.read_json(dump, lines=True, dtype={"template": str, "id": str})   # the README's call
    assert frame["template"].tolist() == [r["template"] for r in records]
    assert frame["id"].tolist() == [r["id"] for r in records]
    frame.to_parquet(tmp_path / "records.parquet")
    back = pd.read_parquet(tmp_path / "records.parquet")
    assert [None if pd.isna(a) else a for a in back["agency"]] == [r["agency"] for r in records]
    assert list(back["checks"].map(len)) == [len(r["checks"]) for r in records]


def test_dump_loads_in_duckdb(dump, records):
    rows = duckdb.sql(f"SELECT id, template, len(checks) FROM read_json_auto('{dump}')").fetchall()
    assert rows == [(r["id"], r["template"], len(r["checks"])) for r in records]


# ---------------------------------------------------------------- export
def cell_of(record, table, row, column):
    """The record's value of a cell, read independently of harvester.export."""
    data = record[table]
    if table == "requests":
        return data["rows"][row][TABLE3_COLUMNS.index(column)] if row in data["rows"] else None
    if table == "review_litigation":
        return data[row][TABLE4_FIELDS.index(column)]
    return (data.get(row) or {}).get(column)


def test_statutory_column_names_are_stable():
    names = [c.name for c in statutory_cells()]
    assert len(names) == len(set(names)) == 29 + 26 * 7 + 15
    assert names[:3] == ["t2__regulations__made", "t2__regulations__published", "t2__regulations__total_published"]
    for name in ("t2__regulations__in_force", "t2__fees__amount_wan_yuan", "t2__procurement__amount_wan_yuan",
                 "t3__carried_over__total", "t3__other__total", "t3__other_misc__legal_service",
                 "t3__carried_forward__total", "t4__litigation_after_review__pending"):
        assert name in names
    assert names[-1] == "t4__litigation_after_review__total"
    assert names.index("t3__new__natural_person") < names.index("t3__total__total") < names.index("t3__carried_forward__total")


def test_parquet_export_reads_back_in_pyarrow_and_duckdb(dump, records, tmp_path, capsys):
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    assert main(["export", str(dump), "--format", "parquet", "--out", str(out)]) == 0
    assert "records 12" in capsys.readouterr().out
    wide = pq.read_table(out / "wide.parquet")
    cells = statutory_cells()
    assert wide.column_names[:4] == ["id", "agency", "region", "year"]
    assert {"source_url", "fetched_at", "warc_file", "warc_offset", "warc_record_id"} <= set(wide.column_names)
    assert wide.column_names[-len(cells):] == [c.name for c in cells]
    assert wide.schema.field("t3__new__total").type == pa.int64()
    assert wide.schema.field("t2__fees__amount_wan_yuan").type == pa.float64()
    rows = {r["id"]: r for r in wide.to_pylist()}
    compared = 0
    for record in records:
        row = rows[record["id"]]
        assert (row["agency"], row["year"], row["template"]) == (record["agency"], record["year"], record["template"])
        assert row["checks_failed"] == len(record["checks"])
        for c in cells:
            if record[c.table] is not None and (c.table != "active_disclosure" or c.row in record[c.table]):
                assert row[c.name] == cell_of(record, c.table, c.row, c.column), (record["id"], c.name)
                compared += 1
            else:
                assert row[c.name] is None
    assert compared > 1500
    # a known value, from the document itself (pingtan-2019: 23 new requests, all from natural persons)
    pingtan = next(r for r in rows.values() if r["agency"] == "平潭综合实验区" and r["year"] == 2019)
    assert (pingtan["t3__new__natural_person"], pingtan["t3__new__total"]) == (23, 23)

    con = duckdb.connect()
    n_long = con.execute(f"SELECT count(*) FROM '{out / 'long.parquet'}'").fetchone()[0]
    assert n_long == sum(1 for r in records for c in cells
                         if r[c.table] is not None and (c.table != "requests" or c.row in r["requests"]["rows"])
                         and (c.table != "active_disclosure" or (c.row in r[c.table] and c.column in r[c.table][c.row])))
    pivot = con.execute(f"""SELECT id, value FROM '{out / "long.parquet"}'
                            WHERE "table" = 'requests' AND "row" = 'new' AND "column" = 'total' ORDER BY id""").fetchall()
    new_total = lambda r: r["requests"]["rows"]["new"][6]  # noqa: E731
    assert pivot == sorted((r["id"], None if new_total(r) is None else float(new_total(r)))
                           for r in records if r["requests"])
    missing = con.execute(f"""SELECT "row", expected, found FROM '{out / "checks.parquet"}'
                              WHERE code = 'TABLE_MISSING'""").fetchall()
    assert missing and all(e is None and f is None for _, e, f in missing)


def test_duckdb_and_csv_exports_hold_the_same_tables(dump, records, tmp_path):
    db = tmp_path / "nianbao.duckdb"
    assert main(["export", str(dump), "--format", "duckdb", "--out", str(db)]) == 0
    con = duckdb.connect(str(db), read_only=True)
    assert {t for (t,) in con.execute("SHOW TABLES").fetchall()} == {"wide", "long", "checks", "series_checks"}
    assert con.execute("SELECT count(*) FROM wide").fetchone()[0] == len(records)
    assert con.execute("SELECT sum(t3__new__total) FROM wide").fetchone()[0] == sum(
        r["requests"]["rows"]["new"][6] for r in records if r["requests"] and r["requests"]["rows"]["new"][6])
    con.close()
    assert oct(os.stat(db).st_mode & 0o777) == oct(0o666 & ~current_umask())

    out = tmp_path / "csv"
    assert main(["export", str(dump), "--format", "csv", "--out", str(out)]) == 0
    with open(out / "wide.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["template"] for r in rows] == [r["template"] for r in records]
    with open(out / "long.csv", encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["id", "agency", "year", "table", "row", "column", "value"]


def test_series_findings_are_exported(records, tmp_path):
    base = next(r for r in records if r["agency"] == "平潭综合实验区" and r["year"] == 2019)
    before = copy.deepcopy(base)
    before.update(year=2018, id="made-up-2018")
    before["requests"]["rows"]["carried_forward"] = [1, 0, 0, 0, 0, 0, 1]
    tables = build_tables([before, base])
    findings = tables["series_checks"].to_pylist()
    assert {(f["code"], f["year"], f["column"]) for f in findings} >= {("CARRIED_OVER", 2019, "total")}
    wide = {r["id"]: r for r in tables["wide"].to_pylist()}
    assert wide[base["id"]]["series_findings"] == len(findings) and wide["made-up-2018"]["series_findings"] == 0


@pytest.mark.parametrize("setup,args,message", [
    ("none", ["{tmp}/nope.jsonl", "--format", "csv", "--out", "{tmp}/o"], "no such file or folder"),
    ("none", ["{tmp}", "--format", "csv", "--out", "{tmp}/o"], "not a crawl output folder"),
    ("empty", ["{tmp}/records.jsonl", "--format", "csv", "--out", "{tmp}/o"], "no records in"),
    ("garbage", ["{tmp}/records.jsonl", "--format", "csv", "--out", "{tmp}/o"], "2 unreadable lines"),
    ("dump", ["{tmp}/records.jsonl", "--format", "parquet", "--out", "/proc/nianbao"], "cannot write /proc/nianbao"),
    ("dump", ["{tmp}/records.jsonl", "--format", "csv", "--out", "{tmp}/records.jsonl"], "is a file"),
    ("dump", ["{tmp}/records.jsonl", "--format", "duckdb", "--out", "{tmp}"], "is a folder"),
    ("dump", ["{tmp}/records.jsonl", "--format", "duckdb", "--out", "{tmp}/no/such/x.duckdb"], "no such folder"),
    ("dump", ["{tmp}/records.jsonl", "--format", "duckdb", "--out", "{tmp}/records.jsonl"], "is the dump being read"),
    ("dump", ["{tmp}", "--format", "duckdb", "--out", "{tmp}/reports/records.jsonl"], "is the dump being read"),
    ("notes", ["{tmp}/records.jsonl", "--format", "duckdb", "--out", "{tmp}/notes.txt"], "not a DuckDB database"),
])
def test_bad_arguments_give_one_line(tmp_path, capsys, records, setup, args, message):
    dump = tmp_path / "records.jsonl"
    if setup == "empty":
        dump.write_text("\n", encoding="utf-8")
    elif setup == "garbage":
        dump.write_text("{not json\n[1, 2]\n", encoding="utf-8")
    elif setup in ("dump", "notes"):
        dump.write_text(json.dumps(records[0], ensure_ascii=False) + "\n", encoding="utf-8")
    if "reports/records.jsonl" in args[-1]:   # SRC is a crawl folder holding the dump
        (tmp_path / "reports").mkdir()
        dump = dump.rename(tmp_path / "reports" / "records.jsonl")
    notes = tmp_path / "notes.txt"
    if setup == "notes":
        notes.write_text("my notes\n", encoding="utf-8")
    status = main(["export", *(a.replace("{tmp}", str(tmp_path)) for a in args)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("harvester export: ") and message in err, err
    if setup == "dump" and "records.jsonl" in args[-1]:
        assert dump.read_text(encoding="utf-8").strip() == json.dumps(records[0], ensure_ascii=False)
    if setup == "notes":
        assert notes.read_text(encoding="utf-8") == "my notes\n"


def test_duckdb_export_replaces_an_earlier_export(records, tmp_path, capsys):
    dump = tmp_path / "records.jsonl"
    dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:2]), encoding="utf-8")
    out = tmp_path / "nianbao.duckdb"
    assert main(["export", str(dump), "--format", "duckdb", "--out", str(out)]) == 0
    dump.write_text(json.dumps(records[0], ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["export", str(dump), "--format", "duckdb", "--out", str(out)]) == 0
    with duckdb.connect(str(out), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM wide").fetchone() == (1,)


def test_unreadable_lines_are_counted_and_the_rest_exported(tmp_path, capsys, records):
    dump = tmp_path / "records.jsonl"
    dump.write_text("oops\n" + json.dumps(records[0], ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["export", str(dump), "--format", "csv", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "1 unreadable lines skipped" in captured.err and "records 1," in captured.out


def test_malformed_records_are_exported_not_fatal(records, tmp_path):
    odd = copy.deepcopy(records[0])
    odd.update(agency=123, year="2020", template=None, checks=["not a check", {"code": "T4_TOTAL", "expected": "x"}],
               source={"url": ["a"], "warc_offset": "12", "attachments": [None, {"url": "http://a/b.pdf"}]})
    odd["requests"]["rows"]["new"] = ["1", None, True, 0, 0, 0, 1]
    tables = build_tables([odd, records[1]])
    wide = tables["wide"].to_pylist()
    assert wide[0]["agency"] == "123" and wide[0]["year"] is None and wide[0]["warc_offset"] is None
    assert wide[0]["source_url"] == '["a"]' and wide[0]["attachment_urls"] == "http://a/b.pdf"
    assert (wide[0]["t3__new__natural_person"], wide[0]["t3__new__research"], wide[0]["t3__new__total"]) == (None, None, 1)
    assert tables["checks"].to_pylist()[0]["expected"] is None


@pytest.mark.parametrize("args,message", [
    (["--out", "{tmp}"], "is a folder"), (["--out", "{tmp}/no/such/page.html"], "no such folder"),
    (["--out", "/proc/page.html"], "cannot write"), (["--replay-prefix", "javascript:alert(1)//"], "http(s) URL"),
    (["--out", "{tmp}/records.jsonl"], "is the dump being read")])
def test_report_command_bad_arguments_give_one_line(tmp_path, capsys, records, args, message):
    dump = tmp_path / "records.jsonl"
    dump.write_text(json.dumps(records[0], ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["report", str(dump), *(a.replace("{tmp}", str(tmp_path)) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harvester report: ") and message in err, err
    assert dump.read_text(encoding="utf-8").strip() == json.dumps(records[0], ensure_ascii=False)
