"""Certified selective evaluation (judgelab.stats.certify): the fixed-sequence rule, and its
guarantee checked by simulation against the simulator's own population disagreement."""

from __future__ import annotations

import numpy as np
import pytest

from judgelab.stats.certify import (
    HUMAN,
    cascade_routes,
    certify_cascade,
    certify_stage,
    fixed_sequence,
    min_kept_units,
    threshold_grid,
)
from judgelab.stats.intervals import _design_effect, clopper_pearson

ALPHA = DELTA = 0.1
N_DATASETS = 1000
#: at most this many of 1,000 datasets may certify a threshold whose population disagreement
#: exceeds alpha at delta = 0.1 (10% plus Monte Carlo slack of about 2.3 binomial SDs)
MAX_VIOLATIONS = 122


def _simulate(risk, pop_risk, *, n=1000, per_item=1, item_shift=0.0, seed=0, scan=False):
    """Certify 1,000 simulated calibration sets. Confidence ~ U(0, 1) per pair; a pair
    disagrees with humans with probability ``risk(c) + b`` where ``b = +-item_shift`` is
    shared by the ``per_item`` pairs of an item (clustering; its mean is 0 so the population
    disagreement among pairs with confidence >= t is ``pop_risk(t)``).

    Returns (violations, mean coverage in the population, violations of a scan that keeps
    the lowest threshold passing anywhere on the grid: the rule the module forbids)."""
    rng = np.random.default_rng(seed)
    items = np.repeat(np.arange(n // per_item), per_item)
    viol = scan_viol = 0
    cov = []
    for _ in range(N_DATASETS):
        c = rng.random(n)
        b = rng.choice([-item_shift, item_shift], size=n // per_item)[items]
        agree = (rng.random(n) >= risk(c) + b).astype(float)
        cert = certify_stage(c, agree, items, alpha=ALPHA, delta=DELTA)
        t = cert.threshold
        cov.append(0.0 if t is None else 1.0 - t)
        viol += t is not None and pop_risk(t) > ALPHA
        if scan:
            passed = cert.tests["passed"].to_numpy()
            if passed.any():
                lowest = cert.tests["threshold"].to_numpy()[np.flatnonzero(passed).max()]
                scan_viol += pop_risk(lowest) > ALPHA
    return viol, float(np.mean(cov)), scan_viol


def _steep(c):
    return 0.4 * (1 - c) ** 2


def _steep_pop(t):  # mean of 0.4 (1 - c)^2 over c ~ U(t, 1)
    return 0.4 * (1 - t) ** 2 / 3


def test_min_kept_units_follows_alpha_and_delta():
    assert min_kept_units(0.1, 0.1) == 128
    assert min_kept_units(0.2, 0.1) == 63
    assert min_kept_units(0.05, 0.1) == 282
    assert min_kept_units(0.1, 0.05) > 128
    # a floor of 30 certifies only zero disagreements at alpha = 0.1
    assert clopper_pearson(0, 30, 0.8)[1] <= 0.1 < clopper_pearson(1, 30, 0.8)[1]


def test_fixed_sequence_stops_at_the_first_failure():
    passed = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1]], dtype=bool)
    assert fixed_sequence(passed).tolist() == [2, 0, 4]


def test_grid_ignores_labels_and_first_failure_keeps_nothing():
    rng = np.random.default_rng(3)
    c = rng.random(400)
    good = np.ones(400)
    bad = good.copy()
    bad[np.argsort(-c)[:128]] = 0  # the most confident pairs all disagree
    assert np.array_equal(threshold_grid(c, n_min=128), certify_stage(c, bad, alpha=0.1,
                                                                       delta=0.1).tests["threshold"])  # fmt: skip
    cert = certify_stage(c, bad, alpha=0.1, delta=0.1)
    assert cert.threshold is None and not cert.kept(c).any()
    assert cert.tests["tested"].sum() == 1  # nothing after the first failure is tested
    assert "keeps nothing" in cert.describe()
    assert certify_stage(c, good, alpha=0.1, delta=0.1).threshold == c.min()


