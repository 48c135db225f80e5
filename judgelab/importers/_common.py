"""What every importer shares: collecting items, responses and verdicts, counting what was read,
imported and skipped (and why), and writing the dataset directory with ``import_report.json``.

An importer reads its tool's files record by record. A *record* is the unit the tool writes (an
AlpacaEval annotation, a FastChat row, an Arena-Hard question, an Inspect sample, a promptfoo
assertion result, a CSV row). Each record is either imported (it gave one or more verdict rows)
or skipped for a named reason, so that ``imported + sum(skipped) == records_read`` per file.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from judgelab.data import VERDICT_COLUMNS, load_dataset_dir
from judgelab.verdict_schema import check_verdicts

#: The judge of a verdict when the file does not name it (never guessed).
UNKNOWN_JUDGE = "unknown"

REPORT_FILE = "import_report.json"


class ImportFormatError(ValueError):
    """A file that is not in the format named, or a variant the importer refuses (the message
    says which and what to do)."""


class ImportWarning(UserWarning):
    """Something the user should know about an import that did not stop it (e.g. a grader
    inferred as the evaluated model)."""


def short_hash(*parts: Any, n: int = 12) -> str:
    """First ``n`` hex digits of the sha256 of the parts (JSON-encoded, so order matters)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _family(model) -> str | None:
    from judgelab import families

    return None if model == UNKNOWN_JUDGE else families.family_of(str(model))


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).split("/")[-1].lower())


def alias_map(judges: list[str], generators: list[str]) -> dict[str, str]:
    """Judge model -> generator name of the same model spelled differently.

    Two names are the same model when they agree after dropping routing prefixes, case and
    punctuation (``gpt-4-1106-preview`` = ``gpt4_1106_preview``). Names that already agree
    up to case are left alone: judgelab.families treats them as ``self`` without an alias."""
    out: dict[str, str] = {}
    gens = {_squash(g): g for g in generators if isinstance(g, str)}
    for j in judges:
        if not isinstance(j, str) or j == UNKNOWN_JUDGE:
            continue
        g = gens.get(_squash(j))
        if g is not None and g.split("/")[-1].lower() != j.split("/")[-1].lower():
            out[j] = g
    return out


@dataclass
class FileCount:
    """Counts of one source file."""

    path: str
    records_read: int = 0
    imported: int = 0
    skipped: Counter = field(default_factory=Counter)
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "records_read": self.records_read,
            "imported": self.imported,
            "skipped": dict(self.skipped),
            **({"notes": self.notes} if self.notes else {}),
        }


