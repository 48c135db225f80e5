"""judgelab.stats.resampling: weights, vectorised cluster bootstrap, sign-flip and exact tests
against independent references (scipy, statsmodels, brute-force enumeration)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from judgelab.stats import _flips
from judgelab.stats import resampling as rs
from judgelab.stats._exact_totals import float32_exact_scale


def _assert_same_result(got, one):
    """Two bootstrap results are the same: estimate, interval, reason, method, distribution."""
    fields = ("estimate", "ci_low", "ci_high", "reason", "method")
    assert [getattr(got, f) for f in fields] == [getattr(one, f) for f in fields]
    assert np.array_equal(got.distribution, one.distribution)


def test_bootstrap_weights_are_seeded_multinomial_counts_independent_of_blocking():
    W = rs.bootstrap_weights(37, 500, seed=4)
    assert W.shape == (500, 37) and np.all(W.sum(axis=1) == 37) and W.min() >= 0
    assert np.array_equal(W, rs.bootstrap_weights(37, 500, seed=4))
    assert not np.array_equal(W, rs.bootstrap_weights(37, 500, seed=5))
    blocks = np.concatenate(list(rs.iter_bootstrap_weights(37, 500, seed=4, block=7)))
    assert np.array_equal(W, blocks)
    # Each count is Binomial(n, 1/n): mean 1, variance (n-1)/n.
    assert abs(W.mean() - 1) < 1e-12 and abs(W.var() - 36 / 37) < 0.05


def test_cluster_bootstrap_equals_generic_row_loop_and_manual_product():
    rng = np.random.default_rng(0)
    items = np.repeat(np.arange(45), rng.integers(1, 6, 45))
    y = rng.random(items.size) < 0.4
    per_item = np.column_stack([np.bincount(items, weights=y), np.bincount(items)])

    def ratio(t):
        return t[:, 0] / t[:, 1]

    fast = rs.cluster_bootstrap(per_item, ratio, n_boot=300, seed=9, method="bca")
    slow = rs.cluster_bootstrap_rows(items, lambda r: y[r].mean(), n_boot=300, seed=9, method="bca")
    manual = ratio(rs.bootstrap_weights(45, 300, 9) @ per_item)
    assert np.allclose(fast.distribution, manual, atol=1e-12)
    assert np.allclose(fast.distribution, slow.distribution, atol=1e-12)
    assert fast.estimate == pytest.approx(y.mean(), abs=1e-12)
    assert fast.ci_low == pytest.approx(slow.ci_low, abs=1e-12)
    assert fast.ci_high == pytest.approx(slow.ci_high, abs=1e-12)
    assert fast.ci_low < fast.estimate < fast.ci_high and fast.n_degenerate == 0


def test_bca_matches_scipy_on_one_row_per_item():
    # With one row per item, the item bootstrap is the ordinary bootstrap and the BCa
    # interval should agree with scipy's BCa up to Monte Carlo error.
    rng = np.random.default_rng(1)
    x = rng.exponential(size=80)
    mine = rs.cluster_bootstrap(
        np.column_stack([x, np.ones_like(x)]),
        lambda t: t[:, 0] / t[:, 1],
        n_boot=4000,
        seed=2,
        method="bca",
    )
    ref = stats.bootstrap(
        (x,), np.mean, n_resamples=4000, method="BCa", random_state=3
    ).confidence_interval
    assert mine.ci_low == pytest.approx(ref.low, abs=0.03)
    assert mine.ci_high == pytest.approx(ref.high, abs=0.04)
    pct = rs.cluster_bootstrap(
        np.column_stack([x, np.ones_like(x)]), lambda t: t[:, 0] / t[:, 1], n_boot=4000, seed=2
    )
    # The exponential mean is right-skewed: BCa shifts the interval up relative to percentile.
    assert mine.ci_high > pct.ci_high


def test_degenerate_resamples_and_small_slices():
    # One rare positive item: ratio defined on the data, but many resamples miss it.
    per_item = np.zeros((40, 2))
    per_item[:, 1] = 1
    per_item[0, 0] = 1

    def share_of_positive_among_positive(t):  # nan when no positive item is drawn
        return np.where(t[:, 0] > 0, t[:, 0] / np.maximum(t[:, 0], 1), np.nan)

    r = rs.cluster_bootstrap(per_item, share_of_positive_among_positive, n_boot=500, seed=0)
    assert r.estimate == 1.0 and r.ci_low is None and r.n_degenerate > 5
    assert "degenerate" in r.reason
    small = rs.cluster_bootstrap(np.ones((12, 1)), lambda t: t[:, 0], n_boot=50)
    assert small.estimate == 12 and small.ci_low is None and "12 items" in small.reason
    undefined = rs.cluster_bootstrap(
        np.zeros((40, 2)), lambda t: t[:, 0] / np.where(t[:, 1] > 0, t[:, 1], np.nan)
    )
    assert undefined.estimate is None and undefined.reason
    with pytest.raises(ValueError):
        rs.cluster_bootstrap(np.ones((40, 1)), lambda t: t[:, 0], method="basic")


def test_bootstrap_p_value():
    d = np.array([-1.0, 0.5, 1, 2, 3, 4, 5, 6, 7, np.nan])
    # one of nine finite values <= 0: p = 2 * (1 + 1) / 10
    assert rs.bootstrap_p_value(d, 0.0) == pytest.approx(0.4)
    assert rs.bootstrap_p_value(np.array([np.nan]), 0.0) is None


def _exact_sign_flip_p(v):
    v = np.asarray(v, float)
    t = abs(v.sum())
    sums = [abs(np.dot(s, v)) for s in itertools.product([-1, 1], repeat=len(v))]
    return np.mean(np.array(sums) >= t - 1e-12)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=10), st.integers(0, 1000))
def test_sign_flip_matches_exhaustive_enumeration(values, seed):
    exact = _exact_sign_flip_p(values)
    stat, p = rs.sign_flip_test(values, n_perm=9999, seed=seed)
    assert stat == sum(values)
    # Monte Carlo error of a proportion with B = 9999 is at most 0.005; (k+1)/(B+1) >= 1e-4.
    assert abs(p - exact) < 0.025 and p >= 1 / 10000


def test_sign_flip_edge_cases():
    assert rs.sign_flip_test([], n_perm=99) == (0.0, 1.0)
    assert rs.sign_flip_test([0, 0, np.nan], n_perm=99) == (0.0, 1.0)
    # p = (k + 1) / (B + 1): all 20 values positive, no flip is as extreme except all-plus
    # or all-minus, which essentially never occurs, so k = 0 and p = 1 / (B + 1).
    assert rs.sign_flip_test(np.ones(20), n_perm=999, seed=1).p_value == pytest.approx(1 / 1000)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_exact_tests_and_wilson_match_references(k, extra):
    n = k + extra
    if n == 0:
        assert all(math.isnan(v) for v in rs.wilson_ci(0, 0))
        assert math.isnan(rs.binom_test(0, 0))
    else:
        lo, hi = rs.wilson_ci(k, n)
        rlo, rhi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert abs(lo - rlo) < 1e-9 and abs(hi - rhi) < 1e-9
        assert abs(rs.binom_test(k, n, 0.3) - stats.binomtest(k, n, 0.3).pvalue) < 1e-12
    ref = mcnemar(np.array([[5, k], [extra, 7]]), exact=True).pvalue
    assert abs(rs.mcnemar_exact(k, extra) - min(1.0, ref)) < 1e-12


def test_reused_weights_equal_fresh_draws():
    """Weights kept for an integer seed are the draws a fresh generator gives; a Generator
    seed is drawn from every time (its stream moves on)."""
    from judgelab.stats import resampling

    def fresh(n_items, n_boot, seed):
        rng = np.random.default_rng(seed)
        block = resampling._block_rows(n_items, n_boot)
        return np.concatenate(list(resampling._draw_weight_blocks(n_items, n_boot, rng, block)))

    first = resampling.bootstrap_weights(300, 50, 7)
    again = resampling.bootstrap_weights(300, 50, 7)
    assert first.dtype == again.dtype == np.int64
    assert np.array_equal(first, fresh(300, 50, 7)) and np.array_equal(again, first)
    rng = np.random.default_rng(7)
    a, b = resampling.bootstrap_weights(300, 50, rng), resampling.bootstrap_weights(300, 50, rng)
    assert np.array_equal(a, first) and not np.array_equal(b, first)
    S = np.arange(600, dtype=float).reshape(300, 2) % 5
    r1 = resampling.cluster_bootstrap(S, lambda t: t[:, 0] / t[:, 1], n_boot=50, seed=3)
    r2 = resampling.cluster_bootstrap(S, lambda t: t[:, 0] / t[:, 1], n_boot=50, seed=3)
    assert np.array_equal(r1.distribution, r2.distribution)


def test_bootstrap_each_equals_one_call_per_statistic():
    """Several statistics of one table share the resample totals; each result is the one
    cluster_bootstrap gives for that statistic alone (an undefined one included)."""
    rng = np.random.default_rng(1)
    S = rng.integers(0, 4, size=(200, 2)).astype(float)
    stats_ = [
        lambda t: t[:, 0] / t[:, 1],
        lambda t: t[:, 0] - t[:, 1],
        lambda t: np.full(len(t), np.nan),
    ]
    for method in ("percentile", "bca"):
        each = rs.cluster_bootstrap_each(S, stats_, n_boot=300, seed=4, method=method)
        for stat, got in zip(stats_, each, strict=True):
            one = rs.cluster_bootstrap(S, stat, n_boot=300, seed=4, method=method)
            _assert_same_result(got, one)


def test_weight_counts_are_one_bincount_per_resample_of_the_int32_draws():
    """The counts are those of the seeded int32 index draws, resample by resample, across the
    chunks the counting works in (rows of 1 to 16,384 items) and the blocks of resamples; an
    item drawn more than 255 times widens the block's dtype instead of wrapping."""
    for n_items, n_boot, seed in [(1, 3, 0), (5, 40, 1), (300, 70, 2), (5000, 9, 3), (20000, 4, 4)]:
        rng = np.random.default_rng(seed)
        block = rs._block_rows(n_items, n_boot)
        want = []
        for start in range(0, n_boot, block):
            idx = rng.integers(
                0, n_items, size=(min(block, n_boot - start), n_items), dtype=np.int32
            )
            want += [np.bincount(row, minlength=n_items) for row in idx]
        got = rs.bootstrap_weights(n_items, n_boot, seed)
        assert np.array_equal(got, np.array(want))
    idx = np.zeros((3, 300), dtype=np.int32)
    idx[1] = 5
    counts = rs._count_rows(idx, 300)
    assert counts.dtype == np.uint16 and counts[0, 0] == counts[1, 5] == counts[2, 0] == 300


