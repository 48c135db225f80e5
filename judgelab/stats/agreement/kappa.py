"""Cohen's kappa (plain and weighted) and Fleiss' kappa: plain scores, sums for the
bootstrap, tidy findings, and the large-sample variance of Cohen's kappa (Fleiss, Cohen &
Everitt 1969) that label planning reads (:mod:`judgelab.stats.planning`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import findings_frame
from judgelab.stats.agreement._common import (
    _pair_arrays,
    _ratings_table,
    _require,
    _row,
    _safe_div,
    _sum_by,
)
from judgelab.stats.agreement.confusion import _confusion_finding, confusion_counts
from judgelab.stats.resampling import BootstrapResult, cluster_bootstrap


def kappa_weights(n_labels: int, weights: str | None = None) -> np.ndarray:
    """Disagreement weights w_ij: 1 off the diagonal (unweighted), |i - j| (linear) or
    (i - j)^2 (quadratic), with i, j positions in the label order (as scikit-learn)."""
    L = int(n_labels)
    if weights is None or weights == "none":
        return 1.0 - np.eye(L)
    d = np.subtract.outer(np.arange(L), np.arange(L)).astype(float)
    if weights == "linear":
        return np.abs(d)
    if weights == "quadratic":
        return d**2
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")


def kappa_from_totals(totals, n_labels: int, weights=None) -> np.ndarray:
    """Cohen's kappa of confusion totals, vectorised over resamples and rater pairs.

    The one implementation of (plain and weighted) Cohen's kappa: the DataFrame functions
    (:func:`cohen_kappa`, :func:`cohen_kappa_score`), the family-entanglement bootstrap
    and the ensemble weights all call it.

    Parameters
    ----------
    totals : array_like, shape ``(..., L * L)``
        Confusion counts, entry ``a * L + b`` = units where the first rater says label a and
        the second label b (bootstrap-weighted counts are fine). A 1-D table is one table
        and returns shape ``(1,)``.
    n_labels : int
        L, the number of labels.
    weights : None, "linear", "quadratic" or array_like ``(L, L)``
        Disagreement weights: None = unweighted (1 off the diagonal); "linear" / "quadratic"
        = |i - j| / (i - j)^2 of label *positions* (as scikit-learn); an explicit matrix,
        e.g. ``(v_i - v_j)^2`` on score values.

    Returns
    -------
    numpy.ndarray, shape ``(...)``
        kappa per table; nan where undefined (no units, or sum(w * E) = 0, e.g. both
        raters constant on one label).

    Notes
    -----
    kappa_w = 1 - sum_ij w_ij O_ij / sum_ij w_ij E_ij, O the observed table, E = outer(row
    sums, column sums) / N. With w = 1 - I this is (p_o - p_e) / (1 - p_e), Cohen's
    unweighted kappa.

    References
    ----------
    Cohen (1960), Educational and Psychological Measurement 20(1); Cohen (1968),
    Psychological Bulletin 70(4). Matches ``sklearn.metrics.cohen_kappa_score``.
    """
    T = np.asarray(totals, dtype=float)
    if T.ndim == 1:
        T = T[None, :]
    C = T.reshape(*T.shape[:-1], n_labels, n_labels)
    w = (
        np.asarray(weights, dtype=float)
        if weights is not None and not isinstance(weights, str)
        else kappa_weights(n_labels, weights)
    )
    N = C.sum(axis=(-1, -2))
    E = C.sum(axis=-1)[..., :, None] * C.sum(axis=-2)[..., None, :]
    E = E / np.where(N == 0, 1.0, N)[..., None, None]
    num = (C * w).sum(axis=(-1, -2))
    den = (E * w).sum(axis=(-1, -2))
    return 1.0 - _safe_div(num, den)


def kappa_from_codes(x, y, n_labels: int, weights=None) -> float:
    """Cohen's kappa of two integer-coded label vectors (nan = missing, dropped pairwise).

    The fast path for code matrices (e.g. a :class:`judgelab.stats.units.UnitMatrix`
    column): the confusion table is one ``bincount``, then :func:`kappa_from_totals`.

    Parameters
    ----------
    x, y : array_like of float
        Label codes 0 .. L-1, nan where a rater gave no label.
    n_labels : int
        L.
    weights : see :func:`kappa_from_totals`.

    Returns
    -------
    float
        kappa, nan when no unit has both labels or kappa is undefined.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if not ok.any():
        return math.nan
    flat = (x[ok] * n_labels + y[ok]).astype(np.int64)
    table = np.bincount(flat, minlength=n_labels * n_labels).astype(float)
    return float(kappa_from_totals(table, n_labels, weights)[0])


