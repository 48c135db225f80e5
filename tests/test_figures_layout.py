"""Figures without collisions (issue 14 item 3) and ready for a paper (its export part).

Every figure a study declares (judgelab/study/builtin.py ``figures=``) is rendered by running
the study notebook's own code in this process (``show`` records each figure, then saves it as
the reports do): once on the demo data with the simulated panel (nine judges) and once on a
researcher's own small data set (twelve pairs, two judges). Verdicts come from the panel's
vectorised sampler (:func:`judgelab.sim.sample_verdicts`, the provider's exact verdicts
without litellm), so no judge is called. Each figure must have

* no two drawn, non-empty texts overlapping by more than 10% of the smaller one's area, with
  rotated text compared by its rotated rectangle (convex-polygon clipping, computed here:
  Sutherland-Hodgman, no shapely);
* no text beyond the saved figure;
* every judge, generator or family the figure is about named in some text (a tick label,
  legend entry, title or table cell), by its short label (judgelab.identity.short_labels);
* a journal width (3.4 or 7 in), no font under 7 pt, text kept as text in its SVG and PDF.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import judgelab as jl
from judgelab.plots.style import COLUMN_WIDTHS_IN, MIN_FONT_PT
from judgelab.study.builtin import BUILTIN

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

#: What each declared figure names: judges, generators, families (the data's, found below).
NAMES = {
    "position_consistency": ("judges",),
    "primacy_recency": ("judges",),
    "flip_vs_gap": ("judges",),
    "self_preference_forest": ("judges",),
    "family_heatmap": ("judge_families",),
    "kappa_heatmap": ("judges",),
    "error_phi_heatmap": ("judges",),
    "within_vs_across": (),
    "ensembles": (),
    "agreement_vs_ceiling": ("judges",),
    "signed_bias": ("judges",),
    "confusion": (),
    "ranking": ("judges", "generators"),
    "reliability": ("judges",),
    "pareto": ("judges",),
    "certified_cascade": (),
    "corrected_forest": ("judges",),
}
OVERLAP = 0.10


# ----------------------------------------------------------------- geometry
def _clip(subject: list, clipper: list) -> list:
    """Sutherland-Hodgman: the part of convex polygon ``subject`` inside convex ``clipper``
    (both counter-clockwise lists of (x, y))."""

    def inside(p, a, b):
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= -1e-9

    def cut(p, q, a, b):
        dx, dy = q[0] - p[0], q[1] - p[1]
        ex, ey = b[0] - a[0], b[1] - a[1]
        den = dx * ey - dy * ex
        t = ((a[0] - p[0]) * ey - (a[1] - p[1]) * ex) / den
        return (p[0] + t * dx, p[1] + t * dy)

    out = subject
    for i in range(len(clipper)):
        a, b = clipper[i], clipper[(i + 1) % len(clipper)]
        pts, out = out, []
        for j in range(len(pts)):
            p, q = pts[j - 1], pts[j]
            if inside(q, a, b):
                if not inside(p, a, b):
                    out.append(cut(p, q, a, b))
                out.append(q)
            elif inside(p, a, b):
                out.append(cut(p, q, a, b))
        if not out:
            return []
    return out


def _area(poly: list) -> float:
    return 0.5 * abs(
        sum(poly[i - 1][0] * poly[i][1] - poly[i][0] * poly[i - 1][1] for i in range(len(poly)))
    )


def test_polygon_clipping_handles_rotated_rectangles():
    square = [(0, 0), (2, 0), (2, 2), (0, 2)]
    assert _area(_clip(square, [(1, 1), (3, 1), (3, 3), (1, 3)])) == pytest.approx(1)
    diamond = [(1, -0.5), (2.5, 1), (1, 2.5), (-0.5, 1)]  # a square turned 45 degrees
    assert _area(_clip(square, diamond)) == pytest.approx(3.5)
    assert _clip(square, [(5, 5), (6, 5), (6, 6), (5, 6)]) == []


def _text_polygon(t, renderer) -> list:
    """The rotated rectangle of a drawn Text in display pixels, counter-clockwise."""
    extent = t.get_window_extent(renderer)  # also places an Annotation's text
    _, _, (corner, (w, h)) = t._get_layout(renderer)
    x0, y0 = t.get_transform().transform(t.get_unitless_position())
    a = math.radians(t.get_rotation())
    c, s = math.cos(a), math.sin(a)
    pts = [(0, 0), (w, 0), (w, h), (0, h)]
    poly = [(x0 + corner[0] + c * x - s * y, y0 + corner[1] + s * x + c * y) for x, y in pts]
    xs, ys = zip(*poly, strict=True)
    # the polygon's axis-aligned box is matplotlib's own extent: the geometry above is right
    assert abs(min(xs) - extent.x0) < 1.5 and abs(max(ys) - extent.y1) < 1.5, t.get_text()
    return poly


_DRAWN: dict = {}


def drawn_texts(fig) -> list[tuple]:
    """(text, polygon, font size in pt) of every visible, non-empty text drawn in ``fig``
    (drawn once per figure: the checks below share it)."""
    if id(fig) in _DRAWN and _DRAWN[id(fig)][0] is fig:
        return _DRAWN[id(fig)][1]
    from matplotlib.text import Text

    seen: list = []
    original = Text.draw

    def draw(self, renderer):
        if self.get_visible() and self.get_text().strip() and self.figure is not None:
            seen.append((self, renderer))
        return original(self, renderer)

    Text.draw = draw
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        # a closed figure (``show`` closes it) keeps a canvas that draws nothing
        FigureCanvasAgg(fig).draw()
    finally:
        Text.draw = original
    texts = [(t.get_text(), _text_polygon(t, r), t.get_fontsize()) for t, r in seen]
    _DRAWN[id(fig)] = (fig, texts)
    return texts


def layout_problems(fig) -> list[str]:
    """Overlapping texts and texts beyond the figure, as readable lines."""
    texts = drawn_texts(fig)
    problems = []
    w, h = fig.bbox.width, fig.bbox.height
    for s, poly, _ in texts:
        xs, ys = zip(*poly, strict=True)
        if min(xs) < -1 or min(ys) < -1 or max(xs) > w + 1 or max(ys) > h + 1:
            problems.append(f"{s!r} extends beyond the figure")
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            (si, pi, _), (sj, pj, _) = texts[i], texts[j]
            (xi, yi), (xj, yj) = zip(*pi, strict=True), zip(*pj, strict=True)
            if min(xi) > max(xj) or min(xj) > max(xi) or min(yi) > max(yj) or min(yj) > max(yi):
                continue  # boxes apart: no overlap to measure
            small = min(_area(pi), _area(pj))
            inter = _clip(pi, pj)
            if small > 0 and inter and _area(inter) > OVERLAP * small:
                problems.append(f"{si!r} overlaps {sj!r} ({_area(inter) / small:.0%})")
    return problems


def missing_names(fig, names) -> list[str]:
    """The names not written as a whole word in any text of ``fig``."""
    shown = "\n".join(s for s, _, _ in drawn_texts(fig))
    return [n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", shown)]


# ------------------------------------------------------------------- runs
def _run_notebook(study: str, params: dict, out: Path) -> dict:
    """Execute the study notebook's code cells here (parameters cell, then ``params``), with
    :func:`judgelab.report.show` recording each figure before saving it into ``out``."""
    import os

    import matplotlib.pyplot as plt

    import judgelab.report as rep

    figures: dict = {}
    real_show = rep.show

    def show(fig, name, **kw):
        figures[name] = getattr(fig, "figure", fig)
        return real_show(fig, name, out_dir=out)

    nb = json.loads(jl.studies.notebook_path(study).read_text())
    ns: dict = {}
    out.mkdir(parents=True, exist_ok=True)
    old_out, old_cwd = os.environ.get("JUDGELAB_OUT"), os.getcwd()
    rep.show, os.environ["JUDGELAB_OUT"] = show, str(out)
    os.chdir(out)
    try:
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            exec(compile("".join(cell["source"]), f"{study}.ipynb", "exec"), ns)
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                ns.update(params)
    finally:
        rep.show = real_show
        os.chdir(old_cwd)
        if old_out is None:
            os.environ.pop("JUDGELAB_OUT", None)
        else:
            os.environ["JUDGELAB_OUT"] = old_out
        plt.close("all")
    return figures


def _sampled_verdicts(dataset, pairs: pd.DataFrame, judges, path: Path) -> Path:
    from judgelab import sim

    v = sim.sample_verdicts(pairs, sim.responses_frame(dataset), judges, render=True)
    # a stored call's cost, different per judge (the comparison's Pareto plot needs one)
    models = sorted(v["model"].unique())
    v["cost_usd"] = v["model"].map({m: 2e-5 * 1.8**k for k, m in enumerate(models)})
    v.to_parquet(path)
    return path


def _expected(dataset, out: Path) -> dict:
    from judgelab.identity import JudgeIdentity, short_labels

    doc = json.loads((out / "findings.json").read_text())
    ids = [JudgeIdentity.from_record(j) for j in doc["judges"]]
    return {
        "judges": sorted(short_labels(ids).values()),
        "generators": sorted(dataset.responses["generator"].astype(str).unique()),
        "judge_families": sorted({str(j.get("judge_family")) for j in doc["judges"]} - {"None"}),
    }


def _render_all(dataset, verdicts: Path, base: Path, extra: dict) -> dict:
    """Every study's figures: {(study, figure): (Figure, names it must show)}."""
    common = {"verdicts": str(verdicts), "n_boot": 20, "n_perm": 99, **extra.get("all", {})}
    out = {}
    for study in BUILTIN:
        d = base / study.name
        figs = _run_notebook(study.name, {**common, **extra.get(study.name, {})}, d)
        names = _expected(dataset, d)
        for f in study.figures:
            if f.name in figs:
                kinds = NAMES[f.name]
                out[(study.name, f.name)] = (figs[f.name], [n for k in kinds for n in names[k]])
    return out


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory) -> tuple[Path, dict]:
    """The five studies on the demo data (nine simulated judges): their run directories'
    parent and their figures."""
    from judgelab import sim

    base = tmp_path_factory.mktemp("demo_figures")
    ds = jl.load_dataset("demo")
    # 120 of the 480 human pairs: every judge and generator, a quarter of the run time
    pairs = ds.pairs("human", n_pairs=120, seed=0)
    verdicts = _sampled_verdicts(ds, pairs, sim.panel("demo"), base / "v.parquet")
    ens = {"model": [f"judgelab-sim/{m}" for m in ("aurora-max", "basalt-xl", "cirrus-ultra")]}
    figures = _render_all(
        ds,
        verdicts,
        base,
        # sampled verdicts record no cost, so the source is named (any backend and version)
        {
            "judge_comparison": {
                "judges": None,
                "source": {"model": "judgelab-sim/aurora-max", "judge_version": None},
                "ensemble": ens,
            }
        },
    )
    return base, figures


