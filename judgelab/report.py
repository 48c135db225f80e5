"""Running studies: papermill execution, findings.json, manifest, HTML report, index, export, diff.

For notebook authors
--------------------
Show every figure with :func:`show`::

    fig = jl.plots.consistency(...)
    jl.report.show(fig, "consistency")

It displays the figure in the notebook (one image per figure, which the browser test
counts) and saves ``figures/<name>.svg`` and ``figures/<name>.pdf`` into the output
directory (``$JUDGELAB_OUT``, set by ``judgelab run``; else the working directory) so that
``judgelab export`` can hand them to a paper. Do not also call ``plt.show()`` on it.

End with ``findings = ctx.save_findings(findings)`` then ``ctx.findings_table(findings)``:
the table is the last output of the report and has one row per finding.

For everyone else
-----------------
:func:`run_study` executes ``judgelab/notebooks/<study>.ipynb`` with papermill in a
kernel of ``sys.executable`` (a temporary kernelspec named ``judgelab-<hash>`` on
``JUPYTER_PATH``, so a user's own ``python3`` kernel cannot shadow it) with cwd = the
output directory, then writes ``<study>.ipynb`` (executed), ``<study>.html``
(self-contained: images embedded, no script or stylesheet fetched from the internet,
code hidden unless ``show_code``), ``findings.json`` (written by the notebook through
:meth:`judgelab.studies.StudyContext.save_findings`) and ``manifest.json``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import html as _html
import importlib.metadata
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from judgelab import studies as _studies

__all__ = [
    "show",
    "StudyError",
    "CellError",
    "RunResult",
    "parse_value",
    "parse_parameters",
    "check_parameters",
    "temporary_kernel",
    "run_study",
    "run_demo",
    "real_data_dir",
    "real_studies",
    "run_real_studies",
    "notebook_to_html",
    "report_counts",
    "external_references",
    "write_index",
    "export_run",
    "diff_runs",
    "read_findings",
    "findings_frame",
    "verdicts_summary",
    "OUTPUT_FILES",
]

PACKAGES = (
    "judgelab",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "krippendorff",
    "seaborn",
    "matplotlib",
    "litellm",
    "papermill",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupyter_client",
    "pyarrow",
)


class StudyError(Exception):
    """A study could not be run; the message says why (the CLI prints it and exits 1)."""


class CellError(StudyError):
    """A notebook cell raised: which cell, and the error."""

    def __init__(
        self,
        study: str,
        cell_index: int,
        exec_count,
        source: str,
        ename: str,
        evalue: str,
        notebook: Path,
    ):
        self.study, self.cell_index, self.exec_count = study, cell_index, exec_count
        self.source, self.ename, self.evalue, self.notebook = source, ename, evalue, notebook
        first = next((ln for ln in source.splitlines() if ln.strip()), "")
        super().__init__(
            f"study '{study}' failed in cell {cell_index + 1} of the executed notebook (execution count {exec_count}): "
            f"{ename}: {evalue}\n  cell starts: {first[:120]}\n  executed notebook with the traceback: {notebook}"
        )


# ------------------------------------------------------------------- figures
class SavedFigures(list):
    """The files :func:`show` wrote; shows nothing when a notebook cell ends with it."""

    def _ipython_display_(self):
        pass


def show(
    fig,
    name: str,
    formats: tuple[str, ...] = ("svg", "pdf"),
    out_dir: str | os.PathLike | None = None,
):
    """Display ``fig`` (matplotlib Figure, or a seaborn grid with ``.figure``) once and save it.

    Saves ``<out>/figures/<name>.<fmt>`` for each format (default SVG and PDF), where
    ``<out>`` is ``out_dir``, else ``$JUDGELAB_OUT``, else the working directory. The figure
    is closed afterwards so that the inline backend does not display it a second time.
    Returns the list of saved paths (as :class:`SavedFigures`, which displays as nothing when it
    ends a notebook cell: the figure itself was just shown).
    """
    import matplotlib.pyplot as plt

    figure = getattr(fig, "figure", fig)  # seaborn FacetGrid / JointGrid carry .figure
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(
            f"figure name {name!r}: use letters, digits, '_', '-', '.' only (it is a file name)"
        )
    out = Path(out_dir) if out_dir is not None else _studies.output_dir()
    fdir = out / "figures"
    fdir.mkdir(parents=True, exist_ok=True)
    saved = []
    for fmt in formats:
        p = fdir / f"{name}.{fmt}"
        # metadata without dates keeps SVG/PDF byte-stable across reruns
        meta = {"Date": None} if fmt in ("svg", "pdf") else {}
        if fmt == "pdf":
            meta["CreationDate"] = None
            meta.pop("Date")
        # a fixed hash salt makes SVG element ids, hence the files, identical across reruns
        with plt.rc_context({"svg.hashsalt": f"judgelab-{name}"}):
            figure.savefig(p, format=fmt, bbox_inches="tight", metadata=meta)
        saved.append(p)
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(figure)
    finally:
        plt.close(figure)
    return SavedFigures(saved)


# --------------------------------------------------------------- parameters
def parse_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value read as YAML: ``120`` -> int, ``[a, b]`` -> list,
    ``{model: x}`` -> mapping, ``null`` -> None, anything else a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_parameters(
    pairs: list[tuple[str, str]] | None = None, params_file: str | os.PathLike | None = None
) -> dict:
    """Parameters from a YAML file, overridden by ``-p NAME VALUE`` pairs (in order)."""
    params: dict[str, Any] = {}
    if params_file:
        path = Path(params_file)
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise StudyError(f"--params {path}: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise StudyError(f"--params {path}: expected a mapping of parameter names to values")
        params.update(loaded)
    for name, value in pairs or []:
        params[name] = parse_value(value)
    return params


def check_parameters(study: str, params: Mapping) -> dict[str, dict]:
    """Unknown study or parameter -> StudyError listing the valid ones; returns the notebook's parameters."""
    try:
        spec = _studies.study_parameters(study)
    except ValueError as exc:
        raise StudyError(str(exc)) from exc
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise StudyError(
            f"unknown parameter(s) {', '.join(unknown)} for study '{study}'; valid parameters: {', '.join(spec)}"
        )
    return spec


