"""Multiple-testing adjustment (docs/statistics.md#multiple-testing).

Holm (1979) across a study's primary tests (family-wise error), Benjamini-Hochberg
(1995) across the exploratory ones (false discovery rate), both as
``statsmodels.stats.multitest.multipletests`` computes them (Holm with its operations,
written out here to skip its per-call garbage collection). Missing p-values stay missing and do not
count towards the number of tests. Confidence intervals are never adjusted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

__all__ = ["ALPHA", "holm", "benjamini_hochberg", "adjust_findings"]

#: Significance level the conclusions and the minimum-detectable-effect rule read the adjusted
#: p-values at (docs/statistics.md#minimum-detectable-effect).
ALPHA = 0.05
HOLM_LABEL = "holm (primary tests)"
BH_LABEL = "benjamini-hochberg (exploratory)"


def _adjust(p, method: str) -> np.ndarray:
    p = np.asarray(pd.to_numeric(pd.Series(p, dtype=object), errors="coerce"), dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        if np.any((p[ok] < 0) | (p[ok] > 1)):
            raise ValueError("p-values must lie in [0, 1]")
        out[ok] = (
            _holm_step_down(p[ok]) if method == "holm" else multipletests(p[ok], method=method)[1]
        )
    return out


def _holm_step_down(p: np.ndarray) -> np.ndarray:
    """Holm adjusted p-values with the very operations of statsmodels' ``multipletests``
    (same sort, products and running maximum, so bit-identical results), without its full
    garbage collection on every call (``gc.collect()``: 0.2 s and more per call while a
    million-row verdict frame is alive, once per judge in the audit).

    With p sorted ascending, p_adj(i) = min(1, max_{j <= i} (m - j + 1) p(j)) (Holm 1979)."""
    order = np.argsort(p)
    ranked = np.take(p, order)
    adjusted = np.maximum.accumulate(ranked * np.arange(len(ranked), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values (nan in, nan out; nan not counted as a test)."""
    return _adjust(p, "holm")


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); nan in, nan out."""
    return _adjust(p, "fdr_bh")


def adjust_findings(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Fill ``p_adjusted`` and ``adjustment`` of a findings frame.

    Rows with ``primary`` true and a p-value are Holm-adjusted together; the other rows
    with a p-value are Benjamini-Hochberg-adjusted together (labelled exploratory).
    ``by`` (e.g. ``["study"]``) adjusts within groups instead of across the whole frame.
    Rows without a p-value get ``p_adjusted`` None and ``adjustment`` None.
    Returns a copy.
    """
    out = df.copy()
    if "p_value" not in out.columns:
        raise ValueError("findings frame has no 'p_value' column")
    primary = (
        out["primary"].fillna(False).astype(bool).to_numpy()
        if "primary" in out.columns
        else np.zeros(len(out), dtype=bool)
    )
    p = pd.to_numeric(out["p_value"], errors="coerce").to_numpy(dtype=float)
    has_p = np.isfinite(p)
    adj = np.full(len(out), np.nan)
    label = np.full(len(out), None, dtype=object)
    groups = (
        [np.arange(len(out))]
        if not by
        else [
            np.asarray(ix)
            for ix in out.reset_index(drop=True).groupby(by, dropna=False).indices.values()
        ]
    )
    for ix in groups:
        for sel, fn, lab in (
            (primary[ix] & has_p[ix], holm, HOLM_LABEL),
            (~primary[ix] & has_p[ix], benjamini_hochberg, BH_LABEL),
        ):
            rows = ix[sel]
            if rows.size:
                adj[rows] = fn(p[rows])
                label[rows] = lab
    # object dtype keeps None (JSON null) instead of NaN for rows without a p-value
    out["p_adjusted"] = pd.Series(
        [None if not np.isfinite(v) else float(v) for v in adj], index=out.index, dtype=object
    )
    out["adjustment"] = pd.Series(label, index=out.index, dtype=object)
    return out
