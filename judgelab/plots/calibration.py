"""Figures of the calibration audit (judgelab.stats.calibration). Each function returns a
matplotlib Figure; notebooks display and save it with ``judgelab.report.show``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from judgelab.plots.labels import short_label as _short_label
from judgelab.plots.style import OKABE_ITO, figsize, paper_figure, wrap

__all__ = [
    "short_label",
    "agreement_vs_ceiling",
    "signed_bias_plot",
    "confusion_heatmap",
    "ranking_plot",
]


#: Label of the audit's ensemble rows (no judge identity).
ENSEMBLE_LABEL = "majority (ensemble)"


def short_label(judge, all_judges=None) -> str:
    """:func:`judgelab.plots.labels.short_label`; ``None`` (the ensemble) -> ``majority``."""
    return _short_label(judge, all_judges, missing=ENSEMBLE_LABEL)


def _overall(findings: pd.DataFrame, fid: str) -> pd.DataFrame:
    f = findings[findings["id"] == fid]
    keep = [
        s is None
        or (isinstance(s, dict) and "ensemble" in s)
        or (isinstance(s, float) and np.isnan(s))
        for s in f["slice"]
    ]
    f = f[np.asarray(keep, bool)].copy()
    f["label"] = [short_label(j, findings["judge"].dropna().unique()) for j in f["judge"]]
    return f


def _err(f: pd.DataFrame):
    est = pd.to_numeric(f["estimate"], errors="coerce").to_numpy(float)
    lo = pd.to_numeric(f["ci_low"], errors="coerce").to_numpy(float)
    hi = pd.to_numeric(f["ci_high"], errors="coerce").to_numpy(float)
    lo, hi = np.where(np.isnan(lo), est, lo), np.where(np.isnan(hi), est, hi)
    return est, np.vstack([est - lo, hi - est])


@paper_figure
def agreement_vs_ceiling(
    findings: pd.DataFrame, protocol: str = "pairwise", thresholds: dict | None = None
):
    """Left: each judge's agreement with individual human votes beside the human-human
    ceiling band (the same pooled statistic, Zheng et al. 2023). Right: each judge's kappa
    (Cohen's for pairwise, quadratic-weighted for scores) against the human reference with
    95% CIs, the gate thresholds (dashed) and the human-human kappa band."""
    import matplotlib.pyplot as plt

    from judgelab.stats.calibration import DEFAULT_GATE

    th = {**DEFAULT_GATE, **(thresholds or {})}
    kid = "weighted_kappa" if protocol == "single" else "cohen_kappa"
    hv = _overall(findings, "human_vote_agreement")
    kp = _overall(findings, kid)
    ceil = findings[findings["id"] == "human_ceiling"]
    fig, axes = plt.subplots(
        1, 2, figsize=figsize(0.22 * max(len(kp), len(hv), 3) + 1.9), sharey=False
    )
    for ax, f, title in (
        (axes[0], hv, "agreement with individual human votes"),
        (axes[1], kp, f"{kid.replace('_', ' ')} vs human reference"),
    ):
        if f.empty:
            ax.set_visible(False)
            continue
        f = f.sort_values("estimate", na_position="first")
        y = np.arange(len(f))
        est, err = _err(f)
        ax.errorbar(est, y, xerr=err, fmt="o", color="C0", capsize=3)
        ax.set_yticks(y, f["label"])
        ax.set_title(wrap(title, 45))
        if not ceil.empty:
            c = ceil.iloc[0]
            if ax is axes[0]:
                mid, lo, hi = c["estimate"], c["ci_low"], c["ci_high"]
                if (
                    protocol == "single"
                ):  # the ceiling's estimate is a kappa for scores; use its agreement
                    mid, lo, hi = (
                        c.get("agreement"),
                        c.get("agreement_ci_low"),
                        c.get("agreement_ci_high"),
                    )
            else:
                mid, lo, hi = c.get("kappa"), c.get("kappa_ci_low"), c.get("kappa_ci_high")
            if mid is not None and not pd.isna(mid):
                if lo is not None and hi is not None and not pd.isna(lo) and not pd.isna(hi):
                    ax.axvspan(lo, hi, color="grey", alpha=0.25, label="human-human (95% CI)")
                ax.axvline(mid, color="grey", lw=1)
        if ax is axes[1]:
            ax.axvline(
                th["pass_kappa"], color="C2", ls="--", lw=1, label=f"pass {th['pass_kappa']}"
            )
            ax.axvline(
                th["warn_kappa"], color="C1", ls="--", lw=1, label=f"warn {th['warn_kappa']}"
            )
        if ax.get_legend_handles_labels()[0]:
            # below the axes: the bands and thresholds span the whole height of the data
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
        ax.grid(axis="x", alpha=0.3)
    return fig


@paper_figure
def signed_bias_plot(findings: pd.DataFrame):
    """Signed bias per candidate family (judge minus humans) with 95% CIs, one row per
    judge; the primary (largest |bias|) of each judge is a filled marker."""
    import matplotlib.pyplot as plt

    f = findings[findings["id"] == "signed_bias"].copy()
    f = f[f["estimate"].notna()]
    fig, ax = plt.subplots(figsize=figsize(0.3 * max(f["judge"].nunique(), 3) + 1.3))
    if f.empty:
        ax.text(0.5, 0.5, "no signed bias estimated", ha="center", transform=ax.transAxes)
        return fig
    f["label"] = [short_label(j, f["judge"].dropna().unique()) for j in f["judge"]]
    f["family"] = [s.get("family") if isinstance(s, dict) else None for s in f["slice"]]
    labels = sorted(f["label"].unique())
    fams = sorted(f["family"].dropna().unique())
    off = np.linspace(-0.25, 0.25, max(len(fams), 1))
    for k, fam in enumerate(fams):
        sub = f[f["family"] == fam]
        y = np.array([labels.index(lbl) for lbl in sub["label"]]) + off[k]
        est, err = _err(sub)
        prim = sub["primary"].fillna(False).astype(bool).to_numpy()
        ax.errorbar(est, y, xerr=err, fmt="none", ecolor=f"C{k}", capsize=2)
        ax.scatter(
            est[~prim], y[~prim], facecolors="white", edgecolors=f"C{k}", zorder=3, label=fam
        )
        ax.scatter(est[prim], y[prim], color=f"C{k}", zorder=3)
    ax.axvline(0, color="k", lw=1)
    ax.set_yticks(np.arange(len(labels)), labels)
    unit = "score points" if f["method"].astype(str).str.contains("score").any() else "win rate"
    ax.set_xlabel(f"judge minus humans ({unit}); filled = primary (largest |bias|)")
    ax.set_title("signed bias per candidate family")
    ax.legend(title="family", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig


@paper_figure
def confusion_heatmap(table: pd.DataFrame, title: str = "judge vs human reference"):
    """Row-normalised confusion table (rows: human reference, columns: judge) with counts."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = table.astype(float)
    share = t.div(t.sum(axis=1).replace(0, np.nan), axis=0)
    k = len(t)
    fig, ax = plt.subplots(figsize=figsize(min(2.0 + 0.3 * k, 9), single=True))
    annot = t.round(1).astype(str) if k <= 5 else False
    sns.heatmap(
        share,
        annot=annot,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        ax=ax,
        cbar_kws={"label": "share of row"},
    )
    ax.set_title(wrap(title, 40))
    return fig


@paper_figure
def ranking_plot(findings: pd.DataFrame, judge: str | None = None):
    """Generators' win rates (or mean scores) under each judge beside the humans', one row
    per generator (ordered by the humans' rate): a judge that ranks like the humans has its
    dots in the same order as the black bars. Judges are in the legend with their Kendall
    tau. Reads the ``judge_rates`` / ``human_rates`` columns of the ``ranking_kendall_tau``
    rows."""
    import matplotlib.pyplot as plt

    f = _overall(findings, "ranking_kendall_tau")
    # no ranking row carries rates when none was computable (e.g. a single generator)
    if "judge_rates" in f.columns and "human_rates" in f.columns:
        f = f[f["judge_rates"].notna() & f["human_rates"].notna()]
    else:
        f = f.iloc[0:0]
    if judge is not None:
        f = f[f["judge"] == judge]
    if f.empty:
        fig, ax = plt.subplots(figsize=figsize(1.5))
        ax.text(
            0.5,
            0.5,
            wrap(
                "no ranking computed (it needs two or more generators with judge and human rates)"
            ),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return fig
    hr = json.loads(f.iloc[0]["human_rates"])
    gens = sorted(hr, key=lambda g: (hr[g], g))
    fig, ax = plt.subplots(figsize=figsize(0.3 * len(gens) + 1.3))
    y = np.arange(len(gens))
    ax.scatter(
        [hr[g] for g in gens],
        y,
        marker="|",
        s=220,
        lw=2.5,
        color="black",
        zorder=4,
        label="humans",
    )
    # judges side by side within a generator's row (a dot per judge, never on top of another)
    off = np.linspace(-0.3, 0.3, len(f)) if len(f) > 1 else np.zeros(1)
    markers = "os^Dv<>P"
    for k, r in enumerate(f.itertuples(index=False)):
        jr = json.loads(r.judge_rates)
        tau = r.estimate
        ax.scatter(
            [jr.get(g, np.nan) for g in gens],
            y + off[k],
            s=14,
            color=OKABE_ITO[k % 7],
            marker=markers[(k // 7) % len(markers)],
            zorder=3,
            label=f"{r.label} (tau {tau:.2f})" if tau is not None and pd.notna(tau) else r.label,
        )
    ax.set_yticks(y, gens)
    ax.set_ylabel("generator (ordered by the humans' rate)")
    ax.set_xlabel("win rate or mean score (judges: dots; humans: bars)")
    ax.set_title("Generator win rates under each judge and under the humans")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig
