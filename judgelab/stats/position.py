"""Position bias: does a pairwise verdict depend on which answer is shown first?

Definitions follow docs/statistics.md#position-bias (after Shi et al. 2024, *Judging the
Judges: A Systematic Investigation of Position Bias in Pairwise Comparative
Assessments by LLMs*; code: Slimshilin/Position-Bias-Analyzer).

Each pair judged in both orders is classified by its displayed choices (A = first slot,
B = second slot, C = tie) in order ``ab`` then ``ba``:

* consistent = {AB, BA, CC} (the same response wins, or a tie both times);
* primacy    = {AA, AC, CA} (the first slot wins at least once, never the second);
* recency    = {BB, BC, CB}.

With repeats (``sample`` > 0) the repeats are averaged within (pair, order) first:
with p_o(c) the share of parsed repeats of order o that chose c, a pair contributes the
fractional counts ``w_consistent = p_ab(A) p_ba(B) + p_ab(B) p_ba(A) + p_ab(C) p_ba(C)``
and likewise for primacy and recency (the three sum to 1; with one repeat they are the
0/1 classification above).

Statistics per judge identity (model | backend | judge_version):

* ``position_consistency`` PC = n_cons / (n_cons + n_pri + n_rec);
* ``first_slot_share`` = n_pri / (n_pri + n_rec) (**primary**: H0 = 0.5, item-level
  sign-flip permutation of the per-item (primacy - recency) counts);
* ``preference_fairness`` = (n_rec - n_pri) / (n_cons + n_pri + n_rec)
  = (1 - PC)(1 - 2 first_slot_share) (pooled; Shi et al.'s code averages per model
  and task, which differs);
* ``repetition_stability`` = mean over (pair, order) with r >= 2 parsed repeats of
  sum_c n_c (n_c - 1) / (r (r - 1)): the chance that two repeats agree;
* ``flip_vs_gap_slope``: logistic GEE (independence working correlation, clustered by item) of
  "inconsistent" on the pair's absolute quality gap.

CIs come from an item-cluster bootstrap (judgelab.stats.resampling.cluster_bootstrap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.intervals import edge_share_interval
from judgelab.stats.multitest import ALPHA
from judgelab.stats.position_gap import _gee_fit, flip_vs_gap, flip_vs_gap_curves, pair_quality_gap
from judgelab.stats.position_pairs import (
    _classify_calls,
    _judge_counts,
    _JudgeCounts,
    _pairwise_calls,
    _pairwise_mask,
    classify_pairs,
    position_consistency,
    position_counts,
)
from judgelab.stats.power import minimum_detectable_effect
from judgelab.stats.resampling import cluster_bootstrap, sign_flip_test
from judgelab.stats.units import require_display_orders

__all__ = [
    "classify_pairs",
    "position_counts",
    "position_consistency",
    "pair_quality_gap",
    "flip_vs_gap",
    "flip_vs_gap_curves",
    "position_findings",
    "first_slot_share_conclusion",
    "POSITION_IDS",
]

POSITION_IDS = (
    "position_consistency",
    "first_slot_share",
    "preference_fairness",
    "repetition_stability",
    "flip_vs_gap_slope",
)

_MIN_ITEMS_FOR_CI = 30


def _ratio(num_idx, den_idx, sign=None):
    """statistic over (m, 3) totals [cons, pri, rec] -> (m,) ratio; nan where den = 0."""

    def f(t):
        t = np.atleast_2d(t)
        num = (
            t[:, num_idx].sum(axis=1)
            if sign is None
            else (t[:, num_idx] * np.asarray(sign)).sum(axis=1)
        )
        den = t[:, den_idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    return f


_PC = _ratio([0], [0, 1, 2])
_FSS = _ratio([1], [1, 2])
_FAIR = _ratio([2, 1], [0, 1, 2], sign=[1, -1])


def _boot(per_item, stat, n_boot, seed, ci_level):
    # each judge's statistics draw from seeds of their own, once: the weights are not kept
    return cluster_bootstrap(
        per_item,
        stat,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method="percentile",
        keep_weights=False,
    )


def _ci(res, n_items):
    """(ci_low, ci_high, reason) honouring docs/statistics.md's degenerate-case rule."""
    if n_items < _MIN_ITEMS_FOR_CI:
        return None, None, f"CI withheld: only {n_items} items (< {_MIN_ITEMS_FOR_CI})"
    if getattr(res, "reason", None):
        return None, None, res.reason
    if res.n_degenerate and res.n_degenerate > 0.01 * res.n_boot:
        return (
            None,
            None,
            f"CI withheld: statistic undefined in {res.n_degenerate} of {res.n_boot} resamples (> 1%)",
        )
    return res.ci_low, res.ci_high, None


