"""Confidence calibration statistics (judgelab.stats.calibration.confidence_metrics and
.confidence) against independent computations, the perfectly-calibrated null by simulation,
and the audit's findings on simulated judges with planted confidence knobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import judgelab as jl
from judgelab import sim
from judgelab.stats import _flips
from judgelab.stats.calibration.confidence import confidence_calibration
from judgelab.stats.calibration.confidence_metrics import (
    auroc,
    bin_edges,
    brier_multiclass,
    debiased_ece,
    debiased_ece_from_bins,
    disagreement_floor,
    ece,
    ece_from_bins,
    ece_null,
    fit_recalibration,
    pav,
)


def _ece_loop(c, y, n_bins=10):
    """Plug-in ECE written out: sort, cut at the quantiles, average per bin."""
    c, y = np.asarray(c, float), np.asarray(y, float)
    qs = np.unique(np.quantile(c, np.linspace(0, 1, n_bins + 1)[1:-1]))
    total = 0.0
    for b in range(len(qs) + 1):
        lo = -np.inf if b == 0 else qs[b - 1]
        hi = np.inf if b == len(qs) else qs[b]
        m = (c >= lo) & (c < hi)
        if m.any():
            total += m.sum() * abs(y[m].mean() - c[m].mean())
    return total / len(c)


def test_ece_auroc_brier_pav_platt_match_independent_computations():
    sk = pytest.importorskip("sklearn")
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    assert sk
    rng = np.random.default_rng(4)
    c = rng.uniform(0.3, 1.0, 400)
    y = (rng.random(400) < c**2).astype(float)
    assert ece(c, y) == pytest.approx(_ece_loop(c, y), abs=1e-12)
    assert len(bin_edges(c)) == 9
    assert auroc(c, y) == pytest.approx(roc_auc_score(y, c), abs=1e-12)
    # ties in the confidence count half, as sklearn's
    cr = np.round(c, 1)
    assert auroc(cr, y) == pytest.approx(roc_auc_score(y, cr), abs=1e-12)
    ux, fit = pav(c, y)
    iso = IsotonicRegression().fit(c, y)
    np.testing.assert_allclose(fit, iso.predict(ux), atol=1e-10)
    f, method = fit_recalibration(c, y)
    assert method == "platt"
    z = np.log(c / (1 - c))
    lr = LogisticRegression(C=1e10, tol=1e-12, max_iter=10_000).fit(z[:, None], y)
    np.testing.assert_allclose(f(c), lr.predict_proba(z[:, None])[:, 1], atol=1e-5)
    f2, m2 = fit_recalibration(np.tile(c, 2), np.tile(y, 2))
    assert m2 == "isotonic" and np.all(np.diff(f2(np.sort(c))) >= -1e-12)
    p = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0]])
    h = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(brier_multiclass(p, h), [0.09 + 0.04 + 0.01, 0.25 + 0.25])
    np.testing.assert_allclose(disagreement_floor(h), [0.0, 0.5])


def test_plugin_ece_is_biased_up_and_the_debiased_one_is_near_zero_when_calibrated():
    """n = 200 perfectly calibrated units: the plug-in ECE sits well above 0 (the bias the
    null reference shows), the debiased ECE near 0, and the null mean matches the plug-in's."""
    rng = np.random.default_rng(11)
    plug, deb, null_means = [], [], []
    for k in range(300):
        c = rng.uniform(0.5, 1.0, 200)
        y = (rng.random(200) < c).astype(float)
        plug.append(ece(c, y))
        deb.append(debiased_ece(c, y))
        if k < 20:
            null_means.append(ece_null(c, n_sim=200, seed=k)[0].mean())
    plug, deb = np.mean(plug), np.mean(deb)
    assert 0.05 < plug < 0.11
    assert deb < 0.035 and deb < plug / 2
    assert np.mean(null_means) == pytest.approx(plug, abs=0.01)
    # a miscalibrated confidence (always 0.2 too high) stands out of its null
    c = rng.uniform(0.5, 0.8, 400)
    y = (rng.random(400) < c - 0.2).astype(float)
    assert ece(c, y) > np.quantile(ece_null(c, seed=1)[0], 0.99)
    assert debiased_ece(c, y) > 0.15


