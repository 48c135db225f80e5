"""The human ceiling, the judge against individual human votes, and the alternative-annotator
test (docs/statistics.md#calibration-audit).

``human_ceiling``: agreement of two different humans on the same unit, pooled over every
(unit, ordered rater pair) (Zheng et al. 2023, MT-Bench). ``human_vote_agreement``: the judge
against each individual human vote, pooled the same way. ``alternative_annotator_gap``: per
rater h, the judge's agreement with the other raters' label minus h's, on units where the
others agree; mean over raters (after Calderon et al. 2025, "The Alternative Annotator Test").
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement import accuracy_from_totals, kappa_from_totals
from judgelab.stats.calibration._common import (
    Resampling,
    kappa_weights_for,
    per_item_confusion,
    result_row,
    sorted_pair_codes,
)
from judgelab.stats.calibration.units import HumanData, JudgeUnits, _check_settings, _score_classes
from judgelab.stats.resampling import BootstrapResult
from judgelab.stats.units import PAIR_KEY_SEPARATOR, member_mask

#: Alternative-annotator test: "as good as a human annotator" when ci_low >= -this.
AAG_MARGIN = 0.05


def _human_votes(humans: HumanData, protocol: str, tie_policy: str) -> pd.DataFrame:
    """Human votes as ``item_id, unit, rater_id, label`` (pairwise classes or score classes):
    built once per :class:`HumanData` (its ``memo``; the ceiling and every judge's vote
    agreement read it). Callers must not modify it."""
    key = ("human_votes", protocol, tie_policy)
    if key not in humans.memo:
        humans.memo[key] = _coded_human_votes(humans, protocol, tie_policy)
    return humans.memo[key]


def _coded_human_votes(humans: HumanData, protocol: str, tie_policy: str) -> pd.DataFrame:
    if protocol == "pairwise":
        v = humans.votes.copy()
        v["unit"] = v["lo"] + PAIR_KEY_SEPARATOR + v["hi"]
        if tie_policy == "drop":
            v = v[v["label"] != 2]
        return v[["item_id", "unit", "rater_id", "label"]]
    hs = humans.scores
    lo, _ = _score_classes(humans.dataset, hs["score"])
    return pd.DataFrame(
        {
            "item_id": hs["item_id"],
            "unit": hs["response_id"],
            "rater_id": hs["rater_id"],
            "label": np.round(hs["score"].to_numpy() - lo).astype(int),
            "value": hs["score"].to_numpy(),
        }
    )


def _others_agreeing(humans: HumanData, protocol: str, tie_policy: str, tol: int):
    """(human votes, per (item, unit, rater h) the other raters' labels ``min, max, median``
    where they agree, h's own ``label``, their label ``L`` and ``h_agree``), for every unit
    the humans labelled: computed once per :class:`HumanData` (kept in its ``memo``) and
    restricted to each judge's units by the caller, as a rater's others depend on the unit
    only (at a million verdicts a self-merge of every vote for each judge)."""
    key = ("alternative_annotator_others", protocol, tie_policy, tol)
    if key in humans.memo:
        return humans.memo[key]
    hv = _human_votes(humans, protocol, tie_policy)
    # every (unit, rater h, other rater o != h): the others' labels seen from h
    pairs = hv.merge(hv, on=["item_id", "unit"], suffixes=("", "_o"))
    pairs = pairs[pairs["rater_id"] != pairs["rater_id_o"]]
    g = pairs.groupby(["item_id", "unit", "rater_id"])
    oth = g["label_o"].agg(["min", "max", "median"]).reset_index()
    own = hv.groupby(["item_id", "unit", "rater_id"])["label"].first().reset_index()
    oth = oth.merge(own, on=["item_id", "unit", "rater_id"])
    # the others agree: one label (pairwise) or a span of at most one point (scores)
    oth = oth[(oth["max"] - oth["min"]) <= tol]
    oth["L"] = oth["min"] if protocol == "pairwise" else np.round(oth["median"])
    oth["h_agree"] = (np.abs(oth["label"] - oth["L"]) <= tol).astype(float)
    humans.memo[key] = (hv, oth)
    return hv, oth


def _judge_votes(ju: JudgeUnits, humans: HumanData) -> pd.DataFrame:
    """The judge's units as ``item_id, unit, label, weight`` in the coding of
    :func:`_human_votes`: built once per judge (kept in the units' ``memo`` for these
    ``humans``; the vote agreement and the alternative-annotator gap read it). Callers must
    not modify it."""
    kept = ju.memo.get("judge_votes")
    if kept is None or kept[0] is not humans:
        kept = ju.memo["judge_votes"] = (humans, _coded_judge_votes(ju, humans))
    return kept[1]


def _coded_judge_votes(ju: JudgeUnits, humans: HumanData) -> pd.DataFrame:
    u = ju.units
    if ju.protocol == "pairwise":
        return pd.DataFrame(
            {
                "item_id": u["item_id"],
                "unit": u["lo"] + PAIR_KEY_SEPARATOR + u["hi"],
                "label": u["label"],
                "weight": u["weight"],
            }
        )
    lo, k = _score_classes(humans.dataset, u["score"])
    return pd.DataFrame(
        {
            "item_id": u["item_id"],
            "unit": u["response_id"],
            "label": np.clip(np.round(u["score"].to_numpy() - lo), 0, k - 1).astype(int),
            "weight": 1.0,
            "value": u["score"].to_numpy(),
        }
    )


def _vote_codes(humans: HumanData, tie_policy: str) -> dict | None:
    """The pairwise human votes of :func:`_human_votes` (row for row) as integer codes, kept in
    the ``memo``: ``items`` / ``resp`` (their distinct item and response ids), ``unit`` (the
    code of ``lo, hi``, the ``unit`` text's) and ``pair`` (of ``item_id, unit``) per vote.
    None where a code join could differ from the text join (an id holding the unit
    separator, a missing id) or the codes could overflow: the callers merge the text then."""
    key = ("vote_codes", tie_policy)
    if key not in humans.memo:
        humans.memo[key] = _coded_votes(humans.votes, tie_policy)
    return humans.memo[key]


def _coded_votes(v: pd.DataFrame, tie_policy: str) -> dict | None:
    if tie_policy == "drop":
        v = v[v["label"] != 2]
    n = len(v)
    item, items = pd.factorize(np.asarray(v["item_id"], dtype=object))
    both = np.concatenate([np.asarray(v[c], dtype=object) for c in ("lo", "hi")])
    resp_code, resp = pd.factorize(both)
    r = len(resp) + 1
    if (item < 0).any() or (resp_code < 0).any() or (len(items) + 1) * r * r >= 2**62:
        return None
    if _holds_separator(resp):
        return None
    unit = resp_code[:n].astype(np.int64) * r + resp_code[n:]
    return dict(
        items=pd.Index(items, dtype=object),
        resp=pd.Index(resp, dtype=object),
        r=r,
        unit=unit,
        pair=item.astype(np.int64) * (r * r) + unit,
        label=v["label"].to_numpy(),
    )


def _holds_separator(ids) -> bool:
    """Some id contains the unit separator: ``lo + sep + hi`` texts of different pairs could
    then be equal, which the codes of ``(lo, hi)`` would not reproduce."""
    return bool(pd.Index(ids, dtype=object).str.contains(PAIR_KEY_SEPARATOR, regex=False).any())


def _judge_vote_codes(ju: JudgeUnits, humans: HumanData, hc: dict) -> dict | None:
    """The judge's units (of :func:`_judge_votes`, row for row) in the codes of the human votes
    ``hc`` (:func:`_vote_codes`): ``unit`` and ``pair`` per unit, -1 where the humans have no
    vote on it. Kept in the judge's ``memo``; None where the units are not verdict rows or an
    id could make the text join differ (the callers merge the text then)."""
    kept = ju.memo.get(("judge_vote_codes", id(hc)))
    if kept is not None and kept[0] is hc:
        return kept[1]
    out = None
    rows = ju.memo.get(("unit_rows", "units"))
    if rows is not None:
        c = sorted_pair_codes(ju.memo, "units", ju.units)
        item, lo, hi = c["codes"]
        if not (item < 0).any() and not _holds_separator(c["resp"]):
            # each distinct id of the judge looked up once in the humans' ids
            hitem = vote_space(ju.memo, hc, c["items"], "items")[item]
            resp = vote_space(ju.memo, hc, c["resp"], "resp")
            hlo, hhi = resp[lo], resp[hi]
            found = (hitem >= 0) & (hlo >= 0) & (hhi >= 0)
            unit = np.where(found, hlo.astype(np.int64) * hc["r"] + hhi, -1)
            pair = vote_keys(hc, hitem, hlo, hhi)
            out = dict(unit=unit, pair=pair)
    ju.memo[("judge_vote_codes", id(hc))] = (hc, out)
    return out


def vote_space(memo: dict, hc: dict, ids: pd.Index, kind: str) -> np.ndarray:
    """Position of each of ``ids`` (a judge's distinct item or response ids, ``kind`` ``items``
    or ``resp``) in the human votes' codes ``hc``, -1 absent: kept in the judge's ``memo``,
    so each distinct id is looked up once per judge."""
    key = ("vote_space", id(hc), id(ids))
    kept = memo.get(key)
    if kept is None or kept[0] is not hc or kept[1] is not ids:
        kept = memo[key] = (hc, ids, hc[kind].get_indexer(ids))
    return kept[2]


def vote_keys(hc: dict, item: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The pair code of :func:`_vote_codes` (``pair``) of positions in its items and response
    ids; -1 where any is -1 (a pair no vote is on)."""
    r = hc["r"]
    found = (item >= 0) & (lo >= 0) & (hi >= 0)
    return np.where(found, item.astype(np.int64) * (r * r) + lo.astype(np.int64) * r + hi, -1)


def table_keys(humans: HumanData, frame: pd.DataFrame) -> pd.Index | None:
    """The :func:`vote_keys` of a human-side table with one row per pair (the reference, the
    vote shares), kept in the ``memo``; None where it repeats a pair or holds one no vote is
    on (the caller codes the text then)."""
    hc = _vote_codes(humans, "class")  # every voted pair
    if hc is None:
        return None
    memo_key = ("table_keys", id(frame))
    kept = humans.memo.get(memo_key)
    if kept is None or kept[0] is not frame:
        item = hc["items"].get_indexer(np.asarray(frame["item_id"], dtype=object))
        lo, hi = (hc["resp"].get_indexer(np.asarray(frame[c], dtype=object)) for c in ("lo", "hi"))
        keys = pd.Index(vote_keys(hc, item, lo, hi))
        ok = len(keys) == 0 or (keys.min() >= 0 and keys.is_unique)
        kept = humans.memo[memo_key] = (frame, keys if ok else None)
    return kept[1]


def _inner_join_rows(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows (left, right) of an inner merge of two integer key columns (-1 on the left: no
    key), in the order pandas' inner merge gives them: left rows in order, each with its
    matching right rows in their order."""
    rkey, rdistinct = pd.factorize(right)
    order = np.argsort(rkey, kind="stable")
    counts = np.bincount(rkey, minlength=len(rdistinct))
    start = np.cumsum(counts) - counts
    at = pd.Index(rdistinct).get_indexer(left)
    at[left < 0] = -1
    lrows = np.flatnonzero(at >= 0)
    c = counts[at[lrows]]
    li = np.repeat(lrows, c)
    offs = np.arange(len(li)) - np.repeat(np.cumsum(c) - c, c)
    ri = order[np.repeat(start[at[lrows]], c) + offs]
    return li, ri


def _rater_agreement(ju: JudgeUnits, humans: HumanData, protocol: str, tie_policy: str, tol):
    """Per (unit, rater h) where h's others agree on a label L, in the order of
    :func:`_others_agreeing`'s rows: (the raters, sorted; the number of the judge's items; each
    row's item position among the judge's sorted items and its rater's position; the judge's
    weighted agreement with L; h's), for :func:`alternative_annotator_gap`."""
    jv = _judge_votes(ju, humans)
    hv, oth = _others_agreeing(humans, protocol, tie_policy, tol)
    # the units this judge judged (the human side is the same for every judge of an audit),
    # each distinct unit once (a unit is judged in both orders and repeats)
    judged = pd.unique(np.asarray(jv["unit"], dtype=object))
    hv = hv[member_mask(hv["unit"], judged)]
    raters = sorted(hv["rater_id"].unique())
    oth = oth[member_mask(oth["unit"], judged)].reset_index(drop=True)
    ju = oth[["unit", "L"]].drop_duplicates().merge(jv[["unit", "label", "weight"]], on="unit")
    ju["hit"] = (np.abs(ju["label"] - ju["L"]) <= tol) * ju["weight"]
    jag = ju.groupby(["unit", "L"])[["hit", "weight"]].sum()
    jag = (jag["hit"] / jag["weight"]).rename("j_agree").reset_index()
    oth = oth.merge(jag, on=["unit", "L"])
    items = pd.Index(sorted(jv["item_id"].unique()))
    ii = items.get_indexer(oth["item_id"])
    ri = pd.Index(raters).get_indexer(oth["rater_id"])
    return raters, len(items), ii, ri, oth["j_agree"].to_numpy(), oth["h_agree"].to_numpy()


def _others_codes(humans: HumanData, tie_policy: str) -> dict | None:
    """:func:`_others_agreeing`'s pairwise rows in the codes of :func:`_vote_codes` (``unit``,
    ``item`` per row; ``rater`` into ``raters``, the votes' distinct raters, as is ``vote_rater``
    per vote), kept in the ``memo``; None where the votes are not coded."""
    key = ("others_codes", tie_policy)
    if key in humans.memo:
        return humans.memo[key]
    hc = _vote_codes(humans, tie_policy)
    out = None
    if hc is not None:
        hv, oth = _others_agreeing(humans, "pairwise", tie_policy, 0)
        text, distinct = pd.factorize(np.asarray(hv["unit"], dtype=object))
        first = np.unique(text, return_index=True)[1]  # a vote of each distinct unit text
        unit = hc["unit"][first][pd.Index(distinct).get_indexer(oth["unit"])]
        vote_rater, raters = pd.factorize(np.asarray(hv["rater_id"], dtype=object))
        rater = pd.Index(raters).get_indexer(oth["rater_id"])
        if not (vote_rater < 0).any() and not (rater < 0).any():
            out = dict(
                unit=unit,
                item=hc["items"].get_indexer(oth["item_id"]),
                rater=rater,
                raters=raters,
                vote_rater=vote_rater,
                L=oth["L"].to_numpy(),
                h_agree=oth["h_agree"].to_numpy(),
            )
    humans.memo[key] = out
    return out


def _coded_rater_agreement(ju: JudgeUnits, humans: HumanData, tie_policy: str):
    """:func:`_rater_agreement` of pairwise units (tolerance 0) on integer codes: the same
    rows, order and sums (each (unit, L)'s weighted hits summed by a groupby over the judge's
    rows in the order the merge feeds them); None where the text path is needed."""
    hc = _vote_codes(humans, tie_policy)
    oc = _others_codes(humans, tie_policy) if hc is not None else None
    jc = _judge_vote_codes(ju, humans, hc) if oc is not None else None
    if jc is None or not np.issubdtype(oc["L"].dtype, np.integer):
        return None
    judged = np.unique(jc["unit"][jc["unit"] >= 0])
    voted = np.unique(oc["vote_rater"][np.isin(hc["unit"], judged)])
    raters = sorted(oc["raters"][voted])
    rows = np.flatnonzero(np.isin(oc["unit"], judged))
    unit, L = oc["unit"][rows], oc["L"][rows].astype(np.int64)
    # the distinct (unit, L) in order of first appearance (drop_duplicates), each joined to
    # the judge's units of its unit (the merge on unit)
    u_code = pd.factorize(unit)[0].astype(np.int64)
    d_code = pd.factorize(u_code * (int(L.max(initial=0)) - int(L.min(initial=0)) + 1) + L)[0]
    first = np.unique(d_code, return_index=True)[1]
    d_unit, d_L = unit[first], L[first]
    li, ri = _inner_join_rows(d_unit, jc["unit"])
    label = ju.units["label"].to_numpy()[ri]
    weight = ju.units["weight"].to_numpy()[ri]
    hit = (np.abs(label - d_L[li]) <= 0) * weight
    sums = pd.DataFrame({"hit": hit, "weight": weight}).groupby(li).sum()
    j_of = np.full(len(first), np.nan)
    j_of[sums.index.to_numpy()] = sums["hit"].to_numpy() / sums["weight"].to_numpy()
    has = np.zeros(len(first), dtype=bool)
    has[sums.index.to_numpy()] = True
    keep = has[d_code]  # the inner merge with the judge's agreement drops the others
    c = sorted_pair_codes(ju.memo, "units", ju.units)
    items = c["items"][np.unique(c["codes"][0])]  # the judge's items, sorted
    item_pos = items.get_indexer(hc["items"])
    it = oc["item"][rows][keep]
    ii = np.where(it >= 0, item_pos[it], -1)
    ri_ = pd.Index(raters).get_indexer(oc["raters"])[oc["rater"][rows][keep]]
    return raters, len(items), ii, ri_, j_of[d_code][keep], oc["h_agree"][rows][keep]


def _n_classes(humans: HumanData, protocol: str) -> int:
    if protocol == "pairwise":
        return 3
    return _score_classes(humans.dataset, humans.scores["score"])[1]


def _prepared(verdicts, dataset, protocol, tie_policy, order_aggregation):
    """(judge units, human data) for ``protocol`` (pairwise or single)."""
    if protocol == "pairwise":
        _check_settings(tie_policy, order_aggregation)
    ju = JudgeUnits.of(verdicts, protocol, order_aggregation, tie_policy)
    return ju, HumanData.of(dataset, protocol)


def human_ceiling(
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    units=None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Human-human agreement on the same unit, pooled over every (unit, ordered pair of
    different raters) (Zheng et al. 2023, "Judging LLM-as-a-judge", MT-Bench agreement).

    Pairwise: ``estimate`` = agreement (share of rater pairs with the same vote; under
    ``tie_policy='drop'`` tie votes are removed first, MT-Bench's "without tie"); extra
    column ``kappa`` = Cohen kappa of the pooled rater-pair table. Scores: ``estimate`` =
    quadratic-weighted kappa of the pooled table of rounded scores (``kappa`` the same),
    ``agreement`` = exact agreement. ``units`` restricts to these unit keys (the units the
    judge saw). Item-cluster bootstrap CIs."""
    if protocol == "pairwise":
        _check_settings(tie_policy, "per_call")
    humans = HumanData.of(dataset, protocol)
    v = _human_votes(humans, protocol, tie_policy)
    if units is not None:
        v = v[member_mask(v["unit"], units)]
    k = _n_classes(humans, protocol)
    pairs = v.merge(v, on=["item_id", "unit"], suffixes=("_1", "_2"))
    pairs = pairs[pairs["rater_id_1"] != pairs["rater_id_2"]]
    return _pooled_agreement(
        "human_ceiling",
        pairs["item_id"].to_numpy(),
        pairs["label_1"].to_numpy(),
        pairs["label_2"].to_numpy(),
        np.ones(len(pairs)),
        k,
        protocol,
        None,
        Resampling(n_boot, seed, ci_level),
        n_units=pairs["unit"].nunique(),
        what="two different human raters on the same unit",
    )


def human_vote_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """The judge against each individual human vote on the same unit, pooled over (unit,
    judge unit weight, human vote) exactly as :func:`human_ceiling` pools rater pairs, so
    the two compare (Zheng et al. 2023)."""
    ju, humans = _prepared(verdicts, dataset, protocol, tie_policy, order_aggregation)
    hc = _vote_codes(humans, tie_policy) if protocol == "pairwise" else None
    jc = _judge_vote_codes(ju, humans, hc) if hc is not None else None
    if jc is not None:
        # the merge below on integer codes: the same rows in the same order
        li, ri = _inner_join_rows(jc["pair"], hc["pair"])
        u = ju.units
        cols = (
            u["item_id"].to_numpy()[li],
            hc["label"][ri],
            u["label"].to_numpy()[li],
            u["weight"].to_numpy()[li],
        )
        n_units = len(np.unique(jc["unit"][li]))  # distinct unit texts: distinct (lo, hi)
    else:
        jv = _judge_votes(ju, humans)
        hv = _human_votes(humans, protocol, tie_policy)
        m = jv.merge(hv, on=["item_id", "unit"], suffixes=("_j", "_h"))
        cols = tuple(m[c].to_numpy() for c in ("item_id", "label_h", "label_j", "weight"))
        n_units = m["unit"].nunique()
    k = _n_classes(humans, protocol)
    return _pooled_agreement(
        "human_vote_agreement",
        *cols,
        k,
        protocol,
        judge,
        Resampling(n_boot, seed, ci_level),
        n_units=n_units,
        what="the judge and each individual human vote",
    )


def _pooled_agreement(id_, items, a, b, w, k, protocol, judge, ctx, n_units, what):
    if len(items) == 0:
        return findings_frame([finding(id_, None, judge=judge, n=0, reason=f"no unit with {what}")])
    per_item, _ = per_item_confusion(items, a, b, w, k)
    weights = kappa_weights_for(protocol)
    # both on the same resample totals (each result equals its own ctx.boot)
    kap, acc = ctx.boot_each(
        per_item,
        [lambda t: kappa_from_totals(t, k, weights), lambda t: accuracy_from_totals(t, k)],
    )
    if protocol == "pairwise":
        main, other, oname = acc, kap, "kappa"
        prefix = f"agreement of {what}, pooled over rater pairs (Zheng et al. 2023)"
    else:
        main, other, oname = kap, acc, "agreement"
        prefix = f"quadratic weighted kappa of {what}, pooled over rater pairs"
    extra = {
        oname: other.estimate,
        f"{oname}_ci_low": other.ci_low,
        f"{oname}_ci_high": other.ci_high,
    }
    if protocol != "pairwise":
        extra.update(kappa=kap.estimate, kappa_ci_low=kap.ci_low, kappa_ci_high=kap.ci_high)
    return findings_frame(
        [
            result_row(
                id_,
                main,
                judge=judge,
                slice_=None,
                n=n_units,
                n_excluded=0,
                method_prefix=prefix,
                conclusion=_pooled_conclusion(id_, acc, kap, protocol),
                **extra,
            )
        ]
    )


def _pooled_conclusion(
    id_, acc: BootstrapResult, kap: BootstrapResult, protocol: str
) -> str | None:
    if acc.estimate is None:
        return None
    subject = (
        "Two different humans agree"
        if id_ == "human_ceiling"
        else "The judge agrees with an individual human vote"
    )
    kname = "kappa" if protocol == "pairwise" else "quadratic-weighted kappa"
    k = f"{kap.estimate:.3f}" if kap.estimate is not None else "undefined"
    ci = f" (95% CI {kap.ci_low:.3f} to {kap.ci_high:.3f})" if kap.ci_low is not None else ""
    tail = (
        " (the ceiling to read the judges against)"
        if id_ == "human_ceiling"
        else ", computed like the human ceiling"
    )
    return f"{subject} on {acc.estimate:.1%} of units, {kname} {k}{ci}{tail}"


def alternative_annotator_gap(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    margin: float = AAG_MARGIN,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Alternative-annotator gap (after Calderon et al. 2025, "The Alternative Annotator
    Test for LLM-as-a-Judge").

    For each rater h, on the units h labelled where the *other* raters (at least one) agree
    on one label L: gap_h = mean_units 1[judge = L] - mean_units 1[h = L] (the judge's
    units weighted as in :func:`pairwise_units`). The estimate is the mean of gap_h over
    raters with such units; item-cluster bootstrap CI of the per-item sums
    (judge agreements, h agreements, units) of every rater. The judge is as good as a human
    annotator here when ci_low >= -``margin``. Scores: "agree" means within one scale point
    (exact-or-adjacent agreement) and the others agree when their scores span at most one
    point; L is their rounded median.
    """
    ju, humans = _prepared(verdicts, dataset, protocol, tie_policy, order_aggregation)
    tol = 0 if protocol == "pairwise" else 1
    sums = _coded_rater_agreement(ju, humans, tie_policy) if protocol == "pairwise" else None
    if sums is None:
        sums = _rater_agreement(ju, humans, protocol, tie_policy, tol)
    raters, n_items, ii, ri, j_agree, h_agree = sums
    per_item = np.zeros((n_items, 3 * len(raters)))
    np.add.at(per_item, (ii, 3 * ri), j_agree)
    np.add.at(per_item, (ii, 3 * ri + 1), h_agree)
    np.add.at(per_item, (ii, 3 * ri + 2), 1.0)
    nr = len(raters)

    def stat(t):
        t = np.asarray(t).reshape(t.shape[0], nr, 3)
        with np.errstate(invalid="ignore", divide="ignore"):
            gaps = (t[:, :, 0] - t[:, :, 1]) / t[:, :, 2]
        return (
            np.nanmean(np.where(t[:, :, 2] > 0, gaps, np.nan), axis=1)
            if nr
            else np.full(t.shape[0], np.nan)
        )

    n_units = int(per_item[:, 2::3].sum())
    if nr < 2 or n_units == 0:
        return findings_frame(
            [
                finding(
                    "alternative_annotator_gap",
                    None,
                    judge=judge,
                    n=n_units,
                    reason="needs at least 2 human raters with units where the other raters agree",
                )
            ]
        )
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = Resampling(n_boot, seed, ci_level).boot(per_item, stat)
    tot = per_item.sum(0).reshape(nr, 3)
    per_rater = {
        h: (float((tot[i, 0] - tot[i, 1]) / tot[i, 2]) if tot[i, 2] else None)
        for i, h in enumerate(raters)
    }
    as_good = res.ci_low is not None and res.ci_low >= -margin
    concl = None
    if res.estimate is not None:
        concl = (
            f"judge agreement with the other raters minus a rater's own: {res.estimate:+.3f}"
            + (
                f" (CI {res.ci_low:+.3f} to {res.ci_high:+.3f}); "
                if res.ci_low is not None
                else "; "
            )
            + (
                f"as good as a human annotator here (ci_low >= -{margin:.2f})"
                if as_good
                else f"not shown to be as good as a human annotator (ci_low < -{margin:.2f} or no CI)"
            )
        )
    return findings_frame(
        [
            result_row(
                "alternative_annotator_gap",
                res,
                judge=judge,
                slice_=None,
                n=n_units,
                n_excluded=0,
                method_prefix="per rater: judge minus rater agreement with the other raters' label, mean over raters (Calderon et al. 2025)",
                conclusion=concl,
                as_good_as_human=bool(as_good),
                per_rater=json.dumps(per_rater),
            )
        ]
    )


# =====================================================================================
# signed bias per family, generator ranking, separability
# =====================================================================================
