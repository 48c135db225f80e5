"""Figures of the self-preference study (judgelab.stats.self_preference). Each function
returns a matplotlib Figure; notebooks display and save it with ``judgelab.report.show``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.plots.labels import family_palette, short_label
from judgelab.plots.style import figsize, paper_figure, wrap

__all__ = ["forest", "family_heatmap"]

_TERM_LABEL = {
    "self": "own model",
    "fam": "own family",
    "lin": "lineage",
    "pos": "first position",
    "len": "length (per 100 words)",
    "qual": "quality sensitivity",
}


@paper_figure
def forest(coefs: pd.DataFrame, terms=("self", "fam", "lin", "pos"), families: dict | None = None):
    """Forest plot of the conditional-logit terms per judge: log-odds relative to the panel
    with 95% cluster-robust CIs; one panel per term; terms not estimated are listed as
    'n/a' (see the findings table for the reason)."""
    import matplotlib.pyplot as plt

    # a term no judge could estimate (e.g. no lineage relation in the data) gets no panel
    est = pd.to_numeric(coefs["estimate"], errors="coerce")
    terms = [t for t in terms if est[coefs["term"] == t].notna().any()]
    judges = sorted(
        coefs["judge"].unique(), key=lambda j: (str((families or {}).get(j, "")), short_label(j))
    )
    pal = family_palette((families or {}).values()) if families else None
    fig, axes = plt.subplots(
        1,
        max(len(terms), 1),
        figsize=figsize(0.22 * len(judges) + 1.6),
        sharey=True,
        squeeze=False,
    )
    y = np.arange(len(judges))
    for ax, t in zip(axes[0], terms):
        g = coefs[coefs["term"] == t].set_index("judge")
        for i, j in enumerate(judges):
            col = pal[str(families.get(j))] if pal and j in families else "#333333"
            if j in g.index and g.at[j, "estimate"] is not None and pd.notna(g.at[j, "estimate"]):
                ax.plot([g.at[j, "ci_low"], g.at[j, "ci_high"]], [i, i], color=col, lw=2)
                ax.plot(g.at[j, "estimate"], i, "s", color=col, ms=6)
            else:
                ax.text(0, i, "n/a", ha="center", va="center", color="grey")
        ax.axvline(0, color="grey", lw=1, ls="--")
        ax.set_title(_TERM_LABEL.get(t, t))
        ax.set_xlabel("log-odds vs panel")
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(y, [short_label(j, judges) for j in judges])
    axes[0, 0].invert_yaxis()
    if pal:
        handles = [plt.Line2D([], [], color=pal[k], marker="s", ls="-", label=k) for k in pal]
        fig.legend(
            handles=handles,
            title="judge family",
            loc="outside lower center",
            ncol=len(pal),
            frameon=False,
        )
    fig.suptitle("Conditional logit (stratified by pair): each judge relative to the panel, 95% CI")
    return fig


@paper_figure
def family_heatmap(matrix: pd.DataFrame, value: str = "excess"):
    """Heatmap of judge family (rows) x generator family (columns). ``value``: ``excess``
    (judges' win rate minus humans' on the same pairs) or ``judge_win_rate``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if value not in matrix.columns or matrix[value].isna().all():
        value = "judge_win_rate"
    tab = matrix.pivot(index="judge_family", columns="generator_family", values=value)
    fig, ax = plt.subplots(figsize=figsize(0.5 * max(tab.shape[0], 2) + 1.6))
    if value == "excess":
        lim = float(np.nanmax(np.abs(tab.to_numpy()))) if tab.size else 0.1
        sns.heatmap(
            tab,
            annot=True,
            fmt="+.2f",
            cmap="RdBu_r",
            vmin=-lim,
            vmax=lim,
            center=0,
            ax=ax,
            cbar_kws={"label": "judge - human win rate"},
        )
        ax.set_title(
            wrap(
                "Win rate of a generator family's answers: judges of each family minus humans, "
                "same pairs"
            )
        )
    else:
        sns.heatmap(
            tab,
            annot=True,
            fmt=".2f",
            cmap="viridis",
            vmin=0,
            vmax=1,
            ax=ax,
            cbar_kws={"label": "judge win rate"},
        )
        ax.set_title("Win rate of a generator family's answers by judge family")
    # outline the diagonal (own family)
    for i, r in enumerate(tab.index):
        if r in tab.columns:
            k = list(tab.columns).index(r)
            ax.add_patch(plt.Rectangle((k, i), 1, 1, fill=False, ec="black", lw=2))
    ax.set_xlabel("generator family")
    ax.set_ylabel("judge family")
    return fig
