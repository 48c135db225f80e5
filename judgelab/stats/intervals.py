"""Intervals for a share at the edges (docs/statistics.md#degenerate-cases).

An item-cluster bootstrap of a share is degenerate when the share is 0 or 1 (every resample
gives the same value: "95% CI 1.00-1.00" for 9 of 9) and unreliable when few items
contribute. There the share gets an exact Clopper-Pearson interval on the item-level counts,
with several calls per item counted once: effective n = n / design effect. This module is
the one home of that rule; the bootstrap stays for the other cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv
from scipy.stats import beta

__all__ = [
    "MIN_CONTRIBUTING_ITEMS",
    "EdgeInterval",
    "clopper_pearson",
    "clopper_pearson_upper",
    "design_effect_from_sums",
    "edge_share_interval",
    "share_finding_kwargs",
]

#: fewer contributing items than this, or a share of 0 or 1: Clopper-Pearson, not the bootstrap
MIN_CONTRIBUTING_ITEMS = 30


@dataclass(frozen=True)
class EdgeInterval:
    """A Clopper-Pearson interval on effective counts and how it was obtained."""

    ci_low: float
    ci_high: float
    n_items: int
    n_effective: float
    design_effect: float
    method: str


def clopper_pearson(k: float, n: float, ci_level: float = 0.95) -> tuple[float, float]:
    """Exact (beta) interval for k successes in n trials; k and n may be non-integer
    (effective counts). Matches ``statsmodels.stats.proportion.proportion_confint(k, n,
    alpha, method="beta")``."""
    if n <= 0:
        raise ValueError(f"clopper_pearson needs n > 0, not {n}")
    if not 0 <= k <= n:
        raise ValueError(f"clopper_pearson needs 0 <= k <= n, not k={k}, n={n}")
    a = 1.0 - ci_level
    lo = 0.0 if k <= 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = float(clopper_pearson_upper(k, n, 1 - a / 2))
    return lo, hi


def clopper_pearson_upper(k, n, level: float):
    """One-sided Clopper-Pearson upper bound at ``level`` (1 where k >= n), vectorised over
    arrays of (effective) counts: the upper end of :func:`clopper_pearson` at two-sided level
    ``2 level - 1``."""
    k, n = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float))
    with np.errstate(invalid="ignore"):
        hi = betaincinv(k + 1, np.where(k >= n, 1.0, n - k), level)
    return np.where(k >= n, 1.0, hi)


def _design_effect(k: np.ndarray, n: np.ndarray) -> float:
    """Cluster variance of the share over its binomial variance, at least 1 (Kish). At a share
    of 0 or 1 the data say nothing about the correlation of one item's calls, so the
    conservative bound is used: every item counts once (design effect = mean calls per item)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    return float(design_effect_from_sums(k.sum(), n.sum(), len(n), k @ k, k @ n, n @ n))


def design_effect_from_sums(k_tot, n_tot, n_items, sum_kk, sum_kn, sum_nn):
    """:func:`_design_effect` from sufficient sums over items (k, n per item: sum k, sum n,
    number of items, sum k^2, sum k n, sum n^2); vectorised over arrays of such sums (e.g.
    the nested kept sets of a threshold grid, :mod:`judgelab.stats.certify`)."""
    k_tot, n_tot, g = (np.asarray(x, dtype=float) for x in (k_tot, n_tot, n_items))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_tot / n_tot
        resid = np.asarray(sum_kk) - 2 * p * np.asarray(sum_kn) + p**2 * np.asarray(sum_nn)
        v_cluster = g / (g - 1) * resid / n_tot**2
        kish = v_cluster / (p * (1 - p) / n_tot)
    edge = (p <= 0) | (p >= 1) | (g < 2)
    return np.maximum(1.0, np.where(edge, n_tot / g, kish))


def edge_share_interval(
    k_per_item,
    n_per_item,
    ci_level: float = 0.95,
    min_items: int = MIN_CONTRIBUTING_ITEMS,
) -> EdgeInterval | None:
    """The Clopper-Pearson interval of the share sum(k) / sum(n) when it is at an edge (0 or 1)
    or fewer than ``min_items`` items contribute (n > 0); None otherwise (use the bootstrap).

    Parameters
    ----------
    k_per_item, n_per_item : array-like
        Per item: successes and calls counting towards the share (items with n = 0 do not
        contribute).
    ci_level : float
        Confidence level.
    min_items : int
        Contributing items below which the bootstrap is not trusted.

    Returns
    -------
    EdgeInterval or None
        The interval on effective counts (k / design effect of n / design effect), or None
        when no item contributes or the bootstrap applies."""
    k = np.asarray(k_per_item, dtype=float).reshape(-1)
    n = np.asarray(n_per_item, dtype=float).reshape(-1)
    if k.shape != n.shape:
        raise ValueError(f"k and n must have one value per item, not {k.shape} and {n.shape}")
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("each item's successes must lie between 0 and its calls")
    use = n > 0
    k, n = k[use], n[use]
    if not len(n):
        return None
    p = k.sum() / n.sum()
    if 0 < p < 1 and len(n) >= min_items:
        return None
    deff = _design_effect(k, n)
    k_eff, n_eff = k.sum() / deff, n.sum() / deff
    lo, hi = clopper_pearson(k_eff, n_eff, ci_level)
    why = f"share of {p:.0f}" if p in (0, 1) else f"{len(n)} contributing items < {min_items}"
    return EdgeInterval(
        ci_low=lo,
        ci_high=hi,
        n_items=len(n),
        n_effective=float(n_eff),
        design_effect=deff,
        method=(
            f"Clopper-Pearson interval ({why}) on item-level counts: {k.sum():.0f} of "
            f"{n.sum():.0f} over {len(n)} items, design effect {deff:.2f}, effective n "
            f"{n_eff:.1f}"
        ),
    )


def share_finding_kwargs(boot, k_per_item, n_per_item) -> dict:
    """The finding keyword arguments of a share estimated by an item-cluster bootstrap
    (``boot``, a :class:`judgelab.stats.resampling.BootstrapResult`), with the CI replaced by
    :func:`edge_share_interval`'s where that rule applies (a share of 0 or 1, or fewer than
    :data:`MIN_CONTRIBUTING_ITEMS` contributing items).

    Parameters
    ----------
    boot : BootstrapResult
        The bootstrap of the share ``sum(k) / sum(n)`` over items.
    k_per_item, n_per_item : array-like
        Per item: the share's numerator and denominator (the same per-item table the bootstrap
        resampled).

    Returns
    -------
    dict
        ``estimate, ci_low, ci_high, ci_level, method, reason`` for
        :func:`judgelab.stats._tidy.finding`. Where the rule applies, the bootstrap's reason
        about its own interval (too few items, degenerate resamples) no longer holds and is
        dropped."""
    kw = dict(boot.finding_kwargs())
    edge = (
        edge_share_interval(k_per_item, n_per_item, boot.ci_level)
        if kw["estimate"] is not None
        else None
    )
    if edge is not None:
        kw.update(ci_low=edge.ci_low, ci_high=edge.ci_high, method=edge.method, reason=None)
    return kw
