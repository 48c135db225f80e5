"""HTML: an executed notebook as a self-contained report, what a report shows, and the
``index.html`` page over several runs."""

from __future__ import annotations

import datetime as _dt
import html as _html
import os
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path

from judgelab.findings import FINDINGS_TABLE_CLASS
from judgelab.report.export import findings_frame, read_findings
from judgelab.report.machinery import run_details, strip_machinery
from judgelab.report.results import RunResult, StudyError

__all__ = [
    "ANSWERS_TABLE_CLASS",
    "answer_markdown",
    "external_references",
    "report_counts",
    "notebook_to_html",
    "write_index",
]

# --------------------------------------------------------------------- HTML
_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{#- judgelab: a report must open offline, so nothing is loaded from a CDN -#}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<style type="text/css">
table.judgelab-findings { border-collapse: collapse; font-size: 12px; margin: 0.5em 0; }
table.judgelab-findings th, table.judgelab-findings td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left !important; vertical-align: top; }
table.judgelab-findings td:nth-child(8) { max-width: 40em; }
.jp-RenderedHTMLCommon, .jp-OutputArea-output { overflow-x: auto; max-width: 100%; }
.jp-RenderedHTMLCommon table { max-width: 100%; }
.jp-RenderedHTMLCommon td { overflow-wrap: anywhere; }
</style>
{% endblock extra_css %}
"""

_EXTERNAL = re.compile(
    r"<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href)\s*=\s*[\"']?\s*((?:https?:)?//[^\"'\s>]+)",
    re.I,
)


def external_references(html: str) -> list[str]:
    """URLs a browser would fetch when opening ``html`` (scripts, stylesheets, images, frames).

    Plain ``<a href>`` links are not fetched and are allowed."""
    return [m.group(3) for m in _EXTERNAL.finditer(html)]


class _ReportDom(HTMLParser):
    """Counts <img> elements and the body rows of findings tables (class judgelab-findings)."""

    def __init__(self):
        super().__init__()
        self.images = self.rows = self.tables = 0
        self._in_table = self._in_body = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images += 1
        elif tag == "table" and FINDINGS_TABLE_CLASS in (a.get("class") or "").split():
            self._in_table, self.tables = True, self.tables + 1
        elif tag == "tbody" and self._in_table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._in_table = False


def report_counts(html: str) -> dict[str, int]:
    """What a report shows: ``images`` (<img> elements), ``findings_tables`` and
    ``findings_rows`` (body rows of the findings tables). A sound report has one image per
    saved figure and one row per finding (the browser test checks this on the rendered DOM)."""
    dom = _ReportDom()
    dom.feed(html)
    return {"images": dom.images, "findings_tables": dom.tables, "findings_rows": dom.rows}


def notebook_to_html(
    nb_path: str | os.PathLike, html_path: str | os.PathLike, show_code: bool = False
) -> Path:
    """Executed notebook -> self-contained HTML (nbconvert lab template without CDN scripts).

    Raises StudyError if the result would still fetch anything from the internet."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata.pop("widgets", None)  # widget state needs CDN scripts to render
    # a report shows findings, not machinery: log lines, warnings and machine paths are taken
    # out and summarised in a closing "Run details" section (the .ipynb keeps them)
    run_dir = Path(nb_path).resolve().parent
    found = strip_machinery(nb, base=run_dir)
    answer = answer_markdown(run_dir)
    if answer:  # the first screen answers the question: after it, before any figure
        _insert_after_question(nb, answer)
    nb.cells.append(nbformat.v4.new_markdown_cell(run_details(run_dir, found)))
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"judgelab.html.j2": _TEMPLATE})],
        template_file="judgelab.html.j2",
        embed_images=True,
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(nb_path).stem}})
    refs = external_references(body)
    if refs:
        raise StudyError(f"the HTML report of {nb_path} would fetch {refs[:5]} from the internet")
    out = Path(html_path)
    out.write_text(body, encoding="utf-8")
    return out


def answer_markdown(run_dir: str | os.PathLike) -> str | None:
    """The "Answer" section a report opens with, right after its title and question: the
    study's conclusions (:func:`judgelab.findings.conclusions_markdown`, the sentences of its
    closing "Conclusions" section) from the run's ``findings.json``.

    The findings exist only once the analysis has run, so the notebook states them at its
    end; the report, rendered after the run, also puts them first, so that its first screen
    (everything before the first figure) answers the question. None when the run wrote no
    findings.json or its study renders no conclusions.
    """
    from judgelab.findings import conclusions_markdown

    path = Path(run_dir) / "findings.json"
    if not path.exists():
        return None
    doc = read_findings(path)
    text = conclusions_markdown(
        doc.get("study") or "", doc.get("findings") or [], doc.get("judges")
    )
    if not text.strip():
        return None
    return (
        f"## Answer\n\n{text}\n\n*Rendered from this run's findings once the analysis below had "
        "run; the figures, the findings table and the caveats that follow are the evidence and "
        "its limits.*"
    )


