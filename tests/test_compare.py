"""Judge comparison statistics: agreement, non-inferiority, cost and the certified cascade."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar

from judgelab.stats import cascade, compare
from judgelab.stats.confidence import verdict_confidence
from judgelab.stats.reference import coded_votes, pair_key, reference_labels, winner_reference


def make_reference(n_items=120, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        a, b = f"i{i}-x", f"i{i}-y"
        rows.append(
            {
                "item_id": f"i{i}",
                "response_a": a,
                "response_b": b,
                "winner": a if rng.random() < 0.5 else b,
            }
        )
    pairs = pd.DataFrame(rows)
    ref = pd.DataFrame(
        {
            "item_id": pairs["item_id"],
            "pair_key": pair_key(pairs["response_a"], pairs["response_b"]),
            "reference": pairs["winner"],
        }
    )
    return pairs, ref


def judge_frame(pairs, model, accuracy, seed, prob=None, cost=0.001, tie_rate=0.0):
    """Both orders per pair; each call right with probability `accuracy`; logprobs: the chosen
    slot `prob` (default: uniform in (1/3, 1)), the two others the rest in halves."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in pairs.itertuples():
        for order in ("ab", "ba"):
            u = rng.random()
            if u < tie_rate:
                w = "tie"
            elif rng.random() < accuracy:
                w = r.winner
            else:
                w = r.response_b if r.winner == r.response_a else r.response_a
            shown_first = r.response_a if order == "ab" else r.response_b
            choice = "tie" if w == "tie" else ("A" if w == shown_first else "B")
            p = rng.uniform(1 / 3, 1.0) if prob is None else prob
            probs = {k: p if k == choice else (1 - p) / 2 for k in ("A", "B", "tie")}
            rows.append(
                {
                    "model": model,
                    "backend": "test",
                    "judge_version": "v1",
                    "judge_family": "f",
                    "protocol": "pairwise",
                    "item_id": r.item_id,
                    "response_a": r.response_a,
                    "response_b": r.response_b,
                    "order": order,
                    "sample": 0,
                    "choice": choice,
                    "winner": w,
                    "parse_ok": True,
                    "p_a": probs["A"],
                    "p_b": probs["B"],
                    "p_tie": probs["tie"],
                    "cost_usd": cost,
                    "latency_s": 0.5 + rng.random(),
                    "cached": False,
                }
            )
    return pd.DataFrame(rows)


def test_agreement_and_kappa_match_sklearn():
    pairs, _ = make_reference()
    src = judge_frame(pairs, "big", 0.9, 1, tie_rate=0.1)
    cand = judge_frame(pairs, "small", 0.7, 2, tie_rate=0.1)
    rows = {r["id"]: r for r in compare.agreement_findings(src, cand, n_boot=200, seed=1)}
    m = src.merge(cand, on=["item_id", "response_a", "response_b", "order"], suffixes=("_s", "_c"))
    assert rows["agreement_with_source"]["estimate"] == pytest.approx(
        (m["winner_s"] == m["winner_c"]).mean(), abs=1e-12
    )

    # kappa is over labels that mean the same on every item: the pair's first / second id or tie
    def side(w):
        return np.where(w == "tie", "tie", np.where(w == m["response_a"], "first", "second"))

    k = cohen_kappa_score(side(m["winner_s"]), side(m["winner_c"]))
    assert rows["kappa_with_source"]["estimate"] == pytest.approx(k, abs=1e-9)
    lo, hi = rows["kappa_with_source"]["ci_low"], rows["kappa_with_source"]["ci_high"]
    assert lo < k < hi
    assert rows["kappa_with_source"]["judge"] == "small|test|v1"


def test_identical_candidate_is_non_inferior_and_worse_one_is_not():
    pairs, ref = make_reference(150)
    src = judge_frame(pairs, "big", 0.85, 1)
    same = src.assign(model="copy")
    rows = {r["id"]: r for r in compare.accuracy_findings(src, same, ref, margin=0.03, n_boot=300)}
    d = rows["accuracy_difference"]
    assert d["estimate"] == 0 and d["non_inferior"] and d["primary"]
    worse = judge_frame(pairs, "small", 0.6, 3)
    rows = {r["id"]: r for r in compare.accuracy_findings(src, worse, ref, margin=0.03, n_boot=300)}
    d = rows["accuracy_difference"]
    acc_s = (src["winner"] == src.merge(pairs, on="item_id")["winner_y"]).mean()
    acc_c = (worse["winner"] == worse.merge(pairs, on="item_id")["winner_y"]).mean()
    assert d["estimate"] == pytest.approx(acc_c - acc_s, abs=1e-12)
    assert rows["accuracy_vs_human"]["estimate"] == pytest.approx(acc_c, abs=1e-12)
    assert not d["non_inferior"] and d["ci_high"] < 0 and d["p_value"] > 0.5
    assert "cannot be said to replace" in d["conclusion"]


