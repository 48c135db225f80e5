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
        "cascade_accuracy",
        "cascade_cost_per_1k_usd",
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
    cas = f[f["id"] == "cascade_cost_per_1k_usd"].copy()
    cas["t"] = cas["slice"].map(lambda s: s["threshold"])
    n = int(cas["n"].iloc[0])
    cheap = cas["judge"].iloc[0].split("|")[0]
    ens_models = ["judgelab-sim/aurora-max", "judgelab-sim/basalt-xl", "judgelab-sim/cirrus-ultra"]
    acc = f[f["id"] == "cascade_accuracy"].copy()
    # end points: t = 0 costs the cheap judge's calls alone; "ensemble" the ensemble's alone
    keys = set(frame.loc[frame["model"] == cheap, "key"])
    per_pair_cheap = frame[frame["model"] == cheap].groupby("key")["cost_re"].sum()
    per_pair_ens = (
        frame[frame["model"].isin(ens_models) & frame["key"].isin(keys)]
        .groupby("key")["cost_re"]
        .sum()
    )
    first = cas[cas["t"] == 0.0]["estimate"].item()
    last = cas[cas["t"] == "ensemble"]["estimate"].item()
    assert n <= len(per_pair_cheap)
    assert first == pytest.approx(1000 * per_pair_cheap.mean(), rel=0.05)
    assert last == pytest.approx(1000 * per_pair_ens.mean(), rel=0.05)
    # the cheap judge alone at t = 0, the ensemble alone at the end: accuracies as the pieces
    a0 = acc[acc["slice"].map(lambda s: s["threshold"]) == 0.0]["estimate"].item()
    a_ens = acc[acc["slice"].map(lambda s: s["threshold"]) == "ensemble"]["estimate"].item()
    a_all = acc[
        acc["slice"].map(lambda s: s["threshold"]) == max(t for t in cas["t"] if t != "ensemble")
    ]["estimate"].item()
    assert a_all == pytest.approx(a_ens)
    assert 0 < a0 <= 1


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
