"""Figures of the judge-comparison study: cost against human agreement, and the certified
cascade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.plots.labels import short_label
from judgelab.plots.style import OKABE_ITO, figsize, paper_figure, plain_log_axis, wrap

__all__ = ["pareto", "certified_cascade"]


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
def certified_cascade(table: pd.DataFrame, judges: tuple[str, str] | None = None):
    """The certified cascade per alpha (:func:`judgelab.stats.cascade.certified_cascade`'s
    table). Left: the share of held-out pairs each judge keeps (stacked; the rest goes to
    humans) against the guaranteed agreement 1 - alpha. Right: the agreement with humans
    measured on the held-out pairs the cascade keeps (95% CI) against the guaranteed one (on
    or above the diagonal where the guarantee shows). Each alpha is a separate guarantee."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=figsize(2.8))
    if table is None or table.empty:
        for ax in (left, right):
            ax.set_axis_off()
        left.text(0.5, 0.5, "no certified cascade on this data", ha="center",
                  transform=left.transAxes)  # fmt: skip
        return fig
    t = table.sort_values("guaranteed_agreement")
    x = t["guaranteed_agreement"].to_numpy(float)
    cheap = pd.to_numeric(t["coverage_cheap"], errors="coerce").fillna(0).to_numpy(float)
    ens = pd.to_numeric(t["coverage_ens"], errors="coerce").fillna(0).to_numpy(float)
    names = judges or ("cheap judge", "ensemble")
    left.fill_between(x, 0, cheap, color=OKABE_ITO[0], alpha=0.8, step=None,
                      label=f"kept by {names[0]}")  # fmt: skip
    left.fill_between(x, cheap, cheap + ens, color=OKABE_ITO[1], alpha=0.8,
                      label=f"kept by {names[1]}")  # fmt: skip
    left.plot(x, cheap + ens, "o-", color="black", ms=4, lw=1.2, label="kept by the cascade")
    left.set_ylim(0, 1.02)
    left.set_xlabel("guaranteed agreement 1 - alpha")
    left.set_ylabel(wrap("share of held-out pairs kept (the rest: humans)", 30))
    left.legend(loc="upper left", bbox_to_anchor=(0, -0.25), frameon=False)
    left.set_title("Coverage")
    agree = pd.to_numeric(t["agreement"], errors="coerce").to_numpy(float)
    lo = pd.to_numeric(t["ci_low"], errors="coerce").to_numpy(float)
    hi = pd.to_numeric(t["ci_high"], errors="coerce").to_numpy(float)
    ok = np.isfinite(agree)
    lo, hi = np.where(np.isfinite(lo), lo, agree), np.where(np.isfinite(hi), hi, agree)
    lim = (min(x.min(), np.nanmin(lo[ok]) if ok.any() else 1) - 0.02, 1.01)
    right.plot(lim, lim, "--", color="0.6", lw=1, label="measured = guaranteed")
    if ok.any():
        right.errorbar(x[ok], agree[ok], yerr=[agree[ok] - lo[ok], hi[ok] - agree[ok]], fmt="o",
                       color="black", capsize=3, ms=4, label="measured on kept pairs (95% CI)")  # fmt: skip
    for xi in x[~ok]:
        right.annotate("keeps nothing", (xi, lim[0]), rotation=90,
                       ha="center", va="bottom", color="0.4")  # fmt: skip
    right.set_xlim(*lim)
    right.set_ylim(*lim)
    right.set_xlabel("guaranteed agreement 1 - alpha")
    right.set_ylabel(wrap("agreement with humans on held-out kept pairs", 30))
    right.legend(loc="upper left", bbox_to_anchor=(0, -0.25), frameon=False)
    right.set_title("Guarantee against measurement")
    return fig