def notebook_defaults(spec: Mapping[str, Mapping]) -> dict:
    """The notebook's default values, evaluated from their source text (literals only)."""
    import ast

    out = {}
    for name, p in spec.items():
        try:
            out[name] = ast.literal_eval(str(p.get("default")))
        except (ValueError, SyntaxError):
            out[name] = p.get("default")
    return out


# ------------------------------------------------------------------- kernel
@dataclass
class Kernel:
    name: str
    argv: list[str]
    python: str


@contextlib.contextmanager
def temporary_kernel():
    """A kernelspec for ``sys.executable`` in a temporary dir put first on ``JUPYTER_PATH``.

    Its name, ``judgelab-<hash of the interpreter path>``, cannot collide with a user's
    ``python3`` kernel, so papermill always runs the notebook in the Python that runs
    judgelab (with judgelab installed), whatever kernels the user has."""
    python = sys.executable
    name = "judgelab-" + hashlib.sha256(python.encode()).hexdigest()[:10]
    # --log-level=ERROR: ipykernel warns on every start that local TCP is unencrypted, which is
    # noise in a batch run (the kernel only listens on 127.0.0.1); errors still show
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--log-level=ERROR"]
    old = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory(prefix="judgelab-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / name
        kdir.mkdir(parents=True)
        spec = {
            "argv": argv,
            "display_name": f"judgelab ({python})",
            "language": "python",
            "metadata": {"debugger": False},
        }
        (kdir / "kernel.json").write_text(json.dumps(spec, indent=1))
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + old if old else "")
        try:
            yield Kernel(name=name, argv=argv, python=python)
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old


@contextlib.contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------- HTML
_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{#- judgelab: a report must open offline, so nothing is loaded from a CDN -#}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
table.judgelab-findings { border-collapse: collapse; font-size: 12px; margin: 0.5em 0; }
table.judgelab-findings th, table.judgelab-findings td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left !important; vertical-align: top; }
table.judgelab-findings td:nth-child(8) { max-width: 40em; }
</style>
{% endblock extra_css %}
"""

_EXTERNAL = re.compile(
    r"<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href)\s*=\s*[\"']?\s*((?:https?:)?//[^\"'\s>]+)",
    re.I,
)


def external_references(html: str) -> list[str]:
    """URLs a browser would fetch when opening ``html`` (scripts, stylesheets, images, frames).

    Plain ``<a href>`` links are not fetched and are allowed."""
    return [m.group(3) for m in _EXTERNAL.finditer(html)]


class _ReportDom(HTMLParser):
    """Counts <img> elements and the body rows of findings tables (class judgelab-findings)."""

    def __init__(self):
        super().__init__()
        self.images = self.rows = self.tables = 0
        self._in_table = self._in_body = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images += 1
        elif tag == "table" and _studies.FINDINGS_TABLE_CLASS in (a.get("class") or "").split():
            self._in_table, self.tables = True, self.tables + 1
        elif tag == "tbody" and self._in_table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._in_table = False


def report_counts(html: str) -> dict[str, int]:
    """What a report shows: ``images`` (<img> elements), ``findings_tables`` and
    ``findings_rows`` (body rows of the findings tables). A sound report has one image per
    saved figure and one row per finding (the browser test checks this on the rendered DOM)."""
    dom = _ReportDom()
    dom.feed(html)
    return {"images": dom.images, "findings_tables": dom.tables, "findings_rows": dom.rows}


def notebook_to_html(
    nb_path: str | os.PathLike, html_path: str | os.PathLike, show_code: bool = False
) -> Path:
    """Executed notebook -> self-contained HTML (nbconvert lab template without CDN scripts).

    Raises StudyError if the result would still fetch anything from the internet."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata.pop("widgets", None)  # widget state needs CDN scripts to render
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"judgelab.html.j2": _TEMPLATE})],
        template_file="judgelab.html.j2",
        embed_images=True,
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(nb_path).stem}})
    refs = external_references(body)
    if refs:
        raise StudyError(f"the HTML report of {nb_path} would fetch {refs[:5]} from the internet")
    out = Path(html_path)
    out.write_text(body, encoding="utf-8")
    return out


