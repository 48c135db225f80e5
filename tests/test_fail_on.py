"""``judgelab run ... --fail-on``: conditions, exit codes, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TOY_CALL

from judgelab.stats._tidy import finding
from judgelab.stats.decision import FAIL_ON, apply_decisions, fail_on_reasons, parse_fail_on
from judgelab.stats.estimands import ESTIMANDS


def _rows(*rows):
    import pandas as pd

    return apply_decisions(pd.DataFrame(list(rows))).to_dict("records")


GATE_OK = finding(
    "gate", 2, judge="j", n=200, verdict="stand_in", required_level="pass", kappa=0.85,
    kappa_ci_low=0.8, kappa_ci_high=0.9, pass_kappa=0.75, warn_kappa=0.6,
)  # fmt: skip
GATE_OPEN = {**GATE_OK, "judge": "k", "verdict": "not_established", "kappa_ci_low": 0.7}
BIAS = finding("first_slot_share", 0.7, judge="j", ci_low=0.6, ci_high=0.8, n=80, primary=True)
NO_BIAS = finding(
    "first_slot_share", 0.5, judge="k", ci_low=0.47, ci_high=0.53, n=900, primary=True
)


def test_parse():
    assert parse_fail_on(None) == () and parse_fail_on(" ") == ()
    assert parse_fail_on("gate, bias,gate") == ("gate", "bias")
    with pytest.raises(ValueError, match="unknown condition.*valid: gate"):
        parse_fail_on("gates")


def test_conditions():
    rows = _rows(GATE_OK, GATE_OPEN, BIAS, NO_BIAS)
    gate = fail_on_reasons(rows, ["gate"])
    assert len(gate) == 1 and gate[0].startswith("gate inconclusive: gate, judge k")
    bias = fail_on_reasons(rows, ["bias"])
    assert len(bias) == 1 and "judge j" in bias[0]
    assert len(fail_on_reasons(rows, ["inconclusive"])) == 1
    assert fail_on_reasons(_rows(GATE_OK, NO_BIAS), ["gate", "bias"]) == []
    # asking for a gate where there is none is not a pass
    assert fail_on_reasons(_rows(NO_BIAS), ["gate"]) == [
        "gate: the findings hold no gate row to check"
    ]


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """``judgelab run`` in-process with the study execution replaced by one writing the given
    findings.json (the CLI's parsing, checks and exit codes run as they are)."""
    from judgelab import inputs, report
    from judgelab.report import RunResult

    def with_findings(rows):
        def run_study(study, values, out, **kw):
            out = Path(out)
            out.mkdir(parents=True, exist_ok=True)
            (out / "findings.json").write_text(json.dumps({"study": study, "findings": rows}))
            return RunResult(study, out, "ok", out / "x.ipynb", None, out / "findings.json",
                             out / "manifest.json", 0.0)  # fmt: skip

        monkeypatch.setattr(report, "run_study", run_study)
        monkeypatch.setattr(inputs, "check_inputs", lambda *a, **k: None)

    return with_findings


@pytest.mark.parametrize(
    "rows, spec, code",
    [
        ([GATE_OK, NO_BIAS], "gate,bias", 0),
        ([GATE_OK, GATE_OPEN], "gate", 4),
        ([GATE_OK, BIAS], "gate", 0),
        ([GATE_OK, BIAS], "bias", 4),
        ([NO_BIAS], "gate", 4),
        ([GATE_OPEN], "", 0),  # no condition: the verdicts never change the exit code
    ],
)
def test_exit_codes(cli, fake_run, tmp_path, rows, spec, code):
    fake_run(_rows(*rows))
    res = cli("run", "toy", "--out", tmp_path / "out", "--fail-on", spec)
    assert res.exit_code == code, res.output
    if code == 4:
        assert "--fail-on" in res.output and "met by" in res.output


def test_bad_condition_stops_before_the_run(cli, fake_run, tmp_path):
    fake_run([])
    res = cli("run", "toy", "--out", tmp_path / "out", "--fail-on", "everything")
    assert res.exit_code == 1 and "unknown condition" in res.output
    assert not (tmp_path / "out").exists()


def test_help_documents_the_conditions_and_exit_codes(cli):
    text = " ".join(cli("run", "--help").output.split())
    for name in FAIL_ON:
        assert f"{name} =" in text
    assert "4 a --fail-on condition met" in text


def test_real_toy_run(cli, toy_run, tmp_path):
    """A real run (the toy study, calls cached in the toy run's store): the exit code is 4
    exactly when its findings.json has a finding meeting the condition."""
    store = toy_run.parent / "store.sqlite"
    out = tmp_path / "toy"
    res = cli("run", "toy", *TOY_CALL, "-p", "store", store, "--out", out,
              "--fail-on", "bias,inconclusive")  # fmt: skip
    doc = json.loads((out / "findings.json").read_text())
    assert all(r.get("estimand") for r in doc["findings"] if r["id"] in ESTIMANDS)
    reasons = fail_on_reasons(doc["findings"], ["bias", "inconclusive"])
    assert any(r.get("decision") for r in doc["findings"])
    assert res.exit_code == (4 if reasons else 0), res.output