def _insert_after_question(nb, markdown: str) -> None:
    """Insert a Markdown cell right after the notebook's title and question: the first cell's
    ``# title`` and its first paragraph (the study notebooks' "**Question.**"), splitting the
    cell there so that its remaining design text follows the inserted cell. A notebook that
    opens otherwise gets the cell after its opening Markdown cell (or first of all)."""
    import nbformat

    cell = nbformat.v4.new_markdown_cell(markdown)
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown":
        nb.cells.insert(0, cell)
        return
    blocks = first.source.split("\n\n")
    # a fenced code block may hold blank lines: only prose is split
    if first.source.startswith("# ") and len(blocks) > 2 and "```" not in "".join(blocks[:2]):
        first.source = "\n\n".join(blocks[:2])
        rest = nbformat.v4.new_markdown_cell("\n\n".join(blocks[2:]))
        nb.cells[1:1] = [cell, rest]
    else:
        nb.cells.insert(1, cell)


#: CSS class of the index page's per-study table of answers (one row per judge).
ANSWERS_TABLE_CLASS = "judgelab-answers"


def _answers_html(doc: dict) -> str:
    """The study's answer per judge (:func:`judgelab.findings.answers`) as an HTML table."""
    from judgelab.findings import answers

    table = answers(doc.get("findings") or [], doc.get("judges"))
    if table.empty:
        return "<p>No finding answers the study's question (see the report).</p>"
    return table.to_html(index=False, classes=ANSWERS_TABLE_CLASS, escape=True, border=0)


def write_index(out_dir: Path, results: Mapping[str, RunResult | Exception]) -> Path:
    """``index.html``: each study's report link, status and its answer per judge (the rows
    carrying a ``verdict``, else the primary tests: :func:`judgelab.findings.answers`)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>judgelab demo</title>",
        "<style>body{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:3px 8px;"
        "text-align:left;vertical-align:top}td{overflow-wrap:anywhere}"
        ".failed{color:#b00}</style></head><body>",
        "<h1>judgelab reports</h1>",
        f"<p>Generated {_html.escape(_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds'))}; "
        "offline. Per study, its answer per judge: the verdict where the study states one "
        "(calibration audit: can the judge stand in for humans; judge comparison: can the "
        "candidate replace the source), else its primary tests after the Holm adjustment.</p>",
    ]
    if any("__" in name for name in results):  # run_real_studies' <study>__<dataset> runs
        parts.append(
            "<p>Sections named <code>&lt;study&gt;__&lt;dataset&gt;</code> ran on published "
            "verdicts of real judges (judgelab/real_studies/*.yaml), without calling a judge.</p>"
        )
    for study, res in results.items():
        title = _html.escape(study.replace("__", " on ").replace("_", " "))
        if isinstance(res, RunResult) and res.status == "ok":
            rel = os.path.relpath(res.html, out_dir) if res.html else None
            link = f"<a href='{_html.escape(rel)}'>{title}</a>" if rel else title
            parts.append(f"<h2 id='{_html.escape(study)}'>{link}</h2>")
            doc = read_findings(res.out_dir) if (res.out_dir / "findings.json").exists() else None
            if doc is None:
                parts.append("<p>No findings.json was written.</p>")
                continue
            f = findings_frame(doc)
            n_primary = int(f["primary"].sum()) if len(f) else 0
            parts.append(
                f"<p>{len(f)} findings ({n_primary} primary), {len(doc.get('judges') or [])} judge identities, "
                f"{res.seconds:.0f} s.</p>"
            )
            parts.append(_answers_html(doc))
        else:
            nb = Path(out_dir) / study / f"{study}.html"
            link = f"<a href='{study}/{study}.html'>{title}</a>" if nb.exists() else title
            parts.append(
                f"<h2 id='{_html.escape(study)}'>{link} <span class='failed'>failed</span></h2>"
            )
            parts.append(f"<pre class='failed'>{_html.escape(str(res))}</pre>")
    parts.append("</body></html>")
    path = Path(out_dir) / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
