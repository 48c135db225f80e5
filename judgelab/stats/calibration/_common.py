"""Plumbing shared by the audit's statistics: per-item confusion counts, the bootstrap
settings, and finding rows built from a bootstrap result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding
from judgelab.stats.calibration.units import win_value
from judgelab.stats.groups import group_numbers
from judgelab.stats.intervals import share_finding_kwargs
from judgelab.stats.resampling import BootstrapResult, cluster_bootstrap, cluster_bootstrap_each


def per_item_confusion(items: np.ndarray, ref: np.ndarray, lab: np.ndarray, w: np.ndarray, k: int):
    """``(n_items, k*k)`` weighted confusion counts per item (rows: reference), items in
    order of first appearance, and the number of items."""
    codes, uniq = pd.factorize(pd.Series(items))
    out = np.zeros((len(uniq), k * k))
    np.add.at(out, (codes, ref.astype(int) * k + lab.astype(int)), w)
    return out, len(uniq)


def human_pair_win_shares(humans, side: int, tie_policy: str) -> pd.Series:
    """The humans' mean win of side ``side``'s response (0: ``lo``, 1: ``hi``) per pair
    ``(item_id, lo, hi)``, ties per ``tie_policy``, named ``human``.

    It depends on the human votes only, so it is computed once per prepared
    :class:`~judgelab.stats.calibration.units.HumanData` and kept in its ``memo`` (signed
    bias and ranking read it for every judge: 0.26 s per side and judge at 1M verdicts)."""
    memo = humans.memo
    key = ("pair_win_shares", int(side), tie_policy)
    if key not in memo:
        hv = humans.votes
        hh = hv.assign(win=win_value(hv["label"].to_numpy(), side, tie_policy))
        memo[key] = (
            hh[np.isfinite(hh["win"])]
            .groupby(["item_id", "lo", "hi"])["win"]
            .mean()
            .rename("human")
        )
    return memo[key]


def pair_win_shares(ju, humans, side: int, tie_policy: str) -> pd.DataFrame:
    """Per pair judged by the judge and voted on by the humans, ``item_id, lo, hi, judge,
    human``: the judge's weighted win share of side ``side``'s response (0: ``lo``, 1: ``hi``;
    ties per ``tie_policy``) on its class units and the humans' (:func:`human_pair_win_shares`),
    pairs in sorted order.

    ``ju``: prepared :class:`~judgelab.stats.calibration.units.JudgeUnits` (class units); the
    frame is kept in its ``memo`` for these ``humans`` (signed bias and ranking read the same
    one). Callers must not modify it."""
    return coded_pair_win_shares(ju, humans, side, tie_policy)[0]


def coded_pair_win_shares(ju, humans, side: int, tie_policy: str):
    """(:func:`pair_win_shares`, its rows' ``lo`` and ``hi`` as codes into ``resp``, ``resp``,
    its rows' ``item_id`` as codes into ``items``, ``items``): the ids of the frame as the
    codes of the judge's class units (:func:`sorted_pair_codes`), so that a lookup per
    response reads each distinct id once."""
    key = ("pair_win_shares", int(side), tie_policy)
    kept = ju.memo.get(key)
    if kept is not None and kept[0] is humans:
        return kept[1]
    units = ju.class_units
    c = sorted_pair_codes(ju.memo, "class_units", units)
    item, lo, hi = c["codes"]
    win = win_value(units["label"].to_numpy(), side, tie_policy)
    # a missing key (code -1) is no group, as in a groupby on the text
    ok = np.isfinite(win) & (item >= 0) & (lo >= 0) & (hi >= 0)
    weight = units["weight"].to_numpy()[ok]
    # grouped on the sorted codes: the groups and their order (and each group's rows, summed
    # in the same order) of a groupby on the three text columns
    g = pd.DataFrame({"ww": win[ok] * weight, "weight": weight})
    g = g.groupby([item[ok], lo[ok], hi[ok]]).sum()
    j_codes = [g.index.get_level_values(k).to_numpy() for k in range(3)]
    judge = g["ww"].to_numpy() / g["weight"].to_numpy()
    h = human_pair_win_shares(humans, side, tie_policy)
    # the inner join of the judge's pairs (sorted) with the humans' (sorted, unique), in the
    # judge's order, on integer codes: the humans' pairs coded in the judge's code space (a
    # value the judge lacks: -1, no match)
    spaces = (c["items"], c["resp"], c["resp"])
    h_codes = [
        np.where(lev_codes >= 0, sp.get_indexer(lev)[lev_codes], -1)
        for sp, lev, lev_codes in zip(spaces, h.index.levels, h.index.codes, strict=True)
    ]
    h_ok = (h_codes[0] >= 0) & (h_codes[1] >= 0) & (h_codes[2] >= 0)
    nj = len(judge)
    both = group_numbers(
        [np.concatenate([jc, hc[h_ok]]) for jc, hc in zip(j_codes, h_codes, strict=True)]
    )
    at = pd.Index(both[nj:]).get_indexer(both[:nj])
    sel = np.flatnonzero(at >= 0)
    lo_c, hi_c = j_codes[1][sel], j_codes[2][sel]
    out = pd.DataFrame(
        {
            # the text columns typed as reset_index types a join's keys (str)
            "item_id": c["items"].take(j_codes[0][sel]).to_numpy(),
            "lo": c["resp"].take(lo_c).to_numpy(),
            "hi": c["resp"].take(hi_c).to_numpy(),
            "judge": judge[sel],
            "human": h.to_numpy()[h_ok][at[sel]],
        }
    )
    kept = (out, lo_c, hi_c, c["resp"], j_codes[0][sel], c["items"])
    ju.memo[key] = (humans, kept)
    return kept


def lookup_codes(memo: dict, lookup, ids: pd.Index) -> np.ndarray:
    """``lookup.codes`` (a :class:`~judgelab.stats.calibration.units.ResponseLookup`) of each
    of ``ids`` (the distinct ids a judge's codes index), kept in ``memo`` for this lookup and
    these ids: the family slices and the signed bias of a judge read the same array."""
    key = ("lookup_codes", id(lookup), id(ids))
    kept = memo.get(key)
    if kept is None or kept[0] is not lookup or kept[1] is not ids:
        kept = memo[key] = (lookup, ids, lookup.codes(ids.to_numpy()))
    return kept[2]


def sorted_pair_codes(memo: dict, name: str, frame: pd.DataFrame) -> dict:
    """The pairs of ``frame`` (``item_id, lo, hi``) as integer codes, computed once and kept in
    ``memo`` under ``name`` (the memo of the :class:`JudgeUnits` or :class:`HumanData` that
    holds ``frame``): ``items`` and ``resp`` (the sorted distinct item and response ids, object
    Indexes) and ``codes`` (item, lo, hi per row; -1 missing). Code order is text order, so a
    sorted groupby on the codes orders groups as on the text."""
    key = ("sorted_pair_codes", name)
    rows = memo.get(("unit_rows", name))  # a JudgeUnits' units of verdict rows: coded there
    if key not in memo and rows is not None:
        memo[key] = rows.sorted_codes()
    if key not in memo:
        item, items = pd.factorize(np.asarray(frame["item_id"], dtype=object), sort=True)
        both = np.concatenate([np.asarray(frame[c], dtype=object) for c in ("lo", "hi")])
        codes, resp = pd.factorize(both, sort=True)
        memo[key] = dict(
            items=pd.Index(np.asarray(items, dtype=object), dtype=object),
            resp=pd.Index(np.asarray(resp, dtype=object), dtype=object),
            codes=(item, codes[: len(frame)], codes[len(frame) :]),
        )
    return memo[key]


@dataclass
class Resampling:
    """Item-cluster bootstrap settings of one audit."""

    n_boot: int = 2000
    seed: int = 0
    ci_level: float = 0.95

    def boot(self, per_item, statistic) -> BootstrapResult:
        return cluster_bootstrap(
            per_item, statistic, n_boot=self.n_boot, seed=self.seed, ci_level=self.ci_level
        )

    def boot_each(self, per_item, statistics) -> list[BootstrapResult]:
        """:meth:`boot` of several statistics of one table on the same resample totals."""
        return cluster_bootstrap_each(
            per_item, statistics, n_boot=self.n_boot, seed=self.seed, ci_level=self.ci_level
        )


def result_row(
    id_,
    res: BootstrapResult | None,
    *,
    judge,
    slice_,
    n,
    n_excluded,
    method_prefix="",
    reason=None,
    share=None,
    **extra,
):
    """A finding from a bootstrap result (None: undefined, with ``reason``). ``share``, for a
    share, is its per-item (numerators, denominators): at the edges or with few items its CI is
    Clopper-Pearson (:func:`judgelab.stats.intervals.share_finding_kwargs`)."""
    if res is None:
        return finding(
            id_,
            None,
            judge=judge,
            slice=slice_,
            n=n,
            n_excluded=n_excluded,
            reason=reason or "no data",
            **extra,
        )
    kw = res.finding_kwargs() if share is None else share_finding_kwargs(res, *share)
    kw["method"] = (method_prefix + "; " if method_prefix else "") + str(kw["method"])
    if reason:
        kw["reason"] = reason if kw["reason"] is None else f"{reason}; {kw['reason']}"
    return finding(
        id_,
        judge=judge,
        slice=slice_,
        n=n,
        n_excluded=n_excluded,
        n_items=res.n_items,
        **kw,
        **extra,
    )


def excluded_total(ex: dict) -> int:
    return int(sum(ex.values()))


def excluded_text(ex: dict) -> str:
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in ex.items() if v]
    return "excluded: " + ", ".join(parts) if parts else "nothing excluded"


def kappa_weights_for(protocol: str) -> str | None:
    """Cohen's kappa for pairwise classes, quadratic weights for ordered score classes."""
    return None if protocol == "pairwise" else "quadratic"