# ------------------------------------------------------------------ running
OUTPUT_FILES = ("findings.json", "manifest.json", "run_summary.json")


@dataclass
class RunResult:
    study: str
    out_dir: Path
    status: str  # ok | failed
    notebook: Path
    html: Path | None
    findings: Path | None
    manifest: Path
    seconds: float
    error: str | None = None
    parameters: dict = field(default_factory=dict)


def _package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _git_revision() -> dict | None:
    """HEAD of the checkout judgelab runs from (None outside a git checkout or without git)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            # --no-optional-locks: a manifest must not touch the checkout's index
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return {"revision": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def _prepare_out_dir(out: Path, study: str, resume: bool, force: bool) -> None:
    if resume and force:
        raise StudyError("--resume and --force exclude each other")
    if out.exists() and not out.is_dir():
        raise StudyError(f"--out {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not (resume or force):
            raise StudyError(
                f"output directory {out} exists; use --resume to rerun into it (cached verdicts are reused) "
                "or --force to replace its report"
            )
        if force:
            # remove only what a run writes: the directory may hold the user's other files
            for name in (f"{study}.ipynb", f"{study}.html", *OUTPUT_FILES):
                (out / name).unlink(missing_ok=True)
            shutil.rmtree(out / "figures", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def effective_parameters(study: str, params: Mapping, cwd: Path | None = None) -> tuple[dict, dict]:
    """(parameters passed to papermill, notebook spec). Checks names; makes ``store`` absolute
    (default ``runs/verdicts.sqlite`` under the current directory) and a relative
    ``verdicts`` / ``dataset`` path absolute, since the notebook runs in the output directory."""
    spec = check_parameters(study, params)
    cwd = Path(cwd or os.getcwd())
    p = dict(params)
    if "store" in spec:
        store = p.get("store") or _studies.SHARED_DEFAULTS["store"]
        p["store"] = str((cwd / Path(store).expanduser()).resolve())
    for key in ("verdicts", "dataset"):
        v = p.get(key)
        if isinstance(v, str) and v not in ("call", "dataset", "published", "demo"):
            cand = cwd / Path(v).expanduser()
            if cand.exists():
                p[key] = str(cand.resolve())
    return p, spec


def run_study(
    study: str,
    params: Mapping | None = None,
    out: str | os.PathLike | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    show_code: bool = False,
    log: Callable[[str], None] | None = print,
    start_timeout: int = 120,
) -> RunResult:
    """Execute one study notebook into ``out`` (see the module docstring). Raises
    :class:`StudyError` (bad study, parameters or out dir) or :class:`CellError`
    (a cell failed; the executed notebook, HTML and manifest are still written)."""
    import papermill as pm

    params = dict(params or {})
    try:
        nb_in = _studies.notebook_path(study)
    except ValueError as exc:
        raise StudyError(str(exc)) from exc
    passed, spec = effective_parameters(study, params)
    out_dir = Path(out or Path("reports") / study).expanduser().resolve()
    _prepare_out_dir(out_dir, study, resume, force)
    nb_out = out_dir / f"{study}.ipynb"
    html_out = out_dir / f"{study}.html"
    effective = {**notebook_defaults(spec), **passed}
    (out_dir / "findings.json").unlink(missing_ok=True)  # never report a stale one
    t0 = time.perf_counter()
    error: CellError | None = None
    started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    if log:
        log(f"running {study} -> {out_dir}")
    with (
        temporary_kernel() as kernel,
        _environ(
            JUDGELAB_OUT=out_dir,
            # reports hold no progress bars, nor tqdm's complaint that ipywidgets is missing
            TQDM_DISABLE="1",
            PYTHONWARNINGS=",".join(
                x for x in (os.environ.get("PYTHONWARNINGS"), "ignore:IProgress not found") if x
            ),
            MPLBACKEND="module://matplotlib_inline.backend_inline",
        ),
    ):
        try:
            pm.execute_notebook(
                str(nb_in),
                str(nb_out),
                parameters=passed,
                kernel_name=kernel.name,
                language="python",
                cwd=str(out_dir),
                progress_bar=False,
                log_output=False,
                start_timeout=start_timeout,
            )
        except pm.PapermillExecutionError as exc:
            error = CellError(
                study,
                exc.cell_index,
                exc.exec_count,
                exc.source or "",
                exc.ename,
                exc.evalue,
                nb_out,
            )
    seconds = time.perf_counter() - t0
    _restore_kernelspec(nb_in, nb_out)
    html = None
    with contextlib.suppress(Exception):
        html = notebook_to_html(nb_out, html_out, show_code=show_code)
    if html is None and error is None:
        html = notebook_to_html(nb_out, html_out, show_code=show_code)  # raise the real reason
    findings = out_dir / "findings.json"
    doc = read_findings(out_dir) if findings.exists() else None
    summary_path = out_dir / "run_summary.json"
    run_summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    manifest = {
        "study": study,
        "status": "failed" if error else "ok",
        "error": str(error) if error else None,
        "started_at": started,
        "seconds": round(seconds, 2),
        "command": sys.argv,
        "parameters": _studies._jsonable(effective),
        "parameters_given": _studies._jsonable(params),
        "notebook": str(nb_in),
        "notebook_sha256": hashlib.sha256(Path(nb_in).read_bytes()).hexdigest(),
        "outputs": {
            "notebook": nb_out.name,
            "html": html.name if html else None,
            "findings": findings.name if doc else None,
            "figures": sorted(p.name for p in (out_dir / "figures").glob("*"))
            if (out_dir / "figures").is_dir()
            else [],
        },
        "packages": _package_versions(),
        "git": _git_revision(),
        "data": doc["data"] if doc else _data_identity(effective.get("dataset")),
        "judges": doc["judges"] if doc else None,
        "store": effective.get("store"),
        "seed": effective.get("seed"),
        "kernel": {"name": kernel.name, "argv": kernel.argv, "python": kernel.python},
        "run_summary": run_summary,
    }
    mpath = out_dir / "manifest.json"
    mpath.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    if error:
        raise error
    if doc is None and log:
        log(
            f"warning: the {study} notebook wrote no findings.json (it should call ctx.save_findings)"
        )
    if log:
        log(f"  {study}: ok in {seconds:.1f} s -> {html}")
    return RunResult(
        study,
        out_dir,
        "ok",
        nb_out,
        html,
        findings if doc else None,
        mpath,
        seconds,
        None,
        effective,
    )


def _restore_kernelspec(nb_in: Path, nb_out: Path) -> None:
    """Give the executed notebook the source notebook's kernelspec back: the temporary
    ``judgelab-<hash>`` kernel no longer exists when someone opens the notebook later (the
    manifest records the kernel that ran it)."""
    import nbformat

    if not nb_out.exists():
        return
    src = nbformat.read(str(nb_in), as_version=4)
    out = nbformat.read(str(nb_out), as_version=4)
    spec = src.metadata.get("kernelspec") or {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    out.metadata["kernelspec"] = spec
    nbformat.write(out, str(nb_out))


def _data_identity(dataset) -> dict | None:
    try:
        from judgelab import load_dataset

        d = load_dataset(dataset)
        return {"name": d.name, "sha256": d.sha256}
    except Exception:  # the manifest of a failed run must still be written
        return None


# --------------------------------------------------------------------- demo
def demo_check(log: Callable[[str], None] = print) -> dict:
    """Validate the demo data and say what was checked (what ``judgelab demo`` does before studies exist)."""
    from judgelab import load_dataset

    d = load_dataset("demo")
    summary = d.validate()
    log(f"demo dataset '{d.name}' at {d.path} is valid (sha256 {d.sha256[:12]}):")
    for k, v in summary.items():
        if k not in ("name", "sha256"):
            log(f"  {k}: {v}")
    log(
        "  checked: required columns, unique ids, responses of known items, labels/preferences/truth/"
        "rubric labels of known responses, scores numeric and on the scale, preferences in {a, b, tie}, "
        "pairs within one item and not self-pairs"
    )
    return summary


def run_demo(
    out: str | os.PathLike = "reports/demo",
    *,
    resume: bool = False,
    force: bool = False,
    studies: list[str] | None = None,
    params: Mapping | None = None,
    jobs: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, RunResult | Exception]:
    """Every study notebook present, with its defaults (the demo data and the simulated demo
    panel, offline), into ``out/<study>/``, one shared store ``out/verdicts.sqlite``, and
    ``out/index.html``. ``params`` apply to every study that has them.

    The first study runs alone and pays for the panel's calls; the others then mostly read
    the shared store and run ``jobs`` at a time (default: 2, or 1 on a single core), each in
    its own ``judgelab run`` process. A failing study does not stop the others; the index
    marks it failed. With ``resume`` a study whose manifest says it completed with the same
    parameters is kept."""
    out_dir = Path(out).expanduser().resolve()
    demo_check(log)
    todo = studies or _studies.available_studies()
    if not todo:
        log("no study notebooks installed yet: validated the demo data only")
        return {}
    if out_dir.exists() and any(out_dir.iterdir()) and not (resume or force):
        raise StudyError(f"output directory {out_dir} exists; use --resume or --force")
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / "verdicts.sqlite"
    jobs = jobs or min(2, os.cpu_count() or 1)
    results: dict[str, RunResult | Exception] = {}
    plans = []
    for study in todo:
        spec = _studies.study_parameters(study)
        p = {k: v for k, v in {"store": str(store), **(params or {})}.items() if k in spec}
        sdir = out_dir / study
        if resume and _completed(sdir, study, p):
            log(f"  {study}: already complete, kept")
            results[study] = _result_from_dir(study, sdir, p)
        else:
            plans.append((study, p, sdir))
    warm = plans and jobs > 1 and not ({"dataset", "judges", "verdicts"} & set(params or {}))
    if warm:
        _warm_store(store, params or {}, jobs, log)
    if plans:
        # with the store warm no study pays for calls, so none has to run alone first
        first, rest = ([], plans) if warm else (plans[:1], plans[1:])
        for study, p, sdir in first if jobs > 1 else plans:
            try:
                results[study] = run_study(study, p, sdir, resume=resume, force=True, log=log)
            except StudyError as exc:
                log(f"  {study}: FAILED: {exc}")
                results[study] = exc
        if jobs > 1 and rest:
            import concurrent.futures as cf

            with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = {pool.submit(_run_in_process, *plan, log): plan[0] for plan in rest}
                for fut in cf.as_completed(futures):
                    results[futures[fut]] = fut.result()
    ordered = {s: results[s] for s in todo if s in results}
    write_index(out_dir, ordered)
    log(f"index: {out_dir / 'index.html'}")
    return ordered


def _judge_panel_on(store: str, pairs: pd.DataFrame, params: dict) -> dict:
    """Judge the demo panel on some of the demo pairs (a worker of :func:`_warm_store`)."""
    from judgelab.data import load_dataset

    specs = _studies.panel_judges("panel:demo")
    _, summary = _studies._judge_now(
        load_dataset("demo"), specs, {**params, "store": store}, pairs=pairs, progress=False
    )
    return summary


def _warm_store(store: Path, params: Mapping, jobs: int, log: Callable[[str], None]) -> None:
    """Pay the demo panel's pairwise calls in ``jobs`` processes before the studies run.

    Each call costs litellm a few milliseconds of CPU in one Python process; splitting the
    pairs over processes uses every core. The calls are exactly those the studies'
    ``prepare`` makes (same pairs, seed and judges, through the same function), so every
    study then reads them from the shared store and its run summary counts them as cached."""
    import concurrent.futures as cf
    import multiprocessing

    from judgelab.data import load_dataset

    merged = {**_studies.SHARED_DEFAULTS, **dict(params)}
    pairs = load_dataset("demo").pairs(
        merged["pairs"], n_pairs=merged["n_pairs"], seed=merged["seed"]
    )
    shared = {k: merged[k] for k in ("seed", "concurrency")}
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited litellm state
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = [
            pool.submit(_judge_panel_on, str(store), pairs.iloc[i::jobs], shared)
            for i in range(jobs)
        ]
        summaries = [f.result() for f in futures]
    sent = sum(int(s.get("sent") or 0) for s in summaries)
    calls = sum(int(s.get("calls") or 0) for s in summaries)
    log(
        f"judged the demo panel in {jobs} processes: {calls} calls ({sent} sent, "
        f"{calls - sent} cached) in {time.perf_counter() - t0:.1f} s"
    )


def _result_from_dir(study: str, sdir: Path, params: Mapping) -> RunResult:
    m = json.loads((sdir / "manifest.json").read_text())
    return RunResult(
        study,
        sdir,
        m.get("status", "ok"),
        sdir / f"{study}.ipynb",
        sdir / f"{study}.html",
        sdir / "findings.json",
        sdir / "manifest.json",
        float(m.get("seconds") or 0.0),
        m.get("error"),
        dict(params),
    )


def _run_in_process(study: str, params: Mapping, sdir: Path, log: Callable[[str], None]):
    """``judgelab run`` in a child process (studies share no process state: env, kernelspec)."""
    log(f"running {study} -> {sdir} (separate process)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        yaml.safe_dump(_studies._jsonable(dict(params)), fh)
        pfile = fh.name
    try:
        cmd = [
            sys.executable,
            "-m",
            "judgelab",
            "run",
            study,
            "--params",
            pfile,
            "--out",
            str(sdir),
            "--force",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(pfile)
    if proc.returncode != 0 or not (sdir / "manifest.json").exists():
        err = (proc.stderr or proc.stdout).strip().splitlines()
        msg = next((ln for ln in err if ln.startswith("error:")), err[-1] if err else "failed")
        log(f"  {study}: FAILED: {msg}")
        return StudyError(msg.removeprefix("error: "))
    res = _result_from_dir(study, sdir, params)
    log(f"  {study}: ok in {res.seconds:.1f} s -> {res.html}")
    return res


# ---------------------------------------------------------------- real data
REAL_STUDIES_DIR = Path(__file__).parent / "real_studies"
# folders of registered datasets (docs/datasets.md): a data directory holds at least one
_REAL_DATA_MARKERS = (
    "llmbar_judges",
    "position_bias_mtbench_devbench",
    "mt_bench_human_judgments_turn1",
)


def real_data_dir(cwd: str | os.PathLike | None = None) -> Path | None:
    """The directory of real dataset folders, or None: ``$JUDGELAB_DATA`` when set, else
    ``../shared/data`` relative to the working directory, else relative to the checkout.
    A directory counts when it holds at least one dataset folder."""
    env = os.environ.get("JUDGELAB_DATA")
    here = Path(cwd or os.getcwd())
    repo = Path(__file__).resolve().parent.parent
    cands = [Path(env).expanduser()] if env else []
    cands += [here / ".." / "shared" / "data", repo / ".." / "shared" / "data"]
    for c in cands:
        if c.is_dir() and any((c / m).is_dir() for m in _REAL_DATA_MARKERS):
            return c.resolve()
    return None


def real_studies() -> dict[str, tuple[str, dict]]:
    """``<study>__<dataset>`` -> (study, parameters) from the YAML files in
    ``judgelab/real_studies/`` (each runs a study on stored, published verdicts)."""
    out: dict[str, tuple[str, dict]] = {}
    for path in sorted(REAL_STUDIES_DIR.glob("*.yaml")):
        out[path.stem] = (path.stem.split("__", 1)[0], yaml.safe_load(path.read_text()) or {})
    return out


def run_real_studies(
    out: str | os.PathLike,
    *,
    resume: bool = False,
    names: list[str] | None = None,
    data_dir: str | os.PathLike | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, RunResult | Exception]:
    """Run the real-data studies (:func:`real_studies`, or only ``names``) into
    ``out/<study>__<dataset>/`` on published verdicts, without calling a judge.

    The data is read where :func:`real_data_dir` finds it (handed to the notebooks as
    ``JUDGELAB_DATA``), never copied. Returns {} and says so when it is absent."""
    data = Path(data_dir).expanduser().resolve() if data_dir else real_data_dir()
    if data is None:
        log(
            "real data not found ($JUDGELAB_DATA unset, no ../shared/data beside the working "
            "directory or the checkout): real-data studies skipped"
        )
        return {}
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = real_studies()
    if names:
        todo = {k: v for k, v in todo.items() if k in names}
    log(f"real-data studies on {data}: {', '.join(todo)}")
    results: dict[str, RunResult | Exception] = {}
    with _environ(JUDGELAB_DATA=data):
        for name, (study, p) in todo.items():
            sdir = out_dir / name
            # nothing is judged, but a study opens its store: keep it out of the working dir
            p = {"store": str(out_dir / "verdicts.sqlite"), **p}
            if resume and _completed(sdir, study, p):
                log(f"  {name}: already complete, kept")
                results[name] = _result_from_dir(study, sdir, p)
                continue
            try:
                results[name] = run_study(study, p, sdir, resume=resume, force=True, log=log)
            except StudyError as exc:
                log(f"  {name}: FAILED: {exc}")
                results[name] = exc
    return results


def _completed(sdir: Path, study: str, params: Mapping) -> bool:
    m = sdir / "manifest.json"
    if not m.exists() or not (sdir / "findings.json").exists():
        return False
    man = json.loads(m.read_text())
    given = _studies._jsonable(dict(params))
    return man.get("status") == "ok" and man.get("parameters_given") == given


def _headline(doc: dict, max_primary: int = 12, min_rows: int = 5) -> pd.DataFrame:
    """Headline findings of a study: its primary findings (at most ``max_primary``), topped up
    with the first exploratory ones to ``min_rows``."""
    f = findings_frame(doc)
    if f.empty:
        return f
    primary = f[f["primary"]].head(max_primary)
    other = f[~f["primary"]].head(max(0, min_rows - len(primary)))
    return pd.concat([primary, other])


def write_index(out_dir: Path, results: Mapping[str, RunResult | Exception]) -> Path:
    """``index.html``: each study's report link, status and headline findings (primary first)."""
    from judgelab.studies import FindingsTable

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>judgelab demo</title>",
        "<style>body{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:3px 8px;"
        "text-align:left;vertical-align:top}.failed{color:#b00}</style></head><body>",
        "<h1>judgelab reports</h1>",
        f"<p>Generated {_html.escape(_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'))}; "
        "offline, demo data, simulated judge panel. Primary findings first; p adj. = Holm for primary, "
        "Benjamini-Hochberg for exploratory tests.</p>",
    ]
    if any("__" in name for name in results):  # run_real_studies' <study>__<dataset> runs
        parts.append(
            "<p>Sections named <code>&lt;study&gt;__&lt;dataset&gt;</code> ran on published "
            "verdicts of real judges (judgelab/real_studies/*.yaml), without calling a judge.</p>"
        )
    for study, res in results.items():
        title = _html.escape(study.replace("__", " on ").replace("_", " "))
        if isinstance(res, RunResult) and res.status == "ok":
            rel = os.path.relpath(res.html, out_dir) if res.html else None
            link = f"<a href='{_html.escape(rel)}'>{title}</a>" if rel else title
            parts.append(f"<h2 id='{_html.escape(study)}'>{link}</h2>")
            doc = read_findings(res.out_dir) if (res.out_dir / "findings.json").exists() else None
            if doc is None:
                parts.append("<p>No findings.json was written.</p>")
                continue
            f = findings_frame(doc)
            n_primary = int(f["primary"].sum()) if len(f) else 0
            parts.append(
                f"<p>{len(f)} findings ({n_primary} primary), {len(doc.get('judges') or [])} judge identities, "
                f"{res.seconds:.0f} s.</p>"
            )
            parts.append(
                FindingsTable(
                    _headline(doc), judges=doc.get("judges"), max_conclusion=200
                )._repr_html_()
            )
        else:
            nb = Path(out_dir) / study / f"{study}.html"
            link = f"<a href='{study}/{study}.html'>{title}</a>" if nb.exists() else title
            parts.append(
                f"<h2 id='{_html.escape(study)}'>{link} <span class='failed'>failed</span></h2>"
            )
            parts.append(f"<pre class='failed'>{_html.escape(str(res))}</pre>")
    parts.append("</body></html>")
    path = Path(out_dir) / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# --------------------------------------------------------------- findings io
