"""The family-entanglement study end to end: ``judgelab run family_entanglement`` on verdicts
of 9 simulated judges (3 per family), read back from findings.json.

Two small notebook executions (200 human pairs, n_boot 200): a panel with planted family
taste (correlated errors inside each family) must show positive alpha and error-correlation
gaps with CIs above 0; the null panel (no bias, unequal noise) must not, and none of its
Holm-adjusted primary p-values may fall below 0.005 (STATISTICS.md, end-to-end tests).
Verdicts are drawn with ``judgelab.sim.sample_verdicts`` and passed as a CSV verdict file,
so the tests exercise the study, not the judging path (tested in test_run.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from findings_baseline import assert_same_findings

import judgelab as jl
from judgelab import sim

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, name: str, judges) -> tuple[dict, Path]:
    ds = jl.load_dataset("demo")
    v = sim.sample_verdicts(
        ds.pairs("human", n_pairs=200, seed=0), sim.responses_frame(ds), judges, seed=0
    )
    csv = tmp_path / f"{name}.csv"
    v.to_csv(csv, index=False)
    out = tmp_path / name
    cmd = [
        sys.executable, "-m", "judgelab", "run", "family_entanglement",
        "-p", "verdicts", str(csv), "-p", "n_boot", "200", "-p", "seed", "1",
        "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "findings.json").read_text())
    assert_same_findings(doc, f"entanglement_cli__{name}")
    return doc, out


def _primary(doc: dict, fid: str) -> dict:
    rows = [f for f in doc["findings"] if f["id"] == fid and f["primary"]]
    assert len(rows) == 1, fid
    return rows[0]


def test_planted_family_taste_through_the_cli(tmp_path):
    judges = [sim.judge(n, **{**p, "family_taste": 1.0}) for n, p in sim.PANELS["null"].items()]
    doc, out = _run(tmp_path, "taste", judges)
    assert doc["study"] == "family_entanglement"
    assert len(doc["judges"]) == 9
    for fid in ("alpha_gap", "error_correlation_gap"):
        f = _primary(doc, fid)
        assert f["estimate"] > 0 and f["ci_low"] > 0, f
        assert f["p_adjusted"] < 0.05
    ids = {f["id"] for f in doc["findings"]}
    assert {
        "pairwise_kappa", "alpha_within_family", "alpha_across_families", "error_correlation_within",
        "error_correlation_across", "effective_independent_judges", "ensemble_accuracy",
        "ensemble_coverage", "ensemble_accuracy_difference", "outlier_rate",
    } <= ids  # fmt: skip
    assert sum(f["id"] == "pairwise_kappa" for f in doc["findings"]) == 36
    # the review queue holds exactly the units the unanimous panel leaves undecided
    cov = next(f for f in doc["findings"] if f["id"] == "ensemble_coverage")
    queue = pd.read_csv(out / "review_queue.csv")
    assert len(queue) == round((1 - cov["estimate"]) * cov["n"]) > 0
    assert f"{len(queue)} units go to human review" in cov["conclusion"]
    for fig in ("kappa_heatmap", "within_vs_across", "ensembles"):
        assert (out / "figures" / f"{fig}.svg").exists()


def test_null_panel_through_the_cli(tmp_path):
    doc, _ = _run(tmp_path, "null", sim.panel("null"))
    for fid in ("alpha_gap", "error_correlation_gap"):
        f = _primary(doc, fid)
        assert not f["ci_low"] > 0, f
        assert "could detect" in f["conclusion"]  # the minimum detectable effect is stated
    for f in doc["findings"]:
        if f["primary"] and f["p_adjusted"] is not None:
            assert f["p_adjusted"] >= 0.005, f
