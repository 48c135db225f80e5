"""What the calibration audit, the judge comparison and the family-entanglement study conclude,
in plain words, from their structured findings.

Two kinds of function, both declared by the study (:mod:`judgelab.study.builtin`):

- row renderers ``f(row) -> sentence`` (``Study.conclusions``), run by the save step on the
  adjusted rows: they word the structured answer of a row (the ``verdict`` of ``gate`` and
  ``accuracy_difference``) and the numbers it was read from;
- study summaries ``f(findings, labels) -> [Markdown items]`` (``Study.summary``): one or two
  sentences per judge for the report's "Conclusions", and ``f(findings, labels) -> [items]``
  (``Study.caveats``) for its "Caveats" (the generic caveats of every study, sample sizes,
  undefined findings and partial runs, come from :func:`judgelab.findings.caveats`).

The rules behind the answers live with their statistics: :func:`judgelab.stats.calibration.gate.stand_in_verdict`
and :func:`judgelab.stats.compare.replacement_verdict`. ``labels`` maps identity strings to the
short judge labels of the run (:func:`judgelab.identity.short_labels`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

__all__ = [
    "render_gate",
    "render_accuracy_difference",
    "calibration_audit_summary",
    "calibration_audit_caveats",
    "judge_comparison_summary",
    "judge_comparison_caveats",
    "family_entanglement_summary",
    "family_entanglement_caveats",
    "render_correction_shift",
    "corrected_estimate_summary",
    "corrected_estimate_caveats",
    "PANEL_LABEL",
]

#: How conclusions name the panel's majority vote (the audit's judge-less gate row).
PANEL_LABEL = "panel majority"


def _num(x) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _label(judge, labels: Mapping) -> str:
    return PANEL_LABEL if _missing(judge) else str(labels.get(judge, judge))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# ------------------------------------------------------------ calibration audit
def _gate_reason(row: Mapping) -> str:
    """Why the gate row's ``verdict`` is what it is, from the numbers it was read from."""
    verdict = row.get("verdict")
    k, lo, hi = (_num(row.get(c)) for c in ("kappa", "kappa_ci_low", "kappa_ci_high"))
    aag, aag_hi = _num(row.get("alternative_annotator_gap")), _num(row.get("aag_ci_high"))
    warn_bar = _num(row.get("warn_kappa"))
    pass_bar = _num(row.get("pass_kappa"))
    warn = row.get("required_level") == "warn"
    bar = warn_bar if warn else pass_bar
    level = "warn" if warn else "pass"
    if k is None:
        return str(row.get("reason") or "its agreement with the humans is undefined")
    ci = (
        f"kappa {k:.2f} (95% CI {lo:.2f} to {hi:.2f})" if None not in (lo, hi) else f"kappa {k:.2f}"
    )
    gap = (
        f"alternative-annotator gap {aag:+.3f}"
        if aag is not None
        else "no alternative-annotator gap"
    )
    if verdict == "stand_in":
        return f"its {ci} clears the {level} bar {bar:g} at the CI lower bound" + (
            f", and it is as good as a human annotator ({gap})" if warn else ""
        )
    if verdict == "cannot":
        if hi is not None and bar is not None and hi < bar:
            return f"even the CI upper bound of its {ci} lies below the {level} bar {bar:g}"
        return (
            f"it agrees with human raters less than they agree with each other ({gap}, "
            f"CI upper bound {aag_hi:+.3f})"
        )
    if lo is not None and bar is not None and lo < bar:
        return f"its {ci} spans the {level} bar {bar:g}"
    if warn and not row.get("as_good_as_human"):
        return f"it clears the warn bar but is not shown as good as a human annotator ({gap})"
    return f"its {ci} has no CI to establish the {level} bar with"


_STAND_IN_WORDS = {
    "stand_in": "can stand in for humans on this data",
    "cannot": "cannot stand in for humans on this data",
    "not_established": "not established whether it can stand in for humans on this data",
}


