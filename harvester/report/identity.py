"""The agency of an agency-year's identity (the record `id`), apart from the name as printed.

One agency prints its name differently from year to year (平潭综合实验区管委会 / 管委会办公室 /
平潭综合实验区管委会办公室, 洪泽区人民政府 / 淮安市洪泽区人民政府). When the caller knows the
portal's agency (the registry), a printed name that is that agency — or its own general office, or
a bare office name with no place in it — is identified by the portal's agency, so a series keeps one
id per year. A department publishing on its government's portal (XX市发展和改革委员会 on the XX市人民政府
portal) is another agency and keeps its own name. Pure; `agency` in the record stays as printed.
"""
from __future__ import annotations

import re
import unicodedata

# The body's general office: it publishes the body's report, it is not a separate agency.
GENERAL_OFFICE = re.compile(r"(办公室|办公厅|政务公开办公室|政府信息公开办公室)$")
# Names of a government body without a place: "管委会", "人民政府", "区政府" …
# A department (局, 委员会, 中心 …) is its own agency even under its government's name.
DEPARTMENT = re.compile(r"(局|(?<!管理)委员会|(?<!管)委|厅|中心|站|所|院|处|部|队|馆|公司|银行)$")
BARE_BODY = re.compile(r"^(区|县|市|镇|乡|街道)?(人民政府|政府|管委会|管理委员会|办事处)?$")


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


def identity_agency(printed: str | None, portal_agency: str | None) -> str | None:
    """The agency a record is identified by: the portal's when `printed` names it, else `printed`."""
    if not portal_agency:
        return printed
    if not printed:
        return portal_agency
    name, portal = _norm(printed), _norm(portal_agency)
    body = GENERAL_OFFICE.sub("", name)
    if BARE_BODY.match(body):
        return portal_agency                       # "管委会办公室", "办公室": the portal's own office
    if body == portal or portal.endswith(body) or body.endswith(portal):
        return portal_agency                       # same body, with or without its region prefix
    if _abbreviates(body, portal) and not DEPARTMENT.search(body):
        return portal_agency                       # 某某开发区 for 某某经济开发区管委会
    return printed


def _abbreviates(short: str, full: str) -> bool:
    """`short` keeps `full`'s first two characters and the rest of its characters in order."""
    if len(short) < 3 or short[:2] != full[:2]:
        return False
    rest = iter(full[2:])
    return all(ch in rest for ch in short[2:])
