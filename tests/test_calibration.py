"""Calibration audit statistics (judgelab.stats.calibration) against independent references.

scikit-learn (accuracy, Cohen / weighted kappa, macro-F1) and scipy (Spearman, Kendall tau-b)
on random inputs; the bootstrap closed forms for rank correlations against scipy on explicitly
resampled data; hand-made tables for the human ceiling and the alternative-annotator gap;
degenerate inputs give None with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sstats
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

from judgelab.data import DataError, Dataset
from judgelab.datasets import load_dataset
from judgelab.stats import agreement as agr
from judgelab.stats import calibration as cal
from judgelab.stats.calibration._common import Resampling
from judgelab.stats.queue import CASE_COLUMNS, QUEUE_COLUMNS, escalation_queue, low_margin
from judgelab.stats.reference import coded_votes, reference_labels

# ----------------------------------------------------------------------------- helpers


def _conf(ref, lab, w, k):
    c = np.zeros((k, k))
    np.add.at(c, (ref, lab), w)
    return c.reshape(1, -1)


def _toy_dataset(n_items=4, votes=None, scale=None, labels=None, fams=("fa", "fb")):
    """Items with two responses each (families fa / fb) and the given preference votes."""
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "prompt": "p",
            "category": ["c1", "c2"] * (n_items // 2) + ["c1"] * (n_items % 2),
        }
    )
    resp = []
    for i in range(n_items):
        for k, f in enumerate(fams):
            resp.append(
                {
                    "response_id": f"i{i}-r{k}",
                    "item_id": f"i{i}",
                    "generator": f"g{k}",
                    "family": f,
                    "text": "t",
                }
            )
    return Dataset(
        name="toy",
        items=items,
        responses=pd.DataFrame(resp),
        preferences=votes,
        labels=labels,
        scale=scale,
    )


def _votes(table):
    """{item index: [vote of r1, r2, r3 ...]} with votes 'a' (r0 wins), 'b', 'tie' -> preferences."""
    rows = []
    for i, vs in table.items():
        for h, v in enumerate(vs):
            rows.append(
                {
                    "item_id": f"i{i}",
                    "response_a": f"i{i}-r0",
                    "response_b": f"i{i}-r1",
                    "rater_id": f"r{h + 1}",
                    "preference": v,
                }
            )
    return pd.DataFrame(rows)


def _verdicts(choices, model="m", version="v1", orders=("ab",)):
    """Pairwise verdict rows: choices[i] = winner code per order ('a' = r0 wins, 'b', 'tie')."""
    rows = []
    for i, cs in choices.items():
        cs = cs if isinstance(cs, list | tuple) else [cs]
        for order, c in zip(orders, cs):
            a, b = f"i{i}-r0", f"i{i}-r1"
            win = {"a": a, "b": b, "tie": "tie"}[c]
            rows.append(
                dict(
                    model=model,
                    backend="x",
                    judge_version=version,
                    judge_family="f",
                    protocol="pairwise",
                    item_id=f"i{i}",
                    response_a=a,
                    response_b=b,
                    response_id=None,
                    order=order,
                    sample=0,
                    choice=None,
                    winner=win,
                    score=None,
                    parse_ok=True,
                )
            )
    return pd.DataFrame(rows)


# ------------------------------------------------------------ statistics of totals


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 4),
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.floats(0.1, 3.0)),
        min_size=2,
        max_size=40,
    ),
)
def test_confusion_statistics_equal_sklearn(k, rows):
    ref = np.array([r[0] % k for r in rows])
    lab = np.array([r[1] % k for r in rows])
    w = np.array([r[2] for r in rows])
    t = _conf(ref, lab, w, k)
    assert agr.accuracy_from_totals(t, k)[0] == pytest.approx(
        accuracy_score(ref, lab, sample_weight=w), abs=1e-9
    )
    f1 = f1_score(ref, lab, average="macro", sample_weight=w, zero_division=0)
    assert agr.macro_f1_from_totals(t, k)[0] == pytest.approx(f1, abs=1e-9)
    kap = agr.kappa_from_totals(t, k)[0]
    with np.errstate(all="ignore"):
        ref_kap = cohen_kappa_score(ref, lab, sample_weight=w)
    if np.isnan(ref_kap) or len(set(ref) | set(lab)) == 1:
        assert np.isnan(kap)
    else:
        assert kap == pytest.approx(ref_kap, abs=1e-9)
    wk = agr.kappa_from_totals(t, k, "quadratic")[0]
    with np.errstate(all="ignore"):
        ref_wk = cohen_kappa_score(
            ref, lab, weights="quadratic", labels=np.arange(k), sample_weight=w
        )
    if np.isnan(ref_wk) or len(set(ref) | set(lab)) == 1:
        assert np.isnan(wk)
    else:
        assert wk == pytest.approx(ref_wk, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=3, max_size=40))
def test_rank_correlations_equal_scipy(pairs):
    """With every unit weighted once, the bootstrap closed forms are plain tau-b and rho:
    scipy's, and judgelab.stats.agreement's (the one public implementation)."""
    x = np.array([p[0] for p in pairs], float)
    y = np.array([p[1] for p in pairs], float)
    codes = np.arange(len(x))
    ones = np.ones((1, len(x)))
    stats = agr.rank_correlation_statistics(x, y, codes, len(x))
    tau = stats["kendall_tau"](ones)[0]
    rho = stats["spearman"](ones)[0]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert np.isnan(tau) and np.isnan(rho)
        return
    assert tau == pytest.approx(sstats.kendalltau(x, y).statistic, abs=1e-9)
    assert rho == pytest.approx(sstats.spearmanr(x, y).statistic, abs=1e-9)
    assert tau == pytest.approx(agr.kendall_tau_score(x, y), abs=1e-9)
    assert rho == pytest.approx(agr.spearman_score(x, y), abs=1e-9)


def test_kendall_tau_b_rows_equals_scipy_per_row():
    """The row-wise tau-b of the generator ranking (one ranking per resample) is scipy's tau-b."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4, (15, 6)).astype(float)
    b = rng.integers(0, 4, (15, 6)).astype(float)
    a[0] = 1.0  # a constant row: undefined
    got = agr.kendall_tau_b_rows(a, b)
    assert np.isnan(got[0])
    for r in range(1, len(a)):
        ref = sstats.kendalltau(a[r], b[r]).statistic
        assert got[r] == pytest.approx(ref, abs=1e-12, nan_ok=True)


