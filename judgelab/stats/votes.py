"""Votes: the modal / plurality vote and the ensemble reducers, written once.

- :func:`plurality`: per row of a vote-total matrix the winning class; a split top (two or
  more classes share the largest total) is a tie (or undecided); no votes = undecided.
  Repeats of one judge (their modal verdict) and panels of judges (the majority vote)
  both reduce through it.
- :func:`mode_winner`: the same rule on a tidy frame of ``winner`` labels per group.
- Ensemble reducers on a :class:`judgelab.stats.units.UnitMatrix` (codes 0 = ``a``,
  1 = ``b``, 2 = tie, nan = no parsed verdict): :func:`majority`, :func:`weighted`,
  :func:`unanimity`, :func:`vote_share`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from judgelab.stats.groups import group_numbers

if TYPE_CHECKING:  # pragma: no cover - typing only
    from judgelab.stats.units import UnitMatrix

__all__ = [
    "first_modes",
    "TIE",
    "plurality",
    "mode_winner",
    "vote_totals",
    "member_indices",
    "majority",
    "weighted",
    "unanimity",
    "vote_share",
]

TIE = "tie"
#: Class codes of pairwise verdicts (as :data:`judgelab.stats.units.CLASSES`).
_CLASSES = ("a", "b", "tie")
_TIE_CODE = 2.0


def plurality(totals: np.ndarray, split: float = _TIE_CODE) -> np.ndarray:
    """The plurality class per row of a ``(n, K)`` (weighted) vote-total matrix.

    Returns float codes: the argmax class; ``split`` (default 2 = tie) when two or more
    classes share the top total (weighted totals compared with ``isclose``); nan when the
    top total is 0 (no votes, or only zero-weight votes). Pass ``split=nan`` to leave
    split votes undecided (``tie_policy="drop"``)."""
    tot = np.asarray(totals)
    if tot.dtype.kind in "iu" and tot.size and tot.min() >= 0 and tot.max() < 2**16:
        # vote counts: below 2**16, isclose's tolerance (1e-8 + 1e-5 * top) is under 1, so
        # it holds exactly the equal counts; compared as integers, without a float copy
        mx = tot.max(axis=1)
        n_top = (tot == mx[:, None]).sum(axis=1)
    else:
        tot = tot.astype(float)
        mx = tot.max(axis=1)
        n_top = np.isclose(tot, mx[:, None]).sum(axis=1)
    out = tot.argmax(axis=1).astype(float)
    out[n_top > 1] = split
    out[mx <= 0] = np.nan
    return out


def mode_winner(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Modal winner per group of keys; several modes -> tie (repeats that disagree evenly).

    Groups in order of first appearance; the key and winner columns are grouped as integer
    codes (:func:`judgelab.stats.units.coded_columns`) and decoded once, at the end."""
    from judgelab.stats.units import coded_columns  # units imports this module

    cols = list(dict.fromkeys([*keys, "winner"]))
    coded, decode = coded_columns(df[cols], cols, sort=False)
    cnt = coded.groupby(cols, dropna=False, sort=False).size().rename("k").reset_index()
    group = cnt.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    rows, split = first_modes(group, cnt["k"].to_numpy())
    best = decode(cnt.iloc[rows][cols])
    return best.assign(winner=np.where(split, TIE, best["winner"].to_numpy()))


