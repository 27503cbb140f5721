"""The record's published JSON Schema (harvester/schema/record.json) and a validator for it."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    return json.loads(resources.files("harvester").joinpath("schema/record.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema())


def schema_errors(record: dict[str, Any]) -> list[str]:
    """Every way the record breaks the schema, as `path: message` lines (empty when valid)."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}"
            for e in _validator().iter_errors(record)]
