"""Position classes of pairs judged in both orders (docs/statistics.md#position-bias).

Each pair judged in both orders is classified by its displayed choices (A = first slot,
B = second slot, C = tie) in order ``ab`` then ``ba``: consistent = {AB, BA, CC},
primacy = {AA, AC, CA}, recency = {BB, BC, CB}. With repeats the shares of parsed repeats
per (pair, order) give fractional weights (see :mod:`judgelab.stats.position`).
The findings built on these counts are in :mod:`judgelab.stats.position`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from judgelab.stats.errors import DataError
from judgelab.stats.units import DISPLAY_ORDERS, ORDERS, choice_codes, judge_strings, parsed_mask

__all__ = ["classify_pairs", "position_counts", "position_consistency"]

_PAIR = ["judge", "item_id", "response_a", "response_b"]
_IDENTITY = ["model", "backend", "judge_version", "judge_family"]
_CALL_COLUMNS = {*_PAIR, *_IDENTITY, "order", "choice", "sample", "parse_ok"}
#: pairwise orders that name no display slot
_UNORDERED = tuple(o for o in ORDERS if o not in DISPLAY_ORDERS)


# ----------------------------------------------------------------------------- input
def _pairwise_calls(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Validated pairwise rows with a ``judge`` identity and a normalised ``c`` (A|B|C|None)."""
    if verdicts is None or len(verdicts) == 0:
        raise DataError("verdicts", None, "no verdicts to analyse")
    v = verdicts
    need = ["model", "item_id", "response_a", "response_b", "order", "choice"]
    for col in need:
        if col not in v.columns:
            raise DataError(
                "verdicts", col, f"missing required column (columns present: {list(v.columns)})"
            )
    # the columns read here and by the classification (not the raw outputs, probabilities, ...)
    cols = [c for c in v.columns if c in _CALL_COLUMNS]
    v = v.loc[_pairwise_mask(v), cols].reset_index(drop=True)
    if v.empty:
        return v.assign(judge=pd.Series(dtype=object), c=pd.Series(dtype=object))
    for col in ("backend", "judge_version"):
        if col not in v.columns:
            v[col] = None
    if "judge_family" not in v.columns:
        v["judge_family"] = None  # filled at load (judgelab.studies.load_verdicts)
    if "sample" not in v.columns:
        v["sample"] = 0
    bad = v["response_a"].isna() | v["response_b"].isna() | v["item_id"].isna()
    if bad.any():
        raise DataError(
            "verdicts",
            "response_b",
            "pairwise verdict without item_id, response_a or response_b",
            np.flatnonzero(bad.to_numpy()).tolist(),
        )
    order = v["order"].astype(object)
    bad = ~order.isin(ORDERS)
    if bad.any():
        raise DataError(
            "verdicts",
            "order",
            "order must be ab, ba, unknown or both for pairwise verdicts",
            np.flatnonzero(bad.to_numpy()).tolist(),
        )
    codes = pd.Series(choice_codes(v["choice"]), index=v.index)
    # a verdict without a display order (unknown) or aggregated over both orders says nothing
    # about either slot: it is kept out of the classes, and its pair is counted as excluded
    # with the reason (_classify_calls); its choice is still checked below
    ch = codes.where(~order.isin(_UNORDERED).to_numpy(), None)
    parsed = ch.notna()
    if "parse_ok" in v.columns:
        ok = pd.Series(parsed_mask(v), index=v.index)
        bad = ok & codes.isna() & v["choice"].notna()
        if bad.any():
            raise DataError(
                "verdicts",
                "choice",
                "parsed verdict with a choice other than A, B or tie",
                np.flatnonzero(bad.to_numpy()).tolist(),
            )
        parsed = parsed & ok
    else:
        bad = v["choice"].notna() & codes.isna()
        if bad.any():
            raise DataError(
                "verdicts",
                "choice",
                "choice other than A, B or tie",
                np.flatnonzero(bad.to_numpy()).tolist(),
            )
    v["c"] = ch.where(parsed, None)
    v["judge"] = judge_strings(v).to_numpy(dtype=object)
    return v


