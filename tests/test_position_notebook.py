"""End-to-end: the position_bias and self_preference notebooks executed through the CLI
(STATISTICS.md "End-to-end study tests").

Verdicts come from ``judgelab.sim.sample_verdicts`` (the simulated panel's generative model,
identical to what the litellm provider answers, without the calls) and reach the notebook
through ``verdicts=<csv path>``, so each run costs one notebook execution, not thousands of
calls. Planted and null judges share one run per notebook to keep the number of executions
at two."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from findings_baseline import assert_same_findings

import judgelab as jl
from judgelab import sim
from judgelab.studies import notebook_path

SHARED = [
    "dataset",
    "judges",
    "verdicts",
    "select",
    "pairs",
    "n_pairs",
    "store",
    "tie_policy",
    "order_aggregation",
    "allow_mixed",
    "seed",
    "n_boot",
    "concurrency",
    "max_cost_usd",
    "dry_run",
]


@pytest.mark.parametrize("study", ["position_bias", "self_preference"])
def test_notebook_committed_without_outputs_and_with_parameters(study):
    nb = nbformat.read(notebook_path(study), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert code[0].metadata.get("tags") == ["parameters"]
    names = [ln.split("=")[0].strip() for ln in code[0].source.splitlines() if "=" in ln]
    assert names[: len(SHARED)] == SHARED
    assert all(
        "#" in ln for ln in code[0].source.splitlines() if "=" in ln
    )  # every parameter explained
    assert f'jl.studies.prepare(\n    "{study}"' in code[1].source


def _run(study, tmp_path, verdicts: pd.DataFrame, **params):
    csv = tmp_path / "verdicts.csv"
    verdicts.to_csv(csv, index=False)
    ptxt = {
        "verdicts": str(csv),
        "judges": None,
        "n_boot": 300,
        "store": str(tmp_path / "store.sqlite"),
        **params,
    }
    (tmp_path / "params.json").write_text(json.dumps(ptxt))
    out = tmp_path / "out"
    # --params accepts YAML, of which JSON is a subset
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "judgelab",
            "run",
            study,
            "--params",
            str(tmp_path / "params.json"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    doc = json.loads((out / "findings.json").read_text())
    assert_same_findings(doc, f"demo_notebook__{study}")
    f = pd.DataFrame(doc["findings"])
    f["model"] = f["judge"].str.split("|").str[0].str.replace("judgelab-sim/", "", regex=False)
    assert (out / f"{study}.html").exists()
    return f, out


@pytest.fixture(scope="module")
def demo():
    ds = jl.load_dataset("demo")
    return ds, sim.responses_frame(ds)


@pytest.mark.slow
def test_position_bias_notebook_finds_planted_bias_and_orders_it(demo, tmp_path):
    ds, resp = demo
    pairs = ds.pairs("human", n_pairs=200, seed=0)
    planted = [
        {
            "model": "judgelab-sim/pb-low",
            "sim": {"noise": 0.8, "position_bias": 0.5, "tie_band": 0.2},
        },
        {
            "model": "judgelab-sim/pb-one",
            "sim": {"noise": 0.8, "position_bias": 1.0, "tie_band": 0.2},
        },
        {
            "model": "judgelab-sim/pb-high",
            "sim": {"noise": 0.8, "position_bias": 1.5, "tie_band": 0.2},
        },
    ]
    v = sim.sample_verdicts(pairs, resp, [*sim.panel("null"), *planted], seed=0)
    f, out = _run("position_bias", tmp_path, v)
    prim = f[f["primary"]].set_index("model")
    assert set(prim["id"]) == {"first_slot_share"}
    # planted bias 1.0 with n_pairs >= 100 is found (Holm p < 0.01), with the right sign
    assert prim.at["pb-one", "p_adjusted"] < 0.01 and prim.at["pb-one", "estimate"] > 0.5
    # an ordering 0.5 vs 1.5 with n_pairs >= 200 shows in position consistency
    pc = f[f["id"] == "position_consistency"].set_index("model")["estimate"]
    assert pc["pb-high"] < pc["pb-one"] < pc["pb-low"]
    # null panel: every Holm-adjusted primary p >= 0.005
    null = prim.loc[[m for m in prim.index if not m.startswith("pb-")]]
    assert len(null) == 9 and (null["p_adjusted"] >= 0.005).all()
    # the minimum detectable effect beside every non-significant primary finding (in its
    # conclusion: findings.json keeps only the standard columns), a conclusion for every finding
    ns = prim[prim["p_adjusted"] >= 0.05]
    assert len(ns) and ns["conclusion"].str.contains("would be detected with 80% power").all()
    assert f["conclusion"].notna().all()
    assert {p.name for p in (out / "figures").glob("*.svg")} == {
        "position_consistency.svg",
        "primacy_recency.svg",
        "flip_vs_gap.svg",
    }


@pytest.mark.slow
def test_self_preference_notebook_finds_planted_self_preference_not_null(demo, tmp_path):
    ds, resp = demo
    pairs = ds.pairs("human")
    judges = []
    for name, p in sim.PANELS["null"].items():
        if name == "cirrus-base":  # plant on the worse-quality family
            p = {**p, "self_preference": 1.0}
        judges.append({"model": f"judgelab-sim/{name}", "sim": p})
    v = sim.sample_verdicts(pairs, resp, judges, seed=0)
    f, out = _run("self_preference", tmp_path, v)
    prim = f[f["primary"]].set_index("model")
    assert set(prim["id"]) == {"self_preference_logit"}
    assert prim.at["cirrus-base", "estimate"] > 0 and prim.at["cirrus-base", "p_adjusted"] < 0.05
    others = prim.drop(index="cirrus-base")
    assert (others["p_adjusted"] >= 0.05).all(), others[["estimate", "p_adjusted"]]
    assert f["conclusion"].notna().all()
    assert {"self_preference_forest.svg", "family_heatmap.svg"} <= {
        p.name for p in (out / "figures").glob("*.svg")
    }
