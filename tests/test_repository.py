"""Repository habits: environment.yml mirrors pyproject, notebooks carry no outputs, CI runs the README."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import yaml

from judgelab.nbstrip import has_outputs

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in py["dependencies"]} | {
        _name(r) for r in py["optional-dependencies"]["test"]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r) for r in pip_section if not r.startswith("-e")}
    assert listed == wanted, (
        f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"
    )
    assert any(r.startswith("-e .[test]") for r in pip_section)
    assert env["name"] == "judgelab"


def test_committed_notebooks_have_no_outputs():
    notebooks = sorted((ROOT / "judgelab" / "notebooks").glob("*.ipynb"))
    dirty = [p.name for p in notebooks if has_outputs(nbformat.read(p, as_version=4))]
    assert not dirty, f"notebooks with outputs (run `python -m judgelab.nbstrip`): {dirty}"


def test_nbstrip_detects_and_strips(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.execution_count = 1
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    ]
    nb.cells.append(cell)
    p = tmp_path / "x.ipynb"
    nbformat.write(nb, p)
    from judgelab.nbstrip import main

    assert main(["--check", str(p)]) == 1
    assert main([str(p)]) == 1
    assert main(["--check", str(p)]) == 0


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    cmd = 'pip install -e ".[test]" && python -m pytest'
    assert cmd in readme and cmd in ci
    assert "pip install -e . && judgelab demo" in readme
    assert "ruff check" in ci and "ruff format --check" in ci


def test_gitignore_ignores_generated_results():
    ignored = (ROOT / ".gitignore").read_text().split()
    for pattern in ("reports/", "runs/", ".venv/"):
        assert pattern in ignored


def test_every_notebook_parameter_is_visible_to_papermill():
    """papermill's parser skips a parameter line it cannot read (e.g. an '=' in its comment):
    the CLI would then refuse that parameter as unknown."""
    import ast

    import papermill as pm

    for path in sorted((ROOT / "judgelab" / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(cells) == 1, f"{path.name}: one cell tagged 'parameters' expected"
        assigned = [
            n.targets[0].id for n in ast.parse(cells[0].source).body if isinstance(n, ast.Assign)
        ]
        seen = pm.inspect_notebook(str(path))
        missing = [a for a in assigned if a not in seen]
        assert not missing, f"{path.name}: papermill cannot read parameters {missing}"
        assert all(seen[a]["help"] for a in assigned), (
            f"{path.name}: every parameter needs a comment"
        )
