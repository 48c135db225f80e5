"""The judge comparison's certified cascade: cheap judge -> ensemble -> humans
(docs/statistics.md#certified-cascade; the statistics are :mod:`judgelab.stats.certify`).

Per pair (the unit; its item is the cluster), from tidy verdicts:

- the cheap judge decides with its ``consistent_only`` winner (orders that disagree: a tie);
  its confidence is :func:`judgelab.stats.confidence.verdict_confidence` at pair level, from
  the source :func:`judgelab.stats.confidence.default_source` names (:func:`pair_confidence`);
- the ensemble decides with the plurality of its members' decisions (an even split: a tie);
  its confidence is the plurality's vote share (source ``ensemble``);
- ``agree`` is 1 when a judge's winner is the human reference, 0 when not, and NaN (counted
  as a disagreement) for a pair the humans voted on without a majority; a pair without any
  human vote is no calibration unit (excluded and counted).

The items are split at random (``seed``) into a calibration share and a held-out rest. Per
``alpha``, the cascade is certified on the calibration pairs (:func:`certify_cascade`, delta
/ 2 per judge) and measured on the held-out pairs: coverage per judge and overall, agreement
with humans on the kept pairs with its CI, abstention (pairs left to humans) and the cost of
the calls per 1,000 pairs (the cheap judge on every pair, the ensemble on the pairs the cheap
judge does not keep). The pairs no judge keeps go to the escalation queue
(:func:`judgelab.stats.queue.certified_queue`).

:func:`certified_escalation` is the calibration audit's queue: each judge (and the panel's
majority) certified on its own, the pairs below its threshold queued.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.identity import IDENTITY_COLUMNS
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement import aggregate_orders
from judgelab.stats.certify import HUMAN, cascade_routes, certify_cascade, certify_stage
from judgelab.stats.compare import identity_of
from judgelab.stats.confidence import default_source, verdict_confidence
from judgelab.stats.intervals import edge_share_interval
from judgelab.stats.queue import certified_queue
from judgelab.stats.reference import pair_key, reference_by_key
from judgelab.stats.resampling import cluster_bootstrap
from judgelab.stats.units import (
    PAIR_KEY_SEPARATOR,
    PairLabels,
    member_mask,
    pair_labels,
    sorted_pair,
)
from judgelab.stats.votes import TIE, first_modes

__all__ = [
    "DEFAULT_ALPHAS",
    "cascade_units",
    "certified_cascade",
    "certified_escalation",
    "ensemble_decisions",
    "pair_confidence",
    "pair_decisions",
    "split_items",
]

IDENTITY = list(IDENTITY_COLUMNS)
#: tolerated disagreement with humans, one guarantee each
DEFAULT_ALPHAS = (0.05, 0.1, 0.15, 0.2, 0.3)


def pair_confidence(
    verdicts: pd.DataFrame, decisions: pd.DataFrame, labels: PairLabels | None = None
) -> tuple[np.ndarray, str]:
    """The confidence of each decided pair (``decisions``: ``pair_key, lo, hi, winner``) of
    one identity, and its source: :func:`judgelab.stats.confidence.verdict_confidence` at
    pair level with the source of :func:`judgelab.stats.confidence.default_source`, read at
    the pair's decided winner (the probability, or vote share, of the verdict the cascade
    acts on; the two coincide except where repeats outvote one order, which
    ``consistent_only`` reads per order first). A pair the source does not cover is nan: no
    threshold keeps it (a missing confidence is never replaced by 1). ``labels``:
    :func:`judgelab.stats.units.pair_labels` of ``verdicts`` if the caller has them."""
    labels = pair_labels(verdicts) if labels is None else labels
    return _pair_confidence(verdicts, decisions, labels, _coded_pairs(verdicts, labels, decisions))


def _pair_confidence(verdicts, decisions, labels, coded) -> tuple[np.ndarray, str]:
    """:func:`pair_confidence` with the pairs coded (:func:`_coded_pairs`)."""
    source = default_source(verdicts)
    conf = np.full(len(decisions), np.nan)
    if source is None or decisions.empty:
        return conf, source
    vc = verdict_confidence(verdicts, source, level="pair", labels=labels)
    vc = vc[vc["confidence"].notna()]
    if coded is None:
        probs = vc.set_index(pair_key(vc["lo"], vc["hi"]))[["p_lo", "p_hi", "p_tie"]]
        probs = probs[~probs.index.duplicated()].reindex(decisions["pair_key"]).to_numpy(float)
    else:  # the same match on pair codes (no text key built)
        ids, _, decided = coded
        have = _pair_of(ids, vc["lo"], vc["hi"])
        first = ~pd.Index(have).duplicated() & (have >= 0)
        pos = pd.Index(have[first]).get_indexer(decided)
        probs = vc[["p_lo", "p_hi", "p_tie"]].to_numpy(float)[first]
        probs = np.where((pos >= 0)[:, None], probs[pos] if len(probs) else np.nan, np.nan)
    w = decisions["winner"].astype(str).to_numpy(dtype=object)
    col = np.select([w == decisions["lo"].to_numpy(dtype=object),
                     w == decisions["hi"].to_numpy(dtype=object)], [0, 1], 2)  # fmt: skip
    return probs[np.arange(len(decisions)), col], source


def pair_decisions(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per pair of one identity: ``pair_key, item_id, lo, hi``, its ``consistent_only``
    winner, ``confidence`` (:func:`pair_confidence`; nan where its source does not cover the
    pair) and ``cost`` (stored cost of its calls). ``attrs["confidence_source"]`` names the
    source (None: the verdicts support none, and the judge keeps nothing)."""
    # the columns the order rule reads, without an identity column that holds one value (it
    # adds no group; hashing it in each groupby of the rule was a third of the rule's cost)
    read = [c for c in IDENTITY if c in verdicts.columns and verdicts[c].nunique(dropna=False) > 1]
    dec = aggregate_orders(verdicts[read + [c for c in _DECIDE if c in verdicts.columns]],
                           "consistent_only")  # fmt: skip
    # compare.units' unit under consistent_only: the first row of each pair key
    keys = pair_key(dec["response_a"], dec["response_b"])
    first = ~pd.Index(keys).duplicated()
    dec = dec.loc[first, ["item_id", "response_a", "response_b", "winner"]]
    dec.insert(0, "pair_key", keys[first])
    lo, hi = sorted_pair(dec.pop("response_a"), dec.pop("response_b"))
    dec["lo"], dec["hi"] = lo, hi
    # the verdicts' and the decisions' pairs coded once: the confidence and the cost read
    # the same codes
    labels = pair_labels(verdicts)
    coded = _coded_pairs(verdicts, labels, dec)
    dec["confidence"], source = _pair_confidence(verdicts, dec, labels, coded)
    dec["cost"] = _pair_cost(verdicts, dec, coded)
    dec = dec.reset_index(drop=True)
    dec.attrs["confidence_source"] = source
    return dec


