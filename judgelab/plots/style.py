"""The look every judgelab figure shares: journal column widths, fonts no smaller than 7 pt at
that width, a colour-blind-safe palette (Okabe & Ito 2008), text kept as text in SVG and PDF.

Figure functions are decorated with :func:`paper_figure`; :func:`judgelab.report.show` saves
with :data:`SAVE_RC`, so the SVG and PDF a report writes are the ones a paper can use
(``judgelab export`` copies them)."""

from __future__ import annotations

import functools
import textwrap

__all__ = [
    "SINGLE_COLUMN_IN",
    "DOUBLE_COLUMN_IN",
    "COLUMN_WIDTHS_IN",
    "MIN_FONT_PT",
    "OKABE_ITO",
    "PAPER_RC",
    "SAVE_RC",
    "paper_figure",
    "figsize",
    "wrap",
    "plain_log_axis",
]

#: Width of a single-column and of a double-column figure in a two-column journal (inches).
SINGLE_COLUMN_IN = 3.4
DOUBLE_COLUMN_IN = 7.0
COLUMN_WIDTHS_IN = (SINGLE_COLUMN_IN, DOUBLE_COLUMN_IN)
#: No text of a figure is smaller than this at its printed width (points).
MIN_FONT_PT = 7.0
#: Okabe & Ito's colour-blind-safe qualitative palette (black last: reserved for references).
OKABE_ITO = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

#: How a figure is saved: text stays text (editable, searchable, the journal's font possible).
SAVE_RC = {"svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42}


def _rc() -> dict:
    from cycler import cycler

    return {
        "font.size": 8,
        "axes.titlesize": 8.5,
        "axes.labelsize": 8,
        "xtick.labelsize": 7.5,
        "ytick.labelsize": 7.5,
        "legend.fontsize": 7.5,
        "legend.title_fontsize": 7.5,
        "figure.titlesize": 9,
        "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
        # every figure lays itself out inside its fixed width (no text cut off when saved
        # at that width, no tight bounding box that changes it)
        "figure.constrained_layout.use": True,
        "figure.dpi": 100,
        **SAVE_RC,
    }


#: rcParams of every judgelab figure (built on first use: cycler is matplotlib's).
PAPER_RC: dict = {}


def paper_figure(func):
    """Build the figure ``func`` returns under :data:`PAPER_RC` (fonts, palette, layout)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import matplotlib.pyplot as plt

        if not PAPER_RC:
            PAPER_RC.update(_rc())
        with plt.rc_context(PAPER_RC):
            return func(*args, **kwargs)

    return wrapper


def figsize(height: float, single: bool = False) -> tuple[float, float]:
    """``(width, height)`` in inches at a journal column width: double-column (7 in) unless
    ``single`` (3.4 in); the height is clipped to 1.2 .. 9 in."""
    width = SINGLE_COLUMN_IN if single else DOUBLE_COLUMN_IN
    return (width, float(min(max(height, 1.2), 9.0)))


def wrap(text: str, width: int = 70) -> str:
    """``text`` broken into lines of at most ``width`` characters (titles and axis labels)."""
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def plain_log_axis(axis) -> None:
    """Log-scale tick labels as plain numbers (``0.2``, ``30``) instead of mathtext powers of
    ten, whose superscripts print at 70% of the tick font (under 7 pt); matplotlib still
    decides which minor ticks get a label."""
    from matplotlib.ticker import LogFormatter

    class _Plain(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}"

    axis.set_major_formatter(_Plain())
    axis.set_minor_formatter(_Plain(labelOnlyBase=False))
