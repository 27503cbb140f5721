"""The five layout classes of real reports the parser once misread, each on a small document
written the way those reports print it (the corpus-wide proof is tests/test_parse_layouts.py)."""
from harvester.report import parse_document
from harvester.report.tables import candidate_splits
from test_parse_formats import T3_LABELS

KEYS = ["new", "carried_over", "granted", "partly_granted", "denied_state_secret", "denied_prohibited_by_law",
        "denied_security_stability", "denied_third_party_rights", "denied_internal_affairs",
        "denied_process_information", "denied_enforcement_files", "denied_administrative_query",
        "unavailable_not_held", "unavailable_needs_creation", "unavailable_unclear", "not_processed_petition",
        "not_processed_duplicate", "not_processed_publication", "not_processed_excessive", "not_processed_confirm",
        "other_no_correction", "other_fee_unpaid", "other_misc", "total", "carried_forward"]
TITLE = "某县人民政府2022年政府信息公开工作年度报告"
T2 = ("二、主动公开政府信息情况\n第二十条第(一)项\n| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |\n"
      "| 规章 | 1 | 0 | 3 |\n| 行政规范性文件 | 5 | 2 | 40 |\n")


def rows_with(values: dict[str, list[int]]) -> dict[str, list[int]]:
    return {k: values.get(k, [0] * 7) for k in KEYS}


GOLD = rows_with({"new": [11, 0, 0, 0, 0, 0, 11], "carried_over": [1, 0, 0, 0, 0, 0, 1],
                  "granted": [10, 0, 0, 0, 0, 0, 10], "total": [10, 0, 0, 0, 0, 0, 10],
                  "carried_forward": [2, 0, 0, 0, 0, 0, 2]})


def test_ocr_markdown_with_per_row_tables_and_placeholder_headers():
    parts = [f"# {TITLE}", T2, "三、收到和处理政府信息公开申请情况",
             "| 申请人情况 | | | | | | | |\n|---|---|---|---|---|---|---|---|\n"]
    for n, (label, key) in enumerate(zip(T3_LABELS, KEYS)):
        parts.append("| 项目 | 数据1 | 数据2 | 数据3 | 数据4 | 数据5 | 数据6 | 数据7 |\n|---|---|---|---|---|---|---|---|")
        if n % 5 == 4:  # the header row repeated between rows
            parts.append("| | 自然人 | 商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他 | 总计 |")
        parts.append("| " + " | ".join([label] + [str(v) for v in GOLD[key]]) + " |\n")
    record = parse_document("\n".join(parts).encode(), name="ocr.md")
    assert record["requests"]["rows"] == GOLD
    assert record["agency"] == "某县人民政府"  # markup ("# ") never leaks into a field


def test_floating_annotation_never_shifts_a_value_into_its_neighbours_column():
    text = (f"{TITLE}\n二、主动公开政府信息情况\n第二十条第(一)项\n22 (其中修订16件)\n"
            "| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |\n|---|---|---|---|\n"
            "| 规章 | 0 | 0 | 0 |\n| 行政规范性文件 | 30 | 120 |\n")
    record = parse_document(text.encode(), name="pdf.md")
    table = record["active_disclosure"]
    assert table["regulations"] == {"issued": 0, "repealed": 0, "in_force": 0}
    assert table["normative_documents"] == {"issued": None, "repealed": None, "in_force": None}
    assert any("normative_documents" in w and "which column is missing is unknown" in w for w in record["warnings"])


def test_markdown_markers_do_not_leak_into_agency_or_title():
    for line in (f"# {TITLE}", f"## **{TITLE}**", f"> {TITLE}"):
        record = parse_document(f"{line}\n{T2}".encode(), name="r.md")
        assert (record["agency"], record["title"]) == ("某县人民政府", TITLE), line


def cms_page(printed_office: str, year: int) -> bytes:
    title = f"某某经济开发区管委会{year}年度政府信息公开工作年度报告"
    return f"""<html><head><meta name="ArticleTitle" content="{title}"><title>{title}_某某经济开发区</title>
<meta name="PubDate" content="{year + 1}-01-20 10:00"></head><body><div class="trs_editor_view">
<p>政府信息公开工作年度报告</p><p>本报告由{printed_office}编制。</p>{T2.replace(chr(10), '<br>')}
<p>{printed_office}</p><p>{year + 1}年1月20日</p></div></body></html>""".encode()


def test_cms_page_with_a_bare_body_heading_takes_the_full_title_from_the_page():
    record = parse_document(cms_page("某某经济开发区管委会办公室", 2020), name="t.html")
    assert record["title"] == "某某经济开发区管委会2020年度政府信息公开工作年度报告"
    assert record["agency"] == "某某经济开发区管委会" and record["year"] == 2020
    assert record["published"] == "2021-01-20"


def test_portal_agency_keeps_one_identity_per_agency_year():
    portal = {"portal_agency": "某某经济开发区管理委员会"}
    a = parse_document(cms_page("某某经济开发区管委会办公室", 2020), name="a.html", meta=portal)
    renamed = cms_page("某某经济开发区管委会", 2020).decode().replace("某某经济开发区管委会2020", "某某开发区2020")
    b = parse_document(renamed.encode(), name="b.html", meta=portal)
    c = parse_document(cms_page("某某经济开发区管委会", 2021), name="c.html", meta=portal)
    assert a["agency"] != b["agency"]  # printed names are kept as printed…
    assert a["id"] == b["id"] != c["id"]  # …and the agency-year stays one identity


def glued_table3(rows: dict[str, list[int]]) -> bytes:
    """An archiver's textContent dump of table 三: labels and digits with no separator at all."""
    body = "".join(label + "".join(str(v) for v in rows[key]) for label, key in zip(T3_LABELS, KEYS))
    return f"{TITLE}\n{T2}三、收到和处理政府信息公开申请情况申请人情况自然人总计{body}四、政府信息公开行政复议、行政诉讼情况\n".encode()


def test_glued_digits_with_several_row_splits_are_decided_by_the_balance():
    # "110000011" fits the row sum as 11|0|0|0|0|0|11 and as 1|10|0|0|0|0|11 (and more): only one
    # choice keeps new + carried over = total + carried forward in every column
    assert len(candidate_splits(["110000011"], 7, lambda v: v[6] == sum(v[:6]))[0]) > 1
    record = parse_document(glued_table3(GOLD), name="glued.txt")
    assert record["requests"]["rows"]["new"] == [11, 0, 0, 0, 0, 0, 11]
    assert record["requests"]["rows"] == GOLD


def test_glued_digits_that_the_identities_cannot_decide_stay_null_with_a_warning():
    rows = dict(GOLD, carried_forward=[10, 0, 0, 0, 0, 0, 10], total=[11, 0, 0, 0, 0, 0, 11],
                granted=[11, 0, 0, 0, 0, 0, 11], carried_over=[10, 0, 0, 0, 0, 0, 10],
                new=[11, 0, 0, 0, 0, 0, 11])
    record = parse_document(glued_table3(rows), name="glued.txt")
    got = record["requests"]["rows"]
    for key in ("new", "carried_over", "granted", "total", "carried_forward"):
        assert got[key] in (rows[key], [None] * 7), key  # right or null, never a wrong split
    assert any(v is None for key in ("new", "total") for v in got[key])
    assert any("identities" in w for w in record["warnings"])
