"""Tie policies and order aggregation of pairwise verdicts (docs/statistics.md#ties, "Orders")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats.agreement._common import _obj, _require
from judgelab.stats.groups import group_numbers
from judgelab.stats.units import coded_columns
from judgelab.stats.votes import first_modes, mode_winner

TIE = "tie"
TIE_POLICIES = ("class", "drop", "half")
ORDER_AGGREGATIONS = ("per_call", "first_order", "consistent_only")
_KAPPA_LIKE = {"kappa", "cohen_kappa", "weighted_kappa", "f1", "macro_f1", "f1_per_class"}


def check_tie_policy(policy: str, statistic: str = "win_rate") -> str:
    """Validate ``tie_policy`` for a statistic. ``half`` (half a win each) only makes
    sense for win rates; kappa and F1 accept ``class`` or ``drop`` only (ValueError)."""
    if policy not in TIE_POLICIES:
        raise ValueError(f"tie_policy must be one of {TIE_POLICIES}, got {policy!r}")
    if policy == "half" and statistic in _KAPPA_LIKE:
        raise ValueError(
            f"tie_policy='half' is not defined for {statistic}: kappa and F1 need a label per "
            "judgment; use tie_policy='class' (tie is its own label) or 'drop'"
        )
    return policy


def apply_tie_policy(
    df: pd.DataFrame,
    policy: str,
    columns: Sequence[str] = ("winner",),
    statistic: str = "win_rate",
) -> tuple[pd.DataFrame, int]:
    """Apply a tie policy to label columns: ``drop`` removes rows where any of ``columns``
    is ``"tie"`` and returns how many; ``class`` and ``half`` keep every row (``half`` is
    applied when scoring wins, see :func:`win_score`). Returns ``(frame, n_dropped)``."""
    check_tie_policy(policy, statistic)
    _require(df, columns, "verdicts")
    if policy != "drop":
        return df, 0
    is_tie = np.zeros(len(df), dtype=bool)
    for c in columns:
        is_tie |= (df[c].astype(object) == TIE).to_numpy()
    return df.loc[~is_tie], int(is_tie.sum())


def win_score(winner, target, tie_policy: str = "class") -> np.ndarray:
    """Score of ``target`` per judgment: 1 if it won, 0 if the other response won; a tie
    scores 0 (``class``: a tie is not a win), 0.5 (``half``) or nan (``drop``: exclude).
    Missing winners are nan."""
    check_tie_policy(tie_policy, "win_rate")
    w = pd.Series(_obj(winner), dtype=object)
    t = pd.Series(_obj(target), dtype=object) if not np.isscalar(target) else target
    out = (w == t).astype(float).to_numpy().copy()
    tie = (w == TIE).to_numpy()
    out[tie] = {"class": 0.0, "half": 0.5, "drop": np.nan}[tie_policy]
    out[w.isna().to_numpy()] = np.nan
    return out


_IDENTITY = ["model", "backend", "judge_version"]


def aggregate_orders(verdicts: pd.DataFrame, how: str = "per_call") -> pd.DataFrame:
    """Pairwise verdicts -> judgments for agreement with a reference (docs/statistics.md#orders-and-repeats).

    Unparsed rows (``parse_ok`` false or ``winner`` missing) are dropped first.

    - ``per_call``: each parsed call is one judgment (default).
    - ``first_order``: only order ``ab``.
    - ``consistent_only``: one judgment per pair and judge identity; repeats are first
      reduced to their modal winner per order (even split -> tie); a pair whose two
      orders name different winners is a tie (as in FastChat); a pair with only one order
      parsed is excluded. Output ``order`` is null and ``choice`` is what the winner
      would be shown as in order ``ab`` (A = ``response_a``).

    The result carries ``attrs``: ``order_aggregation``, ``n_unparsed`` (rows dropped),
    ``n_excluded`` (unparsed rows plus pairs lacking an order for consistent_only).
    """
    if how not in ORDER_AGGREGATIONS:
        raise ValueError(f"order_aggregation must be one of {ORDER_AGGREGATIONS}, got {how!r}")
    _require(verdicts, ["item_id", "response_a", "response_b", "order", "winner"], "verdicts")
    ok = verdicts["winner"].notna()
    if "parse_ok" in verdicts.columns:
        ok &= verdicts["parse_ok"].fillna(False).astype(bool)
    n_unparsed = int((~ok).sum())
    v = verdicts.loc[ok]
    n_excl = n_unparsed
    if how == "first_order":
        v = v.loc[v["order"] == "ab"]
    elif how == "consistent_only":
        keys = [c for c in _IDENTITY if c in v.columns] + ["item_id", "response_a", "response_b"]
        # the key columns as sorted integer codes (the unstacked rows keep the values' order),
        # decoded once below: six text columns hashed once, not in every groupby and unstack
        coded, decode = coded_columns(v[[*keys, "order", "winner"]], keys)
        if len(coded) and len(decode.tables) == len(keys):
            units, ab, ba = _order_winners(coded, keys)
        else:  # a missing key value (left uncoded): the groupby and unstack read it
            per_order = mode_winner(coded, keys + ["order"])
            wide = per_order.set_index(keys + ["order"])["winner"].unstack("order")
            for o in ("ab", "ba"):
                if o not in wide.columns:
                    wide[o] = np.nan
            units, ab, ba = wide.index.to_frame(index=False), wide["ab"], wide["ba"]
        both = (pd.notna(ab) & pd.notna(ba)).to_numpy(dtype=bool)
        n_excl += int((~both).sum())
        ab, ba = ab[both], ba[both]
        winner = np.where(ab == ba, ab, TIE)
        v = decode(units[both].reset_index(drop=True))
        v["winner"] = winner
        v["order"] = None
        v["choice"] = np.select(
            [v["winner"] == v["response_a"], v["winner"] == v["response_b"]], ["A", "B"], TIE
        )
    v = v.copy()
    v.attrs.update(order_aggregation=how, n_unparsed=n_unparsed, n_excluded=n_excl)
    return v


def _order_winners(coded: pd.DataFrame, keys: list[str]):
    """The modal winner per order of each unit of :func:`aggregate_orders`' consistent_only
    rule, on integer-coded ``keys`` (no missing value): ``(units, ab, ba)``, the units' key
    codes sorted (the rows and order of the former unstack of
    :func:`judgelab.stats.votes.mode_winner`'s result) and their modal winners in order ab
    and ba as object Series (a split mode: a tie; None: order not judged). Counted with
    numpy on group numbers: the modal winner does not depend on the order of the rows (only
    the modal row mode_winner keeps does, which the winner's value does not show)."""
    # numbered in sorted order of the key codes, column by column
    g = group_numbers([coded[c].to_numpy() for c in keys], sort=True)
    first = np.unique(g, return_index=True)[1]
    units = pd.DataFrame({c: coded[c].to_numpy()[first] for c in keys})
    w_code, w_values = pd.factorize(coded["winner"])
    w_values = np.append(np.asarray(w_values, dtype=object), TIE)
    split = len(w_values) - 1  # a split mode reads TIE (the same value as a stored tie)
    order = coded["order"]
    out = []
    for o in ("ab", "ba"):
        rows = (order == o).to_numpy(dtype=bool, na_value=False)
        if not rows.any():  # the order's column of the unstack was missing: nan
            out.append(pd.Series(np.nan, index=range(len(first))))
            continue
        cell, count = np.unique(g[rows] * split + w_code[rows], return_counts=True)
        group = cell // split
        # the modal rule (votes.first_modes): the winner with the unit's top count, a tie
        # when several share it
        best, tie = first_modes(group, count)
        code = np.full(len(first), -1, dtype=np.int64)
        code[group[best]] = np.where(tie, split, cell[best] % split)
        out.append(pd.Series(np.where(code >= 0, w_values[code], None), dtype=object))
    return units, out[0], out[1]