def _bar_line(gates: pd.DataFrame) -> list[str]:
    """Which bar the answers are read against, once for all judges (it depends on the humans'
    own agreement, the same for every judge of the run)."""
    warn = gates[gates.get("required_level", pd.Series(dtype=object)) == "warn"]
    if warn.empty:
        return []
    r = warn.iloc[0]
    hk, pb, wb = (_num(r.get(c)) for c in ("human_kappa", "pass_kappa", "warn_kappa"))
    if None in (hk, pb, wb):
        return []
    return [
        f"* The bar: humans agree with each other at kappa {hk:.2f}, below the gate's pass level "
        f"{pb:g}, which no single annotator clears here; so a judge stands in for humans when "
        f"its kappa clears warn ({wb:g}) at the CI lower bound and it is as good as a human "
        "annotator (alternative-annotator test)."
    ]


def render_gate(row: Mapping) -> str | None:
    """The ``gate`` row's conclusion: "can stand in / cannot / not established, because ..."
    (the ``verdict`` of :func:`judgelab.stats.calibration.gate.stand_in_verdict`) with the
    point-estimate gate beside it."""
    verdict = row.get("verdict")
    if verdict not in _STAND_IN_WORDS:
        return None
    text = f"{_cap(_STAND_IN_WORDS[verdict])}: {_gate_reason(row)}."
    if row.get("gate_label"):
        text += f" Gate on point estimates: {row['gate_label']}."
    return text


def _significant_bias(f: pd.DataFrame, judge, labels, alpha: float = 0.05) -> str:
    """The judge's primary signed-bias test in words when it is significant after Holm."""
    rows = f[(f["id"] == "signed_bias") & f["primary"].astype(bool)]
    rows = rows[rows["judge"] == judge] if not _missing(judge) else rows[rows["judge"].isna()]
    if rows.empty:
        return ""
    r = rows.iloc[0]
    p, est = _num(r.get("p_adjusted")), _num(r.get("estimate"))
    if p is None or est is None or p >= alpha:
        return ""
    fam = r["slice"].get("family") if isinstance(r.get("slice"), Mapping) else r.get("slice")
    way = "favours" if est > 0 else "disfavours"
    return (
        f" It {way} {fam}'s answers relative to the humans ({est:+.3f}, Holm-adjusted p = {p:.3g})."
    )


