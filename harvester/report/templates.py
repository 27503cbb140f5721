"""The statutory templates as data: every heading, row label and column of the three tables.

A new label variant seen in the wild is one line here. Patterns are regular expressions applied
to cell text after normalisation (Simplified script, NFKC, all whitespace removed), so
`（一）` is already `(一)` and a label split over lines or spans is already joined.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Numbering in front of a label: "1." "1、" "(一)" "一、" — stripped off a glued value run.
NUMBERING_TAIL = re.compile(r"(?:\d[.．、]|\([一二三四五六七八九十]\)|[一二三四五六七八九十][、.])$")

# ---------------------------------------------------------------- sections (一 … 六)
SECTION_KEYS = ("overview", "active", "requests", "review_litigation", "problems", "other")
SECTION_HEADINGS: dict[str, re.Pattern[str]] = {
    "overview": re.compile(r"^一[、.]\s*(总体情况|概述|概况)"),
    "active": re.compile(r"^二[、.]\s*主动公开"),
    "requests": re.compile(r"^三[、.]\s*(收到和处理|依申请)"),
    "review_litigation": re.compile(r"^四[、.]\s*(?:因)?政府信息公开.{0,12}(复议|诉讼)"),
    "problems": re.compile(r"^五[、.]\s*.{0,12}(问题|不足)"),
    "other": re.compile(r"^六[、.]\s*其他"),
}

# ---------------------------------------------------------------- where each table starts / ends
TABLE2_START = re.compile(r"第二十条第\(一\)项")
TABLE3_ANCHOR = re.compile(r"本年新收.{0,4}政府信息公开申请")
TABLE3_HEADING = re.compile(r"收到和处理政府信息公开申请|勾稽关系|申请人情况")
TABLE3_LAST_ROW = re.compile(r"结转下年度")
TABLE4_HEADING = re.compile(r"行政(?:法)?复议.{0,6}行政诉讼|复议.{0,4}诉讼情况")  # "行政法复议" is a real typo
TABLE4_HEADER_TAIL = re.compile(r"(总计|审结)$")
TABLE4_END = re.compile(r"^(五[、.]|\(?五\)?[、.)]?\s*存在|存在的?主要问题|\(一\)主要问题)")

# ---------------------------------------------------------------- templates
TEMPLATE_2019 = "2019"
TEMPLATE_2021 = "2021"

# Header words that only one template prints (table 二 decides the template).
TEMPLATE_MARKERS: dict[str, re.Pattern[str]] = {
    TEMPLATE_2021: re.compile(r"本年制发件数|本年废止件数|现行有效件数|本年处理决定数量|本年收费金额|逾期不补正|逾期未按收费"),
    TEMPLATE_2019: re.compile(r"本年新制作|本年新公开|上一年项目数量|本年增/减|采购项目数量|政府集中采购|对外公开总数量"),
}


@dataclass(frozen=True)
class Row:
    """A row of a statutory table: its key in the record, its label pattern, its fields."""

    key: str
    label: re.Pattern[str]
    fields: tuple[str, ...] = ()
    money: tuple[str, ...] = ()  # fields normalised to 万元


def _row(key: str, label: str, fields: tuple[str, ...] = (), money: tuple[str, ...] = ()) -> Row:
    return Row(key, re.compile(label), fields, money)


_MADE_2019 = ("made", "published", "total_published")
_ITEMS_2019 = ("previous_items", "change", "decisions")
_ISSUED_2021 = ("issued", "repealed", "in_force")

# Table 二: 主动公开政府信息情况. Order matters only for reading glued text.
TABLE2_ROWS: dict[str, tuple[Row, ...]] = {
    TEMPLATE_2019: (
        _row("regulations", r"^(\d[.、])?规章$", _MADE_2019),
        _row("normative_documents", r"^(行政)?规范性文件$", _MADE_2019),
        _row("licensing", r"^行政许可$", _ITEMS_2019),
        _row("other_services", r"^其他对外管理服务事项$", _ITEMS_2019),
        _row("penalties", r"^行政处罚$", _ITEMS_2019),
        _row("enforcement", r"^行政强制$", _ITEMS_2019),
        _row("fees", r"^行政事业性收费$", ("previous_items", "change")),
        _row("procurement", r"^政府集中采购$", ("items", "amount_wan_yuan"), money=("amount_wan_yuan",)),
    ),
    TEMPLATE_2021: (
        _row("regulations", r"^(\d[.、])?规章$", _ISSUED_2021),
        _row("normative_documents", r"^(行政)?规范性文件$", _ISSUED_2021),
        _row("licensing", r"^行政许可$", ("decisions",)),
        _row("penalties", r"^行政处罚$", ("decisions",)),
        _row("enforcement", r"^行政强制$", ("decisions",)),
        _row("fees", r"^行政事业性收费$", ("amount_wan_yuan",), money=("amount_wan_yuan",)),
    ),
}

# Table 三: 收到和处理政府信息公开申请情况 — columns, then rows in statutory order.
TABLE3_COLUMNS = ["natural_person", "commercial", "research", "social_welfare", "legal_service", "other_org", "total"]

_T3_HEAD = (
    _row("new", r"本年新收.{0,4}政府信息公开申请"),
    _row("carried_over", r"上年结转.{0,4}政府信息公开申请"),
    _row("granted", r"予以公开$"),
    _row("partly_granted", r"部分公开"),
    _row("denied_state_secret", r"属于国家秘密"),
    _row("denied_prohibited_by_law", r"其他法律行政法规禁止公开|其他法律.{0,6}禁止公开"),
    _row("denied_security_stability", r"三安全一稳定"),
    _row("denied_third_party_rights", r"保护第三方合法权益"),
    _row("denied_internal_affairs", r"三类内部事务"),
    _row("denied_process_information", r"四类过程性"),
    _row("denied_enforcement_files", r"行政执法案卷"),
    _row("denied_administrative_query", r"行政查询事项"),
    _row("unavailable_not_held", r"本机关不掌握"),
    _row("unavailable_needs_creation", r"没有现成信息"),
    _row("unavailable_unclear", r"补正后申请内容"),
    _row("not_processed_petition", r"信访举报投诉"),
    _row("not_processed_duplicate", r"重复申请$"),
    _row("not_processed_publication", r"公开出版物"),
    _row("not_processed_excessive", r"大量反复申请|无正当理由大量反复"),
    _row("not_processed_confirm", r"确认或重新出具"),
)
_T3_TAIL = (
    _row("total", r"\(七\)总计$|^总计$"),
    _row("carried_forward", r"结转下年度"),
)
T3_OTHER_2019 = _row("other", r"\(六\)其他处理$|^其他处理$")
T3_OTHER_2021 = (
    _row("other_no_correction", r"逾期不补正"),
    _row("other_fee_unpaid", r"逾期未按收费|缴纳费用"),
    _row("other_misc", r"^(\d[.、]|\(\d\))其他$"),
)
TABLE3_ROWS: dict[str, tuple[Row, ...]] = {
    TEMPLATE_2019: _T3_HEAD + (T3_OTHER_2019,) + _T3_TAIL,
    TEMPLATE_2021: _T3_HEAD + T3_OTHER_2021 + _T3_TAIL,
}
# Result rows 三(一)…(六): what the (七)总计 row must add up to.
T3_RESULT_ROWS = tuple(r.key for r in _T3_HEAD[2:]) + ("other",) + tuple(r.key for r in T3_OTHER_2021)

# Table 四: 行政复议、行政诉讼 — three groups of five.
TABLE4_GROUPS = ("review", "litigation_direct", "litigation_after_review")
TABLE4_FIELDS = ("upheld", "corrected", "other", "pending", "total")

# Cruft that CMS editors and archivers leave in the text.
CRUFT = re.compile(r"窗体顶端|窗体底端|\[\s*打印本页\s*\]|【\s*打印\s*】|【\s*关闭\s*】")
