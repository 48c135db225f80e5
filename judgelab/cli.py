"""The ``judgelab`` command line (docs/design.md#command-line).

``judgelab studies`` · ``judgelab run STUDY`` · ``judgelab demo`` · ``judgelab verdicts STORE`` ·
``judgelab export RUN_DIR --to DIR`` · ``judgelab diff RUN_A RUN_B``
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import typer

from judgelab import config
from judgelab._version_option import root_callback
from judgelab.check import check_command
from judgelab.importers.cli import import_command


def defer_module(name: str, functions: tuple[str, ...]) -> bool:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports the real module the
    first time one of its attributes is used; ``functions`` are the names importers bind with
    ``from name import f`` at their own import (each becomes a function that calls the real
    one). Does nothing when ``name`` is imported already or not installed. True when the
    stand-in was put in place.

    Why: every ``judgelab run`` imports nbformat (papermill executes the notebook, nbconvert
    writes the HTML), which imports jsonschema, which imports ``rfc3987_syntax`` for its
    ``iri`` format checks; that module compiles about 35 Earley grammars at import, 3 s CPU
    per run, and no notebook schema has an ``iri`` format (jsonschema issue 1428). With the
    stand-in the checks still give the real module's answers, if anything ever asks.
    """
    spec = None if name in sys.modules else importlib.util.find_spec(name)
    if spec is None:
        return False
    stand_in = types.ModuleType(name, f"stand-in for {name}, imported on first use")
    stand_in.__spec__ = spec  # importlib.util.find_spec(name) answers as before

    def real():
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return importlib.import_module(name)

    def forward(attr):
        def call(*args, **kwargs):
            return getattr(real(), attr)(*args, **kwargs)

        call.__name__ = call.__qualname__ = attr
        return call

    for attr in functions:
        setattr(stand_in, attr, forward(attr))

    def other(attr):  # any other attribute (PEP 562); import machinery asks for dunders
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(real(), attr)

    stand_in.__getattr__ = other
    sys.modules[name] = stand_in
    return True


# before anything imports jsonschema (see defer_module): the command line only
defer_module("rfc3987_syntax", ("is_valid_syntax",))

app = typer.Typer(
    name="judgelab",
    help="Measure LLM judges like instruments: run parameterized bias and calibration studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


#: Exit code of a run that did not send every call (without --allow-partial).
PARTIAL_EXIT_CODE = 3
#: Exit code of a complete run whose findings meet a --fail-on condition.
FAIL_ON_EXIT_CODE = 4


def _fail(message: str, code: int = 1):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def studies():
    """List the studies and their parameters (type, default, help)."""
    from judgelab import study

    typer.echo(study.listing())


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    study: str = typer.Argument(..., help="study name (see `judgelab studies`)"),
    params: Path = typer.Option(None, "--params", help="YAML file of parameters (-p overrides it)"),
    out: Path = typer.Option(
        None,
        "--out",
        help=f"output directory (default {config.REPORTS_DIR}/<study> in the project directory: "
        f"${config.ENV_HOME}, else the working directory)",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="count the calls needed and cached and the estimated cost; execute nothing",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="rerun into an existing output directory (cached calls are reused)"
    ),
    force: bool = typer.Option(
        False, "--force", help="replace the report in an existing output directory"
    ),
    show_code: bool = typer.Option(False, "--show-code", help="show code cells in the HTML report"),
    allow_partial: bool = typer.Option(
        False,
        "--allow-partial",
        help="exit 0 when calls were not sent (max_cost_usd reached, or a judge stopped after "
        f"repeated failures); such a run exits {PARTIAL_EXIT_CODE} otherwise",
    ),
    fail_on: str = typer.Option(
        None,
        "--fail-on",
        help="exit "
        f"{FAIL_ON_EXIT_CODE} when the findings' decisive verdicts meet a condition "
        "(comma-separated): gate = a gate not established (refuted, inconclusive, undecided) "
        "or no gate; bias = a primary bias test established; inconclusive = any decided "
        "finding inconclusive. Exit codes: 0 ok, 1 error, "
        f"{PARTIAL_EXIT_CODE} partial run, {FAIL_ON_EXIT_CODE} a --fail-on condition met",
    ),
):
    """Execute a study notebook with papermill into OUT: .ipynb, .html, findings.json, manifest.json.

    Parameters: -p NAME VALUE (repeatable; VALUE is read as YAML, so 120, [a, b] and
    {model: x} give a number, a list and a mapping), after --params FILE.yaml.

    Exit codes: 0 done; 1 an error (bad input, a failed cell); 3 a partial run (without
    --allow-partial); 4 a --fail-on condition met (docs/statistics.md#decisive-verdicts).
    """
    from judgelab import inputs, preflight, report
    from judgelab.stats.decision import parse_fail_on

    try:
        conditions = parse_fail_on(fail_on)  # a bad value stops before anything runs
    except ValueError as exc:
        _fail(str(exc))
    try:
        pairs = parse_p_options(ctx.args)
        # typed and checked against the study's declaration before anything else: a bad value
        # stops here, before the kernel starts and before any call (--dry-run included)
        values = report.typed_parameters(study, report.parse_parameters(pairs, params))
        if "judges" in values:  # inline keys go to the kernel's environment, not its parameters
            values["judges"] = preflight.keys_to_environment(values["judges"])
        if dry_run or values.get("dry_run") is True:  # -p dry_run true means the same: plan only
            _dry_run(study, values)
            return
        passed, spec = report.effective_parameters(study, values)
        out_dir = Path(out or config.default_study_out(study)).expanduser().resolve()
        report.check_out_dir(out_dir, resume, force)
        # before the kernel starts: bad data, a bad verdict file and judges that cannot be
        # called stop the run here, with one message on the terminal
        inputs.check_inputs(study, {**report.notebook_defaults(spec), **passed}, log=typer.echo)
        result = report.run_study(
            study, values, out, resume=resume, force=force, show_code=show_code, log=typer.echo
        )
    except (
        report.StudyError,
        inputs.InputError,
        preflight.PreflightError,
        config.ProjectDirError,
    ) as exc:
        _fail(str(exc))
    if result is not None and result.stopped and not allow_partial:
        _fail(
            f"{study} is a partial run (STOPPED above): its findings rest on part of the data. "
            "Raise max_cost_usd or fix the judge and rerun with --resume (answered calls are "
            "reused), or pass --allow-partial to accept it",
            PARTIAL_EXIT_CODE,
        )
    if conditions and result is not None:
        _check_fail_on(study, result, conditions)


def _check_fail_on(study: str, result, conditions) -> None:
    """Exit :data:`FAIL_ON_EXIT_CODE` naming each finding that meets a ``--fail-on``
    condition (:func:`judgelab.stats.decision.fail_on_reasons`), read from findings.json."""
    from judgelab.report import StudyError, read_findings
    from judgelab.stats.decision import fail_on_reasons

    try:
        rows = read_findings(result.out_dir).get("findings") or []
    except StudyError as exc:
        _fail(f"--fail-on: {exc}", FAIL_ON_EXIT_CODE)
    reasons = fail_on_reasons(rows, conditions)
    if reasons:
        shown = reasons[:20] + ([f"... and {len(reasons) - 20} more"] if len(reasons) > 20 else [])
        _fail(
            f"{study}: --fail-on {','.join(conditions)} met by {len(reasons)} finding(s):\n  "
            + "\n  ".join(shown),
            FAIL_ON_EXIT_CODE,
        )
    typer.echo(f"--fail-on {','.join(conditions)}: no finding meets it")


def parse_p_options(args: list[str]) -> list[tuple[str, str]]:
    """``-p NAME VALUE`` / ``--param NAME VALUE`` pairs from the extra arguments (click options
    take one value, so the run command collects them itself)."""
    from judgelab.report import StudyError

    pairs, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("-p", "--param"):
            if i + 2 >= len(args):
                raise StudyError(f"{a} needs NAME VALUE")
            pairs.append((args[i + 1], args[i + 2]))
            i += 3
        else:
            raise StudyError(f"unexpected argument {a!r} (parameters are given as -p NAME VALUE)")
    return pairs


def _dry_run(study: str, values: dict):
    """Prepare the study in this process with dry_run=True and print the run plan: the calls
    ``prepare`` needs (the study's judges on its pairs), cached or to send, and their estimated
    cost. Calls a notebook adds later with ``ctx.call`` are not counted."""
    import json

    from judgelab import preflight, report, studies

    passed, spec = report.effective_parameters(study, values)
    passed = {**report.notebook_defaults(spec), **passed, "dry_run": True}
    try:
        with preflight.planned() as plans:
            ctx = studies.prepare(study, **passed)
    except Exception as exc:  # a plan that cannot be made is an error of the inputs
        raise report.StudyError(f"dry run of {study}: {type(exc).__name__}: {exc}") from exc
    typer.echo(f"dry run of {study} (nothing executed, nothing paid):")
    typer.echo(json.dumps(ctx.run_summary, indent=2))
    judges = list({id(j): j for plan in plans for j in plan.judges}.values())
    for warning in preflight.price_warnings(judges):
        typer.echo(f"warning: {warning}", err=True)
    problems = preflight.judge_problems(judges)
    if problems:
        raise report.StudyError("the judges cannot be called:\n  " + "\n  ".join(problems))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def demo(
    ctx: typer.Context,
    out: Path = typer.Option(
        None,
        "--out",
        help=f"output directory (default {config.DEFAULT_DEMO_OUT} in the project directory: "
        f"${config.ENV_HOME}, else the working directory)",
    ),
    resume: bool = typer.Option(False, "--resume", help="keep studies already completed in OUT"),
    force: bool = typer.Option(False, "--force", help="rerun into an existing OUT"),
    jobs: int = typer.Option(
        None, "--jobs", help="studies run at a time after the first (default 2; 1 on one core)"
    ),
    real: bool = typer.Option(
        False,
        "--real",
        help="then the real-data studies (judgelab/real_studies/*.yaml) on published verdicts, "
        f"when ${config.ENV_DATA} or {config.SHARED_DATA_BESIDE} holds the data; skipped with a "
        "message otherwise",
    ),
):
    """Every study offline on the demo data and simulated panel, one shared store, and index.html.

    Optional -p NAME VALUE parameters apply to every study that has them (e.g. -p n_pairs 200).
    """
    from judgelab import report

    try:
        values = report.parse_parameters(parse_p_options(ctx.args))
        out = out or config.default_demo_out()
        results = report.run_demo(
            out, resume=resume, force=force, params=values, jobs=jobs, log=typer.echo
        )
        if real:  # after the demo studies, into the same out dir and index
            results = {**results, **report.run_real_studies(out, resume=resume, log=typer.echo)}
            report.write_index(out.expanduser().resolve(), results)
    except (report.StudyError, config.ProjectDirError) as exc:
        _fail(str(exc))
    failed = [s for s, r in results.items() if not isinstance(r, report.RunResult)]
    if failed:
        _fail(f"{len(failed)} stud{'y' if len(failed) == 1 else 'ies'} failed: {', '.join(failed)}")