def _share_ci(res, k, n, n_items, ci_level):
    """(ci_low, ci_high, reason, CI method or None) of a share: Clopper-Pearson on item-level
    counts at the edges or with few contributing items (judgelab.stats.intervals, the rule's one
    home; its method text returned), else the item-cluster bootstrap under :func:`_ci`'s rule
    (None: the caller's own method text names it)."""
    edge = edge_share_interval(k, n, ci_level)
    if edge is not None:
        return edge.ci_low, edge.ci_high, None, edge.method
    return (*_ci(res, n_items), None)


def _fmt(x, nd=2):
    return "NA" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def _bootstrap_design_effect(boot, n: float) -> float:
    """Item-cluster bootstrap variance of a share over its binomial variance p(1-p)/n, at
    least 1: the factor by which correlated pairs of one item shrink the effective n."""
    if boot is None or boot.estimate is None:
        return 1.0
    d = np.asarray(boot.distribution, dtype=float)
    d = d[np.isfinite(d)]
    p = float(boot.estimate)
    binom = p * (1 - p) / n
    if d.size > 1 and binom > 0:
        return max(1.0, float(np.var(d, ddof=1)) / binom)
    return 1.0


# ------------------------------------------------------------ one function per finding id
def _not_estimable_rows(judge: str, n_excluded: int, info: dict) -> list[dict]:
    """Every finding id of a judge without a pair parsed in both orders."""
    return [
        finding(
            fid,
            None,
            judge=judge,
            n=0,
            n_excluded=n_excluded,
            reason="no pair with both orders parsed",
            primary=fid == "first_slot_share",
            conclusion="Not estimable: no pair was judged and parsed in both orders.",
            **info,
        )
        for fid in POSITION_IDS
    ]


def _position_consistency_row(jc: _JudgeCounts, n_boot, seed, ci_level, info) -> dict:
    c, p, r = (float(x) for x in jc.per_item.sum(axis=0))
    res = _boot(jc.per_item, _PC, n_boot, seed, ci_level)
    lo, hi, why, method = _share_ci(
        res,
        jc.per_item[:, 0],
        jc.per_item.sum(axis=1),
        len(jc.items),
        ci_level,
    )
    pc = c / (c + p + r)
    return finding(
        "position_consistency",
        pc,
        judge=jc.judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method="n_consistent / n_pairs over pairs with both orders parsed; "
        + (method or f"item-cluster percentile bootstrap (B={n_boot})"),
        n=jc.n_pairs,
        n_excluded=jc.n_excluded,
        reason=why,
        conclusion=f"The verdict stays the same when the answers are swapped in {100 * pc:.0f}% of pairs"
        + (f" (95% CI {100 * lo:.0f}-{100 * hi:.0f}%)." if lo is not None else "."),
        consistent=c,
        primacy=p,
        recency=r,
        **info,
    )