@pytest.fixture(scope="session")
def demo_figures(demo_runs) -> dict:
    return demo_runs[1]


@pytest.fixture(scope="session")
def own_figures(tmp_path_factory) -> dict:
    """Twelve human pairs of the demo written as a researcher's own dataset directory
    (other name, no simulated truth), judged by two judges of two families."""
    from judgelab import sim

    base = tmp_path_factory.mktemp("own_figures")
    demo = jl.load_dataset("demo")
    pairs = demo.pairs("human", n_pairs=12, seed=3)
    items = set(pairs["item_id"])
    data = base / "mydata"
    data.mkdir()
    (data / "dataset.yaml").write_text("name: mydata\nscale: {min: 1, max: 10}\nlicence: CC0\n")
    for name in ("items", "responses", "labels", "preferences"):
        t = getattr(demo, name)
        if t is None:
            continue
        if "item_id" in t.columns:
            t = t[t["item_id"].isin(items)]
        elif "response_id" in t.columns:
            resp = demo.responses
            t = t[t["response_id"].isin(set(resp.loc[resp["item_id"].isin(items), "response_id"]))]
        t.to_csv(data / f"{name}.csv", index=False)
    ds = jl.load_dataset(str(data))
    judges = [sim.judge("aurora-lite"), sim.judge("basalt-xl")]
    verdicts = _sampled_verdicts(ds, pairs, judges, base / "v.parquet")
    cheap, source = ("judgelab-sim/aurora-lite", "judgelab-sim/basalt-xl")
    extra = {
        "all": {"dataset": str(data), "judges": None},
        "judge_comparison": {
            "source": {"model": source},
            "source_judge": None,
            "select": {"model": [cheap, source]},
            "ensemble": {"model": [source]},
        },
    }
    return _render_all(ds, verdicts, base, extra)


