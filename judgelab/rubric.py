"""Rubrics: validation, rendering into a prompt, and the pass / warn / fail aggregation.

A rubric is ``{"name": ..., "sections": [{"title": ..., "body": ..., "bullets": [...]}]}``
(docs/design.md#judge-identity). A rubric judge answers one JSON object
``{"verdict": "pass|warn|fail", "reasoning": "...", "metrics": {"<section title>": 0..1}}``.

Aggregation (:func:`aggregate`), with thresholds ``warn_threshold < pass_threshold``:

* a section is *satisfied* when its metric ``m >= pass_threshold``;
* it has a *minor gap* when ``warn_threshold <= m < pass_threshold``;
* it is *materially violated* when ``m < warn_threshold``.

``pass`` = every section satisfied; ``warn`` = exactly one minor gap and no violation;
``fail`` = any violation or two or more gaps. The thresholds are judge settings and part
of ``judge_version``. The verdict recomputed this way is stored beside the judge's own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

# re-exported: the statistics read them, and stats imports nothing above itself
from judgelab.stats.rubric_sections import (
    DEFAULT_PASS_THRESHOLD,
    DEFAULT_WARN_THRESHOLD,
    section_titles,
)

__all__ = [
    "RUBRIC_VERDICTS",
    "DEFAULT_PASS_THRESHOLD",
    "DEFAULT_WARN_THRESHOLD",
    "validate_rubric",
    "section_titles",
    "render",
    "aggregate",
    "check_thresholds",
]

RUBRIC_VERDICTS = ("pass", "warn", "fail")


def validate_rubric(rubric: Mapping) -> dict:
    """Check a rubric mapping and return it as a plain dict; ``ValueError`` names the problem."""
    if not isinstance(rubric, Mapping):
        raise ValueError(
            f"rubric must be a mapping with 'name' and 'sections', not {type(rubric).__name__}"
        )
    sections = rubric.get("sections")
    if not isinstance(sections, list) or not sections:
        raise ValueError("rubric: 'sections' must be a non-empty list of {title, body, bullets}")
    seen: set[str] = set()
    for i, sec in enumerate(sections):
        if (
            not isinstance(sec, Mapping)
            or not isinstance(sec.get("title"), str)
            or not sec["title"].strip()
        ):
            raise ValueError(f"rubric: section {i} has no 'title' string")
        if sec["title"] in seen:
            raise ValueError(f"rubric: duplicate section title {sec['title']!r}")
        seen.add(sec["title"])
        bullets = sec.get("bullets", [])
        if bullets is not None and not isinstance(bullets, list):
            raise ValueError(f"rubric: section {sec['title']!r}: 'bullets' must be a list")
    # a JSON round trip keeps only what the prompt and the version hash can see
    return json.loads(json.dumps(dict(rubric)))


def render(rubric: Mapping) -> str:
    """The rubric as one line of JSON (the line after ``[Rubric]`` in the prompt)."""
    return json.dumps(rubric, ensure_ascii=False, separators=(", ", ": "))


def check_thresholds(pass_threshold: float, warn_threshold: float) -> None:
    if not (0.0 <= warn_threshold <= pass_threshold <= 1.0):
        raise ValueError(
            f"rubric thresholds must satisfy 0 <= warn_threshold ({warn_threshold}) "
            f"<= pass_threshold ({pass_threshold}) <= 1"
        )


def aggregate(
    metrics: Mapping[str, float],
    pass_threshold: float = DEFAULT_PASS_THRESHOLD,
    warn_threshold: float = DEFAULT_WARN_THRESHOLD,
) -> str | None:
    """pass / warn / fail from per-section metrics in [0, 1] (rules in the module docstring).

    Returns None when there are no metrics or a metric is not a finite number (the verdict
    is then undefined rather than guessed)."""
    check_thresholds(pass_threshold, warn_threshold)
    if not metrics:
        return None
    gaps = 0
    for value in metrics.values():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            return None
        if value < warn_threshold:
            return "fail"
        if value < pass_threshold:
            gaps += 1
    if gaps == 0:
        return "pass"
    return "warn" if gaps == 1 else "fail"