def test_bootstrap_rank_correlations_equal_scipy_on_resampled_items():
    """The closed forms in the item multiplicities equal scipy on the explicitly expanded resample."""
    rng = np.random.default_rng(3)
    n_items = 12
    sizes = rng.integers(1, 5, n_items)
    codes = np.repeat(np.arange(n_items), sizes)
    x = rng.integers(1, 6, len(codes)).astype(float)
    y = (x + rng.integers(-2, 3, len(codes))).astype(float)
    stats = agr.rank_correlation_statistics(x, y, codes, n_items)
    W = rng.multinomial(n_items, np.ones(n_items) / n_items, size=20).astype(float)
    tau = stats["kendall_tau"](W)
    rho = stats["spearman"](W)
    for r in range(len(W)):
        rows = np.concatenate(
            [np.repeat(np.flatnonzero(codes == i), int(W[r, i])) for i in range(n_items)]
        )
        assert tau[r] == pytest.approx(sstats.kendalltau(x[rows], y[rows]).statistic, abs=1e-9)
        assert rho[r] == pytest.approx(sstats.spearmanr(x[rows], y[rows]).statistic, abs=1e-9)


# ------------------------------------------------------------------ pairwise agreement


def test_pairwise_agreement_equals_sklearn_on_random_frame():
    rng = np.random.default_rng(7)
    n = 40
    votes = _votes(
        {i: list(rng.choice(["a", "b", "tie"], p=[0.5, 0.4, 0.1], size=3)) for i in range(n)}
    )
    ds = _toy_dataset(n, votes=votes)
    choices = {
        i: list(rng.choice(["a", "b", "tie"], p=[0.5, 0.35, 0.15], size=2)) for i in range(n)
    }
    v = _verdicts(choices, orders=("ab", "ba"))
    f = cal.pairwise_agreement(v, ds, by_slice=False, n_boot=50)
    # independent reference: majority by Counter, per-call rows, sklearn
    code = {"a": 0, "b": 1, "tie": 2}
    ref, lab = [], []
    n_nomaj = 0
    for i in range(n):
        vs = votes[votes["item_id"] == f"i{i}"]["preference"].tolist()
        top = max(set(vs), key=vs.count)
        if vs.count(top) * 2 <= len(vs):
            n_nomaj += 1
            continue
        for c in choices[i]:
            ref.append(code[top])
            lab.append(code[c])
    got = dict(zip(f["id"], f["estimate"]))
    assert got["accuracy"] == pytest.approx(accuracy_score(ref, lab), abs=1e-9)
    assert got["cohen_kappa"] == pytest.approx(cohen_kappa_score(ref, lab), abs=1e-9)
    assert got["macro_f1"] == pytest.approx(f1_score(ref, lab, average="macro"), abs=1e-9)
    assert f["n"].iloc[0] == n - n_nomaj
    assert f["n_excluded"].iloc[0] == n_nomaj  # pairs without a majority are excluded and counted


def test_order_aggregation_and_tie_policy():
    votes = _votes({0: ["a"] * 3, 1: ["b"] * 3, 2: ["a"] * 3, 3: ["tie"] * 3})
    ds = _toy_dataset(4, votes=votes)
    v = _verdicts(
        {0: ["a", "a"], 1: ["a", "b"], 2: ["a", "tie"], 3: ["tie", "tie"]}, orders=("ab", "ba")
    )
    units, _ = cal.pairwise_units(v, "consistent_only")
    assert units.sort_values("item_id")["label"].tolist() == [
        0,
        2,
        2,
        2,
    ]  # inconsistent orders -> tie
    units, ex = cal.pairwise_units(v, "first_order")
    assert len(units) == 4 and ex["order_ba"] == 4
    units, ex = cal.pairwise_units(v, "per_call", "drop")
    assert ex["tie_verdict"] == 3 and (units["label"] != 2).all()
    f = cal.pairwise_agreement(v, ds, tie_policy="drop", by_slice=False, n_boot=20)
    # drop: item 3 (tie reference) and every tie verdict go; left: i0 a,a vs a; i1 a,b vs b; i2 a vs a
    assert dict(zip(f["id"], f["estimate"]))["accuracy"] == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="half"):
        cal.pairwise_agreement(v, ds, tie_policy="half")
    with pytest.raises(ValueError, match="order_aggregation"):
        cal.pairwise_units(v, "both")


def test_repeats_share_one_weight():
    v = pd.concat([_verdicts({0: "a"}), _verdicts({0: "b"}).assign(sample=1), _verdicts({1: "a"})])
    units, _ = cal.pairwise_units(v)
    w = units.groupby("item_id")["weight"].sum()
    assert w["i0"] == pytest.approx(1.0) and w["i1"] == pytest.approx(1.0)


# --------------------------------------------------------- human ceiling and AAG


def test_human_ceiling_on_hand_made_table():
    # unit 0: a, a, b -> 2 of 6 ordered rater pairs agree; unit 1: a, a, a -> 6 of 6; unit 2: a, b, tie -> 0 of 6
    ds = _toy_dataset(
        3, votes=_votes({0: ["a", "a", "b"], 1: ["a", "a", "a"], 2: ["a", "b", "tie"]})
    )
    f = cal.human_ceiling(ds, n_boot=50)
    assert f["estimate"].iloc[0] == pytest.approx(8 / 18)
    assert pd.isna(f["ci_low"].iloc[0]) and "items" in f["reason"].iloc[0]  # 3 items < 30: no CI
    # pooled rater-pair table: Cohen kappa of the symmetric table
    table = (
        [("a", "a")] * 8
        + [("a", "b")] * 3
        + [("b", "a")] * 3
        + [("a", "tie")] * 1
        + [("tie", "a")] * 1
        + [("b", "tie")] * 1
        + [("tie", "b")] * 1
    )
    assert f["kappa"].iloc[0] == pytest.approx(
        cohen_kappa_score([t[0] for t in table], [t[1] for t in table])
    )
    drop = cal.human_ceiling(ds, tie_policy="drop", n_boot=20)
    assert drop["estimate"].iloc[0] == pytest.approx(8 / 14)  # unit 2 keeps a, b: 2 pairs, 0 agree


def test_human_vote_agreement_pools_like_the_ceiling():
    ds = _toy_dataset(2, votes=_votes({0: ["a", "a", "b"], 1: ["b", "b", "b"]}))
    v = _verdicts({0: ["a", "b"], 1: ["b", "b"]}, orders=("ab", "ba"))
    f = cal.human_vote_agreement(v, ds, n_boot=20)
    # unit 0: judge a (w 1), b (w 1) vs votes a, a, b: 2 + 1 = 3 of 6; unit 1: 6 of 6
    assert f["estimate"].iloc[0] == pytest.approx(9 / 12)


def test_alternative_annotator_gap_constructed_case():
    votes = _votes({0: ["a", "a", "a"], 1: ["a", "a", "b"], 2: ["b", "b", "b"], 3: ["a", "b", "b"]})
    ds = _toy_dataset(4, votes=votes)
    v = _verdicts({0: "a", 1: "a", 2: "b", 3: "b"})
    f = cal.alternative_annotator_gap(v, ds, n_boot=20)
    # r1: others agree on units 0, 2, 3: judge 3/3, r1 2/3 -> 1/3; r2: units 0, 2: 0; r3: units 0, 1, 2: 1 - 2/3
    assert f["estimate"].iloc[0] == pytest.approx((1 / 3 + 0 + 1 / 3) / 3)
    per = __import__("json").loads(f["per_rater"].iloc[0])
    assert per == pytest.approx({"r1": 1 / 3, "r2": 0.0, "r3": 1 / 3})
    # a judge that always disagrees with the others is far below a human
    bad = cal.alternative_annotator_gap(_verdicts({0: "b", 1: "b", 2: "a", 3: "a"}), ds, n_boot=20)
    assert bad["estimate"].iloc[0] < -0.5


def test_alternative_annotator_gap_needs_two_raters():
    ds = _toy_dataset(2, votes=_votes({0: ["a"], 1: ["b"]}))
    f = cal.alternative_annotator_gap(_verdicts({0: "a", 1: "b"}), ds, n_boot=20)
    assert pd.isna(f["estimate"].iloc[0]) and "2 human raters" in f["reason"].iloc[0]


# -------------------------------------------------------------- degenerate inputs


def test_degenerate_inputs_give_none_with_reason():
    ds = _toy_dataset(3, votes=_votes({i: ["a"] * 3 for i in range(3)}))
    v = _verdicts({i: "a" for i in range(3)})
    f = cal.pairwise_agreement(v, ds, by_slice=False, n_boot=20)
    kap = f[f["id"] == "cohen_kappa"].iloc[0]
    assert pd.isna(kap["estimate"]) and kap["reason"]  # p_e = 1: kappa undefined
    assert f[f["id"] == "accuracy"]["estimate"].iloc[0] == 1.0
    # no verdicts of the protocol at all
    out = cal.audit(v, ds, protocol="single", n_boot=20)
    assert pd.isna(out["estimate"].iloc[0]) and "no single verdicts" in out["reason"].iloc[0]
    # no human majority anywhere
    ds2 = _toy_dataset(2, votes=_votes({0: ["a", "b", "tie"], 1: ["a", "b", "tie"]}))
    f2 = cal.pairwise_agreement(_verdicts({0: "a", 1: "b"}), ds2, by_slice=False, n_boot=20)
    assert f2["estimate"].isna().all() and f2["reason"].str.contains("majority").all()
    assert f2["n_excluded"].iloc[0] == 2
    # constant scores: rank correlations undefined
    lab = pd.DataFrame(
        {
            "response_id": [f"i{i}-r{k}" for i in range(3) for k in range(2)] * 2,
            "rater_id": ["r1"] * 6 + ["r2"] * 6,
            "score": [3] * 12,
        }
    )
    ds3 = _toy_dataset(3, labels=lab, scale=(1, 5))
    sv = pd.DataFrame(
        {
            "model": "m",
            "backend": "x",
            "judge_version": "v",
            "protocol": "single",
            "item_id": [f"i{i}" for i in range(3) for _ in range(2)],
            "response_id": [f"i{i}-r{k}" for i in range(3) for k in range(2)],
            "score": 4.0,
            "parse_ok": True,
        }
    )
    f3 = cal.score_agreement(sv, ds3, by_slice=False, n_boot=20)
    ranks = f3[f3["id"].isin(["spearman", "kendall_tau"])]
    assert ranks["estimate"].isna().all() and ranks["reason"].notna().all()
    wk = f3[f3["id"] == "weighted_kappa"]["estimate"].iloc[
        0
    ]  # defined (0): disagreement weights E > 0
    assert wk == pytest.approx(
        cohen_kappa_score([3] * 6, [4] * 6, weights="quadratic", labels=[1, 2, 3, 4, 5])
    )


def test_missing_column_is_a_data_error():
    with pytest.raises(DataError, match="response_b"):
        cal.pairwise_units(_verdicts({0: "a"}).drop(columns="response_b"))
    votes = _votes({0: ["a", "x"], 1: ["b", "b"]})
    bad = _toy_dataset(2, votes=votes)
    with pytest.raises(DataError, match=r"table 'preferences', column 'preference'.*rows \[1\]"):
        cal.human_votes_pairwise(bad)


# ------------------------------------------------------------------------- gate


def _metrics(kappa, kappa_lo, f1, f1_lo):
    return pd.DataFrame(
        [
            {
                "id": "cohen_kappa",
                "slice": None,
                "estimate": kappa,
                "ci_low": kappa_lo,
                "ci_high": None,
            },
            {"id": "macro_f1", "slice": None, "estimate": f1, "ci_low": f1_lo, "ci_high": None},
        ]
    )


def test_gate_levels_and_conclusions():
    g = cal.gate(_metrics(0.8, 0.77, 0.9, 0.86))
    assert (
        g["estimate"].iloc[0] == 2
        and g["established"].iloc[0]
        and "established" in g["conclusion"].iloc[0]
    )
    g = cal.gate(_metrics(0.8, 0.70, 0.9, 0.86))
    assert (
        g["estimate"].iloc[0] == 2
        and not g["established"].iloc[0]
        and "only support warn" in g["conclusion"].iloc[0]
    )
    assert cal.gate(_metrics(0.8, 0.7, 0.80, 0.7))["estimate"].iloc[0] == 1  # F1 below 0.85: warn
    assert cal.gate(_metrics(0.5, 0.4, 0.9, 0.9))["estimate"].iloc[0] == 0
    ceiling = pd.DataFrame([{"id": "human_ceiling", "estimate": 0.8, "kappa": 0.65}])
    g = cal.gate(_metrics(0.8, 0.77, 0.9, 0.86), ceiling=ceiling)
    assert "cannot meet" in g["conclusion"].iloc[0]
    g = cal.gate(_metrics(0.8, 0.77, 0.9, 0.86), thresholds={"pass_kappa": 0.85})
    assert g["estimate"].iloc[0] == 1
    single = pd.DataFrame(
        [{"id": "weighted_kappa", "slice": None, "estimate": 0.9, "ci_low": 0.8, "ci_high": 0.95}]
    )
    assert cal.gate(single, protocol="single")["estimate"].iloc[0] == 2
    assert pd.isna(cal.gate(_metrics(None, None, None, None))["estimate"].iloc[0])


# ------------------------------------------------------------- bias, ranking, drift


def test_signed_bias_finds_a_planted_family_preference():
    rng = np.random.default_rng(1)
    n = 60
    votes = _votes({i: list(rng.choice(["a", "b"], size=3)) for i in range(n)})
    ds = _toy_dataset(n, votes=votes)
    v = _verdicts({i: "a" for i in range(n)})  # always picks family fa's answer
    f = cal.signed_bias(v, ds, n_boot=100, n_perm=999)
    fa = f[[s == {"family": "fa"} for s in f["slice"]]].iloc[0]
    humans_fa = (votes["preference"] == "a").mean()
    assert fa["raw_difference"] == pytest.approx(1 - humans_fa)
    assert fa["estimate"] > 0.3  # the attenuation-corrected excess
    assert fa["primary"] and fa["p_value"] < 0.01 and fa["ci_low"] > 0
    # a judge that copies one human's votes has no detectable family bias
    copy = _verdicts(
        {
            i: votes[(votes["item_id"] == f"i{i}") & (votes["rater_id"] == "r1")][
                "preference"
            ].iloc[0]
            for i in range(n)
        }
    )
    f0 = cal.signed_bias(copy, ds, n_boot=100, n_perm=999)
    prim = f0[f0["primary"]].iloc[0]
    assert prim["p_value"] > 0.05 and prim["mde"] > 0 and "minimum detectable" in prim["conclusion"]


