"""Field-by-field comparison of a record with a gold label: the rules of ../shared/tools/score.py,
kept here so the project tests itself without ../shared."""
from __future__ import annotations

import math

FLAT = {
    "agency": ("agency",), "year": ("year",), "template": ("template",),
    "t3_new_total": ("requests", "rows", "new", 6),
    "t3_carried_total": ("requests", "rows", "carried_over", 6),
    "t3_granted_total": ("requests", "rows", "granted", 6),
    "t3_results_total": ("requests", "rows", "total", 6),
    "t3_carry_next_total": ("requests", "rows", "carried_forward", 6),
    "t3_new_natural": ("requests", "rows", "new", 0),
}


def dig(rec, path):
    for p in path:
        if rec is None:
            return None
        if isinstance(p, int):
            rec = rec[p] if isinstance(rec, list) and p < len(rec) else None
        else:
            rec = rec.get(p) if isinstance(rec, dict) else None
    return rec


def leaves(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, prefix + (k,))
    elif isinstance(obj, list) and prefix[-1:] != ("columns",):
        for i, v in enumerate(obj):
            yield from leaves(v, prefix + (i,))
    else:
        yield prefix, obj


def same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def mismatches(gold: dict, rec: dict) -> list[tuple[str, object, object]]:
    """(field, gold, parsed) for every gold field the record gets wrong."""
    bad = []
    if "file" in gold:  # flat labels (gold.jsonl)
        soft = set(gold.get("lenient", []))
        for k, path in FLAT.items():
            if gold.get(k) is not None:
                v = dig(rec, path)
                if not (same(gold[k], v) or (k in soft and v is None)):
                    bad.append((k, gold[k], v))
        if gold.get("t4") is not None:
            got = [dig(rec, ("review_litigation", g, i))
                   for g in ("review", "litigation_direct", "litigation_after_review") for i in range(5)]
            bad += [(f"t4[{i}]", a, b) for i, (a, b) in enumerate(zip(gold["t4"], got)) if not same(a, b)]
        if gold.get("t2_normative_docs") is not None:
            nd = dig(rec, ("active_disclosure", "normative_documents")) or {}
            v = next(iter(nd.values()), None)
            if not (same(gold["t2_normative_docs"], v) or ("t2_normative_docs" in soft and v is None)):
                bad.append(("t2_normative_docs", gold["t2_normative_docs"], v))
        return bad
    for key in ("agency", "year", "template", "published", "script", "title"):
        if key in gold and gold[key] is not None and not same(gold[key], rec.get(key)):
            bad.append((key, gold[key], rec.get(key)))
        if key in ("agency", "title") and key in gold and gold[key] is None and rec.get(key) is not None:
            bad.append((key, None, rec.get(key)))
    for key in ("active_disclosure", "requests", "review_litigation"):
        if gold.get(key) is None:
            if rec.get(key) is not None:
                bad.append((key, None, rec.get(key)))
            continue
        soft = key in gold.get("lenient", [])
        for path, g in leaves(gold[key], (key,)):
            v = dig(rec, path)
            if not (same(g, v) or (soft and v is None)):
                bad.append((".".join(map(str, path)), g, v))
    want = {tuple(c) for c in gold.get("checks", [])}
    got = {(c.get("code"), c.get("row"), c.get("column")) for c in rec.get("checks") or []}
    if want != got:
        bad.append(("checks", sorted(want, key=str), sorted(got, key=str)))
    return bad
