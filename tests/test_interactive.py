"""Issue 12 item 9: interactive runs as documented. A study notebook opened in JupyterLab
runs with its own folder (judgelab/notebooks/) as working directory; it must write its
store, findings and figures where the CLI does (the project directory,
:func:`judgelab.config.project_dir`), never into the installed package, and a following CLI
run of the same study must read every call from the shared store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import papermill
import pytest
from typer.testing import CliRunner

from judgelab import config
from judgelab.cli import app
from judgelab.report.execution import temporary_kernel
from judgelab.studies import notebook_path

# a cheap run of the position-bias study on the demo data and simulated panel
PARAMS = {"n_pairs": 6, "n_boot": 50, "n_perm": 99}


def _package_files() -> dict[str, tuple[int, int]]:
    """Every file under the package (bytecode caches aside) with its size and mtime."""
    out = {}
    for root, dirs, files in os.walk(config.PACKAGE_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            st = (Path(root) / f).stat()
            out[str(Path(root) / f)] = (st.st_size, st.st_mtime_ns)
    return out


def test_project_dir_rules(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_HOME, raising=False)
    assert config.project_dir(tmp_path) == tmp_path.resolve()  # a shell: where it started
    # inside the package (JupyterLab's cwd for a notebook): the project above it
    inside = config.project_dir(config.NOTEBOOKS_DIR)
    assert config.PACKAGE_DIR not in (inside, *inside.parents)
    assert any((inside / m).exists() for m in config.PROJECT_MARKERS)
    monkeypatch.setenv(config.ENV_HOME, str(tmp_path / "home"))
    assert config.project_dir(config.NOTEBOOKS_DIR) == (tmp_path / "home").resolve()
    assert config.default_store() == (tmp_path / "home" / config.DEFAULT_STORE).resolve()
    assert config.output_dir("x") == (tmp_path / "home" / "reports" / "x").resolve()


def test_no_project_above_an_installed_package_asks_for_judgelab_home(monkeypatch, tmp_path):
    fake = tmp_path / "site-packages" / "judgelab"
    (fake / "notebooks").mkdir(parents=True)
    monkeypatch.setattr(config, "PACKAGE_DIR", fake)
    monkeypatch.delenv(config.ENV_HOME, raising=False)
    if any((d / m).exists() for d in fake.parents for m in config.PROJECT_MARKERS):
        pytest.skip("a project marker above the temporary directory")
    with pytest.raises(config.ProjectDirError, match="set \\$JUDGELAB_HOME"):
        config.project_dir(fake / "notebooks")


def test_notebook_run_from_its_folder_shares_the_cli_store(tmp_path, monkeypatch):
    home = tmp_path / "project"
    monkeypatch.setenv(config.ENV_HOME, str(home))
    monkeypatch.delenv(config.ENV_OUT, raising=False)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    before = _package_files()
    executed = tmp_path / "executed.ipynb"
    with temporary_kernel() as kernel:
        papermill.execute_notebook(
            str(notebook_path("position_bias")),
            str(executed),
            parameters=PARAMS,
            cwd=str(config.NOTEBOOKS_DIR),  # as JupyterLab runs a notebook
            kernel_name=kernel.name,
            progress_bar=False,
        )
    assert _package_files() == before  # nothing written into the package
    out = home / "reports" / "position_bias"
    assert (home / config.DEFAULT_STORE).is_file()
    assert (out / "findings.json").is_file()
    assert (out / "figures" / "position_consistency.svg").is_file()
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary[0]["sent"] == summary[0]["calls"] > 0
    # the progress bar is tqdm's plain one, without the complaint about ipywidgets
    text = "".join(
        o.get("text", "")
        for c in nbformat.read(executed, as_version=4).cells
        for o in c.get("outputs", [])
    )
    assert "judging (pairwise)" in text and "IProgress" not in text

    # the CLI, started anywhere, writes to the same place: the interactive run's output
    # directory is its default (rerun into it with --resume) and every call is cached
    monkeypatch.chdir(tmp_path)
    args = ["run", "position_bias", "--resume"]
    for k, v in PARAMS.items():
        args += ["-p", k, str(v)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary[0]["calls"] == summary[0]["cached"] > 0 and summary[0]["sent"] == 0
    assert json.loads((out / "manifest.json").read_text())["status"] == "ok"
    assert _package_files() == before
