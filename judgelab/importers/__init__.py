"""Import judge verdicts from the evaluation tools researchers already use.

``import_verdicts(format, paths, out, **options)`` reads the tool's own files and writes a
dataset directory (``dataset.yaml``, ``items.csv``, ``responses.csv``, ``verdicts.csv`` and,
where the file holds them, ``labels.csv``) plus ``import_report.json``: records read, imported
and skipped per reason, per file. The directory loads with ``judgelab.load_dataset(out)`` and
its verdicts are analysed with ``-p dataset OUT -p verdicts dataset``.

Formats (one module each; docs/importing.md has the details):

============= ==================================================================
alpaca_eval   AlpacaEval ``annotations.json`` (pairwise, discrete or weighted)
fastchat      FastChat ``llm_judge`` ``model_judgment/*_pair.jsonl`` / ``*_single.jsonl``
arena_hard    Arena-Hard-Auto v0.1 ``model_judgment/<judge>/<model>.jsonl``
inspect       Inspect AI logs (``.eval`` zip or ``.json``)
promptfoo     promptfoo ``eval -o results.json`` (results version 3)
csv           any CSV / Parquet / JSONL verdict table with a column map
============= ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from judgelab.importers._common import (
    REPORT_FILE,
    UNKNOWN_JUDGE,
    DatasetBuilder,
    ImportFormatError,
    ImportWarning,
)

__all__ = [
    "FORMATS",
    "REPORT_FILE",
    "UNKNOWN_JUDGE",
    "ImportFormatError",
    "ImportWarning",
    "import_verdicts",
]

#: Dataset-level options every format accepts (the rest go to the format's reader).
_WRITE_OPTIONS = ("name", "description", "licence", "scale", "aliases", "overwrite")


def _readers() -> dict[str, Callable[..., Any]]:
    from judgelab.importers import (
        alpaca_eval,
        arena_hard,
        fastchat,
        inspect_logs,
        promptfoo,
        tabular,
    )

    return {
        "alpaca_eval": alpaca_eval.read,
        "fastchat": fastchat.read,
        "arena_hard": arena_hard.read,
        "inspect": inspect_logs.read,
        "promptfoo": promptfoo.read,
        "csv": tabular.read,
    }


FORMATS = ("alpaca_eval", "fastchat", "arena_hard", "inspect", "promptfoo", "csv")


#: What a directory given as a path expands to, per format (sorted, recursive).
DIRECTORY_PATTERNS: dict[str, tuple[str, ...]] = {
    "alpaca_eval": ("**/annotations.json",),
    "fastchat": ("**/*_pair.jsonl", "**/*_single.jsonl"),
    "arena_hard": ("**/*.jsonl",),
    "inspect": ("**/*.eval", "**/*.json"),
    "promptfoo": ("**/*.json",),
    "csv": ("**/*.csv", "**/*.parquet"),
}


def _expand(fmt: str, paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p).expanduser()
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or directory")
        if p.is_dir():
            found = sorted({f for pat in DIRECTORY_PATTERNS[fmt] for f in p.glob(pat)})
            if not found:
                pats = ", ".join(DIRECTORY_PATTERNS[fmt])
                raise FileNotFoundError(f"{p}: a directory with no {fmt} files ({pats})")
            out += found
        else:
            out.append(p)
    if not out:
        raise ValueError("no input files given")
    return out


def import_verdicts(
    format: str, paths: str | Path | Iterable[str | Path], out: str | Path, **options
) -> dict:
    """Import the verdicts of ``paths`` (files of one tool) into the dataset directory ``out``.

    Parameters
    ----------
    format
        One of :data:`FORMATS`.
    paths
        A file or a list of files; a directory stands for the format's files under it
        (:data:`DIRECTORY_PATTERNS`).
    out
        The dataset directory to write (must not exist or be empty, unless ``overwrite``).
    **options
        ``name``, ``description``, ``licence``, ``scale`` (``(min, max)``), ``aliases``
        (judge model -> generator name, added to the ones found), ``overwrite``; the other
        options belong to the format (``judge_model`` for AlpacaEval, ``baseline`` for
        Arena-Hard, ``grader_model`` for promptfoo, ``mapping`` for csv, ...).

    Returns
    -------
    dict
        The import report, also written to ``out/import_report.json``.
    """
    readers = _readers()
    if format not in readers:
        known = ", ".join(FORMATS)
        raise ValueError(f"unknown import format '{format}' (one of: {known})")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = _expand(format, paths)
    write_opts = {k: options.pop(k) for k in _WRITE_OPTIONS if k in options}
    write_opts = {k: v for k, v in write_opts.items() if v is not None}
    builder = DatasetBuilder(format)
    reader = readers[format]
    for f in files:
        reader(builder, f, **options)
    if "scale" not in write_opts and builder.scale is not None:
        write_opts["scale"] = builder.scale
    return builder.write(out, **write_opts)
