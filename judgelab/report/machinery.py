"""What a report does not show: the machinery of a run (judge-run log lines, warnings with the
file and line that raised them, progress bars, machine paths). :func:`strip_machinery` takes
them out of an executed notebook's outputs and :func:`run_details` summarises them, with the
calls, cache hits, cost and time of the run, in a "Run details" section at the end."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RUN_LOG_LINE", "Machinery", "strip_machinery", "scrub_paths", "run_details"]

#: The line a judge run prints (:meth:`judgelab.engine.RunSummary.line`).
RUN_LOG_LINE = re.compile(r"^judgelab \w+ run \S+: \d+ calls \(.*$")
#: ``path/to/file.py:123: SomeWarning: message`` as :mod:`warnings` prints it.
_WARNING = re.compile(r"^(?P<path>\S+?):(?P<line>\d+): (?P<kind>\w*Warning): (?P<msg>.*)$")
#: An absolute POSIX path of two or more parts (a machine path).
_ABS_PATH = re.compile(r"(?<![\w.~:/+=-])/(?:[\w.+@~-]+/)+([\w.+@~-]+)")


@dataclass
class Machinery:
    """What was taken out of a notebook: run log lines and warnings (their messages)."""

    log_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    other_stderr: int = 0


def scrub_paths(text: str, base: str | os.PathLike | None = None) -> str:
    """``text`` with machine paths replaced: paths under ``base`` (the run directory) become
    relative, any other absolute path becomes its file name."""
    if base is not None:
        b = str(Path(base).resolve()).rstrip("/") + "/"
        text = text.replace(b, "").replace(str(base).rstrip("/") + "/", "")
    return _ABS_PATH.sub(lambda m: m.group(1), text)


def _stderr(text: str, found: Machinery) -> None:
    for line in text.splitlines():
        m = _WARNING.match(line.strip())
        if m:
            # the message is for the reader; the warning class and source line are machinery
            msg = scrub_paths(m["msg"])
            if msg not in found.warnings:
                found.warnings.append(msg)
        elif line.strip():
            found.other_stderr += 1


def strip_machinery(nb, base: str | os.PathLike | None = None) -> Machinery:
    """Remove machinery from the outputs of executed notebook ``nb`` (nbformat v4, in place):
    stderr streams (warnings, progress bars) and run log lines are dropped and collected,
    machine paths in the remaining text outputs are scrubbed (:func:`scrub_paths`)."""
    found = Machinery()
    for cell in nb.cells:
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = out.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if out.get("name") == "stderr":
                    _stderr(text, found)
                    continue
                lines = []
                for line in text.splitlines(keepends=True):
                    if RUN_LOG_LINE.match(line.strip()):
                        found.log_lines.append(line.strip())
                    else:
                        lines.append(scrub_paths(line, base))
                if "".join(lines).strip():
                    out["text"] = "".join(lines)
                    kept.append(out)
                continue
            data = out.get("data")
            if isinstance(data, dict):
                for mime in ("text/plain", "text/markdown", "text/html"):
                    if mime in data:
                        v = data[mime]
                        v = "".join(v) if isinstance(v, list) else v
                        data[mime] = scrub_paths(v, base)
            kept.append(out)
        if "outputs" in cell:
            cell["outputs"] = kept
    return found


def _summaries(run_dir: Path) -> list[dict]:
    path = run_dir / "run_summary.json"
    if not path.exists():
        return []
    doc = json.loads(path.read_text())
    return [d for d in (doc if isinstance(doc, list) else [doc]) if isinstance(d, dict)]


def run_details(run_dir: str | os.PathLike, found: Machinery) -> str:
    """Markdown of the "Run details" section: judge calls (cached, sent, failed), parse
    failures, cost and judging time from ``run_summary.json``, and the warnings and log lines
    the run printed (counted; warnings by message)."""
    runs = _summaries(Path(run_dir))
    lines = ["## Run details", ""]
    if runs:
        tot = {
            k: sum(float(r.get(k) or 0) for r in runs)
            for k in ("calls", "cached", "sent", "failed", "parse_failures", "cost_usd", "wall_s")
        }
        lines.append(
            f"Judge calls: {int(tot['calls']):,} ({int(tot['cached']):,} from the cache, "
            f"{int(tot['sent']):,} sent, {int(tot['failed']):,} failed) in {len(runs)} "
            f"judge run(s); {int(tot['parse_failures']):,} outputs failed to parse; "
            f"cost ${tot['cost_usd']:.4f}; judging time {tot['wall_s']:.1f} s."
        )
    else:
        lines.append("No judge was called (stored verdicts).")
    lines.append("")
    if found.warnings:
        lines.append(f"Notes the code printed during the run ({len(found.warnings)}):")
        lines.append("")
        lines += [f"* {w}" for w in found.warnings]
        lines.append("")
    if found.log_lines or found.other_stderr:
        lines.append(
            f"{len(found.log_lines)} run log line(s) and {found.other_stderr} other diagnostic "
            "line(s) are in the executed notebook beside this report, not shown here."
        )
    return "\n".join(lines)


def temporary_dirs() -> list[str]:
    """The machine's home and temporary directories (what a report must not name)."""
    return [str(Path.home()), tempfile.gettempdir()]
