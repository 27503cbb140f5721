"""A host outside the registry (a copy-cat mirror): linked from registered portals, it must never
be fetched. It is served so that a stray fetch shows up in Simulator.request_log."""
from __future__ import annotations

from harvester.sim.base import Request, Resp, SimPortal


class ForeignSite(SimPortal):
    family = "mirror"
    name = "foreign"
    agency = "（非政府网站镜像）"
    in_registry = False

    def route(self, req: Request) -> Resp | None:
        return Resp(200, "<html><head><title>2020年政府信息公开工作年度报告</title></head><body>"
                         "<h1>2020年上海市嘉定区新成路街道政府信息公开工作年度报告</h1><p>转载</p></body></html>")
