"""``judgelab check``: validation, which studies a dataset supports and the parameters they need.

The command is tested on a local typer app (cli.py registers it on the main one). The last
two tests use the real Inspect and promptfoo files of ``tool_outputs/`` (skipped when absent):
``check`` names what is missing, and once the test writes a small human-label CSV the
calibration audit runs through the CLI.
"""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from judgelab.check import check_command, check_dataset, render_check

app = typer.Typer()
app.command("check")(check_command)


@app.command("noop")  # a second command keeps `check` a subcommand, as on the main app
def _noop():
    pass


def _invoke(*args):
    return CliRunner().invoke(app, ["check", *map(str, args)])


def _write(directory, **tables):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dataset.yaml").write_text("name: toy\nlicence: CC0-1.0\n")
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


def _items_responses(n_items=6):
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(n_items)], "prompt": "q"})
    responses = pd.DataFrame(
        [
            (f"i{k}-{g}", f"i{k}", g, f"answer of {g}")
            for k in range(n_items)
            for g in ("gpt-4o", "claude-3")
        ],
        columns=["response_id", "item_id", "generator", "text"],
    )
    return items, responses


def _pairwise_verdicts(n_items=6, judges=("gpt-4o", "llama-3"), orders=("ab", "ba")):
    rows = []
    for judge in judges:
        for k in range(n_items):
            for order in orders:
                rows.append(
                    dict(
                        model=judge,
                        backend="published",
                        judge_version="v1",
                        protocol="pairwise",
                        item_id=f"i{k}",
                        response_a=f"i{k}-gpt-4o",
                        response_b=f"i{k}-claude-3",
                        order=order,
                        choice="A" if (k + len(order)) % 2 else "B",
                        parse_ok=True,
                    )
                )
    return pd.DataFrame(rows)


def _by_study(report):
    return {s.study: s for s in report.studies}


def test_demo_supports_every_study_by_judging_now():
    report = check_dataset("demo")
    assert report.valid and report.supported() == [
        "position_bias",
        "self_preference",
        "family_entanglement",
        "calibration_audit",
        "judge_comparison",
        "corrected_estimate",
    ]
    comparison = _by_study(report)["judge_comparison"]
    assert "source" in comparison.parameters and "source_judge" in comparison.parameters


def test_invalid_dataset_exits_non_zero_with_the_reason(tmp_path):
    items, responses = _items_responses()
    responses.loc[0, "item_id"] = "nowhere"
    directory = _write(tmp_path / "bad", items=items, responses=responses)
    report = check_dataset(directory)
    assert not report.valid and "unknown item" in report.error and report.studies == []
    res = _invoke(directory)
    assert res.exit_code == 1
    assert "does NOT validate" in res.output and "unknown item" in res.output
    missing = _invoke(tmp_path / "absent")
    assert missing.exit_code == 1 and "nor a dataset directory" in missing.output


def test_stored_pairwise_verdicts_in_both_orders(tmp_path):
    items, responses = _items_responses()
    responses["text"] = None  # published votes only: nothing can be judged now
    directory = _write(
        tmp_path / "pw", items=items, responses=responses, verdicts=_pairwise_verdicts()
    )
    report = check_dataset(directory)
    by = _by_study(report)
    assert report.facts["pairs_in_both_orders"] == 12
    assert by["position_bias"].supported
    # judges left at its default analyses every stored identity: nothing else to give
    assert by["position_bias"].parameters == {"verdicts": "dataset"}
    comparison = by["judge_comparison"]
    assert comparison.supported
    assert comparison.parameters["source"] == {"model": "gpt-4o", "judge_version": "v1"}
    assert "ensemble" not in comparison.parameters  # derived from the stored identities
    assert any("no cost is recorded" in n for n in comparison.notes)
    assert any("accuracy findings are undefined" in n for n in comparison.notes)
    calibration = by["calibration_audit"]
    assert not calibration.supported and "preferences.csv" in calibration.missing[0]
    assert not by["family_entanglement"].supported
    assert not by["corrected_estimate"].supported
    assert "preferences.csv" in by["corrected_estimate"].missing[0]
    # a human reference makes the audit and the entanglement study possible
    prefs = pd.DataFrame(
        [(f"i{k}", f"i{k}-gpt-4o", f"i{k}-claude-3", r, "a") for k in range(6) for r in "xy"],
        columns=["item_id", "response_a", "response_b", "rater_id", "preference"],
    )
    prefs.to_csv(directory / "preferences.csv", index=False)
    by = _by_study(check_dataset(directory))
    assert by["calibration_audit"].supported
    assert by["family_entanglement"].parameters["reference"] == "human"
    assert by["corrected_estimate"].parameters == {"verdicts": "dataset"}
    res = _invoke(directory, "--json")
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert doc["valid"] and {s["study"] for s in doc["studies"] if s["supported"]} >= {
        "position_bias",
        "calibration_audit",
    }