def test_sign_flip_bit_draws_equal_integer_draws():
    """The sign flips read from the generator's raw bits are numpy's integers(0, 2) draws
    call after call (odd word counts, partial words, the kept half word), and the test's
    result is the one the integer draws give."""
    assert _flips.bit_flips_match()
    rng = np.random.default_rng(11)
    for seed in range(40):
        fast = _flips.BitFlips(np.random.default_rng(seed))
        slow = _flips.IntegerFlips(np.random.default_rng(seed))
        for _ in range(12):
            shape = (int(rng.integers(1, 9)), int(rng.integers(1, 11)))
            assert np.array_equal(fast(*shape), slow(*shape))

    def with_integer_draws(v, n_perm, seed):
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v) & (v != 0)]
        gen = np.random.default_rng(seed)
        thresh = abs(v.sum()) - 1e-9 * max(1.0, float(np.abs(v).sum()))
        k, done, block = 0, 0, rs._block_rows(v.size, n_perm)
        while done < n_perm:
            b = min(block, n_perm - done)
            flips = gen.integers(0, 2, size=(b, v.size), dtype=np.int8)
            k += int(np.count_nonzero(np.abs(2.0 * (flips @ v) - v.sum()) >= thresh))
            done += b
        return (k + 1) / (n_perm + 1)

    for size, n_perm, seed in [(1, 99, 0), (7, 999, 1), (5000, 999, 2), (3, 2001, 3)]:
        v = rng.integers(-3, 4, size).astype(float)
        assert rs.sign_flip_test(v, n_perm=n_perm, seed=seed).p_value == with_integer_draws(
            v, n_perm, seed
        )


