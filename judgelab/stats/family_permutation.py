"""Family-label permutations: the exploratory test of the family-entanglement gaps.

Only the partition of judges into families matters for within / across, so assignments
that merely rename equally sized families are one assignment (6 judges in 3 families of 2
have 15); with few judges the test is coarse (p >= 1 / #assignments).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np

__all__ = [
    "MAX_ENUMERATE",
    "family_label_assignments",
    "gap_for_assignments",
    "observed_assignment",
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