def _pairwise_mask(verdicts: pd.DataFrame) -> np.ndarray:
    """The rows position statistics read: protocol pairwise (without a protocol column, rows
    naming both responses)."""
    if "protocol" in verdicts.columns:
        return (verdicts["protocol"].astype(object) == "pairwise").to_numpy()
    return (verdicts["response_a"].notna() & verdicts["response_b"].notna()).to_numpy()


# ------------------------------------------------------------------- classification
def classify_pairs(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per (judge identity, pair): its position class.

    Columns: ``judge, model, backend, judge_version, judge_family, item_id, response_a,
    response_b, n_ab, n_ba`` (parsed repeats per order), ``choices`` (e.g. ``"AB"``;
    with repeats the modal choice per order), ``w_consistent, w_primacy, w_recency``
    (fractional counts, see the module docstring; NaN when excluded), ``cls``
    (``consistent|primacy|recency``, the class with the largest weight; ``None`` when
    excluded) and ``reason`` (why a pair is excluded: an order missing or unparsed).
    Position statistics treat a tie as a class (docs/statistics.md#ties)."""
    return _classify_calls(_pairwise_calls(verdicts))


def _classify_calls(v: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "judge",
        *_IDENTITY,
        "item_id",
        "response_a",
        "response_b",
        "n_ab",
        "n_ba",
        "choices",
        "w_consistent",
        "w_primacy",
        "w_recency",
        "cls",
        "reason",
    ]
    if v.empty:
        return pd.DataFrame(columns=cols)
    # one integer code per (judge, item, pair) in order of first appearance (the groups of a
    # groupby(sort=False, dropna=False)), and the choice counts per pair, order and choice by
    # bincount: no groupby, pivot or merge on the string keys
    code = _pair_codes(v)
    n_pairs = int(code.max()) + 1
    first = np.unique(code, return_index=True)[1]
    out = v[_PAIR].iloc[first].reset_index(drop=True)
    out = pd.concat([out, v[_IDENTITY].groupby(code).first().reset_index(drop=True)], axis=1)
    out.attrs = {}  # a table of pairs, not verdicts: the verdict frame's metadata stays behind
    unordered = v["order"].isin(_UNORDERED).to_numpy()
    out["unordered"] = np.bincount(code, weights=unordered, minlength=n_pairs) > 0
    slot = _value_codes(v["order"], ("ab", "ba"))
    choice = _value_codes(v["c"], ("A", "B", "C"))
    counted = ~np.isnan(slot) & ~np.isnan(choice)
    cell = (code[counted] * 2 + slot[counted].astype(np.int64)) * 3 + choice[counted].astype(
        np.int64
    )
    counts = np.bincount(cell, minlength=n_pairs * 6).reshape(n_pairs, 2, 3).astype(float)
    for k, o in enumerate(("ab", "ba")):
        for m, c in enumerate("ABC"):
            out[f"{c}_{o}"] = counts[:, k, m]
    for o in ("ab", "ba"):
        cnt = out[[f"{c}_{o}" for c in "ABC"]].to_numpy(dtype=float)
        cnt = np.nan_to_num(cnt)
        n = cnt.sum(axis=1)
        out[f"n_{o}"] = n.astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = cnt / n[:, None]
        for k, c in enumerate("ABC"):
            out[f"p{c}_{o}"] = p[:, k]
    a_, b_, c_ = (out[f"p{x}_ab"].to_numpy() for x in "ABC")
    A_, B_, C_ = (out[f"p{x}_ba"].to_numpy() for x in "ABC")
    out["w_consistent"] = a_ * B_ + b_ * A_ + c_ * C_
    out["w_primacy"] = a_ * A_ + a_ * C_ + c_ * A_
    out["w_recency"] = b_ * B_ + b_ * C_ + c_ * B_
    ok = (out["n_ab"] > 0) & (out["n_ba"] > 0)
    w = out[["w_consistent", "w_primacy", "w_recency"]].to_numpy()
    cls = np.array(["consistent", "primacy", "recency"], dtype=object)[
        np.nan_to_num(w, nan=-1).argmax(axis=1)
    ]
    out["cls"] = np.where(ok, cls, None)

    def modal(o):
        """The modal choice's position in ``ABC-`` (``-``: no parsed repeat)."""
        cnt = np.nan_to_num(out[[f"{c}_{o}" for c in "ABC"]].to_numpy(dtype=float))
        return np.where(cnt.sum(axis=1) > 0, cnt.argmax(axis=1), 3)

    both = np.array([a + b for a in "ABC-" for b in "ABC-"])
    out["choices"] = both[modal("ab") * 4 + modal("ba")]
    out["choices"] = out["choices"].where(ok, None)
    reason = np.where(out["n_ab"] == 0, "order ab missing or unparsed", "")
    reason = np.where(
        out["n_ba"] == 0,
        np.where(reason == "", "order ba missing or unparsed", "both orders missing or unparsed"),
        reason,
    )
    reason = np.where(
        out["unordered"].to_numpy(dtype=bool),
        "display order not recorded (order unknown or both): position needs ab and ba verdicts",
        reason,
    )
    out["reason"] = np.where(ok, None, reason)
    return out[cols].reset_index(drop=True)


def _value_codes(values: pd.Series, known: tuple) -> np.ndarray:
    """The position of each value in ``known`` as a float, NaN for any other value (missing
    included): compared as stored, no Python object per row."""
    hits = [(values == k).to_numpy(dtype=bool, na_value=False) for k in known]
    return np.select(hits, [float(k) for k in range(len(known))], np.nan)


def _pair_codes(v: pd.DataFrame) -> np.ndarray:
    """(judge, item_id, response_a, response_b) numbered in order of first appearance, from
    integer codes of each column (a missing value is a value)."""
    key = np.zeros(len(v), dtype=np.int64)
    for c in _PAIR:
        codes, distinct = pd.factorize(v[c], use_na_sentinel=False)
        key = pd.factorize(key * (len(distinct) + 1) + codes)[0].astype(np.int64)
    return key


@dataclass
class _JudgeCounts:
    judge: str
    items: np.ndarray  # item ids, one per cluster
    per_item: np.ndarray  # (n_items, 3): consistent, primacy, recency sums
    n_pairs: int
    n_excluded: int
    info: dict


def _judge_counts(classified: pd.DataFrame) -> dict[str, _JudgeCounts]:
    res = {}
    for judge, g in classified.groupby("judge", sort=True):
        ok = g["cls"].notna().to_numpy()
        gg = g[ok]
        per = gg.groupby("item_id", sort=True)[["w_consistent", "w_primacy", "w_recency"]].sum()
        res[judge] = _JudgeCounts(
            judge=judge,
            items=per.index.to_numpy(),
            per_item=per.to_numpy(dtype=float),
            n_pairs=int(ok.sum()),
            n_excluded=int((~ok).sum()),
            info={k: g[k].iloc[0] for k in _IDENTITY},
        )
    return res


def position_counts(verdicts: pd.DataFrame, classified: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per judge identity: n_pairs (both orders parsed), n_consistent, n_primacy, n_recency
    (fractional with repeats), n_excluded, and the point estimates of position_consistency,
    first_slot_share and preference_fairness (NaN where undefined). ``classified``
    (:func:`classify_pairs` of ``verdicts``) saves classifying the pairs again."""
    classified = classify_pairs(verdicts) if classified is None else classified
    rows = []
    for judge, jc in _judge_counts(classified).items():
        c, p, r = jc.per_item.sum(axis=0) if len(jc.per_item) else (0.0, 0.0, 0.0)
        tot = c + p + r
        rows.append(
            {
                "judge": judge,
                **jc.info,
                "n_pairs": jc.n_pairs,
                "n_items": len(jc.items),
                "n_consistent": c,
                "n_primacy": p,
                "n_recency": r,
                "n_excluded": jc.n_excluded,
                "position_consistency": c / tot if tot > 0 else np.nan,
                "first_slot_share": p / (p + r) if p + r > 0 else np.nan,
                "preference_fairness": (r - p) / tot if tot > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def position_consistency(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Simple per-judge table (for reproducing published figures on real data).

    Columns: judge, model, backend, judge_version, judge_family, n_pairs (pairs with both
    orders parsed: the denominator), n_consistent, n_primacy, n_recency, n_excluded,
    position_consistency, first_slot_share, preference_fairness. Point estimates only;
    :func:`judgelab.stats.position.position_findings` adds CIs and tests."""
    return position_counts(verdicts)
