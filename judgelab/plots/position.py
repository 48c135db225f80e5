"""Figures of the position-bias study (judgelab.stats.position). Each function returns a
matplotlib Figure; notebooks display and save it with ``judgelab.report.show``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.plots.labels import family_palette, short_label
from judgelab.plots.style import figsize, paper_figure, wrap

__all__ = [
    "short_label",
    "consistency_per_judge",
    "primacy_recency_bars",
    "flip_vs_gap_curves",
    "family_palette",
]


def _rows(findings: pd.DataFrame, fid: str) -> pd.DataFrame:
    f = findings[findings["id"] == fid].copy()
    f["label"] = [short_label(j, findings["judge"].dropna().unique()) for j in f["judge"]]
    if "judge_family" not in f.columns:
        f["judge_family"] = "?"
    f["judge_family"] = f["judge_family"].fillna("?").astype(str)
    return f.sort_values(["judge_family", "label"]).reset_index(drop=True)


@paper_figure
def consistency_per_judge(findings: pd.DataFrame, chance: float | None = None):
    """Position consistency per judge with its item-cluster bootstrap CI (dots and bars),
    coloured by family. A judge whose CI is withheld shows the point only."""
    import matplotlib.pyplot as plt

    f = _rows(findings, "position_consistency")
    pal = family_palette(f["judge_family"])
    fig, ax = plt.subplots(figsize=figsize(0.22 * max(len(f), 3) + 1.1))
    y = np.arange(len(f))
    for i, r in f.iterrows():
        c = pal[r["judge_family"]]
        if r["ci_low"] is not None and pd.notna(r["ci_low"]):
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=c, lw=2.5, alpha=0.8)
        if r["estimate"] is not None and pd.notna(r["estimate"]):
            ax.plot(r["estimate"], i, "o", color=c, ms=7)
    ax.set_yticks(y, f["label"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("position consistency (share of pairs with the same verdict in both orders)")
    if chance is not None:
        ax.axvline(chance, color="grey", ls=":", lw=1)
    handles = [plt.Line2D([], [], color=pal[k], marker="o", ls="-", label=k) for k in pal]
    # outside the axes: a legend never covers a judge's interval
    ax.legend(
        handles=handles,
        title="judge family",
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        frameon=False,
    )
    ax.set_title("Position consistency per judge (95% item-cluster bootstrap CI)")
    ax.grid(axis="x", alpha=0.3)
    return fig


@paper_figure
def primacy_recency_bars(counts: pd.DataFrame):
    """Bars of primacy vs recency counts per judge (the inconsistent pairs), with the
    first-slot share written beside them. ``counts`` is
    :func:`judgelab.stats.position.position_counts` (or the findings' primary rows with
    ``primacy`` / ``recency`` columns)."""
    import matplotlib.pyplot as plt

    c = counts.copy()
    if "n_primacy" not in c.columns:
        c = c[c["id"] == "first_slot_share"].rename(
            columns={"primacy": "n_primacy", "recency": "n_recency"}
        )
    c["label"] = [short_label(j, c["judge"].unique()) for j in c["judge"]]
    c["judge_family"] = c.get("judge_family", pd.Series("?", index=c.index)).fillna("?").astype(str)
    c = c.sort_values(["judge_family", "label"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=figsize(0.3 * max(len(c), 3) + 1.1))
    y = np.arange(len(c))
    h = 0.38
    ax.barh(
        y - h / 2,
        c["n_primacy"].astype(float),
        height=h,
        color="#d55e00",
        label="primacy (first slot wins)",
    )
    ax.barh(
        y + h / 2,
        c["n_recency"].astype(float),
        height=h,
        color="#0072b2",
        label="recency (second slot wins)",
    )
    longest = float(np.nanmax(c[["n_primacy", "n_recency"]].astype(float).to_numpy(), initial=0))
    for i, r in c.iterrows():
        tot = float(r["n_primacy"]) + float(r["n_recency"])
        if tot > 0:
            # written right of the longest bar of all judges: the shares form one column
            ax.text(longest * 1.03 + 0.2, i, f"{r['n_primacy'] / tot:.0%} first", va="center")
    # room for that column inside the axes (it is data, not a label outside the plot)
    ax.set_xlim(0, longest * 1.28 + 1)
    ax.set_yticks(y, c["label"])
    ax.invert_yaxis()
    ax.set_xlabel("order-inconsistent pairs")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title("Which slot wins when the verdict flips with the order")
    ax.grid(axis="x", alpha=0.3)
    return fig


@paper_figure
def flip_vs_gap_curves(
    curves: pd.DataFrame,
    points: pd.DataFrame | None = None,
    xlabel: str = "quality gap",
    families: dict | None = None,
):
    """Fitted P(order-inconsistent) against the pair's human quality gap, one panel per judge,
    with the 95% CI band (GEE, item-clustered). ``points`` (judge, gap, inconsistent) adds
    binned observed rates."""
    import matplotlib.pyplot as plt

    judges = sorted(curves["judge"].unique()) if len(curves) else []
    n = max(len(judges), 1)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=figsize(1.9 * nrow + 0.6), sharex=True, sharey=True, squeeze=False
    )
    pal = family_palette((families or {}).values()) if families else None
    for ax, j in zip(axes.flat, judges):
        g = curves[curves["judge"] == j]
        col = pal[str(families.get(j))] if pal and j in families else "#0072b2"
        ax.fill_between(g["gap"], g["ci_low"], g["ci_high"], color=col, alpha=0.25, lw=0)
        ax.plot(g["gap"], g["p"], color=col, lw=2)
        if points is not None and len(points):
            pj = points[(points["judge"] == j) & points["gap"].notna()]
            if len(pj) >= 5:
                bins = np.unique(np.quantile(pj["gap"], np.linspace(0, 1, 6)))
                if len(bins) > 2:
                    cut = pd.cut(pj["gap"], bins, include_lowest=True)
                    b = pj.groupby(cut, observed=True).agg(
                        x=("gap", "mean"), y=("inconsistent", "mean")
                    )
                    ax.plot(b["x"], b["y"], "o", color="black", ms=3.5, alpha=0.7)
        ax.set_title(short_label(j, judges))
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(judges) :]:
        ax.axis("off")
    # one label per figure: under a column of narrow panels a long label runs off the page
    fig.supxlabel(wrap(xlabel, 90))
    fig.supylabel("P(order flip)")
    fig.suptitle(
        wrap(
            "Order flips against the quality gap (line: GEE fit, band: 95% CI; dots: binned rates)",
            90,
        )
    )
    return fig
