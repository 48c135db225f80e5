"""Agreement of one judge with the reference (docs/statistics.md#calibration-audit).

``accuracy``, ``cohen_kappa``, ``macro_f1`` (pairwise: the judge's verdict against the pair's
reference label; pairs without one are excluded and counted; classes ``a`` / ``b`` (the
pair's first / second response id in sorted order wins) and ``tie``) and ``weighted_kappa``,
``spearman``, ``kendall_tau`` (single score: the judge's score, repeats averaged, against the
median human score of the response, rounded for the kappa; quadratic weights, Cohen 1968;
tau-b, Kendall 1945), overall and per candidate family and item category; and the confusion
table for plots. Every CI is an item-cluster bootstrap of per-item confusion counts (or, for
the rank correlations, the exact weighted forms of
:func:`judgelab.stats.agreement.rank_correlation_statistics`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import findings_frame
from judgelab.stats.agreement import (
    accuracy_from_totals,
    kappa_from_totals,
    macro_f1_from_totals,
    rank_correlation_statistics,
)
from judgelab.stats.calibration._common import (
    Resampling,
    excluded_text,
    excluded_total,
    lookup_codes,
    per_item_confusion,
    result_row,
    sorted_pair_codes,
)
from judgelab.stats.calibration.ceiling import _judge_vote_codes, _vote_codes, table_keys
from judgelab.stats.calibration.units import (
    PAIR_CLASSES,
    HumanData,
    JudgeUnits,
    _check_settings,
    _score_classes,
)
from judgelab.stats.reference import reference_labels
from judgelab.stats.units import pair_codes

#: The audit's reference rule (docs/statistics.md#reference-labels): the human majority of each
#: pair (the gold label where the dataset's rater is ``gold``, as LLMBar's), else the truth.
AUDIT_REFERENCE = ("majority", "truth")
#: How a finding's ``method`` names each reference rule.
REFERENCE_NAMES = {
    "majority": "human majority",
    "unanimous": "unanimous humans",
    "gold": "gold label",
    "truth": "truth",
}


def pair_reference(
    humans: HumanData, pairs: pd.DataFrame, rule: str | Sequence[str], tie_policy: str
) -> tuple[pd.DataFrame, dict, str]:
    """The reference label of ``pairs`` (``item_id, lo, hi``) under ``rule``:
    :func:`judgelab.stats.reference.reference_labels` on the prepared human votes.

    A rule read from the votes (majority, unanimous, gold) labels every voted pair whatever
    ``pairs`` are, so its result is computed once per :class:`HumanData` (kept in its
    ``memo``) and shared by every judge; the truth rule labels ``pairs`` and is not kept."""
    key = ("pair_reference", rule if isinstance(rule, str) else tuple(rule), tie_policy)
    if key in humans.memo:
        ref, excluded, used = humans.memo[key]
        return ref, dict(excluded), used
    ref, excluded, used = reference_labels(
        humans.votes,
        rule=rule,
        tie_policy=tie_policy,
        truth=getattr(humans.dataset, "truth", None),
        pairs=pairs,
    )
    if used != "truth":
        humans.memo[key] = (ref, dict(excluded), used)
    return ref, excluded, used


def _slices(units: pd.DataFrame, humans: HumanData, protocol: str, coded: dict | None = None):
    """(slice dict, mask) for overall, each candidate family and each item category.

    A pair belongs to family f's slice when either of its responses is from f (so family
    slices of a pair overlap); a response to its own family. Families and categories are
    compared as codes of the human side's lookups (built once per audit). ``coded``: the
    pairwise ``units``' keys as integer codes (:func:`sorted_pair_codes` form, with the
    judge's ``memo``), when the caller has them: each distinct id is looked up once per
    judge, not each row's text."""
    yield None, np.ones(len(units), bool)
    fam = humans.lookup("family")
    if coded is not None:
        fam_of = lookup_codes(coded["memo"], fam, coded["resp"])
        fa, fb = fam_of[coded["codes"][1]], fam_of[coded["codes"][2]]
    elif protocol == "pairwise":
        fa, fb = fam.codes(units["lo"].to_numpy()), fam.codes(units["hi"].to_numpy())
    else:
        fa = fb = fam.codes(units["response_id"].to_numpy())
    yield from _named_masks("family", fam, [fa, fb])
    if "category" in humans.info.columns:
        cat = humans.lookup("category", key="item_id")
        if coded is not None:
            item = coded["codes"][0]
            cc = np.where(item >= 0, cat.codes(coded["items"].to_numpy())[item], -1)
        else:
            cc = cat.codes(units["item_id"].to_numpy())
        yield from _named_masks("subset", cat, [cc])