def _first_slot_share_row(jc: _JudgeCounts, n_boot, n_perm, seed, ci_level, alpha, info) -> dict:
    """The primary finding: bootstrap CI (stream ``seed``), sign-flip test (``seed + 1``)
    and the minimum detectable |share - 0.5| (80% power) with the pairs divided by the
    bootstrap design effect, since pairs of one item are correlated."""
    c, p, r = (float(x) for x in jc.per_item.sum(axis=0))
    n_inc = p + r
    if n_inc <= 0:
        return finding(
            "first_slot_share",
            None,
            judge=jc.judge,
            primary=True,
            n=0,
            n_excluded=jc.n_excluded,
            method="sign-flip permutation of per-item (primacy - recency)",
            reason="no pair is order-inconsistent: the first-slot share is undefined",
            conclusion="No order-inconsistent pair, so there is no position preference to measure.",
            consistent=c,
            primacy=p,
            recency=r,
            **info,
        )
    res = _boot(jc.per_item, _FSS, n_boot, seed, ci_level)
    lo, hi, why, ci_method = _share_ci(
        res,
        jc.per_item[:, 1],
        jc.per_item[:, 1] + jc.per_item[:, 2],
        len(jc.items),
        ci_level,
    )
    diff = jc.per_item[:, 1] - jc.per_item[:, 2]
    stat, pval = sign_flip_test(diff, n_perm=n_perm, seed=seed + 1)
    mde = minimum_detectable_effect(
        n=n_inc,
        p0=0.5,
        alpha=alpha,
        power=0.8,
        design_effect=_bootstrap_design_effect(res, n_inc),
    )
    return finding(
        "first_slot_share",
        p / n_inc,
        judge=jc.judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=f"n_primacy / (n_primacy + n_recency); H0 = 0.5 by item-level sign-flip permutation of (primacy - recency) counts (B={n_perm}); "
        + (ci_method or f"item-cluster percentile bootstrap CI (B={n_boot})"),
        statistic=stat,
        p_value=pval,
        primary=True,
        n=int(round(n_inc)),
        n_excluded=jc.n_excluded,
        reason=why,
        mde=float(mde) if np.isfinite(mde) else None,
        consistent=c,
        primacy=p,
        recency=r,
        **info,
    )


def _preference_fairness_row(jc: _JudgeCounts, n_boot, seed, ci_level, info) -> dict:
    c, p, r = (float(x) for x in jc.per_item.sum(axis=0))
    res = _boot(jc.per_item, _FAIR, n_boot, seed, ci_level)
    lo, hi, why = _ci(res, len(jc.items))
    fair = (r - p) / (c + p + r)
    return finding(
        "preference_fairness",
        fair,
        judge=jc.judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method="(n_recency - n_primacy) / n_pairs, pooled over all pairs (Shi et al.'s code averages per model and task, which differs); descriptive, no test; item-cluster percentile bootstrap CI",
        n=jc.n_pairs,
        n_excluded=jc.n_excluded,
        reason=why,
        conclusion=(
            "Balanced: no net lean to either slot."
            if abs(fair) < 0.02
            else f"Net lean to the {'second' if fair > 0 else 'first'} slot of {abs(fair):.2f} (share of pairs, recency minus primacy)."
        ),
        **info,
    )


