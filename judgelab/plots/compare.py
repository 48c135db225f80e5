"""Figures of the judge-comparison study: cost against human agreement, and the cascade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.plots.labels import short_label

__all__ = ["pareto", "cascade"]


def pareto(table: pd.DataFrame, source: str | None = None):
    """Cost per 1,000 judgments (log x) against accuracy vs the reference, one point per
    judge identity with its accuracy CI; the Pareto front (no other judge both cheaper and
    more accurate) is joined by a line and the source is marked."""
    import matplotlib.pyplot as plt

    t = table.dropna(subset=["cost_per_1k_usd", "accuracy_vs_human"]).sort_values("cost_per_1k_usd")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if t.empty:
        ax.text(
            0.5,
            0.5,
            "no judge has both a stored cost and an accuracy",
            ha="center",
            transform=ax.transAxes,
        )
        return fig
    x, y = t["cost_per_1k_usd"].to_numpy(float), t["accuracy_vs_human"].to_numpy(float)
    err = np.vstack(
        [
            y - t["ci_low"].fillna(pd.Series(y, index=t.index)),
            t["ci_high"].fillna(pd.Series(y, index=t.index)) - y,
        ]
    )
    ax.errorbar(x, y, yerr=err, fmt="o", color="0.3", ecolor="0.6", capsize=3)
    best, front = -np.inf, []
    for xi, yi in zip(x, y, strict=True):
        if yi > best:
            front.append((xi, yi))
            best = yi
    fx, fy = zip(*front, strict=True)
    ax.plot(fx, fy, "-", color="tab:blue", alpha=0.6, label="Pareto front")
    labels = t["judge"].tolist()
    for xi, yi, j in zip(x, y, labels, strict=True):
        mark = j == source
        ax.annotate(
            short_label(j, labels) + (" (source)" if mark else ""),
            (xi, yi),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
            fontweight="bold" if mark else "normal",
        )
    ax.set_xscale("log")
    ax.set_xlabel("cost per 1,000 judgments (USD, log scale)")
    ax.set_ylabel("accuracy vs reference (95% cluster CI)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Cost against agreement with the reference")
    fig.tight_layout()
    return fig


def cascade(table: pd.DataFrame, cheap_alone: tuple[float, float] | None = None):
    """The cascade's accuracy against its cost, one point per threshold (labelled by the share
    escalated); the cheap judge alone and the ensemble alone are the end points."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    # Published verdicts carry no cost: then the x axis is the share of pairs escalated.
    priced = bool((pd.to_numeric(table["cost_per_1k_usd"], errors="coerce") > 0).any())
    table = table.copy()
    x = "cost_per_1k_usd" if priced else "escalated"
    table["xpos"] = table[x]
    steps = table[table["threshold"] != "ensemble"]
    ens = table[table["threshold"] == "ensemble"]
    ax.plot(
        steps["xpos"],
        steps["accuracy"],
        "o-",
        color="tab:orange",
        label="cascade (cheap first)",
    )
    for r in steps.itertuples():
        ax.annotate(
            f"t={float(r.threshold):g}\n{r.escalated:.0%} esc.",
            (r.xpos, r.accuracy),
            textcoords="offset points",
            xytext=(4, -14),
            fontsize=7,
        )
    if len(ens):
        ax.plot(
            ens["xpos"],
            ens["accuracy"],
            "s",
            color="tab:green",
            markersize=8,
            label="ensemble alone",
        )
    if priced:
        ax.set_xscale("log")
        ax.set_xlabel("cost per 1,000 pairs (USD, log scale)")
    else:
        ax.set_xlabel("share of pairs escalated (no stored cost: published verdicts)")
    ax.set_ylabel("accuracy vs reference")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Two-pass cascade: accuracy and cost per threshold")
    fig.tight_layout()
    return fig