def _named_masks(kind: str, lookup, code_arrays):
    """({kind: name}, mask) per text value present in any of ``code_arrays``, by name."""
    present = np.unique(np.concatenate(code_arrays))
    names = {int(k): lookup.names[k] for k in present if k >= 0}
    for k, name in sorted(
        ((k, x) for k, x in names.items() if isinstance(x, str)), key=lambda t: t[1]
    ):
        mask = code_arrays[0] == k
        for c in code_arrays[1:]:
            mask = mask | (c == k)
        yield {kind: name}, mask


def _reference_rows(ju: JudgeUnits, humans: HumanData, ref: pd.DataFrame, rule: str):
    """Per row of the judge's units, the row of ``ref`` (one row per pair) with its pair, -1
    for none: the lookup of the units' pair codes in the reference's, made on the codes of
    the human votes (the units coded there once per judge, the reference once per audit).
    None where that does not give the text's answer (a reference not read from the votes, a
    pair repeated in it or outside the votes; units not coded): the caller codes the text."""
    if rule == "truth":
        return None
    hc = _vote_codes(humans, "class")  # every voted pair
    jc = _judge_vote_codes(ju, humans, hc) if hc is not None else None
    if jc is None:
        return None
    keys = table_keys(humans, ref)
    if keys is None:
        return None
    at = keys.get_indexer(jc["pair"])
    at[jc["pair"] < 0] = -1
    return at


