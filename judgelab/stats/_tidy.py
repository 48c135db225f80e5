"""The tidy findings row shared by every statistic (columns of findings.json).

Kept in ``stats`` (which imports nothing above itself) so statistics can build rows;
:mod:`judgelab.findings` re-exports these names and owns everything done with the rows
after a study's analysis (adjustment, conclusions, findings.json, display).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

#: Columns of one finding, in findings.json order.
FINDING_COLUMNS = [
    "id",
    "judge",
    "slice",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "method",
    "statistic",
    "p_value",
    "p_adjusted",
    "primary",
    "n",
    "n_excluded",
    "reason",
    "conclusion",
]


def _clean(v: Any) -> Any:
    """numpy scalars -> Python; nan/inf -> None (JSON has no nan)."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def finding(
    id: str,
    estimate=None,
    *,
    judge: str | None = None,
    slice: dict | None = None,
    ci_low=None,
    ci_high=None,
    ci_level: float | None = 0.95,
    method: str | None = None,
    statistic=None,
    p_value=None,
    p_adjusted=None,
    primary: bool = False,
    n: int | None = None,
    n_excluded: int | None = 0,
    reason: str | None = None,
    conclusion: str | None = None,
    **extra,
) -> dict:
    """One finding row. An undefined estimate must come with a reason."""
    row = {
        "id": id,
        "judge": judge,
        "slice": slice,
        "estimate": _clean(estimate),
        "ci_low": _clean(ci_low),
        "ci_high": _clean(ci_high),
        "ci_level": _clean(ci_level),
        "method": method,
        "statistic": _clean(statistic),
        "p_value": _clean(p_value),
        "p_adjusted": _clean(p_adjusted),
        "primary": bool(primary),
        "n": None if n is None else int(n),
        "n_excluded": None if n_excluded is None else int(n_excluded),
        "reason": reason,
        "conclusion": conclusion,
    }
    if row["estimate"] is None and not reason:
        row["reason"] = "undefined on this data"
    row.update({k: _clean(v) for k, v in extra.items()})
    return row


def findings_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows -> DataFrame with the finding columns first (extra columns kept after)."""
    df = pd.DataFrame(rows)
    for c in FINDING_COLUMNS:
        if c not in df.columns:
            df[c] = None
    extra = [c for c in df.columns if c not in FINDING_COLUMNS]
    return df[FINDING_COLUMNS + extra]
