"""The escalation (human review) queue: one low-margin rule, one frame schema.

The low-margin rule (docs/design.md), for one judge identity and one case (a pair, or a response
for single scores and rubric verdicts), on parsed verdicts only:

- ``repeats_disagree``: the repeats (samples) of one order name more than one winner (pairwise),
  span more than zero score points (single) or name more than one rubric verdict (rubric);
- ``orders_disagree`` (pairwise): both orders were judged and their modal winners differ,
  a split mode counting as a tie (so ``x, y`` in order ab against ``x`` in ba disagree);
- ``margin_low``: a logprob ``margin`` (where stored) is below ``margin_threshold``;
- for a panel, the majority's vote share is below ``vote_share_threshold``.

:func:`low_margin` returns the rule's flags, one row per case (:data:`CASE_COLUMNS`);
:func:`escalation_queue` returns the queue, one row per (judge, unit, reason)
(:data:`QUEUE_COLUMNS`). Both return frames: the caller writes them (analysis functions never
write files).

:func:`certified_queue` returns, in the same columns, the pairs a certified cascade
(:mod:`judgelab.stats.certify`) leaves to humans: the thresholds there are certified on human
labels, not chosen by hand.

Given a panel's :class:`judgelab.stats.units.UnitMatrix` instead of tidy verdicts,
:func:`escalation_queue` queues the panel's units whose vote share is below the threshold or
that a member did not judge, in the panel layout (:data:`PANEL_COLUMNS`): the unit columns,
the vote counts and each member's verdict (the ensemble study's ``review_queue.csv``,
:func:`judgelab.ensembles.review_queue`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.identity import IDENTITY_COLUMNS, identity_strings
from judgelab.stats.calibration.panel import majority_verdicts
from judgelab.stats.certify import HUMAN
from judgelab.stats.groups import group_numbers
from judgelab.stats.units import (
    CLASSES,
    Decoder,
    UnitMatrix,
    choice_ints,
    choice_slots,
    judge_strings,
    parsed_mask,
    shared_objects,
    sorted_pair,
    winner_of,
)
from judgelab.stats.votes import TIE, first_modes, member_indices, vote_share, vote_totals

__all__ = [
    "CASE_COLUMNS",
    "PANEL_COLUMNS",
    "QUEUE_COLUMNS",
    "REASONS",
    "escalation_queue",
    "low_margin",
    "certified_queue",
]

_IDENTITY = list(IDENTITY_COLUMNS)
#: :func:`low_margin`'s columns, in order.
CASE_COLUMNS = [
    *_IDENTITY,
    "protocol",
    "item_id",
    "response_a",
    "response_b",
    "response_id",
    "n",
    "orders_disagree",
    "repeats_disagree",
    "margin_low",
    "low_margin",
]

#: The queue's columns, in order.
QUEUE_COLUMNS = [
    "judge",
    "item_id",
    "response_a",
    "response_b",
    "response_id",
    "order",
    "reason",
    "value",
]
#: The panel layout's columns after the unit columns; one column per member follows.
PANEL_COLUMNS = ["reason", *(f"votes_{c}" for c in CLASSES), "vote_share"]
#: Why a case is in the queue.
REASONS = (
    "repeats_disagree",
    "orders_disagree",
    "logprob_margin_below_threshold",
    "ensemble_vote_share_below_threshold",
    "not_certified",
)


def escalation_queue(
    verdicts: pd.DataFrame | UnitMatrix,
    *,
    protocol: str = "pairwise",
    margin_threshold: float | None = 0.2,
    vote_share_threshold: float | None = 0.7,
    panel_majority: pd.DataFrame | None = None,
    reasons: tuple[str, ...] = REASONS,
    members=None,
) -> pd.DataFrame:
    """Low-margin cases (docs/design.md) for human review: one row per (judge, unit, reason).

    Parameters
    ----------
    verdicts : DataFrame or UnitMatrix
        Tidy verdicts of one protocol (``pairwise`` or single scores); or a panel's unit
        matrix, then the panel layout below (only ``vote_share_threshold`` and ``members``
        apply).
    protocol : {"pairwise", "single"}
    margin_threshold : float or None
        A parsed verdict whose logprob ``margin`` (where stored) is below it is a case.
    vote_share_threshold : float or None
        A unit whose panel-majority vote share is below it is a case (two judges or more).
    panel_majority : DataFrame, optional
        The panel's majority verdicts
        (:func:`judgelab.stats.calibration.panel.majority_verdicts`) when the caller has
        built them already; built here otherwise.
    reasons : tuple of str
        The reasons to queue (default: all of :data:`REASONS`).
    members : list, optional
        Unit matrix only: the panel's members (indices or identity strings; default all).

    Returns
    -------
    DataFrame
        From a unit matrix: the units whose vote share (the modal verdict's share of the
        members' parsed verdicts) is below ``vote_share_threshold`` or that a member did not
        judge: the unit columns, :data:`PANEL_COLUMNS` (``reason``: ``missing verdict`` or
        ``disagreement``) and one column per member with its verdict.

        From verdicts:
        :data:`QUEUE_COLUMNS`: ``judge`` (identity string; the panel majority as
        ``ensemble|majority|majority-of-<m>``), ``item_id``, ``response_a``, ``response_b``
        (pairwise; sorted), ``response_id`` (scores), ``order`` (where the case is one
        order), ``reason`` (:data:`REASONS`) and ``value`` (number of distinct winners, 1 for
        orders that disagree, score span, margin or vote share). Sorted by item, judge and
        reason. The caller writes it; this function never writes files.
    """
    if isinstance(verdicts, UnitMatrix):
        return _panel_queue(verdicts, vote_share_threshold, members)
    # the columns read below only (a copy of the raw outputs would be most of the memory)
    read = [*IDENTITY_COLUMNS, "judge", "protocol", "parse_ok", "item_id", "response_a"]
    read += ["response_b", "response_id", "order", "choice", "winner", "score", "margin"]
    rows = verdicts[[c for c in read if c in verdicts.columns]]
    parsed = parsed_mask(rows)
    if not parsed.any():
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    parts = []
    if protocol == "pairwise":
        # the rule reads the parsed rows' codes: the parsed rows themselves (a copy of each
        # column) only where a margin or the judges' count needs them
        repeats, orders = _pairwise_disagreement(rows, parsed)
        v = _parsed_rows(rows) if vote_share_threshold is not None else rows
        if margin_threshold is not None and "margin" in v.columns:
            v = _pair_keyed(_parsed_rows(rows))  # the margin rows carry the sorted pair
        parts.append(_rows(repeats, "repeats_disagree", repeats["n_winners"]))
        dis = orders[orders["disagree"]]
        parts.append(_rows(dis, "orders_disagree", np.ones(len(dis)), order=False))
    else:
        v = _parsed_rows(rows)
        v["response_id"] = v["response_id"].astype(str)
        v["score"] = pd.to_numeric(v["score"], errors="coerce")
        span = _score_span(v)
        span = span[span > 0].reset_index()
        parts.append(_rows(span, "repeats_disagree", span["score"]))
    if margin_threshold is not None and "margin" in v.columns:
        mg = pd.to_numeric(v["margin"], errors="coerce")
        low = mg.notna() & (mg < margin_threshold)
        parts.append(_rows(v[low], "logprob_margin_below_threshold", mg[low]))
    if vote_share_threshold is not None and v["judge"].nunique() >= 2:
        ens = majority_verdicts(verdicts, protocol) if panel_majority is None else panel_majority
        low = ens[ens["vote_share"] < vote_share_threshold]
        judge = ["ensemble|majority|" + x for x in low["judge_version"].tolist()]
        parts.append(
            _rows(low, "ensemble_vote_share_below_threshold", low["vote_share"], judge=judge)
        )
    n = sum(len(p["reason"]) for p in parts)
    if n == 0:
        out = pd.DataFrame([], columns=QUEUE_COLUMNS)
    else:
        # built column-wise from the same Python values a row dict held, so that pandas
        # infers the same column types as the former one-dict-per-row frame
        out = pd.DataFrame({c: [x for p in parts for x in p[c]] for c in QUEUE_COLUMNS})
    out = out[out["reason"].isin(reasons)]
    return out.sort_values(["item_id", "judge", "reason"], kind="stable").reset_index(drop=True)


def low_margin(verdicts: pd.DataFrame, margin_threshold: float | None = None) -> pd.DataFrame:
    """The low-margin rule's flags (module docstring), one row per (judge identity, case).

    Parameters
    ----------
    verdicts : DataFrame
        Tidy verdicts of any protocols (``pairwise``, ``single``, ``rubric``).
    margin_threshold : float or None
        A logprob ``margin`` below it flags the case; None: no margin flag.

    Returns
    -------
    DataFrame
        :data:`CASE_COLUMNS`: the identity (``model, backend, judge_version``),
        ``protocol``, the case (``item_id`` and ``response_a, response_b`` sorted, or
        ``response_id``), ``n`` (parsed rows), ``orders_disagree``, ``repeats_disagree``,
        ``margin_low`` and ``low_margin`` (any of the three).
    """
    out = []
    for protocol, grp in _parsed_rows(verdicts).groupby("protocol", sort=False):
        if protocol == "pairwise":
            out.append(_pairwise_case_flags(grp))
        else:
            out.append(_response_case_flags(grp, protocol))
    if not out:
        return pd.DataFrame(columns=CASE_COLUMNS)
    df = pd.concat(out, ignore_index=True).reindex(columns=CASE_COLUMNS)
    if margin_threshold is not None and "margin" in verdicts.columns:
        df = _with_margin_flag(df, verdicts, margin_threshold)
    else:
        df["margin_low"] = False
    for c in ("orders_disagree", "repeats_disagree", "margin_low"):
        df[c] = df[c].fillna(False).astype(bool)
    df["low_margin"] = df["orders_disagree"] | df["repeats_disagree"] | df["margin_low"]
    return df.reindex(columns=CASE_COLUMNS)


def _panel_queue(um: UnitMatrix, vote_share_threshold, members) -> pd.DataFrame:
    """The panel layout of :func:`escalation_queue` (its docstring)."""
    idx = member_indices(um, members)
    vals = um.values[:, idx]
    missing = np.isnan(vals).any(axis=1)
    q = um.units.copy()
    q["reason"] = np.where(missing, "missing verdict", "disagreement")
    # the votes and their share as the ensembles count them (judgelab.stats.votes)
    tot, _ = vote_totals(um, idx)
    for c, name in enumerate(CLASSES):
        q[f"votes_{name}"] = tot[:, c].astype(int)
    q["vote_share"] = vote_share(um, idx)["vote_share"].to_numpy()
    names = np.array([*CLASSES, None], dtype=object)
    for k in idx:
        v = um.values[:, k]
        q[um.judges[k]] = names[np.where(np.isnan(v), len(CLASSES), v).astype(int)]
    threshold = 1.0 if vote_share_threshold is None else vote_share_threshold
    queued = missing | (q["vote_share"].to_numpy() < threshold)
    return q[queued].reset_index(drop=True)


def _rows(df: pd.DataFrame, reason: str, value, *, judge=None, order: bool = True) -> dict:
    """The queue columns (:data:`QUEUE_COLUMNS`) of the rows of ``df`` as lists: ``judge``
    (default: ``df``'s), ``item_id``, the unit's ``response_a, response_b`` / ``response_id``
    and ``order`` where ``df`` has them (None otherwise; no ``order`` when ``order`` is
    False), ``reason`` and ``value`` as floats."""
    n = len(df)

    def col(c, use=True):
        return df[c].tolist() if use and c in df.columns else [None] * n

    return {
        "judge": list(judge) if judge is not None else df["judge"].tolist(),
        "item_id": df["item_id"].tolist(),
        "response_a": col("response_a"),
        "response_b": col("response_b"),
        "response_id": col("response_id"),
        "order": col("order", order),
        "reason": [reason] * n,
        "value": [float(x) for x in np.asarray(value, dtype=float)],
    }


def _parsed_rows(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Parsed verdicts with their identity string in ``judge``."""
    v = verdicts[parsed_mask(verdicts)]  # a new frame (copy on write): no copy of it
    v["judge"] = judge_strings(v)
    return v


def _pair_keyed(v: pd.DataFrame) -> pd.DataFrame:
    """Parsed pairwise rows (:func:`_parsed_rows`) keyed by the sorted pair, the winner in ``_w``."""
    # the winner first: a displayed choice names a response of the pair as stored
    v["_w"] = _text_winner(v)
    lo, hi = sorted_pair(v["response_a"], v["response_b"])
    v["response_a"], v["response_b"] = lo, hi
    v["order"] = v["order"].fillna("ab")
    for c in _PAIR_KEY + ["order", "_w"]:
        v[c] = pd.Series(shared_objects(v[c]), index=v.index, dtype=object)  # astype(object)
    return v


_PAIR_KEY = ["judge", "item_id", "response_a", "response_b"]


def _text_winner(v: pd.DataFrame) -> np.ndarray:
    """:func:`judgelab.stats.units.winner_of` of the rows as stored (a displayed choice names
    a response of the pair before it is sorted), a response id as text, as
    :func:`judgelab.stats.units.sorted_pair` gives the pair's ids."""
    w = winner_of(v)
    return np.where(pd.isna(w), None, w.astype(str)).astype(object)


def _pairwise_disagreement(
    v: pd.DataFrame, parsed: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders whose repeats disagree, with ``n_winners`` and their top count ``c``; per pair: ``disagree`` = both orders
    judged and their modal winners differ, a split mode counting as a tie: the repeats rule
    :func:`judgelab.stats.votes.plurality`, as :func:`judgelab.stats.votes.mode_winner` applies
    it), of parsed pairwise rows (:func:`_parsed_rows`; or the rows ``parsed`` marks), keyed
    as :func:`_pair_keyed` keys them."""
    key = _PAIR_KEY
    # the key columns and the winner as integer codes (the groups, their order and sizes are
    # those of the values), decoded at the end. The groups are numbered in order of first
    # appearance (a groupby's sort=False order) and counted with numpy.
    v, w_code, w_values, decode = _coded_pair_rows(v, parsed)
    by_order = group_numbers([v[c].to_numpy() for c in [*key, "order"]])
    cell, first = _numbered(by_order * (int(w_code.max(initial=0)) + 1) + w_code)
    # one row per (judge, pair, order, winner), in order of first appearance
    cnt = v.iloc[first][[*key, "order"]].reset_index(drop=True)
    cnt["c"] = np.bincount(cell)
    group = by_order[first]  # the (judge, pair, order) of each row of cnt
    n_win = np.bincount(group)
    cnt["n_winners"] = n_win[group]
    repeats = cnt[cnt["n_winners"] > 1].drop_duplicates(key + ["order"])
    # the modal winner per (judge, pair, order): the first winner with the top count, a tie
    # when several share it (mode_winner's rule and row order)
    best, split = first_modes(group, cnt["c"].to_numpy())
    modal = cnt.iloc[best][key].reset_index(drop=True)
    # the modal winner's code (a split mode: the code of the value tie; equal codes are
    # equal winners)
    tie = np.flatnonzero(w_values == TIE)
    modal_w = np.where(split, tie[0] if len(tie) else len(w_values), w_code[first][best])
    # per (judge, pair): distinct modal winners and orders
    pair, pair_first = _numbered(group_numbers([modal[c].to_numpy() for c in key]))
    _, cell_first = _numbered(pair * (int(modal_w.max(initial=0)) + 1) + modal_w)
    orders = modal.iloc[pair_first][key].reset_index(drop=True)
    orders["nunique"] = np.bincount(pair[cell_first], minlength=len(pair_first))
    orders["size"] = np.bincount(pair, minlength=len(pair_first))
    orders["disagree"] = (orders["size"] == 2) & (orders["nunique"] > 1)
    return decode(repeats), decode(orders)


def _coded_pair_rows(v: pd.DataFrame, parsed: np.ndarray | None = None):
    """The rows of :func:`_pair_keyed` with a winner and every key (a row with a missing key
    is in no group: the groupbys on text dropped it), coded without a Python object per row:
    ``(coded, w_code, w_values, decode)``, the key columns (``judge, item_id, response_a,
    response_b`` sorted, ``order``; a missing order reads ``ab``) as integer codes, the
    winner's code into ``w_values`` (the values of :func:`judgelab.stats.units.winner_of`) and
    the :class:`~judgelab.stats.units.Decoder` of the key columns.

    A winner derived from the displayed choice reads the pair as stored (``response_a,
    response_b`` before sorting), as :func:`_pair_keyed` does."""
    n = len(v)
    a, b = v["response_a"], v["response_b"]
    if a.dtype == "str" and b.dtype == "str" and not (a.hasnans or b.hasnans):
        # the texts as stored: sorted codes order the pair as sorted_pair does, and a
        # response named by the choice is the same value as its text
        both, ids = pd.factorize(pd.concat([a, b], ignore_index=True), sort=True)
        ids = np.asarray(ids, dtype=object)
        ra, rb = both[:n], both[n:]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        w_code, w_values = _winner_codes(v, ids, ra, rb)
    else:  # other ids: their texts (sorted_pair) and winner_of's values, as objects
        lo_text, hi_text = sorted_pair(a, b)
        both, ids = pd.factorize(np.concatenate([lo_text, hi_text]))
        ids = np.asarray(ids, dtype=object)
        lo, hi = both[:n], both[n:]
        winner = _text_winner(v)
        w_code, w_values = pd.factorize(pd.Series(winner, dtype=object))
        w_values = np.asarray(w_values, dtype=object)
    judge, judges = pd.factorize(judge_strings(v))
    item, items = pd.factorize(v["item_id"])
    order, orders = pd.factorize(v["order"].fillna("ab"))
    keep = (w_code >= 0) & (judge >= 0) & (item >= 0) & (order >= 0)
    if parsed is not None:
        keep &= parsed
    columns = {"judge": (judge, judges), "item_id": (item, items), "response_a": (lo, ids)}
    columns.update(response_b=(hi, ids), order=(order, orders))
    coded, tables = {}, {}
    for c, (code, values) in columns.items():
        # a table as coded_columns builds it (an Index infers the type a groupby's keys have)
        code, table = code[keep], pd.Index(np.asarray(values, dtype=object))
        if not keep.all() and not (keep.any() and table.dtype == "str"):
            # the values of the kept rows only, whose type is inferred (text is text)
            used, code = np.unique(code, return_inverse=True)
            table = pd.Index(np.asarray(values, dtype=object)[used])
        coded[c], tables[c] = code, table
    return pd.DataFrame(coded), w_code[keep], w_values, Decoder(tables)


def _winner_codes(v: pd.DataFrame, ids: np.ndarray, ra: np.ndarray, rb: np.ndarray):
    # ra, rb: the codes into ids of the responses the choice names (A: ra, B: rb)
    """:func:`judgelab.stats.units.winner_of` as codes into values (ids of text columns as
    stored; -1: no winner): the stored ``winner`` where it is a non-empty string, else the
    response the displayed ``choice`` names through the ``order``, or ``tie``. The values are
    the response ids, ``tie`` and the stored winners, each once, so equal codes are equal
    winners."""
    n = len(ra)
    if "winner" in v.columns:
        wc, stored = pd.factorize(v["winner"])
        stored = np.asarray(stored, dtype=object)
    else:
        wc, stored = np.full(n, -1), np.zeros(0, dtype=object)
    values = pd.Index(pd.unique(np.concatenate([ids, [TIE], stored])), dtype=object)
    tie = values.get_loc(TIE)
    text = np.array([isinstance(x, str) and x != "" for x in stored] + [False], dtype=bool)
    named = np.append(values.get_indexer(pd.Index(stored, dtype=object)), -1)
    derived = np.full(n, -1, dtype=np.int64)
    if "choice" in v.columns:
        order = v["order"] if "order" in v.columns else np.full(n, "ab")
        slot = choice_slots(choice_ints(v["choice"]), order)
        derived = np.where(slot == 0, ra, np.where(slot == 1, rb, np.where(slot == 2, tie, -1)))
    return np.where(text[wc], named[wc], derived), np.asarray(values, dtype=object)


def _numbered(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group numbers of ``values`` in order of first appearance, and each group's first row."""
    codes = pd.factorize(values)[0].astype(np.int64)
    return codes, np.unique(codes, return_index=True)[1]


def _score_span(v: pd.DataFrame) -> pd.Series:
    """Max minus min score of each (judge, item, response) over its repeats."""
    v = v.assign(
        response_id=v["response_id"].astype(str), score=pd.to_numeric(v["score"], errors="coerce")
    )
    return v.groupby(["judge", "item_id", "response_id"])["score"].agg(lambda s: s.max() - s.min())


def _identity_columns(v: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return v.drop_duplicates(key)[key + _IDENTITY]


def _pairwise_case_flags(v: pd.DataFrame) -> pd.DataFrame:
    repeats, orders = _pairwise_disagreement(v)
    v = _pair_keyed(v)
    rep = repeats.drop_duplicates(_PAIR_KEY).assign(repeats_disagree=True)
    n = v.groupby(_PAIR_KEY, sort=False).size().rename("n").reset_index()
    out = n.merge(orders[_PAIR_KEY + ["disagree"]], on=_PAIR_KEY, how="left")
    out = out.merge(rep[_PAIR_KEY + ["repeats_disagree"]], on=_PAIR_KEY, how="left")
    out = out.rename(columns={"disagree": "orders_disagree"})
    out = out.merge(_identity_columns(v, ["judge"]), on="judge", how="left")
    out["protocol"] = "pairwise"
    return out


def _response_case_flags(v: pd.DataFrame, protocol: str) -> pd.DataFrame:
    key = ["judge", "item_id", "response_id"]
    v = v.assign(response_id=v["response_id"].astype(str))
    if protocol == "rubric":
        rep = v.groupby(key, sort=False)["verdict"].nunique() > 1
    else:
        rep = _score_span(v) > 0
    out = v.groupby(key, sort=False).size().rename("n").reset_index()
    out = out.merge(rep.rename("repeats_disagree").reset_index(), on=key, how="left")
    out = out.merge(_identity_columns(v, ["judge"]), on="judge", how="left")
    out["protocol"] = protocol
    out["orders_disagree"] = False
    return out


def _with_margin_flag(df: pd.DataFrame, verdicts: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """``margin_low``: any parsed row of the case has a margin below ``threshold``."""
    v = _parsed_rows(verdicts)
    low = v[pd.to_numeric(v["margin"], errors="coerce") < threshold]
    flagged = set()
    for r in low.itertuples(index=False):
        if r.protocol == "pairwise":
            a, b = sorted((str(r.response_a), str(r.response_b)))
            flagged.add((r.judge, str(r.item_id), a, b))
        else:
            flagged.add((r.judge, str(r.item_id), str(r.response_id)))
    judge = identity_strings(df)
    keys = [
        (j, str(it), str(a), str(b)) if p == "pairwise" else (j, str(it), str(rid))
        for j, it, a, b, rid, p in zip(
            judge, df["item_id"], df["response_a"], df["response_b"], df["response_id"],
            df["protocol"], strict=True,
        )
    ]  # fmt: skip
    return df.assign(margin_low=[k in flagged for k in keys])


def certified_queue(units: pd.DataFrame, alphas, routes, judge: str | None = None) -> pd.DataFrame:
    """The pairs a certified cascade leaves to humans (:mod:`judgelab.stats.certify`), in the
    queue's columns (:data:`QUEUE_COLUMNS`): one row per (alpha, pair) that no judge of the
    cascade keeps at that alpha, ``reason`` ``not_certified``, ``value`` the alpha (each
    alpha is a separate guarantee, hence a separate queue: filter on ``value``).

    Parameters
    ----------
    units : DataFrame
        One row per pair: ``item_id``, ``lo``, ``hi`` (sorted response ids).
    alphas : sequence of float
    routes : sequence of arrays
        Per alpha, the route of each pair (:func:`judgelab.stats.certify.cascade_routes`;
        ``-1``: no judge keeps it).
    judge : str, optional
        The cascade's last judge (the one that passes the pair on).
    """
    # built column-wise (_rows: the same Python values per cell as one dict per row)
    cols = {c: [] for c in QUEUE_COLUMNS}
    for a, route in zip(alphas, routes, strict=True):
        sel = units.loc[np.asarray(route) == HUMAN, ["item_id", "lo", "hi"]]
        sel = sel.rename(columns={"lo": "response_a", "hi": "response_b"})
        part = _rows(sel, "not_certified", np.full(len(sel), a), judge=[judge] * len(sel),
                     order=False)  # fmt: skip
        for c in QUEUE_COLUMNS:
            cols[c] += part[c]
    out = pd.DataFrame(cols, columns=QUEUE_COLUMNS)
    return out.sort_values(["value", "item_id"], kind="stable").reset_index(drop=True)
