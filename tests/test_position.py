"""judgelab.stats.position: hand-computed tables, independent references (scipy,
statsmodels, a naive loop), and simulation checks with judgelab.sim.sample_verdicts."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from judgelab.data import DataError
from judgelab.findings import adjusted_findings
from judgelab.stats import position as pos


def _frame(rows):
    """rows: (judge, item, pair, choice_ab, choice_ba[, sample]) -> tidy verdict frame."""
    out = []
    for r in rows:
        judge, item, pair, cab, cba = r[:5]
        sample = r[5] if len(r) > 5 else 0
        for order, c in (("ab", cab), ("ba", cba)):
            if c == "-":
                continue
            out.append(
                dict(
                    model=judge,
                    backend="b",
                    judge_version="v",
                    judge_family="f",
                    protocol="pairwise",
                    item_id=item,
                    response_a=f"{item}-{pair}a",
                    response_b=f"{item}-{pair}b",
                    order=order,
                    sample=sample,
                    choice=None if c == "x" else c,
                    parse_ok=c != "x",
                )
            )
    return pd.DataFrame(out)


EXPECTED = {
    ("A", "B"): "consistent",
    ("B", "A"): "consistent",
    ("tie", "tie"): "consistent",
    ("A", "A"): "primacy",
    ("A", "tie"): "primacy",
    ("tie", "A"): "primacy",
    ("B", "B"): "recency",
    ("B", "tie"): "recency",
    ("tie", "B"): "recency",
}


def test_classification_of_all_nine_choice_pairs():
    rows = [("m", f"i{k}", "p", a, b) for k, (a, b) in enumerate(EXPECTED)]
    c = pos.classify_pairs(_frame(rows)).set_index("item_id")
    for k, key in enumerate(EXPECTED):
        assert c.at[f"i{k}", "cls"] == EXPECTED[key], key
        w = c.loc[f"i{k}", ["w_consistent", "w_primacy", "w_recency"]].to_numpy(dtype=float)
        assert w.sum() == 1 and set(w) <= {0.0, 1.0}


def test_excluded_pairs_and_denominators():
    rows = [
        ("m", "i1", "p", "A", "B"),
        ("m", "i1", "q", "A", "A"),
        ("m", "i2", "p", "A", "-"),  # ba missing
        ("m", "i3", "p", "x", "B"),  # ab unparsed
        ("m", "i4", "p", "B", "B"),
    ]
    c = pos.classify_pairs(_frame(rows))
    assert c["cls"].notna().sum() == 3
    reasons = c.set_index("item_id")["reason"]
    assert "ba" in reasons["i2"] and "ab" in reasons["i3"]
    t = pos.position_consistency(_frame(rows)).iloc[0]
    assert (t.n_pairs, t.n_consistent, t.n_primacy, t.n_recency, t.n_excluded) == (3, 1, 1, 1, 2)
    assert t.position_consistency == pytest.approx(1 / 3)
    assert t.first_slot_share == pytest.approx(0.5)
    assert t.preference_fairness == pytest.approx(0.0)


def test_repeats_are_averaged_within_pair_and_order():
    # ab: A, A, B (p_A = 2/3, p_B = 1/3); ba: A, tie (p_A = 1/2, p_C = 1/2)
    rows = [("m", "i", "p", "A", "A", 0), ("m", "i", "p", "A", "tie", 1)]
    f = _frame(rows)
    f = pd.concat([f, _frame([("m", "i", "p", "B", "-", 2)])], ignore_index=True)
    c = pos.classify_pairs(f).iloc[0]
    pa, pb, pc = 2 / 3, 1 / 3, 0.0
    qa, qb, qc = 0.5, 0.0, 0.5
    assert c.w_consistent == pytest.approx(pa * qb + pb * qa + pc * qc)
    assert c.w_primacy == pytest.approx(pa * qa + pa * qc + pc * qa)
    assert c.w_recency == pytest.approx(pb * qb + pb * qc + pc * qb)
    assert (c.n_ab, c.n_ba) == (3, 2)


def _naive_counts(v: pd.DataFrame) -> dict:
    """Independent reference: a plain loop over single-sample pairs."""
    out = {}
    for (judge, _item, _a, _b), g in v.groupby(["model", "item_id", "response_a", "response_b"]):
        d = {o: gg["choice"].iloc[0] for o, gg in g.groupby("order") if gg["parse_ok"].iloc[0]}
        if set(d) != {"ab", "ba"}:
            continue
        key = (d["ab"], d["ba"])
        cls = EXPECTED[key]
        out.setdefault(judge, {"consistent": 0, "primacy": 0, "recency": 0})[cls] += 1
    return out


def test_counts_match_naive_loop_on_random_frames():
    rng = np.random.default_rng(3)
    choices = ["A", "B", "tie", "x", "-"]
    rows = []
    for j in ("m1", "m2"):
        for i in range(40):
            for p in range(3):
                rows.append(
                    (j, f"i{i}", f"p{p}", *rng.choice(choices, 2, p=[0.4, 0.35, 0.1, 0.1, 0.05]))
                )
    v = _frame(rows)
    ref = _naive_counts(v)
    t = pos.position_consistency(v).set_index("model")
    for j, r in ref.items():
        assert t.at[j, "n_consistent"] == r["consistent"]
        assert t.at[j, "n_primacy"] == r["primacy"]
        assert t.at[j, "n_recency"] == r["recency"]
        n = sum(r.values())
        pc, fss = r["consistent"] / n, r["primacy"] / (r["primacy"] + r["recency"])
        # preference_fairness = (1 - PC)(1 - 2 first_slot_share) (STATISTICS.md)
        assert t.at[j, "preference_fairness"] == pytest.approx((1 - pc) * (1 - 2 * fss), abs=1e-12)


def test_bad_input_names_table_column_rows():
    v = _frame([("m", "i", "p", "A", "B")])
    v.loc[1, "order"] = "xy"
    with pytest.raises(DataError, match=r"verdicts.*order.*\[1\]"):
        pos.classify_pairs(v)
    with pytest.raises(DataError, match="choice"):
        pos.classify_pairs(_frame([("m", "i", "p", "A", "B")]).drop(columns="choice"))


def test_sign_flip_p_matches_exact_binomial_with_one_pair_per_item():
    # one inconsistent pair per item: the sign-flip test of the +-1 values is the exact
    # two-sided binomial test of primacy vs recency (scipy), up to Monte Carlo error
    rows = [("m", f"i{k}", "p", "A", "A") for k in range(40)] + [
        ("m", f"j{k}", "p", "B", "B") for k in range(22)
    ]
    f = pos.position_findings(_frame(rows), n_boot=200, n_perm=9999, seed=1)
    r = f[f["id"] == "first_slot_share"].iloc[0]
    exact = stats.binomtest(40, 62, 0.5).pvalue
    assert r["estimate"] == pytest.approx(40 / 62)
    assert r["p_value"] == pytest.approx(exact, abs=0.006)
    assert r["primary"]


def test_undefined_first_slot_share_is_null_with_reason():
    rows = [("m", f"i{k}", "p", "A", "B") for k in range(35)]
    f = pos.position_findings(_frame(rows), n_boot=100, n_perm=99)
    r = f.set_index("id").loc["first_slot_share"]
    assert pd.isna(r["estimate"]) and "inconsistent" in r["reason"]
    assert f.set_index("id").loc["position_consistency", "estimate"] == 1.0
    rs = f.set_index("id").loc["repetition_stability"]
    assert pd.isna(rs["estimate"]) and "repeats" in rs["reason"]


def test_repetition_stability_hand_computed():
    # (pair, order) with r = 3 repeats: choices A, A, B -> (2*1 + 0) / (3*2) = 1/3
    # another with A, A, A -> 1; mean = 2/3
    rows = [
        ("m", "i", "p", "A", "A", 0),
        ("m", "i", "p", "A", "A", 1),
        ("m", "i", "p", "B", "A", 2),
    ]
    f = pos.position_findings(_frame(rows), n_boot=50, n_perm=99)
    assert f.set_index("id").loc["repetition_stability", "estimate"] == pytest.approx(2 / 3)


def test_flip_vs_gap_slope_matches_statsmodels_gee():
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    rows, gaps = [], {}
    for i in range(80):
        for p in range(2):
            g = rng.uniform(0, 6)
            flip = rng.random() < 1 / (1 + np.exp(-(0.5 - 0.6 * g)))
            rows.append(("m", f"i{i}", f"p{p}", "A", "A" if flip else "B"))
            gaps[(f"i{i}-p{p}a", f"i{i}-p{p}b")] = g
    v = _frame(rows)
    labels = []
    for (a, b), g in gaps.items():
        labels += [
            dict(response_id=a, rater_id="r1", score=5 + g),
            dict(response_id=b, rater_id="r1", score=5.0),
        ]

    DS = SimpleNamespace(labels=pd.DataFrame(labels), preferences=None)

    f = pos.position_findings(v, DS, n_boot=50, n_perm=99).set_index("id")
    est = f.loc["flip_vs_gap_slope", "estimate"]
    fg = pos.flip_vs_gap(v, DS).sort_values("item_id", kind="stable")
    model = sm.GEE(
        fg["inconsistent"].to_numpy(),
        sm.add_constant(fg["gap"].to_numpy()),
        groups=pd.factorize(fg["item_id"])[0],
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
    )
    ref = model.fit().params[1]
    assert est == pytest.approx(ref, rel=1e-6)
    assert est < 0
    assert "scores" in f.loc["flip_vs_gap_slope", "method"]
    curves = pos.flip_vs_gap_curves(v, DS)
    assert (curves["ci_low"] <= curves["p"]).all() and (curves["p"] <= curves["ci_high"]).all()


# ----------------------------------------------------------------- simulation checks
@pytest.fixture(scope="module")
def demo():
    import judgelab as jl
    from judgelab import sim

    ds = jl.load_dataset("demo")
    return ds, sim.responses_frame(ds)


def _replicate_ps(verdicts: pd.DataFrame, n_perm=999) -> np.ndarray:
    """First-slot-share sign-flip p per replicate judge (one judge name per replicate)."""
    from judgelab.stats.resampling import sign_flip_test

    c = pos.classify_pairs(verdicts)
    c = c[c["cls"].notna()]
    diff = (c["w_primacy"] - c["w_recency"]).groupby([c["judge"], c["item_id"]]).sum()
    return np.array(
        [
            sign_flip_test(g.to_numpy(), n_perm=n_perm, seed=k).p_value
            for k, (_, g) in enumerate(diff.groupby(level=0))
        ]
    )


def test_null_first_slot_share_rejects_at_nominal_rate(demo):
    from judgelab import sim

    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=100, seed=1)
    # 1,000 null replicates: 1,000 judges (own uniforms each), unequal noise and ties, no position bias
    noise = np.tile([0.4, 0.8, 1.3, 1.0], 250)
    judges = [
        {"model": f"judgelab-sim/null{k}", "sim": {"noise": float(noise[k]), "tie_band": 0.2}}
        for k in range(1000)
    ]
    v = sim.sample_verdicts(pairs, resp, judges, seed=0)
    p = _replicate_ps(v)
    assert len(p) == 1000
    assert (p < 0.05).sum() <= 72  # STATISTICS.md: size <= 0.05 passes with probability >= 0.999


def test_planted_position_bias_is_found(demo):
    from judgelab import sim

    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=100, seed=2)
    judges = [
        {
            "model": f"judgelab-sim/pb{k}",
            "sim": {"noise": 1.0, "position_bias": 1.0, "tie_band": 0.2},
        }
        for k in range(200)
    ]
    p = _replicate_ps(sim.sample_verdicts(pairs, resp, judges, seed=0))
    assert (p < 0.01).mean() >= 0.95


def test_findings_order_planted_biases(demo):
    from judgelab import sim

    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=200, seed=3)
    judges = [
        {"model": "judgelab-sim/low", "sim": {"noise": 0.8, "position_bias": 0.5}},
        {"model": "judgelab-sim/high", "sim": {"noise": 0.8, "position_bias": 1.5}},
        {"model": "judgelab-sim/none", "sim": {"noise": 0.8}},
    ]
    v = sim.sample_verdicts(pairs, resp, judges, seed=0)
    # adjusted and concluded as the save step does
    f = adjusted_findings(pos.position_findings(v, ds, n_boot=300, n_perm=1999, seed=0))
    pc = f[f["id"] == "position_consistency"].set_index("model")["estimate"]
    fss = f[f["id"] == "first_slot_share"].set_index("model")
    assert pc["judgelab-sim/high"] < pc["judgelab-sim/low"] < pc["judgelab-sim/none"] + 0.05
    assert fss.loc["judgelab-sim/high", "p_adjusted"] < 0.01
    assert fss.loc["judgelab-sim/high", "estimate"] > 0.8
    assert fss.loc["judgelab-sim/none", "p_adjusted"] >= 0.005
    assert (
        pd.notna(fss.loc["judgelab-sim/none", "mde"])
        or fss.loc["judgelab-sim/none", "p_adjusted"] < 0.05
    )
    assert pd.isna(fss.loc["judgelab-sim/high", "mde"])  # an MDE only beside a non-significant test
    assert set(f["id"]) == set(pos.POSITION_IDS)
    assert f["conclusion"].notna().all()
    slope = f[f["id"] == "flip_vs_gap_slope"].set_index("model")["estimate"]
    assert slope["judgelab-sim/high"] < 0  # close calls flip more often


def test_all_classes_enumerated():
    assert len(EXPECTED) == len(list(itertools.product(["A", "B", "tie"], repeat=2)))


def test_flip_vs_gap_with_repeats_uses_fractional_inconsistency():
    import statsmodels.api as sm

    rng = np.random.default_rng(9)
    rows, labels = [], []
    for i in range(60):
        g = rng.uniform(0, 5)
        p_flip = 1 / (1 + np.exp(-(0.3 - 0.7 * g)))
        for s in range(3):
            rows.append(("m", f"i{i}", "p", "A", "A" if rng.random() < p_flip else "B", s))
        labels += [
            dict(response_id=f"i{i}-pa", rater_id="r", score=5 + g),
            dict(response_id=f"i{i}-pb", rater_id="r", score=5.0),
        ]
    ds = SimpleNamespace(labels=pd.DataFrame(labels), preferences=None)
    v = _frame(rows)
    fg = pos.flip_vs_gap(v, ds)
    assert not set(np.unique(fg["inconsistent"])) <= {0.0, 1.0}  # repeats averaged
    f = pos.position_findings(v, ds, n_boot=50, n_perm=99).set_index("id")
    ref = sm.GEE(
        fg["inconsistent"].to_numpy(),
        sm.add_constant(fg["gap"].to_numpy()),
        groups=pd.factorize(fg["item_id"])[0],
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
    ).fit()
    assert f.loc["flip_vs_gap_slope", "estimate"] == pytest.approx(ref.params[1], rel=1e-6)
    assert f.loc["repetition_stability", "estimate"] is not None