def test_no_majority_counts_as_disagreement_and_too_few_items_keep_nothing():
    c = np.linspace(0, 1, 300)
    agree = np.ones(300)
    agree[c > 0.5] = np.nan
    cert = certify_stage(c, agree, alpha=0.1, delta=0.1)
    assert cert.n_no_majority == 150 and cert.threshold is None
    few = certify_stage(c, np.ones(300), np.arange(300) // 3, alpha=0.1, delta=0.1)
    assert few.threshold is None and "at least 128 kept items" in few.reason


def test_design_effect_of_the_grid_matches_the_interval_rule():
    rng = np.random.default_rng(5)
    n = 600
    items = rng.integers(0, 150, n)
    c = np.round(rng.random(n), 2)
    agree = (rng.random(n) < 0.8 + 0.15 * c).astype(float)
    cert = certify_stage(c, agree, items, alpha=0.2, delta=0.1)
    assert len(cert.tests) > 3
    for r in cert.tests.itertuples():
        keep = c >= r.threshold
        k = np.bincount(items[keep], weights=1 - agree[keep], minlength=150)
        m = np.bincount(items[keep], minlength=150).astype(float)
        deff = _design_effect(k[m > 0], m[m > 0])
        assert r.n_kept == keep.sum() and r.n_items == (m > 0).sum()
        assert r.design_effect == pytest.approx(deff, abs=1e-9)
        ub = clopper_pearson(k.sum() / deff, keep.sum() / deff, 0.8)[1]
        assert r.upper_bound == pytest.approx(ub, abs=1e-12)


def test_cascade_splits_delta_and_routes_what_no_judge_keeps_to_humans():
    rng = np.random.default_rng(7)
    n = 2000
    c1, c2 = rng.random(n), rng.random(n)
    a1 = (rng.random(n) >= 0.3 * (1 - c1)).astype(float)
    a2 = (rng.random(n) >= 0.2 * (1 - c2)).astype(float)
    certs = certify_cascade([c1, c2], [a1, a2], alpha=0.1, delta=0.1)
    assert [x.delta for x in certs] == [0.05, 0.05]
    assert certs[1].n_units == n - certs[0].kept(c1).sum()
    route = cascade_routes(certs, [c1, c2])
    assert set(np.unique(route)) <= {0, 1, HUMAN}
    assert (route == 0).sum() == certs[0].kept(c1).sum()
    assert (route == HUMAN).any() and (route == 1).any()


@pytest.mark.slow
def test_guarantee_holds_over_1000_datasets_and_the_method_has_power():
    viol, coverage, _ = _simulate(_steep, _steep_pop)
    assert viol <= MAX_VIOLATIONS
    # power: the oracle keeps 87% (0.4 (1 - t)^2 / 3 = 0.1); always abstaining keeps 0
    assert coverage >= 0.7


@pytest.mark.slow
def test_guarantee_holds_with_clustered_pairs():
    def risk(c):
        return 0.05 + _steep(c)

    def pop(t):
        return 0.05 + _steep_pop(t)

    viol, coverage, _ = _simulate(risk, pop, per_item=4, item_shift=0.05, seed=1)
    assert viol <= MAX_VIOLATIONS and coverage > 0.3  # the oracle keeps 61%


@pytest.mark.slow
def test_flat_risk_catches_a_scan_that_does_not_stop():
    # disagreement 0.105 at every confidence: every kept set violates alpha = 0.1
    viol, _, scan_viol = _simulate(
        lambda c: np.full_like(c, 0.105), lambda t: 0.105, seed=2, scan=True
    )
    assert viol <= MAX_VIOLATIONS < scan_viol


@pytest.mark.slow
@pytest.mark.parametrize("disagreement, keeps", [(0.30, "at most 5%"), (0.03, "nearly all")])
def test_uninformative_confidence(disagreement, keeps):
    viol, coverage, _ = _simulate(
        lambda c: np.full_like(c, disagreement), lambda t: disagreement, n=600, seed=3
    )
    if keeps == "at most 5%":
        assert coverage <= 0.05
    else:
        assert coverage >= 0.9 and viol == 0
