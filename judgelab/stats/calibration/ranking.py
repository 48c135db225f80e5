"""Generator ranking by the judge against the humans (docs/statistics.md#calibration-audit).

``ranking_kendall_tau``: Kendall tau-b of generator win rates (or mean scores), judge vs
humans, item-cluster CI. ``separability``: share of generator pairs whose 95% win-rate CIs do
not overlap (Li et al. 2024, Arena-Hard), for the judge and the humans.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement import kendall_tau_b_rows
from judgelab.stats.calibration._common import (
    coded_pair_win_shares,
    result_row,
    sorted_pair_codes,
)
from judgelab.stats.calibration.units import (
    HumanData,
    JudgeUnits,
    class_judge_units,
    win_value,
)
from judgelab.stats.resampling import MIN_ITEMS, ResampleTotals


def _coded_side(memo: dict, name: str, frame: pd.DataFrame, gen) -> dict:
    """One source's rows (judge units or human votes) coded once, kept in ``memo`` (the
    :class:`JudgeUnits` or :class:`HumanData` it belongs to): its sorted pair codes
    (:func:`sorted_pair_codes`: each source is grouped on its own codes) and the generator
    code of ``lo`` and ``hi`` (-1 unknown)."""
    c = sorted_pair_codes(memo, name, frame)
    kept = memo.get(("generators", name))
    if kept is None or kept[0] is not gen:  # coded for this generator lookup (this HumanData)
        gen_of = gen.codes(c["resp"].to_numpy())  # the generator of each distinct response id
        gens = tuple(np.where(x >= 0, gen_of[x], -1) for x in c["codes"][1:])
        kept = memo[("generators", name)] = (gen, gens)
    return dict(c, gens=kept[1])


def _in_keys(side: dict, keys: pd.DataFrame) -> np.ndarray:
    """Per row of a coded source: its pair ``(item_id, lo, hi)`` is one of ``keys``' (pairs
    whose values all occur in the source; missing values never match)."""
    spaces = (side["items"], side["resp"], side["resp"])
    n = len(side["codes"][0])
    code = np.zeros(n + len(keys), dtype=np.int64)
    for sp, rows, c in zip(spaces, side["codes"], ("item_id", "lo", "hi"), strict=True):
        kc = sp.get_indexer(keys[c])
        # rows: 0 missing, 1.. the values; a key value the source lacks: len + 1 (no row's)
        both = np.concatenate([rows + 1, np.where(kc >= 0, kc + 1, len(sp) + 1)])
        code = pd.factorize(code * (len(sp) + 2) + both.astype(np.int64))[0].astype(np.int64)
    return np.isin(code[:n], code[n:])


def _in_coded_keys(side: dict, keys) -> np.ndarray | None:
    """:func:`_in_keys` with the keys given as codes in the source's spaces (-1: a value the
    source lacks): one integer per pair and a membership test. None where those integers
    could overflow."""
    r = len(side["resp"]) + 1
    if (len(side["items"]) + 1) * r * r >= 2**62:
        return None

    def combined(item, lo, hi):
        ok = (item >= 0) & (lo >= 0) & (hi >= 0)  # a missing value (or one the source lacks)
        return np.where(ok, (item.astype(np.int64) * r + lo) * r + hi, -1)

    rows, k = combined(*side["codes"]), combined(*keys)
    return np.isin(rows, k[k >= 0]) & (rows >= 0)


def win_rates(
    verdicts: pd.DataFrame | None,
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
) -> pd.DataFrame:
    """Per-item, per-generator win and appearance sums (pairwise) or score sums and counts
    (single) for the judge (``verdicts``) and the humans, on the same units.

    Returns a long frame ``item_id, generator, source (judge|human), wins, n``."""
    humans = HumanData.of(dataset, "pairwise" if protocol == "pairwise" else "single")
    gen = humans.lookup("generator")
    if protocol == "pairwise":
        ws = _pairwise_win_sums(class_judge_units(verdicts, order_aggregation), humans, tie_policy)
        return pd.DataFrame(
            {
                "item_id": ws.items.take(ws.item).array,
                "generator": ws.gens.take(ws.gen).array,
                "source": np.asarray(_SOURCES, dtype=object)[ws.source],
                "wins": ws.wins,
                "n": ws.n,
            }
        )
    recs = []
    units = JudgeUnits.of(verdicts, "single").units
    m = units.merge(humans.median_scores, left_on="response_id", right_index=True)
    m["generator"] = gen.names_of(gen.codes(m["response_id"]))
    for src, col in (("judge", "score"), ("human", "human")):
        recs.append(
            pd.DataFrame(
                {
                    "item_id": m["item_id"],
                    "generator": m["generator"],
                    "source": src,
                    "wins": m[col],
                    "n": 1.0,
                }
            )
        )
    out = pd.concat(recs, ignore_index=True)
    return out.groupby(["item_id", "generator", "source"], as_index=False)[["wins", "n"]].sum()


#: The sources of :func:`win_rates` in text order (codes of :class:`WinSums`).
_SOURCES = ("human", "judge")


class WinSums(NamedTuple):
    """:func:`win_rates` (pairwise) as codes, row for row: ``item`` into ``items`` and ``gen``
    into ``gens`` (both sorted), ``source`` into :data:`_SOURCES`, and the sums."""

    item: np.ndarray
    gen: np.ndarray
    source: np.ndarray
    wins: np.ndarray
    n: np.ndarray
    items: pd.Index
    gens: pd.Index


def _pairwise_win_sums(ju: JudgeUnits, humans: HumanData, tie_policy: str) -> WinSums:
    """The pairwise sums of :func:`win_rates` on integer codes: per (item, generator, source),
    the per-pair win shares of the generator's responses summed over the pairs judged by both
    sources, in the order and with the sums of the groupby on the text (each group's rows fed
    in the same order; the keys' codes sorted as their text)."""
    gen = humans.lookup("generator")
    hv = humans.votes
    # the pairs judged by both: the sources' rows on them, their codes and generators
    # (each source's coded once per audit: the human votes for every judge)
    shares, lo, hi, resp, item, items = coded_pair_win_shares(ju, humans, 0, tie_policy)
    sources = []
    for src, df, w, memo, name in (
        (1, ju.class_units, "weight", ju.memo, "class_units"),
        (0, hv, None, humans.memo, "votes"),
    ):
        side = _coded_side(memo, name, df, gen)
        # the keys (in the judge's codes) in this source's codes: each distinct id looked up
        spaces = (side["items"], side["resp"], side["resp"])
        at = [
            sp.get_indexer(x) if sp is not x else None for sp, x in zip(spaces, (items, resp, resp))
        ]
        key_codes = [c if a is None else a[c] for a, c in zip(at, (item, lo, hi))]
        both = _in_coded_keys(side, key_codes)
        if both is None:
            both = _in_keys(side, shares[["item_id", "lo", "hi"]])
        wt = df[w].to_numpy()[both] if w else np.ones(int(both.sum()))
        codes = tuple(c[both] for c in side["codes"])
        gens = tuple(c[both] for c in side["gens"])
        labels = df["label"].to_numpy()[both]
        sources.append((src, labels, wt, codes, gens, side["items"]))
    # the two sources' items in one sorted code space
    text, items = pd.factorize(
        np.concatenate([np.asarray(x[5], dtype=object) for x in sources]), sort=True
    )
    item_of = np.split(text, [len(sources[0][5])])
    recs = []
    for side in (0, 1):
        for (src, labels, wt, ids, gens, _), to_item in zip(sources, item_of, strict=True):
            win = win_value(labels, side, tie_policy)
            item, resp, other = ids[0], ids[1 + side], ids[2 - side]
            resp_gen, other_gen = gens[side], gens[1 - side]
            # a response's win against its own generator's response is no win of it; a
            # pair counts whole (the filter is a function of the group keys resp, other)
            ok = np.isfinite(win) & (resp_gen >= 0) & (resp_gen != other_gen)
            ok &= (item >= 0) & (resp >= 0) & (other >= 0)  # a missing key: no group
            # the per-pair share: normalise the weights within each pair so a pair counts once
            tmp = pd.DataFrame(
                {
                    "item": item[ok],
                    "resp": resp[ok],
                    "other": other[ok],
                    "gen": resp_gen[ok],
                    "ww": (win * wt)[ok],
                    "w": wt[ok],
                }
            )
            g = tmp.groupby(["item", "resp", "other"])[["ww", "w", "gen"]]
            g = g.agg({"ww": "sum", "w": "sum", "gen": "first"})
            i = g.index.get_level_values(0).to_numpy()
            recs.append((to_item[i], g["gen"].to_numpy(), src, g["ww"].to_numpy() / g["w"]))
    gen_code = np.concatenate([r[1] for r in recs])
    present = np.unique(gen_code)
    names = np.asarray(gen.names, dtype=object)[present]
    order = sorted(range(len(present)), key=lambda k: names[k])  # the generators' text order
    rank = np.empty(len(present), dtype=np.int64)
    rank[order] = np.arange(len(present))
    gen_sorted = rank[np.searchsorted(present, gen_code)]
    wins = np.concatenate([np.asarray(r[3], dtype=float) for r in recs])
    frame = pd.DataFrame({"wins": wins, "n": np.ones(len(wins))})
    src = np.concatenate([np.full(len(r[0]), r[2]) for r in recs])
    item = np.concatenate([r[0] for r in recs])
    out = frame.groupby([item, gen_sorted, src]).sum()
    return WinSums(
        *(out.index.get_level_values(k).to_numpy() for k in range(3)),
        out["wins"].to_numpy(),
        out["n"].to_numpy(),
        pd.Index(np.asarray(items, dtype=object), dtype=object),
        pd.Index(names[order], dtype=object),
    )


def _per_item_wins(ws: WinSums):
    """(per-item sums ``(n_items, 4 G)``: judge wins, judge n, human wins, human n per
    generator; the generators; the items), both sorted, from the pairwise :class:`WinSums`:
    the table the pivot of :func:`win_rates` gives (each key once, a missing one 0)."""
    present, row = np.unique(ws.item, return_inverse=True)
    G = len(ws.gens)
    per_item = np.zeros((len(present), 4 * G))
    col = (1 - ws.source) * 2 * G + ws.gen  # judge (source 1) first, then human
    per_item[row, col] = ws.wins
    per_item[row, col + G] = ws.n
    return per_item, list(ws.gens), list(ws.items.take(present))


def _per_item_scores(wr: pd.DataFrame):
    """:func:`_per_item_wins` of a :func:`win_rates` frame (single scores)."""
    gens = sorted(wr["generator"].dropna().unique())
    items = sorted(wr["item_id"].unique())
    wide = wr.pivot_table(
        index="item_id",
        columns=["source", "generator"],
        values=["wins", "n"],
        aggfunc="sum",
        fill_value=0.0,
    )
    cols = [(v, s, g) for s in ("judge", "human") for v in ("wins", "n") for g in gens]
    per_item = (
        wide.reindex(columns=pd.MultiIndex.from_tuples(cols), fill_value=0.0)
        .reindex(items, fill_value=0.0)
        .to_numpy(float)
    )
    return per_item, gens, items


def ranking(
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
    """``ranking_kendall_tau`` (tau-b of generator win rates or mean scores, judge vs humans,
    item-cluster CI) and ``separability`` (share of generator pairs whose 95% bootstrap CIs of
    win rate do not overlap; Li et al. 2024, Arena-Hard) for the judge, with the humans'
    separability in ``human_separability``."""
    if protocol == "pairwise":
        humans = HumanData.of(dataset, "pairwise")
        ws = _pairwise_win_sums(class_judge_units(verdicts, order_aggregation), humans, tie_policy)
        sums = _per_item_wins(ws) if len(ws.wins) else None
    else:
        wr = win_rates(verdicts, dataset, protocol=protocol)
        sums = _per_item_scores(wr) if not wr.empty else None
    if sums is None:
        return findings_frame(
            [
                finding("ranking_kendall_tau", None, judge=judge, reason="no units judged by both"),
                finding("separability", None, judge=judge, reason="no units judged by both"),
            ]
        )
    per_item, gens, items = sums
    G = len(gens)

    def rates(t):
        t = np.asarray(t).reshape(t.shape[0], 2, 2, G)  # source, (wins, n), generator
        with np.errstate(invalid="ignore", divide="ignore"):
            return t[:, :, 0, :] / t[:, :, 1, :]

    def tau(t):
        r = rates(t)
        out = kendall_tau_b_rows(r[:, 0], r[:, 1])
        return np.where(np.isfinite(r).all(axis=(1, 2)), out, np.nan)

    # the resample totals of per_item, computed once: tau's bootstrap and every generator's
    # rate for the separability read the same products (the same draws and sums as two
    # separate bootstraps)
    totals = ResampleTotals(per_item, n_boot, seed)
    rows = []
    if G < 2:
        rows.append(
            finding("ranking_kendall_tau", None, judge=judge, n=G, reason="fewer than 2 generators")
        )
    else:
        res = totals.bootstrap(tau, ci_level)
        est_rates = rates(per_item.sum(0)[None, :])[0]
        rows.append(
            result_row(
                "ranking_kendall_tau",
                res,
                judge=judge,
                slice_=None,
                n=G,
                n_excluded=0,
                method_prefix=f"Kendall tau-b of generator {'win rates' if protocol == 'pairwise' else 'mean scores'}, judge vs humans",
                judge_rates=json.dumps(dict(zip(gens, np.round(est_rates[0], 6).tolist()))),
                human_rates=json.dumps(dict(zip(gens, np.round(est_rates[1], 6).tolist()))),
            )
        )
    # separability from the bootstrap distribution of every generator's rate
    dist = np.concatenate([rates(t) for t in totals.blocks()])
    alpha = 1 - ci_level
    with np.errstate(all="ignore"):
        lo = np.nanquantile(dist, alpha / 2, axis=0)
        hi = np.nanquantile(dist, 1 - alpha / 2, axis=0)
    sep = []
    for s in range(2):
        nonover = [
            hi[s, a] < lo[s, b] or hi[s, b] < lo[s, a] for a in range(G) for b in range(a + 1, G)
        ]
        sep.append(float(np.mean(nonover)) if nonover else None)
    reason = (
        f"CIs not reported: {len(items)} items < {MIN_ITEMS}" if len(items) < MIN_ITEMS else None
    )
    rows.append(
        finding(
            "separability",
            sep[0] if reason is None else None,
            judge=judge,
            n=G,
            n_items=len(items),
            method=f"share of generator pairs whose {ci_level:.0%} item-cluster bootstrap CIs of win rate do not overlap (Arena-Hard); B={n_boot}",
            human_separability=sep[1] if reason is None else None,
            reason=reason,
            ci_level=None,
            conclusion=None
            if reason
            else f"judge separates {sep[0]:.0%} of generator pairs, humans {sep[1]:.0%}",
        )
    )
    return findings_frame(rows)


# =====================================================================================
# gate
# =====================================================================================