def test_signed_bias_does_not_flag_an_unbiased_noisy_judge():
    """Families of unequal quality, a judge with noise but no family preference: the raw
    difference judge - human is pulled toward the middle for every family (and would be
    flagged); the attenuation-corrected estimate is not, in at most the nominal share of
    replicates, while a planted preference of the same judge is found."""
    from judgelab import sim

    ds = load_dataset("demo")
    pairs = ds.pairs("human")
    responses = sim.prepare_responses(sim.responses_frame(ds))
    rejected_null = rejected_raw = found = 0
    n_rep = 20
    for rep in range(n_rep):
        noisy = sim.judge(f"noisy{rep}", noise=1.0, family="other")
        planted = sim.judge(f"planted{rep}", noise=1.0, family="cirrus", family_preference=1.5)
        v = sim.sample_verdicts(pairs, responses, [noisy, planted], seed=rep)
        for j, frame in v.groupby("model"):
            f = cal.signed_bias(frame, ds, n_boot=50, n_perm=199, seed=rep)
            prim = f[f["primary"]].iloc[0]
            if j.endswith(f"noisy{rep}"):
                rejected_null += prim["p_value"] < 0.05
                raw = f.set_index(f["slice"].map(lambda s: s["family"]))["raw_difference"]
                rejected_raw += abs(raw["aurora"]) > 0.05
            else:
                cirrus = f[[s == {"family": "cirrus"} for s in f["slice"]]].iloc[0]
                found += cirrus["estimate"] > 0 and prim["slice"] == {"family": "cirrus"}
    assert rejected_raw >= n_rep * 0.8  # the raw difference is biased by attenuation
    assert rejected_null <= 3  # nominal 5% of 20 is 1; 3 or fewer with probability 0.98
    assert found >= n_rep * 0.8


def test_ranking_kendall_tau_matches_scipy_on_win_rates():
    rng = np.random.default_rng(5)
    n = 40
    # three responses per item from generators g0..g2; all pairs compared
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(n)], "prompt": "p"})
    resp = pd.DataFrame(
        [
            {
                "response_id": f"i{i}-r{k}",
                "item_id": f"i{i}",
                "generator": f"g{k}",
                "family": f"f{k}",
                "text": "t",
            }
            for i in range(n)
            for k in range(3)
        ]
    )
    prefs, verd = [], []
    for i in range(n):
        for a, b in ((0, 1), (0, 2), (1, 2)):
            ra, rb = f"i{i}-r{a}", f"i{i}-r{b}"
            for h in range(3):
                prefs.append(
                    {
                        "item_id": f"i{i}",
                        "response_a": ra,
                        "response_b": rb,
                        "rater_id": f"r{h}",
                        "preference": rng.choice(
                            ["a", "b"], p=[0.5 + 0.15 * (b - a), 0.5 - 0.15 * (b - a)]
                        ),
                    }
                )
            win = ra if rng.random() < 0.6 else rb
            verd.append(
                dict(
                    model="m",
                    backend="x",
                    judge_version="v",
                    protocol="pairwise",
                    item_id=f"i{i}",
                    response_a=ra,
                    response_b=rb,
                    order="ab",
                    sample=0,
                    winner=win,
                    parse_ok=True,
                )
            )
    ds = Dataset(name="t", items=items, responses=resp, preferences=pd.DataFrame(prefs))
    v = pd.DataFrame(verd)
    f = cal.ranking(v, ds, n_boot=50)
    row = f[f["id"] == "ranking_kendall_tau"].iloc[0]
    jr, hr = (
        __import__("json").loads(row["judge_rates"]),
        __import__("json").loads(row["human_rates"]),
    )
    # independent win rates
    p = pd.DataFrame(prefs)
    for g in ("g0", "g1", "g2"):
        wins = (
            (p["response_a"].str.endswith(g[-1]) & (p["preference"] == "a"))
            | (p["response_b"].str.endswith(g[-1]) & (p["preference"] == "b"))
        ).sum()
        apps = (p["response_a"].str.endswith(g[-1]) | p["response_b"].str.endswith(g[-1])).sum()
        assert hr[g] == pytest.approx(wins / apps)
    gens = sorted(hr)
    assert row["estimate"] == pytest.approx(
        sstats.kendalltau([jr[g] for g in gens], [hr[g] for g in gens]).statistic
    )
    sep = f[f["id"] == "separability"].iloc[0]
    assert 0 <= sep["estimate"] <= 1 and 0 <= sep["human_separability"] <= 1


def test_drift_agreement_and_permutation():
    rng = np.random.default_rng(2)
    n = 80
    base = {i: rng.choice(["a", "b"]) for i in range(n)}
    v1 = _verdicts(base, version="v1")
    same = cal.drift_agreement(
        pd.concat([v1, _verdicts(base, version="v2")]), ("v1", "v2"), n_boot=50, n_perm=999
    )
    assert same["estimate"].iloc[0] == 1.0 and same["p_value"].iloc[0] == 1.0
    shifted = {i: ("a" if rng.random() < 0.9 else "b") for i in range(n)}  # v2 prefers 'a'
    d = cal.drift_agreement(
        pd.concat([v1, _verdicts(shifted, version="v2")]), ("v1", "v2"), n_boot=50, n_perm=999
    )
    agree = np.mean([base[i] == shifted[i] for i in range(n)])
    assert d["estimate"].iloc[0] == pytest.approx(agree)
    assert d["p_value"].iloc[0] < 0.01
    c = [base[i] for i in range(n)], [shifted[i] for i in range(n)]
    assert d["kappa"].iloc[0] == pytest.approx(cohen_kappa_score(*c))
    with pytest.raises(DataError, match="v9"):
        cal.drift_agreement(v1, ("v1", "v9"))
    assert cal.resolve_drift_versions(pd.concat([v1, _verdicts(base, version="v2")]), "auto") == (
        "v1",
        "v2",
    )


# ----------------------------------------------------- ensemble and escalation


