"""The calibration_audit study end to end through the CLI and findings.json (issue 7 item 5):
a judge planted noisier than the gate allows fails it and a near-noiseless one passes on the
demo data; the report carries every finding id, the figures and the escalation queue.

One notebook execution (two simulated judges, 120 demo pairs, both orders, B = 200)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from findings_baseline import assert_same_findings

SHARP = "{model: judgelab-sim/cal-sharp, sim: {noise: 0.05, tie_band: 0.05}}"
NOISY = "{model: judgelab-sim/cal-noisy, sim: {noise: 2.0}}"


@pytest.fixture(scope="module")
def audit_run(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration") / "report"
    res = cli(
        "run", "calibration_audit",
        "-p", "judges", f"[{SHARP}, {NOISY}]",
        "-p", "n_pairs", "120",
        "-p", "tie_policy", "drop",
        "-p", "n_boot", "200",
        "-p", "store", out.parent / "store.sqlite",
        "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert_same_findings(json.loads((out / "findings.json").read_text()), "calibration_audit_demo")
    return out


def _rows(doc, fid):
    return [f for f in doc["findings"] if f["id"] == fid]


def _of(rows, name):
    (row,) = [r for r in rows if r["judge"] and f"judgelab-sim/{name}|" in r["judge"]]
    return row


def test_gate_passes_a_near_noiseless_judge_and_fails_a_noisy_one(audit_run):
    doc = json.loads((audit_run / "findings.json").read_text())
    gates = _rows(doc, "gate")
    sharp, noisy = _of(gates, "cal-sharp"), _of(gates, "cal-noisy")
    # findings.json keeps the gate's structured columns: read them, not the conclusion's words
    assert sharp["estimate"] == 2 and sharp["established"] is True, sharp["conclusion"]
    assert sharp["gate_label"] == "pass" and sharp["gate_at_ci_low"] == 2
    assert noisy["estimate"] == 0 and noisy["established"] is False, noisy["conclusion"]
    # the gate is stated beside the human ceiling and the alternative-annotator gap
    assert sharp["human_kappa"] is not None and sharp["alternative_annotator_gap"] is not None
    kappa = _of([r for r in _rows(doc, "cohen_kappa") if r["slice"] is None], "cal-sharp")
    assert kappa["ci_low"] >= 0.75 and "tie_policy=drop" in kappa["method"]
    aag = _rows(doc, "alternative_annotator_gap")
    assert _of(aag, "cal-sharp")["estimate"] > _of(aag, "cal-noisy")["estimate"]
    assert _of(aag, "cal-noisy")["ci_high"] < -0.05  # far from a human annotator


def test_report_has_every_finding_and_the_escalation_queue(audit_run):
    doc = json.loads((audit_run / "findings.json").read_text())
    ids = {f["id"] for f in doc["findings"]}
    assert {
        "accuracy", "cohen_kappa", "macro_f1", "human_ceiling", "human_vote_agreement",
        "alternative_annotator_gap", "signed_bias", "gate", "ranking_kendall_tau", "separability",
    } <= ids  # fmt: skip
    slices = [f["slice"] for f in doc["findings"] if f["slice"]]
    assert {"family": "aurora"} in slices and {"ensemble": "majority"} in slices
    assert any("subset" in s for s in slices)  # per item category
    primary = [f for f in doc["findings"] if f["primary"]]
    assert len(primary) == 2 and all(
        f["id"] == "signed_bias" and f["p_adjusted"] is not None for f in primary
    )
    for f in doc["findings"]:
        assert f["estimate"] is not None or f["reason"], f
    q = pd.read_csv(audit_run / "escalation_queue.csv")
    assert {"judge", "item_id", "reason", "value"} <= set(q.columns)
    assert (q["reason"] == "orders_disagree").any()  # the noisy judge flips orders
    # 60 calibration pairs certify no threshold at alpha = 0.1 (128 kept items needed): every
    # pair of every judge is queued, never silently trusted
    cert = q[q["reason"] == "not_certified"]
    assert len(cert) and (cert["value"] == 0.1).all()
    assert cert.groupby("judge")["item_id"].size().nunique() == 1
    # a pairwise audit has no rubric sections: the report shows no heading or note about them
    html = (audit_run / "calibration_audit.html").read_text()
    assert "Calibration audit" in html and "ubric section" not in html
    figures = {p.name for p in (audit_run / "figures").iterdir()}
    for name in ("agreement_vs_ceiling", "signed_bias", "confusion", "ranking"):
        assert f"{name}.svg" in figures
