"""Every report of the corpus in every layout the parser claims to read, compared with its gold.

The renderings come from `harvester.sim.layouts` (built from the gold records); a layout that
destroys a cell on purpose (a floating annotation) says which fields must then be null, and the
glued text dump may leave an ambiguous split null (warned), never wrong.
"""
import json

import pytest

from conftest import CORPUS
from goldcompare import leaves, mismatches
from harvester.report import parse_document
from harvester.report.schema import schema_errors
from harvester.sim.corpus import load_corpus
from harvester.sim.layouts import LAYOUTS, expected, render

DOCS = load_corpus(CORPUS)
PAIRS = [(name, layout) for name in sorted(DOCS) for layout in LAYOUTS]


def compare(name: str, layout: str) -> tuple[dict, list]:
    doc = DOCS[name]
    rendered = render(doc, layout)
    record = parse_document(rendered.data, name=rendered.name)
    assert schema_errors(record) == [], schema_errors(record)[:3]
    json.dumps(record, allow_nan=False)
    gold = expected(doc, layout, rendered)
    bad = mismatches(gold, record)
    if rendered.lenient or rendered.expect_null:
        # nulls the layout forced remove failures the gold's checks list: only new failures count
        # (a table whose every cell is empty leaves no trace in a glued dump: missing, rightly)
        want = {tuple(c) for c in gold.get("checks", [])} | {
            ("TABLE_MISSING", key, None) for key in ("active_disclosure", "requests", "review_litigation")
            if gold.get(key) and all(v is None for p, v in leaves(gold[key], (key,)) if "columns" not in p)}
        got = {(c["code"], c["row"], c["column"]) for c in record["checks"]}
        bad = [b for b in bad if b[0] != "checks" or not got <= want]
    return record, bad


@pytest.mark.parametrize("name,layout", PAIRS, ids=[f"{n}-{lay}" for n, lay in PAIRS])
def test_layout_matches_gold(name, layout):
    _, bad = compare(name, layout)
    assert bad == []
