"""The demo's five study reports and its index as a reader gets them (issue 14 item 7 and its
"Done when"): no machinery (paths, warnings, run log lines), no horizontal overflow and every
image loaded in a real browser (headless chromium; the browser checks skip without it, as
tests/test_browser.py does), a "Conclusions" and a "Caveats" section naming every judge by
its short label, a first screen that answers the question, and an index listing every study
with its answers table.

One ``judgelab demo`` (report.run_demo) at reduced size on the offline simulated panel feeds
every test: 60 pairs, 200 bootstrap replicates, 2 jobs; about 2 minutes with the machine
otherwise loaded at ~3 (1,080 panel calls, then the five notebooks two at a time).
Figure overlaps are checked on the same studies' figures by tests/test_figures_layout.py.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

# the helpers of the toy report's checks, applied here to every demo page
from test_browser import browser_measure
from test_report_machinery import machinery_in

from judgelab import report
from judgelab.findings import answers, conclusions
from judgelab.identity import short_labels
from judgelab.report.html import ANSWERS_TABLE_CLASS
from judgelab.study.builtin import BUILTIN

pytestmark = pytest.mark.slow

STUDIES = [s.name for s in BUILTIN]
DEMO_PARAMS = {"n_pairs": 60, "n_boot": 200}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """One reduced ``judgelab demo`` run; its output directory."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    logs: list[str] = []
    results = report.run_demo(out, params=DEMO_PARAMS, jobs=2, log=logs.append)
    failed = {s: str(r) for s, r in results.items() if not isinstance(r, report.RunResult)}
    assert not failed, failed
    assert list(results) == STUDIES, "\n".join(logs[-20:])
    return out


def _page(demo: Path, page: str) -> tuple[Path, Path]:
    """(HTML file, its run directory) of a study's report or of the index."""
    if page == "index":
        return demo / "index.html", demo
    return demo / page / f"{page}.html", demo / page


def _text(html: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _sections(html: str) -> list[tuple[str, int, int]]:
    """(heading text, start, end) of each h1/h2 section: from its heading to the next one."""
    heads = [
        (_text(m.group(2)).rstrip("¶ ").strip(), m.start())
        for m in re.finditer(r"<h([12])\b[^>]*>(.*?)</h\1>", html, flags=re.S)
    ]
    ends = [start for _, start in heads[1:]] + [len(html)]
    return [(title, start, end) for (title, start), end in zip(heads, ends, strict=True)]


def _section(html: str, starts_with: str) -> tuple[int, int]:
    found = [(s, e) for title, s, e in _sections(html) if title.startswith(starts_with)]
    assert found, f"no section headed {starts_with!r}: {[t for t, *_ in _sections(html)]}"
    return found[0]


def _doc(demo: Path, study: str) -> dict:
    return json.loads((demo / study / "findings.json").read_text())


def _judge_labels(doc: dict) -> list[str]:
    """Short label of every judge of a run (labelled among all identities its findings
    name, as the conclusions are)."""
    from judgelab.identity import JudgeIdentity

    named = [f["judge"] for f in doc["findings"] if f.get("judge")]
    labels = short_labels(list(doc["judges"]) + named)
    return [labels[str(JudgeIdentity.from_record(j))] for j in doc["judges"]]


def _names(text: str, label: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text) is not None


@pytest.mark.parametrize("page", [*STUDIES, "index"])
def test_page_shows_no_machinery(demo, page):
    html_path, run_dir = _page(demo, page)
    assert machinery_in(html_path.read_text(), run_dir) == []


@pytest.mark.parametrize("page", [*STUDIES, "index"])
def test_page_fits_the_window_and_every_image_loads(demo, page, tmp_path):
    html_path, run_dir = _page(demo, page)
    m = browser_measure(html_path, tmp_path)
    assert not m["overflow"], m
    assert m["broken"] == 0, m
    if page != "index":  # one image per saved figure
        assert m["images"] == len(list((run_dir / "figures").glob("*.svg"))) > 0, m


@pytest.mark.parametrize("study", STUDIES)
def test_conclusions_and_caveats_name_every_judge(demo, study):
    html = _page(demo, study)[0].read_text()
    start, end = _section(html, "Conclusions")
    _section(html, "Caveats")
    said = _text(html[start:end])
    labels = _judge_labels(_doc(demo, study))
    assert labels and [lab for lab in labels if not _names(said, lab)] == [], said[:2000]


@pytest.mark.parametrize("study", STUDIES)
def test_first_screen_answers_the_question(demo, study):
    """The first screen is everything before the first figure. It holds the "Answer"
    section: the study's conclusions rendered from findings.json (the same sentences as the
    closing "Conclusions" section), every judge named."""
    html = _page(demo, study)[0].read_text()
    first_figure = html.index("<img")
    start, end = _section(html, "Answer")
    assert end <= first_figure
    said = _text(html[start:end])
    doc = _doc(demo, study)
    lines = conclusions(study, doc["findings"], doc["judges"])
    assert lines
    bare = "".join(said.split())  # markup between words shows as spaces in the text
    for line in lines:  # the Markdown item as text: no bullet, emphasis or code marks
        plain = "".join(re.sub(r"^\* |\*\*|`", "", line).split())
        assert plain in bare, (line, said[:2000])
    missing = [lab for lab in _judge_labels(doc) if not _names(said, lab)]
    assert missing == []


def test_index_lists_every_study_with_its_answers(demo):
    html = (demo / "index.html").read_text()
    assert "class='failed'" not in html
    for study in STUDIES:
        part = html[html.index(f"<h2 id='{study}'>") :]
        part = part[: part.find("<h2", 4) if "<h2" in part[4:] else len(part)]
        assert f"href='{study}/{study}.html'" in part
        assert f'class="dataframe {ANSWERS_TABLE_CLASS}"' in part, part[:500]
        body = part.split("<tbody>")[1].split("</tbody>")[0]
        doc = _doc(demo, study)
        assert body.count("<tr") == len(answers(doc["findings"], doc["judges"])) > 0


@pytest.mark.parametrize("study", ["calibration_audit", "judge_comparison"])
def test_confidence_calibration_is_shown(demo, study):
    """Issue 16: the demo shows each judge's confidence against the humans: a "Confidence
    calibration" section with the reliability diagram, and per judge a confidence_ece and a
    confidence_brier finding naming the confidence source (the panel emits logprobs)."""
    html = _page(demo, study)[0].read_text()
    start, end = _section(html, "Confidence calibration")
    assert "<img" in html[start:end]
    assert (demo / study / "figures" / "reliability.svg").exists()
    rows = [f for f in _doc(demo, study)["findings"] if f["id"].startswith("confidence_")]
    judges = {f["judge"] for f in rows}
    assert judges and all(
        {f["id"] for f in rows if f["judge"] == j} == {"confidence_ece", "confidence_brier"}
        for j in judges
    )
    # the judges' own confidence from logprobs; the audit's panel majority (no judge
    # identity) from the share of judges that give its verdict
    judged = [f for f in rows if f["judge"] is not None]
    assert {f.get("confidence_source") for f in judged} == {"logprob"}
    assert all("confidence_source=logprob" in f["method"] for f in judged)
    assert {f.get("confidence_source") for f in rows if f["judge"] is None} <= {"ensemble"}
