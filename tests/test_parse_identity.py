"""The agency-year identity is stable across a portal's series; departments keep their own."""
from harvester.report import parse_document
from harvester.report.identity import identity_agency


def test_series_names_of_one_body_share_the_portal_identity():
    portal = "平潭综合实验区管委会"
    for printed in ("平潭综合实验区管委会", "平潭综合实验区管委会办公室", "管委会办公室", "办公室", None):
        assert identity_agency(printed, portal) == portal
    assert identity_agency("洪泽区人民政府", "淮安市洪泽区人民政府") == "淮安市洪泽区人民政府"
    assert identity_agency("淮安市洪泽区人民政府办公室", "洪泽区人民政府") == "洪泽区人民政府"
    assert identity_agency("某某开发区", "某某经济开发区管委会") == "某某经济开发区管委会"


def test_departments_and_unknown_portals_keep_their_printed_name():
    assert identity_agency("淮安市发展和改革委员会", "淮安市人民政府") == "淮安市发展和改革委员会"
    assert identity_agency("淮安市人民政府办公室", "淮安市发展和改革委员会") == "淮安市人民政府办公室"
    assert identity_agency("某某县人民政府", None) == "某某县人民政府"
    assert identity_agency("淮安市洪泽区人民政府", "淮安市人民政府") == "淮安市洪泽区人民政府"   # a district on its city's portal
    assert identity_agency("某某经济开发区建设局", "某某经济开发区管委会") == "某某经济开发区建设局"


def test_record_id_follows_the_identity_and_agency_stays_as_printed():
    def doc(agency: str) -> bytes:
        title = f"{agency}2020年政府信息公开工作年度报告"
        return (f'<html><head><meta name="ArticleTitle" content="{title}"><title>{title}</title></head>'
                f"<body><h1>{title}</h1><p>一、总体情况</p></body></html>").encode()

    a = parse_document(doc("平潭综合实验区管委会"), name="a.html", meta={"portal_agency": "平潭综合实验区管委会"})
    b = parse_document(doc("平潭综合实验区管委会办公室"), name="b.html", meta={"portal_agency": "平潭综合实验区管委会"})
    c = parse_document(doc("平潭综合实验区发展和改革局"), name="c.html", meta={"portal_agency": "平潭综合实验区管委会"})
    assert a["year"] == b["year"] == 2020
    assert a["id"] == b["id"] != c["id"]
    assert b["agency"] != a["agency"]