#: the columns :func:`pair_decisions`' order rule reads (``aggregate_orders``)
_DECIDE = ["item_id", "response_a", "response_b", "order", "winner", "parse_ok"]


def _pair_cost(verdicts: pd.DataFrame, dec: pd.DataFrame, coded) -> np.ndarray:
    """The summed stored ``cost_usd`` (missing: 0) of the calls of each pair of ``dec``
    (``pair_key, lo, hi``; 0 for a pair no call has): a groupby of the calls' costs by their
    :func:`pair_key`, on pair codes where they are the same groups (``coded``:
    :func:`_coded_pairs` of ``verdicts`` and ``dec``)."""
    cost = pd.to_numeric(verdicts.get("cost_usd", pd.Series(0.0, index=verdicts.index)),
                         errors="coerce").fillna(0.0)  # fmt: skip
    if coded is None:
        by_key = cost.groupby(pair_key(verdicts["response_a"], verdicts["response_b"])).sum()
        return dec["pair_key"].map(by_key).fillna(0.0).to_numpy(float)
    _, row_pair, decided = coded
    group, pairs = pd.factorize(row_pair)
    sums = pd.Series(cost.to_numpy(float)).groupby(group).sum().to_numpy(float)
    pos = pd.Index(pairs).get_indexer(decided)
    return np.where(pos >= 0, sums[pos], 0.0) if len(sums) else np.zeros(len(pos))


