"""Figures of a report: :func:`show` displays a figure once and saves it as SVG and PDF."""

from __future__ import annotations

import os
import re
from pathlib import Path

from judgelab import config
from judgelab import studies as _studies
from judgelab.plots.style import SAVE_RC

__all__ = ["show", "SavedFigures"]


# ------------------------------------------------------------------- figures
class SavedFigures(list):
    """The files :func:`show` wrote; shows nothing when a notebook cell ends with it."""

    def _ipython_display_(self):
        pass


def show(
    fig,
    name: str,
    formats: tuple[str, ...] = ("svg", "pdf"),
    out_dir: str | os.PathLike | None = None,
):
    """Display ``fig`` (matplotlib Figure, or a seaborn grid with ``.figure``) once and save it.

    Saves ``<out>/figures/<name>.<fmt>`` for each format (default SVG and PDF), where
    ``<out>`` is ``out_dir``, else ``$JUDGELAB_OUT``, else ``reports/<study>`` of the project
    directory for the study last prepared in this process (:func:`judgelab.config.output_dir`,
    :func:`judgelab.studies.current_study`), with text kept as text
    (:data:`judgelab.plots.style.SAVE_RC`). A figure that lays itself out (the package's
    figures: constrained layout at a journal column width) is saved at its own size, so the
    file has the width it was designed for; any other is cropped to its content. The figure
    is closed afterwards so that the inline backend does not display it a second time.
    Returns the list of saved paths (as :class:`SavedFigures`, which displays as nothing when it
    ends a notebook cell: the figure itself was just shown).
    """
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    figure = getattr(fig, "figure", fig)  # seaborn FacetGrid / JointGrid carry .figure
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(
            f"figure name {name!r}: use letters, digits, '_', '-', '.' only (it is a file name)"
        )
    out = Path(out_dir) if out_dir is not None else config.output_dir(_studies.current_study())
    fdir = out / "figures"
    fdir.mkdir(parents=True, exist_ok=True)
    saved = []
    engine = figure.get_layout_engine()
    bbox = None if isinstance(engine, ConstrainedLayoutEngine) else "tight"
    for fmt in formats:
        p = fdir / f"{name}.{fmt}"
        # metadata without dates keeps SVG/PDF byte-stable across reruns
        meta = {"Date": None} if fmt in ("svg", "pdf") else {}
        if fmt == "pdf":
            meta["CreationDate"] = None
            meta.pop("Date")
        # a fixed hash salt makes SVG element ids, hence the files, identical across reruns
        with plt.rc_context({"svg.hashsalt": f"judgelab-{name}", **SAVE_RC}):
            figure.savefig(p, format=fmt, bbox_inches=bbox, metadata=meta)
        saved.append(p)
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(figure)
    finally:
        plt.close(figure)
    return SavedFigures(saved)
