"""judgelab.study: every study declared once, and its notebook's parameters cell agrees."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from judgelab import studies, study

REAL_STUDIES = Path(studies.__file__).resolve().parent / "real_studies"


@pytest.mark.parametrize("name", studies.STUDIES)
def test_notebook_parameters_cell_matches_the_declaration(name):
    decl = study.declaration(name)
    cell = studies.study_parameters(name)
    assert list(cell) == decl.names()  # same names, same order
    for p in decl.parameters:
        assert ast.literal_eval(cell[p.name]["default"]) == p.default, p.name
        assert cell[p.name]["help"] == p.help, p.name
        assert p.problem(p.default) is None, p.name  # every default fits its own declaration
    # the shared parameters come first and keep the defaults prepare() fills in
    shared = decl.names()[: len(studies.SHARED_DEFAULTS)]
    assert shared == list(studies.SHARED_DEFAULTS)
    if name != "judge_comparison":  # its candidates default to three panel members
        assert {k: decl.defaults()[k] for k in shared} == studies.SHARED_DEFAULTS


def test_every_declared_study_has_a_notebook_and_importable_parts():
    # the package's studies first, in their order; a lab study another test registered
    # (tests/new_study) may follow in this process
    declared = study.declared_studies()
    assert declared[: len(studies.STUDIES)] == list(studies.STUDIES)
    assert not set(declared[len(studies.STUDIES) :]) & set(study.BUILTIN_STUDIES)
    for decl in study.BUILTIN_STUDIES.values():
        assert studies.notebook_path(decl.name).name == decl.notebook
        assert all(callable(f.load()) for f in decl.figures)
        module, _, attr = decl.analysis.partition(":")
        assert callable(getattr(__import__(module, fromlist=[attr]), attr))


def test_listing_prints_what_the_notebooks_say():
    # the declared lines equal those papermill's reading of the parameters cell gave
    for name in studies.STUDIES:
        from_notebook = []
        for p in studies.study_parameters(name).values():
            kind = p["inferred_type_name"]
            typed = f": {kind}" if kind and kind != "None" else ""
            from_notebook.append(
                f"  {p['name']}{typed} = {p['default']}" + (f"  # {p['help']}" if p["help"] else "")
            )
        assert study.parameter_lines(name) == from_notebook
    text = study.listing()
    assert text.splitlines()[0] == "position_bias"
    assert '  dataset: str = "demo"  # dataset name' in text


@pytest.mark.parametrize("path", sorted(REAL_STUDIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_real_study_parameters_pass_the_check(path):
    name = path.stem.split("__")[0]
    params = yaml.safe_load(path.read_text())
    effective = study.check(name, params)
    assert effective["n_boot"] == params["n_boot"]
    assert set(effective) == set(study.declaration(name).names())


def test_check_lists_every_problem_and_coerce_converts_losslessly():
    with pytest.raises(study.StudyParameterError) as err:
        study.check(
            "position_bias",
            {"n_pears": 3, "n_boot": "many", "tie_policy": "coin", "seed": -1, "dry_run": 1},
        )
    problems = err.value.problems
    assert len(problems) == 5
    assert problems[0].startswith("unknown parameter 'n_pears'; valid parameters: dataset,")
    assert "tie_policy: got 'coin' (str); accepts one of class, drop, half" in problems
    assert "seed: got -1 (int); accepts an integer >= 0" in problems
    assert "n_boot: got 'many' (str); accepts an integer >= 1" in problems
    assert "dry_run: got 1 (int); accepts true or false" in problems
    with pytest.raises(study.StudyParameterError, match="tie_policy: got 'half'"):
        study.check("family_entanglement", {"tie_policy": "half"})
    assert study.check("position_bias", {"n_pairs": None, "max_cost_usd": 2})["n_perm"] == 9999
    coerced = study.coerce(
        "calibration_audit",
        {"n_boot": "500", "alpha": "0.25", "ensemble": "false", "n_pairs": "none", "x": "1"},
    )
    assert coerced == {
        "n_boot": 500,
        "alpha": 0.25,
        "ensemble": False,
        "n_pairs": None,
        "x": "1",
    }
    with pytest.raises(ValueError, match="unknown study 'toy'; declared studies: position_bias"):
        study.declaration("toy")


def test_analyse_is_the_notebooks_findings_computation(toy_verdicts):
    import pandas as pd

    from judgelab.stats import position

    ctx = studies.prepare(
        "position_bias", verdicts=str(toy_verdicts), judges=None, n_boot=20, n_perm=99
    )
    found = study.analyse(ctx)
    direct = position.position_findings(ctx.verdicts, ctx.dataset, n_boot=20, n_perm=99, seed=0)
    pd.testing.assert_frame_equal(found, direct)
    # the caller gave what differs from the declared defaults
    assert set(ctx.given) == {"verdicts", "judges", "n_boot", "n_perm"}