def read_findings(run_dir_or_file: str | os.PathLike) -> dict:
    """findings.json of a run directory (or the file itself)."""
    p = Path(run_dir_or_file)
    if p.is_dir():
        p = p / "findings.json"
    if not p.exists():
        raise StudyError(f"no findings.json in {p.parent}")
    return json.loads(p.read_text())


def findings_frame(doc: dict) -> pd.DataFrame:
    """findings.json findings as a DataFrame (slice kept as a mapping)."""
    from judgelab.stats._tidy import FINDING_COLUMNS

    f = pd.DataFrame(doc.get("findings") or [])
    for c in FINDING_COLUMNS:
        if c not in f.columns:
            f[c] = None
    f["primary"] = f["primary"].fillna(False).astype(bool)
    return f


def _slice_key(s) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return ""
    return json.dumps(s, sort_keys=True) if isinstance(s, (dict, list)) else str(s)


# ------------------------------------------------------------------- export
def export_run(run_dir: str | os.PathLike, to: str | os.PathLike) -> dict[str, list[Path]]:
    """Findings as ``findings.csv`` and ``findings.tex`` (LaTeX table, booktabs), figures as
    SVG and PDF (those saved by :func:`show`; images found only in the executed notebook
    are written as PNG). Returns the written paths by kind."""
    run = Path(run_dir)
    doc = read_findings(run)
    dest = Path(to)
    dest.mkdir(parents=True, exist_ok=True)
    f = findings_frame(doc)
    flat = f.copy()
    flat["slice"] = flat["slice"].map(_slice_key)
    csv = dest / "findings.csv"
    flat.to_csv(csv, index=False)
    tex = dest / "findings.tex"
    tex.write_text(_latex_table(doc, f))
    written: dict[str, list[Path]] = {"tables": [csv, tex], "figures": []}
    fig_src = run / "figures"
    fig_dest = dest / "figures"
    if fig_src.is_dir():
        for p in sorted(fig_src.iterdir()):
            if p.suffix.lower() in (".svg", ".pdf"):
                fig_dest.mkdir(exist_ok=True)
                shutil.copy2(p, fig_dest / p.name)
                written["figures"].append(fig_dest / p.name)
    if not written["figures"]:
        written["figures"] = _extract_notebook_images(run, fig_dest)
    return written


