"""Cross-year checks (harvester.series) on constructed series: each rule holds and fails."""
import copy

import pytest

from harvester.report.record import blank_record, record_id
from harvester.series import JUMP_FACTOR, JUMP_FLOOR, is_jump, series_checks


def make(agency, year, *, carried_over=0, carried_forward=0, new=10, in_force=None, issued=0, repealed=0,
         penalties=5, region=None):
    """A 2021-template record whose table 三 balances; only the cells the rules read are set."""
    r = blank_record()
    r.update(agency=agency, year=year, template="2021", id=record_id(agency, year, ""))
    if region:
        r["region"] = region
    row = lambda n: [n, 0, 0, 0, 0, 0, n]  # noqa: E731  (all requests from natural persons)
    r["requests"] = {"columns": [], "rows": {"new": row(new), "carried_over": row(carried_over),
                                             "granted": row(new + carried_over - carried_forward),
                                             "total": row(new + carried_over - carried_forward),
                                             "carried_forward": row(carried_forward)}}
    docs = {"issued": issued, "repealed": repealed, "in_force": in_force}
    r["active_disclosure"] = {"regulations": dict(docs), "normative_documents": dict(docs),
                              "licensing": {"decisions": 100}, "penalties": {"decisions": penalties},
                              "enforcement": {"decisions": None}, "fees": {"amount_wan_yuan": 1.5}}
    r["review_litigation"] = {g: [1, 0, 0, 0, 1] for g in ("review", "litigation_direct", "litigation_after_review")}
    return r


def codes(findings):
    return [(f["code"], f["year"], f["row"], f["column"]) for f in findings]


def test_consistent_series_has_no_findings():
    records = [make("某区人民政府", 2021, carried_forward=3, in_force=10, issued=10),
               make("某区人民政府", 2022, carried_over=3, carried_forward=0, in_force=12, issued=4, repealed=2),
               make("某区人民政府", 2023, carried_over=0, in_force=12)]
    assert series_checks(records) == []


def test_carried_over_must_equal_last_years_carried_forward():
    records = [make("某区人民政府", 2021, carried_forward=3), make("某区人民政府", 2022, carried_over=2)]
    found = series_checks(records)
    assert codes(found) == [("CARRIED_OVER", 2022, "carried_over", "natural_person"),
                            ("CARRIED_OVER", 2022, "carried_over", "total")]
    assert (found[0]["expected"], found[0]["found"], found[0]["previous_year"]) == (3, 2, 2021)
    assert found[0]["record_id"] == records[1]["id"] and found[0]["previous_record_id"] == records[0]["id"]


def test_in_force_follows_last_year_plus_issued_minus_repealed():
    good = [make("甲局", 2021, in_force=20), make("甲局", 2022, in_force=23, issued=5, repealed=2)]
    assert series_checks(good) == []
    bad = [make("甲局", 2021, in_force=20), make("甲局", 2022, in_force=25, issued=5, repealed=2)]
    found = series_checks(bad)
    assert codes(found) == [("IN_FORCE", 2022, "regulations", "in_force"),
                            ("IN_FORCE", 2022, "normative_documents", "in_force")]
    assert (found[0]["expected"], found[0]["found"]) == (23, 25)


def test_rules_need_every_number_and_consecutive_years():
    # 2019-template year before (no in_force), an empty cell, a gap: nothing can be checked, nothing fails
    no_in_force = [make("乙局", 2021, in_force=None), make("乙局", 2022, in_force=99, issued=1)]
    assert series_checks(no_in_force) == []
    gap = [make("乙局", 2020, carried_forward=7), make("乙局", 2022, carried_over=0)]
    assert series_checks(gap) == []


@pytest.mark.parametrize("previous,current,jump", [
    (10, 10 * JUMP_FACTOR, True), (10 * JUMP_FACTOR, 10, True), (0, JUMP_FLOOR, True),
    (10, 10 * JUMP_FACTOR - 1, False), (0, JUMP_FLOOR - 1, False), (3, 40, False), (100, 120, False)])
def test_jump_rule(previous, current, jump):
    assert is_jump(previous, current) is jump


def test_sudden_jump_in_a_headline_figure_is_reported():
    records = [make("丙局", 2022, penalties=12), make("丙局", 2023, penalties=1200)]
    found = series_checks(records)
    assert codes(found) == [("JUMP", 2023, "penalties", "decisions")]
    assert (found[0]["table"], found[0]["expected"], found[0]["found"]) == ("active_disclosure", 12, 1200)
    assert series_checks([make("丙局", 2022, penalties=12), make("丙局", 2023, penalties=40)]) == []


def test_series_are_grouped_by_normalised_agency_and_region():
    spaced = make("某区 人民政府", 2022, carried_over=2)
    records = [make("某区人民政府", 2021, carried_forward=3), spaced]
    assert {f["code"] for f in series_checks(records)} == {"CARRIED_OVER"}
    # the same name in two regions is two series: nothing to compare
    a, b = make("城关镇人民政府", 2021, carried_forward=3, region="甲县"), make("城关镇人民政府", 2022, region="乙县")
    assert series_checks([a, b]) == []


def test_two_records_for_one_year_are_reported_not_compared():
    one = make("丁局", 2022, carried_over=9)
    two = copy.deepcopy(one)
    two["agency"], two["id"] = "丁局 ", "other-id"
    found = series_checks([make("丁局", 2021, carried_forward=3), one, two])
    assert [f["code"] for f in found] == ["DUPLICATE_YEAR", "DUPLICATE_YEAR"]
    assert {f["record_id"] for f in found} == {one["id"], "other-id"}


def test_records_without_agency_or_year_are_left_out():
    nameless = make("x", 2022)
    nameless["agency"] = None
    assert series_checks([nameless, make("x", 2021, carried_forward=5)]) == []