def test_escalation_queue_flags_low_margin_cases():
    v = _verdicts({0: ["a", "b"], 1: ["a", "a"]}, orders=("ab", "ba"))
    rep = _verdicts({1: "b"}).assign(sample=1)
    v2 = _verdicts({0: ["a", "a"], 1: ["b", "b"]}, model="m2", orders=("ab", "ba"))
    v3 = _verdicts({0: ["b", "b"], 1: ["b", "b"]}, model="m3", orders=("ab", "ba")).assign(
        margin=[0.05, 0.5, 0.5, 0.5]
    )
    q = escalation_queue(
        pd.concat([v, rep, v2, v3]), margin_threshold=0.2, vote_share_threshold=0.7
    )
    got = set(zip(q["judge"].str.split("|").str[0], q["item_id"], q["reason"]))
    assert ("m", "i0", "orders_disagree") in got
    assert ("m", "i1", "repeats_disagree") in got
    assert ("m3", "i0", "logprob_margin_below_threshold") in got
    assert ("ensemble", "i0", "ensemble_vote_share_below_threshold") in got
    assert ("m2", "i0", "orders_disagree") not in got


def test_majority_verdicts_is_the_plurality_of_judges():
    a = _verdicts({0: "a", 1: "b", 2: "a"}, model="m1")
    b = _verdicts({0: "a", 1: "a", 2: "b"}, model="m2")
    c = _verdicts({0: "b", 1: "a", 2: "tie"}, model="m3")
    e = cal.majority_verdicts(pd.concat([a, b, c])).sort_values("item_id")
    assert e["winner"].tolist() == ["i0-r0", "i1-r0", "tie"]  # item 2 is a three-way split -> tie
    assert e["vote_share"].tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3])


def test_escalation_queue_reads_a_given_panel_majority_and_filters_reasons():
    a = _verdicts({0: "a", 1: "b", 2: "a"}, model="m1")
    b = _verdicts({0: "a", 1: "a", 2: "b"}, model="m2")
    v = pd.concat([a, b])
    panel = cal.majority_verdicts(v)
    built = escalation_queue(v, vote_share_threshold=1.0)
    given = escalation_queue(v, vote_share_threshold=1.0, panel_majority=panel)
    pd.testing.assert_frame_equal(built, given)
    # the ensembles' review queue: the panel rows whose vote is not unanimous
    review = escalation_queue(
        v,
        margin_threshold=None,
        vote_share_threshold=1.0,
        reasons=("ensemble_vote_share_below_threshold",),
    )
    assert review["item_id"].tolist() == ["i1", "i2"]
    assert list(review.columns) == QUEUE_COLUMNS


def test_low_margin_is_one_rule_per_case():
    """The cases of tests/test_run.py::test_low_margin_cases under the one low-margin rule;
    the orders compare modal winners, so a split order (q3: x, y) disagrees with x."""
    rows = []

    def r(item, order, sample, winner, margin, ok=True):
        rows.append(
            dict(model="m", backend="b", judge_version="v", protocol="pairwise", item_id=item,
                 response_a="x", response_b="y", response_id=None, order=order, sample=sample,
                 winner=winner, score=None, verdict=None, parse_ok=ok, margin=margin)
        )  # fmt: skip

    r("q1", "ab", 0, "x", 0.9), r("q1", "ba", 0, "x", 0.8)  # consistent
    r("q2", "ab", 0, "x", 0.9), r("q2", "ba", 0, "y", 0.8)  # the orders disagree
    r("q3", "ab", 0, "x", 0.9), r("q3", "ab", 1, "y", 0.8), r("q3", "ba", 0, "x", 0.9)
    r("q4", "ab", 0, "x", 0.05), r("q4", "ba", 0, "x", 0.9)  # a low logprob margin
    r("q5", "ab", 0, None, None, ok=False), r("q5", "ba", 0, "x", 0.9)  # unparsed: not counted
    cases = low_margin(pd.DataFrame(rows), margin_threshold=0.1)
    assert list(cases.columns) == CASE_COLUMNS
    lm = cases.set_index("item_id")
    assert lm["low_margin"].to_dict() == {
        "q1": False,
        "q2": True,
        "q3": True,
        "q4": True,
        "q5": False,
    }
    assert lm["orders_disagree"].to_dict() == {
        "q1": False,
        "q2": True,
        "q3": True,
        "q4": False,
        "q5": False,
    }
    assert (
        lm.loc["q3", "repeats_disagree"] and lm.loc["q4", "margin_low"] and lm.loc["q5", "n"] == 1
    )
    assert not low_margin(pd.DataFrame(rows))["margin_low"].any()  # no threshold, no margin flag


# ------------------------------------------------------------- reference rules


def test_reference_rules_are_named_and_reported():
    votes = coded_votes(_votes({0: ["a", "a", "b"], 1: ["a", "a", "a"], 2: ["a", "b"], 3: ["b"]}))
    ref, ex, rule = reference_labels(votes)
    assert rule == "majority" and ref["item_id"].tolist() == ["i0", "i1", "i3"]
    assert ref["ref"].tolist() == [0, 0, 1] and ex == {"no_human_majority": 1}
    ref, _, rule = reference_labels(votes, rule="unanimous", min_raters=2)
    assert rule == "unanimous" and ref["item_id"].tolist() == ["i1"]
    is_gold = (votes["item_id"] == "i2") & (votes["rater_id"] == "r2")  # its vote: b
    gold = votes.assign(rater_id=np.where(is_gold, "gold", votes["rater_id"]))
    ref, _, rule = reference_labels(gold, rule=("gold", "majority"))
    assert rule == "gold" and ref["item_id"].tolist() == ["i2"] and ref["ref"].tolist() == [1]
    truth = pd.DataFrame({"response_id": ["i0-r0", "i0-r1"], "quality": [1.0, 2.0]})
    pairs = pd.DataFrame({"item_id": ["i0"], "lo": ["i0-r0"], "hi": ["i0-r1"]})
    empty = coded_votes(None)
    ref, _, rule = reference_labels(empty, rule=("majority", "truth"), truth=truth, pairs=pairs)
    assert rule == "truth" and ref["ref"].tolist() == [1]
    with pytest.raises(ValueError, match="reference rule"):
        reference_labels(votes, rule="plurality")


