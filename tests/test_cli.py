"""The judgelab CLI on a toy study notebook (tests/notebooks/toy.ipynb): parameters, errors,
outputs, kernel, failing cells, --resume/--force, reproducibility, export and diff."""

from __future__ import annotations

import json
import shutil
import sys

import pandas as pd
import pytest

from judgelab import report
from judgelab.cli import parse_p_options


# ------------------------------------------------------------------ parsing (no kernel)
def test_p_values_are_yaml_and_override_the_params_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("n_pairs: 50\njudges: [a, b]\nseed: 1\n")
    pairs = parse_p_options(
        [
            "-p",
            "n_pairs",
            "120",
            "--param",
            "select",
            "{model: x, judge_version: [v1, v2]}",
            "-p",
            "store",
            "runs/s.sqlite",
            "-p",
            "max_cost_usd",
            "null",
            "-p",
            "dataset",
            "demo",
        ]
    )
    got = report.parse_parameters(pairs, f)
    assert got == {
        "n_pairs": 120,
        "judges": ["a", "b"],
        "seed": 1,
        "select": {"model": "x", "judge_version": ["v1", "v2"]},
        "store": "runs/s.sqlite",
        "max_cost_usd": None,
        "dataset": "demo",
    }
    with pytest.raises(report.StudyError, match="needs NAME VALUE"):
        parse_p_options(["-p", "n_pairs"])
    with pytest.raises(report.StudyError, match="unexpected argument '--bogus'"):
        parse_p_options(["--bogus"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(report.StudyError, match="expected a mapping"):
        report.parse_parameters([], bad)


def test_studies_lists_parameters_with_defaults_and_help(cli):
    res = cli("studies")
    assert res.exit_code == 0, res.output
    assert "toy" in res.output
    assert "n_boot: int = 200  # bootstrap resamples" in res.output
    assert 'dataset: str = "demo"  # demo, a registered dataset name' in res.output


def test_unknown_study_and_parameter_list_the_valid_ones(cli, tmp_path):
    res = cli("run", "no_such_study", "--out", tmp_path / "x")
    assert res.exit_code == 1
    assert "unknown study 'no_such_study'; valid studies:" in res.output and "toy" in res.output
    res = cli("run", "toy", "-p", "n_pears", "3", "--out", tmp_path / "x")
    assert res.exit_code == 1
    assert (
        "study 'toy': unknown parameter 'n_pears'; valid parameters: dataset, judges, verdicts"
        in res.output
    )
    assert not (tmp_path / "x").exists()


def test_existing_output_needs_resume_or_force(cli, tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = cli("run", "toy", "--out", out)
    assert res.exit_code == 1 and "exists; use --resume" in res.output
    res = cli("run", "toy", "--out", out, "--resume", "--force")
    assert res.exit_code == 1 and "exclude each other" in res.output


# ------------------------------------------------------------------ one executed run
def test_run_writes_report_findings_and_manifest(toy_run):
    files = {p.name for p in toy_run.iterdir()}
    assert {"toy.ipynb", "toy.html", "findings.json", "manifest.json", "figures"} <= files
    assert sorted(p.name for p in (toy_run / "figures").iterdir()) == [
        "fig0.pdf",
        "fig0.svg",
        "fig1.pdf",
        "fig1.svg",
    ]
    doc = json.loads((toy_run / "findings.json").read_text())
    assert doc["study"] == "toy" and len(doc["findings"]) == 2 * 9 + 1
    assert [f["id"] for f in doc["findings"] if f["primary"]] == ["first_slot_share"] * 9
    assert len(doc["judges"]) == 9 and all(
        j["backend"].startswith("judgelab-sim:") for j in doc["judges"]
    )
    m = json.loads((toy_run / "manifest.json").read_text())
    assert m["status"] == "ok"
    assert m["parameters"]["judges"] == "panel:demo" and m["parameters"]["n_pairs"] == 10
    assert m["parameters"]["n_boot"] == 200  # notebook default, as the study resolved it
    assert m["store"] == str(toy_run.parent / "store.sqlite")
    assert m["data"] == doc["data"] and m["judges"] == doc["judges"] and m["seed"] == 0
    assert m["packages"]["litellm"] and m["packages"]["papermill"] and m["packages"]["python"]
    assert "git" in m
    # the kernel is the interpreter running judgelab, not the user's broken `python3` kernelspec
    assert m["kernel"]["name"].startswith("judgelab-") and m["kernel"]["argv"][0] == sys.executable
    # the executed notebook names a kernel that exists after the run (the temporary one does not)
    assert (
        json.loads((toy_run / "toy.ipynb").read_text())["metadata"]["kernelspec"]["name"]
        == "python3"
    )
    summary = m["run_summary"][0]
    assert (
        summary["mode"] == "call"
        and summary["calls"] == 10 * 2 * 9
        and summary["sent"] == summary["calls"]
    )


def test_html_is_self_contained_and_hides_code(toy_run, tmp_path):
    html = (toy_run / "toy.html").read_text()
    assert report.external_references(html) == []
    assert html.count('src="data:image/png;base64,') == 2
    assert "planted failure" not in html  # code hidden by default (the string occurs only in code)
    assert report.report_counts(html) == {
        "images": 2,
        "findings_tables": 1,
        "findings_rows": 2 * 9 + 1,
    }
    shown = report.notebook_to_html(toy_run / "toy.ipynb", tmp_path / "code.html", show_code=True)
    assert "planted failure" in shown.read_text()


def test_external_reference_detection():
    assert report.external_references('<script src="https://cdn.x/require.js"></script>') == [
        "https://cdn.x/require.js"
    ]
    assert report.external_references("<link rel=stylesheet href='//cdn.x/a.css'>") == [
        "//cdn.x/a.css"
    ]
    assert (
        report.external_references(
            '<a href="https://example.org">ok</a><img src="data:image/png;base64,xx">'
        )
        == []
    )


def test_failing_cell_exits_non_zero_naming_cell_and_error(cli, tmp_path):
    out = tmp_path / "fail"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stale.svg").write_text("<svg/>")
    (out / "findings.json").write_text("{}")
    (out / "mine.txt").write_text("keep")
    # inputs that pass the checks before the kernel; the notebook fails in its first cell
    res = cli(
        "run", "toy", "-p", "judges", "panel:demo", "-p", "fail", "true", "--out", out, "--force"
    )
    assert res.exit_code == 1
    assert (
        "failed in cell 4 of the executed notebook (execution count 3)" in res.output
        and "RuntimeError: planted failure" in res.output
    )
    assert "if fail:" in res.output  # the cell's first line
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "planted failure" in m["error"]
    # --force replaced the old report (no stale findings or figures) and kept the user's file
    assert not (out / "findings.json").exists() and not (out / "figures" / "stale.svg").exists()
    assert (out / "mine.txt").read_text() == "keep"
    assert (out / "toy.ipynb").exists()  # the executed notebook keeps the traceback


def test_rerun_is_reproducible_and_makes_no_call(cli, toy_run, tmp_path):
    from conftest import TOY_CALL

    out = tmp_path / "again"
    shutil.copytree(toy_run, out)
    (out / "figures" / "extra.svg").write_text("<svg/>")
    store = toy_run.parent / "store.sqlite"
    res = cli("run", "toy", *TOY_CALL, "-p", "store", store, "--out", out, "--resume")
    assert res.exit_code == 0, res.output
    assert (out / "figures" / "extra.svg").exists()  # --resume keeps what is there
    a = json.loads((toy_run / "findings.json").read_text())
    b = json.loads((out / "findings.json").read_text())
    a.pop("created_at"), b.pop("created_at")
    assert a == b
    # the same parameters and store: every call answered from the store, none sent
    summary = json.loads((out / "manifest.json").read_text())["run_summary"][0]
    assert (
        summary["sent"] == 0
        and summary["cached"] == summary["calls"] == 180
        and summary["cost_usd"] == 0
    )
    # figures are byte-stable too (no dates in SVG/PDF metadata, fixed SVG id salt)
    assert (toy_run / "figures" / "fig0.svg").read_bytes() == (
        out / "figures" / "fig0.svg"
    ).read_bytes()
    assert report.diff_runs(toy_run, out)["change"].eq("same").all()
    # a dry run counts the calls and sends nothing
    res = cli("run", "toy", *TOY_CALL, "-p", "store", store, "--dry-run")
    assert res.exit_code == 0 and '"to_send": 0' in res.output and '"calls": 180' in res.output, (
        res.output
    )


# ------------------------------------------------------------------ export and diff (no kernel)
def test_export_writes_tables_and_figures(cli, toy_run, tmp_path):
    dest = tmp_path / "paper"
    res = cli("export", toy_run, "--to", dest)
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(dest / "findings.csv")
    doc = json.loads((toy_run / "findings.json").read_text())
    assert len(csv) == len(doc["findings"]) and list(csv.columns[:3]) == ["id", "judge", "slice"]
    tex = (dest / "findings.tex").read_text()
    assert "\\begin{tabular}" in tex and "first\\_slot\\_share$^{*}$" in tex
    assert tex.count("\\\\\n") == len(doc["findings"]) + 1  # header + one line per finding
    assert sorted(p.name for p in (dest / "figures").iterdir()) == [
        "fig0.pdf",
        "fig0.svg",
        "fig1.pdf",
        "fig1.svg",
    ]
    assert (dest / "figures" / "fig0.pdf").read_bytes()[:5] == b"%PDF-"


def test_diff_matches_on_id_judge_slice(cli, toy_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    doc = json.loads((toy_run / "findings.json").read_text())
    f = doc["findings"]
    f[0]["estimate"] += 0.1
    f[1]["p_adjusted"] = 0.9 if (f[1]["p_adjusted"] or 1) < 0.05 else 0.001
    removed = f.pop(3)
    f.append({**f[2], "slice": {"family": "cirrus"}})
    (other / "findings.json").write_text(json.dumps(doc))
    d = report.diff_runs(toy_run, other)
    by = {(r.id, r.judge, r.slice): r for r in d.itertuples()}

    def row(x):
        return by[
            (x["id"], x["judge"], json.dumps(x["slice"], sort_keys=True) if x["slice"] else "")
        ]

    assert row(f[0]).change == "estimate changed" and row(f[0]).delta == pytest.approx(0.1)
    assert row(f[1]).change == "significance changed"
    assert row(removed).change == "only in A"
    assert row(f[-1]).change == "only in B" and row(f[-1]).slice == '{"family": "cirrus"}'
    assert (d["change"] == "same").sum() == len(f) - 3
    res = cli("diff", toy_run, other, "--out", tmp_path / "d.csv")
    assert res.exit_code == 0 and "only in B" in res.output and "significance changed" in res.output
    assert len(pd.read_csv(tmp_path / "d.csv")) == len(d)
