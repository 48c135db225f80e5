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


def test_share_findings_of_the_studies_use_the_edge_rule():
    """The shares of the comparison and the audit (agreement with the source, accuracy against
    the human reference, cascade accuracy, audit accuracy) go through edge_share_interval: a
    candidate identical to the source on 12 items agrees on 24 of 24 calls, and its interval is
    Clopper-Pearson on 12 effective calls (both orders of an item counted once), not the
    degenerate bootstrap's [1, 1]."""
    from test_compare import judge_frame, make_reference

    from judgelab.stats import compare

    pairs, ref = make_reference(12)
    src = judge_frame(pairs, "big", 1.0, 1)
    same = src.assign(model="small")
    cp_low = proportion_confint(12, 12, method="beta")[0]
    rows = {r["id"]: r for r in compare.agreement_findings(src, same, n_boot=200, seed=1)}
    a = rows["agreement_with_source"]
    assert a["estimate"] == 1.0 and a["ci_high"] == 1.0
    assert a["ci_low"] == pytest.approx(cp_low) and "Clopper-Pearson" in a["method"]
    assert "units per_call" in a["method"] and a["reason"] is None
    # kappa is not a share: it keeps the bootstrap
    assert "Clopper-Pearson" not in rows["kappa_with_source"]["method"]
    acc = {r["id"]: r for r in compare.accuracy_findings(src, same, ref, n_boot=200)}
    v = acc["accuracy_vs_human"]
    assert v["estimate"] == 1.0 and v["ci_low"] == pytest.approx(cp_low)
    assert "Clopper-Pearson" in v["method"] and "reference human majority" in v["method"]


def test_share_finding_kwargs_keeps_the_bootstrap_inside_the_edges_with_many_items():
    from judgelab.stats.intervals import share_finding_kwargs
    from judgelab.stats.resampling import cluster_bootstrap

    k = np.r_[np.ones(25), np.zeros(15)]
    per_item = np.column_stack([k, np.ones(40)])
    boot = cluster_bootstrap(per_item, lambda t: t[:, 0] / t[:, 1], n_boot=200, seed=0)
    kw = share_finding_kwargs(boot, per_item[:, 0], per_item[:, 1])
    assert kw == boot.finding_kwargs()
    few = per_item[:20]
    boot = cluster_bootstrap(few, lambda t: t[:, 0] / t[:, 1], n_boot=200, seed=0)
    kw = share_finding_kwargs(boot, few[:, 0], few[:, 1])
    assert (kw["ci_low"], kw["ci_high"]) == pytest.approx(proportion_confint(20, 20, method="beta"))
    assert "20 contributing items" not in kw["method"] and "share of 1" in kw["method"]
