"""The judge_comparison study end to end through the CLI, on the demo panel."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
from findings_baseline import assert_same_findings

from judgelab.store import VerdictStore

N_PAIRS = 100


def run_study(out, store, *params, check=True):
    cmd = [
        sys.executable,
        "-m",
        "judgelab",
        "run",
        "judge_comparison",
        "--out",
        str(out),
        "-p",
        "store",
        str(store),
        "-p",
        "n_pairs",
        str(N_PAIRS),
        "-p",
        "n_boot",
        "200",
    ]
    for name, value in params:
        cmd += ["-p", name, value]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jc")
    store = tmp / "verdicts.sqlite"
    run_study(tmp / "run", store)
    findings = json.loads((tmp / "run" / "findings.json").read_text())
    assert_same_findings(findings, "judge_comparison_demo")
    return tmp, store, pd.DataFrame(findings["findings"]), findings


def test_findings_and_non_inferiority(demo_run):
    _, _, f, doc = demo_run
    assert doc["study"] == "judge_comparison"
    ids = set(f["id"])
    for fid in (
        "mixed_identities",
        "agreement_with_source",
        "kappa_with_source",
        "accuracy_vs_human",
        "accuracy_difference",
        "cost_per_1k_usd",
        "latency_p50_s",
        "certified_threshold",
        "certified_coverage",
        "certified_agreement",
    ):
        assert fid in ids, fid
    diff = f[f["id"] == "accuracy_difference"]
    assert len(diff) == 3 and diff["primary"].all() and diff["p_adjusted"].notna().all()
    assert f.loc[f["id"] == "mixed_identities", "estimate"].item() == 1
    # the cheap candidates are cheaper than the source
    cost = f[f["id"] == "cost_per_1k_usd"].set_index("judge")["estimate"]
    src = [j for j in cost.index if j.startswith("judgelab-sim/aurora-max|")]
    assert len(src) == 1 and (cost.drop(src) < cost[src[0]]).all()


def test_cascade_costs_recomputed_from_stored_tokens_and_prices(demo_run):
    tmp, store, f, _ = demo_run
    from judgelab import sim

    prices = {name: (p["price_in"], p["price_out"]) for name, p in sim.PANELS["demo"].items()}
    with VerdictStore(store) as s:
        frame = s.to_frame(protocol="pairwise")
    con = sqlite3.connect(store)
    calls = pd.read_sql(
        "select address, model, prompt_tokens, completion_tokens, cost_usd from calls", con
    )
    con.close()
    name = calls["model"].str.split("/").str[-1]
    recomputed = (
        calls["prompt_tokens"] * name.map(lambda n: prices[n][0])
        + calls["completion_tokens"] * name.map(lambda n: prices[n][1])
    ) / 1e6
    assert recomputed.to_numpy() == pytest.approx(calls["cost_usd"].to_numpy(), rel=1e-9)

    cost = dict(zip(calls["address"], recomputed, strict=True))
    frame["cost_re"] = frame["address"].map(cost)
    frame["key"] = [
        ("|".join(sorted((a, b))))
        for a, b in zip(frame["response_a"], frame["response_b"], strict=True)
    ]
    # the certified cascade's cost per 1,000 held-out pairs: the cheap judge on every pair,
    # the ensemble on the pairs the cheap judge does not keep
    from judgelab.stats.cascade import split_items

    overall = f[(f["id"] == "certified_coverage") & f["judge"].isna()].copy()
    thr = f[f["id"] == "certified_threshold"]
    cheap_id = thr["judge"].iloc[0]
    cheap = cheap_id.split("|")[0]
    ens_models = ["judgelab-sim/aurora-max", "judgelab-sim/basalt-xl", "judgelab-sim/cirrus-ultra"]
    # the cascade's pairs: both orders of the cheap judge parsed (its consistent_only winner)
    mine = frame[frame["model"] == cheap]
    parsed = mine[mine["winner"].notna() & mine["parse_ok"].fillna(False).astype(bool)]
    n_orders = parsed.groupby("key")["order"].nunique()
    keys = set(n_orders.index[n_orders == 2])
    per_pair_cheap = mine.groupby("key")["cost_re"].sum()
    per_pair_ens = (
        frame[frame["model"].isin(ens_models) & frame["key"].isin(keys)]
        .groupby("key")["cost_re"]
        .sum()
    )
    items = mine.drop_duplicates("key").set_index("key")["item_id"]
    items = items.reindex(per_pair_ens.index)
    held = ~split_items(items.to_numpy(), 0.5, 0)
    assert int(overall["n"].iloc[0]) == held.sum()
    keeps_nothing = thr.groupby(thr["slice"].map(lambda s: s["alpha"]))["estimate"].apply(
        lambda e: e.isna().all()
    )
    for r in overall.itertuples():
        if keeps_nothing[r.slice["alpha"]]:  # every held-out pair reaches the ensemble
            both = per_pair_cheap.reindex(per_pair_ens.index) + per_pair_ens
            assert r.cost_per_1k_usd == pytest.approx(1000 * both[held].mean(), rel=1e-9)
            assert r.estimate == 0 and r.abstention == 1
    assert keeps_nothing.any()


def test_mixed_source_selection_stops_with_the_identities(demo_run, tmp_path):
    _, store, _, _ = demo_run
    import judgelab as jl
    from judgelab import sim
    from judgelab.run import judge_pairwise

    # a second judge_version of the source model (ties disallowed) in the same store
    ds = jl.load_dataset("demo")
    j2 = sim.judge("aurora-max", **sim.PANELS["demo"]["aurora-max"], allow_tie=False)
    judge_pairwise(
        ds, [j2], store=str(store), pairs=ds.pairs("human", n_pairs=N_PAIRS, seed=0), progress=False
    )
    proc = run_study(tmp_path / "mixed", store, check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "spans 2 identities" in text and "allow_mixed" in text, text[-2000:]
    run_study(tmp_path / "mixed_ok", store, ("allow_mixed", "true"))
    f = pd.DataFrame(json.loads((tmp_path / "mixed_ok" / "findings.json").read_text())["findings"])
    assert f.loc[f["id"] == "mixed_identities", "estimate"].item() == 2
