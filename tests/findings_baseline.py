"""Findings of the study runs the tests already make, compared with a recorded baseline.

The judgment-layer refactor (issue 11) promises that behaviour stays: the same finding ids,
slices and identity strings, estimates within 1e-9 and the same texts. The study runs that
other tests execute anyway (notebooks through the CLI) are compared here with the findings
recorded before the refactor in ``tests/baselines/<name>.json``, so the promise costs no
extra study run. ``JUDGELAB_UPDATE_BASELINES=1 python -m pytest ...`` rewrites a baseline
after a deliberate, reviewed change of behaviour.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

BASELINES = Path(__file__).parent / "baselines"
TOLERANCE = 1e-9
# Fields compared as text; every other field is compared as a number (or exactly, if not one).
_TEXT = ("method", "statistic", "reason", "conclusion")
# Run-specific fields with no bearing on behaviour.
_IGNORED = ("created_at",)


def _key(row: dict) -> str:
    return json.dumps([row.get("id"), row.get("judge"), row.get("slice")], sort_keys=True)


def _compact(doc: dict) -> dict:
    rows = sorted(doc["findings"], key=_key)
    return {"study": doc["study"], "findings": rows}


def _same(a, b) -> bool:
    """Equal within TOLERANCE, recursively; absolute paths of output files by their name
    (a run's output directory is not behaviour)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a.startswith("/") and b.startswith("/"):
        return Path(a).name == Path(b).name
    numbers = (int, float)
    if (
        isinstance(a, bool)
        or isinstance(b, bool)
        or not (isinstance(a, numbers) and isinstance(b, numbers))
    ):
        return a == b
    return math.isclose(a, b, rel_tol=0.0, abs_tol=TOLERANCE)


def differences(baseline: dict, doc: dict) -> list[str]:
    """Human-readable differences between two findings documents (empty when equal)."""
    out: list[str] = []
    base = {}
    for r in baseline["findings"]:
        base.setdefault(_key(r), []).append(r)
    new = {}
    for r in doc["findings"]:
        new.setdefault(_key(r), []).append(r)
    out += [f"finding missing: {k}" for k in sorted(set(base) - set(new))]
    out += [f"finding added: {k}" for k in sorted(set(new) - set(base))]
    for k in sorted(set(base) & set(new)):
        if len(base[k]) != len(new[k]):
            out.append(f"{k}: {len(base[k])} rows before, {len(new[k])} now")
            continue
        for ra, rb in zip(base[k], new[k], strict=True):
            for f in sorted((set(ra) | set(rb)) - set(_IGNORED)):
                if not _same(ra.get(f), rb.get(f)):
                    out.append(f"{k} {f}: {ra.get(f)!r} before, {rb.get(f)!r} now")
    return out


def assert_same_findings(doc: dict, name: str) -> None:
    """Fail unless ``doc`` (a findings.json document) matches the recorded baseline ``name``."""
    path = BASELINES / f"{name}.json"
    if os.environ.get("JUDGELAB_UPDATE_BASELINES") == "1":
        BASELINES.mkdir(exist_ok=True)
        path.write_text(json.dumps(_compact(doc), indent=1, sort_keys=True) + "\n")
        return
    assert path.exists(), f"no baseline {path}; record it with JUDGELAB_UPDATE_BASELINES=1"
    diff = differences(json.loads(path.read_text()), _compact(doc))
    assert not diff, f"{len(diff)} differences from {path.name}:\n" + "\n".join(diff[:30])