def _check(figures: dict, problems_of) -> list[str]:
    declared = {(s.name, f.name) for s in BUILTIN for f in s.figures}
    out = []
    for key in sorted(declared & set(figures)):
        fig, names = figures[key]
        out += [f"{key[0]}/{key[1]}: {p}" for p in problems_of(fig, names)]
    return out


def _layout(fig, names):
    return layout_problems(fig) + [f"{n} is not labelled" for n in missing_names(fig, names)]


def test_every_declared_figure_is_rendered(demo_figures):
    declared = {(s.name, f.name) for s in BUILTIN for f in s.figures}
    assert declared == set(demo_figures), declared ^ set(demo_figures)


@pytest.mark.parametrize("which", ["demo_figures", "own_figures"])
def test_figures_have_no_colliding_or_clipped_text_and_label_everyone(which, request):
    problems = _check(request.getfixturevalue(which), _layout)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------- export
def _paper_problems(fig, names):
    out = []
    w = fig.get_figwidth()
    if not any(abs(w - c) < 0.01 for c in COLUMN_WIDTHS_IN):
        out.append(f"width {w:.2f} in is not a column width {COLUMN_WIDTHS_IN}")
    out += [f"{s!r} at {pt:.1f} pt" for s, _, pt in drawn_texts(fig) if pt < MIN_FONT_PT - 1e-6]
    return out


