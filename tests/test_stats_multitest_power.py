"""judgelab.stats.multitest and judgelab.stats.power against textbook formulas and exact
computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from judgelab.stats import power as pw
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.multitest import adjust_findings, benjamini_hochberg, holm
from judgelab.stats.resampling import binom_test


def _holm_ref(p):
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def _bh_ref(p):
    m = len(p)
    order = np.argsort(p)[::-1]
    adj = np.empty(m)
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k
        running = min(running, m * p[i] / rank)
        adj[i] = running
    return adj


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=0, max_size=25))
def test_holm_and_bh_match_textbook_and_ignore_missing(p):
    p = np.array(p, dtype=float)
    ok = np.isfinite(p)
    h, b = holm(p), benjamini_hochberg(p)
    assert np.all(np.isnan(h[~ok])) and np.all(np.isnan(b[~ok]))
    if ok.any():
        assert np.allclose(h[ok], _holm_ref(p[ok]), atol=1e-12)
        assert np.allclose(b[ok], _bh_ref(p[ok]), atol=1e-12)


def test_adjust_findings_holm_for_primary_bh_for_exploratory():
    rows = [
        finding("a", 0.1, p_value=0.01, primary=True, judge="j1"),
        finding("b", 0.2, p_value=0.04, primary=True, judge="j2"),
        finding("c", 0.3, p_value=0.02, judge="j1"),
        finding("d", 0.4, p_value=0.03, judge="j2"),
        finding("e", 0.5, p_value=0.5, judge="j2"),
        finding("f", 0.6),
    ]
    out = adjust_findings(findings_frame(rows)).set_index("id")
    assert out.loc["a", "p_adjusted"] == pytest.approx(0.02)
    assert out.loc["b", "p_adjusted"] == pytest.approx(0.04)
    assert out.loc["c", "p_adjusted"] == pytest.approx(0.045)
    assert out.loc["d", "p_adjusted"] == pytest.approx(0.045)
    assert out.loc["e", "p_adjusted"] == pytest.approx(0.5)
    assert out.loc["f", "p_adjusted"] is None and out.loc["f", "adjustment"] is None
    assert (
        out.loc["a", "adjustment"].startswith("holm")
        and "exploratory" in out.loc["c", "adjustment"]
    )
    by_judge = adjust_findings(findings_frame(rows), by=["judge"]).set_index("id")
    assert by_judge.loc["a", "p_adjusted"] == pytest.approx(0.01)  # alone among j1's primaries
    with pytest.raises(ValueError):
        adjust_findings(pd.DataFrame({"x": [1]}))


def _normal_power(h, n, alpha=0.05):
    z = stats.norm.ppf(1 - alpha / 2)
    return stats.norm.cdf(abs(h) * math.sqrt(n) - z) + stats.norm.cdf(-abs(h) * math.sqrt(n) - z)


@pytest.mark.parametrize("p1,n", [(0.6, 100), (0.45, 300), (0.7, 40)])
def test_closed_form_power_and_sample_size(p1, n):
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(0.5))
    assert pw.power_proportion(p1, n) == pytest.approx(_normal_power(h, n), abs=1e-9)
    m = pw.sample_size_proportion(p1)
    assert pw.power_proportion(p1, m) >= 0.8 > pw.power_proportion(p1, m - 1)
    assert pw.sample_size_proportion(p1, design_effect=2.0) in (2 * m - 1, 2 * m, 2 * m + 1)
    with pytest.raises(ValueError):
        pw.sample_size_proportion(0.5)


def test_minimum_detectable_effect_round_trips():
    for n in (30, 200, 1000):
        mde = pw.minimum_detectable_effect(n)
        assert pw.power_proportion(0.5 + mde, n) == pytest.approx(0.8, abs=1e-4)  # root-finder tol
        assert pw.minimum_detectable_effect(2 * n, design_effect=2.0) == pytest.approx(
            mde, rel=1e-9
        )
        d = pw.minimum_detectable_effect(n, sd=2.0)
        from statsmodels.stats.power import TTestPower

        assert TTestPower().power(d / 2.0, n, 0.05) == pytest.approx(0.8, abs=1e-4)
    assert pw.minimum_detectable_effect(se=0.1) == pytest.approx(
        (1.959964 + 0.841621) * 0.1, abs=1e-5
    )
    assert math.isnan(pw.minimum_detectable_effect(1))
    assert math.isnan(pw.minimum_detectable_effect(3, p0=0.95))  # even p1 = 1 not detectable


def test_simulated_power_matches_exact_binomial_power():
    n, p1 = 60, 0.7

    def simulator(seed, n):
        k = np.random.default_rng(seed).binomial(n, p1)
        return binom_test(k, n)

    res = pw.simulated_power(simulator, n, n_sim=600, seed=3)
    ks = np.arange(n + 1)
    exact = float(
        np.sum(stats.binom.pmf(ks, n, p1) * np.array([binom_test(k, n) < 0.05 for k in ks]))
    )
    assert abs(res.power - exact) < 3.5 * math.sqrt(exact * (1 - exact) / 600)
    assert res.ci_low <= res.power <= res.ci_high and res.n_failed == 0
    again = pw.simulated_power(simulator, n, n_sim=600, seed=3)
    assert again.n_reject == res.n_reject  # seeded
    failing = pw.simulated_power(lambda s, n: None, 10, n_sim=5)
    assert failing.power is None and failing.n_failed == 5
    grid = pw.simulated_sample_size(simulator, [10, 60], n_sim=100, seed=1)
    assert list(grid["n"]) == [10, 60] and grid["power"].iloc[1] > grid["power"].iloc[0]


def test_bootstrap_mde_is_the_wald_mde_of_the_bootstrap_se():
    """The one MDE home: the bootstrap SE (finite replicates, ddof 1) in the Wald formula."""
    from types import SimpleNamespace

    d = np.array([0.1, 0.3, np.nan, 0.2, 0.6])
    se = np.std([0.1, 0.3, 0.2, 0.6], ddof=1)
    res = SimpleNamespace(distribution=d)
    two = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se
    one = (stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) * se
    assert pw.bootstrap_mde(res) == pytest.approx(two, rel=1e-12)
    assert pw.bootstrap_mde(res, alternative="larger") == pytest.approx(one, rel=1e-12)
    assert pw.bootstrap_mde(SimpleNamespace(distribution=[0.5, np.nan])) is None


def test_holm_is_bit_identical_to_statsmodels(monkeypatch):
    """holm() computes Holm itself (statsmodels' multipletests runs gc.collect() per call);
    the values must be exactly statsmodels', ties and p = 1 included."""
    import gc

    import numpy as np

    # the reference's gc.collect() walks the whole test session's heap, 300 times (200 s in
    # the full suite); it changes no value
    monkeypatch.setattr(gc, "collect", lambda *a, **k: 0)
    from statsmodels.stats.multitest import multipletests

    from judgelab.stats.multitest import holm

    rng = np.random.default_rng(0)
    for k in range(300):
        p = rng.random(int(rng.integers(1, 30)))
        if k % 3 == 0:
            p = np.round(p, 1)
        if k % 5 == 0:
            p[: len(p) // 2] = 1.0
        assert np.array_equal(holm(p), multipletests(p, method="holm")[1])
