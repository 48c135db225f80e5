"""Figures of verdict confidence against humans (judgelab.stats.calibration.confidence): the
reliability diagram per judge. Returns a matplotlib Figure; notebooks display and save it
with ``judgelab.report.show``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# the audit's label rule: no judge identity is the panel majority (its ensemble rows)
from judgelab.plots.calibration import short_label
from judgelab.plots.style import OKABE_ITO, figsize, paper_figure, wrap

__all__ = ["reliability_diagram"]


def _points(row) -> tuple[pd.DataFrame, bool]:
    """The row's reliability points (deciles with CIs) or its levels (ordinal confidence)."""
    bins = row.get("bins")
    if isinstance(bins, list) and bins:
        return pd.DataFrame(bins), True
    levels = row.get("levels")
    if isinstance(levels, list) and levels:
        return pd.DataFrame(levels), False
    return pd.DataFrame(), False


def _caption(row, binned: bool) -> str:
    src = row.get("confidence_source") or "no confidence"
    if binned:
        return f"{src}: ECE {row['estimate']:.3f} (null {row['ece_null']:.3f})"
    auc = row.get("auroc")
    auc = f"AUROC {auc:.2f}" if auc is not None and np.isfinite(auc) else "no AUROC"
    return f"{src} ({int(row.get('n_levels') or 0)} levels): {auc}"


@paper_figure
def reliability_diagram(findings: pd.DataFrame):
    """Per judge, accuracy against the human reference by confidence decile (x: the decile's
    mean confidence, y: its accuracy with the item-cluster bootstrap 95% CI), the diagonal of
    perfect calibration and the ECE beside its perfectly-calibrated null; an ordinal
    confidence (order agreement) shows its accuracy per level instead (no CI, no ECE)."""
    import matplotlib.pyplot as plt

    f = findings[findings["id"] == "confidence_ece"]
    rows = [r for r in f.to_dict("records") if not _points(r)[0].empty]
    n = max(len(rows), 1)
    ncol = min(n, 3)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=figsize(2.1 * nrow + 0.5), squeeze=False, sharex=True, sharey=True
    )
    all_judges = findings["judge"].dropna().unique()
    for ax in axes.flat[len(rows) :]:
        ax.set_visible(False)
    if not rows:
        ax = axes.flat[0]
        ax.set_visible(True)
        ax.text(0.5, 0.5, "no verdict confidence to calibrate", ha="center", va="center")
        ax.set_axis_off()
        return fig
    for ax, row in zip(axes.flat, rows, strict=False):
        pts, binned = _points(row)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        x, y = pts["confidence"].to_numpy(float), pts["accuracy"].to_numpy(float)
        if binned:
            lo = pd.to_numeric(pts["ci_low"], errors="coerce").to_numpy(float)
            hi = pd.to_numeric(pts["ci_high"], errors="coerce").to_numpy(float)
            lo, hi = np.where(np.isnan(lo), y, lo), np.where(np.isnan(hi), y, hi)
            ax.errorbar(
                x, y, yerr=np.vstack([y - lo, hi - y]), fmt="o-", ms=3, lw=1,
                color=OKABE_ITO[0], capsize=2,
            )  # fmt: skip
        else:
            ax.plot(x, y, "s", ms=5, color=OKABE_ITO[1])
            for xi, yi, k in zip(x, y, pts["n"], strict=True):
                ax.annotate(f"n={k}", (xi, yi), textcoords="offset points", xytext=(0, 5),
                            ha="center", fontsize=7)  # fmt: skip
        ax.set_title(wrap(short_label(row.get("judge"), all_judges), 28))
        ax.text(0.03, 0.97, wrap(_caption(row, binned), 30), transform=ax.transAxes,
                va="top", fontsize=7)  # fmt: skip
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.1)
        ax.grid(alpha=0.3)
    for col in range(ncol):
        # the lowest drawn panel of each column carries the x axis (the last row may be short)
        shown = [ax for ax in axes[:, col] if ax.get_visible()]
        if shown:
            shown[-1].xaxis.set_tick_params(labelbottom=True)
            shown[-1].set_xlabel("confidence")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy vs humans")
    return fig
