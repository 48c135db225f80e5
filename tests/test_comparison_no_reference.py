"""judge_comparison without any human reference (issue 13): two AlpacaEval annotators on the
same pairs, written here as synthetic files in AlpacaEval's format. The study runs: agreement
and kappa with the source are estimated, every accuracy finding is undefined with the reason."""

from __future__ import annotations

import json
import warnings

import pytest
from typer.testing import CliRunner

from judgelab.check import check_dataset
from judgelab.importers import import_verdicts

N = 24


def annotation(i, preference, annotator):
    return {
        "instruction": f"instruction {i}",
        "output_1": f"baseline answer {i}",
        "generator_1": "gpt4_1106_preview",
        "dataset": "helpful_base",
        "output_2": f"model answer {i}",
        "generator_2": "alpaca-7b",
        "annotator": annotator,
        "preference": preference,
        "price_per_example": 0.01,
        "time_per_example": 1.0,
        "raw_completion": {"concise_explanation": "x", "ordered_models": []},
        "referenced_models": {"m": "output_1", "M": "output_2"},
    }


@pytest.fixture(scope="module")
def two_annotators(tmp_path_factory):
    root = tmp_path_factory.mktemp("ae")
    paths = []
    # the second annotator disagrees with the first on every sixth pair
    for annotator, flip in (("alpaca_eval_cot_gpt4_turbo_fn", 0), ("alpaca_eval_gpt4_turbo_fn", 1)):
        records = [
            annotation(i, 1.0 + ((i % 3 == 0) ^ (flip and i % 6 == 0)), annotator) for i in range(N)
        ]
        path = root / annotator / "annotations.json"
        path.parent.mkdir()
        path.write_text(json.dumps(records))
        paths.append(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import_verdicts("alpaca_eval", paths, root / "ds")
    return root / "ds"


def test_check_says_accuracy_is_undefined(two_annotators):
    report = check_dataset(two_annotators)
    comparison = {s.study: s for s in report.studies}["judge_comparison"]
    assert comparison.supported
    assert any("accuracy findings are undefined" in n for n in comparison.notes)


def test_comparison_runs_without_a_human_reference(two_annotators, tmp_path):
    from judgelab.cli import app

    source = "{model: gpt-4-1106-preview, judge_version: alpaca_eval_cot_gpt4_turbo_fn}"
    args = ["run", "judge_comparison", "-p", "dataset", str(two_annotators)]
    args += ["-p", "verdicts", "dataset", "-p", "judges", "null", "-p", "allow_mixed", "true"]
    args += ["-p", "source", source, "-p", "ensemble", source, "-p", "n_boot", "50"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    findings = json.loads((tmp_path / "cmp" / "findings.json").read_text())["findings"]
    other = "gpt-4-1106-preview|alpaca_eval|alpaca_eval_gpt4_turbo_fn"
    agreement = {f["id"]: f for f in findings if f.get("judge") == other}
    assert agreement["agreement_with_source"]["estimate"] == pytest.approx(1 - 4 / N)
    assert agreement["kappa_with_source"]["estimate"] is not None
    accuracy = [
        f
        for f in findings
        if f["id"]
        in ("accuracy_vs_human", "accuracy_difference", "certified_coverage", "certified_agreement")
    ]
    assert accuracy and all(f["estimate"] is None for f in accuracy)
    assert all("neither human preferences nor truth" in f["reason"] for f in accuracy)
