"""Any verdict table (CSV, Parquet, JSONL) with a column map: the ``csv`` format.

``mapping`` maps a verdict column to a source column (``--map item_id=question,choice=pick``);
a source column that already has a verdict column's name maps itself. ``constants`` set a
column to one value for every row (``--set backend=mytool,protocol=pairwise``). Required:

* every row: ``model``, ``backend``, ``judge_version``, ``protocol``, ``item_id``;
* pairwise rows: ``response_a``, ``response_b``, ``order`` and ``choice`` (``winner`` is derived
  from them when not given);
* single rows: ``response_id`` and ``score``.

Every unmapped required column is listed in one error. Beyond the verdict columns the map may
name ``prompt``, ``reference``, ``category`` (items), ``generator`` (single) or
``generator_a`` / ``generator_b`` (pairwise) and ``text`` / ``text_a`` / ``text_b``
(responses); a response whose generator is not given is recorded as generator ``unknown``.

Values: ``choice`` A / B / tie (also a / b / C / draw); ``order`` ab / ba (issue 12 adds
``unknown`` / ``both``, written as given); ``parse_ok`` is derived when absent (a recognised
choice, a numeric score). Rows without an item id, or without the response ids their protocol
needs, or of another protocol, are skipped and counted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from judgelab.data import VERDICT_COLUMNS
from judgelab.importers._common import (
    EXTRA_VERDICT_COLUMNS,
    DatasetBuilder,
    ImportFormatError,
    missing,
)

ALWAYS = ("model", "backend", "judge_version", "protocol", "item_id")
BY_PROTOCOL = {
    "pairwise": ("response_a", "response_b", "order", "choice"),
    "single": ("response_id", "score"),
}
DATASET_FIELDS = (
    "prompt",
    "reference",
    "category",
    "generator",
    "generator_a",
    "generator_b",
    "text",
    "text_a",
    "text_b",
)
CHOICES = {"a": "A", "b": "B", "tie": "tie", "c": "tie", "draw": "tie"}
UNKNOWN_GENERATOR = "unknown"

SKIP_NO_ITEM = "missing item_id"
SKIP_NO_RESPONSE = "missing response id(s) for the protocol"
SKIP_PROTOCOL = "protocol not pairwise or single"


def parse_pairs(spec: str | None, what: str = "--map") -> dict[str, str]:
    """``a=b,c=d`` -> {a: b, c: d}."""
    out: dict[str, str] = {}
    if not spec:
        return out
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"{what}: '{part}' is not column=value")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False)
    raise ImportFormatError(f"{path}: use a .csv, .parquet or .jsonl file")


def resolve(
    columns, mapping: dict[str, str], constants: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """(verdict/dataset column -> source column, required columns left unmapped)."""
    known = set(VERDICT_COLUMNS) | EXTRA_VERDICT_COLUMNS | set(DATASET_FIELDS)
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ImportFormatError(
            f"--map names unknown target columns {unknown} (known: {sorted(known)})"
        )
    bad = sorted(v for v in mapping.values() if v not in columns)
    if bad:
        raise ImportFormatError(
            f"--map names source columns {bad} that the file does not have "
            f"(columns: {list(columns)})"
        )
    resolved = {c: c for c in columns if c in known}
    resolved.update(mapping)
    have = set(resolved) | set(constants)
    protocols = {constants["protocol"]} if "protocol" in constants else {"pairwise", "single"}
    required = list(ALWAYS)
    if "protocol" in constants:
        for p in protocols:
            required += BY_PROTOCOL.get(p, ())
    missing_cols = [c for c in required if c not in have]
    return resolved, missing_cols


def read(
    builder: DatasetBuilder,
    path: Path,
    mapping: dict[str, str] | str | None = None,
    constants: dict[str, str] | str | None = None,
) -> None:
    """Import one verdict table through ``mapping`` and ``constants``."""
    mapping = parse_pairs(mapping) if isinstance(mapping, str) else dict(mapping or {})
    constants = (
        parse_pairs(constants, "--set") if isinstance(constants, str) else dict(constants or {})
    )
    df = _read(path)
    resolved, unmapped = resolve(df.columns, mapping, constants)
    src = pd.DataFrame(index=df.index)
    for target, source in resolved.items():
        src[target] = df[source]
    for target, value in constants.items():
        src[target] = value
    if not unmapped:  # protocol-specific columns, now that each row's protocol is known
        for proto in set(src["protocol"].dropna().astype(str)):
            unmapped += [c for c in BY_PROTOCOL.get(proto, ()) if c not in src.columns]
    if unmapped:
        raise ImportFormatError(
            f"{path}: required verdict columns not mapped: {', '.join(dict.fromkeys(unmapped))}. "
            f"Map them with --map column=source_column (source columns: {list(df.columns)}) "
            "or give a constant with --set column=value"
        )
    fc = builder.open_file(path)
    for n, row in enumerate(src.to_dict("records")):
        fc.records_read += 1
        reason = _add_row(builder, row, n, path)
        if reason:
            fc.skipped[reason] += 1
        else:
            fc.imported += 1


def _val(row: dict, key: str):
    v = row.get(key)
    return None if missing(v) or v == "" else v


def _add_row(builder: DatasetBuilder, row: dict, n: int, path: Path) -> str | None:
    """Add one row; the skip reason, or None when imported."""
    protocol = str(_val(row, "protocol") or "").strip().lower()
    item = _val(row, "item_id")
    if item is None:
        return SKIP_NO_ITEM
    if protocol not in BY_PROTOCOL:
        return SKIP_PROTOCOL
    item = builder.add_item(
        item,
        _val(row, "prompt"),
        reference=_val(row, "reference"),
        category=_val(row, "category"),
    )
    verdict = {
        c: _val(row, c)
        for c in (*VERDICT_COLUMNS, *sorted(EXTRA_VERDICT_COLUMNS))
        if c in row and c not in ("item_id", "protocol")
    }
    verdict.update(item_id=item, protocol=protocol, source_file=str(path), source_record=n)
    if protocol == "pairwise":
        ra, rb = _val(row, "response_a"), _val(row, "response_b")
        if ra is None or rb is None:
            return SKIP_NO_RESPONSE
        for rid, side in ((ra, "a"), (rb, "b")):
            builder.add_response(
                rid,
                item,
                _val(row, f"generator_{side}") or UNKNOWN_GENERATOR,
                _val(row, f"text_{side}"),
            )
        raw_choice = _val(row, "choice")
        choice = CHOICES.get(str(raw_choice).strip().lower()) if raw_choice is not None else None
        verdict["choice"] = choice
        order = str(_val(row, "order") or "").strip().lower() or None
        verdict["order"] = order  # the winner of a choice is derived by the verdict schema
        parsed = choice is not None
    else:
        rid = _val(row, "response_id")
        if rid is None:
            return SKIP_NO_RESPONSE
        builder.add_response(
            rid, item, _val(row, "generator") or UNKNOWN_GENERATOR, _val(row, "text")
        )
        score = pd.to_numeric(pd.Series([_val(row, "score")]), errors="coerce").iloc[0]
        verdict["score"] = None if pd.isna(score) else float(score)
        parsed = verdict["score"] is not None
    if _val(row, "parse_ok") is not None:
        parsed = str(row["parse_ok"]).strip().lower() in ("true", "1", "yes") and parsed
    verdict["parse_ok"] = parsed
    if verdict.get("sample") is not None:
        verdict["sample"] = int(float(verdict["sample"]))
    builder.add_verdict(**verdict)
    return None