def pairwise_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    slice_: dict | None = None,
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    by_slice: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    reference: str | Sequence[str] = AUDIT_REFERENCE,
) -> pd.DataFrame:
    """``accuracy``, ``cohen_kappa`` and ``macro_f1`` of one judge's pairwise verdicts against
    the reference label of each pair, overall and (``by_slice``) per candidate family and item
    category, each with an item-cluster bootstrap CI of the weighted confusion counts.
    ``n`` counts pairs; ``n_excluded`` the judged pairs without a usable reference plus
    unparsed / dropped verdict rows.

    ``verdicts`` is a verdict frame or prepared :class:`JudgeUnits`, ``dataset`` a dataset or
    prepared :class:`HumanData`. ``reference`` is a rule of
    :func:`judgelab.stats.reference.reference_labels` (default :data:`AUDIT_REFERENCE`: the
    human majority, where the dataset has a gold rater its label, else the truth); the
    ``method`` names the rule used."""
    _check_settings(tie_policy, order_aggregation)
    ctx = Resampling(n_boot, seed, ci_level)
    ju = JudgeUnits.of(verdicts, "pairwise", order_aggregation, tie_policy)
    humans = HumanData.of(dataset, "pairwise")
    units, ex = ju.units, ju.excluded
    key = ["item_id", "lo", "hi"]
    code = ju.pair_code()  # first-appearance codes: their first rows are the pairs
    first = np.unique(code, return_index=True)[1]
    judged_pairs = units[key].iloc[first]
    ref, _, rule = pair_reference(humans, judged_pairs, reference, tie_policy)
    # the reference row of each unit, looked up on the codes of the human votes where the
    # units and the reference are coded there (each text coded once per judge / audit)
    at = _reference_rows(ju, humans, ref, rule)
    if at is None:
        # the reference's pairs in the units' code space: the judged pairs (one row per code,
        # in code order) get codes 0, 1, ... as the units' first rows do, so
        # pair_codes(units, ref) gives ref these codes, without hashing every unit row again
        ref_code = pair_codes(judged_pairs, ref)[1]
        ref_at = pd.Index(ref_code)
        # a reference with repeated pairs: the merge below repeats their units
        at = ref_at.get_indexer(code) if ref_at.is_unique else None
    # the units with a reference, in their order, with the reference's columns (an inner
    # merge on the pair), joined on the integer pair code instead of the three strings
    coded = None  # the rows of m as codes, where the units' are kept
    if at is None:
        has_ref = np.isin(code, ref_code)
        m = units.merge(ref, on=key, how="inner")
        (m_code,) = pair_codes(m)
    else:
        has_ref = at >= 0
        m = pd.concat(
            [
                units[has_ref].reset_index(drop=True),
                ref.drop(columns=key).iloc[at[has_ref]].reset_index(drop=True),
            ],
            axis=1,
        )
        m_code = code[has_ref]
        if ju.memo.get(("unit_rows", "units")) is not None:
            c = sorted_pair_codes(ju.memo, "units", units)
            coded = dict(c, codes=tuple(x[has_ref] for x in c["codes"]), memo=ju.memo)
    ex = dict(ex)
    ex["pairs_without_reference"] = int((~has_ref[first]).sum())
    method = f"vs {REFERENCE_NAMES[rule]}; tie_policy={tie_policy}, order_aggregation={order_aggregation}"
    rows = []
    slices = (
        _slices(m, humans, "pairwise", coded) if by_slice else [(slice_, np.ones(len(m), bool))]
    )
    # the columns read per slice, as arrays once (not a frame selection per slice)
    cols = {c: m[c].to_numpy() for c in ("item_id", "ref", "label", "weight")}
    for sl, mask in slices:
        sub = {c: x[mask] for c, x in cols.items()}
        n_pairs = len(np.unique(m_code[mask]))
        if len(sub["item_id"]) == 0:
            for id_ in ("accuracy", "cohen_kappa", "macro_f1"):
                rows.append(
                    result_row(
                        id_,
                        None,
                        judge=judge,
                        slice_=sl,
                        n=0,
                        n_excluded=excluded_total(ex),
                        reason=f"no judged pair with a {REFERENCE_NAMES[rule]} in this slice",
                        method=method,
                    )
                )
            continue
        per_item, _ = per_item_confusion(sub["item_id"], sub["ref"], sub["label"], sub["weight"], 3)
        statistics = {
            "accuracy": accuracy_from_totals,
            "cohen_kappa": kappa_from_totals,
            "macro_f1": macro_f1_from_totals,
        }
        results = ctx.boot_each(per_item, [lambda t, fn=fn: fn(t, 3) for fn in statistics.values()])
        for id_, res in zip(statistics, results, strict=True):
            rows.append(
                result_row(
                    id_,
                    res,
                    judge=judge,
                    slice_=sl,
                    n=n_pairs,
                    n_excluded=excluded_total(ex) if sl is None else None,
                    method_prefix=method,
                    excluded=excluded_text(ex) if sl is None else None,
                    # accuracy is a share (the diagonal of the 3 x 3 table): Clopper-Pearson at
                    # 0 / 1 or on few items
                    share=(per_item[:, [0, 4, 8]].sum(axis=1), per_item.sum(axis=1))
                    if id_ == "accuracy"
                    else None,
                )
            )
    return findings_frame(rows)