def test_unanimous_rule_reproduces_entanglement_human_labels():
    """Entanglement's human reference (all raters agree, >= 2 raters) is the unanimous rule,
    checked against a plain count of the demo's votes per sorted pair."""
    ds = load_dataset("demo")
    votes: dict = {}
    for r in ds.preferences.itertuples(index=False):
        a, b = str(r.response_a), str(r.response_b)
        win = {"a": a, "b": b}.get(r.preference, "tie")
        lo, hi = sorted((a, b))
        votes.setdefault((str(r.item_id), lo, hi), []).append({lo: 0, hi: 1}.get(win, 2))
    want = {k: v[0] for k, v in votes.items() if len(v) >= 2 and len(set(v)) == 1}
    ref, _, _ = reference_labels(coded_votes(ds.preferences), rule="unanimous", min_raters=2)
    got = {(r.item_id, r.lo, r.hi): int(r.ref) for r in ref.itertuples(index=False)}
    assert got == want and len(got) > 0


def test_reassigned_preferences_are_read_again():
    """No module cache keyed on id(dataset): a dataset whose table is reassigned is re-read."""
    ds = _toy_dataset(4, votes=_votes({i: ["a", "a", "a"] for i in range(4)}))
    v = _verdicts({i: "a" for i in range(4)})
    first = cal.pairwise_agreement(v, ds, by_slice=False, n_boot=20)
    ds.preferences = _votes({i: ["b", "b", "b"] for i in range(4)})
    again = cal.pairwise_agreement(v, ds, by_slice=False, n_boot=20)
    acc = {f["id"]: f["estimate"] for f in first.to_dict("records")}["accuracy"]
    acc2 = {f["id"]: f["estimate"] for f in again.to_dict("records")}["accuracy"]
    assert acc == 1.0 and acc2 == 0.0


def test_audit_reads_a_given_panel_majority():
    ds = _toy_dataset(12, votes=_votes({i: ["a", "a", "b"] for i in range(12)}))
    v = pd.concat(
        [
            _verdicts({i: ["a", "b"][i % 2] for i in range(12)}, model="m1"),
            _verdicts({i: "a" for i in range(12)}, model="m2"),
            _verdicts({i: ["a", "tie", "b"][i % 3] for i in range(12)}, model="m3"),
        ]
    )
    kw = dict(n_boot=20, n_perm=99)
    built = cal.audit(v, ds, **kw)
    given = cal.audit(v, ds, panel_majority=cal.majority_verdicts(v), **kw)
    pd.testing.assert_frame_equal(built, given)
    assert (built["slice"].astype(str) == "{'ensemble': 'majority'}").any()