def calibration_audit_summary(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """One item per audited judge (and the panel majority): its stand-in answer and why, plus
    its primary signed-bias test when significant."""
    gates = f[f["id"] == "gate"]
    lines = _bar_line(gates)
    for r in gates.to_dict("records"):
        text = render_gate(r) or str(r.get("conclusion") or "")
        lines.append(
            f"* **{_label(r.get('judge'), labels)}**: {text}"
            + _significant_bias(f, r.get("judge"), labels)
        )
    return lines


def calibration_audit_caveats(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """The reference rule and its exclusions, the human ceiling, and the audit's method caveats."""
    out = []
    acc = f[(f["id"].isin(["accuracy", "weighted_kappa"])) & f["slice"].isna() & f["judge"].notna()]
    if len(acc):
        r = acc.iloc[0]
        ref = str(r.get("method") or "").split(";")[0].strip().removeprefix("vs ")
        excl = pd.to_numeric(acc["n_excluded"], errors="coerce")
        out.append(
            f"* Reference: {ref or 'the human majority'} of each pair (the gold label where the "
            f"dataset has one); per judge {int(excl.min()) if excl.notna().any() else 0}"
            f"–{int(excl.max()) if excl.notna().any() else 0} judged units were excluded "
            "(unparsed verdicts, pairs without a strict human majority). With three raters the "
            "majority is itself noisy, so a judge can exceed the human-human ceiling against it; "
            'the alternative-annotator gap is the fairer test of "as good as a human annotator".'
        )
    ceil = f[f["id"] == "human_ceiling"]
    if len(ceil) and _num(ceil.iloc[0].get("estimate")) is not None:
        c = ceil.iloc[0]
        out.append(
            f"* Human ceiling: two different humans agree on {float(c['estimate']):.1%} of "
            f"{int(c['n'])} units"
            + (f" ({int(c['n_items'])} items)" if _num(c.get("n_items")) is not None else "")
            + "; a bar above it is not one a human annotator could clear either."
        )
    out += [
        "* Kappa depends on the class balance; with few human ties the tie class dominates macro-F1.",
        "* Signed bias for pairs removes the judge's overall attenuation (one slope fitted on the "
        "within-family variation of the human win rates); a judge whose noise differs between "
        "families can still show a residual bias. For scores the bias is uncorrected. Family "
        "slices of pairs overlap (a pair belongs to both of its answers' families).",
        "* Separability uses percentile CIs of win rates; with fewer than 30 items it is not reported.",
    ]
    return out


# ------------------------------------------------------------ judge comparison
def _replacement(row: Mapping, source: str = "the source") -> str | None:
    """``can replace <source> at margin m: ...`` (lower case; the caller names the candidate)."""
    verdict = row.get("verdict")
    m = _num(row.get("margin"))
    if verdict is None or m is None:
        return None
    est, lo, hi = (_num(row.get(c)) for c in ("estimate", "ci_low", "ci_high"))
    if est is None:
        return (
            f"not established whether it can replace {source} at margin {m:g}: "
            f"{row.get('reason') or 'the accuracy difference is undefined'}"
        )
    diff = (
        f"accuracy {abs(est):.3f} {'higher' if est > 0 else 'lower'} than {source}'s"
        if est != 0
        else f"the same accuracy as {source}"
    )
    ci = f" (95% CI of the difference {lo:+.3f} to {hi:+.3f})" if None not in (lo, hi) else ""
    if verdict == "can_replace":
        return f"can replace {source} at margin {m:g}: {diff}{ci}, the whole CI above -{m:g}"
    if verdict == "cannot_replace":
        return f"cannot replace {source} at margin {m:g}: {diff}{ci}, the whole CI below -{m:g}"
    mde = _num(row.get("mde"))
    return (
        f"not established whether it can replace {source} at margin {m:g}: {diff}{ci}, "
        f"a CI that includes -{m:g}"
        + (f"; this data detects a difference of {mde:.3f} with 80% power" if mde else "")
    )


def render_accuracy_difference(row: Mapping) -> str | None:
    """The ``accuracy_difference`` row's conclusion: the candidate can / cannot replace the
    source at the margin (the ``verdict`` of :func:`judgelab.stats.compare.replacement_verdict`)."""
    text = _replacement(row)
    return None if text is None else _cap(text) + "."


def _costs(f: pd.DataFrame) -> dict:
    rows = f[(f["id"] == "cost_per_1k_usd") & f["judge"].notna()]
    return {j: _num(e) for j, e in zip(rows["judge"], rows["estimate"], strict=True)}


def _source_judges(f: pd.DataFrame) -> list[str]:
    """The source's identities: judges with a cost row and no candidate comparison."""
    cands = set(f.loc[f["id"] == "accuracy_difference", "judge"].dropna())
    return [j for j in _costs(f) if j not in cands]


def judge_comparison_summary(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """Per candidate: can / cannot replace the source at the margin, at what share of its cost;
    then what the cascade buys."""
    costs = _costs(f)
    sources = _source_judges(f)
    source = sources[0] if len(sources) == 1 else None
    src_name = _label(source, labels) if source else "the source"
    lines = []
    for r in f[f["id"] == "accuracy_difference"].to_dict("records"):
        text = _replacement(r, src_name)
        if text is None:
            continue
        c, s = costs.get(r["judge"]), costs.get(source)
        if c is not None and s:
            at = f"at margin {_num(r['margin']):g}"
            text = text.replace(at, f"{at}, at {c / s:.1%} of {src_name}'s cost", 1)
        lines.append(f"* **{_label(r['judge'], labels)}** {text}.")
    lines += _cascade_line(f, labels)
    return lines


def _cascade_line(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """The certified cascade at the loosest and the strictest alpha that keeps anything: what
    share of held-out pairs it decides without humans, and its measured agreement."""
    cov = f[(f["id"] == "certified_coverage") & f["judge"].isna()]
    agr = f[(f["id"] == "certified_agreement") & f["judge"].isna()]
    if cov.empty:
        return []
    alpha = lambda s: s.get("alpha") if isinstance(s, Mapping) else None  # noqa: E731
    a = {alpha(s): _num(e) for s, e in zip(agr["slice"], agr["estimate"], strict=True)}
    kept = sorted(
        (alpha(s), _num(e))
        for s, e in zip(cov["slice"], cov["estimate"], strict=True)
        if _num(e) and alpha(s) is not None
    )
    if not kept:
        return [
            "* The certified cascade keeps no pair at any alpha tried: every pair goes to "
            "humans (too few calibration pairs, or judges that disagree with humans too often)."
        ]
    out = []
    none = sorted(
        alpha(s)
        for s, e in zip(cov["slice"], cov["estimate"], strict=True)
        if not _num(e) and alpha(s) is not None
    )
    if none:
        out.append(
            f"* At alpha {', '.join(f'{x:g}' for x in none)} the cascade keeps no pair: every "
            "pair goes to humans (too few calibration pairs, or judges whose most confident "
            "pairs disagree with humans too often)."
        )
    for al, c in dict.fromkeys([kept[0], kept[-1]]):
        out.append(
            f"* Certified cascade at alpha {al:g}: it decides {c:.0%} of held-out pairs without "
            f"humans, with measured agreement {a.get(al, float('nan')):.3f} (guaranteed >= "
            f"{1 - al:.2f} with probability 1 - delta over calibration draws)."
        )
    return out


def judge_comparison_caveats(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """The reference of the accuracies, the source's make-up and how costs were counted."""
    out = []
    acc = f[f["id"] == "accuracy_vs_human"]
    meth = next((str(x) for x in acc["method"].dropna()), "")
    ref = next(
        (
            p.strip()[len("reference ") :]
            for p in meth.split(";")
            if p.strip().startswith("reference ")
        ),
        None,
    )
    if ref:
        excl = pd.to_numeric(acc["n_excluded"], errors="coerce").dropna()
        out.append(
            f"* Accuracy is measured against the {ref} of each pair; pairs without one are "
            "excluded and counted"
            + (f" ({int(excl.min())}–{int(excl.max())} units per judge)." if len(excl) else ".")
        )
    mixed = f[f["id"] == "mixed_identities"]
    if len(mixed) and (_num(mixed.iloc[0].get("estimate")) or 0) > 1:
        out.append(f"* {_cap(str(mixed.iloc[0]['conclusion']))}.")
    out += [
        "* Costs are the stored costs of the calls (tokens x price); cached calls count at their "
        "original cost. A cascade's cost counts the cheap judge on every pair and the ensemble "
        "on the pairs the cheap judge does not keep.",
        "* The certified cascade's guarantee is marginal over calibration draws: it holds for "
        "new pairs drawn like these, not per family of items nor under a shift of the data, "
        "and each alpha is a separate guarantee.",
        "* Every answer is per judge identity: the same model behind another prompt, parser or "
        "route is another judge and needs its own comparison.",
    ]
    return out


# ------------------------------------------------------------ family entanglement
def family_entanglement_summary(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """The three primary tests with their Holm-adjusted p, the effective number of independent
    judges, each judge's lone-dissent share (most frequent first) and what unanimity decides."""

    def row(fid, primary=True):
        r = f[(f["id"] == fid) & (f["primary"].astype(bool) == primary)]
        return r.iloc[0] if len(r) else None

    names = {
        "alpha_gap": "Agreement within vs across families",
        "error_correlation_gap": "Shared errors within vs across families",
        "ensemble_accuracy_difference": "Same- vs cross-family ensembles",
    }
    lines = []
    for fid, name in names.items():
        r = row(fid)
        if r is not None:
            padj = _num(r.get("p_adjusted"))
            lines.append(
                f"* **{name}**: {r['conclusion']}"
                + (f" (Holm-adjusted p = {padj:.3g})" if padj is not None else "")
            )
    r = row("effective_independent_judges", primary=False)
    if r is not None:
        lines.append(f"* **Effective independent judges**: {r['conclusion']}")
    out = f[f["id"] == "outlier_rate"].sort_values("estimate", ascending=False)
    if len(out) and _num(out.iloc[0]["estimate"]) is not None:
        # every judge named with its own number: the family answer concerns each of them
        shares = ", ".join(
            f"{_label(r['judge'], labels)} "
            + (f"{r['estimate']:.1%}" if _num(r["estimate"]) is not None else "n/a")
            for _, r in out.iterrows()
        )
        lines.append(
            f"* **Lone dissents per judge** (share of the units where the panel disagrees on "
            f"which the judge alone dissents): {shares}. The most frequent lone dissenter is "
            f"{_label(out.iloc[0]['judge'], labels)}."
        )
    cov = row("ensemble_coverage", primary=False)
    if cov is not None:
        lines.append(f"* **Unanimity**: {cov['conclusion']}")
    return lines


def family_entanglement_caveats(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """The reference of the error statistics and the design's limits."""
    return [
        "* The error statistics need a reference: the simulated truth where a dataset has one, "
        "else the human label on pairs where all raters agree, which leaves out exactly the hard "
        "pairs (error rates there are optimistic, error correlations may be understated).",
        "* Correlated errors across *all* judges (hard items) inflate both the within and the "
        "across correlation; only the gap isolates what a family shares.",
        "* With few judges per family the family-label permutation test is coarse (its smallest "
        "p-value is 1 / number of distinct assignments); the bootstrap CI treats the judges as "
        "fixed and generalises over items, not over judges.",
        "* A judge that makes no errors on the shared units has an undefined error correlation; "
        "such pairs are excluded and counted (see `reason`).",
        "* The same-vs-cross ensemble comparison averages over all ensembles of each kind; with "
        "unequal families it also reflects which judges can be combined.",
    ]


# ------------------------------------------------------------ corrected estimate
_ESTIMATOR_NAMES = {
    "ppi_rate": "PPI++",
    "post_stratified_rate": "post-stratified",
    "rogan_gladen_rate": "Rogan-Gladen",
    "human_only_rate": "human-only",
}


def _target_words(row: Mapping) -> str:
    """``the pass rate``, ``gpt-4's win rate``, ``the pass rate of family f``."""
    rate = "win rate" if row.get("protocol") == "pairwise" else "pass rate"
    sl = row.get("slice")
    if not isinstance(sl, Mapping) or not sl:
        return f"the {rate}"
    ((k, v),) = sl.items()
    if k == "generator":
        return f"{v}'s {rate}"
    return f"the {rate} of {k} {v}"


def render_correction_shift(row: Mapping) -> str | None:
    """The ``correction_shift`` row's sentence: "correcting for the judge's errors moves the
    estimate by Δ (CI)", from the judge's naive rate to the primary corrected estimate."""
    d = _num(row.get("estimate"))
    if d is None:
        return None
    lo, hi = _num(row.get("ci_low")), _num(row.get("ci_high"))
    ci = f" (95% CI {lo:+.3f} to {hi:+.3f})" if None not in (lo, hi) else " (no CI: see reason)"
    naive, corr = _num(row.get("naive_estimate")), _num(row.get("corrected_estimate"))
    how = _ESTIMATOR_NAMES.get(str(row.get("estimator")), str(row.get("estimator")))
    text = f"For {_target_words(row)}, correcting for the judge's errors moves the estimate by {d:+.3f}{ci}"
    if naive is not None and corr is not None:
        text += f": from the judge's {naive:.3f} to {corr:.3f} ({how})"
    if None not in (lo, hi) and (lo > 0 or hi < 0):
        text += "; the judge's rate is off beyond noise"
    return text + "."


def _shift_rows(f: pd.DataFrame) -> pd.DataFrame:
    return f[(f["id"] == "correction_shift") & f["estimate"].notna()]


def corrected_estimate_summary(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """Per judge: the overall target's sentence (pass rates), else how far the correction moves
    the targets' win rates, how many beyond noise and the largest move."""
    lines = []
    shifts = _shift_rows(f)
    for judge, g in shifts.groupby("judge", sort=True):
        name = _label(judge, labels)
        overall = g[g["slice"].isna()]
        if len(overall):
            lines.append(f"* **{name}**: {render_correction_shift(overall.iloc[0].to_dict())}")
            continue
        est = pd.to_numeric(g["estimate"], errors="coerce")
        lo, hi = (pd.to_numeric(g[c], errors="coerce") for c in ("ci_low", "ci_high"))
        beyond = int(((lo > 0) | (hi < 0)).sum())
        top = g.loc[est.abs().idxmax()].to_dict()
        lines.append(
            f"* **{name}**: over {len(g)} targets correcting moves the estimate by {est.min():+.3f} "
            f"to {est.max():+.3f}; beyond noise (CI excludes 0) for {beyond} of {len(g)}. "
            f"Largest: {render_correction_shift(top)}"
        )
    undefined = f[(f["id"] == "correction_shift") & f["estimate"].isna()]
    if len(undefined):
        lines.append(
            f"* {len(undefined)} target(s) have no corrected estimate (too few labelled units "
            "of a class, or none): see the findings table's reasons."
        )
    return lines


def corrected_estimate_caveats(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """The estimators' assumptions, the check the data allows, ties and thresholds."""
    out = [
        "* **Estimand**: the rate the humans would give on the judged units (the human-label "
        "rate), not an oracle truth; the humans' own noise stays in it.",
        "* **Rogan-Gladen** assumes the judge's error rates (TPR, TNR) transport from the "
        "labelled to the judged units within each target; it is estimated within the target "
        "(pooled error rates are biased exactly when errors depend on the generator). A "
        "labelled set stratified by the human class is allowed; one stratified by the judge's "
        "verdict is not (then the post-stratified estimator is used).",
        "* **PPI++** assumes the labelled units are a random sample of the judged units (or "
        "have known inclusion weights); lambda is tuned for power and the effective number of "
        "human labels (`n_eff`) says what the judge's verdicts were worth.",
        "* **Intervals**: with several units per item the primary CI is an item-cluster "
        "bootstrap of the whole estimator; the closed forms (Wilson, Lee et al.'s adjusted "
        "Wald, PPI++ Wald) are in `iid_ci_low` / `iid_ci_high` and assume independent units.",
    ]
    gap = f[(f["id"] == "labelled_judge_rate_gap") & f["estimate"].notna()]
    lo, hi = (pd.to_numeric(gap[c], errors="coerce") for c in ("ci_low", "ci_high"))
    off = gap[(lo > 0) | (hi < 0)]
    if len(gap):
        strat = gap[gap.get("design", pd.Series(index=gap.index, dtype=object)) == "stratified"]
        out.append(
            "* **Assumption check** (judge pass rate on labelled minus unlabelled units, "
            f"`labelled_judge_rate_gap`): the CI excludes 0 for {len(off)} of {len(gap)} "
            "judge x target rows"
            + (
                ": there the labelled units are not a random sample of the judged ones and "
                "PPI++ / Rogan-Gladen rest on an assumption the data contradicts."
                if len(off) and not len(strat)
                else "; the labelled set is stratified by judge verdict by design."
                if len(strat)
                else ", consistent with a random labelled sample."
            )
        )
    else:
        out.append(
            "* **Assumption check**: not possible here (every judged unit is labelled, or none "
            "is unlabelled in a target): the human-only rate is then the answer and the "
            "corrections only show what the judge's errors would have cost."
        )
    naive = f[f["id"] == "naive_rate"]
    if "excluded" in naive.columns and naive["excluded"].notna().any():
        ex = naive.dropna(subset=["excluded"]).drop_duplicates("judge")
        jt = sum(int((e or {}).get("judge_tie_pairs", 0)) for e in ex["excluded"])
        ht = sum(int((e or {}).get("human_tie_pairs", 0)) for e in ex["excluded"])
        if jt or ht:
            out.append(
                f"* **Ties**: the win rates (naive, human-only, PPI++) are vote shares, a tie "
                f"counting one half. Rogan-Gladen needs binary verdicts: it drops {jt} judged "
                f"pairs the judge did not decide (a tie, or orders that disagree) and {ht} the "
                "humans tied, summed over judges, so it estimates the win rate among decided "
                "pairs (unlabelled pairs the humans would tie cannot be dropped)."
            )
    if (
        "threshold" in naive.columns
        and pd.to_numeric(naive["threshold"], errors="coerce").notna().any()
    ):
        thr = pd.to_numeric(naive["threshold"], errors="coerce").dropna().unique()
        out.append(
            f"* **Threshold**: a unit passes when its score is >= {', '.join(f'{t:g}' for t in thr)} "
            "(judge: mean of its repeats; humans: median over raters)."
        )
    return out
