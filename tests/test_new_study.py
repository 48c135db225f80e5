"""docs/new_study.md works: a study declared outside the package (tests/new_study/tie_rate.py
and its notebook) runs through `judgelab run` and writes a run record, findings and a
conclusions section, using only the public composition API."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from judgelab import findings, run_record, studies, study

NEW_STUDY = Path(__file__).resolve().parent / "new_study"
DECLARATION = NEW_STUDY / "tie_rate.py"
#: docs/new_study.md promises a declaration of about 60 lines; this is the hard limit.
MAX_LINES = 80


@pytest.fixture
def registry(monkeypatch):
    """$JUDGELAB_NOTEBOOKS names tests/new_study; the registrations made here are undone (other
    tests count the declared studies)."""
    from judgelab.study import registry as reg

    monkeypatch.setenv("JUDGELAB_NOTEBOOKS", str(NEW_STUDY))
    saved = [(d, dict(d)) for d in (reg.STUDY_DECLARATIONS, reg._RENDERED_BY)]
    saved.append((findings.CONCLUSION_RENDERERS, dict(findings.CONCLUSION_RENDERERS)))
    yield
    for registered, before in saved:
        registered.clear()
        registered.update(before)


def test_the_declaration_is_small_and_uses_only_the_public_api():
    source = DECLARATION.read_text()
    assert len(source.splitlines()) <= MAX_LINES
    imported = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
    private = [m for m in imported if any(part.startswith("_") for part in m.split("."))]
    assert not private, f"private judgelab names imported: {private}"
    assert not any(m.startswith("judgelab.stats.") and "resampling" not in m for m in imported)


def test_declaration_is_loaded_from_beside_the_notebook(registry):
    assert "tie_rate" not in study.declared_studies()
    decl = study.declaration("tie_rate")  # loads tests/new_study/tie_rate.py, which registers
    assert study.declared_studies()[-1] == "tie_rate" and decl.version == "1"
    assert study.declaration_module("tie_rate") == DECLARATION
    assert "tie_rate" in findings.CONCLUSION_RENDERERS
    # the notebook's parameters cell is the one parameters_cell() writes for the declaration
    cell = studies.study_parameters("tie_rate")
    assert list(cell) == decl.names()
    for p in decl.parameters:
        assert ast.literal_eval(cell[p.name]["default"]) == p.default, p.name
        assert cell[p.name]["help"] == p.help, p.name
    assert "  ci_level: float = 0.95  # level of the bootstrap interval" in study.listing(
        ["tie_rate"]
    )
    # a lab's study cannot replace the package's, nor take another study's finding id
    with pytest.raises(study.StudyDeclarationError, match="is a study of judgelab"):
        study.register(dataclasses.replace(decl, name="position_bias"))
    with pytest.raises(study.StudyDeclarationError, match="rendered by study 'tie_rate'"):
        study.register(dataclasses.replace(decl, name="tie_rate_copy"))
    # a known notebook without a declaration module stays an undeclared study
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        study.declaration("nope")


def test_judgelab_run_tie_rate_writes_record_findings_and_conclusions(
    toy_env, toy_verdicts, tmp_path
):
    from conftest import patched_env
    from typer.testing import CliRunner

    from judgelab.cli import app

    out = tmp_path / "tie_rate"
    args = ["run", "tie_rate", "-p", "verdicts", str(toy_verdicts), "-p", "judges", "null"]
    args += ["-p", "n_boot", "500", "--out", str(out)]
    with patched_env({**toy_env, "JUDGELAB_NOTEBOOKS": str(NEW_STUDY)}):
        res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output

    rec = run_record.read_run_record(out)
    assert rec["schema_version"] == run_record.SCHEMA_VERSION
    assert rec["study"]["name"] == "tie_rate" and rec["study"]["version"] == "1"
    given = {"verdicts": str(toy_verdicts), "judges": None, "n_boot": 500}
    assert given.items() <= rec["parameters"]["given"].items()  # the CLI adds the store it uses
    assert rec["parameters"]["effective"]["ci_level"] == 0.95
    demo = studies.load_dataset("demo")
    assert rec["dataset"] == {"name": "demo", "sha256": demo.sha256}

    doc = json.loads((out / "findings.json").read_text())
    verdicts = pd.read_csv(toy_verdicts)
    verdicts["judge"] = verdicts["model"] + "|csv|v1"
    share = verdicts.groupby("judge")["choice"].apply(lambda c: (c == "tie").mean())
    rows = {f["judge"]: f for f in doc["findings"]}
    assert [f["id"] for f in doc["findings"]] == ["tie_rate"] * len(share)
    assert sorted(rows) == sorted(share.index)
    for judge, expected in share.items():
        f = rows[judge]
        assert f["estimate"] == pytest.approx(expected, abs=1e-12)
        assert f["ci_low"] < f["estimate"] < f["ci_high"]
        assert f["n"] == (verdicts["judge"] == judge).sum()
        model = judge.split("|")[0].split("/", 1)[1]
        assert f["conclusion"] == (
            f"{model} declares a tie in {expected:.0%} of verdicts "
            f"[{f['ci_low']:.0%}, {f['ci_high']:.0%}]"
        )
    assert rec["findings"]["conclusions"] == [f"* {f['conclusion']}" for f in doc["findings"]]

    html = (out / "tie_rate.html").read_text()
    assert ">Conclusions<" in html
    conclusions = html[html.index(">Conclusions<") :]
    assert all(f["conclusion"] in conclusions for f in doc["findings"])
