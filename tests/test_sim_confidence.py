"""The simulated panel's logprobs: consistent with its generative model, the confidence knobs
(miscalibrated, uninformative), greedy answers at temperature 0, top-k truncation through the
store route, and the parameter hash of knob-free judges unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

import judgelab as jl
from judgelab import run, sim
from judgelab.stats.calibration.confidence_metrics import ece, ece_null
from judgelab.stats.confidence import verdict_confidence


@pytest.fixture(scope="module")
def demo():
    ds = jl.load_dataset("demo")
    return ds, sim.prepare_responses(sim.responses_frame(ds))


def test_knob_defaults_keep_the_parameter_hash():
    assert sim.param_hash({"noise": 1.0}) == sim.param_hash(
        {"noise": 1.0, "confidence_sharpness": 1, "confidence_noise": 0.0, "greedy": False}
    )
    assert sim.param_hash({"confidence_sharpness": 2}) != sim.param_hash({})
    assert sim.param_hash({"greedy": True}) != sim.param_hash({})
    with pytest.raises(ValueError, match="confidence_sharpness"):
        sim.judge("x", confidence_sharpness=-1)
    with pytest.raises(ValueError, match="greedy"):
        sim.judge("x", greedy="sometimes")


def _self_ece(v):
    """ECE of the reported P(A) against the judge's own choice of A (its own draws)."""
    ok = v["parse_ok"].astype(bool)
    p = v.loc[ok, "p_a"].to_numpy(float)
    y = (v.loc[ok, "choice"] == "A").to_numpy(float)
    return ece(p, y), ece_null(p, seed=0)[0]


def test_logprobs_are_the_distribution_the_verdict_is_drawn_from(demo):
    """At temperature 1 the reported P(A) is calibrated against the judge's own choices (the
    logprobs are its generative model); an overconfident knob breaks exactly that."""
    ds, prepared = demo
    pairs = ds.pairs("all", n_pairs=1500, seed=1)
    for knobs, calibrated in (({}, True), ({"confidence_sharpness": 3.0}, False)):
        j = sim.judge("basalt-m", temperature=1.0, tie_band=0.3, **knobs)
        v = sim.sample_verdicts(pairs, prepared, [j])
        obs, null = _self_ece(v)
        if calibrated:
            assert obs < np.quantile(null, 0.99)
        else:
            assert obs > np.quantile(null, 0.999)


def test_greedy_answers_the_argmax_at_temperature_zero_only(demo):
    ds, prepared = demo
    pairs = ds.pairs("all", n_pairs=300, seed=2)
    greedy = sim.judge("cirrus-nano", temperature=0.0, greedy=True, noise=2.0, tie_band=0.2)
    v = sim.sample_verdicts(pairs, prepared, [greedy])
    ok = v["parse_ok"].astype(bool)
    probs = v.loc[ok, ["p_a", "p_b", "p_tie"]].to_numpy(float)
    expected = np.array(["A", "B", "tie"])[probs.argmax(axis=1)]
    assert (v.loc[ok, "choice"].to_numpy() == expected).all()
    warm = sim.judge("cirrus-nano", temperature=0.7, greedy=True, noise=2.0, tie_band=0.2)
    w = sim.sample_verdicts(pairs, prepared, [warm])
    ok = w["parse_ok"].astype(bool)
    probs = w.loc[ok, ["p_a", "p_b", "p_tie"]].to_numpy(float)
    assert (w.loc[ok, "choice"].to_numpy() != np.array(["A", "B", "tie"])[probs.argmax(1)]).any()


def test_knobs_topk_truncation_and_greedy_agree_between_provider_and_sampler(demo, tmp_path):
    ds, prepared = demo
    judges = [
        sim.judge(
            "aurora-lite",
            temperature=0.7,
            tie_band=0.4,
            confidence_sharpness=2.0,
            confidence_noise=0.8,
            top_logprobs=2,
        ),
        sim.judge("basalt-s", temperature=0.0, greedy=True, tie_band=0.2, noise=1.5),
    ]
    pw = run.judge_pairwise(
        ds, judges, store=tmp_path / "v.sqlite", n_pairs=16, seed=3, progress=False, verbose=False
    )
    pairs = pw[["item_id", "response_a", "response_b"]].drop_duplicates()
    sv = sim.sample_verdicts(pairs, prepared, judges)
    key = ["model", "response_a", "response_b", "order", "sample"]
    m = pw.merge(sv, on=key, suffixes=("", "_sim"), validate="one_to_one")
    assert len(m) == len(pw) == 64
    assert (m["choice"].fillna("-") == m["choice_sim"].fillna("-")).all()
    ok = m["parse_ok_sim"]
    # top-2 of three verdicts: the missing one enters at its bound, which here is exact
    lite = ok & (m["model"] == "judgelab-sim/aurora-lite")
    assert m.loc[lite, "p_truncated"].notna().all()
    assert m.loc[ok & ~lite, "p_truncated"].isna().all()
    for col in ("p_a", "p_b", "p_tie"):
        np.testing.assert_allclose(
            m.loc[ok, col].to_numpy(float), m.loc[ok, f"{col}_sim"].to_numpy(float), atol=1e-9
        )
    c = verdict_confidence(pw[pw["model"] == "judgelab-sim/aurora-lite"], "logprob")
    assert c["truncated"].any() and (c["confidence_source"] == "logprob").all()


def test_flat_and_noisy_knobs_against_the_closed_form():
    from judgelab.sim.model import reported_probabilities

    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(reported_probabilities(p, 1.0, 0.0, np.zeros((2, 3))), p)
    flat = reported_probabilities(p, 0.0, 0.0, np.zeros((2, 3)))
    np.testing.assert_allclose(flat, [[1 / 3] * 3, [0.5, 0.5, 0.0]])
    sharp = reported_probabilities(p, 2.0, 0.0, np.zeros((2, 3)))
    np.testing.assert_allclose(sharp[0], np.array([0.49, 0.04, 0.01]) / 0.54)
    z = np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    noisy = reported_probabilities(p, 1.0, 0.5, z)
    w = np.log(p[0]) + 0.5 * z[0]
    np.testing.assert_allclose(noisy[0], np.exp(w) / np.exp(w).sum())
    assert expit(0) == 0.5
