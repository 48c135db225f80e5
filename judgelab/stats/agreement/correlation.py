"""Correlations of two numeric columns: Pearson, Spearman's rho and Kendall's tau-b."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from judgelab.stats._tidy import findings_frame
from judgelab.stats.agreement._common import _obj, _prepare, _row, _safe_div, _sum_by
from judgelab.stats.resampling import cluster_bootstrap, cluster_bootstrap_rows


def _numeric_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = pd.to_numeric(pd.Series(_obj(x)), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(pd.Series(_obj(y)), errors="coerce").to_numpy(dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"arrays differ in length: {len(x)} vs {len(y)}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / den if den > 0 else math.nan


def pearson_score(x, y) -> float:
    """Pearson correlation (centred formula); nan when either variable is constant."""
    return _pearson(*_numeric_pair(x, y))


def spearman_score(x, y) -> float:
    """Spearman's rho = Pearson correlation of mid-ranks (ties get average ranks)."""
    x, y = _numeric_pair(x, y)
    return _pearson(stats.rankdata(x), stats.rankdata(y)) if len(x) >= 2 else math.nan


def kendall_tau_score(x, y) -> float:
    """Kendall's tau-b (tie-corrected; scipy.stats.kendalltau); nan when undefined."""
    x, y = _numeric_pair(x, y)
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan
    return float(stats.kendalltau(x, y, variant="b").statistic)


def pearson_moments(x, y, center: bool = True) -> np.ndarray:
    """Per-row moment sums ``[1, x, y, x^2, y^2, xy]`` (rows; sum them per item). Values
    are centred on their overall means first so the sums do not lose precision."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if center and len(x):
        x, y = x - x.mean(), y - y.mean()
    return np.column_stack([np.ones_like(x), x, y, x * x, y * y, x * y])


def pearson_from_totals(totals) -> np.ndarray:
    """Pearson r from ``(m, 6)`` totals of :func:`pearson_moments`; nan if a variance is 0."""
    T = np.atleast_2d(np.asarray(totals, dtype=float))
    n, sx, sy, sxx, syy, sxy = T.T
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    den = np.sqrt(np.clip(vx, 0, None) * np.clip(vy, 0, None))
    # Tiny relative variances are rounding noise of a constant variable.
    tiny = (vx <= 1e-12 * np.maximum(n * sxx, 1e-300)) | (vy <= 1e-12 * np.maximum(n * syy, 1e-300))
    out = _safe_div(n * sxy - sx * sy, den)
    out[tiny] = np.nan
    return np.clip(out, -1.0, 1.0)


def _correlation_finding(
    df, x_col, y_col, item_col, *, kind, n_boot, seed, ci_level, method, id, judge, slice, table
) -> pd.DataFrame:
    sub, items, n_exc = _prepare(df, [x_col, y_col], item_col, table)
    x = pd.to_numeric(sub[x_col], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(sub[y_col], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    n_exc += int((~ok).sum())
    x, y, items = x[ok], y[ok], np.asarray(items)[ok]
    if kind == "pearson":
        per_item = _sum_by(pearson_moments(x, y), items) if len(x) else np.empty((0, 6))
        res = cluster_bootstrap(
            per_item,
            pearson_from_totals,
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
        )
        what = "Pearson r"
    else:
        fn = spearman_score if kind == "spearman" else kendall_tau_score
        res = cluster_bootstrap_rows(
            items,
            lambda r: fn(x[r], y[r]),
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
        )
        what = "Spearman rho" if kind == "spearman" else "Kendall tau-b"
    row = _row(
        id,
        res,
        what=what,
        n=len(x),
        n_excluded=n_exc,
        judge=judge,
        slice=slice,
        undefined_reason="correlation undefined: a variable is constant (or fewer than 2 units)",
    )
    return findings_frame([row])


def pearson(
    df: pd.DataFrame,
    x_col: str,
    y_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "pearson",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Pearson correlation with a vectorised item-cluster bootstrap (moment sums)."""
    return _correlation_finding(
        df, x_col, y_col, item_col, kind="pearson", n_boot=n_boot, seed=seed,
        ci_level=ci_level, method=method, id=id, judge=judge, slice=slice, table=table,
    )  # fmt: skip


def spearman(
    df: pd.DataFrame,
    x_col: str,
    y_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "spearman",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Spearman's rho with an item-cluster bootstrap (generic loop: ranks change with
    each resample, so this is slower than the sum-based statistics)."""
    return _correlation_finding(
        df, x_col, y_col, item_col, kind="spearman", n_boot=n_boot, seed=seed,
        ci_level=ci_level, method=method, id=id, judge=judge, slice=slice, table=table,
    )  # fmt: skip


def kendall_tau(
    df: pd.DataFrame,
    x_col: str,
    y_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "kendall_tau",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Kendall's tau-b with an item-cluster bootstrap (generic loop; slower)."""
    return _correlation_finding(
        df, x_col, y_col, item_col, kind="kendall", n_boot=n_boot, seed=seed,
        ci_level=ci_level, method=method, id=id, judge=judge, slice=slice, table=table,
    )  # fmt: skip
