"""Judge comparison statistics: agreement, non-inferiority, cost and the cascade."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar

from judgelab.stats import compare
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


def judge_frame(pairs, model, accuracy, seed, margin=None, cost=0.001, tie_rate=0.0):
    """Both orders per pair; each call right with probability `accuracy`."""
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
                    "margin": rng.random() if margin is None else margin,
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


def test_cascade_end_points_and_costs():
    pairs, ref = make_reference(150)
    cheap = judge_frame(pairs, "cheap", 0.7, 1, cost=0.0001)
    ens = pd.concat(
        [judge_frame(pairs, f"big{k}", 0.9, 10 + k, cost=0.01) for k in range(3)], ignore_index=True
    )
    table = compare.cascade_table(cheap, ens, ref, thresholds=(0.0, 0.5, 1.01))
    # t = 0: the cheap judge alone, its consistent_only decision per pair
    solo = compare.units(cheap, "consistent_only").merge(ref, on="pair_key")
    first = table.iloc[0]
    assert first["escalated"] == 0
    assert first["accuracy"] == pytest.approx(
        (solo["winner"] == solo["reference"]).mean(), abs=1e-12
    )
    assert first["cost_per_1k_usd"] == pytest.approx(1000 * 2 * 0.0001)
    # t > 1: everything escalated, cheap calls still paid
    assert table.iloc[2]["escalated"] == 1.0
    assert table.iloc[2]["cost_per_1k_usd"] == pytest.approx(1000 * (2 * 0.0001 + 3 * 2 * 0.01))
    last = table.iloc[-1]
    assert last["threshold"] == "ensemble"
    assert last["cost_per_1k_usd"] == pytest.approx(1000 * 3 * 2 * 0.01)
    assert table.iloc[2]["accuracy"] == pytest.approx(last["accuracy"])
    # the escalated share grows with the threshold
    assert table.iloc[0]["escalated"] <= table.iloc[1]["escalated"] <= table.iloc[2]["escalated"]
    findings, _ = compare.cascade_findings(cheap, ens, ref, thresholds=(0.0, 0.5, 1.01), n_boot=100)
    assert set(findings["id"]) == {"cascade_accuracy", "cascade_cost_per_1k_usd"}


def test_inconsistent_orders_are_low_margin():
    pairs, ref = make_reference(30)
    cheap = judge_frame(pairs, "cheap", 0.5, 4, margin=0.9)
    d = compare._pair_decisions(cheap)
    both = cheap.pivot_table(index="item_id", columns="order", values="winner", aggfunc="first")
    inconsistent = set(both.index[both["ab"] != both["ba"]])
    assert set(d.loc[d["margin"] == 0, "item_id"]) == inconsistent
    assert (d.loc[d["margin"] > 0, "margin"] == 0.9).all()


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
