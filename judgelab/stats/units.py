"""Units of judgment: tidy verdicts prepared once into a units x judges code matrix.

Every study that compares judges on the same judgments starts here, so the rules are
written once:

- **judge identity**: ``model|backend|judge_version`` as :mod:`judgelab.identity` writes it
  (:func:`~judgelab.identity.identity_string`, per row
  :func:`~judgelab.identity.identity_strings`: a missing backend reads ``None``);
- **pair key**: the canonical pair has ``response_a < response_b`` (:func:`sorted_pair`), and
  its order-free key is ``"<lo>|<hi>"`` (:func:`pair_key`);
- **displayed choice**: :func:`choice_codes` reads ``A`` / ``B`` / ``tie`` (or ``C``) in any
  case, surrounding blanks ignored, as ``A`` / ``B`` / ``C``;
- **parsed**: :func:`parsed_mask` (``parse_ok`` missing or false-like: not parsed);
- **label coding** (:data:`CLASSES`): 0 = ``a`` (the lo response wins), 1 = ``b`` (hi
  wins), 2 = tie, nan = no verdict;
- **winner** (:func:`winner_of`): the stored ``winner`` when present, else from the displayed
  ``choice`` and the ``order`` (``A`` is the answer shown first; ``tie`` / ``C`` is a tie);
- **repeats and orders**: repeats (``sample``) reduce to their modal verdict within
  (judge, pair, order) (a tie between modes is a tie, :func:`judgelab.stats.votes.plurality`),
  or the mean score; ``order_aggregation`` (docs/statistics.md#orders-and-repeats) then defines the
  unit: ``per_call`` (pair, order), ``first_order`` (pair, ``ab`` order only) or
  ``consistent_only`` (pair judged in both orders; an inconsistent pair is a tie);
- **judge family**: filled once per identity (an override mapping, else the ``judge_family``
  column that loading fills, :func:`judgelab.studies.load_verdicts`); statistics never guess a
  family from a model name.

String columns are turned into sorted categorical codes first, so grouping and pivoting
work on integers (sorted codes keep every order the strings would give).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from judgelab.identity import IDENTITY_COLUMNS, identity_string, identity_strings
from judgelab.stats.errors import DataError
from judgelab.stats.votes import modal_codes

__all__ = [
    "CLASSES",
    "ORDER_AGGREGATIONS",
    "ORDERS",
    "DISPLAY_ORDERS",
    "require_display_orders",
    "TIE_POLICIES",
    "choice_codes",
    "choice_ints",
    "choice_slots",
    "member_mask",
    "parsed_mask",
    "sorted_pair",
    "PAIR_KEY_SEPARATOR",
    "pair_key",
    "winner_of",
    "label_codes",
    "UnitMatrix",
    "unit_matrix",
    "judge_strings",
    "pair_codes",
    "PairLabels",
    "pair_labels",
    "coded_columns",
    "Decoder",
    "shared_objects",
]

#: Pairwise verdict classes, relative to the canonical pair (response_a < response_b).
CLASSES = ("a", "b", "tie")
TIE_CODE = 2
ORDER_AGGREGATIONS = ("per_call", "first_order", "consistent_only")
TIE_POLICIES = ("class", "drop")
#: Pairwise display orders (docs/verdicts.md): ``ab`` (response_a shown first), ``ba``
#: (response_b first), ``unknown`` (not recorded), ``both`` (a verdict the tool already
#: aggregated over the two orders). Only ab and ba name the slot a displayed choice means.
ORDERS = ("ab", "ba", "unknown", "both")
DISPLAY_ORDERS = ("ab", "ba")


def require_display_orders(order, what: str, every_row: bool = True) -> None:
    """Raise :class:`DataError` on pairwise verdicts whose display order is not ab or ba.

    ``order``: the verdicts' order values. ``every_row``: each verdict must have one (the
    analysis reads each verdict's slot); otherwise at least one must (the caller counts the
    others as excluded, with a reason). The message says which orders were found and how to
    fix it."""
    if isinstance(order, pd.Series):  # compared as stored (no Python objects per row)
        order = order.reset_index(drop=True)
    else:
        order = pd.Series(np.asarray(order, dtype=object))
    bad = ~order.isin(DISPLAY_ORDERS).to_numpy(dtype=bool, na_value=False)
    if not bad.any() or (not every_row and not bad.all()):
        return
    held = ", ".join(f"{k!s} ({n} rows)" for k, n in order[bad].value_counts(dropna=False).items())
    raise DataError(
        "verdicts",
        "order",
        f"order must be 'ab' or 'ba' for {what}, which reads the slot each answer was shown "
        f"in; these verdicts hold {held}. Record the display order of each verdict, or judge "
        "the pairs now (verdicts: call)",
        np.flatnonzero(bad).tolist(),
    )


_IDENTITY = list(IDENTITY_COLUMNS)


#: Displayed choices as stored (any case, blanks ignored) -> slot code: A (shown first),
#: B (shown second), C (tie).
_CHOICE_CODES = {"a": "A", "b": "B", "tie": "C", "c": "C"}


def choice_ints(choice: pd.Series) -> np.ndarray:
    """:func:`choice_codes` as integers: 0 (``A``), 1 (``B``), 2 (``C``, tie), -1 (none);
    each distinct stored value is read once, a text column as it is stored."""
    codes, distinct = pd.factorize(pd.Series(choice))
    index = {"A": 0, "B": 1, "C": 2}
    vocab = [
        index.get(_CHOICE_CODES.get(x.strip().lower()), -1) if isinstance(x, str) else -1
        for x in distinct
    ]
    return np.array([*vocab, -1], dtype=np.int8)[codes]  # code -1 (missing) -> -1


def choice_codes(choice: pd.Series) -> np.ndarray:
    """``A`` / ``B`` / ``C`` (tie) / None per row of a displayed-choice column (module
    docstring); each distinct stored value is read once."""
    return np.array(["A", "B", "C", None], dtype=object)[choice_ints(choice)]


def choice_slots(codes, order) -> np.ndarray:
    """The response of its pair each displayed choice names: 0 (``response_a``), 1
    (``response_b``), 2 (tie), -1 (no choice). ``codes`` are :func:`choice_ints`; ``A`` is
    the answer shown first: ``response_b`` where ``order`` is ``ba``, else ``response_a``."""
    codes = np.asarray(codes)
    order = order if isinstance(order, pd.Series) else pd.Series(np.asarray(order, dtype=object))
    ba = (order == "ba").to_numpy(dtype=bool, na_value=False)
    return np.where(codes < 2, np.where(codes < 0, -1, codes ^ ba), codes).astype(np.int8)


def member_mask(values, members) -> np.ndarray:
    """Per value: it is one of ``members`` (a bool array; a missing value matches a missing
    member).

    A hash lookup of each value in an Index of the members: ``Series.isin(members)`` on a
    string column first turns every member into an Arrow scalar in Python (1.7 s for 125,000
    response ids, against 0.2 s here).
    """
    if isinstance(members, (pd.Index, pd.Series, np.ndarray, pd.api.extensions.ExtensionArray)):
        members = np.asarray(members, dtype=object)  # not a Python iteration of Arrow text
    else:
        members = list(members)  # a set or generator; tuples stay elements
    members = pd.Series(members, dtype=object)
    missing = members.isna()
    lookup = pd.Index(pd.unique(members[~missing].to_numpy()), dtype=object)
    values = pd.Index(values, dtype=object)
    out = lookup.get_indexer(values) >= 0
    if missing.any():
        out |= np.asarray(values.isna(), dtype=bool)
    return out


def parsed_mask(v: pd.DataFrame) -> np.ndarray:
    """``parse_ok`` as bool per row (no column: every row parsed; missing: not parsed; text
    ``true`` / ``1`` / ``yes`` is true); each distinct value is read once."""
    if "parse_ok" not in v.columns:
        return np.ones(len(v), dtype=bool)
    codes, distinct = pd.factorize(v["parse_ok"].astype(object))
    truth = [
        x.strip().lower() in ("true", "1", "yes") if isinstance(x, str) else bool(x == x and x)
        for x in distinct
    ]
    return np.array([*truth, False], dtype=bool)[codes]


def sorted_pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    """The canonical pair of each row: ``(lo, hi)``, the two response ids as strings with
    ``lo <= hi``."""
    a, b = _as_text(a), _as_text(b)
    first = a <= b
    return np.where(first, a, b), np.where(first, b, a)


def _as_text(x) -> np.ndarray:
    """Values as Python strings (``str()`` of each: None -> 'None'); a text column with no
    missing value as it is stored, and an object column of strings with one ``str()`` per
    distinct value (numpy's fixed-width text round trip costs 0.4 s per million)."""
    if isinstance(x, pd.Series) and x.dtype == "str" and not x.hasnans:
        return shared_objects(x)
    x = np.asarray(x, dtype=object).reshape(-1)
    codes, distinct = pd.factorize(x, use_na_sentinel=False)
    # only when every distinct value is a string: factorize holds 1, 1.0 and True equal (and
    # None and nan), whose texts differ
    if all(isinstance(u, str) for u in distinct):
        return np.array([str(u) for u in distinct], dtype=object)[codes]
    return x.astype(str).astype(object)


def shared_objects(col: pd.Series) -> np.ndarray:
    """The values of a column as a numpy object array with one Python object per distinct
    value, shared by its rows (``Series.to_numpy(dtype=object)`` of a text column makes a
    string per row: 70 MB per million rows). A column with missing values is converted as
    it is (factorize would read None and nan as one value)."""
    col = col if isinstance(col, pd.Series) else pd.Series(col)
    if col.hasnans:
        return col.to_numpy(dtype=object)
    codes, distinct = pd.factorize(col)
    return np.asarray(distinct, dtype=object)[codes]


#: the separator of the two response ids in a :func:`pair_key`
PAIR_KEY_SEPARATOR = "|"


def pair_key(a, b) -> np.ndarray:
    """Order-free key of pairs: ``"<lo>|<hi>"`` of the two response ids (vectorised)."""
    lo, hi = sorted_pair(a, b)
    return np.char.add(np.char.add(lo.astype(str), PAIR_KEY_SEPARATOR), hi.astype(str))


def winner_of(v: pd.DataFrame) -> np.ndarray:
    """The winning response id (or ``tie``; None when neither says) of each pairwise row: the
    stored ``winner`` when it is a non-empty string, else the displayed choice read through
    the ``order`` (:func:`choice_slots`: ``ba``: ``response_b`` was shown first; anything
    else: ``response_a``)."""
    n = len(v)
    win = shared_objects(v["winner"]) if "winner" in v.columns else np.full(n, None, object)
    has_win = _is_text(pd.Series(win))
    if "choice" not in v.columns:
        return np.where(has_win, win, None)
    order = v["order"] if "order" in v.columns else np.full(n, "ab")
    slot = choice_slots(choice_ints(v["choice"]), order)
    ra, rb = shared_objects(v["response_a"]), shared_objects(v["response_b"])
    derived = np.where(slot == 0, ra, np.where(slot == 1, rb, np.where(slot == 2, "tie", None)))
    return np.where(has_win, win, derived)


def label_codes(winner, lo, hi) -> np.ndarray:
    """The label code of each winner relative to its canonical pair (:data:`CLASSES`):
    0.0 (``lo`` wins), 1.0 (``hi``), 2.0 (tie), nan (no winner, or not a response of the
    pair)."""
    w = np.asarray(winner, dtype=object)
    text = np.where(pd.isna(w), None, w.astype(str)).astype(object)
    lo, hi = np.asarray(lo, dtype=object), np.asarray(hi, dtype=object)
    return np.where(
        text == "tie", 2.0, np.where(text == lo, 0.0, np.where(text == hi, 1.0, np.nan))
    )


@dataclass
class UnitMatrix:
    """Verdicts of m judges on n units, one column per judge identity.

    ``values`` is ``(n_units, m)`` float: class codes 0 (``a`` = response_a wins),
    1 (``b``), 2 (tie) for pairwise verdicts (``kind="nominal"``), or scores
    (``kind="interval"``); nan = not judged, not parsed, or dropped by the tie policy.
    ``units`` holds ``item_id`` and the unit key (``response_a``, ``response_b`` sorted,
    ``shown_first`` under ``per_call``; ``response_id`` for scores). ``item_index`` maps
    each unit to its item (the bootstrap cluster).
    """

    units: pd.DataFrame
    values: np.ndarray
    judges: list[str]
    families: list[str | None]
    kind: str
    order_aggregation: str
    tie_policy: str
    protocol: str
    n_excluded: dict[str, int] = field(default_factory=dict)

    @property
    def items(self) -> np.ndarray:
        return np.asarray(pd.unique(self.units["item_id"]))

    @property
    def item_index(self) -> np.ndarray:
        codes, _ = pd.factorize(self.units["item_id"], sort=False)
        return codes.astype(np.int64)

    @property
    def n_items(self) -> int:
        return int(self.units["item_id"].nunique())

    def frame(self, labels: bool = True) -> pd.DataFrame:
        """Wide frame: the unit columns then one column per judge (class labels or scores)."""
        vals = pd.DataFrame(self.values, columns=self.judges)
        if labels and self.kind == "nominal":
            names = np.array([*CLASSES, None], dtype=object)
            codes = np.where(np.isnan(self.values), len(CLASSES), self.values).astype(int)
            vals = pd.DataFrame(names[codes], columns=self.judges)
        return pd.concat([self.units.reset_index(drop=True), vals], axis=1)

    def subset(self, judges: list[str]) -> UnitMatrix:
        idx = [self.judges.index(j) for j in judges]
        return UnitMatrix(
            self.units,
            self.values[:, idx],
            [self.judges[i] for i in idx],
            [self.families[i] for i in idx],
            self.kind,
            self.order_aggregation,
            self.tie_policy,
            self.protocol,
            dict(self.n_excluded),
        )


def _check_settings(order_aggregation: str, tie_policy: str) -> None:
    if order_aggregation not in ORDER_AGGREGATIONS:
        raise ValueError(
            f"order_aggregation must be one of {ORDER_AGGREGATIONS}, not {order_aggregation!r}"
        )
    if tie_policy not in TIE_POLICIES:
        raise ValueError(
            f"tie_policy must be 'class' or 'drop' for kappa, alpha and error rates "
            f"(docs/statistics.md 'Ties'), not {tie_policy!r}"
        )


def _is_text(col: pd.Series) -> np.ndarray:
    """Per row: the value is a non-empty string (checked once per distinct value; a text
    column: every value present is a string, compared with '' as stored)."""
    if col.dtype == "str":
        return (col.notna() & (col != "")).to_numpy(dtype=bool)
    codes, uniq = pd.factorize(col.to_numpy(dtype=object))
    ok = np.array([isinstance(u, str) and u != "" for u in uniq] + [False], dtype=bool)
    return ok[codes]


def _text(col: pd.Series) -> np.ndarray:
    """A column as strings (missing values as 'nan' / 'None', as ``str()`` gives them)."""
    return col.astype(str).to_numpy(dtype=object)


def _judge_identities(v: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Per row the identity code, and one row per identity (model, identity string)."""
    # groups numbered in order of first appearance, from integer codes of each column
    key = np.zeros(len(v), dtype=np.int64)
    for c in _IDENTITY:
        col, distinct = pd.factorize(v[c], use_na_sentinel=False)
        key = key * (len(distinct) + 1) + col
    code, _ = pd.factorize(key)
    first_rows = np.unique(code, return_index=True)[1]
    first = v[_IDENTITY].iloc[first_rows].astype(object).reset_index(drop=True)
    first["identity"] = [identity_string(*t) for t in first[_IDENTITY].itertuples(index=False)]
    return code, first


def _identity_families(
    v: pd.DataFrame, code: np.ndarray, ident: pd.DataFrame, families: dict | None
) -> dict[str, str | None]:
    """Family per identity: an override (key identity or model), else the first non-empty
    ``judge_family`` of its rows (filled at load), else None."""
    if "judge_family" in v.columns:
        # the first named row of each identity: its value taken as an object (a groupby's
        # first() of the named rows, without copying the column to objects)
        rows = np.flatnonzero(_is_text(v["judge_family"]))
        codes, first = np.unique(code[rows], return_index=True)
        fam = v["judge_family"].iloc[rows[first]].to_numpy(dtype=object)
        given = pd.Series(fam, index=codes, dtype=object)
    else:
        given = pd.Series(dtype=object)
    out: dict[str, str | None] = {}
    for k, (model, name) in enumerate(zip(ident["model"], ident["identity"], strict=True)):
        if families and (name in families or model in families):
            out[name] = families.get(name, families.get(model))
        else:
            out[name] = given.get(k)
    return out


def unit_matrix(
    verdicts: pd.DataFrame,
    *,
    protocol: str | None = None,
    order_aggregation: str = "per_call",
    tie_policy: str = "class",
    families: dict[str, str] | None = None,
    judges: list[str] | None = None,
) -> UnitMatrix:
    """Tidy verdicts -> a :class:`UnitMatrix` (units x judge identities).

    Only parsed verdicts (``parse_ok``) enter; repeats are aggregated within
    (judge, unit); ``order_aggregation`` defines the unit (module docstring);
    ``tie_policy="drop"`` removes a judge's tie verdicts (after aggregation).
    ``families`` overrides a judge's family (keys: identity strings or models);
    otherwise the ``judge_family`` column (filled at load), else None.
    ``judges`` fixes the column order (identity strings).
    """
    _check_settings(order_aggregation, tie_policy)
    need = [*_IDENTITY, "protocol", "item_id"]
    missing = [c for c in need if c not in verdicts.columns]
    if missing:
        raise DataError("verdicts", missing[0], f"missing column(s) {missing}")
    protos = sorted(verdicts["protocol"].dropna().unique())
    if protocol is None:
        protocol = "pairwise" if "pairwise" in protos else (protos[0] if protos else "pairwise")
    if protocol not in ("pairwise", "single"):
        raise ValueError(
            f"family entanglement analyses pairwise or single verdicts, not {protocol!r}"
        )
    # the columns read below only: a row selection takes every column (raw outputs too)
    used = [*need, "judge_family", "parse_ok", "order", "choice", "winner", "score"]
    used += ["response_a", "response_b", "response_id", "sample"]
    v = verdicts[[c for c in dict.fromkeys(used) if c in verdicts.columns]]
    of_protocol = (v["protocol"] == protocol).to_numpy()
    if not of_protocol.all():  # a selection copies every row: only when some are left out
        v = v[of_protocol]
    if v.empty:
        raise DataError("verdicts", "protocol", f"no {protocol} verdicts to analyse")
    judge_code, ident = _judge_identities(v)
    fam_map = _identity_families(v, judge_code, ident, families)
    n_total = len(v)
    ok = (
        v["parse_ok"].fillna(False).astype(bool).to_numpy()
        if "parse_ok" in v.columns
        else np.ones(len(v), dtype=bool)
    )
    if not ok.all():
        # the columns the units read only: a row selection copies each column it keeps
        read = ["item_id", "order", "choice", "winner", "response_a", "response_b"]
        read += ["response_id", "score"]
        v, judge_code = v[[c for c in read if c in v.columns]][ok], judge_code[ok]
    excluded = {"unparsed_rows": int(n_total - len(v))}
    judge_names = ident["identity"].to_numpy(dtype=object)

    if protocol == "pairwise":
        units, wide = _pairwise_units(v, judge_code, order_aggregation, excluded)
        kind = "nominal"
    else:
        units, wide = _single_units(v, judge_code)
        kind = "interval"
    wide.columns = [judge_names[c] for c in wide.columns]

    all_judges = list(wide.columns)
    if judges is None:
        judges = sorted(all_judges, key=lambda j: (str(fam_map.get(j)), j))
    else:
        unknown = [j for j in judges if j not in all_judges]
        if unknown:
            raise ValueError(f"judges without parsed {protocol} verdicts: {unknown}")
    values = wide[judges].to_numpy(dtype=float)
    if kind == "nominal" and tie_policy == "drop":
        excluded["dropped_ties"] = int(np.sum(values == TIE_CODE))
        values = np.where(values == TIE_CODE, np.nan, values)
    keep = ~np.all(np.isnan(values), axis=1)
    return UnitMatrix(
        units=units[keep].reset_index(drop=True),
        values=values[keep],
        judges=list(judges),
        families=[fam_map.get(j) for j in judges],
        kind=kind,
        order_aggregation=order_aggregation,
        tie_policy=tie_policy,
        protocol=protocol,
        n_excluded=excluded,
    )


def _all_text(*cols: pd.Series) -> bool:
    """Every column stored as text (``str`` dtype) without a missing value, except that the
    first may miss values."""
    return all(c.dtype == "str" for c in cols) and not any(c.hasnans for c in cols[1:])


def _verdict_codes(v, order, ids, ra, rb, lo, hi, strict: bool = True) -> np.ndarray:
    """Label code per verdict row (nan = no verdict): :func:`label_codes` of
    :func:`winner_of`, on response codes (``ids``: the sorted response ids; ``ra``, ``rb``,
    ``lo``, ``hi``: codes per row). A stored winner that is neither response of its pair nor
    ``tie`` is an error (``strict``), else no verdict (nan), as :func:`label_codes` reads it."""
    n = len(v)
    tie = -2  # the winner code of a tie
    w_col = v["winner"] if "winner" in v.columns else None
    if w_col is not None and _all_text(w_col, v["response_a"], v["response_b"]):
        # all three columns text as stored: a winner's code is ``ra`` where it equals
        # ``response_a``, ``rb`` where it equals ``response_b`` (the ids are those texts, so
        # equal text is equal code); any other id is neither ``lo`` nor ``hi`` and reads as
        # no verdict (-1), as its code would. Three vectorised comparisons instead of hashing
        # the winners and looking each distinct one up in ``ids``.
        is_tie = (w_col == "tie").to_numpy(dtype=bool)
        is_a = (w_col == v["response_a"]).to_numpy(dtype=bool)
        is_b = (w_col == v["response_b"]).to_numpy(dtype=bool)
        has_win = (w_col.notna() & (w_col != "")).to_numpy(dtype=bool)
        winner = np.where(is_tie, tie, np.where(is_a, ra, np.where(is_b, rb, -1)))
    elif w_col is not None:
        wcodes, wdistinct = pd.factorize(v["winner"])
        # numpy objects: iterating an Arrow array makes a Python scalar per element, slowly
        wdistinct = np.asarray(wdistinct, dtype=object)
        text = np.array([isinstance(w, str) and w != "" for w in wdistinct] + [False])
        named = np.append(ids.get_indexer(pd.Index(wdistinct, dtype=object).astype(str)), -1)
        named = np.where(np.array([w == "tie" for w in wdistinct] + [False]), tie, named)
        has_win, winner = text[wcodes], named[wcodes]
    else:
        has_win, winner = np.zeros(n, dtype=bool), np.full(n, -1)
    if "choice" in v.columns:
        slot = choice_slots(choice_ints(v["choice"]), order)
        derived = np.where(slot == 0, ra, np.where(slot == 1, rb, np.where(slot == 2, tie, -1)))
    else:
        derived = np.full(n, -1)
    w = np.where(has_win, winner, derived)
    code = np.where(
        w == tie,
        2.0,
        np.where(w < 0, np.nan, np.where(w == lo, 0.0, np.where(w == hi, 1.0, np.nan))),
    )
    bad = has_win & np.isnan(code)
    if strict and bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            "verdicts",
            "winner",
            f"winner {v['winner'].iloc[rows[0]]!r} is neither response of its pair nor 'tie'",
            [int(i) for i in v.index[rows]],  # row labels of the verdict table as given
        )
    return code


def _pairwise_units(
    v: pd.DataFrame, judge_code: np.ndarray, order_aggregation: str, excluded: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    for c in ("response_a", "response_b"):
        if c not in v.columns:
            raise DataError("verdicts", c, "pairwise verdicts need response_a and response_b")
    order = (
        v["order"].fillna("ab").astype(str)
        if "order" in v.columns
        else pd.Series("ab", index=v.index, dtype=str)
    )
    require_display_orders(order, "a unit matrix")
    # response ids as sorted codes: code order is string order, so lo/hi is min/max
    both, ids = pd.factorize(
        pd.concat([v["response_a"].astype(str), v["response_b"].astype(str)]), sort=True
    )
    ra, rb = both[: len(v)], both[len(v) :]
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    ab = (order == "ab").to_numpy(dtype=bool, na_value=False)
    first = np.where(ab, ra, rb)
    ids = pd.Index(np.asarray(ids, dtype=object))
    code = _verdict_codes(v, order, ids, ra, rb, lo, hi)
    item_code, items = pd.factorize(v["item_id"].astype(str), sort=True)
    d = pd.DataFrame(
        {
            "judge": judge_code,
            "item_id": item_code,
            "response_a": lo,
            "response_b": hi,
            "shown_first": first,
            "ab": ab,
            "code": code,
        }
    )
    excluded["no_verdict_rows"] = int(np.isnan(code).sum())
    d = d[~np.isnan(code)]
    if order_aggregation == "first_order":
        d = d[d["ab"]]
    key = ["item_id", "response_a", "response_b", "shown_first"]
    # repeats -> modal verdict per (judge, pair, order)
    per_order = modal_codes(d, ["judge", *key], "code").astype(float).reset_index()
    pair = ["judge", "item_id", "response_a", "response_b"]
    if order_aggregation == "consistent_only":
        n_orders = per_order.groupby(pair, sort=False)["code"].transform("size")
        excluded["single_order_pairs"] = int(per_order[n_orders < 2].groupby(pair).ngroups)
        g = per_order[n_orders >= 2].groupby(pair, sort=False)["code"]
        lo_code, hi_code = g.min(), g.max()
        # an order-inconsistent pair is a tie (FastChat's convention)
        per_order = lo_code.where(lo_code == hi_code, float(TIE_CODE)).reset_index()
        key = key[:3]
    elif order_aggregation == "first_order":
        per_order = per_order.drop(columns="shown_first")
        key = key[:3]
    wide = per_order.pivot_table(
        index=key, columns="judge", values="code", aggfunc="first", sort=False
    )
    wide.columns.name = None
    units = wide.index.to_frame(index=False)
    units["item_id"] = np.asarray(items, dtype=object)[units["item_id"].to_numpy()]
    for c in key[1:]:
        units[c] = ids[units[c].to_numpy()]
    return units, wide.reset_index(drop=True)


def _single_units(v: pd.DataFrame, judge_code: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    if "response_id" not in v.columns or "score" not in v.columns:
        raise DataError("verdicts", "score", "single-score verdicts need response_id and score")
    d = pd.DataFrame(
        {
            "judge": judge_code,
            "item_id": _text(v["item_id"]),
            "response_id": _text(v["response_id"]),
            "score": pd.to_numeric(v["score"], errors="coerce").to_numpy(),
        }
    ).dropna(subset=["score"])
    wide = d.pivot_table(
        index=["item_id", "response_id"],
        columns="judge",
        values="score",
        aggfunc="mean",
        sort=False,
    )
    wide.columns.name = None
    return wide.index.to_frame(index=False), wide.reset_index(drop=True)


def judge_strings(verdicts: pd.DataFrame) -> pd.Series:
    """The identity string of each verdict row: the ``judge`` column that loading writes
    (:func:`judgelab.studies.load_verdicts`) when the frame has one, else
    :func:`judgelab.identity.identity_strings` of its identity columns (a frame built by hand).

    Returns
    -------
    pandas.Series
        Object dtype, on the index of ``verdicts``.
    """
    if "judge" in verdicts.columns:
        return verdicts["judge"].astype(object)
    return identity_strings(verdicts)


def pair_codes(*frames: pd.DataFrame, key=("item_id", "lo", "hi")) -> list[np.ndarray]:
    """One integer code per row of each frame for its pair ``key`` (default ``item_id, lo,
    hi``: :func:`sorted_pair`'s canonical pair), in one code space across the frames: equal
    codes are equal keys (a missing value is a value). Codes count from 0 in order of first
    appearance over the frames in turn, so the codes of the first frame are those it would
    get alone.

    Groupbys, merges and distinct counts on the codes replace those on the string columns:
    each string column is hashed once here, not once per operation.
    """
    sizes = [len(f) for f in frames]
    code = np.zeros(sum(sizes), dtype=np.int64)
    for c in key:
        values = np.concatenate([f[c].to_numpy(dtype=object) for f in frames])
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        code = pd.factorize(code * (len(distinct) + 1) + codes)[0].astype(np.int64)
    return np.split(code, np.cumsum(sizes)[:-1])


class PairLabels(NamedTuple):
    """Pairwise verdict rows coded once: response codes into ``ids`` (the distinct response
    ids as text, sorted: code order is text order, so ``lo`` / ``hi`` are the codes of
    :func:`sorted_pair`) and the label code of each row (:func:`label_codes` of
    :func:`winner_of`: 0.0 lo wins, 1.0 hi, 2.0 tie, nan no verdict)."""

    ra: np.ndarray
    rb: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    ids: pd.Index
    label: np.ndarray

    @property
    def a_is_lo(self) -> np.ndarray:
        """Per row: ``response_a`` is the pair's ``lo``."""
        return self.ra == self.lo

    def text(self, codes: np.ndarray) -> np.ndarray:
        """The response ids (object array of str) of ``codes``."""
        return np.asarray(self.ids, dtype=object)[codes]


def pair_labels(v: pd.DataFrame) -> PairLabels:
    """Code the pairs and verdicts of a pairwise verdict frame once (:class:`PairLabels`).

    The same values as :func:`sorted_pair` and ``label_codes(winner_of(v), lo, hi)`` (a
    stored winner that is not a response of its pair reads as no verdict), computed on
    integer codes: each text column is hashed once, no Python string is compared per row.

    Parameters
    ----------
    v : DataFrame
        Pairwise verdicts with ``response_a``, ``response_b`` and ``winner`` and / or
        ``choice`` (with ``order``; none: ``ab``).

    Returns
    -------
    PairLabels
    """
    n = len(v)
    a, b = v["response_a"], v["response_b"]
    if a.dtype == "str" and b.dtype == "str" and not (a.hasnans or b.hasnans):
        both = pd.concat([a, b], ignore_index=True)  # hashed as stored (Arrow), no objects
    else:
        both = np.concatenate([_as_text(a), _as_text(b)])
    codes, ids = pd.factorize(both, sort=True)
    ids = pd.Index(np.asarray(ids, dtype=object), dtype=object)
    ra, rb = codes[:n], codes[n:]
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    order = v["order"] if "order" in v.columns else pd.Series("ab", index=v.index, dtype=object)
    label = _verdict_codes(v, order, ids, ra, rb, lo, hi, strict=False)
    return PairLabels(ra, rb, lo, hi, ids, label)


def coded_columns(v: pd.DataFrame, cols: list[str], sort: bool = True):
    """``v`` with ``cols`` replaced by integer codes, and a function that turns those columns
    of a frame derived from it back into the values.

    Groupbys, pivots and merges on the codes give the groups, their order (``sort``: the
    codes are sorted, their order is the values' order; else numbered in order of first
    appearance, which is all a ``sort=False`` groupby reads) and their sizes of the values, at
    the cost of integers; each column is hashed once here, as stored. A column with a missing
    value is left as it is (a groupby drops missing keys, codes would not).

    Returns
    -------
    (DataFrame, callable)
        The coded frame and ``decode(frame) -> frame`` (decoded columns typed as a groupby's
        keys of the values are: text as ``str``).
    """
    coded = {}
    for c in cols:
        codes, values = pd.factorize(v[c], sort=sort)
        if (codes < 0).any():
            continue
        # an Index infers the column type of the values as a groupby's keys do (str)
        coded[c] = pd.Index(np.asarray(values, dtype=object))
        v = v.assign(**{c: codes})
    return v, Decoder(coded)


class Decoder:
    """The values behind integer-coded columns (:func:`coded_columns`): ``tables[column]``
    is an Index whose position ``k`` holds the value of code ``k``. Calling it on a frame
    derived from the coded one turns those columns back into the values, once, at the end."""

    def __init__(self, tables: dict[str, pd.Index]):
        self.tables = tables
        # the codes of the frame decoded last, by column: a caller that joins on the keys
        # reads them instead of hashing the decoded values again
        self.last_codes: dict[str, np.ndarray] = {}

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.last_codes = {c: frame[c].to_numpy() for c in self.tables if c in frame}
        cols = {c: self.tables[c].take(codes).array for c, codes in self.last_codes.items()}
        return frame.assign(**cols)

    def codes_of(self, column: str, values) -> np.ndarray:
        """The codes of ``values`` in ``column`` (-1: not present)."""
        return self.tables[column].get_indexer(pd.Index(list(values), dtype=object))