def _coded_pairs(verdicts: pd.DataFrame, labels: PairLabels, decisions: pd.DataFrame):
    """``(ids, pair, decided)``: the distinct response ids (an object Index), each row's
    unordered pair of them as an integer (``lo * (len(ids) + 1) + hi`` of the codes of
    ``labels``, :func:`judgelab.stats.units.pair_labels` of ``verdicts``) and the same code of
    each decided pair (``decisions``' ``lo, hi``; -1: an id no verdict has).

    Equal codes are equal :func:`pair_key` s and the reverse when every id is text without
    the key's separator; otherwise (missing ids, other types, an id with a ``|``: two pairs
    could share a key) None, and callers match the text keys."""
    a, b = verdicts["response_a"], verdicts["response_b"]
    if not (a.dtype == "str" and b.dtype == "str" and not (a.hasnans or b.hasnans)):
        return None
    ids = labels.ids
    if ids.str.contains(PAIR_KEY_SEPARATOR, regex=False).any():
        return None
    decided = _pair_of(ids, decisions["lo"], decisions["hi"])
    return ids, labels.lo.astype(np.int64) * (len(ids) + 1) + labels.hi, decided


def _pair_of(ids: pd.Index, lo, hi) -> np.ndarray:
    """The pair code (:func:`_coded_pairs`) of each ``lo, hi`` (text); -1 for an id not in
    ``ids``. Looked up as objects, as ``ids`` holds them (a text column against an object
    Index takes a slower path)."""
    lo = ids.get_indexer(pd.Index(np.asarray(lo, dtype=object), dtype=object))
    hi = ids.get_indexer(pd.Index(np.asarray(hi, dtype=object), dtype=object))
    code = np.minimum(lo, hi).astype(np.int64) * (len(ids) + 1) + np.maximum(lo, hi)
    return np.where((lo >= 0) & (hi >= 0), code, -1)


def ensemble_decisions(ensemble: pd.DataFrame) -> pd.DataFrame:
    """Plurality winner per pair over the ensemble's identities (an even split: a tie), its
    vote share as ``confidence``, and the summed ``cost`` of the members' calls."""
    return _ensemble_of([pair_decisions(g) for _, g in ensemble.groupby(IDENTITY, sort=False)])


