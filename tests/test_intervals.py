"""judgelab.stats.intervals: the Clopper-Pearson rule for shares at the edges, against
statsmodels' proportion_confint(method="beta")."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from judgelab.stats.intervals import clopper_pearson, edge_share_interval


@pytest.mark.parametrize(
    "k,n,level", [(0, 9, 0.95), (9, 9, 0.95), (3, 9, 0.95), (17, 40, 0.9), (1, 1, 0.99)]
)
def test_clopper_pearson_matches_statsmodels_beta(k, n, level):
    lo, hi = proportion_confint(k, n, alpha=1 - level, method="beta")
    assert clopper_pearson(k, n, level) == pytest.approx((lo, hi), abs=1e-10)


def test_nine_of_nine_inconsistent_pairs_one_per_item():
    e = edge_share_interval(np.ones(9), np.ones(9))
    assert e.ci_low == pytest.approx(0.6637, abs=1e-3) and e.ci_high == 1.0
    assert e.design_effect == 1.0 and "9 of 9 over 9 items" in e.method


def test_several_calls_per_item_count_once_at_the_edge():
    # 9 items x 2 calls, all successes: nothing says the calls are independent -> n_eff = 9
    e = edge_share_interval(np.full(9, 2.0), np.full(9, 2.0))
    assert e.n_effective == pytest.approx(9.0)
    assert e.ci_low == pytest.approx(proportion_confint(9, 9, method="beta")[0])


def test_few_items_inside_the_edges_uses_the_cluster_design_effect():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 5, size=12).astype(float)
    k = np.minimum(n, rng.integers(0, 4, size=12)).astype(float)
    e = edge_share_interval(k, n)
    p = k.sum() / n.sum()
    g = len(n)
    v = g / (g - 1) * np.sum((k - p * n) ** 2) / n.sum() ** 2
    deff = max(1.0, v / (p * (1 - p) / n.sum()))
    assert e.design_effect == pytest.approx(deff)
    ref = proportion_confint(k.sum() / deff, n.sum() / deff, method="beta")
    assert (e.ci_low, e.ci_high) == pytest.approx(ref)


def test_bootstrap_applies_with_enough_items_inside_the_edges():
    assert edge_share_interval(np.r_[np.ones(20), np.zeros(20)], np.ones(40)) is None
    assert edge_share_interval(np.zeros(3), np.zeros(3)) is None  # no item contributes
    with pytest.raises(ValueError, match="between 0 and its calls"):
        edge_share_interval([2.0], [1.0])
