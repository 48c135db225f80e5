"""The self-preference coverage simulation (judgelab.sim.self_preference_coverage, issue 14
item 6): the re-planted judge keeps its log-odds, replicate 0 is the demo study's own fit, and
a reduced coverage run fails when the estimator's coverage drops where the full run
(validation/self_preference_coverage.py) shows it adequate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import judgelab as jl
from judgelab.findings import adjusted_findings
from judgelab.sim import PANELS
from judgelab.sim.self_preference_coverage import (
    coverage_replicates,
    coverage_table,
    replanted_panel,
)


@pytest.fixture(scope="module")
def ds():
    return jl.load_dataset("demo")


def test_replanted_judge_keeps_its_log_odds_and_the_others_stay():
    demo = PANELS["demo"]
    judges = {j["model"].split("/")[1]: j["sim"] for j in replanted_panel("cirrus-ultra", 0.6)}
    u, d = judges["cirrus-ultra"], demo["cirrus-ultra"]
    assert u["noise"] == 0.6 and u["self_preference"] == pytest.approx(0.6)
    for k in ("position_bias", "family_preference", "length_bias"):
        assert u[k] / u["noise"] == pytest.approx(d[k] / d["noise"])
    assert u["family_taste"] == d["family_taste"]  # quality units: not scaled
    assert all(judges[n] == demo[n] for n in demo if n != "cirrus-ultra")
    tasteless = {j["model"]: j["sim"] for j in replanted_panel(family_taste=0.0)}
    assert [m for m, p in tasteless.items() if p["family_taste"] == 0] == [
        f"judgelab-sim/cirrus-{t}" for t in ("ultra", "base", "nano")
    ]
    with pytest.raises(ValueError, match="not a judge of panel"):
        replanted_panel("nobody")


def test_replicate_zero_is_the_demo_studys_fit(ds):
    # the demo panel as shipped (noise 0.12, planted 0.12) at seed 0 is what `judgelab run
    # self_preference` reports for cirrus-ultra (-0.26 [-0.99, 0.48])
    r = coverage_replicates(ds, noises=[0.12], controls=["human"], n_rep=1)
    assert len(r) == 1
    assert r.at[0, "estimate"] == pytest.approx(-0.2559, abs=1e-3)
    assert r.at[0, "ci_low"] == pytest.approx(-0.9880, abs=1e-3)
    assert not r.at[0, "covers"]
    with pytest.raises(ValueError, match="unknown quality control"):
        coverage_replicates(ds, controls=["oracle"], n_rep=1)


def test_sharp_judges_self_term_carries_the_statement_computed_from_the_data(ds):
    from judgelab import sim
    from judgelab.stats import self_preference as sp
    from judgelab.stats.self_preference_logit import SHARP_CONSISTENCY, sharpness_table

    v = sim.sample_verdicts(ds.pairs("human"), sim.responses_frame(ds), replanted_panel(), seed=0)
    jt = sp.judgment_table(v, ds)
    s = sharpness_table(jt).set_index("judge")
    # consistency recomputed by a plain loop over pairs judged (non-tie) in both orders
    for j in s.index:
        d = jt[(jt["judge"] == j) & jt["pick_a"].notna()]
        by_pair = {}
        for r in d.itertuples():
            by_pair.setdefault((r.item_id, r.ra, r.rb), {})[r.first_a] = r.pick_a
        both = [p for p in by_pair.values() if len(p) == 2]
        assert s.at[j, "pairs_both_orders"] == len(both)
        assert s.at[j, "consistency"] == pytest.approx(np.mean([p[0] == p[1] for p in both]))
    short = {j.split("|")[0].split("/")[1]: j for j in s.index}
    assert s.at[short["cirrus-ultra"], "consistency"] >= SHARP_CONSISTENCY
    assert s.at[short["cirrus-base"], "consistency"] < SHARP_CONSISTENCY
    # the conclusions are rendered at save, from the adjusted rows
    f = adjusted_findings(sp.self_preference_findings(v, ds, n_boot=20))
    concl = f[f["id"] == "self_preference_logit"].set_index("judge")["conclusion"]
    ultra = s.loc[short["cirrus-ultra"]]
    assert "Caution: this judge is sharp" in concl[short["cirrus-ultra"]]
    assert (
        f"humans favour the other answer on {int(ultra['own_pairs_humans_other'])} of its "
        f"{int(ultra['own_pairs'])} own-answer pairs" in concl[short["cirrus-ultra"]]
    )
    assert "Caution" not in concl[short["cirrus-base"]]


@pytest.mark.slow  # 32 panel draws and fits: about 30 s of CPU (65 s on the busy machine)
def test_reduced_coverage_run(ds):
    # The first 16 replicates of validation/self_preference_coverage.py (200 per cell in
    # docs/statistics.md#sharp-judges), human-vote control. Tolerances are binomial on 16:
    # coverage criterion (>= 90%) where the full run meets it: at noise 0.3 it covers the
    # planted 1 logit in 190 of 200 (15 of these 16); with a true coverage of 0.9,
    # P(<= 11 of 16) = 0.017.
    mid = coverage_table(coverage_replicates(ds, noises=[0.3], controls=["human"], n_rep=16))
    assert mid.at[0, "coverage"] >= 12 / 16, mid
    # Null panel (no bias or taste anywhere; cirrus-ultra, sharp, judges the worst family):
    # the criterion is at most 2.5% flagged per side; P(>= 3 of 16 | 0.025) = 0.007, so more
    # than 2 of 16 on a side fails. The full run does NOT meet it on the low side with the
    # whole-panel comparison used here (14 of 200 below 0, 1 above: biased low, see the docs;
    # within the sharpness band, the default, 8 and 2 of 200), and 16
    # replicates only catch a gross regression (P(<= 2 of 16 | 0.3) = 0.10; at the measured
    # 7% a run of 16 passes 90% of the time). These 16 flag 1 below and 1 above.
    null = coverage_table(
        coverage_replicates(
            ds, noises=[0.12], effective=0.0, controls=["human"], n_rep=16, panel="null"
        )
    )
    assert null.at[0, "rejects_low"] <= 2 / 16 and null.at[0, "rejects_high"] <= 2 / 16, null


def _sharp_null_judgments(n_items: int = 1500, seed: int = 4) -> pd.DataFrame:
    """A judgment table with no bias anywhere: families f1, f2, f3 (f3's answers 0.8 worse on
    average), each with a sharp judge (noise 0.08) and a dull one (noise 0.6) that also
    generate the answers; one cross-family pair per item, judged by every judge in both orders
    (logit P(a) = true gap / noise); the human quality gap is the true gap plus N(0, 0.5)
    noise (a noisy proxy, as human votes are)."""
    rng = np.random.default_rng(seed)
    judges = [
        (f"{f}-{t}", f, s) for f in ("f1", "f2", "f3") for t, s in (("sharp", 0.08), ("dull", 0.6))
    ]
    names = np.array([j[0] for j in judges])
    fam = np.array([j[1] for j in judges])
    # a cross-family pair per item: generator a, then b from another family
    ga = rng.integers(0, 6, n_items)
    gb = (ga - ga % 2 + 2 * rng.integers(1, 3, n_items)) % 6 + rng.integers(0, 2, n_items)
    mean = np.where(fam == "f3", -0.8, 0.0)
    qa = mean[ga] + rng.normal(0, 0.5, n_items)
    qb = mean[gb] + rng.normal(0, 0.5, n_items)
    hgap = qa - qb + rng.normal(0, 0.5, n_items)
    item = np.repeat(np.arange(n_items), 12)
    j = np.tile(np.repeat(np.arange(6), 2), n_items)
    noise = np.array([s for *_, s in judges])[j]
    rel = {}
    for side, g in (("a", ga[item]), ("b", gb[item])):
        rel[side] = np.where(g == j, "self", np.where(fam[g] == fam[j], "family", "other"))
    gap = (qa - qb)[item]
    return pd.DataFrame(
        dict(
            judge=names[j],
            model=names[j],
            judge_family=fam[j],
            item_id=[f"i{i}" for i in item],
            ra=[f"i{i}-{names[g]}" for i, g in zip(item, ga[item])],
            rb=[f"i{i}-{names[g]}" for i, g in zip(item, gb[item])],
            first_a=np.tile([1, 0], 6 * n_items),
            pick_a=(rng.random(len(item)) < 1 / (1 + np.exp(-gap / noise))).astype(float),
            rel_a=rel["a"],
            rel_b=rel["b"],
            words_a=100.0,
            words_b=100.0,
            hgap=hgap[item],
            pgap=np.nan,
        )
    )


@pytest.mark.slow  # two fits on 36,000 judgments: about 10 s (30 s on the busy machine)
def test_sharp_judge_of_the_worse_family_is_not_flagged_in_the_null():
    # docs/statistics.md#sharp-judges: compared with the whole panel on a pair, a sharp
    # judge follows the part of the quality gap the (noisy) human proxy misses more steeply
    # than the panel average the pair stratum absorbs; its own answers being the worse ones,
    # that reads as a negative self term. Compared within its sharpness band it is not.
    from judgelab.stats.self_preference_logit import fit_self_preference_logit

    jt = _sharp_null_judgments()

    def self_term(comparison):
        c = fit_self_preference_logit(jt, comparison)
        return c[(c["judge"] == "f3-sharp") & (c["term"] == "self")].iloc[0]

    new = self_term("sharpness")
    assert new["ci_low"] < 0 < new["ci_high"], new
    # the whole-panel comparison (the estimator before the bands) flags the same judge
    old = self_term("panel")
    assert old["ci_high"] < 0 and old["z"] < -3, old
