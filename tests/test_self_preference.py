"""judgelab.stats.self_preference: hand-computed tables, statsmodels' ConditionalLogit as an
independent reference, and simulation checks with judgelab.sim.sample_verdicts (null panel
with unequal noise and unequal family quality; self-preference planted on the worse family)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import judgelab as jl
from judgelab import sim
from judgelab.data import DataError, Dataset
from judgelab.findings import adjusted_findings
from judgelab.stats import self_preference as sp


@pytest.fixture(scope="module")
def demo():
    ds = jl.load_dataset("demo")
    return ds, sim.responses_frame(ds)


def _tiny_dataset():
    """2 items x 4 responses: generators x-1, x-2 (family x) and y-1, y-2 (family y)."""
    items = pd.DataFrame({"item_id": ["i1", "i2"], "prompt": ["p1", "p2"]})
    rows = []
    for i in ("i1", "i2"):
        for g, fam, words in (
            ("x-1", "x", 10),
            ("x-2", "x", 40),
            ("y-1", "y", 20),
            ("y-2", "y", 30),
        ):
            rows.append(
                dict(
                    response_id=f"{i}-{g}",
                    item_id=i,
                    generator=g,
                    family=fam,
                    text=" ".join(["w"] * words),
                )
            )
    responses = pd.DataFrame(rows)
    truth = pd.DataFrame(
        {"response_id": responses["response_id"], "quality": 0.0, "correct": [1, 0, 0, 1] * 2}
    )
    prefs = pd.DataFrame(
        [
            # i1: x-1 vs y-1, humans 2:1 for x-1; i2: y-2 vs x-2 (stored reversed), humans 3:0 for y-2
            dict(
                item_id="i1",
                response_a="i1-x-1",
                response_b="i1-y-1",
                rater_id="r1",
                preference="a",
            ),
            dict(
                item_id="i1",
                response_a="i1-x-1",
                response_b="i1-y-1",
                rater_id="r2",
                preference="a",
            ),
            dict(
                item_id="i1",
                response_a="i1-x-1",
                response_b="i1-y-1",
                rater_id="r3",
                preference="b",
            ),
            dict(
                item_id="i2",
                response_a="i2-y-2",
                response_b="i2-x-2",
                rater_id="r1",
                preference="a",
            ),
            dict(
                item_id="i2",
                response_a="i2-y-2",
                response_b="i2-x-2",
                rater_id="r2",
                preference="a",
            ),
            dict(
                item_id="i2",
                response_a="i2-y-2",
                response_b="i2-x-2",
                rater_id="r3",
                preference="a",
            ),
        ]
    )
    return Dataset(name="tiny", items=items, responses=responses, preferences=prefs, truth=truth)


def _v(model, family, item, a, b, order, choice):
    return dict(
        model=model,
        backend="b",
        judge_version="v",
        judge_family=family,
        protocol="pairwise",
        item_id=item,
        response_a=a,
        response_b=b,
        order=order,
        sample=0,
        choice=choice,
        parse_ok=choice is not None,
    )


def test_judgment_table_orientation_relations_and_picks():
    ds = _tiny_dataset()
    v = pd.DataFrame(
        [
            _v("x-1", "x", "i1", "i1-x-1", "i1-y-1", "ab", "A"),  # x-1 shown first, picks x-1
            _v("x-1", "x", "i1", "i1-x-1", "i1-y-1", "ba", "A"),  # y-1 shown first, picks y-1
            _v(
                "x-1", "x", "i2", "i2-y-2", "i2-x-2", "ab", "B"
            ),  # stored reversed: y-2 first, picks x-2
            _v("x-1", "x", "i2", "i2-y-2", "i2-x-2", "ba", "tie"),
        ]
    )
    jt = sp.judgment_table(v, ds)
    # canonical a = the smaller id: i1-x-1 and i2-x-2
    assert jt["ra"].tolist() == ["i1-x-1", "i1-x-1", "i2-x-2", "i2-x-2"]
    assert jt["first_a"].tolist() == [1, 0, 0, 1]
    assert jt["pick_a"].iloc[:3].tolist() == [1.0, 0.0, 1.0] and np.isnan(jt["pick_a"].iloc[3])
    assert jt["tie"].tolist() == [False, False, False, True]
    assert jt["rel_a"].tolist() == ["self", "self", "family", "family"]
    assert jt["rel_b"].tolist() == ["other"] * 4
    assert jt["words_a"].tolist() == [10, 10, 40, 40]


def test_judgment_table_identity_family_and_parse_flags_per_row():
    """Identity strings as judgelab.identity.identity_string writes them (a missing backend reads
    "None", a NaN version "nan"), the family looked up when not stored, and parse_ok /
    choice read per distinct value (the judgment table formats each distinct value once)."""
    from judgelab.identity import identity_string

    ds = _tiny_dataset()
    rows = [
        _v("x-1", None, "i1", "i1-x-1", "i1-y-1", "ab", " a "),
        _v("x-1", "x", "i1", "i1-x-1", "i1-y-1", "ba", "B"),
        _v("y-1", "y", "i2", "i2-y-2", "i2-x-2", "ab", "TIE"),
        _v("y-1", "y", "i2", "i2-y-2", "i2-x-2", "ba", None),
    ]
    rows[1]["parse_ok"] = 0
    v = pd.DataFrame(rows)
    v["backend"] = pd.Series([None, "b", "b", "b"], dtype=object)
    v["judge_version"] = pd.Series(["v", "v", np.nan, "v"], dtype=object)
    jt = sp.judgment_table(v, ds)
    assert jt["judge"].tolist() == [
        identity_string(*r) for r in v[["model", "backend", "judge_version"]].to_numpy(object)
    ]
    assert jt["judge"].tolist()[:3] == ["x-1|None|v", "x-1|b|v", "y-1|b|nan"]
    # not stored -> judgelab.families.family_of, which does not know the toy model x-1
    assert pd.isna(jt["judge_family"].iloc[0]) and jt["judge_family"].iloc[1:].tolist() == [
        "x",
        "y",
        "y",
    ]
    assert jt["parsed"].tolist() == [True, False, True, False]
    assert jt["tie"].tolist() == [False, False, True, False]
    assert jt["pick_a"].iloc[0] == 1.0 and jt["pick_a"].iloc[1:].isna().all()


def test_findings_reuse_a_given_judgment_table_and_fit(demo):
    """The notebook fits the logit once for the forest plot and passes it on: the findings
    are the same as when self_preference_findings builds both itself."""
    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=60, seed=2)
    judges = [
        {"model": "judgelab-sim/aurora-max", "sim": {"noise": 0.6}},
        {"model": "judgelab-sim/basalt-m", "sim": {"noise": 0.6}},
    ]
    v = sim.sample_verdicts(pairs, resp, judges, seed=1)
    jt = sp.judgment_table(v, ds)
    coefs = sp.fit_self_preference_logit(jt)
    given = sp.self_preference_findings(v, ds, n_boot=50, judgments=jt, coefficients=coefs)
    built = sp.self_preference_findings(v, ds, n_boot=50)
    pd.testing.assert_frame_equal(given, built)


def test_unknown_response_is_a_data_error():
    ds = _tiny_dataset()
    v = pd.DataFrame([_v("x-1", "x", "i1", "i1-x-1", "nope", "ab", "A")])
    with pytest.raises(DataError, match=r"verdicts.*response_a.*\[0\]"):
        sp.judgment_table(v, ds)


def test_descriptive_statistics_hand_computed():
    ds = _tiny_dataset()
    rows = []
    # judge x-1 (family x): i1 pair x-1 vs y-1 (x-1 correct): picks own x-1 both orders
    # i2 pair x-2 vs y-2 (x-2 wrong): picks own wrong x-2 in ab, y-2 in ba
    rows += [
        _v("x-1", "x", "i1", "i1-x-1", "i1-y-1", "ab", "A"),
        _v("x-1", "x", "i1", "i1-x-1", "i1-y-1", "ba", "B"),
    ]
    rows += [
        _v("x-1", "x", "i2", "i2-y-2", "i2-x-2", "ab", "B"),
        _v("x-1", "x", "i2", "i2-y-2", "i2-x-2", "ba", "B"),
    ]
    # judge y-1 (family y): i1 picks y-1 (own, wrong) once, x-1 once; i2 picks y-2 both
    rows += [
        _v("y-1", "y", "i1", "i1-x-1", "i1-y-1", "ab", "B"),
        _v("y-1", "y", "i1", "i1-x-1", "i1-y-1", "ba", "B"),
    ]
    rows += [
        _v("y-1", "y", "i2", "i2-y-2", "i2-x-2", "ab", "A"),
        _v("y-1", "y", "i2", "i2-y-2", "i2-x-2", "ba", "B"),
    ]
    v = pd.DataFrame(rows)
    jt = sp.judgment_table(v, ds)
    hp = sp.human_pair_table(ds)
    assert hp.set_index("item_id").loc["i1", "share_a"] == pytest.approx(2 / 3)
    assert (
        hp.set_index("item_id").loc["i2", "majority"] == "b"
    )  # canonical a = i2-x-2; humans chose y-2
    jx = "x-1|b|v"
    # harmful (x-1): wrong answers: i1 y-1 (other family) picked 0 of 2; i2 x-2 (own) picked 1 of 2
    h = sp.harmful_self_preference(jt, jx, n_boot=50)
    assert h["estimate"] == pytest.approx(0.5 - 0.0)
    # own-family win rate: x-1 gives family x 3 of 4 wins; the other family's judge y-1 gives 1 of 4
    e = sp.own_family_win_rate_excess(jt, hp, jx, n_boot=50)
    assert e["estimate"] == pytest.approx(0.75 - 0.25)
    # conditional self-bias (x-1): humans pick own on i1 -> judge picks own 2/2;
    # humans pick other on i2 -> judge picks other 1/2: 1 - 0.5
    c = sp.conditional_self_bias(jt, hp, jx, n_boot=50)
    assert c["estimate"] == pytest.approx(0.5)
    # length (y-1): i1 longer = y-1 (20 vs 10): judge picks it 1 of 2; humans 1 of 3.
    # i2 longer = x-2 (40 vs 30): judge picks y-2 (shorter) both: 0 of 2; humans 0 of 3.
    # judge 1/4, humans 1/6
    lb = sp.length_bias(jt, hp, "y-1|b|v", n_boot=50)
    assert lb["estimate"] == pytest.approx(1 / 4 - 1 / 6)
    m = sp.family_preference_matrix(jt, hp, tie_policy="half").set_index(
        ["judge_family", "generator_family"]
    )
    assert m.loc[("x", "x"), "judge_win_rate"] == pytest.approx(0.75)
    assert m.loc[("y", "y"), "judge_win_rate"] == pytest.approx(0.75)


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ModelWarning")
def test_conditional_logit_matches_statsmodels(demo):
    from statsmodels.discrete.conditional_models import ConditionalLogit

    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=90, seed=4)
    P = sim.PANELS["demo"]
    judges = [
        {"model": f"judgelab-sim/{n}", "sim": {**P[n], "tie_band": 0.0}}
        for n in ("aurora-max", "basalt-m", "cirrus-base")
    ]
    v = sim.sample_verdicts(pairs, resp, judges, seed=3)
    jt = sp.judgment_table(v, ds)
    frame, dropped = sp.logit_design(jt)
    names = [c for c in frame.columns if "|" in c]
    # one length and one quality column are collinear with the strata and must have been dropped
    assert sum(k.startswith("len|") and "collinear" in r for k, r in dropped.items()) == 1
    coefs = sp.fit_self_preference_logit(jt)
    model = ConditionalLogit(
        frame["y"].to_numpy(), frame[names].to_numpy(), groups=frame["strata"].to_numpy()
    )
    # statsmodels' default fit (BFGS, its tolerances) stops about 1e-3 short of the optimum here;
    # maximise statsmodels' likelihood with its analytic score by scipy's BFGS to a tight gradient
    from scipy.optimize import minimize

    opt = minimize(
        lambda t: -model.loglike(t),
        np.zeros(len(names)),
        jac=lambda t: -model.score(t),
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 10000},
    )
    ours = coefs.assign(name=coefs["term"] + "|" + coefs["judge"]).set_index("name")
    b = np.array([ours.at[n, "estimate"] for n in names], dtype=float)
    np.testing.assert_allclose(b, opt.x, atol=1e-5)
    assert np.max(np.abs(model.score(b))) < 1e-6
    assert model.loglike(b) >= model.loglike(opt.x) - 1e-9


def test_single_family_panel_is_not_estimated(demo):
    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=60, seed=5)
    P = sim.PANELS["demo"]
    judges = [
        {"model": f"judgelab-sim/{n}", "sim": P[n]}
        for n in ("cirrus-ultra", "cirrus-base", "cirrus-nano")
    ]
    v = sim.sample_verdicts(pairs, resp, judges, seed=0)
    f = sp.self_preference_findings(v, ds, n_boot=100)
    logit = f[
        f["id"].isin(
            ["self_preference_logit", "family_preference_logit", "lineage_preference_logit"]
        )
    ]
    assert len(logit) == 9
    assert logit["estimate"].isna().all()
    assert logit["reason"].str.contains("cannot be separated from the quality").all()
    assert logit["primary"].sum() == 3


def test_judge_without_self_pairs_has_family_term_primary(demo):
    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=120, seed=6)
    # an aurora judge that is not one of the generators: no self pairs
    judges = [
        {"model": "judgelab-sim/aurora-next", "sim": {"family": "aurora", "noise": 0.6}},
        {"model": "judgelab-sim/basalt-m", "sim": {"noise": 0.6}},
        {"model": "judgelab-sim/cirrus-base", "sim": {"noise": 0.6}},
    ]
    v = sim.sample_verdicts(pairs, resp, judges, seed=0)
    f = adjusted_findings(sp.self_preference_findings(v, ds, n_boot=100))
    prim = f[f["primary"].astype(bool)].set_index("judge")
    j = [k for k in prim.index if "aurora-next" in k][0]
    assert prim.at[j, "id"] == "family_preference_logit"
    s = f[(f["judge"] == j) & (f["id"] == "self_preference_logit")].iloc[0]
    assert pd.isna(s["estimate"]) and "own model" in s["reason"]
    assert set(prim["id"]) <= {"self_preference_logit", "family_preference_logit"}
    assert f["conclusion"].notna().all()


def test_score_difference_by_relation():
    ds = _tiny_dataset()
    ds.labels = pd.DataFrame(
        {
            "response_id": ["i1-x-1", "i1-x-1", "i1-x-1", "i1-y-1"],
            "rater_id": ["r1", "r2", "r3", "r1"],
            "score": [5, 6, 9, 4],
        }
    )
    v = pd.DataFrame(
        [
            dict(
                model="x-1",
                backend="b",
                judge_version="v",
                judge_family="x",
                protocol="single",
                item_id="i1",
                response_id="i1-x-1",
                score=8.0,
                parse_ok=True,
            ),
            dict(
                model="x-1",
                backend="b",
                judge_version="v",
                judge_family="x",
                protocol="single",
                item_id="i1",
                response_id="i1-y-1",
                score=3.0,
                parse_ok=True,
            ),
        ]
    )
    rows = {r["slice"]["subset"]: r for r in sp.score_difference(v, ds, n_boot=50)}
    assert rows["relation=self"]["estimate"] == pytest.approx(8 - 6)  # median of 5, 6, 9
    assert rows["relation=other"]["estimate"] == pytest.approx(3 - 4)


# ----------------------------------------------------------------- simulation checks
SIM_JUDGES = ("aurora-max", "basalt-m", "cirrus-nano")  # noise 0.35, 0.7, 1.3: unequal


def _sim_judges(panel, **override):
    P = sim.PANELS[panel]
    # no ties and no parse failures: every replicate then has the same rows (only y changes)
    return [
        {
            "model": f"judgelab-sim/{n}",
            "sim": {**P[n], "tie_band": 0.0, "parse_failure_rate": 0.0, **override.get(n, {})},
        }
        for n in SIM_JUDGES
    ]


def _self_pvalues(ds, resp, judges, pairs, seeds):
    """Self-term estimate and p per judge and replicate: the design is built once by
    judgment_table / logit_design (same rows in every replicate), y redrawn per seed."""
    from judgelab.stats.models import conditional_logit

    v0 = sim.sample_verdicts(pairs, resp, judges, seed=seeds[0])
    jt = sp.judgment_table(v0, ds)
    frame, _ = sp.logit_design(jt)
    names = [c for c in frame.columns if "|" in c]
    X = frame[names]
    self_cols = [c for c in names if c.startswith("self|")]
    out = []
    for s in seeds:
        v = sim.sample_verdicts(pairs, resp, judges, seed=s)
        assert (v["response_a"].to_numpy() == v0["response_a"].to_numpy()).all()
        jt_s = jt.copy()
        jt_s["pick_a"] = (
            sp.judgment_table(v, ds)["pick_a"].to_numpy() if s == seeds[0] else _pick_a(v, jt)
        )
        y = jt_s["pick_a"].to_numpy()
        res = conditional_logit(y, X, frame["strata"].to_numpy(), frame["cluster"].to_numpy())
        for c in self_cols:
            out.append((s, c, res.params[c], res.pvalues[c]))
    return pd.DataFrame(out, columns=["seed", "term", "estimate", "p"])


def _pick_a(v, jt):
    """Independent re-derivation of pick_a from the displayed choice (no ties, all parsed)."""
    shown_first_won = v["choice"].to_numpy() == "A"
    return np.where(jt["first_a"].to_numpy() == 1, shown_first_won, ~shown_first_won).astype(float)


@pytest.mark.slow
def test_null_self_term_rejects_at_nominal_rate(demo):
    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=150, seed=7)
    res = _self_pvalues(ds, resp, _sim_judges("null"), pairs, list(range(167)))
    res = res.iloc[:500]
    assert len(res) == 500
    # STATISTICS.md: conditional-logit tests, 500 replicates, <= 40 rejections at alpha 0.05
    assert (res["p"] < 0.05).sum() <= 40


@pytest.mark.slow
def test_planted_self_preference_on_worse_family_is_found(demo):
    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=300, seed=8)
    judges = _sim_judges("null", **{"cirrus-nano": {"self_preference": 1.0}})
    res = _self_pvalues(ds, resp, judges, pairs, list(range(20)))
    nano = res[res["term"].str.contains("cirrus-nano")]
    assert (nano["estimate"] > 0).all()
    assert (nano["p"] < 0.05).mean() >= 0.8
    others = res[~res["term"].str.contains("cirrus-nano")]
    assert (others["p"] < 0.05).mean() <= 0.2


@pytest.mark.slow
def test_demo_panel_findings_flag_the_planted_cirrus_judges(demo):
    """The demo panel plants self-preference on cirrus (the worst family): the right judges
    are flagged with a positive sign, and no aurora / basalt judge gets a significant self term."""
    ds, resp = demo
    pairs = ds.pairs("human")
    v = sim.sample_verdicts(pairs, resp, sim.panel("demo"), seed=0)
    f = adjusted_findings(sp.self_preference_findings(v, ds, n_boot=200))
    prim = f[f["primary"].astype(bool)].assign(
        model=lambda d: d["judge"].str.split("|").str[0].str.replace("judgelab-sim/", "")
    )
    prim = prim.set_index("model")
    assert set(prim["id"]) == {"self_preference_logit"}
    for m in ("cirrus-base", "cirrus-nano"):
        assert prim.at[m, "estimate"] > 0 and prim.at[m, "p_adjusted"] < 0.05, m
    for m in ("aurora-lite", "aurora-plus", "basalt-xl", "basalt-m", "basalt-s"):
        assert prim.at[m, "p_adjusted"] >= 0.05, m
    assert {
        "harmful_self_preference",
        "own_family_win_rate_excess",
        "conditional_self_bias",
        "length_bias",
    } <= set(f["id"])