def test_mcnemar_added_with_one_unit_per_item():
    pairs, ref = make_reference(100)
    src = judge_frame(pairs, "big", 0.85, 1)
    cand = judge_frame(pairs, "small", 0.75, 2)
    rows = {
        r["id"]: r
        for r in compare.accuracy_findings(
            src, cand, ref, order_aggregation="first_order", n_boot=200
        )
    }
    s = src[src.order == "ab"].merge(pairs, on="item_id")
    c = cand[cand.order == "ab"].merge(pairs, on="item_id")
    cs, cc = (
        (s["winner_x"] == s["winner_y"]).to_numpy(),
        (c["winner_x"] == c["winner_y"]).to_numpy(),
    )
    table = [[np.sum(cc & cs), np.sum(cc & ~cs)], [np.sum(~cc & cs), np.sum(~cc & ~cs)]]
    assert rows["accuracy_difference"]["mcnemar_p"] == pytest.approx(
        mcnemar(table, exact=True).pvalue, abs=1e-12
    )
    rows = {r["id"]: r for r in compare.accuracy_findings(src, cand, ref, n_boot=200)}
    assert "mcnemar_p" not in rows["accuracy_difference"]  # two units (orders) per item


def test_cost_and_latency():
    pairs, _ = make_reference(40)
    v = judge_frame(pairs, "m", 0.9, 1, cost=0.002)
    v.loc[:9, "cached"] = True
    rows = {r["id"]: r for r in compare.cost_findings(v)}
    assert rows["cost_per_1k_usd"]["estimate"] == pytest.approx(2.0)
    assert "10 cached" in rows["cost_per_1k_usd"]["method"]
    assert rows["latency_p50_s"]["estimate"] == pytest.approx(v["latency_s"].median())
    none = compare.cost_findings(v.drop(columns=["cost_usd", "latency_s"]))
    assert all(r["estimate"] is None and r["reason"] for r in none)


def _cascade_inputs(n_items=600, cheap_acc=0.9):
    pairs, ref = make_reference(n_items)
    cheap = judge_frame(pairs, "cheap", cheap_acc, 1, cost=0.0001)
    ens = pd.concat(
        [judge_frame(pairs, f"big{k}", 0.95, 10 + k, cost=0.01) for k in range(3)],
        ignore_index=True,
    )
    return pairs, ref, cheap, ens


def test_certified_cascade_rows_costs_and_queue():
    pairs, ref, cheap, ens = _cascade_inputs()
    f, table, queue = cascade.certified_cascade(cheap, ens, ref, alphas=(0.05, 0.2), n_boot=100)
    assert set(f["id"]) == {"certified_threshold", "certified_coverage", "certified_agreement"}
    # per alpha: a threshold per judge; coverage and agreement per judge and overall
    assert len(f) == 2 * (2 + 3 + 3)
    assert set(f["judge"].dropna()) == {"cheap|test|v1", "ensemble|majority|majority-of-3"}
    u = cascade.cascade_units(cheap, ens, ref)
    held = ~cascade.split_items(u["item_id"], 0.5, 0)
    both = u["cost_cheap"] + u["cost_ens"]
    for r in table.itertuples():
        assert r.coverage == pytest.approx(r.coverage_cheap + r.coverage_ens)
        assert r.abstention == pytest.approx(1 - r.coverage)
        kept_cheap = held & (u["confidence_cheap"] >= (r.threshold_cheap or np.inf))
        cost = np.where(kept_cheap, u["cost_cheap"], both)[held].mean()
        assert r.cost_per_1k_usd == pytest.approx(1000 * cost)
    # alpha = 0.05 needs 361 kept items per judge at delta / 2 and 300 are calibration items:
    # nothing is kept, every pair of the study is in the queue at that alpha
    strict = table.set_index("alpha").loc[0.05]
    assert strict["coverage"] == 0 and np.isnan(strict["threshold_cheap"])
    assert (queue["value"] == 0.05).sum() == len(u)
    assert set(queue["reason"]) == {"not_certified"}
    # alpha = 0.2: the 90%-accurate cheap judge keeps its consistent pairs
    loose = table.set_index("alpha").loc[0.2]
    assert loose["coverage_cheap"] > 0.5 and loose["agreement"] >= 0.8
    assert (queue["value"] == 0.2).sum() < len(u)


