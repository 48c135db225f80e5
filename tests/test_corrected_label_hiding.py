"""Label hiding (judgelab.stats.corrected.label_hiding, validation/corrected_label_hiding.py):
pairwise units oriented to the focal answer, a reduced run on real data (few seeds) whose
coverage is computed against the all-label human rate. The real-data tests are skipped, with
the reason, when the data is absent; the full run's figures are in docs/statistics.md."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from judgelab import datasets as D
from judgelab.stats.corrected import CORRECTED_IDS
from judgelab.stats.corrected.label_hiding import (
    hide_labels,
    label_hiding_summary,
    pair_share_units,
)
from judgelab.stats.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "validation" / "corrected_label_hiding.py"
DATA_ROOT = Path(os.environ.get("JUDGELAB_DATA") or ROOT.parent / "shared" / "data")


def _script():
    spec = importlib.util.spec_from_file_location("corrected_label_hiding", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _need(name: str, monkeypatch) -> None:
    folder = DATA_ROOT / D.info(name)["folder"]
    if not all((folder / f).is_file() for f in D.info(name)["required"]):
        pytest.skip(
            f"real data for '{name}' not found at {folder} (set JUDGELAB_DATA to a directory "
            "holding it, e.g. ../shared/data)"
        )
    monkeypatch.setenv("JUDGELAB_DATA", str(DATA_ROOT))  # the loaders look there


def test_pair_share_units_orient_average_orders_and_count_ties_half():
    v = pd.DataFrame(
        {
            "model": "m", "backend": "b", "judge_version": "v",
            "item_id": ["i1", "i1", "i2", "i2", "i3"],
            "response_a": ["x1", "y1", "x2", "y2", "x3"],
            "response_b": ["y1", "x1", "y2", "x2", "z3"],
            "order": ["ab", "ab", "ab", "ba", "ab"],
            "choice": ["A", "B", "A", "tie", "A"],
        }
    )  # fmt: skip
    prefs = pd.DataFrame(
        {
            "item_id": ["i1", "i1", "i2", "i3"],
            "response_a": ["y1", "x1", "x2", "x3"],
            "response_b": ["x1", "y1", "y2", "z3"],
            "rater_id": ["r1", "r2", "r1", "r1"],
            "preference": ["a", "tie", "b", "a"],
        }
    )  # fmt: skip
    u = pair_share_units(v, prefs, focal=["x1", "x2"]).set_index("item_id")
    assert list(u.index) == ["i1", "i2"]  # i3 has no focal response: left out
    # i1: x1 shown first and picked, then y1 first and x1 (B) picked -> 1; humans y1, tie -> 1/4
    assert u.loc["i1", "judge_share"] == 1.0 and u.loc["i1", "human_share"] == 0.25
    # i2: order ab picks x2 (1), order ba says tie (1/2): mean of the orders 3/4; human 0
    assert u.loc["i2", "judge_share"] == 0.75 and u.loc["i2", "human_share"] == 0.0
    assert (u["focal"] == ["x1", "x2"]).all() and u.loc["i1", "n_votes"] == 2


def test_hide_labels_refuses_units_without_a_label():
    units = pd.DataFrame({"item_id": [1, 2, 3], "judge": "j", "judge_share": [1, 0, 1],
                          "human_share": [1, None, 0]})  # fmt: skip
    with pytest.raises(DataError, match="human label on every unit"):
        hide_labels(units, seeds=[0])


def test_label_hiding_on_arena_picks_measures_against_the_all_label_rate(monkeypatch):
    _need("arena_judge_picks_2025", monkeypatch)
    mod = _script()
    units = mod.dataset_units("arena_judge_picks_2025")
    # the estimand, recomputed from the preferences: the share of battles whose voter
    # preferred Claude Opus 4's answer (one vote per battle, no tie)
    ds = D.load("arena_judge_picks_2025", path=DATA_ROOT)
    p = ds.preferences
    won = np.where(p["preference"] == "a", p["response_a"], p["response_b"])
    claude_wins = pd.Series(won, index=p["item_id"]).str.contains(":claude-opus-4")
    judged = units.groupby("judge")["item_id"].apply(set)
    assert sorted(j.split("|")[0] for j in judged.index) == ["gpt-4o-mini", "gpt-5.2"]
    rep = hide_labels(units, shares=(0.10, 1.0), seeds=[0, 1, 2], groups=mod.GROUPS)
    assert set(rep["id"]) == set(CORRECTED_IDS)
    assert len(rep) == 2 * 2 * 3 * 4  # judges x shares x seeds x estimators
    for judge, items in judged.items():
        truth = claude_wins.loc[sorted(items)].mean()
        r = rep[rep["judge"] == judge]
        assert np.allclose(r["truth"], truth)
        ten = r[r["share"] == 0.10]
        assert ten["n_labelled"].between(80, 95).all()  # 10% of 877 battles, whole items
        # every label kept: the human-only rate is the estimand itself
        full = r[(r["share"] == 1.0) & (r["id"] == "human_only_rate")]
        assert np.allclose(full["estimate"].astype(float), truth)
    summary = label_hiding_summary(rep, groups=mod.GROUPS)
    assert len(summary) == 2 * 2 * 4
    row = summary[(summary["share"] == 0.10) & (summary["id"] == "ppi_rate")].iloc[0]
    r = rep[(rep["judge"] == row["judge"]) & (rep["share"] == 0.10) & (rep["id"] == "ppi_rate")]
    covers = (r["ci_low"].astype(float) <= row["truth"]) & (
        row["truth"] <= r["ci_high"].astype(float)
    )
    assert row["coverage"] == pytest.approx(covers.mean())
    assert row["bias"] == pytest.approx((r["estimate"].astype(float) - row["truth"]).mean())
    # the naive rate is the judge's share: the same on every seed, far from the human rate
    naive = summary[(summary["id"] == "naive_rate") & (summary["share"] == 0.10)]
    assert (naive["bias"].abs() > 0.1).all() and (naive["coverage"] == 0).all()


def test_label_hiding_on_mt_bench_uses_the_item_cluster_bootstrap(monkeypatch):
    _need("mt_bench_gpt4_pair_and_human", monkeypatch)
    mod = _script()
    units = mod.dataset_units("mt_bench_gpt4_pair_and_human")
    assert units["target"].nunique() == 6 and units["item_id"].nunique() == 160
    # units of one generator are several pairs of one item: clustered
    assert units.groupby(["target", "item_id"]).size().max() > 1
    rep = hide_labels(units, shares=(0.10,), seeds=[0, 1], groups=mod.GROUPS, n_boot=200)
    ppi = rep[rep["id"] == "ppi_rate"]
    assert ppi["method"].str.contains("cluster bootstrap over items").all()
    assert (ppi["n_items"] == units.groupby("target")["item_id"].nunique().max()).any()
    truth = units.groupby("target")["human_share"].mean()
    assert np.allclose(ppi["truth"], ppi["target"].map(truth))
