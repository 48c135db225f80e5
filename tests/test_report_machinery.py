"""Reports show no machinery (issue 14 item 5): no judge-run log lines, warnings or machine
paths in the HTML; they are summarised in a closing "Run details" section (calls, cache hits,
cost, time). Checked on a synthetic executed notebook holding each kind of machinery the
study notebooks print, on the toy study's real report and on the self-preference formula."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import nbformat

from judgelab.report.html import notebook_to_html
from judgelab.report.machinery import RUN_LOG_LINE, scrub_paths

LOG = (
    "judgelab pairwise run pairwise-20261201T124802-df31b7cd: 2880 calls (2880 cached, 0 sent, "
    "0 failed, 0 re-paid after an interruption), 2880 verdicts, 64 parse failures, $0.0000, 1.3 s"
)


def machinery_in(html: str, run_dir: Path) -> list[str]:
    """Machinery visible in a report: home, temporary or run directory paths, warnings,
    judge-run log lines."""
    text = re.sub(r"<style.*?</style>|<script.*?</script>", "", html, flags=re.S)
    text = re.sub(r"data:image/[^\"')]+", "", text)
    found = [
        d
        for d in {str(Path.home()), tempfile.gettempdir(), str(run_dir.resolve())}
        if d and d != "/" and d in text
    ]
    found += re.findall(r"\w*Warning\b[^<]{0,80}", text)
    found += [ln for ln in re.split(r"<[^>]+>|\n", text) if RUN_LOG_LINE.match(ln.strip())]
    return found


def _notebook(run_dir: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A study"),
        nbformat.v4.new_code_cell("ctx", outputs=[out("stream", name="stdout", text=LOG + "\n")]),
        nbformat.v4.new_code_cell(
            "x",
            outputs=[
                out(
                    "stream",
                    name="stderr",
                    text=f"{Path.home()}/src/judgelab/studies.py:899: DataWarning: dataset 'x': "
                    "1 of 2400 responses have no text\n  dataset.validate()\n",
                ),
                out("stream", name="stderr", text="position bias: 100%|##########| 9/9\n"),
                out(
                    "stream",
                    name="stdout",
                    text=f"578 units queued for review -> {run_dir.resolve()}/review_queue.csv\n",
                ),
                out(
                    "execute_result",
                    data={"text/plain": f"store {tempfile.gettempdir()}/abc/verdicts.sqlite"},
                    execution_count=1,
                ),
            ],
        ),
    ]
    path = run_dir / "study.ipynb"
    nbformat.write(nb, str(path))
    summary = [
        {
            "calls": 2880,
            "cached": 2000,
            "sent": 880,
            "failed": 0,
            "parse_failures": 64,
            "cost_usd": 0.25,
            "wall_s": 3.5,
        }
    ]
    (run_dir / "run_summary.json").write_text(json.dumps(summary))
    return path


def test_report_drops_machinery_and_summarises_it_in_run_details(tmp_path):
    nb = _notebook(tmp_path)
    html = notebook_to_html(nb, tmp_path / "study.html").read_text()
    assert machinery_in(html, tmp_path) == []
    assert "578 units queued for review -&gt; review_queue.csv" in html
    assert "verdicts.sqlite" in html  # the file is named, the machine's directory is not
    details = html[html.index("Run details") :]
    assert "2,880 (2,000 from the cache, 880 sent, 0 failed)" in details
    assert "$0.2500" in details and "3.5 s" in details
    assert "1 of 2400 responses have no text" in details  # the warning's message is kept
    # the executed notebook beside the report keeps everything
    assert LOG in nb.read_text()


def test_machinery_grep_finds_each_kind(tmp_path):
    for leak in (LOG, f"{tempfile.gettempdir()}/x/y.csv", "UserWarning: careful"):
        assert machinery_in(f"<p>{leak}</p>", tmp_path), leak


def test_scrub_paths_keeps_urls_and_relative_names(tmp_path):
    assert scrub_paths("see https://example.org/a/b and /home/u/x/out.csv") == (
        "see https://example.org/a/b and out.csv"
    )
    assert scrub_paths(f"{tmp_path}/figures/a.svg", tmp_path) == "figures/a.svg"
    assert scrub_paths("ratio 3/4 of a/b") == "ratio 3/4 of a/b"


def test_toy_report_shows_no_machinery(toy_run):
    html = (toy_run / "toy.html").read_text()
    assert machinery_in(html, toy_run) == []
    assert "Run details" in html and "Judge calls: 180" in html


def test_formula_blocks_render_as_formulas(tmp_path):
    """The self-preference model is a formula (sub-scripted symbols), not a bullet list."""
    from judgelab import studies

    src = nbformat.read(str(studies.notebook_path("self_preference")), as_version=4)
    nb = nbformat.v4.new_notebook(cells=[c for c in src.cells if c.cell_type == "markdown"][:1])
    path = tmp_path / "sp.ipynb"
    nbformat.write(nb, str(path))
    html = notebook_to_html(path, tmp_path / "sp.html").read_text()
    formula = html[html.index("logit P(") :][:2000]
    assert "α<sub>pair, band</sub>" in formula and "β<sub>self,<i>J</i></sub>" in formula
    assert not re.search(r"<li>\s*β", html)