def test_ece_null_counts_the_whole_draw_per_bin():
    """ece_null in blocks with packed per-bin counts equals one (n_sim, units) draw of
    Bernoulli(confidence) outcomes counted per bin, bit for bit: sizes around the 64-unit
    words and the block boundary, confidences of 0 and 1, ties, a nan, fewer bins."""
    rng = np.random.default_rng(7)
    cases = [rng.random(n) for n in (1, 2, 63, 64, 65, 129, 1000)]
    cases += [
        np.r_[np.zeros(9), np.ones(6), rng.random(150), [np.nan]],
        rng.choice([0.25, 0.5, 0.9], 4001),
        np.full(70, 0.5),
        np.array([]),
    ]
    for conf in cases:
        for n_bins, n_sim, seed in [(10, 200, 0), (4, 77, 3), (10, 1001, 5)]:
            c = conf[np.isfinite(conf)]
            edges = bin_edges(c, n_bins)
            idx = np.searchsorted(edges, c, "right")
            draws = np.random.default_rng(seed).random((n_sim, c.size)) < c
            onehot = np.zeros((c.size, len(edges) + 1))  # counts: exact in any order
            onehot[np.arange(c.size), idx] = 1.0
            k = len(edges) + 1
            n = np.broadcast_to(np.bincount(idx, minlength=k).astype(float), (n_sim, k))
            sc = np.broadcast_to(np.bincount(idx, weights=c, minlength=k), n.shape)
            sy = draws.astype(float) @ onehot
            want = (ece_from_bins(n, sc, sy), debiased_ece_from_bins(n, sc, sy))
            got = ece_null(conf, n_bins=n_bins, n_sim=n_sim, seed=seed)
            for g, w in zip(got, want, strict=True):
                assert g.tobytes() == w.tobytes()


def test_uniform_below_reads_random_less_than_c_from_the_raw_bits():
    """UniformBelow gives random() < c draw for draw, at the edges too: c equal to a draw
    (not below), one ulp either side of it, 0, 1, beyond [0, 1], subnormal; and the stream
    stays in step with random() afterwards."""
    assert _flips.uniform_bits_match()
    for seed in (0, 4, 99):
        u = np.random.default_rng(seed).random((3, 40))
        c = np.r_[u[1, :8], np.nextafter(u[1, 8:16], 1), np.nextafter(u[1, 16:24], 0)]
        c = np.r_[c, [0.0, 1.0, -0.5, 1.5, 5e-324, 2.0**-53, 1 - 2.0**-53, 0.5]]
        c = np.r_[c, np.random.default_rng(seed + 1).random(40 - c.size)]
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert _flips.UniformBelow.usable(a)
        got = np.empty((3, 40), dtype=bool)
        _flips.UniformBelow(a, c)(got)
        assert np.array_equal(got, b.random((3, 40)) < c)
        assert np.array_equal(a.random(5), b.random(5))
    assert not _flips.UniformBelow.usable(np.random.Generator(np.random.MT19937(0)))


def test_ece_null_on_another_generator_draws_its_uniforms():
    """A generator whose random() is not the raw-bit formula keeps random() < c."""
    conf = np.random.default_rng(2).random(300)

    def gen():
        return np.random.Generator(np.random.MT19937(5))

    edges = bin_edges(conf)
    idx, k = np.searchsorted(edges, conf, "right"), len(edges) + 1
    draws = gen().random((50, conf.size)) < conf
    sy = np.stack([np.bincount(idx, weights=row, minlength=k) for row in draws])
    n = np.broadcast_to(np.bincount(idx, minlength=k).astype(float), sy.shape)
    sc = np.broadcast_to(np.bincount(idx, weights=conf, minlength=k), sy.shape)
    got = ece_null(conf, n_sim=50, seed=gen())
    assert got[0].tobytes() == ece_from_bins(n, sc, sy).tobytes()
    assert got[1].tobytes() == debiased_ece_from_bins(n, sc, sy).tobytes()


@pytest.fixture(scope="module")
def demo():
    ds = jl.load_dataset("demo")
    pairs = ds.pairs("human", n_pairs=240, seed=0)
    return ds, pairs, sim.prepare_responses(sim.responses_frame(ds))


def _verdicts(demo, **knobs):
    ds, pairs, prepared = demo
    j = sim.judge("aurora-plus", temperature=1.0, **knobs)
    return sim.sample_verdicts(pairs, prepared, [j], repeats=1)