def cohen_kappa_score(a, b, weights: str | None = None, labels: Sequence | None = None) -> float:
    """Cohen's kappa (unweighted, ``"linear"`` or ``"quadratic"``); nan when undefined.

    Same formula and label handling as ``sklearn.metrics.cohen_kappa_score``: weights use
    positions in ``labels`` (default: sorted union of observed labels). Pass the full scale
    as ``labels`` for weighted kappa on scores so unobserved scale points keep distances.
    """
    a, b = _pair_arrays(a, b)
    if len(a) == 0:
        return math.nan
    cc = confusion_counts(a, b, labels=labels)
    return float(kappa_from_totals(cc.total().reshape(1, -1), cc.n_labels, weights)[0])


def fleiss_counts(table) -> np.ndarray:
    """Per-unit sufficient statistics of Fleiss' kappa from a units x categories count
    table: ``[P_i, 1, n_i1, ..., n_iC]`` for units with n_i >= 2 raters, zeros otherwise
    (P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), the agreement within unit i)."""
    T = np.asarray(table, dtype=float)
    n_i = T.sum(axis=1)
    ok = n_i >= 2
    P = np.zeros(len(T))
    P[ok] = ((T[ok] ** 2).sum(axis=1) - n_i[ok]) / (n_i[ok] * (n_i[ok] - 1))
    return np.column_stack([P, ok.astype(float), np.where(ok[:, None], T, 0.0)])


def fleiss_from_totals(totals) -> np.ndarray:
    """Fleiss' kappa of ``(m, 2 + C)`` totals of :func:`fleiss_counts`.

    kappa = (P_bar - P_e) / (1 - P_e), P_bar = mean_i P_i, P_e = sum_j p_j^2, p_j = the
    share of all ratings in category j (Fleiss 1971; with unequal rater counts per unit
    the per-unit P_i use each unit's own n_i). nan when P_e = 1 or no unit qualifies.
    """
    T = np.atleast_2d(np.asarray(totals, dtype=float))
    P_bar = _safe_div(T[:, 0], T[:, 1])
    p = _safe_div(T[:, 2:], T[:, 2:].sum(axis=1, keepdims=True))
    P_e = (p**2).sum(axis=1)
    return _safe_div(P_bar - P_e, 1.0 - P_e)


def fleiss_kappa_score(table=None, *, ratings=None) -> float:
    """Fleiss' kappa from a units x categories count ``table`` (as statsmodels'
    ``fleiss_kappa``) or from ``ratings`` (units x raters labels, nan = missing)."""
    if (table is None) == (ratings is None):
        raise ValueError("give exactly one of table or ratings")
    if ratings is not None:
        table, _ = _ratings_table(ratings)
    return float(fleiss_from_totals(fleiss_counts(table).sum(axis=0, keepdims=True))[0])


