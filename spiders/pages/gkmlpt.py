"""Guangdong's shared disclosure platform `gkmlpt`: the column page `/gkmlpt/index` is empty and a
script fills it from the JSON API `/gkmlpt/api/all/{column id}?page=N&sid={site id}`; a column is a
hash route of that page (`/gkmlpt/index#2845`); details `/gkmlpt/content/4/4662/post_4662348.html`.
The API's JSON is read by the generic JSON reader (`jsonlist`)."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from harvester.spiders.pages.generic import GenericPage

SID = re.compile(r"""\bsid\s*[:=]\s*['"]?(\d+)""", re.I)


class GkmlptPage(GenericPage):
    family = "gkmlpt"
    hint = re.compile(r"gkmlpt", re.I)

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return "/gkmlpt/" in urlsplit(url).path or "/gkmlpt/api/" in text

    def api_url(self, column: str) -> str:
        m = SID.search(self.scripts())
        sid = f"&sid={m.group(1)}" if m else ""
        return urljoin(self.url, f"/gkmlpt/api/all/{column}?page=1{sid}")

    def route_endpoints(self, route: str) -> list[str]:
        return [self.api_url(route)] if route.isdigit() else []

    def list_endpoints(self) -> list[str]:
        # the API is built from the hash route, never a literal: the generic script reader would
        # only find the API's prefix
        return [u for u in super().list_endpoints() if "/gkmlpt/api/" not in u or re.search(r"/all/\d+", u)]