def _ensemble_of(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """:func:`ensemble_decisions` from the members' :func:`pair_decisions` (one frame each)."""
    d = pd.concat(parts, ignore_index=True)
    # mode_winner's rule per pair key (votes.first_modes) on codes of the pair key and the
    # winner, each text column hashed once (pair_decisions always names a winner; a missing
    # one would count as a value of its pair, never as a vote)
    pair_codes, pairs = pd.factorize(d["pair_key"])
    w_code, winners = pd.factorize(d["winner"], use_na_sentinel=False)
    # the (pair, winner) cells numbered in order of first appearance, their first rows
    cell = pd.factorize(pair_codes * np.int64(len(winners)) + w_code)[0]
    count = np.bincount(cell)
    first = np.unique(cell, return_index=True)[1]
    rows, split = first_modes(pair_codes[first], count)
    b_row = first[rows]  # the first row of each pair's modal winner
    b_pair = pair_codes[b_row]
    best = pd.DataFrame({"pair_key": pd.Index(np.asarray(pairs, dtype=object)).take(b_pair).array})
    best = best.assign(
        winner=np.where(split, TIE, d["winner"].iloc[b_row].to_numpy(dtype=object, na_value=np.nan))
    )
    # the share of the members voting the plurality winner (0 for a tie no member voted; a
    # missing winner is never counted as a vote)
    n = np.bincount(pair_codes, minlength=len(pairs))
    tie = np.flatnonzero(np.asarray(winners, dtype=object) == TIE)
    ties = pair_codes[w_code == tie[0]] if len(tie) else np.zeros(0, dtype=np.int64)
    k = np.where(split, np.bincount(ties, minlength=len(pairs))[b_pair], count[rows])
    k = np.where(pd.isna(best["winner"]).to_numpy(), 0, k)
    out = best.assign(confidence=np.asarray(k / n[b_pair], dtype=float))
    # summed per pair on its code (the groups and row order of a groupby on the text key)
    out["cost"] = d["cost"].groupby(pair_codes).sum().to_numpy()[b_pair]
    out.attrs["n_members"] = len(parts)
    return out.reset_index(drop=True)


def cascade_units(cheap: pd.DataFrame, ensemble: pd.DataFrame, reference: pd.DataFrame):
    """Pairs decided by both passes with a human vote, one row each: ``pair_key, item_id,
    lo, hi``, per pass (``_cheap``, ``_ens``) its ``winner``, ``confidence``, ``cost`` and
    ``agree`` (NaN: no human majority). ``reference.attrs["no_majority"]`` lists the pair keys
    the humans voted on without a majority; other pairs missing from ``reference`` have no
    human vote and are excluded (``attrs["n_no_vote"]``)."""
    c = pair_decisions(cheap)
    e = ensemble_decisions(ensemble)
    m = c.merge(e, on="pair_key", suffixes=("_cheap", "_ens"))
    ref = reference_by_key(reference)
    no_majority = list(reference.attrs.get("no_majority", ()))
    has_vote = member_mask(m["pair_key"], ref.index) | member_mask(m["pair_key"], no_majority)
    out = m[has_vote].reset_index(drop=True)
    out["reference"] = out["pair_key"].map(ref)
    for p in ("cheap", "ens"):
        agree = (out[f"winner_{p}"] == out["reference"]).astype(float)
        out[f"agree_{p}"] = agree.where(out["reference"].notna())
    out.attrs.update(
        n_no_vote=int((~has_vote).sum()),
        confidence_source=c.attrs["confidence_source"],
        n_members=e.attrs["n_members"],
    )
    return out


def split_items(items, share: float, seed: int) -> np.ndarray:
    """True for the units whose item falls in the calibration share (a seeded split of the
    distinct items, so that no item is in both halves)."""
    if not 0 < share < 1:
        raise ValueError(f"calibration_share must lie in (0, 1), not {share}")
    items = pd.Series(np.asarray(items, dtype=object)).astype(str)
    uniq = np.sort(items.unique())
    rng = np.random.default_rng(seed)
    cal = rng.permutation(uniq)[: int(round(share * uniq.size))]
    return member_mask(items, cal)


def _share_ci(agree: np.ndarray, items: np.ndarray, n_boot: int, seed: int) -> dict:
    """Estimate and 95% CI of a share over pairs clustered by item: Clopper-Pearson on
    effective counts at the edges or with few items (:mod:`judgelab.stats.intervals`), else
    the item-cluster bootstrap."""
    df = pd.DataFrame({"item": items, "k": agree, "n": 1.0}).groupby("item", sort=False).sum()
    k, n = df["k"].to_numpy(float), df["n"].to_numpy(float)
    edge = edge_share_interval(k, n)
    if edge is not None:
        return dict(estimate=k.sum() / n.sum(), ci_low=edge.ci_low, ci_high=edge.ci_high,
                    method=edge.method)  # fmt: skip
    b = cluster_bootstrap(np.column_stack([k, n]), lambda t: t[:, 0] / t[:, 1], n_boot=n_boot,
                          seed=seed)  # fmt: skip
    return b.finding_kwargs()


def certified_cascade(
    cheap: pd.DataFrame,
    ensemble: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    alphas=DEFAULT_ALPHAS,
    delta: float = 0.1,
    calibration_share: float = 0.5,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The certified two-judge cascade per alpha (module docstring).

    Returns
    -------
    findings : DataFrame
        ``certified_threshold``, ``certified_coverage`` and ``certified_agreement`` per judge
        and alpha (slice ``{alpha: a}``), plus the whole cascade's coverage and agreement
        (``judge`` None; ``abstention`` and ``cost_per_1k_usd`` on the coverage row).
    table : DataFrame
        One row per alpha for the figure and the report.
    queue : DataFrame
        The pairs no judge keeps, per alpha (:func:`judgelab.stats.queue.certified_queue`).
    """
    cheap_id = identity_of(cheap)
    u = cascade_units(cheap, ensemble, reference)
    ens_id = f"ensemble|majority|majority-of-{u.attrs['n_members']}"
    judges = [cheap_id, ens_id]
    sources = [u.attrs["confidence_source"], "ensemble"]
    undefined = reference.attrs.get("undefined_reason")
    if undefined or u.empty:
        reason = undefined or "no pair decided by both passes has a human vote"
        rows = [
            finding(fid, None, judge=j, slice={"alpha": float(a)}, n=0, reason=reason)
            for a in alphas
            for fid in ("certified_threshold", "certified_coverage", "certified_agreement")
            for j in (*judges, None)
            if not (fid == "certified_threshold" and j is None)
        ]
        return findings_frame(rows), pd.DataFrame(), certified_queue(u.iloc[:0], [], [])
    cal = split_items(u["item_id"], calibration_share, seed)
    confs = [u["confidence_cheap"].to_numpy(float), u["confidence_ens"].to_numpy(float)]
    agrees = [u["agree_cheap"].to_numpy(float), u["agree_ens"].to_numpy(float)]
    items = u["item_id"].astype(str).to_numpy()
    rows, table, routes = [], [], []
    for a in alphas:
        certs = certify_cascade([x[cal] for x in confs], [x[cal] for x in agrees], items[cal],
                                alpha=float(a), delta=delta)  # fmt: skip
        route = cascade_routes(certs, confs)
        routes.append(route)
        r, t = _alpha_rows(u, cal, certs, route, judges, sources, float(a), n_boot, seed)
        rows += r
        table.append(t)
    queue = certified_queue(u, [float(a) for a in alphas], routes, judge=ens_id)
    return findings_frame(rows), pd.DataFrame(table), queue


def _alpha_rows(u, cal, certs, route, judges, sources, alpha, n_boot, seed):
    """Findings rows and the table row of one alpha (held-out measurements)."""
    held = ~cal
    sl = {"alpha": alpha}
    items = u["item_id"].astype(str).to_numpy()
    n_held = int(held.sum())
    rows, trow = [], {"alpha": alpha, "guaranteed_agreement": 1 - alpha, "n_calibration":
                      int(cal.sum()), "n_held_out": n_held}  # fmt: skip
    guarantee = (
        f"guarantee: with probability >= {1 - certs[0].delta * len(certs):.0%} over calibration "
        f"draws, disagreement <= {alpha:g} on the pairs each judge keeps (marginal; not per "
        "family, not under shift)"
    )
    for k, (cert, judge, source) in enumerate(zip(certs, judges, sources, strict=True)):
        stage = ("cheap", "ens")[k]
        method = (
            f"fixed-sequence test on {cert.n_units} calibration pairs reaching this judge, "
            f"descending label-free confidence grid, one-sided Clopper-Pearson at "
            f"1-{cert.delta:g} (delta/{len(certs)}, union bound) on effective counts, at least "
            f"{cert.n_min} kept items per threshold; confidence source {source}"
        )
        rows.append(
            finding(
                "certified_threshold", cert.threshold, judge=judge, slice=sl, ci_level=None,
                n=cert.n_units, n_excluded=0, method=method, reason=cert.reason,
                conclusion=cert.describe(), confidence_source=source,
                n_no_majority=cert.n_no_majority, n_min=cert.n_min,
            )
        )  # fmt: skip
        kept = held & (route == k)
        trow[f"threshold_{stage}"] = cert.threshold
        trow[f"coverage_{stage}"] = kept.sum() / n_held if n_held else np.nan
        rows += _kept_rows(u[f"agree_{stage}"].to_numpy(float), kept, held, items, judge, sl,
                           source, guarantee, n_boot, seed)  # fmt: skip
    any_kept = held & (route != HUMAN)
    win_agree = np.where(route == 1, u["agree_ens"], u["agree_cheap"]).astype(float)
    cost = u["cost_cheap"].to_numpy(float) + np.where(route == 0, 0.0, u["cost_ens"])
    priced = bool((u["cost_cheap"] > 0).any() or (u["cost_ens"] > 0).any())
    cost_1k = 1000 * float(cost[held].mean()) if priced and n_held else None
    overall = _kept_rows(win_agree, any_kept, held, items, None, sl, "cascade", guarantee,
                         n_boot, seed)  # fmt: skip
    overall[0]["abstention"] = (
        1 - overall[0]["estimate"] if overall[0]["estimate"] is not None else None
    )
    overall[0]["cost_per_1k_usd"] = cost_1k
    rows += overall
    trow.update(
        coverage=overall[0]["estimate"], abstention=overall[0]["abstention"],
        agreement=overall[1]["estimate"], ci_low=overall[1]["ci_low"],
        ci_high=overall[1]["ci_high"], cost_per_1k_usd=cost_1k,
    )  # fmt: skip
    return rows, trow


def _kept_rows(agree, kept, held, items, judge, sl, source, guarantee, n_boot, seed):
    """``certified_coverage`` and ``certified_agreement`` of one judge (or the cascade) on
    the held-out pairs."""
    n_held, n_kept = int(held.sum()), int(kept.sum())
    who = "the cascade" if judge is None else "this judge"
    cov = finding(
        "certified_coverage", n_kept / n_held if n_held else None, judge=judge, slice=sl,
        ci_level=None, n=n_held, method="share of held-out pairs kept", confidence_source=source,
        reason=None if n_held else "no held-out pair",
        conclusion=f"{who} keeps {n_kept} of {n_held} held-out pairs" if n_held else None,
    )  # fmt: skip
    if not n_kept:
        agr = finding(
            "certified_agreement", None, judge=judge, slice=sl, n=0, confidence_source=source,
            guaranteed=1 - sl["alpha"], reason=f"{who} keeps no held-out pair",
        )  # fmt: skip
        return [cov, agr]
    a = np.nan_to_num(agree[kept], nan=0.0)  # no human majority counts as a disagreement
    kw = _share_ci(a, items[kept], n_boot, seed)
    kw["method"] = f"{kw['method']}; held-out pairs kept; {guarantee}"
    agr = finding(
        "certified_agreement", judge=judge, slice=sl, n=n_kept, confidence_source=source,
        guaranteed=1 - sl["alpha"],
        conclusion=f"on the {n_kept} held-out pairs {who} keeps, agreement with humans "
        f"{kw['estimate']:.3f} (guaranteed >= {1 - sl['alpha']:.2f})",
        **kw,
    )  # fmt: skip
    return [cov, agr]


def certified_escalation(
    verdicts: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    alpha: float = 0.1,
    delta: float = 0.1,
    calibration_share: float = 0.5,
    seed: int = 0,
    ensemble: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The calibration audit's certified escalation: per judge (and the panel's majority),
    the confidence threshold certified on a calibration share of the items
    (:func:`judgelab.stats.certify.certify_stage` at ``alpha``, ``delta``; each judge its own
    guarantee, since each is an alternative to the others, not a stage after them), and the
    pairs below it (calibration and held-out: every pair the judge should not decide alone).

    Returns
    -------
    queue : DataFrame
        :data:`judgelab.stats.queue.QUEUE_COLUMNS`, reason ``not_certified``, value ``alpha``.
    summary : DataFrame
        Per judge: ``judge, confidence_source, threshold, n_calibration, coverage_held_out,
        agreement_held_out, certificate`` (the sentence of the certificate).
    """
    # one judge's rows at a time, by group number (the nine slices held at once, or a
    # groupby's sorted copy for its iteration, are a copy of the verdicts)
    gid = verdicts.groupby(IDENTITY, sort=False).ngroup().to_numpy()
    deciders = []
    for k in range(int(gid.max()) + 1 if len(gid) else 0):
        g = verdicts[gid == k]
        deciders.append((identity_of(g), pair_decisions(g)))
        del g
    n_judges = len(deciders)
    if ensemble and n_judges > 1:
        # the members' decisions are the judges' own: decided once, not again for the panel
        ens = _ensemble_of([d for _, d in deciders])
        deciders.append((f"ensemble|majority|majority-of-{ens.attrs['n_members']}", ens))
    keyed = _KeyedPairs(deciders, n_judges, reference)
    queues, summary = [], []
    for k, (judge, d) in enumerate(deciders):
        ref_row, first = keyed.of(k)
        has_ref = ref_row >= 0
        keep = has_ref | keyed.no_majority[keyed.codes[k]]
        d, has_ref, ref_row, first = (
            d[keep].reset_index(drop=True),
            *(x[keep] for x in (has_ref, ref_row, first)),
        )
        ref_win = _take(keyed.ref_values, ref_row, "")
        agree = (d["winner"] == ref_win).astype(float)
        agree = agree.where(has_ref).to_numpy(float)
        items = _take(keyed.items, first, "nan")  # "nan": the text of a missing item
        conf = d["confidence"].to_numpy(float)
        cal = split_items(items, calibration_share, seed) if len(d) else np.zeros(0, bool)
        cert = certify_stage(conf[cal], agree[cal], items[cal], alpha=alpha, delta=delta)
        kept = cert.kept(conf)
        held = ~cal
        summary.append(
            {
                "judge": judge,
                "confidence_source": d.attrs.get("confidence_source", "ensemble"),
                "threshold": cert.threshold,
                "n_calibration": int(cal.sum()),
                "coverage_held_out": kept[held].mean() if held.any() else np.nan,
                "agreement_held_out": np.nan_to_num(agree[kept & held], nan=0.0).mean()
                if (kept & held).any()
                else np.nan,
                "certificate": cert.describe(),
            }
        )
        units = keyed.lohi.iloc[first[~kept]]
        queues.append(certified_queue(units, [alpha], [np.full(len(units), HUMAN)], judge=judge))
    queue = (
        pd.concat(queues, ignore_index=True)
        if queues
        else certified_queue(keyed.lohi.iloc[:0], [], [])
    )
    return queue, pd.DataFrame(summary)


class _KeyedPairs:
    """The pair keys of :func:`certified_escalation`'s deciders and of the reference coded
    once into one code space (each text key hashed once, not once per lookup and judge).

    ``codes[k]``: the key code of each row of decider ``k``; ``of(k)``: per row, its row in
    the reference (first row of the key; -1: none) and its first row among the judges'
    decisions (``lohi``: ``item_id, lo, hi``, in the judges' order; -1: none);
    ``no_majority[code]``: the key is one the humans voted on without a majority;
    ``ref_values``: the reference's winners; ``items``: ``lohi``'s items as text."""

    def __init__(self, deciders, n_judges: int, reference: pd.DataFrame):
        keys = [d["pair_key"] for _, d in deciders]
        sizes = [len(x) for x in keys]
        # the reference's columns as arrays: each pandas step on it deep-copies its attrs
        ref_keys = pd.Series(reference["pair_key"].to_numpy())
        code, uniq = pd.factorize(pd.concat([*keys, ref_keys], ignore_index=True))
        n_dec = sum(sizes)
        self.codes = np.split(code[:n_dec], np.cumsum(sizes)[:-1])
        self.ref_at = _first_rows(code[n_dec:], len(uniq))
        self.ref_values = reference["reference"].to_numpy(dtype=object)
        self.no_majority = np.zeros(len(uniq), dtype=bool)
        members = pd.Index(list(reference.attrs.get("no_majority", ())), dtype=object)
        pos = pd.Index(uniq).get_indexer(members)
        self.no_majority[pos[pos >= 0]] = True
        n_lohi = sum(sizes[:n_judges])
        self.lohi_at = _first_rows(code[:n_lohi], len(uniq))
        self.lohi = pd.concat(
            [d[["item_id", "lo", "hi"]] for _, d in deciders[:n_judges]], ignore_index=True
        )
        self.items = self.lohi["item_id"].astype(str).to_numpy()

    def of(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        c = self.codes[k]
        return self.ref_at[c], self.lohi_at[c]


def _first_rows(code: np.ndarray, n: int) -> np.ndarray:
    """Per code 0..n-1, the first row holding it (-1: none)."""
    at = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(~pd.Index(code).duplicated())
    at[code[rows]] = rows
    return at


def _take(values: np.ndarray, rows: np.ndarray, missing) -> np.ndarray:
    """``values[rows]`` (an object array), ``missing`` where a row is -1."""
    out = np.full(len(rows), missing, dtype=object)
    out[rows >= 0] = values[rows[rows >= 0]]
    return out
