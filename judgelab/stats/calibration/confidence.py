"""Calibration of a judge's confidence against humans: ``confidence_ece`` and
``confidence_brier`` (docs/statistics.md#confidence-calibration).

For one judge: the per-unit confidence of its verdicts (:func:`judgelab.stats.confidence.
verdict_confidence`, source named in ``method`` and in ``confidence_source``), each unit
scored correct when its verdict equals the human reference of the pair
(:data:`~judgelab.stats.calibration.reference_agreement.AUDIT_REFERENCE`).

- ``confidence_ece``: plug-in ECE on equal-mass deciles with an item-cluster bootstrap CI;
  beside it the debiased ECE (Kumar et al. 2019), the plug-in ECE a perfectly calibrated judge
  with the same confidences would show (``ece_null``, its 95th percentile and the share of
  null draws at least as large as the observed ECE as ``ece_null_p``, outside the study's
  p-value family), AUROC, the reliability
  bins (accuracy per decile with bootstrap CIs, ``bins``) and, on a held-out half of the
  items, the ECE after recalibration (Platt below 500 units, isotonic above). A confidence
  with at most three levels (order agreement, small ensembles) gets a null ECE with the
  reason, and accuracy per level plus AUROC.
- ``confidence_brier``: mean 3-class Brier score of the judge's probability vector (logprob)
  or vote shares (other sources) against the humans' vote shares per pair, with the
  human-disagreement floor (``floor``) beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.calibration._common import Resampling, excluded_total, result_row
from judgelab.stats.calibration.ceiling import _vote_codes, table_keys, vote_keys
from judgelab.stats.calibration.confidence_metrics import (
    N_BINS,
    auroc,
    bin_edges,
    bin_index,
    brier_multiclass,
    debiased_ece_from_bins,
    disagreement_floor,
    ece,
    ece_from_bins,
    ece_null,
    fit_recalibration,
)
from judgelab.stats.calibration.reference_agreement import (
    AUDIT_REFERENCE,
    REFERENCE_NAMES,
    pair_reference,
)
from judgelab.stats.calibration.units import HumanData, JudgeUnits
from judgelab.stats.confidence import (
    ORDINAL_MAX_LEVELS,
    coded_verdict_confidence,
    default_source,
    n_levels,
)
from judgelab.stats.units import PairLabels, member_mask, pair_codes

__all__ = ["CONFIDENCE_IDS", "confidence_units", "confidence_calibration"]

CONFIDENCE_IDS = ("confidence_ece", "confidence_brier")
_PAIR = ["item_id", "lo", "hi"]


def _level(source: str, order_aggregation: str) -> str:
    if source == "order_agreement" or order_aggregation == "consistent_only":
        return "pair"
    return "call"


def confidence_units(
    verdicts: pd.DataFrame,
    humans: HumanData,
    source: str,
    *,
    order_aggregation: str = "per_call",
    tie_policy: str = "class",
    labels: PairLabels | None = None,
) -> tuple[pd.DataFrame, dict, str]:
    """One judge's confidence units joined to the human side: the
    :func:`~judgelab.stats.confidence.verdict_confidence` columns plus ``ref`` (the pair's
    reference label), ``correct`` (0/1) and ``h_lo, h_hi, h_tie`` (the humans' vote shares;
    nan without votes). ``labels``: the verdicts' pair labels if coded already. Returns
    (units, excluded counts, reference rule)."""
    level = _level(source, order_aggregation)
    conf, keys = coded_verdict_confidence(verdicts, source, level=level, labels=labels)
    n_all = len(conf)
    missing = conf["confidence"].isna()
    conf = conf[~missing]
    shares = _vote_shares(humans) if len(humans.votes) else None
    # the units' pairs and the human tables' as the human votes' pair codes, where they can
    # be (the units' text is not coded again; the human tables' once per audit); else the
    # units' pairs coded once (first-appearance codes: their first rows are the pairs, as
    # drop_duplicates keeps them) and the reference and the vote shares joined on them
    coded = _coded_tables(humans, tie_policy, shares, keys, ~missing.to_numpy())
    if coded is not None:
        code, (ref, rule), ref_code, share_code = coded
        pairs = None  # read only where a right side repeats a pair, which it does not here
    else:
        (code,) = pair_codes(conf)
        pairs = conf[_PAIR].iloc[np.unique(code, return_index=True)[1]]
        ref, _, rule = pair_reference(humans, pairs, AUDIT_REFERENCE, tie_policy)
        # the pairs get codes 0, 1, ... (one row per code, in code order), as the units' do
        _, ref_code, *share_code = pair_codes(pairs, ref, *([shares] if shares is not None else []))
    m, code = _joined(conf, code, ref[[*_PAIR, "ref"]], ref_code, "inner", pairs)
    if tie_policy == "drop":
        keep = (m["label"] != 2).to_numpy()
        m, code = m[keep], code[keep]
    m["correct"] = (m["label"].to_numpy() == m["ref"].to_numpy()).astype(float)
    if shares is not None:
        m, _ = _joined(m, code, shares, share_code[0], "left", pairs)
    else:
        m = m.assign(h_lo=np.nan, h_hi=np.nan, h_tie=np.nan)
    excluded = {
        "no_confidence": int(missing.sum()),
        "units_without_reference": int(n_all - missing.sum() - len(m)),
    }
    return m.reset_index(drop=True), excluded, rule


def _coded_tables(humans: HumanData, tie_policy: str, shares, keys, keep):
    """(the units' pair codes, (reference, rule), the reference's and the vote shares' codes)
    in the codes of the human votes (:func:`~judgelab.stats.calibration.ceiling.vote_keys`):
    the units' keys from their integer codes (``keys`` of
    :func:`~judgelab.stats.confidence.coded_verdict_confidence`, rows ``keep``), the human
    tables' coded once per audit. None (the caller codes the text) without such codes, for a
    reference not yet read from the votes or a table these codes do not fit."""
    memo_key = ("pair_reference", AUDIT_REFERENCE, tie_policy)
    hc = _vote_codes(humans, "class")
    if keys is None or hc is None or memo_key not in humans.memo:
        return None
    ref, _, rule = pair_reference(humans, None, AUDIT_REFERENCE, tie_policy)  # kept: read
    tables = [table_keys(humans, t) for t in [ref, *([] if shares is None else [shares])]]
    if rule == "truth" or any(t is None for t in tables):
        return None
    item_pos = hc["items"].get_indexer(keys["tables"]["item_id"])
    resp_pos = hc["resp"].get_indexer(keys["tables"]["lo"])  # lo and hi share one table
    # a response code -1 (a missing id) decodes as the last id, as Index.take reads it
    last = len(keys["tables"]["lo"]) - 1
    lo, hi = (np.where(keys[c] < 0, last, keys[c])[keep] for c in ("lo", "hi"))
    code = vote_keys(hc, item_pos[keys["item_id"][keep]], resp_pos[lo], resp_pos[hi])
    return code, (ref, rule), tables[0].to_numpy(), [t.to_numpy() for t in tables[1:]]


def _joined(left, code, right, right_code, how: str, pairs):
    """``left.merge(right, on=_PAIR, how=how)`` (``inner`` or ``left``) by the pair codes of
    their rows (codes in the space of ``pairs``, one row per code), and the codes of the
    result's rows: one lookup of integer codes where the merge hashes three text columns of
    both sides. A right side with repeated pairs is merged as such."""
    at_index = pd.Index(right_code)
    if not at_index.is_unique:
        m = left.merge(right, on=_PAIR, how=how)
        return m, pair_codes(pairs, m)[1]
    at = at_index.get_indexer(code)
    found = at >= 0
    rows = found if how == "inner" else np.ones(len(left), dtype=bool)
    m = left[rows].reset_index(drop=True)
    extra = right.drop(columns=_PAIR)
    taken = extra.iloc[np.where(found, at, 0)[rows]].reset_index(drop=True)
    if how == "left" and not found.all():
        taken.loc[~found] = np.nan  # a pair without a right row: missing, as the merge gives
    for c in extra.columns:
        m[c] = taken[c]
    return m, code[rows]


def _vote_shares(humans: HumanData) -> pd.DataFrame:
    """The humans' vote shares per pair, ``item_id, lo, hi, h_lo, h_hi, h_tie``: computed once
    per :class:`HumanData` (its ``memo``), read by every judge of a study."""
    key = ("vote_shares",)
    if key not in humans.memo:
        cnt = (
            humans.votes.groupby([*_PAIR, "label"]).size().unstack("label", fill_value=0)
        ).reindex(columns=[0, 1, 2], fill_value=0)
        share = cnt.div(cnt.sum(axis=1), axis=0)
        share.columns = ["h_lo", "h_hi", "h_tie"]
        humans.memo[key] = share.reset_index()
    return humans.memo[key]


def _per_item_bins(items, conf, correct, edges) -> tuple[np.ndarray, int]:
    """``(n_items, 3k)`` per-item bin totals: counts, sums of confidence, sums of correct."""
    k = len(edges) + 1
    idx = bin_index(conf, edges)
    codes, uniq = pd.factorize(pd.Series(items))
    out = np.zeros((len(uniq), 3 * k))
    np.add.at(out, (codes, idx), 1.0)
    np.add.at(out, (codes, k + idx), conf)
    np.add.at(out, (codes, 2 * k + idx), correct)
    return out, k


def _split(t: np.ndarray, k: int):
    return t[..., :k], t[..., k : 2 * k], t[..., 2 * k :]


def _bins_table(res_acc, totals, k) -> list[dict]:
    n, sc, sy = _split(totals, k)
    out = []
    for b in range(k):
        if n[b] == 0:
            continue
        r = res_acc[b]
        out.append(
            {
                "bin": b + 1,
                "n": float(n[b]),
                "confidence": float(sc[b] / n[b]),
                "accuracy": float(sy[b] / n[b]),
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
        )
    return out


def _levels_table(u: pd.DataFrame) -> list[dict]:
    g = u.groupby(u["confidence"].round(9))["correct"]
    return [{"confidence": float(c), "n": int(s.size), "accuracy": float(s.mean())} for c, s in g]


def _recalibrated(u: pd.DataFrame, seed: int) -> dict:
    """ECE on a held-out half of the items after a recalibration fitted on the other half."""
    items = np.array(sorted(u["item_id"].unique()), dtype=object)
    rng = np.random.default_rng(seed)
    fit_items = rng.permutation(items)[: len(items) // 2]
    is_fit = member_mask(u["item_id"], fit_items)  # Series.isin(set) converts each member
    if is_fit.sum() < 10 or (~is_fit).sum() < 10:
        return {"recalibration": None}
    f, method = fit_recalibration(u.loc[is_fit, "confidence"], u.loc[is_fit, "correct"])
    held = u[~is_fit]
    return {
        "recalibration": f"{method}, fitted on {int(is_fit.sum())} units of half the items",
        "ece_heldout": ece(held["confidence"], held["correct"]),
        "ece_recalibrated": ece(f(held["confidence"].to_numpy()), held["correct"]),
    }


def _ci_text(lo, hi) -> str:
    ok = lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi)
    return f" (95% CI {lo:.3f} to {hi:.3f})" if ok else ""


def _whose(src: str) -> str:
    return "The panel majority's" if src == "ensemble" else "The judge's"


def _ece_conclusion(row: dict) -> str:
    src = row["confidence_source"]
    auc = row.get("auroc")
    auc_text = (
        f"; it ranks right above wrong verdicts with AUROC {auc:.2f}"
        if auc is not None and np.isfinite(auc)
        else ""
    )
    if row.get("estimate") is None or not np.isfinite(row["estimate"]):
        levels = ", ".join(
            f"{x['accuracy']:.0%} right at confidence {x['confidence']:.2g} (n={x['n']})"
            for x in row.get("levels") or []
        )
        return f"{_whose(src)} {src} confidence has {row['n_levels']} level(s): {levels}{auc_text}"
    p = row.get("ece_null_p")
    verdict = (
        "more than a perfectly calibrated judge would show by chance"
        if p is not None and p < 0.05
        else "within what a perfectly calibrated judge shows by chance"
    )
    return (
        f"{_whose(src)} {src} confidence is off from its accuracy against humans by "
        f"{row['estimate']:.3f} on average{_ci_text(row['ci_low'], row['ci_high'])} (plug-in "
        f"ECE; debiased {row['ece_debiased']:.3f}); a perfectly calibrated judge with these "
        f"confidences would show {row['ece_null']:.3f}: {verdict}{auc_text}"
    )


def _ece_finding(u, ex, judge, method, source, ctx: Resampling) -> dict:
    conf, y = u["confidence"].to_numpy(float), u["correct"].to_numpy(float)
    levels = n_levels(conf)
    common = dict(judge=judge, confidence_source=source, n_levels=levels, auroc=auroc(conf, y))
    if levels <= ORDINAL_MAX_LEVELS:
        row = finding(
            "confidence_ece",
            None,
            n=len(u),
            n_excluded=excluded_total(ex),
            method=method,
            reason=f"the {source} confidence takes {levels} level(s): an ECE over deciles "
            "would only restate the accuracy per level (see levels and auroc)",
            levels=_levels_table(u),
            **common,
        )
        row["conclusion"] = _ece_conclusion(row)
        return row
    edges = bin_edges(conf, N_BINS)
    per_item, k = _per_item_bins(u["item_id"].to_numpy(), conf, y, edges)

    def acc_of(b):
        return lambda t: t[:, 2 * k + b] / np.where(t[:, b] > 0, t[:, b], np.nan)

    stats = [
        lambda t: ece_from_bins(*_split(t, k)),
        lambda t: debiased_ece_from_bins(*_split(t, k)),
        *[acc_of(b) for b in range(k)],
    ]
    res = ctx.boot_each(per_item, stats)
    null_plug, null_deb = ece_null(conf, seed=ctx.seed)
    observed = res[0].estimate
    extra = dict(
        ece_debiased=res[1].estimate,
        ece_debiased_ci=[res[1].ci_low, res[1].ci_high],
        ece_null=float(null_plug.mean()),
        ece_null_q95=float(np.quantile(null_plug, 0.95)),
        bins=_bins_table(res[2:], per_item.sum(axis=0), k),
        **_recalibrated(u, ctx.seed),
    )
    p = (
        None
        if observed is None
        else float((1 + (null_plug >= observed).sum()) / (1 + null_plug.size))
    )
    row = result_row(
        "confidence_ece",
        res[0],
        slice_=None,
        n=len(u),
        n_excluded=excluded_total(ex),
        method_prefix=method + f"; {N_BINS} equal-mass bins",
        **common,
        **extra,
    )
    # kept out of p_value: a descriptive check that must not enter (and shift) the study's
    # Benjamini-Hochberg family of exploratory tests
    row["ece_null_p"] = p
    row["conclusion"] = _ece_conclusion(row)
    return row


def _brier_finding(u, ex, judge, method, source, ctx: Resampling) -> dict:
    h = u[["h_lo", "h_hi", "h_tie"]].to_numpy(float)
    p = u[["p_lo", "p_hi", "p_tie"]].to_numpy(float)
    ok = np.isfinite(h).all(axis=1) & np.isfinite(p).all(axis=1)
    common = dict(judge=judge, confidence_source=source)
    if not ok.any():
        return finding(
            "confidence_brier",
            None,
            n=0,
            n_excluded=excluded_total(ex) + len(u),
            method=method,
            reason="no judged pair with human votes: the Brier score is against the vote share",
            **common,
        )
    b, fl = brier_multiclass(p[ok], h[ok]), disagreement_floor(h[ok])
    codes, uniq = pd.factorize(u.loc[ok, "item_id"])
    per_item = np.zeros((len(uniq), 3))
    np.add.at(per_item, (codes, 0), b)
    np.add.at(per_item, (codes, 1), fl)
    np.add.at(per_item, (codes, 2), 1.0)
    res = ctx.boot_each(per_item, [lambda t: t[:, 0] / t[:, 2], lambda t: t[:, 1] / t[:, 2]])
    what = "probabilities" if source == "logprob" else "vote shares"
    row = result_row(
        "confidence_brier",
        res[0],
        slice_=None,
        n=int(ok.sum()),
        n_excluded=excluded_total(ex) + int((~ok).sum()),
        method_prefix=f"{method}; 3-class Brier of the judge's {what} vs the human vote share",
        floor=res[1].estimate,
        floor_ci=[res[1].ci_low, res[1].ci_high],
        brier_vs_votes=res[0].estimate + res[1].estimate,
        **common,
    )
    if row.get("estimate") is not None:
        row["conclusion"] = (
            f"{_whose(source)} {source} {what} score a 3-class Brier of {row['estimate']:.3f} "
            f"against the human vote share{_ci_text(row['ci_low'], row['ci_high'])}; the "
            f"humans' own disagreement (the floor against individual votes) is "
            f"{row['floor']:.3f}"
        )
    return row


def confidence_calibration(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    source: str | None = None,
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """``confidence_ece`` and ``confidence_brier`` of one judge's pairwise verdicts (module
    docstring).

    ``source``: a confidence source of :mod:`judgelab.stats.confidence`; None takes the first
    the verdicts support among ``logprob``, ``self_consistency``, ``order_agreement``. Without
    any, both findings are null with the reason. ``verdicts``: a verdict frame or a judge's
    prepared :class:`~judgelab.stats.calibration.units.JudgeUnits` (its verdicts and their
    coded pairs are read)."""
    humans = HumanData.of(dataset, "pairwise")
    labels = None
    if isinstance(verdicts, JudgeUnits):
        verdicts, labels = verdicts.verdicts, verdicts.labels
    if source is None:
        source = default_source(verdicts)
        if source is None:
            reason = (
                "no confidence: the verdicts carry no logprobs (p_a, p_b), no repeats and no "
                "second display order"
            )
            return findings_frame(
                [finding(fid, None, judge=judge, reason=reason) for fid in CONFIDENCE_IDS]
            )
    u, ex, rule = confidence_units(
        verdicts,
        humans,
        source,
        order_aggregation=order_aggregation,
        tie_policy=tie_policy,
        labels=labels,
    )
    method = (
        f"confidence_source={source}; correct = verdict equals the {REFERENCE_NAMES[rule]}; "
        f"unit: {_level(source, order_aggregation)}; tie_policy={tie_policy}"
    )
    ctx = Resampling(n_boot, seed, ci_level)
    if u.empty:
        reason = f"no judged unit with a {source} confidence and a {REFERENCE_NAMES[rule]}"
        return findings_frame(
            [
                finding(
                    fid, None, judge=judge, method=method, reason=reason, confidence_source=source
                )
                for fid in CONFIDENCE_IDS
            ]
        )
    return findings_frame(
        [
            _ece_finding(u, ex, judge, method, source, ctx),
            _brier_finding(u, ex, judge, method, source, ctx),
        ]
    )
