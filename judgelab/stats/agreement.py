"""Agreement statistics: plain functions, per-item sufficient statistics, tidy findings.

Three layers, so that every study module can reuse the pieces it needs:

1. **Plain functions** on label arrays, returning a float (nan when undefined):
   :func:`percent_agreement_score`, :func:`cohen_kappa_score` (unweighted, linear,
   quadratic), :func:`fleiss_kappa_score`, :func:`krippendorff_alpha_score`,
   :func:`accuracy_score`, :func:`macro_f1_score`, :func:`f1_per_class_score`,
   :func:`spearman_score`, :func:`kendall_tau_score`, :func:`pearson_score`,
   :func:`confusion_matrix`.
2. **Sufficient statistics** per item (cluster) and vectorised statistics of their totals,
   for :func:`judgelab.stats.resampling.cluster_bootstrap`: :func:`confusion_counts` with
   :func:`kappa_from_totals`, :func:`accuracy_from_totals`, :func:`macro_f1_from_totals`,
   :func:`f1_from_totals`; :func:`fleiss_counts` / :func:`fleiss_from_totals`;
   :func:`coincidence_counts` / :func:`alpha_from_totals`; :func:`pearson_moments` /
   :func:`pearson_from_totals`.
3. **Tidy functions** on a wide frame (one row per unit, e.g. one judgment paired with its
   reference label), with an item-cluster bootstrap CI: :func:`percent_agreement`,
   :func:`cohen_kappa`, :func:`accuracy`, :func:`macro_f1`, :func:`f1_per_class`,
   :func:`fleiss_kappa`, :func:`krippendorff_alpha`, :func:`spearman`,
   :func:`kendall_tau`, :func:`pearson`. Each returns a findings frame
   (:data:`judgelab.stats._tidy.FINDING_COLUMNS` plus ``n_items`` and ``n_degenerate``).

Plus the tie policies and order aggregation of STATISTICS.md ("Ties", "Orders"):
:func:`check_tie_policy`, :func:`apply_tie_policy`, :func:`win_score`,
:func:`aggregate_orders`.

References: Cohen (1960, 1968) for kappa and weighted kappa (formulas as in
scikit-learn's ``cohen_kappa_score``); Fleiss (1971), Psychological Bulletin 76(5);
Krippendorff (2011), "Computing Krippendorff's alpha-reliability" (coincidence matrices,
difference functions); Kendall (1945) for tau-b.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.resampling import (
    MIN_ITEMS,
    BootstrapResult,
    cluster_bootstrap,
    cluster_bootstrap_rows,
)

__all__ = [
    # plain
    "percent_agreement_score",
    "cohen_kappa_score",
    "fleiss_kappa_score",
    "krippendorff_alpha_score",
    "accuracy_score",
    "macro_f1_score",
    "f1_per_class_score",
    "spearman_score",
    "kendall_tau_score",
    "pearson_score",
    "confusion_matrix",
    # sufficient statistics
    "ConfusionCounts",
    "confusion_counts",
    "kappa_weights",
    "kappa_from_totals",
    "accuracy_from_totals",
    "macro_f1_from_totals",
    "f1_from_totals",
    "fleiss_counts",
    "fleiss_from_totals",
    "coincidence_counts",
    "alpha_from_totals",
    "pearson_moments",
    "pearson_from_totals",
    # tidy
    "percent_agreement",
    "cohen_kappa",
    "accuracy",
    "macro_f1",
    "f1_per_class",
    "fleiss_kappa",
    "krippendorff_alpha",
    "spearman",
    "kendall_tau",
    "pearson",
    # ties and orders
    "TIE",
    "TIE_POLICIES",
    "ORDER_AGGREGATIONS",
    "check_tie_policy",
    "apply_tie_policy",
    "win_score",
    "aggregate_orders",
]

TIE = "tie"
TIE_POLICIES = ("class", "drop", "half")
ORDER_AGGREGATIONS = ("per_call", "first_order", "consistent_only")
_KAPPA_LIKE = {"kappa", "cohen_kappa", "weighted_kappa", "f1", "macro_f1", "f1_per_class"}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _obj(values) -> np.ndarray:
    """1-D object array of labels with missing values as None, without a Python-level
    loop (iterating an Arrow-backed string column costs ~5 s per 100k rows)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    if not hasattr(values, "to_numpy"):
        values = pd.Series(np.asarray(values, dtype=object) if np.ndim(values) else [values])
    out = values.to_numpy(dtype=object, na_value=None)
    return np.asarray(out, dtype=object).reshape(-1)


