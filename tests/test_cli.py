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
    pairs = parse_p_options(["-p", "n_pairs", "120", "--param", "select", "{model: x, judge_version: [v1, v2]}",
                             "-p", "store", "runs/s.sqlite", "-p", "max_cost_usd", "null", "-p", "dataset", "demo"])
    got = report.parse_parameters(pairs, f)
    assert got == {"n_pairs": 120, "judges": ["a", "b"], "seed": 1,
                   "select": {"model": "x", "judge_version": ["v1", "v2"]}, "store": "runs/s.sqlite",
                   "max_cost_usd": None, "dataset": "demo"}
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
    assert 'n_boot: int = 200  # bootstrap resamples' in res.output
    assert 'dataset: str = "demo"  # demo, a registered dataset name' in res.output


def test_unknown_study_and_parameter_list_the_valid_ones(cli, tmp_path):
    res = cli("run", "no_such_study", "--out", tmp_path / "x")
    assert res.exit_code == 1
    assert "unknown study 'no_such_study'; valid studies:" in res.output and "toy" in res.output
    res = cli("run", "toy", "-p", "n_pears", "3", "--out", tmp_path / "x")
    assert res.exit_code == 1
    assert "unknown parameter(s) n_pears for study 'toy'; valid parameters: dataset, judges, verdicts" in res.output
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
def test_run_writes_report_findings_and_manifest(toy_run, toy_verdicts):
    files = {p.name for p in toy_run.iterdir()}
    assert {"toy.ipynb", "toy.html", "findings.json", "manifest.json", "figures"} <= files
    assert sorted(p.name for p in (toy_run / "figures").iterdir()) == ["fig0.pdf", "fig0.svg", "fig1.pdf", "fig1.svg"]
    doc = json.loads((toy_run / "findings.json").read_text())
    assert doc["study"] == "toy" and len(doc["findings"]) == 5
    assert [f["id"] for f in doc["findings"] if f["primary"]] == ["first_slot_share"] * 2
    m = json.loads((toy_run / "manifest.json").read_text())
    assert m["status"] == "ok"
    assert m["parameters"]["verdicts"] == str(toy_verdicts.resolve())
    assert m["parameters"]["n_boot"] == 200  # notebook default recorded
    assert m["store"].startswith("/") and m["store"].endswith("runs/verdicts.sqlite")
    assert m["data"] == doc["data"] and m["judges"] == doc["judges"] and m["seed"] == 0
    assert m["packages"]["litellm"] and m["packages"]["papermill"] and m["packages"]["python"]
    assert "git" in m
    # the kernel is the interpreter running judgelab, not the user's broken `python3` kernelspec
    assert m["kernel"]["name"].startswith("judgelab-") and m["kernel"]["argv"][0] == sys.executable
    assert m["run_summary"][0]["mode"] == "stored"


def test_html_is_self_contained_and_hides_code(toy_run, tmp_path):
    html = (toy_run / "toy.html").read_text()
    assert report.external_references(html) == []
    assert html.count('src="data:image/png;base64,') == 2
    assert "report.show(fig" not in html  # code hidden by default
    assert "judgelab-findings" in html
    shown = report.notebook_to_html(toy_run / "toy.ipynb", tmp_path / "code.html", show_code=True)
    assert "report.show" in shown.read_text()


def test_external_reference_detection():
    assert report.external_references('<script src="https://cdn.x/require.js"></script>') == ["https://cdn.x/require.js"]
    assert report.external_references("<link rel=stylesheet href='//cdn.x/a.css'>") == ["//cdn.x/a.css"]
    assert report.external_references('<a href="https://example.org">ok</a><img src="data:image/png;base64,xx">') == []


def test_failing_cell_exits_non_zero_naming_cell_and_error(cli, toy_verdicts, tmp_path):
    out = tmp_path / "fail"
    res = cli("run", "toy", "-p", "verdicts", toy_verdicts, "-p", "fail", "true", "--out", out)
    assert res.exit_code == 1
    assert "failed in cell" in res.output and "RuntimeError: planted failure" in res.output
    assert "if fail:" in res.output  # the cell's first line
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "planted failure" in m["error"]
    assert not (out / "findings.json").exists()


def test_force_rerun_is_reproducible_and_replaces_old_outputs(cli, toy_run, toy_verdicts, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(toy_run, out)
    (out / "figures" / "stale.svg").write_text("<svg/>")
    (out / "mine.txt").write_text("keep")
    res = cli("run", "toy", "-p", "verdicts", toy_verdicts, "--out", out, "--force")
    assert res.exit_code == 0, res.output
    assert not (out / "figures" / "stale.svg").exists() and (out / "mine.txt").read_text() == "keep"
    a = json.loads((toy_run / "findings.json").read_text())
    b = json.loads((out / "findings.json").read_text())
    a.pop("created_at"), b.pop("created_at")
    assert a == b
    # figures are byte-stable too (no dates in SVG/PDF metadata)
    assert (toy_run / "figures" / "fig0.svg").read_bytes() == (out / "figures" / "fig0.svg").read_bytes()
    assert report.diff_runs(toy_run, out)["change"].eq("same").all()


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
    assert sorted(p.name for p in (dest / "figures").iterdir()) == ["fig0.pdf", "fig0.svg", "fig1.pdf", "fig1.svg"]
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
    r0 = by[(f[0]["id"], f[0]["judge"], "")]
    assert r0.change == "estimate changed" and r0.delta == pytest.approx(0.1)
    assert by[(f[1]["id"], f[1]["judge"], "")].change == "significance changed"
    key = json.dumps(removed["slice"], sort_keys=True) if removed["slice"] else ""
    assert by[(removed["id"], removed["judge"], key)].change == "only in A"
    assert by[(f[-1]["id"], f[-1]["judge"], '{"family": "cirrus"}')].change == "only in B"
    assert (d["change"] == "same").sum() == len(f) - 3
    res = cli("diff", toy_run, other, "--out", tmp_path / "d.csv")
    assert res.exit_code == 0 and "only in B" in res.output and "significance changed" in res.output
    assert len(pd.read_csv(tmp_path / "d.csv")) == len(d)
