"""``judgelab import FORMAT PATH... --out DIR``: the command line of judgelab.importers.

Registered on the main app with ``app.command("import")(import_command)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from judgelab.identity import JudgeIdentity

# CLI option -> (formats that use it, the reader's keyword)
_FORMAT_OPTIONS = {
    "judge_model": {"alpaca_eval": "judge_model", "arena_hard": "judge"},
    "grader_model": {"promptfoo": "grader_model"},
    "baseline": {"arena_hard": "baseline"},
    "map": {"csv": "mapping"},
    "set": {"csv": "constants"},
}
_FLAGS = {
    "judge_model": "--judge-model",
    "grader_model": "--grader-model",
    "baseline": "--baseline",
    "map": "--map",
    "set": "--set",
}


def format_options(fmt: str, **given) -> dict:
    """The reader keywords of ``fmt`` from the CLI options given; an option the format does not
    use is an error (it would otherwise be ignored silently)."""
    out = {}
    for opt, value in given.items():
        if value is None:
            continue
        uses = _FORMAT_OPTIONS[opt]
        if fmt not in uses:
            raise ValueError(f"{_FLAGS[opt]} applies to {', '.join(uses)}, not to {fmt}")
        out[uses[fmt]] = value
    return out


def import_command(
    format: str = typer.Argument(
        ..., help="alpaca_eval, fastchat, arena_hard, inspect, promptfoo or csv"
    ),
    paths: list[Path] = typer.Argument(..., help="the tool's files (one or more)"),
    out: Path = typer.Option(..., "--out", help="dataset directory to write"),
    name: str = typer.Option(None, "--name", help="dataset name (default: the --out folder name)"),
    description: str = typer.Option(None, "--description", help="dataset description"),
    licence: str = typer.Option(None, "--licence", help="licence of the imported data"),
    judge_model: str = typer.Option(
        None,
        "--judge-model",
        help="alpaca_eval: the judge model of an annotator not in the built-in map; "
        "arena_hard: override the records' judge field",
    ),
    grader_model: str = typer.Option(
        None, "--grader-model", help="promptfoo: the grader when the file names none"
    ),
    baseline: str = typer.Option(
        None, "--baseline", help="arena_hard: the baseline model (default gpt-4-0314, v0.1)"
    ),
    map_: str = typer.Option(
        None, "--map", help="csv: verdict_column=source_column,... for the columns named otherwise"
    ),
    set_: str = typer.Option(
        None, "--set", help="csv: verdict_column=value,... constant columns (e.g. backend=mytool)"
    ),
    alias: list[str] = typer.Option(
        None, "--alias", help="judge_model=generator_name (repeatable): the same model"
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="write into a non-empty --out"),
):
    """Import judge verdicts from another evaluation tool into a dataset directory."""
    from judgelab.importers import FORMATS, ImportFormatError, import_verdicts
    from judgelab.importers.tabular import parse_pairs

    def fail(message: str):
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1)

    if format not in FORMATS:
        fail(f"unknown format '{format}' (one of: {', '.join(FORMATS)})")
    try:
        options = format_options(
            format,
            judge_model=judge_model,
            grader_model=grader_model,
            baseline=baseline,
            map=map_,
            set=set_,
        )
        aliases = {}
        for a in alias or []:
            aliases.update(parse_pairs(a, "--alias"))
        report = import_verdicts(
            format,
            paths,
            out,
            name=name,
            description=description,
            licence=licence,
            aliases=aliases or None,
            overwrite=overwrite,
            **options,
        )
    except (ImportFormatError, ValueError, FileNotFoundError, FileExistsError) as exc:
        fail(str(exc))
    for f in report["files"]:
        skipped = ", ".join(f"{n} {why}" for why, n in f["skipped"].items()) or "none"
        typer.echo(
            f"{f['path']}: {f['records_read']} records, {f['imported']} imported, "
            f"skipped: {skipped}"
        )
    for ident in report["identities"]:
        typer.echo(
            f"  {JudgeIdentity.from_record(ident)} "
            f"({ident['protocol']}): {ident['verdicts']} verdicts, {ident['parsed']} parsed"
        )
    if report["judge_generator_aliases"]:
        typer.echo(f"  aliases: {json.dumps(report['judge_generator_aliases'])}")
    typer.echo(
        f"wrote {out} ({report['verdict_rows']} verdicts, {report['items']} items, "
        f"{report['responses']} responses); report: {out / 'import_report.json'}"
    )
