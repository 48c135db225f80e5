"""Issue 12 item 7: parameters are typed and checked against the study declarations before
the kernel starts and before any call, by ``judgelab run`` (``--dry-run`` included),
``judgelab demo -p`` and ``studies.prepare`` (interactive runs)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from judgelab import studies, study
from judgelab.cli import app

# the measured cases of the issue, and the usual ones: (-p NAME VALUE, what the error says)
BAD = [
    (("n_boot", "many"), "n_boot: got 'many' (str); accepts an integer >= 1"),
    (("n_boot", "0"), "n_boot: got 0 (int); accepts an integer >= 1"),
    (("dry_run", "maybe"), "dry_run: got 'maybe' (str); accepts true or false"),
    (("tie_policy", "maybe"), "tie_policy: got 'maybe' (str); accepts one of class, drop, half"),
    (("n_pairs", "fifty"), "n_pairs: got 'fifty' (str); accepts an integer >= 1, or null"),
    (("seed", "1.5"), "seed: got 1.5 (float); accepts an integer >= 0"),
    (("max_cost_usd", "-1"), "max_cost_usd: got -1.0 (float); accepts a number >= 0, or null"),
    (("max_cost_usd", ".nan"), "max_cost_usd: got nan (float); accepts a number >= 0, or null"),
    (("concurrency", "0"), "concurrency: got 0 (int); accepts an integer >= 1"),
    (("order_aggregation", "both"), "order_aggregation: got 'both' (str); accepts one of"),
    (("n_pair", "3"), "unknown parameter 'n_pair'; valid parameters: dataset,"),
    # issue 15: a margin of the decisive verdicts is > 0 and, for a share around 0.5, < 0.5
    (("share_margin", "-0.05"), "share_margin: got -0.05 (float); accepts a number in (0, 0.5)"),
    (("share_margin", "0.5"), "share_margin: got 0.5 (float); accepts a number in (0, 0.5)"),
]


@pytest.mark.parametrize("dry", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("given,message", BAD, ids=[f"{n}={v}" for (n, v), _ in BAD])
def test_run_refuses_a_bad_parameter_before_anything_is_judged(tmp_path, given, message, dry):
    store = tmp_path / "store.sqlite"
    args = ["run", "position_bias", "-p", *given, "-p", "store", str(store)]
    args += ["--out", str(tmp_path / "out")] + (["--dry-run"] if dry else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not store.exists() and not (tmp_path / "out").exists()  # nothing judged or written


def test_unknown_name_suggests_the_closest():
    result = CliRunner().invoke(app, ["run", "position_bias", "-p", "n_pair", "3"])
    assert result.exit_code == 1
    assert "did you mean n_pairs" in result.output


def test_values_are_coerced_losslessly_before_the_kernel_gets_them():
    from judgelab import report

    typed = report.typed_parameters(
        "calibration_audit",
        {"n_boot": "500", "alpha": "0.25", "ensemble": "no", "n_pairs": "null"},
    )
    assert typed == {"n_boot": 500, "alpha": 0.25, "ensemble": False, "n_pairs": None}
    assert isinstance(typed["alpha"], float)


def test_ranges_of_the_declarations():
    fe = study.declaration("family_entanglement")
    assert fe.parameter("calibration_share").problem(0.5) is None
    for edge in (0, 1, 0.0, 1.0):  # both the fit and the evaluation need items
        assert "accepts a number in (0, 1)" in fe.parameter("calibration_share").problem(edge)
    jc = study.declaration("judge_comparison")
    assert jc.parameter("margin").problem(0) is None
    assert "accepts a number in [0, 1)" in jc.parameter("margin").problem(1)
    assert "n_perm: got 0" in study.declaration("position_bias").parameter("n_perm").problem(0)


def test_demo_refuses_a_name_no_study_takes(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "-p", "n_pair", "100"])
    assert result.exit_code == 1
    assert "no study of the demo takes unknown parameter 'n_pair'" in result.output
    assert "did you mean n_pairs" in result.output
    assert not out.exists()


def test_demo_checks_values_for_every_study_before_any_runs(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "-p", "n_boot", "lots"])
    assert result.exit_code == 1
    assert "n_boot: got 'lots' (str); accepts an integer >= 1" in result.output
    assert not out.exists()


def test_demo_parameters_go_to_the_studies_that_take_them():
    from judgelab.report.demo_runs import demo_parameters

    typed = demo_parameters(
        ["position_bias", "family_entanglement"], {"n_pairs": "20", "min_raters": 3}
    )
    assert typed == {
        "position_bias": {"n_pairs": 20},
        "family_entanglement": {"n_pairs": 20, "min_raters": 3},
    }


def test_prepare_checks_as_the_cli_does(tmp_path):
    store = tmp_path / "store.sqlite"
    with pytest.raises(study.StudyParameterError, match="tie_policy: got 'maybe'"):
        studies.prepare("position_bias", tie_policy="maybe", store=str(store))
    with pytest.raises(study.StudyParameterError, match="n_pairs: got 'fifty'"):
        studies.prepare("self_preference", n_pairs="fifty", store=str(store))
    # a study without a declaration still has its shared parameters checked
    with pytest.raises(study.StudyParameterError, match="dry_run: got 'maybe'"):
        studies.prepare("toy", dry_run="maybe", store=str(store))
    assert not store.exists()
