"""Partial runs: calls a study's run did not send (a ``max_cost_usd`` stop, or a judge
stopped by the breaker after repeated failures), as terminal lines, manifest fields and
banners in the HTML report (at the top and above the findings table, its conclusions)."""

from __future__ import annotations

import html as _html
import json
import re
from pathlib import Path

from judgelab.engine import stop_line

__all__ = ["run_stops", "stop_line", "add_banners", "BANNER_CLASS"]

#: CSS class of the banners a partial run's report carries.
BANNER_CLASS = "judgelab-stopped"


def _from_summaries(summaries) -> list[dict]:
    out = []
    for s in summaries or []:
        if isinstance(s, dict):
            out.extend(x for x in s.get("stopped") or [] if isinstance(x, dict))
    return out


def run_stops(out_dir: Path, store: str | None = None, since: float | None = None) -> list[dict]:
    """The ``stopped`` entries of a study run: from the ``run_summary.json`` the notebook
    wrote, else (the notebook failed before writing it) from the runs the store recorded
    since ``since`` (epoch seconds)."""
    path = Path(out_dir) / "run_summary.json"
    if path.exists():
        try:
            return _from_summaries(json.loads(path.read_text()))
        except ValueError:
            return []
    if not store or since is None or not Path(store).exists():
        return []
    from judgelab.store import VerdictStore

    try:
        with VerdictStore(store) as st:
            runs = st.query(
                "SELECT summary FROM runs WHERE started_at >= ? AND summary IS NOT NULL", (since,)
            )
    except Exception:  # a manifest must still be written
        return []
    summaries = []
    for text in runs["summary"]:
        try:
            summaries.append(json.loads(text))
        except ValueError:
            continue
    return _from_summaries(summaries)


def _banner(stops: list[dict], where: str) -> str:
    lines = "".join(f"<li>{_html.escape(stop_line(s))}</li>" for s in stops)
    return (
        f"<div class='{BANNER_CLASS}' data-where='{where}' style='border:2px solid #b00;"
        "background:#fee;padding:0.5em 1em;margin:0.5em 0;font-weight:bold'>"
        "<p>Partial run: these calls were not sent, so the findings rest on part of the "
        f"data.</p><ul>{lines}</ul></div>"
    )


_BODY = re.compile(r"<main[^>]*>|<body[^>]*>", re.I)
_FINDINGS = re.compile(r"<table[^>]*judgelab-findings", re.I)


def add_banners(html_path: Path, stops: list[dict]) -> None:
    """Put the STOPPED banner at the top of the report and above its last findings table."""
    if not stops:
        return
    text = Path(html_path).read_text(encoding="utf-8")
    tables = list(_FINDINGS.finditer(text))
    if tables:
        at = tables[-1].start()
        # the table sits in an output cell's div: the banner goes right before the table
        text = text[:at] + _banner(stops, "conclusions") + text[at:]
    top = _BODY.search(text)
    at = top.end() if top else 0
    text = text[:at] + _banner(stops, "top") + text[at:]
    Path(html_path).write_text(text, encoding="utf-8")