def _extract_notebook_images(run: Path, dest: Path) -> list[Path]:
    import base64

    import nbformat

    nbs = [p for p in run.glob("*.ipynb")]
    out = []
    for nbp in nbs:
        nb = nbformat.read(str(nbp), as_version=4)
        k = 0
        for ci, cell in enumerate(nb.cells):
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                for mime, ext in (
                    ("image/svg+xml", "svg"),
                    ("application/pdf", "pdf"),
                    ("image/png", "png"),
                ):
                    if mime in data:
                        dest.mkdir(parents=True, exist_ok=True)
                        p = dest / f"cell{ci:03d}_{k}.{ext}"
                        payload = data[mime]
                        if ext == "svg":
                            p.write_text(payload if isinstance(payload, str) else "".join(payload))
                        else:
                            p.write_bytes(base64.b64decode(payload))
                        out.append(p)
                        k += 1
                        break
    return out


_LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def _tex(s) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(s))


def _latex_table(doc: dict, f: pd.DataFrame) -> str:
    from judgelab.studies import _estimate_text, _p_text, _slice_text

    judges = doc.get("judges") or []
    models = [j.get("model") for j in judges]
    short = {
        f"{j.get('model')}|{j.get('backend')}|{j.get('judge_version')}": j.get("model")
        for j in judges
        if models.count(j.get("model")) == 1
    }
    lines = [
        "% judgelab findings: "
        + _tex(doc.get("study", ""))
        + f", data {_tex((doc.get('data') or {}).get('name', ''))}",
        "\\begin{table}[ht]",
        "\\centering",
        "\\small",
        "\\begin{tabular}{llllrrr}",
        "\\toprule",
        "Finding & Judge & Slice & Estimate [95\\% CI] & $p$ & $p_{adj}$ & $n$ \\\\",
        "\\midrule",
    ]
    order = f.sort_values("primary", ascending=False, kind="stable")
    for r in order.itertuples():
        judge = (
            "all"
            if r.judge is None or (isinstance(r.judge, float) and math.isnan(r.judge))
            else short.get(r.judge, r.judge)
        )
        fid = _tex(r.id) + ("$^{*}$" if r.primary else "")
        n = "" if r.n is None or (isinstance(r.n, float) and math.isnan(r.n)) else str(int(r.n))
        lines.append(
            " & ".join(
                [
                    fid,
                    _tex(judge),
                    _tex(_slice_text(r.slice, short)),
                    _tex(_estimate_text(r.estimate, r.ci_low, r.ci_high, r.ci_level)),
                    _tex(_p_text(r.p_value)),
                    _tex(_p_text(r.p_adjusted)),
                    n,
                ]
            )
            + " \\\\"
        )
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{_tex(doc.get('study', '').replace('_', ' '))}: findings. $^{{*}}$ primary test (Holm-adjusted); "
        "other $p$ exploratory (Benjamini-Hochberg). CIs unadjusted.}",
        f"\\label{{tab:{_tex(doc.get('study', 'findings')).replace(chr(92), '')}}}",
        "\\end{table}",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------- diff