def test_audit_findings_react_to_the_confidence_knobs(demo):
    ds = demo[0]

    def row(**knobs):
        f = confidence_calibration(_verdicts(demo, **knobs), ds, n_boot=200)
        return f.set_index("id").to_dict("index")

    base = row()
    under = row(confidence_sharpness=0.3)
    noisy = row(confidence_noise=25.0)
    flat = row(confidence_sharpness=0.0)
    for r in (base, under, noisy):
        assert r["confidence_ece"]["confidence_source"] == "logprob"
    assert base["confidence_ece"]["auroc"] > 0.8
    assert noisy["confidence_ece"]["auroc"] < 0.65  # unrelated to being right
    # against humans the demo judge's own probabilities are already underconfident (its
    # accuracy in the top deciles exceeds its confidence): flattening them further shows
    e_base, e_under = base["confidence_ece"], under["confidence_ece"]
    assert e_under["estimate"] > e_base["estimate"] + 0.05
    assert e_under["ci_low"] > e_base["ece_null_q95"]
    # a flat report (0.5 for A and B) is one level: no ECE, a reason, accuracy per level
    assert flat["confidence_ece"]["n_levels"] == 1 and pd.isna(flat["confidence_ece"]["estimate"])
    assert "level" in flat["confidence_ece"]["reason"]
    b = base["confidence_brier"]
    assert b["floor"] > 0 and b["brier_vs_votes"] == pytest.approx(b["estimate"] + b["floor"])


def test_order_agreement_is_ordinal_and_no_confidence_is_said(demo):
    ds = demo[0]
    v = _verdicts(demo).drop(columns=["p_a", "p_b", "p_tie"])
    f = confidence_calibration(v, ds, n_boot=100).set_index("id")
    ece_row = f.loc["confidence_ece"]
    assert ece_row["confidence_source"] == "order_agreement" and pd.isna(ece_row["estimate"])
    assert [x["confidence"] for x in ece_row["levels"]] == [0.0, 0.5, 1.0] or len(
        ece_row["levels"]
    ) <= 3
    assert 0.5 < ece_row["auroc"] <= 1.0
    one = v[v["order"] == "ab"]
    f = confidence_calibration(one, ds, n_boot=100).set_index("id")
    assert f["estimate"].isna().all() and "no confidence" in f.loc["confidence_ece", "reason"]


def test_prepared_judge_units_give_the_frame_s_findings(demo):
    """The audit hands each judge's prepared units (with their coded pairs) to the
    confidence calibration: the same findings as from the verdict frame, for both tie
    policies and order rules (the coded pairs of every row, or the rows of one protocol)."""
    from judgelab.stats.calibration.units import JudgeUnits
    from judgelab.stats.confidence import verdict_confidence
    from judgelab.stats.units import pair_labels

    ds = demo[0]
    v = _verdicts(demo)
    for tie, order in (("class", "per_call"), ("drop", "consistent_only")):
        ju = JudgeUnits.of(v, "pairwise", order, tie)
        assert ju.labels is not None
        kw = dict(tie_policy=tie, order_aggregation=order, n_boot=50)
        a = confidence_calibration(v, ds, **kw)
        b = confidence_calibration(ju, ds, **kw)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    # labels of every row, with a row of another protocol: that row is left out either way
    mixed = v.assign(protocol=["single"] + ["pairwise"] * (len(v) - 1))
    pd.testing.assert_frame_equal(
        verdict_confidence(mixed, "logprob", labels=pair_labels(mixed)),
        verdict_confidence(mixed, "logprob"),
        check_exact=True,
    )
    assert len(verdict_confidence(mixed, "logprob", level="call")) < len(
        verdict_confidence(v, "logprob", level="call")
    )


def test_units_join_the_reference_and_shares_as_the_merges_do():
    """The confidence units join the reference and the vote shares on integer pair codes:
    the same frame as the merges on the three text columns (inner and left, a pair without
    a right row, a right side with a repeated pair)."""
    from judgelab.stats.calibration.confidence import _PAIR, _joined
    from judgelab.stats.units import pair_codes

    left = pd.DataFrame(
        {
            "item_id": ["i1", "i1", "i2", "i3", "i2"],
            "lo": ["a", "a", "c", "e", "c"],
            "hi": ["b", "b", "d", "f", "d"],
            "x": [1, 2, 3, 4, 5],
        }
    )
    right = pd.DataFrame(
        {
            "item_id": ["i2", "i1", "i9"],
            "lo": ["c", "a", "z"],
            "hi": ["d", "b", "z"],
            "h": [0.5, 0.25, 1.0],
            "k": [1, 2, 3],
        }
    )
    (code,) = pair_codes(left)
    pairs = left[_PAIR].iloc[np.unique(code, return_index=True)[1]]
    for r in (right, pd.concat([right, right.iloc[:1]], ignore_index=True)):
        for how in ("inner", "left"):
            m, m_code = _joined(left, code, r, pair_codes(pairs, r)[1], how, pairs)
            pd.testing.assert_frame_equal(m, left.merge(r, on=_PAIR, how=how), check_exact=True)
            np.testing.assert_array_equal(m_code, pair_codes(pairs, m)[1])
