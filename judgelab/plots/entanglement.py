"""Figures of the family-entanglement study (judgelab.stats.entanglement, judgelab.ensembles).

Each function returns a matplotlib Figure; notebooks display and save it with
``judgelab.report.show``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.plots.labels import family_palette, short_label
from judgelab.plots.style import figsize, paper_figure, wrap

__all__ = ["agreement_heatmap", "within_vs_across", "ensemble_comparison"]


@paper_figure
def agreement_heatmap(matrix: pd.DataFrame, families: list, title: str = "pairwise Cohen's kappa"):
    """Judges x judges heatmap (e.g. :func:`judgelab.stats.judge_pairs.kappa_matrix`),
    ordered by family, with family blocks outlined: entanglement shows as bright blocks
    on the diagonal. ``families`` is the family of each row, in the matrix's order."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fam = [str(f) for f in families]
    order = sorted(range(len(fam)), key=lambda i: (fam[i], str(matrix.index[i])))
    M = matrix.iloc[order, order]
    fam = [fam[i] for i in order]
    labels = [short_label(j, list(M.index)) for j in M.index]
    n = len(labels)
    fig, ax = plt.subplots(figsize=figsize(0.45 * n + 1.8))
    mask = np.eye(n, dtype=bool)
    sns.heatmap(
        M.to_numpy(dtype=float),
        mask=mask,
        annot=n <= 14,
        fmt=".2f",
        cmap="viridis",
        xticklabels=labels,
        yticklabels=labels,
        cbar_kws={"label": title},
        ax=ax,
        square=True,
    )
    # outline each family's block
    start = 0
    for k in range(1, n + 1):
        if k == n or fam[k] != fam[start]:
            ax.add_patch(
                plt.Rectangle((start, start), k - start, k - start, fill=False, ec="white", lw=2.5)
            )
            start = k
    pal = family_palette(fam)
    for t, f in zip(ax.get_yticklabels(), fam, strict=True):
        t.set_color(pal[f])
    for t, f in zip(ax.get_xticklabels(), fam, strict=True):
        t.set_color(pal[f])
    ax.set_title(wrap(f"{title} (ordered by family; white boxes = same family)", 60))
    return fig


def _val(x):
    return np.nan if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


@paper_figure
def within_vs_across(findings: pd.DataFrame):
    """Two panels: agreement (alpha) and error correlation (phi), each within every family,
    within pooled, across families and the gap, with item-cluster bootstrap CIs."""
    import matplotlib.pyplot as plt

    panels = [
        ("alpha_within_family", "alpha_across_families", "alpha_gap", "Krippendorff alpha"),
        (
            "error_correlation_within",
            "error_correlation_across",
            "error_correlation_gap",
            "error correlation (phi)",
        ),
    ]
    fig, axes = plt.subplots(1, 2, figsize=figsize(3.0), sharey=False)
    for ax, (w_id, a_id, g_id, label) in zip(axes, panels, strict=True):
        rows = []
        f = findings
        for r in f[f["id"] == w_id].itertuples():
            s = r.slice if isinstance(r.slice, dict) else None
            rows.append(("within " + (s["family"] if s else "(all families)"), r, "within"))
        for r in f[f["id"] == a_id].itertuples():
            rows.append(("across families", r, "across"))
        for r in f[(f["id"] == g_id) & f["primary"].astype(bool)].itertuples():
            rows.append(("gap (within - across)", r, "gap"))
        colours = {"within": "#0173b2", "across": "#de8f05", "gap": "#029e73"}
        for k, (_name, r, kind) in enumerate(rows):
            est, lo, hi = _val(r.estimate), _val(r.ci_low), _val(r.ci_high)
            if not np.isnan(lo):
                ax.plot([lo, hi], [k, k], color=colours[kind], lw=3, alpha=0.8)
            if not np.isnan(est):
                ax.plot(est, k, "o", color=colours[kind], ms=8)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.invert_yaxis()
        ax.axvline(0, color="grey", lw=1, ls=":")
        ax.set_xlabel(wrap(f"{label} (95% cluster-bootstrap CI)", 40))
        ax.set_title(label)
    return fig


@paper_figure
def ensemble_comparison(findings: pd.DataFrame, agreement: pd.DataFrame | None = None):
    """Ensemble accuracy against the reference (with CIs) and, beside it, each ensemble's
    inter-judge kappa next to its kappa with humans: high inter-judge agreement with low
    human agreement is consistency without validity."""
    import matplotlib.pyplot as plt

    f = findings[findings["id"] == "ensemble_accuracy"].copy()
    f["name"] = [s["ensemble"] if isinstance(s, dict) else "?" for s in f["slice"]]
    f = f[f["estimate"].notna()]
    ncols = 2 if agreement is not None and len(agreement) else 1
    fig, axes = plt.subplots(
        ncols, 1, figsize=figsize(ncols * (0.25 * max(len(f), 3) + 1.3)), squeeze=False
    )
    ax = axes[0, 0]
    for k, r in enumerate(f.itertuples()):
        c = (
            "#029e73"
            if r.name.startswith("cross")
            else ("#d55e00" if r.name.startswith("same") else "#0173b2")
        )
        if pd.notna(r.ci_low):
            ax.plot([r.ci_low, r.ci_high], [k, k], color=c, lw=3, alpha=0.8)
        ax.plot(r.estimate, k, "o", color=c, ms=8)
    ax.set_yticks(range(len(f)), [n if len(n) < 48 else n[:45] + "..." for n in f["name"]])
    ax.invert_yaxis()
    ax.set_xlabel("accuracy vs reference (95% cluster-bootstrap CI)")
    ax.set_title("ensemble accuracy")
    if ncols == 2:
        ax2 = axes[1, 0]
        a = agreement.dropna(subset=["inter_judge_kappa", "ensemble_vs_human_kappa"])
        y = np.arange(len(a))
        ax2.barh(
            y - 0.2,
            a["inter_judge_kappa"],
            height=0.4,
            label="judges with each other (mean kappa)",
            color="#949494",
        )
        ax2.barh(
            y + 0.2,
            a["ensemble_vs_human_kappa"],
            height=0.4,
            label="ensemble with humans (kappa)",
            color="#0173b2",
        )
        ax2.set_yticks(y, [n if len(n) < 48 else n[:45] + "..." for n in a["ensemble"]])
        ax2.invert_yaxis()
        ax2.set_xlabel("Cohen's kappa")
        ax2.set_title("inter-judge agreement vs agreement with humans")
        ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig
