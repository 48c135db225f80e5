"""Per-verdict confidence and its source, written once (docs/statistics.md#verdict-confidence).

The contract every table that carries a confidence follows:

- ``confidence``: a float in [0, 1], the probability of the chosen verdict (a judged call)
  or of the aggregated pair verdict (a pair judged in both orders, by repeats or by an
  ensemble);
- ``confidence_source``: where it comes from, one of :data:`CONFIDENCE_SOURCES`:

  ``logprob``
      the judge's token probabilities at the verdict token (``p_a``, ``p_b``, ``p_tie`` as
      :func:`judgelab.logprobs.logprob_fields` stores them), averaged over the repeats and
      orders of the unit; the confidence is the mean probability of the unit's verdict;
  ``self_consistency``
      the share of r >= 2 repeats (``sample``) that give the unit's verdict;
  ``order_agreement``
      the share of the two display orders whose verdict is the pair's verdict: 1 (the
      orders agree), 0.5 (one order says tie) or 0 (A in one order, B in the other: the
      pair's verdict is a tie neither order gave);
  ``ensemble``
      the share of the ensemble's judges whose verdict is the ensemble's majority verdict.

- a confidence that cannot be derived (no logprobs, one repeat, one order) is ``nan`` with
  ``confidence_source`` None: it is never replaced by another source silently.

The unit's verdict is the one the audit reads (:mod:`judgelab.stats.calibration.units`):
the modal repeat within (pair, order) at ``level="call"``; at ``level="pair"`` the plurality
of the unit's verdicts (orders that disagree make a tie, as ``consistent_only``). Labels use
the canonical pair coding of :mod:`judgelab.stats.units` (0 = ``lo`` wins, 1 = ``hi``, 2 = tie).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats.errors import DataError
from judgelab.stats.units import Decoder, PairLabels, judge_strings, pair_labels, parsed_mask
from judgelab.stats.votes import plurality

__all__ = [
    "CONFIDENCE_SOURCES",
    "CONFIDENCE_COLUMNS",
    "LEVELS",
    "ORDINAL_MAX_LEVELS",
    "canonical_probabilities",
    "row_confidence",
    "verdict_confidence",
    "available_sources",
    "default_source",
    "expected_score",
    "pass_probability",
]

CONFIDENCE_SOURCES = ("logprob", "self_consistency", "order_agreement", "ensemble")
LEVELS = ("call", "pair")
#: A confidence taking at most this many distinct values is ordinal: ECE is not reported for
#: it (its bins are its levels; docs/statistics.md#confidence-calibration), accuracy per
#: level and AUROC are.
ORDINAL_MAX_LEVELS = 3
#: Columns of :func:`verdict_confidence`, in order.
CONFIDENCE_COLUMNS = (
    "judge",
    "item_id",
    "lo",
    "hi",
    "order",
    "label",
    "confidence",
    "confidence_source",
    "p_lo",
    "p_hi",
    "p_tie",
    "n_votes",
    "truncated",
)
_KEYS = ["judge", "item_id", "lo", "hi"]


def _sorted_codes(values) -> tuple[np.ndarray, pd.Index]:
    """Sorted codes of a column without missing values and the values they stand for (an
    Index typed as a groupby's keys of the values are: text as ``str``)."""
    codes, uniq = pd.factorize(values, sort=True)
    return codes, pd.Index(np.asarray(uniq, dtype=object))


def canonical_probabilities(
    verdicts: pd.DataFrame, a_is_lo: np.ndarray | None = None
) -> np.ndarray:
    """``(n, 3)`` probabilities of (``lo`` wins, ``hi`` wins, tie) per pairwise row, from the
    displayed-slot probabilities ``p_a`` (the answer shown first), ``p_b`` and ``p_tie``.

    ``order`` ``ba`` means ``response_b`` was shown first. A missing ``p_tie`` beside present
    ``p_a`` and ``p_b`` is 0 (the prompt offered no tie); rows without ``p_a`` or ``p_b`` are
    nan. Each row is renormalised to sum to 1. ``a_is_lo``: per row, ``response_a`` is the
    pair's ``lo`` (:attr:`judgelab.stats.units.PairLabels.a_is_lo`), when the caller has
    coded the pairs."""
    n = len(verdicts)
    out = np.full((n, 3), np.nan)
    if n == 0 or "p_a" not in verdicts.columns or "p_b" not in verdicts.columns:
        return out
    pa = pd.to_numeric(verdicts["p_a"], errors="coerce").to_numpy(dtype=float)
    pb = pd.to_numeric(verdicts["p_b"], errors="coerce").to_numpy(dtype=float)
    pt = (
        pd.to_numeric(verdicts["p_tie"], errors="coerce").to_numpy(dtype=float)
        if "p_tie" in verdicts.columns
        else np.zeros(n)
    )
    pt = np.where(np.isnan(pt), 0.0, pt)
    ba = (
        (verdicts["order"] == "ba").to_numpy(dtype=bool, na_value=False)
        if "order" in verdicts.columns
        else np.zeros(n, dtype=bool)
    )
    p_ra = np.where(ba, pb, pa)  # P(response_a wins)
    p_rb = np.where(ba, pa, pb)
    if a_is_lo is None:
        a_is_lo = pair_labels(verdicts).a_is_lo
    out[:, 0] = np.where(a_is_lo, p_ra, p_rb)
    out[:, 1] = np.where(a_is_lo, p_rb, p_ra)
    out[:, 2] = pt
    tot = out.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = out / tot[:, None]
    out[~(tot > 0)] = np.nan
    return out


def _base(
    verdicts: pd.DataFrame, labels: PairLabels | None = None, probabilities: bool = True
) -> tuple[pd.DataFrame, Decoder]:
    """Parsed pairwise verdicts as ``judge, item_id, lo, hi, order, sample, label`` and the
    canonical probabilities (``q_lo, q_hi, q_tie``), the key columns as sorted integer codes
    (each text column hashed once per call), and their :class:`Decoder`. ``labels``:
    :func:`pair_labels` of ``verdicts`` if the caller has them. ``probabilities``: False for
    a source that reads only the votes (the ``q_*`` columns are then nan, unread)."""
    for c in ("item_id", "response_a", "response_b"):
        if c not in verdicts.columns:
            raise DataError(
                "verdicts",
                c,
                f"missing required column (columns present: {list(verdicts.columns)}); "
                "confidence is derived from pairwise verdicts",
            )
    v = verdicts
    if "protocol" in v.columns:
        pairwise = (v["protocol"].astype(str).str.lower() == "pairwise").to_numpy()
        if not pairwise.all():  # read as it is when every row is pairwise (no copy)
            v, labels = v[pairwise], None  # the caller's labels are of every row
    pl = pair_labels(v) if labels is None else labels
    code = pl.label
    ok = parsed_mask(v) & ~np.isnan(code)
    n = len(v)
    q = canonical_probabilities(v, pl.a_is_lo) if probabilities else np.full((n, 3), np.nan)
    judge, judges = _sorted_codes(_judge_text(v))
    item, items = _sorted_codes(v["item_id"].astype(str))
    order, orders = _sorted_codes(
        v["order"].fillna("ab") if "order" in v.columns else pd.Series(np.full(n, "ab", object))
    )
    cols = {
        "judge": judge,
        "item_id": item,
        "lo": pl.lo,
        "hi": pl.hi,
        "order": order,
        "sample": pd.to_numeric(v["sample"], errors="coerce").fillna(0).to_numpy()
        if "sample" in v.columns
        else np.zeros(n),
        "label": np.nan_to_num(code, nan=-1).astype(int),
        "q_lo": q[:, 0],
        "q_hi": q[:, 1],
        "q_tie": q[:, 2],
        "truncated": _truncated(v),
    }
    # a missing judge or item (code -1) leaves the row out, as the groupbys on the values did
    ok &= (judge >= 0) & (item >= 0)
    if not ok.all():  # the kept rows of each column (no copy when every row is kept)
        cols = {c: a[ok] for c, a in cols.items()}
    # the columns as they are, one block each: no 2D block copied together (0.2 s at 1M
    # rows); nothing here writes into them
    df = pd.DataFrame(cols, copy=False)
    # lo and hi share one table: the pair's codes index the sorted response ids
    ids = pd.Index(np.asarray(pl.ids, dtype=object))
    decode = Decoder(dict(judge=judges, item_id=items, lo=ids, hi=ids, order=orders))
    return df, decode


def _judge_text(v: pd.DataFrame):
    """The judges of ``v`` as text (:func:`judge_strings` as ``str``), to be coded: a stored
    ``judge`` column without missing values as it is (its text sorts and codes as the same
    strings would), where converting a million rows to Python objects and back costs."""
    if "judge" in v.columns and isinstance(v["judge"].dtype, pd.StringDtype):
        if not v["judge"].isna().any():
            return v["judge"]
    return judge_strings(v).astype(str)


def _truncated(v: pd.DataFrame) -> np.ndarray:
    """True where the stored probabilities include an alternative missing from the top-k,
    recorded at its upper bound (``p_truncated`` names it, :func:`judgelab.logprobs.logprob_fields`)."""
    if "p_truncated" not in v.columns:
        return np.zeros(len(v), dtype=bool)
    t = v["p_truncated"].to_numpy(dtype=object)
    return np.array([isinstance(x, str) and x.strip() != "" for x in t], dtype=bool)


def row_confidence(verdicts: pd.DataFrame) -> pd.DataFrame:
    """``confidence`` and ``confidence_source`` of each verdict row, on its index.

    The logprob probability of the row's own verdict (:func:`canonical_probabilities` at the
    row's label); rows without logprobs or not parsed get nan and source None. A verdict
    file that already carries ``confidence`` keeps it with its ``confidence_source``."""
    n = len(verdicts)
    conf = np.full(n, np.nan)
    src = np.full(n, None, dtype=object)
    if n and {"item_id", "response_a", "response_b"} <= set(verdicts.columns):
        pl = pair_labels(verdicts)
        code = pl.label
        ok = parsed_mask(verdicts) & ~np.isnan(code)
        q = canonical_probabilities(verdicts, pl.a_is_lo)
        lab = np.nan_to_num(code, nan=0).astype(int)
        c = q[np.arange(n), lab]
        has = ok & np.isfinite(c)
        conf[has] = c[has]
        src[has] = "logprob"
    if "confidence" in verdicts.columns:
        given = pd.to_numeric(verdicts["confidence"], errors="coerce").to_numpy(dtype=float)
        gsrc = (
            verdicts["confidence_source"].to_numpy(dtype=object)
            if "confidence_source" in verdicts.columns
            else np.full(n, None, dtype=object)
        )
        keep = np.isfinite(given)
        conf[keep], src[keep] = given[keep], gsrc[keep]
    # object dtype: a missing source stays None (pandas would infer a string dtype with nan)
    return pd.DataFrame(
        {
            "confidence": conf,
            "confidence_source": pd.Series(src, index=verdicts.index, dtype=object),
        },
        index=verdicts.index,
    )


def _group_codes(df: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, dict] | None:
    """Group number of each row of ``df`` by its integer ``keys`` (groups in sorted key order,
    as a sorted groupby numbers them) and the keys of each group, by column: the keys packed
    into one int64 (mixed radix, so its order is the keys' lexicographic order) and factorized
    once, where a groupby hashes the columns together. None when a key is not integer or the
    packed key would overflow (the caller groups)."""
    cols = [df[k].to_numpy() for k in keys]
    if not len(df) or any(c.dtype.kind not in "iu" for c in cols):
        return None
    lows = [int(c.min()) for c in cols]
    spans = [int(c.max()) - lo + 1 for c, lo in zip(cols, lows)]
    if np.prod([float(s) for s in spans]) >= 2.0**62:
        return None
    packed = np.zeros(len(df), dtype=np.int64)
    for c, lo, span in zip(cols, lows, spans):
        packed = packed * span + (c.astype(np.int64) - lo)
    gid, uniq = pd.factorize(packed, sort=True)
    out = {}
    for k, lo, span in reversed(list(zip(keys, lows, spans))):
        out[k] = uniq % span + lo
        uniq = uniq // span
    return gid, {k: out[k] for k in keys}


def _shares(df: pd.DataFrame, keys: list[str], coded=None) -> pd.DataFrame:
    """Vote counts per class (``n0, n1, n2``) and their plurality per group of ``keys``
    (sorted), counted by one ``bincount`` over the group numbers (labels are 0, 1, 2).
    ``coded``: :func:`_group_codes` of ``df`` and ``keys`` if the caller has them."""
    if coded is None:
        coded = _group_codes(df, keys)
    if coded is None:
        g = df.groupby(keys, sort=True)
        gid, key_cols = g.ngroup().to_numpy(), g.size().index.to_frame(index=False)
        key_cols = {k: key_cols[k].to_numpy() for k in keys}
    else:
        gid, key_cols = coded
    n = len(next(iter(key_cols.values()))) if key_cols else 0
    lab = df["label"].to_numpy(dtype=np.int64)
    tot = np.bincount(gid * 3 + lab, minlength=3 * n).reshape(n, 3).astype(float)
    p = tot / tot.sum(axis=1, keepdims=True)
    out = pd.DataFrame(dict(key_cols, p_lo=p[:, 0], p_hi=p[:, 1], p_tie=p[:, 2]), copy=False)
    out["label"] = plurality(tot).astype(int)
    out["n_votes"] = tot.sum(axis=1).astype(int)
    return out


def _pick(frame: pd.DataFrame) -> np.ndarray:
    p = frame[["p_lo", "p_hi", "p_tie"]].to_numpy(dtype=float)
    return p[np.arange(len(frame)), frame["label"].to_numpy(dtype=int)]


def _finish(out: pd.DataFrame, source: str, valid: np.ndarray, decode: Decoder) -> pd.DataFrame:
    out = decode(out)
    out["confidence"] = np.where(valid, _pick(out), np.nan)
    out["confidence_source"] = pd.Series(
        np.where(valid, source, None), index=out.index, dtype=object
    )
    if "truncated" not in out.columns:
        out["truncated"] = False
    if "order" not in out.columns:
        out["order"] = "both"
    return out.reindex(columns=list(CONFIDENCE_COLUMNS)).reset_index(drop=True)


def _logprob(base: pd.DataFrame, level: str, decode: Decoder) -> pd.DataFrame:
    keys = _KEYS + (["order"] if level == "call" else [])
    has = base[["q_lo", "q_hi", "q_tie"]].notna().all(axis=1)
    coded = _group_codes(base, keys)
    # grouped on the group numbers when the keys are coded: the same groups in the same
    # (sorted) order, each with its rows in the same order, as grouping on the keys
    g = base.assign(has=has).groupby(keys if coded is None else coded[0], sort=True)
    # the unit's verdict: modal repeat per order, then (pair level) plurality of the orders
    per_order = _shares(base, _KEYS + ["order"], coded if level == "call" else None)
    verdict = per_order if level == "call" else _shares(per_order, _KEYS)
    probs = g[["q_lo", "q_hi", "q_tie"]].mean()  # mean over the rows that have them
    probs["complete"] = g["has"].all()
    probs["truncated"] = g["truncated"].any()
    probs["n_votes"] = g.size()
    if coded is None:
        probs = probs.reset_index()
    else:
        probs = pd.concat(
            [pd.DataFrame(coded[1], copy=False), probs.reset_index(drop=True)], axis=1
        )
    if level == "call":
        # the verdicts' groups are these groups, in the same (sorted) order: the left merge
        # on the keys is this row-by-row concatenation
        out = pd.concat([verdict[keys + ["label"]], probs.drop(columns=keys)], axis=1)
    else:
        out = verdict[keys + ["label"]].merge(probs, on=keys, how="left")
    out = out.rename(columns={"q_lo": "p_lo", "q_hi": "p_hi", "q_tie": "p_tie"})
    # a unit with a repeat or an order lacking logprobs is missing: averaging only the others
    # would report a confidence of part of the unit as that of the whole
    valid = out["complete"].to_numpy(dtype=bool)
    out.loc[~valid, ["p_lo", "p_hi", "p_tie"]] = np.nan
    return _finish(out, "logprob", valid, decode)


def _self_consistency(base: pd.DataFrame, level: str, decode: Decoder) -> pd.DataFrame:
    keys = _KEYS + (["order"] if level == "call" else [])
    out = _shares(base, keys)
    # one order may have repeats while the other has one: r counts the unit's verdicts
    valid = out["n_votes"].to_numpy() >= 2
    if level == "pair":
        reps = base.groupby(_KEYS + ["order"]).size().groupby(level=list(range(4))).min()
        out = out.merge(reps.rename("r").reset_index(), on=_KEYS, how="left")
        valid = out["r"].to_numpy() >= 2
    return _finish(out, "self_consistency", valid, decode)


def _order_agreement(base: pd.DataFrame, decode: Decoder) -> pd.DataFrame:
    disp = base[np.isin(base["order"].to_numpy(), decode.codes_of("order", ["ab", "ba"]))]
    per_order = _shares(disp, _KEYS + ["order"])  # modal repeat per order
    out = _shares(per_order, _KEYS)
    valid = out["n_votes"].to_numpy() == 2
    return _finish(out, "order_agreement", valid, decode)


def _ensemble(base: pd.DataFrame, level: str, name: str | None, decode: Decoder) -> pd.DataFrame:
    judges = list(decode.tables["judge"].take(np.unique(base["judge"].to_numpy())))
    if len(judges) < 2:
        raise ValueError(
            f"an ensemble confidence needs the verdicts of at least two judges; got {judges}"
        )
    keys = ["item_id", "lo", "hi"] + (["order"] if level == "call" else [])
    per_order = _shares(base, _KEYS + ["order"])
    per_judge = per_order if level == "call" else _shares(per_order, _KEYS)
    out = _shares(per_judge, keys)
    valid = out["n_votes"].to_numpy() >= 2
    out = _finish(out, "ensemble", valid, decode)
    out["judge"] = name or "ensemble:" + "+".join(judges)
    return out


def available_sources(verdicts: pd.DataFrame) -> list[str]:
    """The confidence sources this verdict frame supports for each of its judges (in the order
    of :data:`CONFIDENCE_SOURCES`, ``ensemble`` excluded: it needs a choice of members)."""
    out = []
    if {"p_a", "p_b"} <= set(verdicts.columns) and (
        pd.to_numeric(verdicts["p_a"], errors="coerce").notna().any()
    ):
        out.append("logprob")
    if "sample" in verdicts.columns and (pd.to_numeric(verdicts["sample"]).fillna(0) > 0).any():
        out.append("self_consistency")
    if "order" in verdicts.columns and {"ab", "ba"} <= set(verdicts["order"].dropna().unique()):
        out.append("order_agreement")
    return out


def default_source(verdicts: pd.DataFrame) -> str | None:
    """The confidence source read when none is chosen, the one rule every study follows (the
    cascade, the escalation queue, the calibration of confidence): the first of
    :func:`available_sources` (``logprob``, then ``self_consistency``, then
    ``order_agreement``); None when the verdicts support none."""
    avail = available_sources(verdicts)
    return avail[0] if avail else None


def verdict_confidence(
    verdicts: pd.DataFrame,
    source: str = "logprob",
    *,
    level: str = "pair",
    ensemble_name: str | None = None,
    labels: PairLabels | None = None,
) -> pd.DataFrame:
    """Per-unit confidence of pairwise verdicts and its source (module docstring).

    Parameters
    ----------
    verdicts : DataFrame
        Tidy pairwise verdicts (docs/design.md): ``item_id``, ``response_a``, ``response_b``,
        ``choice`` / ``winner``, ``order``, ``sample``, the identity columns (or ``judge``)
        and, for ``logprob``, ``p_a``, ``p_b`` (``p_tie``).
    source : one of :data:`CONFIDENCE_SOURCES`
        ``ensemble`` treats every judge in ``verdicts`` as a member and returns one row per
        unit for the ensemble (``judge`` = ``ensemble_name`` or ``ensemble:<members>``).
    level : ``"pair"`` or ``"call"``
        ``pair``: one unit per pair (orders and repeats aggregated); ``call``: one unit per
        (pair, display order), repeats aggregated. ``order_agreement`` is pair level only.
    labels : PairLabels, optional
        :func:`judgelab.stats.units.pair_labels` of ``verdicts`` (row for row) when the caller
        has coded them already (the audit's :class:`~judgelab.stats.calibration.units.
        JudgeUnits`); coded here otherwise. The same values either way.

    Returns
    -------
    DataFrame
        :data:`CONFIDENCE_COLUMNS`: the unit (``judge, item_id, lo, hi, order``; ``order`` is
        ``both`` at pair level), its verdict ``label`` (0 = lo wins, 1 = hi, 2 = tie), the
        ``confidence`` of that verdict and its ``confidence_source`` (nan and None where the
        source does not apply to the unit), the probability (or vote share) vector
        ``p_lo, p_hi, p_tie``, ``n_votes`` (verdicts aggregated) and ``truncated`` (a logprob
        alternative outside the top-k entered at its upper bound).
    """
    return coded_verdict_confidence(
        verdicts, source, level=level, ensemble_name=ensemble_name, labels=labels
    )[0]


def coded_verdict_confidence(
    verdicts: pd.DataFrame,
    source: str = "logprob",
    *,
    level: str = "pair",
    ensemble_name: str | None = None,
    labels: PairLabels | None = None,
) -> tuple[pd.DataFrame, dict | None]:
    """:func:`verdict_confidence` and its units' keys as the integer codes they were built on
    (None for no unit): ``item_id``, ``lo``, ``hi`` per row and the :class:`Decoder` tables
    they index (``tables``: the sorted item ids; ``lo`` / ``hi`` into the response ids of
    ``labels`` when given), so that a caller joins on them without hashing the text again."""
    if source not in CONFIDENCE_SOURCES:
        raise ValueError(f"source must be one of {CONFIDENCE_SOURCES}, not {source!r}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    if source == "order_agreement" and level != "pair":
        raise ValueError("order_agreement is a property of a pair: use level='pair'")
    base, decode = _base(verdicts, labels, probabilities=source == "logprob")
    if base.empty:
        return pd.DataFrame(columns=list(CONFIDENCE_COLUMNS)), None
    if source == "logprob":
        out = _logprob(base, level, decode)
    elif source == "self_consistency":
        out = _self_consistency(base, level, decode)
    elif source == "order_agreement":
        out = _order_agreement(base, decode)
    else:
        out = _ensemble(base, level, ensemble_name, decode)
    # the units' keys as the codes _finish decoded, row for row
    codes = {c: decode.last_codes[c] for c in ("item_id", "lo", "hi")}
    return out, dict(codes, tables=decode.tables)


def n_levels(confidence: Sequence[float] | np.ndarray) -> int:
    """Distinct finite values of a confidence (rounded to 1e-9)."""
    c = np.asarray(confidence, dtype=float)
    return int(np.unique(np.round(c[np.isfinite(c)], 9)).size)


def expected_score(distribution: dict[float, float]) -> float:
    """The probability-weighted score sum_v v P(v) (G-Eval, Liu et al. 2023) of a score
    distribution (:func:`judgelab.logprobs.score_distribution`); nan when it is empty."""
    if not distribution:
        return float("nan")
    tot = sum(distribution.values())
    return float(sum(v * p for v, p in distribution.items()) / tot)


def pass_probability(distribution: dict[float, float], threshold: float) -> float:
    """P(score >= ``threshold``) under a score distribution: the confidence of a pass / fail
    verdict read from a score; nan when the distribution is empty."""
    if not distribution:
        return float("nan")
    tot = sum(distribution.values())
    return float(sum(p for v, p in distribution.items() if v >= threshold) / tot)
