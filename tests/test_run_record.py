"""judgelab.run_record and judgelab.findings: the save step writes findings, conclusions and one
versioned run record, the same for a notebook run and a CLI run."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import pandas as pd
import pytest

from judgelab import findings, judge_specs, run_record, studies
from judgelab.identity import identities_table
from judgelab.stats._tidy import finding, findings_frame


@pytest.fixture
def ctx(toy_verdicts):
    return studies.prepare("toy", verdicts=str(toy_verdicts), judges=None, n_boot=50)


def _rows(judges):
    rows = []
    for j, p in zip(judges, (0.01, 0.04), strict=True):
        rows.append(
            finding(
                "first_slot_share", 0.6, judge=j, p_value=p, primary=True, conclusion=f"{j} first."
            )
        )
        rows.append(finding("position_consistency", 0.8, judge=j, conclusion="Consistent."))
    return findings_frame(rows)


def test_save_step_writes_a_versioned_run_record(ctx, tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGELAB_OUT", str(tmp_path))
    monkeypatch.delenv(run_record.PARAMETERS_GIVEN_ENV, raising=False)
    judges = ctx.verdicts["judge"].unique().tolist()
    saved = ctx.save_findings(_rows(judges))
    rec = run_record.read_run_record(tmp_path)
    assert rec["schema_version"] == run_record.SCHEMA_VERSION
    assert rec["study"]["name"] == "toy" and rec["study"]["version"] is None
    given = rec["parameters"]["given"]  # what prepare() was passed (no declaration to compare)
    assert set(given) == {"verdicts", "judges", "n_boot"} and given["n_boot"] == 50
    assert rec["parameters"]["effective"] == json.loads(json.dumps(ctx.parameters))
    assert rec["dataset"] == {"name": "demo", "sha256": ctx.dataset.sha256}
    assert [j["judge"] for j in rec["judges"]] == judges
    assert all(j["settings"] is None for j in rec["judges"])  # stored verdicts carry no settings
    assert rec["calls"]["source"] == "stored" and rec["calls"]["stopped"] is False
    assert rec["findings"] == {"path": "findings.json", "n": len(saved), "conclusions": []}
    assert rec["packages"]["pandas"] == pd.__version__ and "litellm" in rec["packages"]
    assert set(rec) >= {"code", "created_at"}
    # findings.json itself keeps the documented keys; p-values adjusted once, at the save
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert list(doc) == [
        "study",
        "created_at",
        "judgelab_version",
        "parameters",
        "data",
        "judges",
        "findings",
    ]
    assert saved["p_adjusted"].dropna().tolist() == pytest.approx([0.02, 0.04])


def test_cli_given_parameters_and_newer_schemas(ctx, tmp_path, monkeypatch):
    monkeypatch.setenv(run_record.PARAMETERS_GIVEN_ENV, json.dumps({"n_boot": 50}))
    rec = run_record.build_run_record(ctx)
    assert rec["parameters"]["given"] == {"n_boot": 50}
    path = run_record.write_run_record({**rec, "schema_version": 99}, tmp_path)
    with pytest.raises(ValueError, match="schema_version 99"):
        run_record.read_run_record(path)


def test_call_summary_totals_and_budget_stop():
    s = run_record.call_summary(
        [
            {
                "mode": "call",
                "calls": 10,
                "cached": 4,
                "sent": 6,
                "cost_usd": 0.5,
                "not_sent_budget": 0,
            },
            {
                "protocol": "single",
                "calls": 5,
                "cached": 0,
                "sent": 3,
                "cost_usd": 0.25,
                "not_sent_budget": 2,
            },
        ]
    )
    assert (s["calls"], s["cached"], s["sent"], s["cost_usd"]) == (15, 4, 9, 0.75)
    assert s["stopped"] is True and s["source"] == "call" and s["batches"] == 2


def test_called_judges_record_the_settings_their_version_hashes():
    from judgelab.judges import canonical_json

    specs = judge_specs.resolve_judges("panel:demo/aurora-lite")
    j = specs[0]
    ctx = SimpleNamespace(
        judges=[{"model": j.model, "backend": "b", "judge_version": j.version, "family": "aurora"}],
        judge_specs=specs,
    )
    (rec,) = run_record._judges(ctx)
    digest = hashlib.sha256(canonical_json(rec["settings"]).encode()).hexdigest()[:12]
    assert j.version.endswith(digest) and rec["judge"] == f"{j.model}|b|{j.version}"


def test_conclusions_are_rendered_from_adjusted_rows(monkeypatch):
    judges = ["judgelab-sim/aurora-mini|s|v1", "judgelab-sim/basalt-s|s|v1"]
    f = findings.adjust(_rows(judges))
    assert findings.conclusions_markdown("position_bias", f, judges) == (
        f"* **aurora-mini**: {judges[0]} first. Consistent.\n"
        f"* **basalt-s**: {judges[1]} first. Consistent."
    )
    # a registered renderer reads the adjusted p-value; other rows keep their sentence
    monkeypatch.setitem(
        findings.CONCLUSION_RENDERERS,
        "first_slot_share",
        lambda r: f"p_adj={r['p_adjusted']:.2f}",
    )
    out = findings.render_conclusions(f)
    assert out["conclusion"].tolist() == ["p_adj=0.02", "Consistent.", "p_adj=0.04", "Consistent."]
    assert findings.conclusions("toy", f) == []


def test_findings_names_have_one_home():
    # the save step's names live in judgelab.findings only (no re-export from studies)
    for name in (
        "write_findings",
        "findings_document",
        "FINDINGS_TABLE_CLASS",
        "adjusted_findings",
    ):
        assert hasattr(findings, name) and not hasattr(studies, name), name
    assert findings._estimate_text(0.5, 0.4, 0.6, 0.95) == "0.5 [0.4, 0.6]"
    assert identities_table(None).empty


def test_builtin_renderers_read_the_adjusted_p_value():
    """position_findings returns unadjusted rows; the save step's adjustment and the declared
    renderer write the first-slot conclusion from the Holm-adjusted p-value, and the MDE
    stays only beside the non-significant primary row."""
    rows = [
        finding("first_slot_share", 0.9, judge="m|b|v1", p_value=0.01, primary=True, n=40,
                mde=0.2),
        finding("first_slot_share", 0.55, judge="m|b|v2", p_value=0.4, primary=True, n=40,
                mde=0.2),
    ]  # fmt: skip
    out = findings.adjusted_findings(findings_frame(rows)).set_index("judge")
    assert out["p_adjusted"].tolist() == [0.02, 0.4]
    assert out.at["m|b|v1", "mde"] is None and out.at["m|b|v2", "mde"] == 0.2
    assert out.at["m|b|v1", "conclusion"].startswith("Position bias: when its verdict flips")
    assert out.at["m|b|v1", "conclusion"].endswith("Holm-adjusted p = 0.02.")
    assert "beyond 0.5 ± 0.20" in out.at["m|b|v2", "conclusion"]
