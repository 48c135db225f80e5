"""Checks on the verdicts a study is about to analyse, before any statistic: a judge
without one parsed verdict (every call failed, or no output parsed) stops the study with
the reasons, counted, instead of an error deep inside pandas."""

from __future__ import annotations

import pandas as pd

from judgelab.data import DataError
from judgelab.llm import failure_signature

__all__ = ["NoParsedVerdictsError", "top_errors", "require_parsed_verdicts"]

_IDENTITY = ["model", "backend", "judge_version"]


class NoParsedVerdictsError(DataError):
    """Some judge of the selection has no parsed verdict."""


def _judge_labels(verdicts: pd.DataFrame) -> pd.Series:
    if "judge" in verdicts.columns:
        return verdicts["judge"].astype(str)
    cols = [c for c in _IDENTITY if c in verdicts.columns]
    return (
        verdicts[cols].astype(str).agg("|".join, axis=1) if cols else pd.Series("?", verdicts.index)
    )


def top_errors(rows: pd.DataFrame, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent reasons rows are unparsed, as (message, count): the recorded
    error (a failed call's provider message, a parse error) with request ids and numbers
    ignored when counting; rows without one count as ``parse_ok false``."""
    errors = rows["error"] if "error" in rows.columns else pd.Series(None, index=rows.index)
    if "parse_error" in rows.columns:
        errors = errors.fillna(rows["parse_error"])
    text = errors.fillna("parse_ok false (no error recorded)").astype(str)
    keys = text.map(failure_signature)
    counts = keys.value_counts(sort=True)
    first = dict(zip(keys, text))  # one full message per cause (the last seen)
    return [(first[k][:300], int(c)) for k, c in counts.head(n).items()]


def require_parsed_verdicts(verdicts: pd.DataFrame) -> None:
    """Raise :class:`NoParsedVerdictsError` naming every judge of ``verdicts`` with no
    parsed verdict: ``no parsed verdicts for <judge>: <message> (<count>); ...``.

    An empty selection is refused too (e.g. every call stopped by ``max_cost_usd``)."""
    if verdicts.empty:
        raise NoParsedVerdictsError(
            "verdicts", None, "no verdicts to analyse: no call was answered or none selected"
        )
    if "parse_ok" not in verdicts.columns:
        return
    parsed = verdicts["parse_ok"].fillna(False).astype(bool)
    labels = _judge_labels(verdicts)
    none = [j for j, ok in parsed.groupby(labels, sort=True).any().items() if not ok]
    if not none:
        return
    lines = []
    for judge in none:
        reasons = top_errors(verdicts[(labels == judge).to_numpy()])
        lines.append(
            f"no parsed verdicts for {judge}: "
            + "; ".join(f"{msg} ({count})" for msg, count in reasons)
        )
    raise NoParsedVerdictsError("verdicts", "parse_ok", "\n".join(lines))