def first_modes(group: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The modal rule of :func:`mode_winner` on counted rows: ``group`` numbers each row's
    group (0..g-1), ``counts`` its votes. Returns ``(rows, split)``: per group, in order of
    its first modal row, that row (the first with the group's top count), and whether two or
    more rows share the top count (a tie)."""
    group = np.asarray(group, dtype=np.int64)
    n = int(group.max(initial=-1)) + 1
    top = np.zeros(n, dtype=counts.dtype)
    np.maximum.at(top, group, counts)
    best = np.flatnonzero(counts == top[group])
    n_best = np.bincount(group[best], minlength=n)
    best = best[~pd.Index(group[best]).duplicated()]
    return best, n_best[group[best]] > 1


def modal_codes(df: pd.DataFrame, keys: list[str], code: str = "label") -> pd.Series:
    """The repeats rule: the modal class code of ``code`` (0, 1, 2) per group of ``keys``,
    several modes giving 2 (tie; :func:`judgelab.stats.votes.plurality`). Integer codes
    indexed by ``keys`` in order of first appearance of the groups (as pandas unstacks)."""
    fast = _modal_codes_coded(df, keys, code)
    return _modal_codes_grouped(df, keys, code) if fast is None else fast


def _modal_codes_grouped(df: pd.DataFrame, keys: list[str], code: str) -> pd.Series:
    """:func:`modal_codes` by a groupby and unstack (any key type, missing values)."""
    counts = (
        df.assign(_c=df[code].astype(int))
        .groupby([*keys, "_c"], sort=False)
        .size()
        .unstack("_c", fill_value=0)
        .reindex(columns=[0, 1, 2], fill_value=0)
    )
    return pd.Series(plurality(counts.to_numpy()).astype(int), index=counts.index, name=code)


def _modal_codes_coded(df: pd.DataFrame, keys: list[str], code: str) -> pd.Series | None:
    """:func:`modal_codes` counted on one integer per group instead of a groupby and unstack
    of the key columns; None (the caller groups) when a key misses a value or a code is not
    0, 1 or 2.

    The groups come in the order the unstack gives them: each key's values numbered in order
    of first appearance, the groups sorted by those numbers, key by key
    (:func:`judgelab.stats.units.group_numbers` with ``sort``). Integer and boolean keys
    only: their index levels keep their dtype when taken back from the rows."""
    c = df[code].to_numpy()
    if not len(df) or any(df[k].dtype.kind not in "iub" for k in keys):
        return None
    if not np.isin(c, (0, 1, 2)).all():
        return None
    key_codes = [pd.factorize(df[k].to_numpy())[0] for k in keys]
    if any((kc < 0).any() for kc in key_codes):
        return None
    g = group_numbers(key_codes, sort=True)
    first = np.unique(g, return_index=True)[1]
    counts = np.bincount(g * 3 + c.astype(int), minlength=len(first) * 3)
    levels = [df[k].to_numpy()[first] for k in keys]
    index = (
        pd.Index(levels[0], name=keys[0])
        if len(keys) == 1
        else pd.MultiIndex.from_arrays(levels, names=keys)
    )
    return pd.Series(plurality(counts.reshape(-1, 3)).astype(int), index=index, name=code)


def member_indices(um: UnitMatrix, members) -> list[int]:
    """Column indices of ensemble members given as indices or identity strings (None: all)."""
    if members is None:
        return list(range(len(um.judges)))
    out = []
    for mb in members:
        if isinstance(mb, (int, np.integer)):
            out.append(int(mb))
        elif mb in um.judges:
            out.append(um.judges.index(mb))
        else:
            raise ValueError(f"ensemble member {mb!r} is not among the judges {um.judges}")
    return out


def _member_weights(um: UnitMatrix, idx: list[int], weights) -> list[float] | None:
    if weights is None:
        return None
    if isinstance(weights, Mapping):
        return [float(weights.get(um.judges[k], 0.0)) for k in idx]
    return [float(w) for w in weights]


def vote_totals(um: UnitMatrix, members=None, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """``(n_units, 3)`` (weighted) vote totals per class and the number of parsed votes."""
    if um.kind != "nominal":
        raise ValueError("ensembles aggregate pairwise verdicts (a | b | tie), not scores")
    idx = member_indices(um, members)
    vals = um.values[:, idx]
    w = np.ones(len(idx)) if weights is None else np.asarray(weights, dtype=float)
    oh = (vals[:, :, None] == np.arange(len(_CLASSES))[None, None, :]).astype(float)
    return (oh * w[None, :, None]).sum(axis=1), (~np.isnan(vals)).sum(axis=1)


def _split_code(um: UnitMatrix) -> float:
    return _TIE_CODE if um.tie_policy == "class" else np.nan


def majority(um: UnitMatrix, members=None) -> np.ndarray:
    """Plurality verdict per unit (codes; a split vote is a tie, nan = no vote)."""
    tot, _ = vote_totals(um, members)
    return plurality(tot, _split_code(um))


def weighted(
    um: UnitMatrix, weights: Mapping[str, float] | Sequence[float], members=None
) -> np.ndarray:
    """Weighted plurality verdict per unit: argmax_c sum_j w_j [v_j = c] (split = tie)."""
    idx = member_indices(um, members)
    tot, _ = vote_totals(um, idx, _member_weights(um, idx, weights))
    return plurality(tot, _split_code(um))


def unanimity(um: UnitMatrix, members=None) -> tuple[np.ndarray, np.ndarray]:
    """(verdict, decided): decided when every member parsed and all agree; verdict nan otherwise."""
    idx = member_indices(um, members)
    vals = um.values[:, idx]
    parsed = ~np.isnan(vals).any(axis=1)
    same = np.all(vals == vals[:, :1], axis=1) & parsed
    out = np.where(same, vals[:, 0], np.nan)
    return out, same


def vote_share(
    um: UnitMatrix | pd.DataFrame,
    members=None,
    weights=None,
    threshold: float | None = None,
    **unit_kwargs,
) -> pd.DataFrame:
    """Per unit: the (weighted) plurality verdict and its vote share (a generic low-margin signal).

    ``um`` is a UnitMatrix or a tidy verdict frame (then ``unit_kwargs`` go to
    :func:`judgelab.stats.units.unit_matrix`, e.g. ``order_aggregation``).
    Columns: the unit columns (``item_id, response_a, response_b`` [, ``shown_first``]),
    ``verdict`` (``a|b|tie``, relative to the sorted pair), ``winner`` (response id or
    ``tie``), ``vote_share`` = top vote total / all parsed votes (1 = unanimous), ``n_votes``,
    and ``low_margin`` = vote_share < threshold (docs/design.md: a case for escalation).
    """
    from judgelab.stats.units import UnitMatrix, unit_matrix

    if not isinstance(um, UnitMatrix):
        um = unit_matrix(um, **unit_kwargs)
    idx = member_indices(um, members)
    tot, n = vote_totals(um, idx, _member_weights(um, idx, weights))
    verdict = plurality(tot, _split_code(um))
    total = tot.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, tot.max(axis=1) / total, np.nan)
    out = um.units.copy()
    decided = ~np.isnan(verdict)
    code = np.where(decided, verdict, 0).astype(int)
    out["verdict"] = np.where(decided, np.array(_CLASSES, dtype=object)[code], None)
    pair = np.stack(
        [
            um.units["response_a"].to_numpy(dtype=object),
            um.units["response_b"].to_numpy(dtype=object),
        ],
        axis=1,
    )
    winner = np.where(code == 2, TIE, pair[np.arange(len(code)), np.minimum(code, 1)])
    out["winner"] = np.where(decided, winner, None)
    out["vote_share"] = share
    out["n_votes"] = n
    out["low_margin"] = (share < threshold) if threshold is not None else False
    return out
