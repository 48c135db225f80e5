"""Judge verdicts and human labels in one coding, prepared once per audit.

A pairwise unit is ``item_id, lo, hi`` (the pair's response ids in sorted order) with a
``label`` 0 (``lo`` wins), 1 (``hi`` wins) or 2 (tie) and a ``weight``; a score unit is
``item_id, response_id, score``. :class:`JudgeUnits` holds one judge's units and
:class:`HumanData` the dataset's human side; the audit builds each once and hands it to every
statistic (each statistic also accepts the raw verdict frame and dataset and prepares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from judgelab.stats.agreement import win_score
from judgelab.stats.errors import DataError
from judgelab.stats.reference import coded_votes
from judgelab.stats.units import PairLabels, pair_codes, pair_labels, parsed_mask
from judgelab.stats.votes import modal_codes

#: Pairwise classes: the first (sorted) response of the pair wins, the second wins, tie.
PAIR_CLASSES = ("a", "b", "tie")


def _obj(df: pd.DataFrame) -> pd.DataFrame:
    """String columns as numpy object columns: pandas' Arrow-backed strings make the many
    small merges and groupbys of an audit several times slower."""
    cols = [
        c for c in df.columns if pd.api.types.is_string_dtype(df[c].dtype) and df[c].dtype != object
    ]
    if cols:
        df = df.astype({c: object for c in cols})
    return df


def _check_settings(tie_policy: str, order_aggregation: str) -> None:
    if tie_policy == "half":
        raise ValueError(
            "tie_policy='half' is defined for win rates only; kappa and F1 need a class per "
            "judgment: use tie_policy='class' (tie is a class) or 'drop' (ties removed)"
        )
    if tie_policy not in ("class", "drop"):
        raise ValueError(f"tie_policy must be 'class' or 'drop', not {tie_policy!r}")
    if order_aggregation not in ("per_call", "first_order", "consistent_only"):
        raise ValueError(
            "order_aggregation must be 'per_call', 'first_order' or 'consistent_only', "
            f"not {order_aggregation!r}"
        )


def _require(df: pd.DataFrame, table: str, cols: Sequence[str]) -> None:
    for c in cols:
        if c not in df.columns:
            raise DataError(
                table, c, f"missing required column (columns present: {list(df.columns)})"
            )


def pairwise_units(
    verdicts: pd.DataFrame,
    order_aggregation: str = "per_call",
    tie_policy: str = "class",
    *,
    labels: PairLabels | None = None,
) -> tuple[pd.DataFrame, dict]:
    """One judge's pairwise verdicts as weighted units ``item_id, lo, hi, label, weight``.

    ``lo < hi`` are the pair's response ids in sorted order; ``label`` 0 = lo wins, 1 = hi
    wins, 2 = tie. ``per_call``: every parsed (pair, order) is a unit of weight 1 shared by
    its repeats (1 / r each: repeats averaged within (pair, order), docs/statistics.md).
    ``first_order``: order ``ab`` only. ``consistent_only``: one unit per pair with both
    orders parsed, labelled by the modal repeat of each order; orders that disagree give a
    tie. ``tie_policy='drop'`` removes tie units afterwards. Returns (units, counts of
    excluded rows/pairs by reason). ``labels``: :func:`~judgelab.stats.units.pair_labels` of
    ``verdicts`` when the caller has them (computed here otherwise).
    """
    units, excluded, _ = _pairwise_units(verdicts, order_aggregation, tie_policy, labels)
    return units, excluded


def _pairwise_units(verdicts, order_aggregation, tie_policy, labels):
    """:func:`pairwise_units` and, for ``per_call`` / ``first_order`` (units are verdict
    rows), the :class:`UnitRows` behind the units (None for ``consistent_only``)."""
    _check_settings(tie_policy, order_aggregation)
    _require(verdicts, "verdicts", ["item_id", "response_a", "response_b"])
    v = verdicts
    # the pairs and labels coded once, as sorted_pair and label_codes
    pl = pair_labels(v) if labels is None else labels
    code = pl.label
    ok = parsed_mask(v) & ~np.isnan(code)
    label = np.nan_to_num(code, nan=-1).astype(int)
    order = v["order"].fillna("ab").to_numpy() if "order" in v.columns else np.full(len(v), "ab")
    sample = v["sample"].fillna(0).to_numpy() if "sample" in v.columns else np.zeros(len(v))
    item = v["item_id"].astype(str)

    def text(x):  # numpy objects as the units keep them (_obj), not inferred as str and back
        return pd.Series(np.asarray(x, dtype=object), dtype=object, copy=False)

    df = pd.DataFrame(
        {
            "item_id": text(item.to_numpy()),
            "lo": text(pl.text(pl.lo)),
            "hi": text(pl.text(pl.hi)),
            "order": text(order),
            "sample": sample,
            "label": label,
            "ok": ok,
        }
    )
    excluded = {"unparsed": int((~ok).sum())}
    rows = ok
    if order_aggregation == "first_order":
        ab = df["order"].to_numpy() == "ab"
        excluded["order_ba"] = int((ok & ~ab).sum())
        rows = ok & ab
    df = df[rows]
    unit_rows = None
    if order_aggregation in ("per_call", "first_order"):
        # repeats per (item, pair, order), counted on codes (the same groups as the texts);
        # the items coded in text order, as the units' later groupbys on codes need them
        item_code, items = pd.factorize(item, sort=True)
        keys = [item_code, pl.lo, pl.hi, pd.factorize(order)[0]]
        r = pd.Series(df["label"].to_numpy()).groupby([k[rows] for k in keys]).transform("size")
        # a missing item (code -1) is no group, as in a groupby on the values: no weight
        r = r.to_numpy(dtype=float)
        r[keys[0][rows] < 0] = np.nan
        units = df.assign(weight=1.0 / r)[["item_id", "lo", "hi", "order", "label", "weight"]]
        unit_rows = UnitRows(np.flatnonzero(rows), item_code, items, pl)
    else:
        per_order = modal_codes(df, ["item_id", "lo", "hi", "order"]).sort_index().reset_index()
        g = per_order.groupby(["item_id", "lo", "hi"])
        n_orders = g["order"].nunique()
        both = n_orders[n_orders == 2].index
        excluded["one_order_only"] = int((n_orders < 2).sum())
        # the orders' common label, else a tie (min == max: one distinct label)
        mn, mx = g["label"].min(), g["label"].max()
        lab = mn.where(mn == mx, 2)
        lab = lab.loc[both]
        units = lab.rename("label").reset_index()
        units["order"] = "both"
        units["weight"] = 1.0
    if tie_policy == "drop":
        excluded["tie_verdict"] = int((units["label"] == 2).sum())
        kept = (units["label"] != 2).to_numpy()
        units = units[kept]
        if unit_rows is not None:
            unit_rows = unit_rows._replace(rows=unit_rows.rows[kept])
    return _obj(units.reset_index(drop=True)), excluded, unit_rows


class UnitRows(NamedTuple):
    """Where per-call units come from: ``rows``, the verdict row (position) of each unit;
    ``item_code`` per verdict row, the item id's code in ``items`` (its sorted distinct ids;
    -1 missing); ``labels``, the verdicts' :class:`~judgelab.stats.units.PairLabels`. The
    units' keys as integer codes without hashing their text again."""

    rows: np.ndarray
    item_code: np.ndarray
    items: pd.Index
    labels: PairLabels

    def sorted_codes(self) -> dict:
        """The units' pairs as :func:`~judgelab.stats.calibration._common.sorted_pair_codes`
        gives them (code order is text order; ``items`` and ``resp`` may hold ids that no
        unit has, which no code points to)."""
        pl, rows = self.labels, self.rows
        # the unit's response text is ids[code]: a code -1 (missing id) reads ids[-1] there
        last = len(pl.ids) - 1
        lo, hi = (np.where(c[rows] < 0, last, c[rows]) for c in (pl.lo, pl.hi))
        return dict(
            items=pd.Index(np.asarray(self.items, dtype=object), dtype=object),
            resp=pl.ids,
            codes=(self.item_code[rows], lo, hi),
        )