DIFF_FIELDS = ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "n")


def diff_runs(
    run_a: str | os.PathLike, run_b: str | os.PathLike, alpha: float = 0.05
) -> pd.DataFrame:
    """Findings of two runs side by side, matched on (id, judge, slice).

    Columns: id, judge, slice, primary, then ``<field>_a``, ``<field>_b`` for estimate, CI,
    p, p adjusted and n; ``delta`` = estimate_b − estimate_a; ``significant_a/_b`` (p adjusted
    < alpha) and ``change``: ``only in A``, ``only in B``, ``significance changed``,
    ``estimate changed`` or ``same``."""
    fa, fb = findings_frame(read_findings(run_a)), findings_frame(read_findings(run_b))
    for f in (fa, fb):
        f["_slice"] = f["slice"].map(_slice_key)
        f["_judge"] = f["judge"].map(
            lambda j: "" if j is None or (isinstance(j, float) and math.isnan(j)) else str(j)
        )
    key = ["id", "_judge", "_slice"]
    keep = [*key, "judge", "slice", "primary", *DIFF_FIELDS]
    m = fa[keep].merge(fb[keep], on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    out = pd.DataFrame(
        {
            "id": m["id"],
            "judge": m["judge_a"].combine_first(m["judge_b"]),
            "slice": m["_slice"],
            "primary": m["primary_a"].combine_first(m["primary_b"]),
        }
    )
    for fld in DIFF_FIELDS:
        out[f"{fld}_a"] = pd.to_numeric(m[f"{fld}_a"], errors="coerce")
        out[f"{fld}_b"] = pd.to_numeric(m[f"{fld}_b"], errors="coerce")
    out["delta"] = out["estimate_b"] - out["estimate_a"]
    out["significant_a"] = out["p_adjusted_a"] < alpha
    out["significant_b"] = out["p_adjusted_b"] < alpha
    change = []
    for r, ind in zip(out.itertuples(), m["_merge"], strict=False):
        if ind == "left_only":
            change.append("only in A")
        elif ind == "right_only":
            change.append("only in B")
        elif (
            not pd.isna(r.p_adjusted_a) or not pd.isna(r.p_adjusted_b)
        ) and r.significant_a != r.significant_b:
            change.append("significance changed")
        elif (
            not _same(r.estimate_a, r.estimate_b)
            or not _same(r.ci_low_a, r.ci_low_b)
            or not _same(r.ci_high_a, r.ci_high_b)
        ):
            change.append("estimate changed")
        else:
            change.append("same")
    out["change"] = change
    out["primary"] = out["primary"].fillna(False).astype(bool)
    return out.sort_values(
        ["primary", "id", "judge", "slice"],
        ascending=[False, True, True, True],
        kind="stable",
        na_position="first",
    ).reset_index(drop=True)


def _same(a, b, tol: float = 1e-12) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(a)))


# ----------------------------------------------------------------- verdicts
def verdicts_summary(store_path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(identities of a store: model, backend, judge_version, family, protocol, verdict, parsed,
    failed and call counts and cost of distinct calls; the tidy verdict frame)."""
    from judgelab.store import VerdictStore

    path = Path(store_path)
    if not path.is_file():
        raise StudyError(f"no verdict store at {path}")
    store = VerdictStore(path)
    try:
        ids = store.identities()
        frame = store.to_frame()
    finally:
        store.close()
    return ids, frame