def test_figures_are_journal_width_with_fonts_of_7pt_or_more(demo_figures, own_figures):
    problems = _check(demo_figures, _paper_problems) + _check(own_figures, _paper_problems)
    assert not problems, "\n".join(problems)


def test_export_gives_svg_and_pdf_with_text_as_text_at_column_width(demo_runs, tmp_path):
    from judgelab.report.export import export_run

    base, _ = demo_runs
    for study in BUILTIN:
        written = export_run(base / study.name, tmp_path / study.name)["figures"]
        names = {p.name for p in written}
        assert names == {f"{f.name}.{x}" for f in study.figures for x in ("svg", "pdf")}, names
        for p in written:
            if p.suffix == ".svg":
                svg = p.read_text()
                width = float(re.search(r'<svg[^>]*width="([0-9.]+)pt"', svg).group(1)) / 72
                assert any(abs(width - c) < 0.01 for c in COLUMN_WIDTHS_IN), (p.name, width)
                sizes = [float(x) for x in re.findall(r"font(?:-size:|:) *([0-9.]+)px", svg)]
                assert "<text" in svg and sizes, f"{p.name}: text drawn as paths"
                assert min(sizes) >= MIN_FONT_PT - 1e-6, (p.name, min(sizes))
            else:
                pdf = p.read_bytes()
                assert b"/FontFile2" in pdf and b"/Type3" not in pdf, f"{p.name}: not TrueType"