def score_units(verdicts: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """One judge's single-score verdicts: ``item_id, response_id, score`` (mean of the
    parsed repeats of a response)."""
    _require(verdicts, "verdicts", ["item_id", "response_id", "score"])
    ok = (
        parsed_mask(verdicts) & pd.to_numeric(verdicts["score"], errors="coerce").notna().to_numpy()
    )
    v = verdicts[ok]
    units = (
        v.assign(
            score=pd.to_numeric(v["score"]),
            item_id=v["item_id"].astype(str),
            response_id=v["response_id"].astype(str),
        )
        .groupby(["item_id", "response_id"], sort=False)["score"]
        .mean()
        .reset_index()
    )
    return units, {"unparsed": int((~ok).sum())}


def _score_classes(dataset, *arrays) -> tuple[float, int]:
    """Integer classes for weighted kappa: the dataset's scale, else the observed range."""
    if dataset is not None and dataset.scale is not None:
        lo, hi = dataset.scale
    else:
        vals = np.concatenate([np.asarray(a, float) for a in arrays if len(a)])
        vals = vals[np.isfinite(vals)]
        lo, hi = (
            (float(np.floor(vals.min())), float(np.ceil(vals.max()))) if len(vals) else (0.0, 0.0)
        )
    return float(lo), int(round(hi - lo)) + 1


def human_votes_pairwise(dataset) -> pd.DataFrame:
    """Human preferences as ``item_id, lo, hi, rater_id, label`` (label coded as in
    :func:`pairwise_units`: 0 = lo wins, 1 = hi wins, 2 = tie)."""
    return coded_votes(dataset.preferences)


def human_scores(dataset) -> pd.DataFrame:
    """Human scores as ``response_id, rater_id, score, item_id``."""
    lab = dataset.labels
    if lab is None or len(lab) == 0:
        return pd.DataFrame(columns=["response_id", "rater_id", "score", "item_id"])
    _require(lab, "labels", ["response_id", "rater_id", "score"])
    item_of = dict(
        zip(dataset.responses["response_id"].astype(str), dataset.responses["item_id"].astype(str))
    )
    out = lab.assign(
        response_id=lab["response_id"].astype(str),
        rater_id=lab["rater_id"].astype(str),
        score=pd.to_numeric(lab["score"]),
    )
    out["item_id"] = out["response_id"].map(item_of)
    return _obj(out[["response_id", "rater_id", "score", "item_id"]])


def response_info(dataset) -> pd.DataFrame:
    """``response_id, item_id, generator, family, category`` (those present) of each response."""
    r = dataset.response_info()
    keep = [
        c for c in ("response_id", "item_id", "generator", "family", "category") if c in r.columns
    ]
    return _obj(r[keep].astype(object))


class ResponseLookup:
    """A column of ``info`` (e.g. ``generator``, ``family``) per response id (or per ``key``,
    e.g. ``category`` per ``item_id``), looked up by
    codes: the ids of a column are factorized once and only their distinct values are
    searched (a ``Series.map(dict)`` over string ids hashed every row; measured as a cost at
    1M verdicts). Code -1: unknown id or missing value. As ``dict(zip(ids, values))``, the
    last row of a duplicated id wins."""

    def __init__(self, info: pd.DataFrame, column: str, key: str = "response_id"):
        ids = info[key].astype(str)
        last = ~ids.duplicated(keep="last").to_numpy()
        self.index = pd.Index(ids.to_numpy()[last])
        self.value_code, self.names = pd.factorize(info[column].to_numpy()[last])

    def codes(self, ids) -> np.ndarray:
        """Value code per id (-1 when the id or its value is unknown)."""
        codes, distinct = pd.factorize(np.asarray(ids, dtype=object))
        pos = self.index.get_indexer(distinct)
        val = np.where(pos >= 0, self.value_code[pos], -1)
        return np.where(codes >= 0, val[codes], -1)

    def names_of(self, codes: np.ndarray) -> np.ndarray:
        """Values of codes (nan for -1, as ``Series.map`` gives for an unknown id)."""
        out = np.full(len(codes), np.nan, dtype=object)
        known = codes >= 0
        out[known] = np.asarray(self.names, dtype=object)[codes[known]]
        return out


@dataclass(frozen=True)
class HumanData:
    """The human side of a dataset, prepared once: ``votes`` (pairwise, as
    :func:`human_votes_pairwise`), ``scores`` (single, as :func:`human_scores`), ``info``
    (:func:`response_info`), and the dataset itself (scale, rubric labels).

    Only the tables of ``protocol`` are read (``votes`` is empty for single scores,
    ``scores`` for pairwise), so a dataset is validated only for what is audited."""

    dataset: object
    protocol: str
    votes: pd.DataFrame = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    info: pd.DataFrame = field(repr=False)
    #: what the audit derives from the human side alone (reference labels, win shares,
    #: response lookups), computed on first use and kept with the object: every judge of an
    #: audit reads the same values (at 1M verdicts each was recomputed for each of 10 judges)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, dataset, protocol: str = "pairwise") -> HumanData:
        if isinstance(dataset, HumanData):
            if dataset.protocol != protocol:
                raise ValueError(f"human data prepared for {dataset.protocol}, not {protocol}")
            return dataset
        empty = pd.DataFrame()
        if protocol == "rubric":
            return cls(dataset, protocol, empty, empty, empty)
        return cls(
            dataset,
            protocol,
            human_votes_pairwise(dataset) if protocol == "pairwise" else empty,
            human_scores(dataset) if protocol != "pairwise" else empty,
            response_info(dataset),
        )

    def lookup(self, column: str, key: str = "response_id") -> ResponseLookup:
        """The :class:`ResponseLookup` of ``column`` (``family``, ``generator``, ``category``)
        of ``info`` per ``key``, built once."""
        memo_key = ("lookup", column, key)
        if memo_key not in self.memo:
            self.memo[memo_key] = ResponseLookup(self.info, column, key)
        return self.memo[memo_key]

    @property
    def median_scores(self) -> pd.Series:
        """Median human score per response (``human``), indexed by ``response_id``."""
        return self.scores.groupby("response_id")["score"].median().rename("human")


@dataclass(frozen=True)
class JudgeUnits:
    """One judge's verdicts and their units, prepared once per audit.

    ``units`` / ``excluded``: :func:`pairwise_units` under the audit's ``tie_policy`` (or
    :func:`score_units`); ``class_units``: pairwise units with ties kept as a class (win rates
    and signed bias apply their own tie policy)."""

    verdicts: pd.DataFrame = field(repr=False)
    protocol: str
    order_aggregation: str
    tie_policy: str
    units: pd.DataFrame = field(repr=False)
    excluded: dict
    class_units: pd.DataFrame | None = field(repr=False, default=None)
    #: what the audit's statistics derive from this judge's units alone (its per-pair win
    #: shares, integer codes of its pairs), computed on first use and read by every
    #: statistic of the judge: signed bias and ranking each recomputed them from the text
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        verdicts,
        protocol: str = "pairwise",
        order_aggregation: str = "per_call",
        tie_policy: str = "class",
    ) -> JudgeUnits:
        if isinstance(verdicts, JudgeUnits):
            if verdicts.protocol != protocol or (
                protocol == "pairwise" and verdicts.order_aggregation != order_aggregation
            ):
                raise ValueError(
                    f"units prepared for {verdicts.protocol}/{verdicts.order_aggregation}, "
                    f"not {protocol}/{order_aggregation}"
                )
            if protocol == "pairwise" and verdicts.tie_policy != tie_policy:
                return cls.of(verdicts.verdicts, protocol, order_aggregation, tie_policy)
            return verdicts
        if protocol != "pairwise":
            units, ex = score_units(verdicts)
            return cls(verdicts, protocol, order_aggregation, tie_policy, units, ex)
        # the verdicts' pairs and labels coded once: both unit sets and the confidence
        # (:func:`labels`) read them
        pl = pair_labels(verdicts)
        units, ex, rows = _pairwise_units(verdicts, order_aggregation, tie_policy, pl)
        class_rows = rows
        class_units = units
        if tie_policy != "class":
            class_units, _, class_rows = _pairwise_units(verdicts, order_aggregation, "class", pl)
        ju = cls(verdicts, protocol, order_aggregation, tie_policy, units, ex, class_units)
        ju.memo["pair_labels"] = pl
        # the units' keys as codes, read by sorted_pair_codes and pair_code
        ju.memo[("unit_rows", "units")] = rows
        ju.memo[("unit_rows", "class_units")] = class_rows
        return ju

    def pair_code(self) -> np.ndarray:
        """One integer code per row of ``units`` for its pair ``item_id, lo, hi``:
        :func:`~judgelab.stats.units.pair_codes` of ``units`` (first-appearance codes), kept
        in ``memo``; from the coded verdicts (:class:`UnitRows`) where the units are rows."""
        if "pair_code" not in self.memo:
            rows = self.memo.get(("unit_rows", "units"))
            if rows is None:
                (code,) = pair_codes(self.units)
            else:
                # the same classes as the text keys (a missing item, -1, is one value), so
                # their first-appearance numbering is pair_codes'
                item, lo, hi = rows.sorted_codes()["codes"]
                n = len(rows.labels.ids) + 1
                code = pd.factorize(item.astype(np.int64))[0].astype(np.int64)
                for c in (lo, hi):
                    code = pd.factorize(code * n + c)[0].astype(np.int64)
            self.memo["pair_code"] = code
        return self.memo["pair_code"]

    @property
    def labels(self) -> PairLabels | None:
        """:func:`~judgelab.stats.units.pair_labels` of ``verdicts`` (pairwise units), row
        for row."""
        return self.memo.get("pair_labels")


