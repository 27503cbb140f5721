"""``WarcPointer``: where a capture is stored, and its one form in ``request.meta["warc"]``.

The capture middleware puts ``pointer.to_meta()`` into the request's meta; callbacks, the
pipelines (a record's ``source``), the crawl state and replay read it back with
``WarcPointer.from_meta(meta["warc"])``. The dict keys are stable (they are the record's
``source`` fields): ``warc_file``, ``warc_offset``, ``warc_length``, ``warc_record_id``,
``fetched_at``, ``payload_digest``, and ``truncated`` when the body ended early.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["WarcPointer"]


@dataclass(frozen=True, slots=True)
class WarcPointer:
    """Where a response (or revisit) record was stored: enough to cite it and to read it back."""

    warc_file: str  # file name (final name, no directory, no ".open")
    offset: int  # byte offset of the record in the file
    length: int  # length of the (gzipped) record in the file
    record_id: str  # WARC-Record-ID of the response record
    warc_date: str  # WARC-Date, ISO 8601 UTC with microseconds
    request_record_id: str = ""
    payload_digest: str = ""  # WARC-Payload-Digest of the record ("" when unknown)
    truncated: str | None = None  # WARC-Truncated reason ("length") when the body ended early

    def to_meta(self) -> dict[str, Any]:
        """The ``meta["warc"]`` dict (what pipelines copy into a record's ``source``)."""
        meta: dict[str, Any] = {
            "warc_file": self.warc_file,
            "warc_offset": self.offset,
            "warc_length": self.length,
            "warc_record_id": self.record_id,
            "fetched_at": self.warc_date,
            "payload_digest": self.payload_digest,
        }
        if self.truncated:
            meta["truncated"] = self.truncated
        return meta

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> "WarcPointer | None":
        """The pointer in a ``meta["warc"]`` dict; None when there is none."""
        if not meta or not meta.get("warc_record_id"):
            return None
        return cls(
            warc_file=meta.get("warc_file") or "",
            offset=int(meta.get("warc_offset") or 0),
            length=int(meta.get("warc_length") or 0),
            record_id=meta["warc_record_id"],
            warc_date=meta.get("fetched_at") or "",
            payload_digest=meta.get("payload_digest") or "",
            truncated=meta.get("truncated"),
        )