@app.command()
def verdicts(
    store: Path = typer.Argument(..., help="verdict store (.sqlite)"),
    export: Path = typer.Option(
        None, "--export", help="write the verdicts to PATH (.csv or .parquet)"
    ),
):
    """Identities in a verdict store with verdict counts and cost; optional export."""
    from judgelab import report

    try:
        ids, frame = report.verdicts_summary(store)
    except report.StudyError as exc:
        _fail(str(exc))
    import pandas as pd

    with pd.option_context(
        "display.width", 250, "display.max_columns", 20, "display.max_colwidth", 60
    ):
        shown = ids.drop(columns=["identity", "first_at", "last_at"], errors="ignore")
        typer.echo(shown.to_string(index=False) if len(shown) else "(no verdicts)")
    total = pd.to_numeric(ids["cost_usd"], errors="coerce").sum() if len(ids) else 0.0
    n_ids = ids["identity"].nunique() if len(ids) else 0
    typer.echo(f"{n_ids} identities, {len(frame)} verdicts, total cost ${total:.4f}")
    if export:
        export.parent.mkdir(parents=True, exist_ok=True)
        if export.suffix.lower() == ".parquet":
            frame.drop(columns=["judge"], errors="ignore").to_parquet(export, index=False)
        elif export.suffix.lower() == ".csv":
            frame.drop(columns=["judge"], errors="ignore").to_csv(export, index=False)
        else:
            _fail(f"--export {export}: use a .csv or .parquet file name")
        typer.echo(f"exported {len(frame)} verdicts to {export}")


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="a run directory (with findings.json)"),
    to: Path = typer.Option(..., "--to", help="destination directory"),
):
    """Findings as CSV and LaTeX tables, figures as SVG and PDF."""
    from judgelab import report

    try:
        written = report.export_run(run_dir, to)
    except report.StudyError as exc:
        _fail(str(exc))
    for kind, paths in written.items():
        typer.echo(f"{kind}: " + (", ".join(str(p) for p in paths) if paths else "(none)"))


@app.command()
def diff(
    run_a: Path = typer.Argument(..., help="first run directory"),
    run_b: Path = typer.Argument(..., help="second run directory"),
    out: Path = typer.Option(None, "--out", help="also write the table as CSV"),
    all_rows: bool = typer.Option(False, "--all", help="show unchanged findings too"),
):
    """Findings of two runs side by side (matched on id, judge, slice) with their differences."""
    import pandas as pd

    from judgelab import report

    try:
        d = report.diff_runs(run_a, run_b)
    except report.StudyError as exc:
        _fail(str(exc))
    if out:
        d.to_csv(out, index=False)
    shown = d if all_rows else d[d["change"] != "same"]
    cols = [
        "id",
        "judge",
        "slice",
        "primary",
        "estimate_a",
        "estimate_b",
        "delta",
        "p_adjusted_a",
        "p_adjusted_b",
        "change",
    ]
    with pd.option_context(
        "display.width", 220, "display.max_columns", 20, "display.max_colwidth", 50
    ):
        typer.echo(shown[cols].to_string(index=False) if len(shown) else "no differences")
    counts = d["change"].value_counts().to_dict()
    typer.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


# `judgelab --version`
app.callback()(root_callback)

# `judgelab import FORMAT PATH... --out DIR` (docs/importing.md)
app.command("import")(import_command)

# `judgelab check DIR`: does a dataset validate, and which studies can it feed (docs/your_data.md)
app.command("check")(check_command)


def main():
    app()


if __name__ == "__main__":
    main()