def test_stats_import_nothing_above_stats():
    """The audit's modules import only judgelab.stats, judgelab.data (its DataError) and the
    leaf judgelab.identity (the identity-string rule) at module level, and keep no
    module-level cache."""
    import ast
    import pathlib

    import judgelab.stats.calibration as pkg

    files = [*pathlib.Path(pkg.__file__).parent.glob("*.py")]
    files += [pathlib.Path(pkg.__file__).parents[1] / n for n in ("queue.py", "reference.py")]
    for f in files:
        tree = ast.parse(f.read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("judgelab"):
                assert node.module.startswith(
                    ("judgelab.stats", "judgelab.data", "judgelab.identity")
                ), (f, node.module)
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                assert not any("CACHE" in n for n in names), (f, names)
    assert "__signature__" not in vars(cal.audit)


# ------------------------------------------------------------- scores and rubric


def test_score_agreement_equals_sklearn_and_scipy():
    rng = np.random.default_rng(11)
    n = 30
    ds0 = _toy_dataset(n)
    rids = ds0.responses["response_id"].tolist()
    quality = rng.integers(1, 6, len(rids))
    lab = pd.DataFrame(
        [
            {
                "response_id": r,
                "rater_id": f"r{h}",
                "score": int(np.clip(q + rng.integers(-1, 2), 1, 5)),
            }
            for r, q in zip(rids, quality)
            for h in range(3)
        ]
    )
    ds = _toy_dataset(n, labels=lab, scale=(1, 5))
    judge = np.clip(quality + rng.integers(-2, 3, len(rids)), 1, 5).astype(float)
    rows = [
        dict(
            model="m",
            backend="x",
            judge_version="v",
            protocol="single",
            item_id=r.split("-")[0],
            response_id=r,
            sample=s,
            score=judge[i] + (0.5 if s else 0.0),
            parse_ok=True,
        )
        for i, r in enumerate(rids)
        for s in (0, 1)
    ]
    f = cal.score_agreement(pd.DataFrame(rows), ds, by_slice=False, n_boot=50)
    got = dict(zip(f["id"], f["estimate"]))
    jmean = judge + 0.25  # repeats averaged
    med = lab.groupby("response_id")["score"].median().reindex(rids).to_numpy()
    assert got["weighted_kappa"] == pytest.approx(
        cohen_kappa_score(
            np.round(med),
            np.clip(np.round(jmean), 1, 5),
            weights="quadratic",
            labels=[1, 2, 3, 4, 5],
        ),
        abs=1e-9,
    )
    assert got["spearman"] == pytest.approx(sstats.spearmanr(jmean, med).statistic, abs=1e-9)
    assert got["kendall_tau"] == pytest.approx(sstats.kendalltau(jmean, med).statistic, abs=1e-9)
    assert f["ci_low"].notna().all()  # 30 items: CIs reported


def test_rubric_section_failure_rate_and_overall_agreement():
    ds0 = _toy_dataset(4)
    rids = ds0.responses["response_id"].tolist()  # 8 responses
    sections = [{"Correctness": 0.9, "Clarity": 0.5}, {"Correctness": 0.3, "Clarity": 0.95}] * 4
    verdict = ["warn", "fail"] * 4
    v = pd.DataFrame(
        [
            dict(
                model="m",
                backend="x",
                judge_version="v",
                protocol="rubric",
                item_id=r.split("-")[0],
                response_id=r,
                sample=0,
                sections=__import__("json").dumps(s),
                verdict=vd,
                parse_ok=True,
            )
            for r, s, vd in zip(rids, sections, verdict)
        ]
    )
    labels = pd.DataFrame(
        [
            {"response_id": r, "rater_id": "r1", "section": sec, "label": lbl}
            for r in rids
            for sec, lbl in (("Correctness", "pass"), ("Clarity", "fail"), ("overall", "fail"))
        ]
    )
    ds = Dataset(
        name="t",
        items=ds0.items,
        responses=ds0.responses,
        rubric_labels=labels,
        rubric={"name": "r", "sections": [{"title": "Correctness"}, {"title": "Clarity"}]},
    )
    f = cal.section_failure_rate(v, ds, pass_threshold=0.8, n_boot=20)
    by = {r["slice"]["subset"]: r for r in f.to_dict("records")}
    assert (
        by["Correctness"]["estimate"] == pytest.approx(0.5)
        and by["Correctness"]["human_failure_rate"] == 0.0
    )
    assert (
        by["Clarity"]["estimate"] == pytest.approx(0.5)
        and by["Clarity"]["human_failure_rate"] == 1.0
    )
    a = cal.rubric_agreement(v, ds, n_boot=20)
    assert dict(zip(a["id"], a["estimate"]))["accuracy"] == pytest.approx(
        0.5
    )  # the 'fail' half agrees


def test_rank_correlation_bootstrap_equals_the_generic_row_bootstrap():
    """Same seed, same item resamples: the vectorised closed forms give the distribution that
    resampling.cluster_bootstrap_rows gets by calling scipy on every resample."""
    from judgelab.stats.resampling import cluster_bootstrap_rows

    rng = np.random.default_rng(4)
    n_items = 35
    codes = np.repeat(np.arange(n_items), rng.integers(1, 4, n_items))
    x = rng.integers(1, 8, len(codes)).astype(float)
    y = (x + rng.integers(-3, 4, len(codes))).astype(float)
    sub = pd.DataFrame({"item_id": [f"i{c:02d}" for c in codes], "score": x, "human": y})
    item_codes, uniq = pd.factorize(sub["item_id"])
    boot = Resampling(n_boot=60, seed=9).boot
    stats = agr.rank_correlation_statistics(x, y, item_codes, len(uniq))
    got = {name: boot(np.eye(len(uniq)), stat) for name, stat in stats.items()}
    for name, fn in (("spearman", sstats.spearmanr), ("kendall_tau", sstats.kendalltau)):
        ref = cluster_bootstrap_rows(
            sub["item_id"], lambda rows, fn=fn: fn(x[rows], y[rows]).statistic, n_boot=60, seed=9
        )
        np.testing.assert_allclose(got[name].distribution, ref.distribution, atol=1e-9)
        assert got[name].ci_low == pytest.approx(ref.ci_low) and got[name].ci_high == pytest.approx(
            ref.ci_high
        )


def test_escalation_queue_reads_a_choice_against_the_pair_as_stored():
    """A winner derived from the displayed choice names a response of the pair as stored, not
    as sorted: the same judgments stored with the pair in either column order, with and without
    the winner, queue alike (the queue once read "A" against the sorted pair)."""
    rows = [
        # item i0: response r2 wins in both orders; the ab row stores the pair as (r2, r1)
        dict(item_id="i0", response_a="r2", response_b="r1", order="ab", choice="A", winner="r2"),
        dict(item_id="i0", response_a="r1", response_b="r2", order="ba", choice="A", winner="r2"),
        # item i1: the orders disagree (r1, then r2)
        dict(item_id="i1", response_a="r2", response_b="r1", order="ab", choice="B", winner="r1"),
        dict(item_id="i1", response_a="r1", response_b="r2", order="ba", choice="A", winner="r2"),
    ]
    v = pd.DataFrame(rows).assign(
        model="m", backend="b", judge_version="v", protocol="pairwise", parse_ok=True
    )
    kw = dict(margin_threshold=None, vote_share_threshold=None)
    with_winner = escalation_queue(v, **kw)
    derived = escalation_queue(v.drop(columns="winner"), **kw)
    assert with_winner["item_id"].tolist() == ["i1"]
    pd.testing.assert_frame_equal(derived, with_winner)
    # ids that are not text take the other path of the same rule
    numeric = v.assign(
        response_a=v["response_a"].str[1].astype(int), response_b=v["response_b"].str[1].astype(int)
    )
    assert escalation_queue(numeric.drop(columns="winner"), **kw)["item_id"].tolist() == ["i1"]
