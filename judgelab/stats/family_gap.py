"""Within-minus-across family gaps: the primary test and the exploratory permutation.

The primary test of a gap (``alpha_gap``, ``error_correlation_gap``) is an item-cluster
bootstrap with a one-sided p (H1: gap > 0); the exploratory test permutes family labels
over judges (family sizes kept).

Only the partition of judges into families matters for within / across, so assignments
that merely rename equally sized families are one assignment (6 judges in 3 families of 2
have 15); with few judges the test is coarse (p >= 1 / #assignments).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from judgelab.stats._tidy import finding
from judgelab.stats.power import bootstrap_mde
from judgelab.stats.resampling import ResampleTotals

if TYPE_CHECKING:  # pragma: no cover - typing only
    from judgelab.stats.entanglement import EntanglementPanel

__all__ = [
    "MAX_ENUMERATE",
    "family_label_assignments",
    "gap_for_assignments",
    "observed_assignment",
    "mean_over",
    "gap_rows",
]

#: More distinct family-label assignments than this: sample them instead of enumerating.
MAX_ENUMERATE = 20_000


def _n_assignments(sizes: list[int]) -> int:
    """Distinct partitions of sum(sizes) judges into unlabelled blocks of these sizes:
    m! / (prod s! * prod over equal sizes of k!)."""
    m = sum(sizes)
    den = 1
    for s in sizes:
        den *= math.factorial(s)
    for k in Counter(sizes).values():
        den *= math.factorial(k)
    return math.factorial(m) // den


def family_label_assignments(
    labels: list, max_enumerate: int = MAX_ENUMERATE, n_sample: int = 9999, seed: int = 0
):
    """Distinct assignments of family labels to judges with the family sizes kept.

    Returns ``(assignments, n_distinct, enumerated)``: an array ``(A, m)`` of block
    numbers. Only the partition matters for within/across, so assignments that merely
    rename equally sized families are one assignment (6 judges in 3 families of 2: 15).
    With more than ``max_enumerate`` distinct assignments, ``n_sample`` random ones are
    drawn (seeded) and ``enumerated`` is False.
    Unknown families (None) are singleton blocks.
    """
    lab = [f"__unknown_{k}" if x is None else x for k, x in enumerate(labels)]
    sizes = sorted(Counter(lab).values(), reverse=True)
    m = len(lab)
    total = _n_assignments(sizes)
    if total > max_enumerate:
        rng = np.random.default_rng(seed)
        base = np.repeat(np.arange(len(sizes)), sizes)
        out = np.stack([rng.permutation(base) for _ in range(n_sample)])
        return out, total, False
    out: list[list[int]] = []

    def rec(assign: list[int], remaining: list[int], block: int):
        try:
            first = assign.index(-1)
        except ValueError:
            out.append(list(assign))
            return
        free = [k for k in range(first + 1, m) if assign[k] == -1]
        for s in sorted(set(remaining)):
            rest = list(remaining)
            rest.remove(s)
            for comb in itertools.combinations(free, s - 1):
                a = list(assign)
                a[first] = block
                for k in comb:
                    a[k] = block
                rec(a, rest, block + 1)

    rec([-1] * m, sizes, 0)
    arr = np.array(out, dtype=int)
    assert len(arr) == total, (len(arr), total)
    return arr, total, True


def gap_for_assignments(pairs, values: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """within-mean minus across-mean of per-pair values for each assignment (nan pairs skipped)."""
    ii = np.array([p[0] for p in pairs])
    jj = np.array([p[1] for p in pairs])
    within = assignments[:, ii] == assignments[:, jj]  # (A, P)
    ok = ~np.isnan(values)
    v = np.where(ok, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        wm = (within * ok * v).sum(1) / (within * ok).sum(1)
        am = (~within * ok * v).sum(1) / (~within * ok).sum(1)
    return wm - am


def observed_assignment(within: np.ndarray, pairs) -> np.ndarray:
    """Block labels reproducing the observed within/across pattern (union-find over within pairs)."""
    m = max(max(p) for p in pairs) + 1
    parent = list(range(m))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (i, j), wv in zip(pairs, within, strict=True):
        if wv:
            parent[find(i)] = find(j)
    return np.array([[find(k) for k in range(m)]])


def mean_over(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """nan-mean over the pairs in ``mask`` of ``values (B, P)``; nan when none defined."""
    v = values[:, mask]
    with np.errstate(invalid="ignore"):
        cnt = np.sum(~np.isnan(v), axis=1)
        s = np.nansum(v, axis=1)
        return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)


def gap_rows(
    pn: EntanglementPanel,
    id_,
    resamples: ResampleTotals,
    stat,
    point_values,
    n,
    *,
    what,
    settings,
    n_excluded=None,
    extra_reason=None,
) -> list[dict]:
    """The primary gap row (one-sided bootstrap p, MDE when not significant) and, with a
    permutation, the exploratory family-label permutation row."""
    rows = []
    boot, alpha, pairs, within = pn.boot, pn.alpha, pn.pairs, pn.within
    res = resamples.bootstrap(stat, boot["ci_level"], method="percentile")
    if res.estimate is None:
        rows.append(
            finding(
                id_,
                None,
                primary=True,
                reason=res.reason or "no within- or no across-family pairs",
                method=settings,
            )
        )
        return rows
    p = _one_sided_p(res.distribution)
    sig = p is not None and p < alpha and res.ci_low is not None
    kw = res.finding_kwargs()
    kw["method"] = (
        f"within - across mean {what}; {settings}; {res.method}; one-sided p (H1: gap > 0) "
        "from the bootstrap distribution"
    )
    if extra_reason:
        kw["reason"] = "; ".join(x for x in (kw["reason"], extra_reason) if x)
    extra = {}
    if sig and res.ci_low > 0:
        head = (
            "Same-family judges make the same mistakes more often than judges of different families "
            "(shared blind spots)"
            if id_ == "error_correlation_gap"
            else "Same-family judges agree with each other more than judges of different families do"
        )
        concl = (
            f"{head}: {what} gap {res.estimate:.3f} (95% CI {res.ci_low:.3f} to {res.ci_high:.3f}). "
            "Their agreement partly reflects shared priors, so a same-family panel overstates how sure it is."
        )
    else:
        mde = bootstrap_mde(res, alpha, alternative="larger")  # the gap test is one-sided
        extra["mde"] = mde
        concl = (
            f"No evidence that same-family judges share more {what}: gap {res.estimate:.3f}"
            + (
                f" (95% CI {res.ci_low:.3f} to {res.ci_high:.3f})"
                if res.ci_low is not None
                else f" ({res.reason})"
            )
            + (
                f"; the data could detect a gap of about {mde:.3f} with 80% power."
                if mde is not None
                else "."
            )
        )
        if res.ci_high is not None and res.ci_high < 0:
            concl += (
                " The gap is negative, which is not entanglement: when every family mixes strong and weak "
                "judges, within-family pairs join unequal judges and agree less on average than "
                "across-family pairs."
            )
    rows.append(
        finding(
            id_,
            statistic=res.estimate,
            p_value=p,
            primary=True,
            n=n,
            n_excluded=n_excluded,
            conclusion=concl,
            **kw,
            **extra,
        )
    )
    if pn.assignments is not None:
        gaps = gap_for_assignments(pairs, np.asarray(point_values, dtype=float), pn.assignments)
        obs = gap_for_assignments(
            pairs, np.asarray(point_values, dtype=float), observed_assignment(within, pairs)
        )[0]
        n_distinct, full = pn.enumerated
        g = gaps[np.isfinite(gaps)]
        k = int(np.sum(g >= obs - 1e-12))
        # enumeration includes the observed assignment itself; sampling adds it (Phipson & Smyth 2010)
        pval = k / len(g) if full else (k + 1) / (len(g) + 1)
        rows.append(
            finding(
                id_,
                res.estimate,
                ci_level=None,
                statistic=obs,
                p_value=pval,
                primary=False,
                n=n,
                n_excluded=n_excluded,
                n_assignments=int(n_distinct),
                method=(
                    f"exploratory: permutation of family labels over judges (family sizes kept), one-sided "
                    f"(within > across); {n_distinct} distinct assignments"
                    + (" enumerated" if full else f", {len(g)} sampled")
                    + f"; smallest possible p = {1 / n_distinct if full else 1 / (len(g) + 1):.4g}"
                ),
                conclusion=(
                    f"Relabelling families at random gives a gap at least this large in {k} of {len(g)} assignments "
                    f"(p = {pval:.3g}, exploratory)."
                ),
            )
        )
    return rows


def _one_sided_p(distribution) -> float | None:
    """One-sided bootstrap p of H1: gap > 0: (1 + #{t* <= 0}) / (B + 1) over the B defined
    resamples (the +1 as for permutation tests; Phipson & Smyth 2010). Entanglement is a
    directional hypothesis (same-family judges agree / err together *more*)."""
    d = np.asarray(distribution, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return None
    return float((1 + np.count_nonzero(d <= 0)) / (d.size + 1))