def test_certified_cascade_counts_pairs_without_majority_against_the_judge():
    pairs, ref, cheap, ens = _cascade_inputs(400)
    drop = ref["pair_key"].iloc[:150]
    ref2 = ref[~ref["pair_key"].isin(drop)].reset_index(drop=True)
    ref2.attrs["no_majority"] = list(drop)
    u = cascade.cascade_units(cheap, ens, ref2)
    assert len(u) == 400 and u["agree_cheap"].isna().sum() == 150
    # without the list, those pairs have no human vote: excluded and counted
    u3 = cascade.cascade_units(cheap, ens, pd.DataFrame(ref2.to_dict("list")))
    assert len(u3) == 250 and u3.attrs["n_no_vote"] == 150


def test_cascade_confidence_is_the_verdict_confidence_of_its_decision():
    """The cascade reads judgelab.stats.confidence (one home): the probability of the pair's
    verdict, an order-inconsistent pair being a tie whose probability is the mean p_tie."""
    pairs, ref = make_reference(30)
    cheap = judge_frame(pairs, "cheap", 0.5, 4, prob=0.9)
    d = cascade.pair_decisions(cheap)
    assert d.attrs["confidence_source"] == "logprob"
    both = cheap.pivot_table(index="item_id", columns="order", values="winner", aggfunc="first")
    inconsistent = set(both.index[both["ab"] != both["ba"]])
    assert inconsistent and set(d.loc[d["winner"] == "tie", "item_id"]) == inconsistent
    assert np.allclose(d.loc[d["winner"] == "tie", "confidence"], 0.05)
    assert np.allclose(d.loc[d["winner"] != "tie", "confidence"], 0.9)
    vc = verdict_confidence(cheap, "logprob", level="pair")
    assert np.allclose(np.sort(vc["confidence"]), np.sort(d["confidence"]))
    plain = cascade.pair_decisions(cheap.drop(columns=["p_a", "p_b", "p_tie"]))
    assert plain.attrs["confidence_source"] == "order_agreement"
    assert set(plain["confidence"]) <= {0.0, 1.0}
    # one order only and no logprobs: no source, no confidence (never 1 by default)
    single = cascade.pair_decisions(cheap[cheap["order"] == "ab"].drop(columns=["p_a", "p_b"]))
    assert single.attrs["confidence_source"] is None


def test_certified_escalation_queues_each_judge_below_its_own_threshold():
    pairs, ref = make_reference(600)
    v = pd.concat(
        [judge_frame(pairs, "good", 0.97, 1), judge_frame(pairs, "poor", 0.6, 2)],
        ignore_index=True,
    )
    queue, summary = cascade.certified_escalation(v, ref, alpha=0.1, delta=0.1)
    s = summary.set_index("judge")
    assert set(s.index) == {"good|test|v1", "poor|test|v1", "ensemble|majority|majority-of-2"}
    assert np.isfinite(s.loc["good|test|v1", "threshold"])
    assert s.loc["good|test|v1", "coverage_held_out"] > 0.8
    assert np.isnan(s.loc["poor|test|v1", "threshold"])  # keeps nothing: all 600 pairs queued
    per_judge = queue.groupby("judge").size()
    assert per_judge["poor|test|v1"] == 600 and per_judge.get("good|test|v1", 0) < 120
    assert set(queue["reason"]) == {"not_certified"} and (queue["value"] == 0.1).all()


def test_human_majority_reference():
    prefs = pd.DataFrame(
        {
            "item_id": ["i"] * 7,
            "response_a": ["x", "y", "x", "x", "z", "x", "x"],
            "response_b": ["y", "x", "y", "z", "x", "z", "z"],
            "rater_id": ["h1", "h2", "h3", "h1", "h2", "h3", "h4"],
            "preference": ["a", "b", "tie", "a", "a", "tie", "b"],
        }
    )
    ref, excluded, rule = reference_labels(coded_votes(prefs), rule="majority")
    m = winner_reference(ref)
    # x|y: votes x, x, tie -> x; x|z: votes x, z, tie, z -> no strict majority (2 of 4)
    assert m["reference"].tolist() == ["x"] and excluded["no_human_majority"] == 1
    assert rule == "majority" and m["pair_key"].tolist() == ["x|y"]
