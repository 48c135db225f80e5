"""Resampling and exact tests: item-cluster bootstrap, sign-flip permutation, Wilson, binomial, McNemar.

Judgments that share an item are not independent, so every interval here resamples
*items* (clusters), never rows (docs/statistics.md, "Clustering").

The fast path is :func:`cluster_bootstrap`. A statistic that is a function of sums over
items (kappa, accuracy, F1 from confusion counts; means and ratios; Pearson from
moment sums) is described by an ``(n_items, k)`` array of per-item sufficient
statistics. A resample of items is a vector of multinomial counts ``w`` (how often
each item was drawn), so the resample's totals are ``w @ per_item``; a matrix of
``n_boot`` weight vectors turns the whole bootstrap into one matrix product
``(n_boot, n_items) @ (n_items, k) -> (n_boot, k)`` followed by one vectorised call
of the statistic. No Python loop over resamples.

Statistics that are not functions of sums (Spearman, Kendall tau: ranks change with
every resample) use :func:`cluster_bootstrap_rows`, which loops over resamples in
Python and is therefore much slower; it draws the same item weights for the same
seed, so both paths resample identically.

References: Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13-14
(percentile and BCa intervals, jackknife acceleration); Field & Welsh (2007),
"Bootstrapping clustered data", JRSS-B 69(3); Good (2005), *Permutation, Parametric
and Bootstrap Tests*, for p = (k + 1) / (B + 1); Wilson (1927), JASA 22(158);
McNemar (1947), Psychometrika 12(2).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from judgelab.stats._exact_totals import Float32Totals
from judgelab.stats._flips import BitFlips, IntegerFlips, bit_flips_match

__all__ = [
    "BootstrapResult",
    "SignFlipResult",
    "bootstrap_weights",
    "iter_bootstrap_weights",
    "cluster_bootstrap",
    "cluster_bootstrap_each",
    "cluster_bootstrap_rows",
    "ResampleTotals",
    "bootstrap_p_value",
    "sign_flip_test",
    "wilson_ci",
    "binom_test",
    "mcnemar_exact",
    "single_thread_blas",
]

#: Fewer items than this in a slice: the estimate is kept, the CI is null (docs/statistics.md).
MIN_ITEMS = 30
#: More than this share of undefined resamples: the CI is null (docs/statistics.md).
MAX_DEGENERATE = 0.01
# Elements of one block of resample weights; bounds memory (8 bytes each -> 32 MB) whatever
# n_boot * n_items is, so 1,000,000-row analyses stay far below the 2 GB target.
_BLOCK_ELEMENTS = 4_000_000


_CONTROLLER = None


def single_thread_blas():
    """Context manager limiting BLAS to one thread (threadpoolctl; no-op without it).

    The products here are small or tall-and-thin: a multi-threaded BLAS spends more time
    waking and spinning threads than computing, and on a shared, busy machine each call
    can become 10-40x slower (measured: a 999 x 150 @ 150 x 4 product took 23 ms with
    OpenBLAS's 2 threads under load and 0.5 ms with one). The controller is created on
    first use, not at import.
    """
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or no BLAS found: run as is
        return contextlib.nullcontext()


# ---------------------------------------------------------------------------------------
# resample weights
# ---------------------------------------------------------------------------------------


def _block_rows(n_items: int, n_boot: int) -> int:
    return int(max(1, min(n_boot, _BLOCK_ELEMENTS // max(n_items, 1))))


#: Cells counted by one bincount: its int64 counts (128 KB) stay in the CPU cache, where one
#: bincount over a whole block writes and re-reads 32 MB (twice as slow at 14,000 items).
_COUNT_CELLS = 16_384


def _draw_weight_blocks(
    n_items: int, n_boot: int, rng: np.random.Generator, block: int
) -> Iterator[np.ndarray]:
    """Blocks ``(b, n_items)`` of resample counts, uint8 (wider only when an item is drawn
    more than 255 times in one resample)."""
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        # Drawing n_items indices per resample and counting them is much faster than
        # rng.multinomial with n_items cells. int32 draws are about twice as fast as int64; a
        # block has at most _BLOCK_ELEMENTS < 2**31 cells, so the offset indices fit too.
        idx = rng.integers(0, n_items, size=(b, n_items), dtype=np.int32)
        yield _count_rows(idx, n_items)
        done += b


def _count_rows(idx: np.ndarray, n_items: int) -> np.ndarray:
    """Row r of the result counts the values of ``idx[r]`` (in [0, n_items)): a bincount
    over a few rows at a time, each row's values offset by its position in the chunk."""
    b = len(idx)
    rows = max(1, _COUNT_CELLS // n_items)
    offset = (np.arange(rows, dtype=np.int32) * n_items)[:, None]
    out = np.empty((b, n_items), dtype=np.uint8)
    for r in range(0, b, rows):
        m = min(rows, b - r)
        cnt = np.bincount((idx[r : r + m] + offset[:m]).ravel(), minlength=m * n_items)
        if out.dtype == np.uint8 and cnt.max(initial=0) > 255:
            out = out.astype(np.min_scalar_type(n_items))  # rows before r keep their counts
        out[r : r + m] = cnt.reshape(m, n_items)
    return out


# Weights drawn from an integer seed, kept for reuse: a study bootstraps many statistics
# (every judge, every slice) over the same items with the same seed, so the same
# (n_items, n_boot, seed) recurs and its draws are identical by construction. Stored as
# uint8 (an item drawn more than 255 times in one resample does not happen at these sizes;
# if it does, the block keeps a wider type): 14 MB per 1,000 resamples of 13,889 items. At
# most _WEIGHT_CACHE_BYTES in all; once full, new weights are drawn and not kept (a study
# cycles through its slices judge after judge, where evicting the oldest would miss every
# time).
_WEIGHT_CACHE: dict[tuple[int, int, int, int], tuple[np.ndarray, ...]] = {}
_WEIGHT_CACHE_BYTES = 200_000_000


def _cached_bytes() -> int:
    return sum(w.nbytes for blocks in _WEIGHT_CACHE.values() for w in blocks)


def _compact(w: np.ndarray) -> np.ndarray:
    """A drawn block as kept: read-only (its dtype is already the smallest that holds it)."""
    w.flags.writeable = False
    return w


def _weight_blocks(
    n_items: int,
    n_boot: int,
    seed: int | np.random.Generator,
    block: int | None,
    keep: bool = True,
) -> Iterator[np.ndarray]:
    """Blocks of resample counts, compact dtype when drawn from an integer seed; kept for
    reuse unless ``keep`` is False (weights already kept are read either way)."""
    n_items, n_boot = int(n_items), int(n_boot)
    if n_items < 1 or n_boot < 1:
        raise ValueError(f"n_items and n_boot must be >= 1 (got {n_items}, {n_boot})")
    block = _block_rows(n_items, n_boot) if block is None else int(block)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        # a caller's generator (its stream continues after this call) or another seed
        # form: drawn every time, nothing to reuse
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        yield from _draw_weight_blocks(n_items, n_boot, rng, block)
        return
    key = (n_items, n_boot, int(seed), block)
    blocks = _WEIGHT_CACHE.get(key)
    if blocks is None and not keep:
        yield from _draw_weight_blocks(n_items, n_boot, np.random.default_rng(seed), block)
        return
    if blocks is None:
        rng = np.random.default_rng(seed)
        blocks = tuple(_compact(w) for w in _draw_weight_blocks(n_items, n_boot, rng, block))
        if sum(w.nbytes for w in blocks) + _cached_bytes() <= _WEIGHT_CACHE_BYTES:
            _WEIGHT_CACHE[key] = blocks
    yield from blocks


def iter_bootstrap_weights(
    n_items: int, n_boot: int, seed: int | np.random.Generator = 0, block: int | None = None
) -> Iterator[np.ndarray]:
    """Yield the rows of :func:`bootstrap_weights` in blocks of at most ``block`` resamples.

    Each block is an integer array ``(b, n_items)`` of multinomial counts: row r says how
    often each item is drawn in resample r (rows sum to ``n_items``). Concatenating the
    blocks gives exactly ``bootstrap_weights(n_items, n_boot, seed)`` for any block size,
    because the item indices are drawn row by row from one seeded generator. With an
    integer seed the draws are kept and reused by later calls with the same arguments
    (they are identical by construction); a ``Generator`` is drawn from every time.
    """
    for w in _weight_blocks(n_items, n_boot, seed, block):
        yield w.astype(np.int64)


def bootstrap_weights(n_items: int, n_boot: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``(n_boot, n_items)`` multinomial resample counts of items (each row sums to n_items).

    Row r is the number of times each item is drawn in bootstrap resample r, drawn with
    ``numpy.random.default_rng(seed)``. The totals of resample r of per-item sufficient
    statistics ``S`` are ``W[r] @ S``.
    """
    return np.concatenate(list(iter_bootstrap_weights(n_items, n_boot, seed)), axis=0)


# ---------------------------------------------------------------------------------------
# bootstrap result
# ---------------------------------------------------------------------------------------


@dataclass
class BootstrapResult:
    """Estimate and cluster-bootstrap interval.

    ``estimate`` is the statistic on the full data (None when undefined); ``ci_low`` /
    ``ci_high`` are None (with ``reason``) when the interval is not reported: fewer than
    ``min_items`` items, more than 1% degenerate resamples, or BCa undefined.
    ``distribution`` holds the ``n_boot`` resample values (nan = degenerate resample).
    """

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float
    n_boot: int
    n_degenerate: int
    method: str
    reason: str | None = None
    distribution: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    n_items: int = 0

    def p_value(self, null: float = 0.0) -> float | None:
        """Two-sided bootstrap p-value of H0: statistic = ``null`` (see :func:`bootstrap_p_value`)."""
        if self.estimate is None:
            return None
        return bootstrap_p_value(self.distribution, null)

    def finding_kwargs(self) -> dict:
        """Keyword arguments for :func:`judgelab.stats._tidy.finding`."""
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_level": self.ci_level,
            "method": self.method,
            "reason": self.reason,
        }


def bootstrap_p_value(distribution: np.ndarray, null: float = 0.0) -> float | None:
    """Two-sided p-value from a bootstrap distribution: the smallest two-sided level at
    which the percentile interval excludes ``null``,
    ``p = min(1, 2 * min(1 + #{t* <= null}, 1 + #{t* >= null}) / (B + 1))``
    over the B non-degenerate resamples (the +1 keeps p > 0, as for permutation tests).
    """
    d = np.asarray(distribution, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return None
    lo = np.count_nonzero(d <= null)
    hi = np.count_nonzero(d >= null)
    return float(min(1.0, 2.0 * (1 + min(lo, hi)) / (d.size + 1)))


def _method_label(method: str, n_boot: int, ci_level: float, unit: str = "items") -> str:
    return f"cluster bootstrap over {unit} ({method}, B={n_boot}, {ci_level:.0%} CI, unadjusted)"


def _interval(
    estimate: float,
    dist: np.ndarray,
    jack: np.ndarray | None,
    ci_level: float,
    method: str,
) -> tuple[float | None, float | None, str | None]:
    """Percentile or BCa interval from the non-degenerate resamples ``dist``."""
    alpha = 1.0 - ci_level
    if method == "percentile":
        lo, hi = np.quantile(dist, [alpha / 2, 1 - alpha / 2])
        return float(lo), float(hi), None
    # BCa (Efron 1987): bias correction z0 from the share of resamples below the estimate
    # (ties count half), acceleration from the jackknife over items.
    below = np.count_nonzero(dist < estimate) + 0.5 * np.count_nonzero(dist == estimate)
    share = below / dist.size
    if share <= 0.0 or share >= 1.0:
        return None, None, "BCa undefined: every resample lies on one side of the estimate"
    z0 = special.ndtri(share)
    jk = jack[np.isfinite(jack)] if jack is not None else np.empty(0)
    if jk.size < 2:
        return None, None, "BCa undefined: jackknife over items has fewer than 2 defined values"
    d = jk.mean() - jk
    den = 6.0 * (np.sum(d**2) ** 1.5)
    a = float(np.sum(d**3) / den) if den > 0 else 0.0
    z = special.ndtri(np.array([alpha / 2, 1 - alpha / 2]))
    adj = special.ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
    if not np.all(np.isfinite(adj)):
        return None, None, "BCa undefined: non-finite adjusted quantiles"
    lo, hi = np.quantile(dist, adj)
    return float(lo), float(hi), None


def _summarise(
    estimate: float,
    dist: np.ndarray,
    jack_fn: Callable[[], np.ndarray] | None,
    *,
    n_items: int,
    n_boot: int,
    ci_level: float,
    method: str,
    min_items: int,
    max_degenerate: float,
    label: str,
) -> BootstrapResult:
    degenerate = ~np.isfinite(dist)
    n_deg = int(degenerate.sum())
    res = BootstrapResult(
        estimate=float(estimate),
        ci_low=None,
        ci_high=None,
        ci_level=ci_level,
        n_boot=n_boot,
        n_degenerate=n_deg,
        method=label,
        distribution=dist,
        n_items=n_items,
    )
    if n_items < min_items:
        res.reason = f"CI not reported: {n_items} items < {min_items}"
        return res
    if n_deg > max_degenerate * n_boot:
        res.reason = (
            f"CI not reported: {n_deg} of {n_boot} resamples degenerate "
            f"(> {max_degenerate:.0%}; statistic undefined on them)"
        )
        return res
    jack = jack_fn() if (method == "bca" and jack_fn is not None) else None
    lo, hi, why = _interval(float(estimate), dist[~degenerate], jack, ci_level, method)
    res.ci_low, res.ci_high, res.reason = lo, hi, why
    if n_deg and why is None:
        res.reason = f"{n_deg} of {n_boot} resamples degenerate and excluded"
    return res


def _check_common(n_boot: int, ci_level: float, method: str) -> None:
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")


def _undefined(n_items, n_boot, ci_level, method, reason) -> BootstrapResult:
    return BootstrapResult(
        estimate=None,
        ci_low=None,
        ci_high=None,
        ci_level=ci_level,
        n_boot=n_boot,
        n_degenerate=0,
        method=method,
        reason=reason,
        n_items=n_items,
    )


# ---------------------------------------------------------------------------------------
# vectorised cluster bootstrap
# ---------------------------------------------------------------------------------------


def cluster_bootstrap(
    per_item,
    statistic: Callable[[np.ndarray], np.ndarray],
    n_boot: int = 2000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    *,
    min_items: int = MIN_ITEMS,
    max_degenerate: float = MAX_DEGENERATE,
    keep_weights: bool = True,
) -> BootstrapResult:
    """Item-cluster bootstrap of a statistic of per-item sums (vectorised).

    Parameters
    ----------
    per_item : array ``(n_items, k)`` (or ``(n_items,)``)
        Per-item sufficient statistics (e.g. confusion counts of the item's rows). The
        statistic of a set of items depends only on the column sums over those items.
    statistic : callable ``(m, k) -> (m,)``
        Maps totals to statistic values; nan marks an undefined (degenerate) value.
    n_boot, seed, ci_level :
        Number of resamples, seed of ``numpy.random.default_rng``, interval level.
    keep_weights : bool
        Keep the resample weights of an integer ``seed`` for later calls with the same items,
        resamples and seed (default). False for a seed the caller draws once: kept weights
        would only hold memory (14 MB per 1,000 resamples of 14,000 items). The values are
        the same either way.
    method : ``"percentile"`` or ``"bca"``
        BCa uses the bias correction z0 = Phi^-1(share of resamples below the estimate)
        and the acceleration a = sum(d^3) / (6 (sum d^2)^1.5), d = mean(theta_(i)) -
        theta_(i), from the jackknife over items theta_(i) = statistic(total - per_item[i])
        (Efron & Tibshirani 1993, eq. 14.15); the jackknife is one vectorised call too.

    Returns
    -------
    BootstrapResult
        Degenerate resamples are counted in ``n_degenerate``; with more than
        ``max_degenerate`` of them, or fewer than ``min_items`` items, the estimate is kept
        and the CI is None with a reason. An undefined estimate gives ``estimate=None``.
    """
    return cluster_bootstrap_each(
        per_item,
        [statistic],
        n_boot,
        seed,
        ci_level,
        method,
        min_items=min_items,
        max_degenerate=max_degenerate,
        keep_weights=keep_weights,
    )[0]


def cluster_bootstrap_each(
    per_item,
    statistics: Sequence[Callable[[np.ndarray], np.ndarray]],
    n_boot: int = 2000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    *,
    min_items: int = MIN_ITEMS,
    max_degenerate: float = MAX_DEGENERATE,
    keep_weights: bool = True,
) -> list[BootstrapResult]:
    """:func:`cluster_bootstrap` of several statistics of the same per-item table, on the same
    resamples: the resample totals ``W @ per_item`` are computed once and every statistic is
    evaluated on them (accuracy, kappa and F1 of one confusion table, for instance). Each
    result equals ``cluster_bootstrap(per_item, statistic, ...)`` with the same arguments.
    The totals of a block of resamples are dropped once every statistic has read them
    (:class:`ResampleTotals` keeps them, for statistics bootstrapped one at a time)."""
    _check_common(n_boot, ci_level, method)
    S = _per_item_array(per_item)
    n_boot = int(n_boot)
    return _bootstrap_each(
        S,
        lambda: _resample_totals(S, n_boot, seed, keep_weights),
        statistics,
        n_boot=n_boot,
        ci_level=ci_level,
        method=method,
        min_items=min_items,
        max_degenerate=max_degenerate,
    )


def _per_item_array(per_item) -> np.ndarray:
    S = np.asarray(per_item, dtype=float)
    if S.ndim == 1:
        S = S[:, None]
    if S.ndim != 2:
        raise ValueError(f"per_item must be 1-D or 2-D, got shape {S.shape}")
    return S


def _resample_totals(
    S: np.ndarray, n_boot: int, seed: int | np.random.Generator, keep: bool = True
) -> Iterator[np.ndarray]:
    """``W @ S`` block by block of resamples (:func:`_weight_blocks`): in float32 where
    that is provably exact (:class:`~judgelab.stats._exact_totals.Float32Totals`, the same
    values at a third of the cost), otherwise one float64 BLAS call per block."""
    exact = Float32Totals.of(S)
    with single_thread_blas():
        for W in _weight_blocks(len(S), n_boot, seed, None, keep):
            yield W.astype(float) @ S if exact is None else exact(W)


def _bootstrap_each(
    S: np.ndarray,
    totals: Callable[[], Iterable[np.ndarray]],
    statistics: Sequence[Callable[[np.ndarray], np.ndarray]],
    *,
    n_boot: int,
    ci_level: float,
    method: str,
    min_items: int,
    max_degenerate: float,
) -> list[BootstrapResult]:
    """Estimates on ``S``'s total, resample values block by block of ``totals()`` (the
    resample totals of ``S``, read only when some estimate is defined) and the summaries."""
    n_items = S.shape[0]
    label = _method_label(method, n_boot, ci_level)
    if n_items == 0:
        return [_undefined(0, n_boot, ci_level, label, "no items") for _ in statistics]
    total = S.sum(axis=0)
    estimates = [
        float(np.asarray(stat(total[None, :]), dtype=float).reshape(-1)[0]) for stat in statistics
    ]
    defined = [i for i, est in enumerate(estimates) if math.isfinite(est)]
    dists = {i: np.empty(n_boot) for i in defined}
    if defined:
        pos = 0
        for block in totals():
            for i in defined:
                value = np.asarray(statistics[i](block), dtype=float).reshape(-1)
                dists[i][pos : pos + len(block)] = value
            pos += len(block)

    def jack(stat):
        return lambda: np.asarray(stat(total[None, :] - S), dtype=float).reshape(-1)

    out = []
    for i, stat in enumerate(statistics):
        if i not in dists:
            reason = "statistic undefined on this data"
            out.append(_undefined(n_items, n_boot, ci_level, label, reason))
            continue
        out.append(
            _summarise(
                estimates[i],
                dists[i],
                jack(stat),
                n_items=n_items,
                n_boot=n_boot,
                ci_level=ci_level,
                method=method,
                min_items=min_items,
                max_degenerate=max_degenerate,
                label=label,
            )
        )
    return out


class ResampleTotals:
    """The item-cluster resamples of one per-item table summed once, for statistics
    bootstrapped one at a time on the same resamples.

    A study bootstraps many statistics of one table with one seed (the mean agreement of each
    family, of all within-family pairs, across families, their gap): the product
    ``W @ per_item`` (thousands of resamples times hundreds of columns) is the cost, and it
    is the same for each. Its blocks are computed on first use and kept (``n_boot`` x
    columns floats). ``bootstrap(statistic, ...)`` equals ``cluster_bootstrap(per_item,
    statistic, n_boot, seed, ...)`` with an integer ``seed``.

    ``columns`` (a slice or index array) bootstraps a statistic of those columns only:
    ``cluster_bootstrap(per_item[:, columns], ...)``, whose resample totals are these
    totals' columns (equal when the products are exact, as with counts: per-item integer
    statistics and integer weights give integer sums, exact in float64 below 2**53; with
    fractional statistics they can differ in the last bits).
    """

    def __init__(self, per_item, n_boot: int = 2000, seed: int = 0):
        self.per_item = _per_item_array(per_item)
        self.n_boot, self.seed = int(n_boot), seed
        self._blocks: list[np.ndarray] | None = None

    def blocks(self) -> list[np.ndarray]:
        """The resample totals, block by block (computed on the first call)."""
        if self._blocks is None:
            self._blocks = list(_resample_totals(self.per_item, self.n_boot, self.seed))
        return self._blocks

    def bootstrap(
        self,
        statistic: Callable[[np.ndarray], np.ndarray],
        ci_level: float = 0.95,
        method: str = "percentile",
        *,
        columns=None,
        min_items: int = MIN_ITEMS,
        max_degenerate: float = MAX_DEGENERATE,
    ) -> BootstrapResult:
        """:func:`cluster_bootstrap` of ``statistic`` on the kept resamples (see the class)."""
        _check_common(self.n_boot, ci_level, method)
        S, totals = self.per_item, self.blocks
        if columns is not None:
            S = np.ascontiguousarray(S[:, columns])

            def totals():
                return (np.ascontiguousarray(b[:, columns]) for b in self.blocks())

        return _bootstrap_each(
            S,
            totals,
            [statistic],
            n_boot=self.n_boot,
            ci_level=ci_level,
            method=method,
            min_items=min_items,
            max_degenerate=max_degenerate,
        )[0]


def cluster_bootstrap_rows(
    item_ids,
    statistic: Callable[[np.ndarray], float],
    n_boot: int = 2000,
    seed: int | np.random.Generator = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    *,
    min_items: int = MIN_ITEMS,
    max_degenerate: float = MAX_DEGENERATE,
) -> BootstrapResult:
    """Item-cluster bootstrap of any statistic of rows (generic, **slower**: a Python loop).

    For statistics that are not functions of per-item sums (Spearman, Kendall tau, any
    rank statistic). ``item_ids`` gives the item of each row; ``statistic(rows)`` receives
    an integer array of row positions (with repeats: an item drawn twice contributes its
    rows twice) and returns a float (nan = undefined). Resample r draws the items given by
    row r of ``bootstrap_weights(n_items, n_boot, seed)``, so it resamples exactly like
    :func:`cluster_bootstrap` with the same seed. BCa's jackknife calls the statistic once
    per item (leave one item out), so it costs n_items further calls.
    """
    _check_common(n_boot, ci_level, method)
    codes, uniques = _factorize(item_ids)
    n_rows, n_items, n_boot = len(codes), len(uniques), int(n_boot)
    label = _method_label(method, n_boot, ci_level)
    if n_items == 0:
        return _undefined(0, n_boot, ci_level, label, "no items")
    est = float(statistic(np.arange(n_rows)))
    if not math.isfinite(est):
        return _undefined(n_items, n_boot, ci_level, label, "statistic undefined on this data")
    order = np.argsort(codes, kind="stable")
    lengths = np.bincount(codes, minlength=n_items)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])

    def rows_of(counts: np.ndarray) -> np.ndarray:
        # Rows of item j repeated counts[j] times, without a Python loop over items.
        rep = np.repeat(np.arange(n_items), counts)
        ln = lengths[rep]
        out_start = np.cumsum(ln) - ln
        pos = np.arange(int(ln.sum())) - np.repeat(out_start, ln) + np.repeat(starts[rep], ln)
        return order[pos]

    dist = np.empty(n_boot)
    r = 0
    for W in iter_bootstrap_weights(n_items, n_boot, seed):
        for w in W:
            dist[r] = float(statistic(rows_of(w)))
            r += 1

    def jack():
        out = np.empty(n_items)
        ones = np.ones(n_items, dtype=np.int64)
        for j in range(n_items):
            ones[j] = 0
            out[j] = float(statistic(rows_of(ones)))
            ones[j] = 1
        return out

    return _summarise(
        est,
        dist,
        jack,
        n_items=n_items,
        n_boot=n_boot,
        ci_level=ci_level,
        method=method,
        min_items=min_items,
        max_degenerate=max_degenerate,
        label=label,
    )


def _factorize(values) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values).reshape(-1), sort=False)
    if (codes < 0).any():
        raise ValueError("item ids must not be missing")
    return codes.astype(np.int64), np.asarray(uniques)


# ---------------------------------------------------------------------------------------
# permutation and exact tests
# ---------------------------------------------------------------------------------------


class SignFlipResult(NamedTuple):
    """Observed statistic (sum of per-item values) and two-sided permutation p-value."""

    statistic: float
    p_value: float


def sign_flip_test(
    per_item_values, n_perm: int = 9999, seed: int | np.random.Generator = 0
) -> SignFlipResult:
    """Item-level sign-flip permutation test of H0: per-item values are symmetric about 0.

    Under H0 (e.g. primacy and recency equally likely within an item) the sign of each
    item's value is exchangeable. The statistic is T = sum_i v_i; each of the ``n_perm``
    permutations draws independent signs s_i in {-1, +1} and computes T* = sum_i s_i v_i.
    Two-sided p = (k + 1) / (B + 1) with k = #{|T*| >= |T|} (Phipson & Smyth 2010, "Permutation
    p-values should never be zero"). Items with v_i = 0 or nan contribute nothing; no
    items (or all zero) gives T = 0 and p = 1. Vectorised in blocks: signs @ values.
    """
    v = np.asarray(per_item_values, dtype=float).reshape(-1)
    v = v[np.isfinite(v)]
    v = v[v != 0]
    n_perm = int(n_perm)
    if n_perm < 1:
        raise ValueError(f"n_perm must be >= 1, got {n_perm}")
    t_obs = float(v.sum())
    if v.size == 0:
        return SignFlipResult(0.0, 1.0)
    if isinstance(seed, np.random.Generator):
        draw = IntegerFlips(seed)
    else:
        rng = np.random.default_rng(seed)
        draw = BitFlips(rng) if bit_flips_match() else IntegerFlips(rng)
    # Floating sums of the same values in another order can differ in the last bits, so
    # "as extreme" allows a relative tolerance (otherwise T* = T can be missed).
    thresh = abs(t_obs) - 1e-9 * max(1.0, float(np.abs(v).sum()))
    v_sum = float(v.sum())
    k = 0
    block = _block_rows(v.size, n_perm)
    done = 0
    with single_thread_blas():
        while done < n_perm:
            b = min(block, n_perm - done)
            # s_i = 2 u_i - 1 with u_i in {0, 1}, so T* = 2 (u @ v) - sum(v): the 0/1 draws
            # are used as they come (no float matrix of signs, which cost more than the draws)
            flips = draw(b, v.size)
            t_perm = 2.0 * np.einsum("ij,j->i", flips, v) - v_sum
            k += int(np.count_nonzero(np.abs(t_perm) >= thresh))
            done += b
    return SignFlipResult(t_obs, (k + 1) / (n_perm + 1))


def wilson_ci(successes, n, ci_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    centre = (p + z^2 / 2n) / (1 + z^2 / n), half-width = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n).
    Use only with one unit per item (or item-level aggregates). n = 0 gives (nan, nan).
    """
    k, n = float(successes), float(n)
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= k <= n:
        raise ValueError(f"successes must be in [0, n], got {k} of {n}")
    z = float(special.ndtri(1 - (1 - ci_level) / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def binom_test(successes, n, p: float = 0.5, alternative: str = "two-sided") -> float:
    """Exact binomial test p-value (scipy.stats.binomtest). n = 0 gives nan."""
    if int(n) <= 0:
        return math.nan
    return float(stats.binomtest(int(successes), int(n), p, alternative=alternative).pvalue)


def mcnemar_exact(b, c) -> float:
    """Exact McNemar test from the two discordant counts (b: only the first right, c: only
    the second right): two-sided binomial test of b ~ Bin(b + c, 1/2) (McNemar 1947; the
    exact form as in statsmodels ``mcnemar(exact=True)``). No discordant pairs gives p = 1.
    """
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b}, {c}")
    if b + c == 0:
        return 1.0
    return float(stats.binomtest(b, b + c, 0.5).pvalue)