def test_resample_totals_bootstrap_equals_cluster_bootstrap():
    """Statistics bootstrapped one at a time on kept resample totals get what
    cluster_bootstrap gives each alone; a statistic of some columns of integer statistics
    gets what cluster_bootstrap of those columns gives; the product is made once."""
    rng = np.random.default_rng(2)
    S = rng.integers(0, 5, size=(120, 6)).astype(float)
    kept = rs.ResampleTotals(S, n_boot=400, seed=9)
    stats_ = [lambda t: t[:, 0] / t[:, 1], lambda t: t[:, 2] - t[:, 5]]
    for method in ("percentile", "bca"):
        for stat in stats_:
            got = kept.bootstrap(stat, 0.9, method=method)
            one = rs.cluster_bootstrap(S, stat, n_boot=400, seed=9, ci_level=0.9, method=method)
            _assert_same_result(got, one)
        cols = slice(2, 4)
        got = kept.bootstrap(stats_[0], method=method, columns=cols)
        one = rs.cluster_bootstrap(S[:, cols], stats_[0], n_boot=400, seed=9, method=method)
        assert (got.ci_low, got.ci_high) == (one.ci_low, one.ci_high)
        assert np.array_equal(got.distribution, one.distribution)
    blocks = kept.blocks()
    assert kept.blocks() is blocks and sum(len(b) for b in blocks) == 400
    undefined = kept.bootstrap(lambda t: np.full(len(t), np.nan))
    assert undefined.estimate is None and undefined.reason == "statistic undefined on this data"


