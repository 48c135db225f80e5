"""Certified selective evaluation: which verdicts of a judge can be trusted without a human
(docs/statistics.md#certified-cascade; Jung, Brahman & Choi, "Trust or Escalate", ICLR 2025).

Everything here works on plain arrays, one entry per unit (a pair): the judge's
``confidence`` (any score where higher means "more likely to agree with humans"; only its
order matters, so a monotone recalibration changes nothing), ``agree`` (1 when the judge's
verdict is the human majority's, 0 when not, NaN when the humans have no majority: counted
as a disagreement) and ``clusters`` (the item of each pair: pairs of one item are not
independent).

The guarantee, for one judge and one ``alpha``: with probability at least ``1 - delta`` over
the draw of the calibration units, the population disagreement with humans among the units
whose confidence reaches the certified threshold is at most ``alpha``. It is marginal over
calibration draws (not per family of items, not per item), holds only for new units drawn
like the calibration ones (not under shift), and each ``alpha`` is a separate guarantee.

Fixed-sequence testing (:func:`certify_stage`):

1. A grid of thresholds is chosen without looking at labels (:func:`threshold_grid`): the
   confidence values that keep ``n_min, ...`` units, in descending order, only thresholds
   that keep at least ``n_min`` items (:func:`min_kept_units`).
2. Each threshold, in that order, is tested with the one-sided Clopper-Pearson upper bound at
   level ``1 - delta`` on the disagreement among the calibration units it keeps, on effective
   counts (n and k divided by the estimated design effect of the items,
   :mod:`judgelab.stats.intervals`). It passes when the bound is at most ``alpha``.
3. Testing stops at the first failure (:func:`fixed_sequence`); the certified threshold is the
   last one that passed. If the first fails the judge keeps nothing. (Scanning every threshold
   and keeping the lowest that passes has no such guarantee; nor has keeping the first
   threshold when it fails.)

A cascade of K judges (:func:`certify_cascade`) certifies each judge on the calibration units
that reach it at ``delta / K`` (a union bound), so that all K guarantees hold together with
probability at least ``1 - delta``; the units no judge keeps go to humans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import binom

from judgelab.stats.intervals import clopper_pearson_upper, design_effect_from_sums

__all__ = [
    "POWER",
    "StageCertificate",
    "cascade_routes",
    "certify_cascade",
    "certify_stage",
    "disagreement_upper_bound",
    "fixed_sequence",
    "min_kept_units",
    "threshold_grid",
]

#: :func:`min_kept_units`: the probability with which a judge whose disagreement is alpha / 2
#: must certify at the smallest threshold tested
POWER = 0.8
#: thresholds on the grid (at most)
N_GRID = 20
#: the route of a unit that no judge of the cascade keeps (:func:`cascade_routes`)
HUMAN = -1


def disagreement_upper_bound(k, n, delta: float):
    """One-sided Clopper-Pearson upper bound at level ``1 - delta`` on a disagreement share of
    ``k`` in ``n`` (effective counts may be non-integer; vectorised):
    :func:`judgelab.stats.intervals.clopper_pearson_upper`."""
    return clopper_pearson_upper(k, n, 1.0 - delta)


@lru_cache(maxsize=256)
def min_kept_units(alpha: float, delta: float, power: float = POWER) -> int:
    """The fewest kept (effective) units a threshold needs before it is tested.

    The smallest n at which a judge whose true disagreement is ``alpha / 2`` certifies with
    probability at least ``power``: P(Binomial(n, alpha / 2) <= k_max(n)) >= power, where
    k_max(n) is the largest number of disagreements whose one-sided Clopper-Pearson bound at
    ``1 - delta`` is at most ``alpha``. About 128 at alpha = delta = 0.1, 63 at alpha = 0.2,
    282 at alpha = 0.05. A floor of 30 is too low: at alpha = 0.1 only zero disagreements
    certify with 30 units, and a 97%-accurate judge is escalated in 59% of datasets.
    """
    _check_levels(alpha, delta)
    for n in range(1, 200_000):
        ks = np.arange(n + 1)
        ub = disagreement_upper_bound(ks, n, delta)
        ok = ks[ub <= alpha]
        if ok.size and binom.cdf(ok.max(), n, alpha / 2) >= power:
            return n
    raise ValueError(f"alpha={alpha} is too small to certify with fewer than 200,000 units")


def _check_levels(alpha: float, delta: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha (the tolerated disagreement) must lie in (0, 1), not {alpha}")
    if not 0 < delta < 0.5:
        raise ValueError(
            f"delta (the risk of a wrong certificate) must lie in (0, 0.5), not {delta}"
        )


def threshold_grid(confidence, clusters=None, *, n_min: int, n_grid: int = N_GRID) -> np.ndarray:
    """Descending thresholds chosen without labels: the confidence values at which the kept
    units (confidence >= t) number ``n_min`` up to all of them, ``n_grid`` steps evenly spaced
    in the number kept; only thresholds keeping at least ``n_min`` distinct clusters (items)
    stay. Empty when there are too few. (:func:`certify_stage` builds the same grid.)"""
    c = np.asarray(confidence, dtype=float).reshape(-1)
    cl = np.arange(c.size) if clusters is None else np.asarray(clusters).reshape(-1)
    return _sorted_grid(*_sorted_units(c, cl), n_min=n_min, n_grid=n_grid)[0]


def _sorted_units(c: np.ndarray, cl) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite-confidence units in descending confidence: (confidence, cluster codes, order)."""
    order = np.flatnonzero(np.isfinite(c))
    order = order[np.argsort(-c[order], kind="stable")]
    codes = pd.factorize(pd.Series(np.asarray(cl)[order], dtype=object))[0]
    return c[order], codes, order


