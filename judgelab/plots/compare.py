"""Figures of the judge-comparison study: cost against human agreement, and the cascade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.plots.labels import short_label
from judgelab.plots.style import OKABE_ITO, figsize, paper_figure, plain_log_axis, wrap

__all__ = ["pareto", "cascade"]


@paper_figure
def pareto(table: pd.DataFrame, source: str | None = None):
    """Cost per 1,000 judgments (log x) against accuracy vs the reference, one point per
    judge identity with its accuracy CI; the Pareto front (no other judge both cheaper and
    more accurate) is joined by a line. Judges are named in the legend (points of judges
    with similar cost and accuracy would hide labels written beside them); the source is
    the black square."""
    import matplotlib.pyplot as plt

    t = table.dropna(subset=["cost_per_1k_usd", "accuracy_vs_human"]).sort_values("cost_per_1k_usd")
    # one point per identity (the source can also be listed among the candidates)
    t = t.drop_duplicates("judge")
    fig, ax = plt.subplots(figsize=figsize(3.0))
    if t.empty:
        ax.text(
            0.5,
            0.5,
            "no judge has both a stored cost and an accuracy",
            ha="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return fig
    x, y = t["cost_per_1k_usd"].to_numpy(float), t["accuracy_vs_human"].to_numpy(float)
    lo = (
        pd.to_numeric(t["ci_low"], errors="coerce")
        .fillna(pd.Series(y, index=t.index))
        .to_numpy(float)
    )
    hi = (
        pd.to_numeric(t["ci_high"], errors="coerce")
        .fillna(pd.Series(y, index=t.index))
        .to_numpy(float)
    )
    best, front = -np.inf, []
    for xi, yi in zip(x, y, strict=True):
        if yi > best:
            front.append((xi, yi))
            best = yi
    fx, fy = zip(*front, strict=True)
    ax.plot(fx, fy, "-", color="0.6", lw=1.5, zorder=1, label="Pareto front")
    labels = t["judge"].tolist()
    markers = "o^vD<>P*"
    k = 0
    for xi, yi, l_, h_, j in zip(x, y, lo, hi, labels, strict=True):
        mark = j == source
        colour = "black" if mark else OKABE_ITO[k % 7]
        marker = "s" if mark else markers[(k // 7) % len(markers)]
        k += 0 if mark else 1
        ax.errorbar(
            xi,
            yi,
            yerr=[[yi - l_], [h_ - yi]],
            fmt=marker,
            color=colour,
            capsize=3,
            ms=5,
            label=short_label(j, labels) + (" (source)" if mark else ""),
        )
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_xlabel("cost per 1,000 judgments (USD, log scale)")
    ax.set_ylabel(wrap("accuracy vs reference (95% cluster CI)", 30))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title("Cost against agreement with the reference")
    return fig


@paper_figure
def cascade(table: pd.DataFrame, cheap_alone: tuple[float, float] | None = None):
    """The cascade's accuracy against its cost, one point per threshold; each threshold and
    the share of pairs it escalates is a legend entry (thresholds that escalate the same
    pairs sit on one point). The ensemble alone is the square."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize(3.0))
    # Published verdicts carry no cost: then the x axis is the share of pairs escalated.
    priced = bool((pd.to_numeric(table["cost_per_1k_usd"], errors="coerce") > 0).any())
    table = table.copy()
    x = "cost_per_1k_usd" if priced else "escalated"
    table["xpos"] = table[x]
    steps = table[table["threshold"] != "ensemble"]
    ens = table[table["threshold"] == "ensemble"]
    ax.plot(steps["xpos"], steps["accuracy"], "-", color="0.6", lw=1.5, zorder=1)
    shades = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(steps), 1)))
    for k, r in enumerate(steps.itertuples()):
        ax.plot(
            r.xpos,
            r.accuracy,
            "o",
            color=shades[k],
            ms=6,
            zorder=2,
            label=f"t={float(r.threshold):g}: {r.escalated:.0%} escalated",
        )
    if len(ens):
        ax.plot(
            ens["xpos"],
            ens["accuracy"],
            "s",
            color="black",
            markersize=7,
            label="ensemble alone",
        )
    if priced:
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
        ax.set_xlabel("cost per 1,000 pairs (USD, log scale)")
    else:
        ax.set_xlabel("share of pairs escalated (no stored cost: published verdicts)")
    ax.set_ylabel("accuracy vs reference")
    ax.legend(
        title="cascade (cheap judge first)",
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        frameon=False,
    )
    ax.set_title("Two-pass cascade: accuracy and cost per threshold")
    return fig