def test_weights_not_kept_on_request_give_the_same_values():
    """keep_weights=False draws the same weights and keeps none of them."""
    S = np.arange(400, dtype=float).reshape(200, 2) % 7 + 1
    key = (200, 60, 123, rs._block_rows(200, 60))
    rs._WEIGHT_CACHE.pop(key, None)
    dropped = rs.cluster_bootstrap(S, lambda t: t[:, 0] / t[:, 1], 60, 123, keep_weights=False)
    assert key not in rs._WEIGHT_CACHE
    kept = rs.cluster_bootstrap(S, lambda t: t[:, 0] / t[:, 1], 60, 123)
    assert key in rs._WEIGHT_CACHE
    assert np.array_equal(dropped.distribution, kept.distribution)


def test_float32_totals_equal_the_float64_product():
    """Integer and power-of-two-fraction tables whose totals stay below 2**24 take the float32
    product; its totals are the float64 product's, bit for bit (signed zeros, blocks and
    all). Other tables keep the float64 product."""
    rng = np.random.default_rng(5)
    n = 3000
    cases = [
        (rng.integers(0, 25, size=(n, 9)).astype(float), 1.0),
        (rng.integers(-8, 9, size=(n, 3)) / 2.0, 2.0),
        (rng.integers(0, 5, size=(n, 4)) / 8.0, 8.0),
        (np.zeros((n, 2)), 1.0),
        # the largest total allowed: n * 5592 < 2**24 <= n * 5593
        (np.full((n, 1), 5592.0), 1.0),
        (np.full((n, 1), 5593.0), None),
        (rng.random((n, 3)), None),
        (np.r_[np.ones((n - 1, 2)), [[np.nan, 1.0]]], None),
    ]
    for S, scale in cases:
        assert float32_exact_scale(S) == scale
        for seed in (0, 3):
            got = list(rs._resample_totals(S, 700, seed))
            with rs.single_thread_blas():
                want = [W.astype(float) @ S for W in rs._weight_blocks(n, 700, seed, None)]
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and g.shape == w.shape and g.flags.c_contiguous
                assert g.tobytes() == w.tobytes()
