"""judgelab.report pieces that need no kernel: the demo check, the index page, show(), the kernelspec."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from judgelab import report, studies
from judgelab.report.html import ANSWERS_TABLE_CLASS


def test_demo_without_study_notebooks_validates_the_demo_data(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(studies, "available_studies", lambda: [])
    results = report.run_demo(tmp_path / "demo", log=print)
    out = capsys.readouterr().out
    assert results == {}
    assert "demo dataset 'demo'" in out and "is valid" in out
    assert "items: " in out and "preferences: " in out and "checked: required columns" in out
    assert "no study notebooks installed yet" in out


def test_index_links_reports_with_their_answers(toy_run, tmp_path):
    ok = report.RunResult(
        "toy",
        toy_run,
        "ok",
        toy_run / "toy.ipynb",
        toy_run / "toy.html",
        toy_run / "findings.json",
        toy_run / "manifest.json",
        3.0,
    )
    failed = report.StudyError("study 'broken' failed in cell 3: ValueError: boom")
    path = report.write_index(tmp_path, {"toy": ok, "broken": failed})
    html = path.read_text()
    assert report.external_references(html) == []
    rel = os.path.relpath(toy_run / "toy.html", tmp_path)
    assert f"<a href='{rel}'>toy</a>" in html
    assert "ValueError: boom" in html and "failed" in html
    # the toy declares no verdict: its answers are its primary tests, one row each
    table = html.split(f'class="dataframe {ANSWERS_TABLE_CLASS}"')[1].split("</table>")[0]
    rows = table.split("<tbody>")[1].split("<tr")[1:]
    doc = json.loads((toy_run / "findings.json").read_text())
    n_primary = sum(f["primary"] for f in doc["findings"])
    assert n_primary == 9 and len(rows) == 9  # every primary finding, no exploratory one
    assert all("significant" in r or "not estimable" in r or "no test" in r for r in rows)


def test_show_saves_svg_and_pdf_and_closes_the_figure(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("JUDGELAB_OUT", str(tmp_path))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    paths = report.show(fig, "line")
    assert [p.name for p in paths] == ["line.svg", "line.pdf"]
    assert (tmp_path / "figures" / "line.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "figures" / "line.pdf").read_bytes()[:5] == b"%PDF-"
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(ValueError, match="file name"):
        report.show(plt.figure(), "../escape")


def test_temporary_kernelspec_is_first_and_points_at_this_python(monkeypatch, tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    with report.temporary_kernel() as k:
        spec = KernelSpecManager().get_kernel_spec(k.name)
        assert spec.argv[0] == sys.executable and k.name.startswith("judgelab-")
        assert os.environ["JUPYTER_PATH"].split(os.pathsep)[1] == str(tmp_path)
        kdir = Path(os.environ["JUPYTER_PATH"].split(os.pathsep)[0])
    assert os.environ["JUPYTER_PATH"] == str(tmp_path) and not kdir.exists()


def test_parse_value_reads_yaml():
    assert report.parse_value("120") == 120
    assert report.parse_value("0.5") == 0.5
    assert report.parse_value("[a, b]") == ["a", "b"]
    assert report.parse_value("{model: x}") == {"model": "x"}
    assert report.parse_value("true") is True and report.parse_value("null") is None
    assert report.parse_value("panel:demo") == "panel:demo"
    assert report.parse_value("a: b: c") == "a: b: c"  # not YAML: kept as text


def test_demo_runs_each_study_and_indexes_failures(toy_env, tmp_path, monkeypatch):
    """run_demo: the first study in this process, the others in child processes (jobs=2); a
    failing study is reported in the index and does not stop the others (cheap: the toy
    notebooks fail in their first cell)."""
    import shutil

    from conftest import TOY_NOTEBOOKS, patched_env

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    shutil.copy(TOY_NOTEBOOKS / "toy.ipynb", nbs / "toy.ipynb")
    shutil.copy(TOY_NOTEBOOKS / "toy.ipynb", nbs / "toy_b.ipynb")
    logs = []
    with patched_env({**toy_env, "JUDGELAB_NOTEBOOKS": str(nbs)}):
        res = report.run_demo(
            tmp_path / "demo",
            studies=["toy", "toy_b"],
            # judges that pass the checks before the kernel (and, being named, no store
            # warming); the notebooks then fail in their first cell
            params={"fail": True, "judges": "panel:demo"},
            jobs=2,
            log=logs.append,
        )
    assert list(res) == ["toy", "toy_b"]
    assert all(isinstance(r, report.StudyError) for r in res.values())
    assert all("RuntimeError: planted failure" in str(r) for r in res.values())
    assert any("toy_b -> " in line and "separate process" in line for line in logs)
    html = (tmp_path / "demo" / "index.html").read_text()
    assert html.count("failed</span>") == 2 and "planted failure" in html
    for s in ("toy", "toy_b"):
        m = json.loads((tmp_path / "demo" / s / "manifest.json").read_text())
        assert m["store"] == str(tmp_path / "demo" / "verdicts.sqlite")  # one shared store
    with pytest.raises(report.StudyError, match="use --resume or --force"):
        report.run_demo(tmp_path / "demo", studies=["toy"], log=logs.append)
    # a parameter no study takes is refused before anything runs (a typo is never ignored)
    with (
        patched_env({**toy_env, "JUDGELAB_NOTEBOOKS": str(nbs)}),
        pytest.raises(
            report.StudyError, match="no study of the demo takes unknown parameter 'nope'"
        ),
    ):
        report.run_demo(tmp_path / "demo2", studies=["toy"], params={"nope": 1}, log=logs.append)
    assert not (tmp_path / "demo2").exists()


def test_real_data_dir_searches_env_then_beside_cwd_then_beside_checkout(tmp_path, monkeypatch):
    """config.real_data_dir: $JUDGELAB_DATA, else ../shared/data beside the working directory,
    else beside the checkout; a directory counts only when it holds a dataset folder."""
    from judgelab import config

    def data_dir(base):
        d = base / "shared" / "data"
        (d / config.REAL_DATA_MARKERS[0]).mkdir(parents=True)
        return d.resolve()

    beside_checkout = data_dir(tmp_path / "a")
    beside_cwd = data_dir(tmp_path / "b")
    env = data_dir(tmp_path / "c")
    (tmp_path / "a" / "checkout").mkdir()
    (tmp_path / "b" / "work").mkdir()
    monkeypatch.setattr(config, "CHECKOUT_DIR", tmp_path / "a" / "checkout")
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    assert config.real_data_dir(cwd=tmp_path) == beside_checkout
    assert config.real_data_dir(cwd=tmp_path / "b" / "work") == beside_cwd
    monkeypatch.setenv("JUDGELAB_DATA", str(env))
    assert config.real_data_dir(cwd=tmp_path / "b" / "work") == env
    monkeypatch.setenv("JUDGELAB_DATA", str(tmp_path))  # no dataset folder in it: skipped
    assert config.real_data_dir(cwd=tmp_path / "b" / "work") == beside_cwd
