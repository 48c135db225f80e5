"""Simulation validation of the resampling statistics (STATISTICS.md, "How the statistics
are validated"): coverage of the cluster-bootstrap CI of kappa, and type-I error with a
paired power check for the sign-flip test and the cluster-bootstrap test.

Small, fast simulators of our own (the simulated judge panel is tested elsewhere); every
seed is fixed, so each run gives the same counts.
"""

from __future__ import annotations

import numpy as np
import pytest

from judgelab.stats.agreement import kappa_from_totals
from judgelab.stats.resampling import cluster_bootstrap, sign_flip_test

pytestmark = pytest.mark.slow

# Coverage design: each item has a latent u (shared class propensity of its rows) and is
# hard with probability P_HARD (both raters flip the true class with FLIP_HARD, else
# FLIP_EASY). Rows of an item are therefore correlated in margins and in agreement.
P_HARD, FLIP_HARD, FLIP_EASY, SLOPE = 0.3, 0.45, 0.03, 1.5


def _true_kappa() -> float:
    """Population kappa from the exact cell probabilities (Gauss-Hermite over u)."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    pz1 = 1 / (1 + np.exp(-SLOPE * x))
    cells = np.zeros((2, 2))
    for ph, f in ((P_HARD, FLIP_HARD), (1 - P_HARD, FLIP_EASY)):
        for z, pz in ((1, pz1), (0, 1 - pz1)):
            for a in (0, 1):
                for b in (0, 1):
                    pa = 1 - f if a == z else f
                    pb = 1 - f if b == z else f
                    cells[a, b] += ph * np.sum(w * pz) * pa * pb
    return float(kappa_from_totals(cells.reshape(1, 4), 2)[0])


def _simulate_confusions(n_data: int, n_items: int, rng) -> np.ndarray:
    """(n_data, n_items, 4) per-item 2x2 confusion counts, 1 + Poisson(5) rows per item."""
    m = 1 + rng.poisson(5, size=(n_data, n_items))
    u = rng.normal(size=(n_data, n_items))
    flip = np.where(rng.random((n_data, n_items)) < P_HARD, FLIP_HARD, FLIP_EASY)
    cell_item = np.repeat(np.arange(n_data * n_items), m.ravel())
    z = rng.random(cell_item.size) < (1 / (1 + np.exp(-SLOPE * u.ravel())))[cell_item]
    f = flip.ravel()[cell_item]
    a = z ^ (rng.random(cell_item.size) < f)
    b = z ^ (rng.random(cell_item.size) < f)
    flat = cell_item * 4 + a.astype(int) * 2 + b
    return np.bincount(flat, minlength=n_data * n_items * 4).reshape(n_data, n_items, 4)


def test_kappa_cluster_ci_coverage_and_row_bootstrap_undercoverage():
    true = _true_kappa()
    per = _simulate_confusions(1000, 150, np.random.default_rng(2026))

    def stat(t):
        return kappa_from_totals(t, 2)

    covered = 0
    for d in range(1000):
        r = cluster_bootstrap(per[d], stat, n_boot=999, seed=d, method="bca")
        covered += r.ci_low <= true <= r.ci_high
    # The row-level bootstrap of a 2x2 table is a multinomial draw of the N rows with the
    # observed cell shares: same data, clustering ignored.
    rng = np.random.default_rng(7)
    row_covered = 0
    for d in range(1000):
        tot = per[d].sum(axis=0)
        lo, hi = np.quantile(
            stat(rng.multinomial(tot.sum(), tot / tot.sum(), size=999)), [0.025, 0.975]
        )
        row_covered += lo <= true <= hi
    assert 0.92 <= covered / 1000 <= 0.975, covered
    assert row_covered / 1000 < 0.90, row_covered


def _signflip_values(n_rep: int, n_items: int, p_first: float, rng) -> np.ndarray:
    """Per-item (primacy - recency) counts: 1 + Poisson(2) inconsistent pairs per item,
    each primacy with probability p_first (0.5 = no position bias)."""
    n = 1 + rng.poisson(2, size=(n_rep, n_items))
    prim = rng.binomial(n, p_first)
    return 2 * prim - n


def test_sign_flip_type_one_error_and_power():
    rng = np.random.default_rng(11)
    null = _signflip_values(1000, 60, 0.5, rng)
    rejections = sum(
        sign_flip_test(v, n_perm=999, seed=i).p_value < 0.05 for i, v in enumerate(null)
    )
    assert rejections <= 72, rejections
    planted = _signflip_values(200, 60, 0.62, rng)
    power = np.mean(
        [sign_flip_test(v, n_perm=999, seed=i).p_value < 0.05 for i, v in enumerate(planted)]
    )
    assert power >= 0.8, power


def _clustered_shares(n_rep: int, n_items: int, shift: float, rng) -> np.ndarray:
    """(n_rep, n_items, 2) per-item [successes, rows]: item propensities logistic(N(shift, 1)),
    1 + Poisson(5) rows per item. shift = 0 gives a population share of exactly 0.5."""
    m = 1 + rng.poisson(5, size=(n_rep, n_items))
    p = 1 / (1 + np.exp(-(shift + rng.normal(size=(n_rep, n_items)))))
    return np.stack([rng.binomial(m, p), m], axis=-1).astype(float)


def test_cluster_bootstrap_test_type_one_error_and_power():
    rng = np.random.default_rng(12)

    def share_minus_half(t):
        return t[:, 0] / t[:, 1] - 0.5

    null = _clustered_shares(1000, 100, 0.0, rng)
    rejections = sum(
        cluster_bootstrap(x, share_minus_half, n_boot=999, seed=i).p_value(0.0) < 0.05
        for i, x in enumerate(null)
    )
    assert rejections <= 72, rejections
    planted = _clustered_shares(200, 100, 0.5, rng)
    power = np.mean(
        [
            cluster_bootstrap(x, share_minus_half, n_boot=999, seed=i).p_value(0.0) < 0.05
            for i, x in enumerate(planted)
        ]
    )
    assert power >= 0.8, power
