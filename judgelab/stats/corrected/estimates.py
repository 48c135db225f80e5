"""Corrected rates side by side: naive judge rate, human-only, Rogan-Gladen and PPI++.

For one judge and one target (overall or a slice), from units that each carry a binary judge
verdict and, on a labelled subset, a binary human label:

* ``naive_rate``: the judge's pass rate over all units (what the judge says);
* ``human_only_rate``: the human pass rate on the labelled units;
* ``rogan_gladen_rate``: the judge rate corrected with TPR and TNR estimated on the labelled
  units **of the same slice** (:mod:`.rogan_gladen`);
* ``ppi_rate``: PPI++ with power-tuned lambda (:mod:`.ppi`), reporting lambda and the
  effective number of human labels.

The estimand of the last three is the rate the humans would give on the judged units (the
human-label rate), not an oracle truth. Every estimator is a function of nine per-item sums
(:data:`SUM_COLUMNS`), so with several units per item the primary interval is the kit's
vectorised item-cluster bootstrap (:func:`judgelab.stats.resampling.cluster_bootstrap_each`)
of the *whole* estimator: p, TPR, TNR and lambda are re-estimated in every resample. The
closed forms (Wilson, Lee et al.'s adjusted Wald, the PPI++ Wald interval) are reported
beside it as ``iid_ci_low`` / ``iid_ci_high``; with one unit per item they are the primary
interval. See docs/statistics.md, "Corrected estimates".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.corrected.ppi import ppi_mean_from_sums
from judgelab.stats.corrected.rogan_gladen import (
    lee_adjusted_wald_ci,
    rogan_gladen,
    rogan_gladen_undefined,
)
from judgelab.stats.errors import DataError
from judgelab.stats.intervals import MIN_CONTRIBUTING_ITEMS, edge_share_interval
from judgelab.stats.resampling import cluster_bootstrap_each, wilson_ci

__all__ = [
    "SUM_COLUMNS",
    "CORRECTED_IDS",
    "per_item_sums",
    "corrected_statistics",
    "corrected_bootstrap",
    "corrected_rate_rows",
    "corrected_rates",
    "few_labels_floor",
]

#: Per-item sums every estimator reads (labelled units: l, judge-only units: u).
SUM_COLUMNS = (
    "n_l", "sum_y", "sum_yh", "sum_yy", "sum_yhyh", "sum_y_yh", "n_u", "sum_yu", "sum_yuyu",
)  # fmt: skip
#: Finding ids, in report order.
CORRECTED_IDS = ("naive_rate", "human_only_rate", "rogan_gladen_rate", "ppi_rate")
_NL, _SY, _SH, _SYY, _SHH, _SYH, _NU, _SU, _SUU = range(9)
TABLE = "units"
_REESTIMATED = {
    "rogan_gladen_rate": ", p, TPR and TNR re-estimated in every resample",
    "ppi_rate": ", lambda re-estimated in every resample",
}


def per_item_sums(items, judge, human) -> tuple[np.ndarray, np.ndarray]:
    """Per-item sums (:data:`SUM_COLUMNS`) of binary judge verdicts and human labels.

    Parameters
    ----------
    items : array-like
        Item of each unit (units of one item are resampled together).
    judge : array-like of 0/1
        The judge's verdict of each unit (1 = pass).
    human : array-like of 0/1 or nan
        The human label of each unit; nan = not labelled.

    Returns
    -------
    (sums, item_ids)
        ``sums`` is ``(n_items, 9)``; ``item_ids`` the items in row order.
    """
    codes, uniques = pd.factorize(np.asarray(items).reshape(-1), sort=False)
    j = np.asarray(judge, dtype=float).reshape(-1)
    h = np.asarray(human, dtype=float).reshape(-1)
    lab = ~np.isnan(h)
    y = np.where(lab, h, 0.0)
    jl, ju = np.where(lab, j, 0.0), np.where(lab, 0.0, j)
    cols = (lab, y, jl, y * y, jl * jl, y * jl, ~lab, ju, ju * ju)
    k = len(uniques)
    S = np.column_stack([np.bincount(codes, weights=c.astype(float), minlength=k) for c in cols])
    return S, np.asarray(uniques)


#: Estimators whose interval is widened with few labelled items (:func:`few_labels_floor`).
_FLOORED = ("rogan_gladen_rate", "ppi_rate")


def _finite(*xs) -> bool:
    return all(x is not None and np.isfinite(float(x)) for x in xs)


def few_labels_floor(sums: np.ndarray, ci_level: float = 0.95):
    """The human-only rate's Clopper-Pearson interval on item-level counts
    (:func:`judgelab.stats.intervals.edge_share_interval`) when fewer than
    :data:`~judgelab.stats.intervals.MIN_CONTRIBUTING_ITEMS` items carry a label, else None.

    With 8-16 labelled items the PPI++ and Rogan-Gladen intervals cover the human rate only
    0.85-0.94 of the time (their variance estimates rest on those few labels); the exact
    interval of the labels alone does not under-cover, so the corrected interval is widened
    to contain it (docs/statistics.md, "Few labelled items").

    Parameters
    ----------
    sums : array ``(n_items, 9)``
        :func:`per_item_sums` of the target's units.
    ci_level : float
        Confidence level.

    Returns
    -------
    EdgeInterval or None
    """
    S = np.atleast_2d(np.asarray(sums, dtype=float))
    n_lab = S[:, _NL]
    if int((n_lab > 0).sum()) >= MIN_CONTRIBUTING_ITEMS:
        return None
    # human labels may be shares in [0, 1] (vote shares): clip the rounding of their sums
    k = np.clip(S[:, _SY], 0.0, n_lab)
    return edge_share_interval(k, n_lab, ci_level, min_items=MIN_CONTRIBUTING_ITEMS)


def _rg_parts(T: np.ndarray):
    """p, TPR, TNR, m0, m1 from totals (binary verdicts)."""
    T = np.atleast_2d(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (T[:, _SH] + T[:, _SU]) / (T[:, _NL] + T[:, _NU])
        m1 = T[:, _SY]
        m0 = T[:, _NL] - m1
        tpr = T[:, _SYH] / m1
        tnr = (m0 - T[:, _SH] + T[:, _SYH]) / m0
    return p, tpr, tnr, m0, m1


def _ppi(T: np.ndarray, ci_level: float = 0.95):
    T = np.atleast_2d(T)
    return ppi_mean_from_sums(*(T[:, c] for c in range(9)), ci_level=ci_level)


def corrected_statistics() -> list:
    """The four estimators as vectorised functions of totals ``(m, 9) -> (m,)``, in
    :data:`CORRECTED_IDS` order (nan = undefined on that resample)."""

    def naive(T):
        T = np.atleast_2d(T)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (T[:, _SH] + T[:, _SU]) / (T[:, _NL] + T[:, _NU])

    def human_only(T):
        T = np.atleast_2d(T)
        with np.errstate(divide="ignore", invalid="ignore"):
            return T[:, _SY] / T[:, _NL]

    def rg(T):
        p, tpr, tnr, _, _ = _rg_parts(T)
        return rogan_gladen(p, tpr, tnr)

    def ppi(T):
        return _ppi(T).estimate

    return [naive, human_only, rg, ppi]


def corrected_bootstrap(sums, n_boot: int = 2000, seed=0, ci_level: float = 0.95):
    """Item-cluster bootstrap of the four estimators on the same resamples.

    Parameters
    ----------
    sums : array ``(n_items, 9)``
        :func:`per_item_sums`.
    n_boot, seed, ci_level :
        As for :func:`judgelab.stats.resampling.cluster_bootstrap`.

    Returns
    -------
    list of BootstrapResult
        In :data:`CORRECTED_IDS` order.
    """
    return cluster_bootstrap_each(sums, corrected_statistics(), n_boot, seed, ci_level)


def _binary(units: pd.DataFrame, col: str, allow_missing: bool) -> np.ndarray:
    if col not in units.columns:
        raise DataError(TABLE, col, f"column missing (columns: {list(units.columns)}); add it")
    v = pd.to_numeric(units[col].astype("object").where(units[col].notna()), errors="coerce")
    bad = units.index[(units[col].notna() & ~v.isin([0, 1])).to_numpy()]
    if not allow_missing:
        bad = bad.union(units.index[units[col].isna().to_numpy()])
    if len(bad):
        what = "0/1 (or True/False)" + (
            ", or empty for an unlabelled unit" if allow_missing else ""
        )
        raise DataError(TABLE, col, f"values must be {what}; threshold or recode them", rows=bad)
    return v.to_numpy(dtype=float)


def _iid_rows(T: np.ndarray, ci_level: float) -> dict:
    """Closed-form (iid) estimate, interval, method and extras of each estimator."""
    n_l, n_all = T[_NL], T[_NL] + T[_NU]
    out = {}
    k_j = T[_SH] + T[_SU]
    lo, hi = wilson_ci(k_j, n_all, ci_level) if n_all else (np.nan, np.nan)
    out["naive_rate"] = dict(ci=(lo, hi), method="judge pass rate; Wilson score interval (iid)")
    lo, hi = wilson_ci(T[_SY], n_l, ci_level) if n_l else (np.nan, np.nan)
    out["human_only_rate"] = dict(
        ci=(lo, hi), method="human pass rate on the labelled units; Wilson score interval (iid)"
    )
    p, tpr, tnr, m0, m1 = (float(x[0]) for x in _rg_parts(T))
    lo, hi = lee_adjusted_wald_ci(p, tpr, tnr, n_all, m0, m1, ci_level)
    out["rogan_gladen_rate"] = dict(
        ci=(float(lo), float(hi)),
        method="Rogan-Gladen, TPR and TNR within the slice, clipped to [0, 1]; adjusted-Wald "
        "CI of Lee et al. 2025 (iid)",
        reason=rogan_gladen_undefined(tpr, tnr, m0, m1),
        extra={"tpr": tpr, "tnr": tnr},
    )
    r = _ppi(T, ci_level)
    reason = None
    if n_l < 2:
        reason = f"{int(n_l)} labelled unit(s): PPI++ needs at least 2"
    elif T[_NU] < 1:
        reason = "every unit is labelled: PPI++ needs units with a judge verdict only"
    out["ppi_rate"] = dict(
        ci=(float(np.clip(r.ci_low[0], 0, 1)), float(np.clip(r.ci_high[0], 0, 1))),
        method="PPI++ with power-tuned lambda (Angelopoulos et al. 2023); Wald CI clipped to "
        "[0, 1] (iid)",
        reason=reason,
        extra={"lambda": float(r.lam[0]), "n_eff": float(r.n_eff[0])},
    )
    return out


def corrected_rate_rows(
    sums: np.ndarray,
    *,
    judge: str | None = None,
    slice: dict | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    boots=None,
) -> list[dict]:
    """Findings rows of the four estimators for one judge and one target.

    Parameters
    ----------
    sums : array ``(n_items, 9)``
        :func:`per_item_sums` of the target's units.
    judge, slice :
        Identity and slice written to the rows.
    n_boot, seed, ci_level :
        Bootstrap settings (the bootstrap runs only when an item has several units).
    boots : list of BootstrapResult, optional
        :func:`corrected_bootstrap` of ``sums`` with these settings, already computed (a
        caller bootstrapping more statistics of the same sums on the same resamples, in one
        product of the weights); None: computed here.

    Returns
    -------
    list of dict
        One row per id of :data:`CORRECTED_IDS`; ``iid_ci_low`` / ``iid_ci_high`` /
        ``iid_method`` hold the closed form, ``n_labelled`` / ``n_items`` the sizes,
        ``tpr`` / ``tnr`` (Rogan-Gladen) and ``lambda`` / ``n_eff`` (PPI++) the parts.
    """
    S = np.asarray(sums, dtype=float)
    T = S.sum(axis=0)
    n_units = S[:, _NL] + S[:, _NU]
    clustered = bool((n_units > 1).any())
    iid = _iid_rows(T, ci_level)
    if not clustered:
        boots = None
    elif boots is None:
        boots = corrected_bootstrap(S, n_boot, seed, ci_level)
    points = [float(f(T[None, :])[0]) for f in corrected_statistics()]
    shares = {
        "naive_rate": (S[:, _SH] + S[:, _SU], n_units),
        "human_only_rate": (S[:, _SY], S[:, _NL]),
    }
    rows = []
    for k, id_ in enumerate(CORRECTED_IDS):
        part = iid[id_]
        reason = part.get("reason")
        est = None if (reason or not np.isfinite(points[k])) else points[k]
        lo, hi = part["ci"]
        method = part["method"]
        if clustered and est is not None:
            edge = edge_share_interval(*shares[id_]) if id_ in shares else None
            if edge is not None:
                lo, hi, method = edge.ci_low, edge.ci_high, edge.method
            else:
                b = boots[k]
                lo, hi, reason = b.ci_low, b.ci_high, b.reason
                again = _REESTIMATED.get(id_, "")
                method = f"{part['method'].rsplit(';', 1)[0]}; {b.method}{again}"
        floor = None
        if est is not None and id_ in _FLOORED and _finite(lo, hi):
            floor = few_labels_floor(S, ci_level)
        if floor is not None:
            lo, hi = min(lo, floor.ci_low), max(hi, floor.ci_high)
            method = (
                f"{method}; widened to contain the human-only rate's {floor.method} "
                f"(fewer than {MIN_CONTRIBUTING_ITEMS} labelled items: this estimator's "
                "interval under-covers there)"
            )
        n = T[_NL] if id_ == "human_only_rate" else T[_NL] + T[_NU]
        if est is None and reason is None:
            reason = "no unit in this target" if n == 0 else "undefined on this data"
        rows.append(
            finding(
                id_,
                est,
                judge=judge,
                slice=slice,
                ci_low=lo if est is not None else None,
                ci_high=hi if est is not None else None,
                ci_level=ci_level,
                method=method,
                n=int(n),
                reason=reason,
                n_labelled=int(T[_NL]),
                n_items=int((n_units > 0).sum()),
                iid_ci_low=part["ci"][0] if est is not None else None,
                iid_ci_high=part["ci"][1] if est is not None else None,
                iid_method=part["method"],
                few_labels_floor=floor is not None,
                **part.get("extra", {}),
            )
        )
    return rows


def corrected_rates(
    units: pd.DataFrame,
    *,
    item: str = "item_id",
    verdict: str = "judge_pass",
    human: str = "human_pass",
    judge: str | None = None,
    by: Sequence[str] = (),
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Naive, human-only, Rogan-Gladen and PPI++ rates for each judge and target.

    Parameters
    ----------
    units : DataFrame
        One row per judged unit.
    item : str
        Column of the item each unit belongs to (the resampling cluster).
    verdict : str
        Column of the judge's binary verdict (0/1 or bool, no missing value).
    human : str
        Column of the human label (0/1 or bool; empty = unlabelled).
    judge : str, optional
        Column of the judge identity; one set of rows per judge (None: one judge).
    by : sequence of str
        Columns defining targets beside the overall one: each value ``v`` of column ``c``
        gives the slice ``{c: v}``, with TPR, TNR and lambda estimated within it.
    n_boot, seed, ci_level :
        Item-cluster bootstrap settings.

    Returns
    -------
    DataFrame
        Findings rows (:func:`corrected_rate_rows`), the overall target first.
    """
    for col in [item, *([judge] if judge else []), *by]:
        if col not in units.columns:
            raise DataError(TABLE, col, f"column missing (columns: {list(units.columns)}); add it")
    if units[item].isna().any():
        raise DataError(
            TABLE, item, "every unit needs an item", rows=units.index[units[item].isna()]
        )
    j = _binary(units, verdict, allow_missing=False)
    h = _binary(units, human, allow_missing=True)
    groups = [(None, np.arange(len(units)))]
    if judge:
        codes, names = pd.factorize(units[judge], sort=True)
        groups = [(str(nm), np.flatnonzero(codes == c)) for c, nm in enumerate(names)]
    rows: list[dict] = []
    items = units[item].to_numpy()
    for name, idx in groups:
        targets = [(None, idx)]
        for col in by:
            vals = units[col].to_numpy()[idx]
            for v in pd.unique(vals):
                targets.append(({col: v}, idx[vals == v]))
        for sl, ix in targets:
            S, _ = per_item_sums(items[ix], j[ix], h[ix])
            rows += corrected_rate_rows(
                S, judge=name, slice=sl, n_boot=n_boot, seed=seed, ci_level=ci_level
            )
    return findings_frame(rows)