def _sorted_labels(values) -> list:
    """Sorted distinct labels; numbers numerically, otherwise by their text."""
    u = pd.unique(pd.Series(_obj(values), dtype=object).dropna())
    try:
        return sorted(u)
    except TypeError:
        return sorted(u, key=str)


def _codes(values, labels: Sequence) -> np.ndarray:
    # Index.get_indexer is a hash lookup in C (a Python loop costs ~50 ms per 100k rows).
    out = pd.Index(list(labels), dtype=object).get_indexer(pd.Index(values, dtype=object))
    out = out.astype(np.int64)
    if (out < 0).any():
        bad = sorted({str(v) for v, c in zip(values, out) if c < 0})[:10]
        raise ValueError(f"labels not in the given label set: {bad}")
    return out


def _pair_arrays(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _obj(a), _obj(b)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {len(a)} vs {len(b)}")
    keep = ~(pd.isna(a) | pd.isna(b))
    return a[keep], b[keep]


def _safe_div(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


# ---------------------------------------------------------------------------------------
# confusion counts (sufficient statistics of kappa, accuracy, F1)
# ---------------------------------------------------------------------------------------


class ConfusionCounts:
    """Per-item confusion counts.

    ``per_item`` is ``(n_items, L * L)``: entry ``[i, a * L + b]`` counts rows of item i
    where the first rater says ``labels[a]`` and the second ``labels[b]``. ``items`` are
    the item ids in row order of ``per_item``.
    """

    def __init__(self, per_item: np.ndarray, labels: list, items: np.ndarray):
        self.per_item, self.labels, self.items = per_item, labels, items

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def total(self) -> np.ndarray:
        """The ``(L, L)`` confusion matrix of all rows."""
        L = self.n_labels
        return self.per_item.sum(axis=0).reshape(L, L)


def confusion_counts(a, b, items=None, labels: Sequence | None = None) -> ConfusionCounts:
    """Per-item confusion counts of two label arrays (rows with a missing label dropped).

    ``items`` gives the cluster (item id) of each row; None treats every row as its own
    item. ``labels`` fixes the label set and order (default: sorted union of both arrays;
    order matters for weighted kappa).
    """
    a = pd.Series(_obj(a), dtype=object)
    b = pd.Series(_obj(b), dtype=object)
    it = pd.Series(np.arange(len(a)) if items is None else _obj(items), dtype=object)
    if not (len(a) == len(b) == len(it)):
        raise ValueError(f"lengths differ: {len(a)}, {len(b)}, {len(it)}")
    keep = ~(a.isna() | b.isna()).to_numpy()
    a, b, it = a[keep].to_numpy(), b[keep].to_numpy(), it[keep].to_numpy()
    labels = _sorted_labels(np.concatenate([a, b])) if labels is None else list(labels)
    L = len(labels)
    ca, cb = _codes(a, labels), _codes(b, labels)
    icode, uniq = pd.factorize(pd.Series(it, dtype=object), sort=False)
    n_items = len(uniq)
    flat = icode.astype(np.int64) * (L * L) + ca * L + cb
    per_item = np.bincount(flat, minlength=n_items * L * L).reshape(n_items, L * L)
    return ConfusionCounts(per_item, labels, np.asarray(uniq))


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


def _as_tables(totals, n_labels: int) -> np.ndarray:
    T = np.asarray(totals, dtype=float)
    return T.reshape(T.shape[0] if T.ndim > 1 else 1, n_labels, n_labels)


def kappa_from_totals(totals, n_labels: int, weights: str | None = None) -> np.ndarray:
    """Cohen's kappa of ``(m, L*L)`` confusion totals -> ``(m,)``.

    kappa = 1 - sum(w * O) / sum(w * E), O the observed table, E = outer(row sums, column
    sums) / N (Cohen 1968); nan where sum(w * E) = 0 (e.g. both raters constant).
    """
    C = _as_tables(totals, n_labels)
    w = kappa_weights(n_labels, weights)
    N = C.sum(axis=(1, 2))
    E = C.sum(axis=2)[:, :, None] * C.sum(axis=1)[:, None, :]
    E = E / np.where(N == 0, 1.0, N)[:, None, None]
    num = np.einsum("mij,ij->m", C, w)
    den = np.einsum("mij,ij->m", E, w)
    return 1.0 - _safe_div(num, den)


def accuracy_from_totals(totals, n_labels: int) -> np.ndarray:
    """Share of rows on the diagonal (percent agreement / accuracy); nan for no rows."""
    C = _as_tables(totals, n_labels)
    return _safe_div(np.trace(C, axis1=1, axis2=2), C.sum(axis=(1, 2)))


def _f1_per_class(C: np.ndarray) -> np.ndarray:
    # F1_c = 2 TP / (2 TP + FP + FN) = 2 C_cc / (row_c + col_c); rows = reference (y_true).
    tp = np.diagonal(C, axis1=1, axis2=2)
    return _safe_div(2.0 * tp, C.sum(axis=2) + C.sum(axis=1))


def f1_from_totals(totals, n_labels: int, label_index: int) -> np.ndarray:
    """F1 of one class (rows of the table = reference, columns = prediction); nan when the
    class occurs in neither."""
    return _f1_per_class(_as_tables(totals, n_labels))[:, label_index]


def macro_f1_from_totals(totals, n_labels: int) -> np.ndarray:
    """Unweighted mean of per-class F1 over the classes present in reference or prediction
    (scikit-learn's ``f1_score(average="macro")`` with the labels inferred from the data)."""
    f1 = _f1_per_class(_as_tables(totals, n_labels))
    present = np.isfinite(f1)
    cnt = present.sum(axis=1)
    return _safe_div(np.where(present, f1, 0.0).sum(axis=1), cnt)


# ---------------------------------------------------------------------------------------
# plain functions
# ---------------------------------------------------------------------------------------


def confusion_matrix(a, b, labels: Sequence | None = None) -> pd.DataFrame:
    """Confusion matrix: rows = labels of ``a`` (reference), columns = labels of ``b``."""
    cc = confusion_counts(*_pair_arrays(a, b), labels=labels)
    return pd.DataFrame(
        cc.total(),
        index=pd.Index(cc.labels, name="a"),
        columns=pd.Index(cc.labels, name="b"),
    )


def percent_agreement_score(a, b) -> float:
    """Share of units where both labels are equal (missing pairs dropped); nan if none."""
    a, b = _pair_arrays(a, b)
    return float(np.mean(a == b)) if len(a) else math.nan


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


def accuracy_score(y_true, y_pred) -> float:
    """Share of predictions equal to the reference; nan for no units."""
    return percent_agreement_score(y_true, y_pred)


def f1_per_class_score(y_true, y_pred, labels: Sequence | None = None) -> dict:
    """F1 per class, ``{label: F1}`` (nan for a class absent from both arrays)."""
    y_true, y_pred = _pair_arrays(y_true, y_pred)
    cc = confusion_counts(y_true, y_pred, labels=labels)
    f1 = _f1_per_class(_as_tables(cc.total().reshape(1, -1), cc.n_labels))[0]
    return {lab: float(v) for lab, v in zip(cc.labels, f1)}


def macro_f1_score(y_true, y_pred) -> float:
    """Macro-averaged F1 over classes present in either array; nan for no units."""
    y_true, y_pred = _pair_arrays(y_true, y_pred)
    if len(y_true) == 0:
        return math.nan
    cc = confusion_counts(y_true, y_pred)
    return float(macro_f1_from_totals(cc.total().reshape(1, -1), cc.n_labels)[0])


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


# Fleiss ---------------------------------------------------------------------------------


def _ratings_table(ratings, labels: Sequence | None = None) -> tuple[np.ndarray, list]:
    """Units x raters labels (nan = missing) -> units x categories counts."""
    # Positional unit index, so a duplicated index in the caller's frame does not matter.
    R = pd.DataFrame(ratings).reset_index(drop=True)
    stacked = R.stack().dropna()
    labels = _sorted_labels(stacked.to_numpy()) if labels is None else list(labels)
    codes = _codes(stacked.to_numpy(), labels)
    unit_pos = np.asarray(stacked.index.get_level_values(0), dtype=np.int64)
    table = np.zeros((len(R), len(labels)))
    np.add.at(table, (unit_pos, codes), 1)
    return table, labels


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


# Krippendorff ---------------------------------------------------------------------------


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


# Pearson ---------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# tidy functions
# ---------------------------------------------------------------------------------------


def _require(df: pd.DataFrame, cols: Sequence[str], table: str) -> None:
    from judgelab.data import DataError

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    for c in cols:
        if c not in df.columns:
            raise DataError(table, c, f"column missing (columns: {list(df.columns)})")


def _prepare(
    df: pd.DataFrame, cols: Sequence[str], item_col: str | None, table: str
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Rows with every column present; item ids (row number when item_col is None)."""
    need = list(cols) + ([item_col] if item_col else [])
    _require(df, need, table)
    if item_col:
        from judgelab.data import DataError

        miss = df[item_col].isna().to_numpy()
        if miss.any():
            raise DataError(
                table, item_col, "item id missing", [int(i) for i in np.flatnonzero(miss)]
            )
    keep = df[list(cols)].notna().all(axis=1).to_numpy()
    sub = df.loc[keep]
    items = sub[item_col].to_numpy() if item_col else np.arange(len(sub))
    return sub, items, int((~keep).sum())


def _row(
    stat_id: str,
    res: BootstrapResult,
    *,
    what: str,
    n: int,
    n_excluded: int,
    judge,
    slice,
    undefined_reason: str,
    **extra,
) -> dict:
    kw = res.finding_kwargs()
    kw["method"] = f"{what}; {kw['method']}"
    if res.estimate is None:
        kw["reason"] = undefined_reason if res.reason != "no items" else "no units to compare"
    return finding(
        stat_id,
        judge=judge,
        slice=slice,
        n=n,
        n_excluded=n_excluded,
        n_items=res.n_items,
        n_degenerate=res.n_degenerate,
        **kw,
        **extra,
    )


def _confusion_finding(
    df,
    col1,
    col2,
    item_col,
    *,
    stat_id,
    what,
    stat_fn,
    labels,
    n_boot,
    seed,
    ci_level,
    method,
    judge,
    slice,
    table,
    undefined_reason,
    min_items=MIN_ITEMS,
) -> pd.DataFrame:
    sub, items, n_exc = _prepare(df, [col1, col2], item_col, table)
    cc = confusion_counts(sub[col1].to_numpy(), sub[col2].to_numpy(), items, labels)
    L = cc.n_labels
    if len(sub) == 0 or L == 0:
        res = BootstrapResult(None, None, None, ci_level, n_boot, 0, what, "no items")
    else:
        res = cluster_bootstrap(
            cc.per_item,
            lambda t: stat_fn(t, L),
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
            min_items=min_items,
        )
    row = _row(
        stat_id,
        res,
        what=what,
        n=len(sub),
        n_excluded=n_exc,
        judge=judge,
        slice=slice,
        undefined_reason=undefined_reason,
    )
    return findings_frame([row])


def percent_agreement(
    df: pd.DataFrame,
    rater1_col: str,
    rater2_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "percent_agreement",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Percent agreement of two label columns with an item-cluster bootstrap CI.

    Rows where either label is missing are excluded (``n_excluded``); ``n`` counts the
    compared rows, ``n_items`` the clusters.
    """
    return _confusion_finding(
        df,
        rater1_col,
        rater2_col,
        item_col,
        stat_id=id,
        what="percent agreement",
        stat_fn=accuracy_from_totals,
        labels=None,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="no units to compare",
    )


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
    columns with an item-cluster bootstrap CI (BCa by default, STATISTICS.md).

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


def accuracy(
    df: pd.DataFrame,
    reference_col: str,
    prediction_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "accuracy",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Accuracy of ``prediction_col`` against ``reference_col`` with a cluster CI."""
    return _confusion_finding(
        df,
        reference_col,
        prediction_col,
        item_col,
        stat_id=id,
        what="accuracy",
        stat_fn=accuracy_from_totals,
        labels=None,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="no units to compare",
    )


def macro_f1(
    df: pd.DataFrame,
    reference_col: str,
    prediction_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "macro_f1",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Macro-F1 (classes present in reference or prediction) with a cluster CI."""
    return _confusion_finding(
        df,
        reference_col,
        prediction_col,
        item_col,
        stat_id=id,
        what="macro-F1",
        stat_fn=macro_f1_from_totals,
        labels=None,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="no units to compare",
    )


def f1_per_class(
    df: pd.DataFrame,
    reference_col: str,
    prediction_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "f1",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """F1 per class (one finding row per class, column ``label``) with cluster CIs."""
    sub, items, n_exc = _prepare(df, [reference_col, prediction_col], item_col, table)
    cc = confusion_counts(sub[reference_col].to_numpy(), sub[prediction_col].to_numpy(), items)
    L = cc.n_labels
    rows = []
    for j, lab in enumerate(cc.labels):
        res = cluster_bootstrap(
            cc.per_item,
            lambda t, j=j: f1_from_totals(t, L, j),
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
        )
        rows.append(
            _row(
                id,
                res,
                what=f"F1 of class {lab!r}",
                n=len(sub),
                n_excluded=n_exc,
                judge=judge,
                slice=slice,
                undefined_reason="no units to compare",
                label=str(lab),
            )
        )
    if not rows:
        rows.append(
            finding(
                id,
                None,
                judge=judge,
                slice=slice,
                n=0,
                n_excluded=n_exc,
                reason="no units to compare",
            )
        )
    return findings_frame(rows)


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


def _sum_by(per_unit: np.ndarray, items) -> np.ndarray:
    codes, uniq = pd.factorize(pd.Series(_obj(items), dtype=object), sort=False)
    out = np.zeros((len(uniq), per_unit.shape[1]))
    np.add.at(out, codes, per_unit)
    return out


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
        from judgelab.data import DataError

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


# ---------------------------------------------------------------------------------------
# tie policies and order aggregation (STATISTICS.md "Ties", "Orders")
# ---------------------------------------------------------------------------------------


def check_tie_policy(policy: str, statistic: str = "win_rate") -> str:
    """Validate ``tie_policy`` for a statistic. ``half`` (half a win each) only makes
    sense for win rates; kappa and F1 accept ``class`` or ``drop`` only (ValueError)."""
    if policy not in TIE_POLICIES:
        raise ValueError(f"tie_policy must be one of {TIE_POLICIES}, got {policy!r}")
    if policy == "half" and statistic in _KAPPA_LIKE:
        raise ValueError(
            f"tie_policy='half' is not defined for {statistic}: kappa and F1 need a label per "
            "judgment; use tie_policy='class' (tie is its own label) or 'drop'"
        )
    return policy


def apply_tie_policy(
    df: pd.DataFrame,
    policy: str,
    columns: Sequence[str] = ("winner",),
    statistic: str = "win_rate",
) -> tuple[pd.DataFrame, int]:
    """Apply a tie policy to label columns: ``drop`` removes rows where any of ``columns``
    is ``"tie"`` and returns how many; ``class`` and ``half`` keep every row (``half`` is
    applied when scoring wins, see :func:`win_score`). Returns ``(frame, n_dropped)``."""
    check_tie_policy(policy, statistic)
    _require(df, columns, "verdicts")
    if policy != "drop":
        return df, 0
    is_tie = np.zeros(len(df), dtype=bool)
    for c in columns:
        is_tie |= (df[c].astype(object) == TIE).to_numpy()
    return df.loc[~is_tie], int(is_tie.sum())


def win_score(winner, target, tie_policy: str = "class") -> np.ndarray:
    """Score of ``target`` per judgment: 1 if it won, 0 if the other response won; a tie
    scores 0 (``class``: a tie is not a win), 0.5 (``half``) or nan (``drop``: exclude).
    Missing winners are nan."""
    check_tie_policy(tie_policy, "win_rate")
    w = pd.Series(_obj(winner), dtype=object)
    t = pd.Series(_obj(target), dtype=object) if not np.isscalar(target) else target
    out = (w == t).astype(float).to_numpy().copy()
    tie = (w == TIE).to_numpy()
    out[tie] = {"class": 0.0, "half": 0.5, "drop": np.nan}[tie_policy]
    out[w.isna().to_numpy()] = np.nan
    return out


_IDENTITY = ["model", "backend", "judge_version"]


def mode_winner(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Modal winner per group of keys; several modes -> tie (repeats that disagree evenly)."""
    cnt = df.groupby(keys + ["winner"], dropna=False, sort=False).size().rename("k").reset_index()
    top = cnt.groupby(keys, dropna=False, sort=False)["k"].transform("max")
    best = cnt[cnt["k"] == top]
    n_best = best.groupby(keys, dropna=False, sort=False)["winner"].transform("size")
    best = best.assign(winner=np.where(n_best.to_numpy() > 1, TIE, best["winner"].to_numpy()))
    return best.drop_duplicates(keys)[keys + ["winner"]]


def aggregate_orders(verdicts: pd.DataFrame, how: str = "per_call") -> pd.DataFrame:
    """Pairwise verdicts -> judgments for agreement with a reference (STATISTICS.md "Orders").

    Unparsed rows (``parse_ok`` false or ``winner`` missing) are dropped first.

    - ``per_call``: each parsed call is one judgment (default).
    - ``first_order``: only order ``ab``.
    - ``consistent_only``: one judgment per pair and judge identity; repeats are first
      reduced to their modal winner per order (even split -> tie); a pair whose two
      orders name different winners is a tie (as in FastChat); a pair with only one order
      parsed is excluded. Output ``order`` is null and ``choice`` is what the winner
      would be shown as in order ``ab`` (A = ``response_a``).

    The result carries ``attrs``: ``order_aggregation``, ``n_unparsed`` (rows dropped),
    ``n_excluded`` (unparsed rows plus pairs lacking an order for consistent_only).
    """
    if how not in ORDER_AGGREGATIONS:
        raise ValueError(f"order_aggregation must be one of {ORDER_AGGREGATIONS}, got {how!r}")
    _require(verdicts, ["item_id", "response_a", "response_b", "order", "winner"], "verdicts")
    ok = verdicts["winner"].notna()
    if "parse_ok" in verdicts.columns:
        ok &= verdicts["parse_ok"].fillna(False).astype(bool)
    n_unparsed = int((~ok).sum())
    v = verdicts.loc[ok]
    n_excl = n_unparsed
    if how == "first_order":
        v = v.loc[v["order"] == "ab"]
    elif how == "consistent_only":
        keys = [c for c in _IDENTITY if c in v.columns] + ["item_id", "response_a", "response_b"]
        per_order = mode_winner(v, keys + ["order"])
        wide = per_order.set_index(keys + ["order"])["winner"].unstack("order")
        for o in ("ab", "ba"):
            if o not in wide.columns:
                wide[o] = np.nan
        both = wide["ab"].notna() & wide["ba"].notna()
        n_excl += int((~both).sum())
        wide = wide.loc[both]
        winner = np.where(wide["ab"] == wide["ba"], wide["ab"], TIE)
        v = wide.index.to_frame(index=False)
        v["winner"] = winner
        v["order"] = None
        v["choice"] = np.select(
            [v["winner"] == v["response_a"], v["winner"] == v["response_b"]], ["A", "B"], TIE
        )
    v = v.copy()
    v.attrs.update(order_aggregation=how, n_unparsed=n_unparsed, n_excluded=n_excl)
    return v
