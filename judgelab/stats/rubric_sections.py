"""The rubric facts the statistics read: default thresholds and the section titles.

Defined here so that :mod:`judgelab.stats` imports nothing above itself;
:mod:`judgelab.rubric` (validation, prompt rendering, aggregation) re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEFAULT_PASS_THRESHOLD", "DEFAULT_WARN_THRESHOLD", "section_titles"]

#: A section is satisfied when its metric is at least this (a judge setting; default).
DEFAULT_PASS_THRESHOLD = 0.8
#: Below this a section is materially violated (a judge setting; default).
DEFAULT_WARN_THRESHOLD = 0.5


def section_titles(rubric: Mapping) -> list[str]:
    """Section titles in rubric order."""
    return [s["title"] for s in rubric["sections"]]