def class_judge_units(verdicts, order_aggregation: str = "per_call") -> JudgeUnits:
    """The :class:`JudgeUnits` whose ``class_units`` :func:`class_units` returns: the prepared
    units themselves (with their ``memo``), or prepared here from a verdict frame."""
    if isinstance(verdicts, JudgeUnits):
        return JudgeUnits.of(verdicts, "pairwise", order_aggregation, verdicts.tie_policy)
    return JudgeUnits.of(verdicts, "pairwise", order_aggregation, "class")


def class_units(verdicts, order_aggregation: str = "per_call") -> pd.DataFrame:
    """Pairwise units with ties kept as a class (for win rates), from a verdict frame or
    prepared :class:`JudgeUnits`."""
    if isinstance(verdicts, JudgeUnits):
        return JudgeUnits.of(
            verdicts, "pairwise", order_aggregation, verdicts.tie_policy
        ).class_units
    return pairwise_units(verdicts, order_aggregation, "class")[0]


def win_value(label: np.ndarray, side: int, tie_policy: str) -> np.ndarray:
    """Win of response ``side`` (0 = lo, 1 = hi) for each label: 1, 0, or for a tie 0
    (class), 0.5 (half) or nan (drop): :func:`judgelab.stats.agreement.win_score` on the
    label names."""
    # win_score of each of the three class names, read per label (the same values as on a
    # name per row; a million object comparisons per call before)
    table = win_score(np.asarray(PAIR_CLASSES, dtype=object), PAIR_CLASSES[side], tie_policy)
    return table[np.asarray(label, dtype=int)]
