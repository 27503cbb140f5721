"""A portal whose reports are only attachments: the detail page carries a line of text and a link
to `/uploadfiles/…/P0202….pdf` (the PDF as published) or `W0202….docx` (a Word rendition)."""
from __future__ import annotations

from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc, list_items
from harvester.sim.trs import trs_page

COL = "/zwgk/gknb/"


class AttachmentPortal(SimPortal):
    family = "TRS (attachments)"
    name = "attachments"
    agency = "淮安市人民政府"
    region = "江苏"
    level = "city"
    site_name = "淮安市人民政府"
    hints = {"notes": "reports only as PDF/DOCX attachments; single list page"}

    def setup(self) -> None:
        s = self.sim
        plan = [("huaian-2024", "202501/t20250125_1001.html", "/uploadfiles/202501/P020250125512345678901.pdf", "2025-01-25"),
                ("hongze-2024", "202501/t20250120_1002.html", "/uploadfiles/202501/P020250120398765432109.pdf", "2025-01-20"),
                ("hongze-2023", "202401/t20240125_1003.html", "/uploadfiles/202401/P020240125601234567890.pdf", "2024-01-25"),
                ("004_8b724c1b4f42e5ba", "202102/t20210205_1004.html",
                 "/uploadfiles/202102/W020210205123456789012.docx", "2021-02-05")]
        for name, detail, att, date in plan:
            self.add(SimReport(s.doc(name), att, "attachment", date, detail_path=COL + detail))

    def entry_paths(self) -> list[str]:
        return [COL + "index.html"]

    def new_report_path(self, doc, n: int) -> str:
        return f"/uploadfiles/202502/P0202502010000{n:08d}.pdf"

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, trs_page(self.site_name, "首页", f'<a href="{COL}index.html">政府信息公开年度报告</a>'))
        if p == COL + "index.html":
            items = [(r.detail_path, r.title, r.published) for r in self.reports]
            items.append((COL + "202212/t20221201_0999.html", "关于印发政府信息公开工作年度报告格式的通知", "2022-12-01"))
            return Resp(200, trs_page(self.site_name, "政府信息公开年度报告",
                                      f'<ul class="list">{list_items(items)}</ul>'))
        if p == COL + "202212/t20221201_0999.html":
            return Resp(200, trs_page(self.site_name, "通知", "<h1>关于印发政府信息公开工作年度报告格式的通知</h1>"
                                      '<p>附件：<a href="/uploadfiles/202212/W020221201000000000001.docx">报告格式.docx</a></p>'))
        if p == "/uploadfiles/202212/W020221201000000000001.docx":
            return Resp(200, b"PK\x03\x04 not a report", "application/octet-stream")
        for r in self.reports:
            if p == r.detail_path:
                g = r.gold
                fname = r.path.rsplit("/", 1)[-1]
                meta = f'<meta name="ArticleTitle" content="{esc(r.title)}" />' + (
                    f'<meta name="PubDate" content="{esc(r.published)}" />')
                body = f"""<div class="article"><h1>{esc(r.title)}</h1><div class="info">发布时间：{esc(r.published)}</div>
<div class="trs_editor_view TRS_UEDITOR"><p>现将{esc(g.get("agency") or "本机关")}{esc(g.get("year") or "")}年政府信息公开工作年度报告予以公布，详见附件。</p>
<p class="insertfileTag"><a href="{esc(r.path)}" OLDSRC="{esc(fname)}">{esc(r.title)}.{fname.rsplit(".", 1)[-1]}</a></p></div></div>"""
                return Resp(200, trs_page(self.site_name, r.title, body, meta), last_modified=r.mtime)
        return None