def cohen_kappa(
    df: pd.DataFrame,
    rater1_col: str,
    rater2_col: str,
    item_col: str | None = "item_id",
    weights: str | None = None,
    labels: Sequence | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "bca",
    id: str = "cohen_kappa",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Cohen's kappa (``weights`` None, ``"linear"`` or ``"quadratic"``) of two label
    columns with an item-cluster bootstrap CI (BCa by default, docs/statistics.md).

    Undefined kappa (chance agreement p_e = 1: both raters constant on one label) gives
    estimate None with a reason. Resamples where kappa is undefined are counted in
    ``n_degenerate``; more than 1% of them nulls the CI.
    """
    wname = "unweighted" if weights in (None, "none") else weights
    return _confusion_finding(
        df,
        rater1_col,
        rater2_col,
        item_col,
        stat_id=id,
        what=f"Cohen's kappa ({wname})",
        stat_fn=lambda t, L: kappa_from_totals(t, L, weights),
        labels=labels,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="kappa undefined: chance agreement is 1 (raters constant on one label)",
    )


def fleiss_kappa(
    df: pd.DataFrame,
    rater_cols: Sequence[str],
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "fleiss_kappa",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Fleiss' kappa over ``rater_cols`` (one row per unit, nan = rating missing; units
    with fewer than 2 ratings are excluded) with an item-cluster bootstrap CI."""
    need = list(rater_cols) + ([item_col] if item_col else [])
    _require(df, need, table)
    tab, _ = _ratings_table(df[list(rater_cols)].reset_index(drop=True))
    ok = tab.sum(axis=1) >= 2
    items = df[item_col].to_numpy() if item_col else np.arange(len(df))
    per_unit = fleiss_counts(tab[ok])
    per_item = _sum_by(per_unit, items[ok])
    res = (
        cluster_bootstrap(
            per_item, fleiss_from_totals, n_boot=n_boot, seed=seed, ci_level=ci_level, method=method
        )
        if len(per_item)
        else BootstrapResult(None, None, None, ci_level, n_boot, 0, "", "no items")
    )
    row = _row(
        id,
        res,
        what="Fleiss' kappa",
        n=int(ok.sum()),
        n_excluded=int((~ok).sum()),
        judge=judge,
        slice=slice,
        undefined_reason="Fleiss' kappa undefined: every rating in one category",
    )
    return findings_frame([row])


# ------------------------------------------------------------ large-sample variance
def binary_kappa_cells(kappa: float, prevalence: float) -> np.ndarray:
    """2x2 cell probabilities of two raters with the same pass rate ``prevalence`` and
    Cohen's kappa ``kappa`` (rows: human, columns: judge; [[fail/fail, fail/pass],
    [pass/fail, pass/pass]])."""
    pi = float(prevalence)
    if not 0 < pi < 1:
        raise ValueError(f"prevalence must lie in (0, 1), got {pi}")
    pe = pi**2 + (1 - pi) ** 2
    po = kappa * (1 - pe) + pe
    off = (1 - po) / 2
    cells = np.array([[1 - pi - off, off], [off, pi - off]])
    if (cells < 0).any():
        raise ValueError(
            f"kappa {kappa} is not reachable at prevalence {prevalence} with equal pass rates"
        )
    return cells


def kappa_variance_cells(cells) -> np.ndarray:
    """n x Var(kappa hat) of Cohen's kappa from 2x2 cell probabilities (last two axes; rows one
    rater, columns the other), vectorised over leading axes (Fleiss, Cohen & Everitt 1969,
    the large-sample variance). nan where chance agreement is 1."""
    p = np.asarray(cells, dtype=float)
    row, col = p.sum(axis=-1), p.sum(axis=-2)
    pe = (row * col).sum(axis=-1)
    po = np.trace(p, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (po - pe) / (1 - pe)
        a = sum(p[..., i, i] * (1 - (row[..., i] + col[..., i]) * (1 - k)) ** 2 for i in range(2))
        b = (1 - k) ** 2 * (
            p[..., 0, 1] * (col[..., 0] + row[..., 1]) ** 2
            + p[..., 1, 0] * (col[..., 1] + row[..., 0]) ** 2
        )
        c = (k - pe * (1 - k)) ** 2
        return (a + b - c) / (1 - pe) ** 2


def kappa_unit_variance(kappa: float, prevalence: float) -> float:
    """n x Var(kappa hat) for two binary raters who both pass a share ``prevalence`` and
    agree with Cohen's kappa ``kappa`` (:func:`kappa_variance_cells`)."""
    cells = binary_kappa_cells(float(kappa), float(prevalence))
    return float(kappa_variance_cells(cells))
