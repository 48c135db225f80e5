"""Figure of the corrected-estimate study (judgelab.stats.corrected): the estimates of each
target side by side, one panel per judge."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from judgelab.plots.labels import short_label
from judgelab.plots.style import OKABE_ITO, figsize, paper_figure, wrap

__all__ = ["forest", "target_label", "MAX_JUDGES"]

#: Estimators drawn, top to bottom within a target: label, colour, marker.
_ESTIMATORS = {
    "naive_rate": ("judge (naive)", OKABE_ITO[7], "o"),
    "human_only_rate": ("humans only", OKABE_ITO[1], "s"),
    "rogan_gladen_rate": ("Rogan-Gladen", OKABE_ITO[0], "D"),
    "post_stratified_rate": ("post-stratified", OKABE_ITO[4], "v"),
    "ppi_rate": ("PPI++", OKABE_ITO[2], "^"),
}
#: Judges drawn at most (the first by name); findings.json and the table hold every judge.
MAX_JUDGES = 12
_COLS = 3


def target_label(sl) -> str:
    """A target's name: ``overall``, the generator, ``family: f`` or ``category: c``."""
    if not isinstance(sl, dict) or not sl:
        return "overall"
    ((k, v),) = sl.items()
    return str(v) if k == "generator" else f"{k}: {v}"


def _num(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


@paper_figure
def forest(findings: pd.DataFrame, quantity: str = "rate"):
    """Forest plot: per judge (panel) and target (row) the naive judge rate, the human-only
    rate, Rogan-Gladen (or post-stratified) and PPI++ with their 95% CIs; an estimate without
    a CI is drawn as its marker alone, an undefined one is left out (its reason is in the
    findings table). ``quantity`` names the rate on the x axis (``pass rate``, ``win rate``)."""
    import matplotlib.pyplot as plt

    f = findings[findings["id"].isin(list(_ESTIMATORS))].copy()
    judges = sorted(f["judge"].dropna().astype(str).unique())
    shown = judges[:MAX_JUDGES]
    f["target"] = f["slice"].map(target_label)
    targets = list(dict.fromkeys(f["target"]))
    defined = f["estimate"].notna()
    ids = [k for k in _ESTIMATORS if ((f["id"] == k) & defined).any()]
    ncol = min(_COLS, max(len(shown), 1))
    nrow = max(1, math.ceil(len(shown) / ncol))
    height = nrow * (0.17 * len(targets) * max(1, len(ids) / 3) + 0.55) + 0.9
    fig, axes = plt.subplots(
        nrow, ncol, figsize=figsize(height), sharex=True, sharey=True, squeeze=False
    )
    offsets = np.linspace(-0.3, 0.3, len(ids)) if len(ids) > 1 else np.zeros(1)
    y0 = {t: i for i, t in enumerate(targets)}
    for k, ax in enumerate(axes.flat):
        if k >= len(shown):
            ax.set_visible(False)
            continue
        g = f[f["judge"] == shown[k]]
        for off, fid in zip(offsets, ids, strict=True):
            label, colour, marker = _ESTIMATORS[fid]
            for r in g[g["id"] == fid].itertuples():
                est, lo, hi = _num(r.estimate), _num(r.ci_low), _num(r.ci_high)
                if math.isnan(est):
                    continue
                y = y0[r.target] + off
                if not (math.isnan(lo) or math.isnan(hi)):
                    ax.plot([lo, hi], [y, y], color=colour, lw=1.2)
                ax.plot(est, y, marker, color=colour, ms=3.5)
        ax.set_title(short_label(shown[k], judges))
        ax.set_xlim(-0.02, 1.02)
        ax.axvline(0.5, color="grey", lw=0.6, ls=":")
        ax.grid(axis="x", alpha=0.3)
        if k % ncol == 0:
            ax.set_yticks(range(len(targets)), [wrap(t, 28) for t in targets])
        if k // ncol == nrow - 1 or k + ncol >= len(shown):
            ax.set_xlabel(quantity)
            ax.tick_params(labelbottom=True)
    axes[0, 0].invert_yaxis()
    handles = [
        plt.Line2D(
            [],
            [],
            color=_ESTIMATORS[k][1],
            marker=_ESTIMATORS[k][2],
            ls="-",
            label=_ESTIMATORS[k][0],
        )
        for k in ids
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    more = f" (first {len(shown)} of {len(judges)} judges)" if len(judges) > len(shown) else ""
    fig.suptitle(wrap(f"Estimates of the human {quantity} per target, 95% CI{more}", 90))
    return fig