def _sorted_grid(s: np.ndarray, codes: np.ndarray, order, *, n_min: int, n_grid: int):
    """(thresholds, kept units per threshold, kept items per threshold) on sorted units."""
    if s.size < n_min:
        return np.empty(0), np.empty(0, int), np.empty(0, int)
    counts = np.unique(np.linspace(n_min, s.size, n_grid).round().astype(int))
    grid = np.unique(s[counts - 1])[::-1]
    # kept at t: every unit with confidence >= t (ties at t included)
    n_kept = np.searchsorted(-s, -grid, side="right")
    first = np.zeros(s.size, dtype=bool)
    first[np.unique(codes, return_index=True)[1]] = True
    n_items = np.cumsum(first)[n_kept - 1]
    ok = n_items >= n_min
    return grid[ok], n_kept[ok], n_items[ok]


def fixed_sequence(passed) -> np.ndarray:
    """Number of leading passes along the last axis (thresholds in testing order): the index
    of the certified threshold plus one, 0 when the first test fails. Vectorised over
    leading axes (e.g. simulated datasets)."""
    p = np.asarray(passed, dtype=bool)
    return np.cumprod(p, axis=-1).sum(axis=-1)


@dataclass
class StageCertificate:
    """One judge's certificate at one alpha: its threshold (None: it keeps nothing) and the
    tests (``tests``: one row per grid threshold in testing order, with ``n_kept``,
    ``design_effect``, ``n_effective``, ``disagreements``, ``upper_bound``, ``passed``,
    ``tested``: False after the first failure)."""

    alpha: float
    delta: float
    n_min: int
    threshold: float | None
    n_units: int
    n_no_majority: int
    tests: pd.DataFrame = field(repr=False)
    reason: str | None = None

    @property
    def keeps_nothing(self) -> bool:
        return self.threshold is None

    def kept(self, confidence) -> np.ndarray:
        """Which units (of any split) this certificate keeps."""
        c = np.asarray(confidence, dtype=float)
        if self.threshold is None:
            return np.zeros(c.shape, dtype=bool)
        return np.nan_to_num(c, nan=-np.inf) >= self.threshold

    def calibration_coverage(self) -> float:
        passed = self.tests[self.tests["passed"] & self.tests["tested"]]
        return (
            0.0
            if passed.empty or not self.n_units
            else float(passed["n_kept"].iloc[-1] / self.n_units)
        )

    def describe(self) -> str:
        """One sentence: the threshold and what it rests on, or why nothing is kept."""
        if self.threshold is None:
            return self.reason or "keeps nothing"
        last = self.tests[self.tests["passed"] & self.tests["tested"]].iloc[-1]
        return (
            f"threshold {self.threshold:.4g}: {int(last['disagreements'])} disagreements among "
            f"{int(last['n_kept'])} calibration pairs (effective n {last['n_effective']:.1f}), "
            f"one-sided {1 - self.delta:.1%} Clopper-Pearson bound {last['upper_bound']:.3f} "
            f"<= {self.alpha:g}"
        )


def _agreement_array(agree, n: int) -> tuple[np.ndarray, int]:
    a = np.asarray(agree, dtype=float).reshape(-1)
    if a.size != n:
        raise ValueError(f"agree has {a.size} values for {n} confidences")
    bad = np.isfinite(a) & ~np.isin(a, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"agree must be 1 (agrees with the human majority), 0 or NaN (no majority), not "
            f"{np.unique(a[bad])[:10].tolist()}"
        )
    missing = ~np.isfinite(a)
    # no human majority: the judge cannot be shown to agree, so it counts against it
    return np.where(missing, 0.0, a), int(missing.sum())


def certify_stage(
    confidence,
    agree,
    clusters=None,
    *,
    alpha: float,
    delta: float,
    n_min: int | None = None,
    n_grid: int = N_GRID,
) -> StageCertificate:
    """Fixed-sequence certification of one judge on its calibration units (module docstring).

    Parameters
    ----------
    confidence : array-like of float
        The judge's confidence per unit (higher: more trusted); NaN never kept.
    agree : array-like of {0, 1, NaN}
        Agreement with the human majority per unit; NaN (no majority) counts as 0.
    clusters : array-like, optional
        Item of each unit (design effect); default every unit its own item.
    alpha, delta : float
        Tolerated disagreement, and the probability that the certificate is wrong.
    n_min : int, optional
        Fewest kept units per tested threshold; default :func:`min_kept_units`.
    n_grid : int
        Thresholds on the label-free grid (at most).

    Returns
    -------
    StageCertificate
    """
    _check_levels(alpha, delta)
    c = np.asarray(confidence, dtype=float).reshape(-1)
    a, n_missing = _agreement_array(agree, c.size)
    cl = np.arange(c.size) if clusters is None else np.asarray(clusters).reshape(-1)
    if cl.size != c.size:
        raise ValueError(f"clusters has {cl.size} values for {c.size} confidences")
    n_min = min_kept_units(alpha, delta) if n_min is None else int(n_min)
    sc, codes, order = _sorted_units(c, cl)
    grid, n_kept, n_items = _sorted_grid(sc, codes, order, n_min=n_min, n_grid=n_grid)
    tests = _grid_tests(1.0 - a[order], codes, grid, n_kept, n_items, delta)
    tests["passed"] = tests["upper_bound"] <= alpha
    n_pass = int(fixed_sequence(tests["passed"].to_numpy()))
    tests["tested"] = np.arange(len(tests)) <= n_pass
    threshold, reason = None, None
    if n_pass:
        threshold = float(tests["threshold"].iloc[n_pass - 1])
    elif tests.empty:
        reason = (
            f"keeps nothing: {c.size} calibration pairs over {np.unique(cl).size} items, and "
            f"a threshold needs at least {n_min} kept items at alpha={alpha:g}, delta={delta:g}"
        )
    else:
        first = tests.iloc[0]
        reason = (
            f"keeps nothing: its most confident {int(first['n_kept'])} calibration pairs "
            f"disagree with humans {int(first['disagreements'])} times (bound "
            f"{first['upper_bound']:.3f} > {alpha:g})"
        )
    return StageCertificate(alpha, delta, n_min, threshold, c.size, n_missing, tests, reason)


def _grid_tests(err, codes, grid, n_kept, n_items, delta) -> pd.DataFrame:
    """Per grid threshold (nested kept sets of the sorted units): counts, design effect of
    the items (running sufficient sums, one pass) and the upper bound on effective counts."""
    cols = ["threshold", "n_kept", "n_items", "design_effect", "n_effective", "disagreements",
            "upper_bound"]  # fmt: skip
    if not len(grid):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    # before unit i joins, its item holds n_prev units with k_prev disagreements
    by_item = np.lexsort((np.arange(codes.size), codes))
    start = np.r_[True, codes[by_item][1:] != codes[by_item][:-1]]
    grp = np.cumsum(start) - 1
    pos = np.arange(codes.size) - np.flatnonzero(start)[grp]
    cum_e = np.cumsum(err[by_item])
    base = np.r_[0.0, cum_e][np.flatnonzero(start)][grp]
    n_prev, k_prev = np.empty(codes.size), np.empty(codes.size)
    n_prev[by_item], k_prev[by_item] = pos, cum_e - err[by_item] - base
    # increments of sum n^2, sum k^2 and sum k n over items when unit i joins its item
    d_nn = 2 * n_prev + 1
    d_kk = 2 * k_prev * err + err**2
    d_kn = k_prev + n_prev * err + err
    at = n_kept - 1
    k_tot = np.cumsum(err)[at]
    sums = [np.cumsum(d)[at] for d in (d_kk, d_kn, d_nn)]
    deff = design_effect_from_sums(k_tot, n_kept, n_items, *sums)
    n_eff, k_eff = n_kept / deff, k_tot / deff
    ub = disagreement_upper_bound(k_eff, n_eff, delta)
    return pd.DataFrame(
        {"threshold": grid, "n_kept": n_kept, "n_items": n_items, "design_effect": deff,
         "n_effective": n_eff, "disagreements": k_tot, "upper_bound": np.asarray(ub, float)}
    )  # fmt: skip


def certify_cascade(
    confidences,
    agrees,
    clusters=None,
    *,
    alpha: float,
    delta: float,
    n_min: int | None = None,
    n_grid: int = N_GRID,
) -> list[StageCertificate]:
    """Certify a cascade of K judges on the same calibration units (cheap first).

    Judge k is certified at ``delta / K`` (union bound) on the units that no earlier judge
    keeps. ``confidences`` and ``agrees`` hold one array per judge, aligned on the units."""
    k = len(confidences)
    if k == 0 or len(agrees) != k:
        raise ValueError("certify_cascade needs one confidence and one agree array per judge")
    n = len(np.asarray(confidences[0]))
    cl = np.arange(n) if clusters is None else np.asarray(clusters)
    reach = np.ones(n, dtype=bool)
    certs = []
    for conf, agr in zip(confidences, agrees, strict=True):
        conf, agr = np.asarray(conf, dtype=float), np.asarray(agr, dtype=float)
        cert = certify_stage(
            conf[reach], agr[reach], cl[reach], alpha=alpha, delta=delta / k, n_min=n_min,
            n_grid=n_grid,
        )  # fmt: skip
        certs.append(cert)
        reach &= ~cert.kept(conf)
    return certs


def cascade_routes(certificates, confidences) -> np.ndarray:
    """Per unit, the index of the judge that keeps it (the first whose threshold its
    confidence reaches), or :data:`HUMAN` (-1) when none does."""
    n = len(np.asarray(confidences[0]))
    route = np.full(n, HUMAN)
    for k, (cert, conf) in enumerate(zip(certificates, confidences, strict=True)):
        route[(route == HUMAN) & cert.kept(conf)] = k
    return route
