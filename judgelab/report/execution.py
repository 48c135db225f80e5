"""Notebook execution: a study notebook run with papermill in a temporary kernel of this
Python, into an output directory, with its HTML report and ``manifest.json``."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from judgelab import config, run_record
from judgelab import studies as _studies
from judgelab.findings import credential_values, jsonable, redact_credentials, scrub_text
from judgelab.report.export import read_findings
from judgelab.report.html import notebook_to_html
from judgelab.report.parameters import effective_parameters, notebook_defaults
from judgelab.report.results import OUTPUT_FILES, CellError, RunResult, StudyError
from judgelab.report.stops import add_banners, run_stops, stop_line

__all__ = ["Kernel", "temporary_kernel", "environ", "run_study", "PACKAGES"]

#: Packages whose versions the manifest records (:data:`judgelab.run_record.PACKAGES`).
PACKAGES = run_record.PACKAGES


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
    old = os.environ.get(config.ENV_JUPYTER_PATH)
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
        os.environ[config.ENV_JUPYTER_PATH] = tmp + (os.pathsep + old if old else "")
        try:
            yield Kernel(name=name, argv=argv, python=python)
        finally:
            if old is None:
                os.environ.pop(config.ENV_JUPYTER_PATH, None)
            else:
                os.environ[config.ENV_JUPYTER_PATH] = old


@contextlib.contextmanager
def environ(**values):
    """Set environment variables (values as strings) for the duration of the block."""
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


def _git_revision() -> dict | None:
    """HEAD of the checkout judgelab runs from and whether tracked files changed
    (:func:`judgelab.run_record.code_revision`); None outside a git checkout or without git."""
    rev = run_record.code_revision()
    return None if rev is None else {"revision": rev["commit"], "dirty": rev["dirty"]}


def check_out_dir(out: Path, resume: bool, force: bool) -> None:
    """Raise :class:`StudyError` when a run cannot write into ``out`` as asked (checked
    before the inputs, so that a forgotten --resume costs nothing)."""
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


def _prepare_out_dir(out: Path, study: str, resume: bool, force: bool) -> None:
    check_out_dir(out, resume, force)
    if out.exists() and any(out.iterdir()):
        if force:
            # remove only what a run writes: the directory may hold the user's other files
            for name in (f"{study}.ipynb", f"{study}.html", *OUTPUT_FILES):
                (out / name).unlink(missing_ok=True)
            shutil.rmtree(out / "figures", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


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
    """Execute one study notebook into ``out`` (see :mod:`judgelab.report`). Raises
    :class:`StudyError` (bad study, parameters or out dir) or :class:`CellError`
    (a cell failed; the executed notebook, HTML and manifest are still written)."""
    params = dict(params or {})
    try:
        nb_in = _studies.notebook_path(study)
    except ValueError as exc:
        raise StudyError(str(exc)) from exc
    passed, spec = effective_parameters(study, params)
    out_dir = Path(out or config.default_study_out(study)).expanduser().resolve()
    _prepare_out_dir(out_dir, study, resume, force)
    nb_out = out_dir / f"{study}.ipynb"
    html_out = out_dir / f"{study}.html"
    effective = {**notebook_defaults(spec), **passed}
    (out_dir / "findings.json").unlink(missing_ok=True)  # never report a stale one
    t0, since = time.perf_counter(), time.time()
    started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    if log:
        log(f"running {study} -> {out_dir}")
    # the kernel's run record lists the parameters this caller gave, not the notebook's defaults
    given = {run_record.PARAMETERS_GIVEN_ENV: json.dumps(redact_credentials(jsonable(params)))}
    with temporary_kernel() as kernel, environ(**config.kernel_environment(out_dir), **given):
        error = _execute(study, nb_in, nb_out, passed, kernel, out_dir, start_timeout)
    seconds = time.perf_counter() - t0
    _restore_kernelspec(nb_in, nb_out, secrets=credential_values(jsonable(params)))
    html = None
    with contextlib.suppress(Exception):
        html = notebook_to_html(nb_out, html_out, show_code=show_code)
    if html is None and error is None:
        html = notebook_to_html(nb_out, html_out, show_code=show_code)  # raise the real reason
    findings = out_dir / "findings.json"
    doc = read_findings(out_dir) if findings.exists() else None
    stopped = run_stops(out_dir, effective.get("store"), since)
    if html is not None and stopped:
        add_banners(html, stopped)
    if log:
        for stop in stopped:
            log(stop_line(stop))
    run = {"started_at": started, "seconds": seconds, "error": error, "kernel": kernel}
    run["stopped"] = stopped
    recorded = _recorded_parameters(doc, passed)
    mpath = _write_manifest(study, nb_in, out_dir, params, recorded, effective, run, html, doc)
    if error:
        raise error
    if doc is None and log:
        log(
            f"warning: the {study} notebook wrote no findings.json (it should call ctx.save_findings)"
        )
    if log:
        log(f"  {study}: {'partial' if stopped else 'ok'} in {seconds:.1f} s -> {html}")
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
        recorded,
        stopped,
    )


def _execute(
    study: str,
    nb_in: Path,
    nb_out: Path,
    passed: Mapping,
    kernel: Kernel,
    out_dir: Path,
    start_timeout: int,
) -> CellError | None:
    """Run the notebook with papermill in ``kernel`` (cwd = ``out_dir``); the failing cell's
    error, or None."""
    import papermill as pm

    try:
        pm.execute_notebook(
            str(nb_in),
            str(nb_out),
            parameters=dict(passed),
            kernel_name=kernel.name,
            language="python",
            cwd=str(out_dir),
            progress_bar=False,
            log_output=False,
            start_timeout=start_timeout,
        )
    except pm.PapermillExecutionError as exc:
        return CellError(
            study,
            exc.cell_index,
            exc.exec_count,
            exc.source or "",
            exc.ename,
            exc.evalue,
            nb_out,
        )
    return None


def _recorded_parameters(doc: dict | None, passed: Mapping) -> dict:
    """The parameters a run records: those the study resolved (``findings.json``: e.g.
    ``judges`` None for stored verdicts analysed identity by identity, the judge comparison's
    derived source and ensemble), else (no findings: the run failed before saving them) only
    the values passed to the notebook. Never the notebook's declared defaults, which name the
    demo panel: a run on another dataset would otherwise record demo names it never used."""
    if doc and isinstance(doc.get("parameters"), Mapping):
        return dict(doc["parameters"])
    return dict(passed)


def _write_manifest(
    study: str,
    nb_in: Path,
    out_dir: Path,
    params: Mapping,
    recorded: Mapping,
    effective: Mapping,
    run: Mapping,
    html: Path | None,
    doc: dict | None,
) -> Path:
    """``manifest.json``: what ran (``run``: started_at, seconds, error, kernel), with which
    parameters (``recorded``: :func:`_recorded_parameters`; ``params`` as given), packages,
    code revision, data and judges, and what it wrote. ``effective`` (declared defaults and
    the values passed) gives the store, seed and dataset when no findings were written."""
    error, kernel = run["error"], run["kernel"]
    summary_path = out_dir / "run_summary.json"
    run_summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    manifest = {
        "study": study,
        "status": "failed" if error else "ok",
        "error": str(error) if error else None,
        # calls not sent (max_cost_usd, or a judge stopped after repeated failures)
        "partial": bool(run["stopped"]),
        "stopped": run["stopped"],
        "started_at": run["started_at"],
        "seconds": round(run["seconds"], 2),
        "command": [scrub_text(a, credential_values(jsonable(params))) for a in sys.argv],
        "parameters": redact_credentials(jsonable(recorded)),
        "parameters_given": redact_credentials(jsonable(params)),
        "notebook": str(nb_in),
        "notebook_sha256": hashlib.sha256(Path(nb_in).read_bytes()).hexdigest(),
        "outputs": {
            "notebook": f"{study}.ipynb",
            "html": html.name if html else None,
            "findings": "findings.json" if doc else None,
            "figures": sorted(p.name for p in (out_dir / "figures").glob("*"))
            if (out_dir / "figures").is_dir()
            else [],
        },
        "packages": run_record.package_versions(),
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
    return mpath


def _restore_kernelspec(nb_in: Path, nb_out: Path, secrets=()) -> None:
    """Give the executed notebook the source notebook's kernelspec back: the temporary
    ``judgelab-<hash>`` kernel no longer exists when someone opens the notebook later (the
    manifest records the kernel that ran it). ``secrets`` (credentials given in the
    parameters, e.g. an ``api_key`` in a ``judges`` mapping) are replaced in every cell, the
    injected parameters first, so neither the notebook nor its HTML report holds them."""
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
    text = nbformat.writes(out)
    if secrets:
        text = scrub_text(text, secrets)
    Path(nb_out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def _data_identity(dataset) -> dict | None:
    try:
        from judgelab.datasets import load_dataset

        d = load_dataset(dataset)
        return {"name": d.name, "sha256": d.sha256}
    except Exception:  # the manifest of a failed run must still be written
        return None