def position_findings(
    verdicts: pd.DataFrame,
    dataset=None,
    *,
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
    alpha: float = ALPHA,
    progress: bool = False,
    classified: pd.DataFrame | None = None,
    flip_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The position-bias findings frame (one row per judge identity and finding id), not
    yet adjusted for multiple testing.

    ``dataset`` supplies human scores / preferences for ``flip_vs_gap_slope``. The primary
    test per judge is ``first_slot_share`` (H0 = 0.5, item-level sign-flip permutation with
    ``n_perm`` permutations); its minimum detectable effect (column ``mde``, 80% power at
    ``alpha``) is on every estimable primary row. The save step
    (:func:`judgelab.findings.save_findings`, or :func:`judgelab.findings.adjust` then
    :func:`judgelab.findings.render_conclusions`) Holm-adjusts the primary p-values across
    judges once, keeps ``mde`` only beside a non-significant one and writes the first-slot
    conclusion from the adjusted p-value (:func:`first_slot_share_conclusion`). Extra
    columns: ``primacy``, ``recency``, ``consistent`` counts on the primary rows for the
    figures. ``classified`` (:func:`classify_pairs` of ``verdicts``) may be passed when the
    caller has it (the notebook's table and figures read the same), so that the pairs are
    not classified twice; likewise ``flip_table`` (:func:`flip_vs_gap` of ``verdicts``,
    ``dataset`` and those pairs), which the notebook's flip-vs-gap figure also reads."""
    # verdicts without a display order are excluded pair by pair, but none at all is a dataset
    # this study cannot read: one message, not a table of "not estimable" rows
    if classified is None:
        calls = _pairwise_calls(verdicts)
        require_display_orders(calls["order"], "position bias", every_row=False)
        classified = _classify_calls(calls)
    else:
        # the calls were checked when they were classified; they are read again only for
        # repetition stability, and only when some (pair, order) was judged twice
        calls = None
        orders = verdicts["order"][_pairwise_mask(verdicts)] if len(verdicts) else []
        require_display_orders(orders, "position bias", every_row=False)
    counts = _judge_counts(classified)
    n_ab, n_ba = classified["n_ab"].to_numpy(), classified["n_ba"].to_numpy()
    fg = flip_vs_gap(verdicts, dataset, classified) if flip_table is None else flip_table
    gap_method, gap_reason = fg.attrs.get("method"), fg.attrs.get("reason")
    rows: list[dict] = []
    it = counts.items()
    if progress:
        # tqdm's plain text bar: it renders in JupyterLab and a terminal alike, where tqdm.auto
        # needs ipywidgets (not a dependency) and prints 'IProgress not found' without it
        from tqdm.std import tqdm

        it = tqdm(list(it), desc="position bias")
    for k, (judge, jc) in enumerate(it):
        s = seed + 7919 * k  # a distinct, reproducible stream per judge
        ex = jc.n_excluded
        info = {"judge_family": jc.info.get("judge_family"), "model": jc.info.get("model")}
        if jc.n_pairs == 0:
            rows += _not_estimable_rows(judge, ex, info)
            continue
        rows.append(_position_consistency_row(jc, n_boot, s, ci_level, info))
        rows.append(_first_slot_share_row(jc, n_boot, n_perm, s + 1, ci_level, alpha, info))
        rows.append(_preference_fairness_row(jc, n_boot, s + 3, ci_level, info))
        mine = (classified["judge"] == judge).to_numpy()
        repeated = bool(np.any(np.maximum(n_ab[mine], n_ba[mine]) >= 2))
        if repeated and calls is None:
            calls = _pairwise_calls(verdicts)
        parsed = bool(n_ab[mine].sum() + n_ba[mine].sum() > 0)
        rows.append(_repetition_row(calls, judge, n_boot, s + 4, ci_level, info, repeated, parsed))
        rows.append(
            _slope_row(fg[fg["judge"] == judge], judge, gap_method, gap_reason, ci_level, ex, info)
        )
    return findings_frame(rows)


def first_slot_share_conclusion(row) -> str | None:
    """The conclusion of a ``first_slot_share`` row from its adjusted p-value (a finding row
    after :func:`judgelab.findings.adjust`; the study's renderer, run by the save step).
    None for a row without an estimate: it keeps the reason it was written with."""
    if row["estimate"] is None:
        return None
    return _conclude(row, ALPHA)


def _p_of(r):
    p = r.get("p_adjusted")
    if p is None or p != p:
        p = r.get("p_value")
    return None if p is None or p != p else float(p)


def _conclude(r, alpha) -> str:
    p = _p_of(r)
    est = r["estimate"]
    lo, hi = r["ci_low"], r["ci_high"]
    ci = f" (95% CI {_fmt(lo)}-{_fmt(hi)})" if lo is not None and lo == lo else ""
    n = r["n"]
    if p is not None and p < alpha:
        slot = "first (primacy)" if est > 0.5 else "second (recency)"
        return f"Position bias: when its verdict flips with the order, this judge favours the {slot} slot in {100 * est:.0f}% of the {n} inconsistent pairs{ci}; Holm-adjusted p = {p:.3g}."
    mde = r.get("mde")
    mde_s = (
        f"; with {n} inconsistent pairs only a share beyond 0.5 ± {mde:.2f} would be detected with 80% power"
        if mde is not None and mde == mde
        else ""
    )
    return f"No significant slot preference among the {n} inconsistent pairs (first-slot share {est:.2f}{ci}, Holm-adjusted p = {_fmt(p, 3)}){mde_s}."


def _single_repeat_row(fid, judge, method, info) -> dict:
    return finding(
        fid,
        None,
        judge=judge,
        method=method,
        n=0,
        reason="fewer than 2 repeats per (pair, order): run with repeats >= 2",
        conclusion="Not measured: each pair and order was judged once.",
        **info,
    )


def _repetition_row(calls, judge, n_boot, seed, ci_level, info, repeated, parsed) -> dict:
    """``repeated``: some (pair, order) of the judge has r >= 2 parsed verdicts; ``parsed``:
    the judge has a parsed verdict with a display order (the classified pairs' n_ab / n_ba
    say both without a pivot, or a pass, of the judge's calls, which are read only when
    ``repeated``)."""
    fid = "repetition_stability"
    method = "mean over (pair, order) with r >= 2 parsed repeats of sum_c n_c (n_c - 1) / (r (r - 1)); item-cluster percentile bootstrap CI"
    if not parsed:
        return finding(
            fid, None, judge=judge, method=method, n=0, reason="no parsed verdicts", **info
        )
    if not repeated:
        return _single_repeat_row(fid, judge, method, info)
    v = calls[(calls["judge"] == judge) & calls["c"].notna()]
    cnt = v.assign(one=1).pivot_table(
        index=["item_id", "response_a", "response_b", "order"],
        columns="c",
        values="one",
        aggfunc="sum",
        fill_value=0,
    )
    nc = cnt.to_numpy(dtype=float)
    r = nc.sum(axis=1)
    keep = r >= 2
    if not keep.any():
        return _single_repeat_row(fid, judge, method, info)
    stab = (nc * (nc - 1)).sum(axis=1)[keep] / (r[keep] * (r[keep] - 1))
    items = cnt.index.get_level_values("item_id")[keep]
    per = (
        pd.DataFrame({"item": items, "s": stab, "n": 1.0})
        .groupby("item")[["s", "n"]]
        .sum()
        .to_numpy()
    )
    res = _boot(
        per, lambda t: np.atleast_2d(t)[:, 0] / np.atleast_2d(t)[:, 1], n_boot, seed, ci_level
    )
    lo, hi, why = _ci(res, len(per))
    est = float(stab.mean())
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        n=int(keep.sum()),
        n_excluded=int((~keep).sum()),
        reason=why,
        conclusion=f"Two repeats of the same prompt agree {100 * est:.0f}% of the time.",
        **info,
    )


def _slope_row(fg, judge, gap_method, gap_reason, ci_level, n_excluded, info) -> dict:
    from scipy.stats import norm

    fid = "flip_vs_gap_slope"
    if gap_method is None:
        return finding(
            fid,
            None,
            judge=judge,
            reason=gap_reason,
            n=0,
            n_excluded=n_excluded,
            conclusion="Not estimated: no human quality information.",
            **info,
        )
    g = fg[fg["gap"].notna()]
    ex = n_excluded + int(fg["gap"].isna().sum())
    method = f"logistic GEE (independence working correlation, clustered by item, bias-reduced sandwich SE) of order-inconsistent on the quality gap = {gap_method}; slope in log-odds per unit gap; exploratory"
    if len(g) < 10 or g["gap"].nunique() < 2 or g["inconsistent"].nunique() < 2:
        return finding(
            fid,
            None,
            judge=judge,
            method=method,
            n=len(g),
            n_excluded=ex,
            reason="too few pairs with a quality gap, or no variation in the gap or in consistency",
            conclusion="Not estimated on this data.",
            **info,
        )
    try:
        params, cov = _gee_fit(g["inconsistent"], g["gap"], g["item_id"])
    except Exception as exc:  # separation, non-convergence: undefined, not an error
        return finding(
            fid,
            None,
            judge=judge,
            method=method,
            n=len(g),
            n_excluded=ex,
            reason=f"GEE fit failed: {exc}",
            **info,
        )
    b, se = params[1], float(np.sqrt(cov[1, 1]))
    z = norm.ppf(0.5 + ci_level / 2)
    zstat = b / se if se > 0 else np.nan
    p = float(2 * norm.sf(abs(zstat))) if np.isfinite(zstat) else None
    concl = (
        f"Flips {'become rarer' if b < 0 else 'become more frequent'} as the quality gap grows (odds x{np.exp(b):.2f} per unit gap)."
        if p is not None and p < 0.05
        else "No clear relation between the quality gap and order flips on this data."
    )
    n_items = g["item_id"].nunique()
    lo, hi = (b - z * se, b + z * se) if n_items >= _MIN_ITEMS_FOR_CI else (None, None)
    return finding(
        fid,
        b,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        statistic=zstat,
        p_value=p,
        n=len(g),
        n_excluded=ex,
        reason=None if lo is not None else f"CI withheld: only {n_items} items",
        conclusion=concl,
        intercept=params[0],
        **info,
    )