class DatasetBuilder:
    """Collects the tables of one import and writes them as a dataset directory.

    Items and responses are keyed by id; the first non-empty value of a field wins, so two files
    about the same pairs (two AlpacaEval annotators) share their items and responses."""

    def __init__(self, fmt: str):
        self.format = fmt
        self.items: dict[str, dict] = {}
        self.responses: dict[str, dict] = {}
        self.verdicts: list[dict] = []
        self.labels: list[dict] = []
        self.files: list[FileCount] = []
        self.warnings: list[str] = []
        self.aliases: dict[str, str] = {}
        self.notes: dict[str, Any] = {}
        #: the tool's own score scale, when it has one (FastChat single grading: 1-10)
        self.scale: tuple[float, float] | None = None

    # ------------------------------------------------------------ counting
    def open_file(self, path: str | Path) -> FileCount:
        fc = FileCount(str(path))
        self.files.append(fc)
        return fc

    def warn(self, message: str) -> None:
        """Record a warning in the report and show it."""
        self.warnings.append(message)
        warnings.warn(message, ImportWarning, stacklevel=3)

    # ------------------------------------------------------------- tables
    def add_item(self, item_id, prompt=None, **fields) -> str:
        item_id = str(item_id)
        row = self.items.setdefault(item_id, {"item_id": item_id, "prompt": None})
        for k, v in {"prompt": prompt, **fields}.items():
            if row.get(k) in (None, "") and v not in (None, ""):
                row[k] = v
        return item_id

    def add_response(self, response_id, item_id, generator, text=None, **fields) -> str:
        response_id = str(response_id)
        row = self.responses.setdefault(
            response_id,
            {"response_id": response_id, "item_id": str(item_id), "generator": generator},
        )
        for k, v in {"text": text, **fields}.items():
            if row.get(k) in (None, "") and v not in (None, ""):
                row[k] = v
        return response_id

    def add_verdict(self, **row) -> None:
        unknown = set(row) - set(VERDICT_COLUMNS) - EXTRA_VERDICT_COLUMNS
        if unknown:  # a typo in an importer, not bad input
            raise KeyError(f"unknown verdict columns {sorted(unknown)}")
        self.verdicts.append(row)

    # -------------------------------------------------------------- output
    def verdict_frame(self) -> pd.DataFrame:
        v = pd.DataFrame(self.verdicts)
        for col in VERDICT_COLUMNS:
            if col not in v.columns:
                v[col] = None
        extra = [c for c in EXTRA_VERDICT_COLUMNS_ORDER if c in v.columns]
        v = v[[*VERDICT_COLUMNS, *extra]]
        # The family where the model string tells it (never guessed for an unknown judge).
        # A column with no value at all is left out: read back from CSV it would be a float
        # column, and filling it with strings fails in studies._normalise_verdicts.
        fam = v["judge_family"].where(v["judge_family"].notna(), v["model"].map(_family))
        v["judge_family"] = fam
        if fam.isna().all():
            v = v.drop(columns=["judge_family"])
        if len(v):
            v["sample"] = pd.to_numeric(v["sample"], errors="coerce").fillna(0).astype(int)
            v["parse_ok"] = v["parse_ok"].astype(bool)
        return v

    def write(
        self,
        out: str | Path,
        name: str | None = None,
        description: str = "",
        licence: str = "",
        scale: tuple[float, float] | None = None,
        aliases: dict[str, str] | None = None,
        overwrite: bool = False,
    ) -> dict:
        """Write ``dataset.yaml``, ``items.csv``, ``responses.csv``, ``verdicts.csv`` (and
        ``labels.csv`` when the file holds human labels) plus ``import_report.json`` into
        ``out``; check that the directory loads and validates; return the report."""
        out = Path(out).expanduser()
        if out.exists() and any(out.iterdir()) and not overwrite:
            existing = sorted(p.name for p in out.iterdir())[:5]
            raise FileExistsError(
                f"{out} is not empty ({existing}); choose a new --out or pass overwrite"
            )
        if not self.verdicts:
            raise ImportFormatError(
                f"no verdicts imported from {[f.path for f in self.files]}: "
                f"{self._skip_summary() or 'the files hold no records'}"
            )
        # the verdict schema before writing: derived columns (winner from choice and order,
        # parse_ok) are written, and a contradiction stops the import with the rows named
        verdicts = check_verdicts(
            self.verdict_frame(),
            responses=pd.DataFrame(list(self.responses.values()))[["response_id", "item_id"]],
            scale=scale,
        )
        out.mkdir(parents=True, exist_ok=True)
        generators = sorted({r["generator"] for r in self.responses.values()})
        judges = sorted(verdicts["model"].astype(str).unique())
        found = alias_map(judges, generators)
        all_aliases = {**found, **self.aliases, **(aliases or {})}

        items = pd.DataFrame(list(self.items.values()))
        items["prompt"] = items["prompt"].fillna("")
        responses = pd.DataFrame(list(self.responses.values()))
        items.to_csv(out / "items.csv", index=False)
        responses.to_csv(out / "responses.csv", index=False)
        verdicts.to_csv(out / "verdicts.csv", index=False)
        if self.labels:
            pd.DataFrame(self.labels).to_csv(out / "labels.csv", index=False)
        sources = [f.path for f in self.files]
        meta: dict[str, Any] = {
            "name": name or out.name,
            "description": description
            or f"verdicts imported from {self.format} files: {', '.join(sources)}",
            "licence": licence or "as the source files (see import_report.json)",
        }
        if scale is not None:
            meta["scale"] = {"min": scale[0], "max": scale[1]}
        if all_aliases:
            meta["judge_generator_aliases"] = all_aliases
        meta["imported_from"] = {"format": self.format, "files": sources}
        (out / "dataset.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))

        report = self.report(verdicts, all_aliases)
        (out / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str) + "\n")
        ds = load_dataset_dir(out)
        with warnings.catch_warnings():  # votes-only imports have no texts: said in the report
            warnings.simplefilter("ignore")
            ds.validate()
        return report

    def _skip_summary(self) -> str:
        total: Counter = Counter()
        for f in self.files:
            total.update(f.skipped)
        return ", ".join(f"{n} skipped: {why}" for why, n in total.items())

    def report(self, verdicts: pd.DataFrame, aliases: dict[str, str]) -> dict:
        totals = {"records_read": 0, "imported": 0, "skipped": Counter()}
        for f in self.files:
            totals["records_read"] += f.records_read
            totals["imported"] += f.imported
            totals["skipped"].update(f.skipped)
        ids = (
            verdicts.groupby(["model", "backend", "judge_version"], dropna=False)
            .agg(
                verdicts=("protocol", "size"),
                parsed=("parse_ok", "sum"),
                protocol=("protocol", "first"),
            )
            .reset_index()
        )
        return {
            "format": self.format,
            "files": [f.as_dict() for f in self.files],
            "records_read": totals["records_read"],
            "imported": totals["imported"],
            "skipped": dict(totals["skipped"]),
            "verdict_rows": len(verdicts),
            "unparsed_verdicts": int((~verdicts["parse_ok"]).sum()),
            "items": len(self.items),
            "responses": len(self.responses),
            "labels": len(self.labels),
            "identities": [
                {
                    "model": r.model,
                    "backend": r.backend,
                    "judge_version": r.judge_version,
                    "protocol": r.protocol,
                    "verdicts": int(r.verdicts),
                    "parsed": int(r.parsed),
                }
                for r in ids.itertuples()
            ],
            "judge_generator_aliases": aliases,
            "columns_written": list(verdicts.columns),
            "warnings": self.warnings,
            **({"notes": self.notes} if self.notes else {}),
        }


#: Verdict columns beyond the kit's current schema that importers write where the tool has them.
#: ``p_a``, ``p_b``, ``p_tie`` are read by today's analyses; ``strength`` (issue 12) and the
#: tool's own fields are kept for the reader and ignored by the current studies.
EXTRA_VERDICT_COLUMNS_ORDER = (
    "p_a",
    "p_b",
    "p_tie",
    "strength",
    "grade",
    "passed",
    "pass_means",
    "metric",
    "assertion_type",
    "source_label",
    "source_preference",
    "cost_usd",
    "latency_s",
    "source_file",
    "source_record",
)
EXTRA_VERDICT_COLUMNS = set(EXTRA_VERDICT_COLUMNS_ORDER)


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}: not valid JSON ({exc})") from exc


def read_jsonl(path: Path) -> list[Any]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ImportFormatError(f"{path}, line {n}: not valid JSON ({exc})") from exc
    return rows


def between(text: str, start: str, end: str) -> str | None:
    """The text between two markers (first occurrence), or None when a marker is absent."""
    if not isinstance(text, str):
        return None
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find(end, i)
    return None if j < 0 else text[i:j]


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)