def score_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    by_slice: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """``weighted_kappa`` (quadratic, judge score rounded vs the rounded median human score),
    ``spearman`` and ``kendall_tau`` (b; unrounded judge mean vs the median human score) of
    one judge's single scores, overall and per family / category, item-cluster CIs."""
    ctx = Resampling(n_boot, seed, ci_level)
    ju = JudgeUnits.of(verdicts, "single")
    humans = HumanData.of(dataset, "single")
    units, ex = ju.units, ju.excluded
    m = units.merge(humans.median_scores, left_on="response_id", right_index=True, how="inner")
    ex = dict(ex)
    ex["responses_without_human_score"] = int(len(units) - len(m))
    lo, k = _score_classes(humans.dataset, m["score"], m["human"])
    rows = []
    slices = _slices(m, humans, "single") if by_slice else [(None, np.ones(len(m), bool))]
    for sl, mask in slices:
        sub = m[mask]
        n_ex = excluded_total(ex) if sl is None else None
        if len(sub) < 2:
            for id_ in ("weighted_kappa", "spearman", "kendall_tau"):
                rows.append(
                    result_row(
                        id_,
                        None,
                        judge=judge,
                        slice_=sl,
                        n=len(sub),
                        n_excluded=n_ex,
                        reason="fewer than 2 scored responses with human scores",
                    )
                )
            continue
        jc = np.clip(np.round(sub["score"].to_numpy() - lo), 0, k - 1)
        hc = np.clip(np.round(sub["human"].to_numpy() - lo), 0, k - 1)
        per_item, _ = per_item_confusion(sub["item_id"].to_numpy(), hc, jc, np.ones(len(sub)), k)
        res = ctx.boot(per_item, lambda t: kappa_from_totals(t, k, "quadratic"))
        rows.append(
            result_row(
                "weighted_kappa",
                res,
                judge=judge,
                slice_=sl,
                n=len(sub),
                n_excluded=n_ex,
                method_prefix="quadratic weights, judge score (repeats averaged, rounded) vs rounded median human score",
            )
        )
        codes, uniq = pd.factorize(pd.Series(sub["item_id"]))
        rank_stats = rank_correlation_statistics(sub["score"], sub["human"], codes, len(uniq))
        eye = np.eye(len(uniq))  # per_item = I: the statistic sees the item multiplicities
        for id_, stat in rank_stats.items():
            res = ctx.boot(eye, stat)
            rows.append(
                result_row(
                    id_,
                    res,
                    judge=judge,
                    slice_=sl,
                    n=len(sub),
                    n_excluded=n_ex,
                    method_prefix="judge mean score vs median human score, exact weighted-multiset ranks",
                )
            )
    return findings_frame(rows)


def confusion_table(
    verdicts: pd.DataFrame,
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    reference: str | Sequence[str] = AUDIT_REFERENCE,
) -> pd.DataFrame:
    """Weighted confusion table (rows: reference, columns: judge) for plots."""
    proto = "pairwise" if protocol == "pairwise" else "single"
    ju = JudgeUnits.of(verdicts, proto, order_aggregation, tie_policy)
    humans = HumanData.of(dataset, proto)
    if protocol == "pairwise":
        units = ju.units
        pairs = units[["item_id", "lo", "hi"]].drop_duplicates()
        ref, _, _ = pair_reference(humans, pairs, reference, tie_policy)
        m = units.merge(ref[["item_id", "lo", "hi", "ref"]], on=["item_id", "lo", "hi"])
        labels = list(PAIR_CLASSES)
        c = np.zeros((3, 3))
        np.add.at(c, (m["ref"].to_numpy(int), m["label"].to_numpy(int)), m["weight"].to_numpy())
    else:
        m = ju.units.merge(humans.median_scores, left_on="response_id", right_index=True)
        lo, k = _score_classes(humans.dataset, m["score"], m["human"])
        labels = [f"{lo + i:g}" for i in range(k)]
        c = np.zeros((k, k))
        np.add.at(
            c,
            (
                np.clip(np.round(m["human"] - lo), 0, k - 1).astype(int),
                np.clip(np.round(m["score"] - lo), 0, k - 1).astype(int),
            ),
            1.0,
        )
    return pd.DataFrame(
        c, index=pd.Index(labels, name="human"), columns=pd.Index(labels, name="judge")
    )