def test_one_order_one_judge_names_what_is_missing(tmp_path):
    items, responses = _items_responses()
    responses["text"] = None
    verdicts = _pairwise_verdicts(judges=("gpt-4o",), orders=("ab",))
    directory = _write(tmp_path / "one", items=items, responses=responses, verdicts=verdicts)
    by = _by_study(check_dataset(directory))
    assert not by["position_bias"].supported
    assert "both orders" in by["position_bias"].missing[0]
    assert not by["judge_comparison"].supported
    assert "at least 2 judge identities" in by["judge_comparison"].missing[0]
    assert by["self_preference"].supported  # gpt-4o judges its own answers
    text = render_check(check_dataset(directory))
    assert "position_bias: no" in text and "missing: pairwise verdicts in both orders" in text


def test_single_scores_with_labels_suggest_the_single_protocol(tmp_path):
    items, responses = _items_responses()
    verdicts = pd.DataFrame(
        dict(
            model="gpt-4o",
            backend="published",
            judge_version="v1",
            protocol="single",
            item_id=responses["item_id"],
            response_id=responses["response_id"],
            score=[1, 2, 3, 4, 5, 3, 2, 1, 4, 5, 2, 3],
            parse_ok=True,
        )
    )
    labels = pd.DataFrame({"response_id": responses["response_id"], "rater_id": "h1", "score": 3})
    directory = _write(
        tmp_path / "single", items=items, responses=responses, verdicts=verdicts, labels=labels
    )
    audit = _by_study(check_dataset(directory))["calibration_audit"]
    assert audit.supported and audit.parameters["protocol"] == "single"
    assert audit.parameters["verdicts"] == "dataset"
    corrected = _by_study(check_dataset(directory))["corrected_estimate"]
    assert corrected.supported and corrected.parameters == {
        "verdicts": "dataset",
        "protocol": "single",
    }


# ------------------------------------------------- real Inspect and promptfoo imports
def _tools():
    from test_importers_real import INSPECT, PF, TOOLS

    if not TOOLS.is_dir():
        pytest.skip(f"real tool outputs not found at {TOOLS}")
    return {
        "inspect": ("inspect", sorted(INSPECT.glob("*.eval")) + sorted(INSPECT.glob("*.json"))),
        "promptfoo": ("promptfoo", [PF / "promptfoo-action_output.json"]),
    }


@pytest.mark.parametrize("tool", ["inspect", "promptfoo"])
def test_check_then_calibration_audit_on_an_import(tool, tmp_path):
    from judgelab.cli import app as main_app
    from judgelab.importers import import_verdicts

    fmt, paths = _tools()[tool]
    directory = tmp_path / tool
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import_verdicts(fmt, paths, directory)
    before = _by_study(check_dataset(directory))["calibration_audit"]
    assert not before.supported and "labels.csv" in before.missing[0]
    # the user's small human-label CSV: two raters, a pass (1) or fail (0) per response
    responses = pd.read_csv(directory / "responses.csv")
    labels = pd.DataFrame(
        [
            (rid, rater, float((k + (rater == "h2")) % 3 != 0))
            for k, rid in enumerate(responses["response_id"])
            for rater in ("h1", "h2")
        ],
        columns=["response_id", "rater_id", "score"],
    )
    labels.to_csv(directory / "labels.csv", index=False)
    after = _by_study(check_dataset(directory))["calibration_audit"]
    assert after.supported
    assert after.parameters["protocol"] == "single" and after.parameters["verdicts"] == "dataset"
    args = ["run", "calibration_audit", "-p", "dataset", str(directory)]
    for key, value in after.parameters.items():
        args += ["-p", key, "null" if value is None else str(value).lower()]
    args += ["-p", "n_boot", "50", "--out", str(tmp_path / "audit")]
    res = CliRunner().invoke(main_app, args)
    assert res.exit_code == 0, res.output
    findings = json.loads((tmp_path / "audit" / "findings.json").read_text())["findings"]
    assert {f["id"] for f in findings} and len(findings) > 0
