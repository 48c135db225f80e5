"""Krippendorff's alpha: the package-validated score, coincidence sums for the bootstrap,
the two-coder forms the family-entanglement bootstrap uses, and the tidy finding."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import findings_frame
from judgelab.stats.agreement._common import (
    _ratings_table,
    _require,
    _row,
    _safe_div,
    _sorted_labels,
    _sum_by,
)
from judgelab.stats.errors import DataError
from judgelab.stats.resampling import BootstrapResult, cluster_bootstrap


def krippendorff_alpha_score(reliability_data, level: str = "nominal") -> float:
    """Krippendorff's alpha of a raters x units matrix (nan = missing) via the
    ``krippendorff`` package; nan when undefined (fewer than two distinct values or no
    pairable unit). Levels: nominal, ordinal, interval, ratio."""
    import krippendorff

    data = np.asarray(reliability_data, dtype=float)
    vals = data[np.isfinite(data)]
    pairable = (np.isfinite(data).sum(axis=0) >= 2).any() if data.ndim == 2 else False
    if vals.size == 0 or np.unique(vals).size < 2 or not pairable:
        return math.nan
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except (ValueError, ZeroDivisionError):
        return math.nan


def coincidence_counts(units_by_values) -> np.ndarray:
    """Per-unit coincidence matrices (Krippendorff 2011, sec. C) from a units x values
    count table ``n_uv``: ``o_u[c, k] = n_uc (n_uk - [c == k]) / (m_u - 1)`` for units with
    m_u >= 2 pairable values (zeros otherwise), flattened to ``(n_units, V * V)``."""
    N = np.asarray(units_by_values, dtype=float)
    m = N.sum(axis=1)
    ok = m >= 2
    V = N.shape[1]
    Oc = N[:, :, None] * N[:, None, :] - N[:, :, None] * np.eye(V)[None]
    Oc[ok] /= (m[ok] - 1)[:, None, None]
    Oc[~ok] = 0.0
    return Oc.reshape(len(N), V * V)


def _delta(level: str, values: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Squared difference functions delta^2_ck, shape (m, V, V)."""
    V = len(values)
    m = n_c.shape[0]
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(V), (m, V, V))
    if level == "interval":
        return np.broadcast_to(np.subtract.outer(values, values) ** 2, (m, V, V))
    if level == "ratio":
        s = np.add.outer(values, values)
        d = _safe_div(np.subtract.outer(values, values), s)
        return np.broadcast_to(np.nan_to_num(d) ** 2, (m, V, V))
    if level == "ordinal":
        # delta_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 with marginals n_g of this
        # resample's coincidence matrix (so it changes with every resample).
        cs = np.cumsum(n_c, axis=1)
        lo = np.minimum.outer(np.arange(V), np.arange(V))
        hi = np.maximum.outer(np.arange(V), np.arange(V))
        csum = cs[:, hi] - np.where(lo > 0, cs[:, np.maximum(lo - 1, 0)], 0.0)
        return (csum - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")


def alpha_from_totals(totals, values, level: str = "nominal") -> np.ndarray:
    """Krippendorff's alpha from ``(m, V*V)`` coincidence totals over the sorted value
    domain ``values``: alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck, n_c the
    coincidence marginals, n their total (Krippendorff 2011, eq. for D_o / D_e)."""
    values = np.asarray(values, dtype=float)
    V = len(values)
    Oc = np.asarray(totals, dtype=float).reshape(-1, V, V)
    n_c = Oc.sum(axis=2)
    n = n_c.sum(axis=1)
    d = _delta(level, values, n_c)
    D_o = np.einsum("mck,mck->m", Oc, d)
    D_e = np.einsum("mc,mk,mck->m", n_c, n_c, d)
    return 1.0 - _safe_div((n - 1.0) * D_o, D_e)


def alpha_nominal_from_joint(joint, n_labels: int) -> np.ndarray:
    """Krippendorff's nominal alpha of two coders from their joint label counts.

    Parameters
    ----------
    joint : array_like, shape ``(..., L * L)``
        Joint counts of the two coders' labels over units both coded (entry ``a * L + b``),
        e.g. per-item sums of a judge pair weighted by bootstrap counts.
    n_labels : int
        L.

    Returns
    -------
    numpy.ndarray, shape ``(...)``
        alpha; nan when fewer than two distinct values occur or no unit is pairable.

    Notes
    -----
    With two coders every unit contributes its value pair (x, y) to the coincidence
    matrix twice, o = J + J^T, so this is :func:`alpha_from_totals` (nominal) of J + J^T:
    with N units, n = 2N values, D disagreeing units and n_c the count of value c,
    alpha = 1 - (n - 1) 2D / (n^2 - sum_c n_c^2).

    References
    ----------
    Krippendorff (2011), "Computing Krippendorff's alpha-reliability".
    """
    J = np.asarray(joint, dtype=float)
    shape = J.shape[:-1]
    K = int(n_labels)
    J = J.reshape(-1, K, K)
    coincidences = (J + J.transpose(0, 2, 1)).reshape(len(J), K * K)
    return alpha_from_totals(coincidences, np.arange(K, dtype=float), "nominal").reshape(shape)


def interval_moments(x, y) -> np.ndarray:
    """Per-unit sufficient statistics of two coders' interval alpha: ``[1, (x - y)^2,
    x + y, x^2 + y^2]`` where both coded, zeros where either is nan (sum them per item)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    both = ~(np.isnan(x) | np.isnan(y))
    a, b = np.where(both, x, 0.0), np.where(both, y, 0.0)
    return np.stack([both.astype(float), (a - b) ** 2, a + b, a * a + b * b], axis=-1)


def alpha_interval_from_moments(moments) -> np.ndarray:
    """Krippendorff's interval alpha of two coders from summed :func:`interval_moments`.

    Parameters
    ----------
    moments : array_like, shape ``(..., 4)``
        ``(N, sum (x - y)^2, sum (x + y), sum (x^2 + y^2))`` over the N units both coded
        (real-valued scores, e.g. means of repeats, need no value domain).

    Returns
    -------
    numpy.ndarray, shape ``(...)``
        alpha; nan when no unit is pairable or the values have no variance.

    Notes
    -----
    With n = 2N pairable values, alpha = 1 - (n - 1) sum_u (x_u - y_u)^2 /
    (n sum v^2 - (sum v)^2): :func:`alpha_from_totals` (interval) of the two coders'
    coincidence matrix, written in moments so that resamples need no value domain.

    References
    ----------
    Krippendorff (2011), "Computing Krippendorff's alpha-reliability".
    """
    S = np.asarray(moments, dtype=float)
    N, sd, sv, sv2 = S[..., 0], S[..., 1], S[..., 2], S[..., 3]
    n = 2.0 * N
    den = n * sv2 - sv * sv
    with np.errstate(invalid="ignore", divide="ignore"):
        a = 1.0 - (n - 1.0) * sd / den
    # a variance that is rounding noise of constant values leaves alpha undefined
    return np.where((den <= 1e-12 * np.maximum(1.0, n * sv2)) | (N < 1), np.nan, a)


def krippendorff_alpha(
    df: pd.DataFrame,
    rater_cols: Sequence[str],
    item_col: str | None = "item_id",
    level: str = "nominal",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "bca",
    id: str = "krippendorff_alpha",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Krippendorff's alpha over ``rater_cols`` (one row per unit, nan = missing) with an
    item-cluster bootstrap CI (BCa by default).

    Vectorised through per-unit coincidence matrices (:func:`coincidence_counts`), whose
    sums give every resample's alpha (:func:`alpha_from_totals`; ordinal distances are
    recomputed from each resample's marginals). Nominal values may be any labels;
    ordinal / interval / ratio need numbers. Units with fewer than 2 values are excluded.
    """
    need = list(rater_cols) + ([item_col] if item_col else [])
    _require(df, need, table)
    W = df[list(rater_cols)].reset_index(drop=True)
    if level == "nominal":
        labels = _sorted_labels(W.stack().dropna().to_numpy())
        values = np.arange(len(labels), dtype=float)
        tab, _ = _ratings_table(W, labels)
    else:
        Wn = W.apply(pd.to_numeric, errors="coerce")
        bad = Wn.isna() & W.notna()
        if bad.to_numpy().any():
            col = str(bad.any().idxmax())
            rows = [int(i) for i in np.flatnonzero(bad[col].to_numpy())]
            raise DataError(table, col, f"non-numeric values for level '{level}'", rows)
        tab, labels = _ratings_table(Wn)
        values = np.asarray(labels, dtype=float)
    ok = tab.sum(axis=1) >= 2
    items = df[item_col].to_numpy() if item_col else np.arange(len(df))
    if len(values) < 2 or not ok.any():
        res = BootstrapResult(None, None, None, ci_level, n_boot, 0, "", "undefined")
    else:
        per_item = _sum_by(coincidence_counts(tab[ok]), items[ok])
        res = cluster_bootstrap(
            per_item,
            lambda t: alpha_from_totals(t, values, level),
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
        )
    row = _row(
        id,
        res,
        what=f"Krippendorff's alpha ({level})",
        n=int(ok.sum()),
        n_excluded=int((~ok).sum()),
        judge=judge,
        slice=slice,
        undefined_reason="alpha undefined: fewer than two distinct values among pairable units",
    )
    return findings_frame([row])
