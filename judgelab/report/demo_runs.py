"""Runs of several studies: ``judgelab demo`` (every study on the demo data and simulated
panel, its store warmed in parallel first) and the real-data studies on published verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import yaml

from judgelab import config, judge_specs
from judgelab import studies as _studies
from judgelab import study as _study
from judgelab.config import REAL_STUDIES_DIR, real_data_dir
from judgelab.findings import jsonable, redact_credentials
from judgelab.report.execution import environ, run_study
from judgelab.report.html import write_index
from judgelab.report.parameters import typed_parameters
from judgelab.report.results import RunResult, StudyError
from judgelab.study import unknown_parameter

__all__ = [
    "demo_check",
    "demo_parameters",
    "run_demo",
    "real_data_dir",
    "real_studies",
    "run_real_studies",
    "REAL_STUDIES_DIR",
]


# --------------------------------------------------------------------- demo
#: What the demo runs beyond a study's defaults (a value given to ``run_demo`` wins). Every
#: demo pair the panel judges has human labels, which a researcher's judged set rarely has: the
#: corrected estimate keeps a seeded 30% of them, so the report shows corrections from a
#: labelled subset (PPI++ included) as on real data.
DEMO_STUDY_PARAMETERS: dict[str, dict] = {"corrected_estimate": {"label_share": 0.3}}


def demo_check(log: Callable[[str], None] = print) -> dict:
    """Validate the demo data and say what was checked (what ``judgelab demo`` does before studies exist)."""
    from judgelab.datasets import load_dataset

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
    out: str | os.PathLike | None = None,
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
    out_dir = Path(out or config.default_demo_out()).expanduser().resolve()
    todo = studies or _studies.available_studies()
    if todo and out_dir.exists() and any(out_dir.iterdir()) and not (resume or force):
        raise StudyError(f"output directory {out_dir} exists; use --resume or --force")
    typed = demo_parameters(todo, params or {})  # before anything is judged
    params = {k: v for values in typed.values() for k, v in values.items()}
    demo_check(log)
    if not todo:
        log("no study notebooks installed yet: validated the demo data only")
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / config.STORE_FILE_NAME
    jobs = jobs or min(2, os.cpu_count() or 1)
    results: dict[str, RunResult | Exception] = {}
    plans = []
    for study in todo:
        p = {"store": str(store), **DEMO_STUDY_PARAMETERS.get(study, {}), **typed[study]}
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


def demo_parameters(studies: list[str], params: Mapping) -> dict[str, dict]:
    """Study -> the ``params`` it takes, typed and checked (:func:`typed_parameters`). A name
    no study takes is an error (a typo such as ``n_pair`` is never silently ignored)."""
    try:
        specs = {s: _study.parameter_spec(s) for s in studies}
    except ValueError as exc:  # an unknown study
        raise StudyError(str(exc)) from exc
    taken = list(dict.fromkeys(name for spec in specs.values() for name in spec))
    unknown = [k for k in params if k not in taken]
    if unknown:
        raise StudyError(
            "no study of the demo takes " + "; ".join(unknown_parameter(k, taken) for k in unknown)
        )
    return {
        s: typed_parameters(s, {k: v for k, v in params.items() if k in spec})
        for s, spec in specs.items()
    }


def _judge_panel_on(store: str, pairs: pd.DataFrame, params: dict) -> dict:
    """Judge the demo panel on some of the demo pairs (a worker of :func:`_warm_store`)."""
    from judgelab.datasets import load_dataset

    specs = judge_specs.panel_judges("panel:demo")
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

    from judgelab.datasets import load_dataset

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
        yaml.safe_dump(jsonable(dict(params)), fh)
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
def real_studies() -> dict[str, tuple[str, dict]]:
    """``<study>__<dataset>`` -> (study, parameters) from the YAML files in
    ``judgelab/real_studies/`` (each runs a study on stored, published verdicts)."""
    out: dict[str, tuple[str, dict]] = {}
    for path in sorted(config.REAL_STUDIES_DIR.glob("*.yaml")):
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
    data = Path(data_dir).expanduser().resolve() if data_dir else config.real_data_dir()
    if data is None:
        log(
            f"real data not found (${config.ENV_DATA} unset, no {config.SHARED_DATA_BESIDE} beside "
            "the working directory or the checkout): real-data studies skipped"
        )
        return {}
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = real_studies()
    if names:
        todo = {k: v for k, v in todo.items() if k in names}
    log(f"real-data studies on {data}: {', '.join(todo)}")
    results: dict[str, RunResult | Exception] = {}
    with environ(**{config.ENV_DATA: data}):
        for name, (study, p) in todo.items():
            sdir = out_dir / name
            # nothing is judged, but a study opens its store: keep it out of the working dir
            p = {"store": str(out_dir / config.STORE_FILE_NAME), **p}
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
    given = redact_credentials(jsonable(dict(params)))  # as the manifest records them
    return man.get("status") == "ok" and man.get("parameters_given") == given
