"""What a study run produces or raises: :class:`RunResult`, :class:`StudyError`, :class:`CellError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StudyError", "CellError", "RunResult", "OUTPUT_FILES"]


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


# ------------------------------------------------------------------ running
OUTPUT_FILES = ("findings.json", "manifest.json", "run_summary.json", "run_record.json")


@dataclass
class RunResult:
    study: str
    out_dir: Path
    status: str  # ok | failed (a partial run is ok with ``stopped`` entries)
    notebook: Path
    html: Path | None
    findings: Path | None
    manifest: Path
    seconds: float
    error: str | None = None
    parameters: dict = field(default_factory=dict)
    #: calls not sent (judgelab.engine.stop_line): non-empty for a partial run
    stopped: list = field(default_factory=list)
