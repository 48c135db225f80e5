"""Calibration audit: can this judge stand in for humans on this distribution?

Every finding id of STATISTICS.md "Calibration audit" is computed here from the tidy
verdict frame (docs/architecture.md) and a :class:`judgelab.data.Dataset`:

==========================  ================================================================
id                          definition
==========================  ================================================================
accuracy, cohen_kappa,      pairwise: the judge's verdict against the human majority of the
macro_f1                    pair (pairs without a strict majority are excluded and counted);
                            classes ``a`` / ``b`` (the pair's first / second response id in
                            sorted order wins) and ``tie``.
weighted_kappa, spearman,   single score: the judge's score (repeats averaged) against the
kendall_tau                 median human score of the response (rounded for the kappa);
                            quadratic weights (Cohen 1968), tau-b (Kendall 1945).
human_ceiling               agreement of two different humans on the same unit, pooled over
                            every (unit, ordered rater pair) (Zheng et al. 2023, MT-Bench).
human_vote_agreement        the judge against each individual human vote, pooled the same way.
alternative_annotator_gap   per rater h: judge's agreement with the other raters' label minus
                            h's, on units where the others agree; mean over raters (after
                            Calderon et al. 2025, "The Alternative Annotator Test").
signed_bias                 per candidate family: judge minus human win rate (pairs) or mean
                            judge minus median human score (scores); primary per judge: the
                            largest absolute family bias, sign-flip p Holm-adjusted across
                            the judge's families.
gate                        2 pass / 1 warn / 0 fail from the point estimates (kappa >= 0.75
                            and macro-F1 >= 0.85; kappa >= 0.60), stated with the CI, the
                            human ceiling and the alternative-annotator gap.
ranking_kendall_tau         Kendall tau-b of generator win rates, judge vs humans.
separability                share of generator pairs whose 95% win-rate CIs do not overlap
                            (Li et al. 2024, Arena-Hard).
drift_agreement             the same units under two judge_versions: agreement, kappa and an
                            item-level permutation test of the change in verdict distribution.
section_failure_rate        rubric: share of responses below the pass threshold per section,
                            beside the share of human labels that are not ``pass``.
==========================  ================================================================

Every CI is an item-cluster bootstrap (:func:`judgelab.stats.resampling.cluster_bootstrap`)
of per-item sufficient statistics: confusion counts for accuracy / kappa / F1, win and
appearance counts for win rates. Spearman and Kendall are not functions of sums, but a
resample is a vector of item multiplicities ``w``, and both have closed forms in ``w``
(see :func:`_kendall_b_weighted`, :func:`_spearman_weighted`), so they are bootstrapped by the
same vectorised routine with ``per_item = I`` (the totals it hands the statistic are then
``w`` itself): exact, and no Python loop over resamples.

Settings (STATISTICS.md): ``tie_policy`` ``class`` (a tie is a third class) or ``drop``
(tie verdicts and tie references are removed and counted); ``half`` is refused for kappa
and F1. ``order_aggregation``: ``per_call`` (each order is one judgment; repeats within
(pair, order) share a weight of one), ``first_order`` (order ``ab`` only),
``consistent_only`` (one judgment per pair; orders that disagree make a tie, as FastChat).
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from judgelab.data import DataError
from judgelab.stats import agreement as _agr
from judgelab.stats import multitest
from judgelab.stats import power as _power
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.resampling import (
    MIN_ITEMS,
    BootstrapResult,
    cluster_bootstrap,
    iter_bootstrap_weights,
    sign_flip_test,
)

__all__ = [
    "DEFAULT_GATE",
    "PAIR_CLASSES",
    "audit",
    "pairwise_units",
    "human_votes_pairwise",
    "human_reference_pairwise",
    "score_units",
    "agreement_from_confusion",
    "kappa_from_confusion",
    "weighted_kappa_from_confusion",
    "macro_f1_from_confusion",
    "kendall_tau_b",
    "spearman",
    "pairwise_agreement",
    "score_agreement",
    "human_ceiling",
    "human_vote_agreement",
    "alternative_annotator_gap",
    "signed_bias",
    "gate",
    "ranking",
    "drift_agreement",
    "section_failure_rate",
    "rubric_agreement",
    "confusion_table",
    "win_rates",
    "majority_verdicts",
    "escalation_queue",
    "identity_of",
]

#: The seeds' calibration gate: pass needs kappa >= pass_kappa and macro-F1 >= pass_f1;
#: warn needs kappa >= warn_kappa; anything else fails.
DEFAULT_GATE = {"pass_kappa": 0.75, "pass_f1": 0.85, "warn_kappa": 0.60}
#: Pairwise classes: the first (sorted) response of the pair wins, the second wins, tie.
PAIR_CLASSES = ("a", "b", "tie")
#: Alternative-annotator test: "as good as a human annotator" when ci_low >= -this.
AAG_MARGIN = 0.05
GATE_LABELS = {2: "pass", 1: "warn", 0: "fail"}


def identity_of(df: pd.DataFrame) -> pd.Series:
    """The identity string ``model|backend|judge_version`` of each verdict row."""
    return (
        df["model"].astype(str)
        + "|"
        + df["backend"].astype(str)
        + "|"
        + df["judge_version"].astype(str)
    )


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


# =====================================================================================
# statistics of totals (vectorised over resamples: rows of the input)
# =====================================================================================


# The confusion-table statistics are judgelab.stats.agreement's (one implementation, tested
# there and here against scikit-learn); these names keep the audit's call sites short.


def agreement_from_confusion(totals: np.ndarray, k: int) -> np.ndarray:
    """Share on the diagonal of a ``k x k`` confusion table (rows: reference, columns:
    judge), one value per row of ``totals`` ``(m, k*k)``; nan on an empty table."""
    return _agr.accuracy_from_totals(np.atleast_2d(np.asarray(totals, float)), k)


def kappa_from_confusion(totals: np.ndarray, k: int) -> np.ndarray:
    """Cohen's kappa (Cohen 1960): (p_o - p_e) / (1 - p_e), p_e = sum_k row_k col_k / N^2.

    nan when the table is empty or p_e = 1 (both raters use one and the same class)."""
    return _agr.kappa_from_totals(np.atleast_2d(np.asarray(totals, float)), k)


def weighted_kappa_from_confusion(
    totals: np.ndarray, k: int, weights: str = "quadratic"
) -> np.ndarray:
    """Weighted kappa (Cohen 1968): 1 - sum w O / sum w E, E = row x col / N, with
    disagreement weights w_ij = (i - j)^2 (quadratic) or |i - j| (linear) on ordered classes.
    Equals scikit-learn ``cohen_kappa_score(weights=...)``. nan when sum w E = 0."""
    return _agr.kappa_from_totals(np.atleast_2d(np.asarray(totals, float)), k, weights)


def macro_f1_from_confusion(totals: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1: mean over classes of 2 TP / (2 TP + FP + FN), over the classes that occur
    in the reference or the verdicts (as scikit-learn ``f1_score(average="macro")``)."""
    return _agr.macro_f1_from_totals(np.atleast_2d(np.asarray(totals, float)), k)


def _block_sums(m: np.ndarray, codes: np.ndarray, n_items: int, axes=(0, 1)) -> np.ndarray:
    """Sum the rows (and columns) of ``m`` within items: ``out[I, J] = sum_{i in I, j in J} m[i, j]``."""
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_items)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = m
    for ax in axes:
        out = np.add.reduceat(np.take(out, order, axis=ax), starts, axis=ax)
    return out


def _kendall_matrices(x, y, codes, n_items):
    # every item has at least one unit (codes come from factorize), so reduceat is safe
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    return (
        _block_sums(sx * sy, codes, n_items),
        _block_sums((sx == 0).astype(float), codes, n_items),
        _block_sums((sy == 0).astype(float), codes, n_items),
        np.bincount(codes, minlength=n_items).astype(float),
    )


def _kendall_b_weighted(W, S, TX, TY, sizes):
    """Kendall tau-b of the multiset in which item I appears W[r, I] times.

    Over ordered pairs of distinct units, sum s = w'Sw (the self pair has s = 0) and ties
    sum = w'Tw - sum_I w_I n_I (removing each unit's pair with itself); halve for unordered
    pairs. tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)) (scipy ``kendalltau``, b)."""
    W = np.asarray(W, dtype=float)
    # w'Mw for every row of W: one BLAS product and a row-wise dot (einsum does not use BLAS)
    cd = 0.5 * ((W @ S) * W).sum(axis=1)
    self_pairs = W @ sizes
    n1 = 0.5 * (((W @ TX) * W).sum(axis=1) - self_pairs)
    n2 = 0.5 * (((W @ TY) * W).sum(axis=1) - self_pairs)
    n0 = 0.5 * (self_pairs**2 - self_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt((n0 - n1) * (n0 - n2))
        return np.where(den > 0, cd / den, np.nan)


def _rank_matrices(x, codes, n_items):
    less = (x[None, :] < x[:, None]).astype(float)  # [i, j] = x_j < x_i
    eq = (x[None, :] == x[:, None]).astype(float)
    # (n, n_items): how many units of each item are smaller than / equal to unit i
    return _block_sums(less, codes, n_items, axes=(1,)), _block_sums(eq, codes, n_items, axes=(1,))


def _spearman_weighted(W, LX, EX, LY, EY, codes):
    """Spearman rho of the multiset in which item I appears W[r, I] times: the Pearson
    correlation of average ranks, a unit of response i having rank L_i.w + (E_i.w + 1) / 2
    (L_i.w units are smaller, E_i.w - 1 other units are equal), weighted by w_item(i)."""
    W = np.asarray(W, dtype=float)
    # float32 products are exact here (integer counts far below 2**24) and twice as fast
    W32 = W.astype(np.float32)
    rx = (W32 @ (LX + 0.5 * EX).T.astype(np.float32)).astype(float) + 0.5
    ry = (W32 @ (LY + 0.5 * EY).T.astype(np.float32)).astype(float) + 0.5
    wu = W[:, codes]
    n = wu.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (wu * rx).sum(1) / n
        my = (wu * ry).sum(1) / n
        dx, dy = rx - mx[:, None], ry - my[:, None]
        cov = (wu * dx * dy).sum(1)
        vx, vy = (wu * dx * dx).sum(1), (wu * dy * dy).sum(1)
        out = cov / np.sqrt(vx * vy)
    return np.where((vx > 1e-12) & (vy > 1e-12), out, np.nan)


def kendall_tau_b(x, y) -> float:
    """Kendall tau-b of two vectors (nan when undefined); equals scipy ``kendalltau``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    codes = np.arange(len(x))
    S, TX, TY, sizes = _kendall_matrices(x, y, codes, len(x))
    return float(_kendall_b_weighted(np.ones((1, len(x))), S, TX, TY, sizes)[0])


def spearman(x, y) -> float:
    """Spearman rho with average ranks for ties (nan when undefined); equals scipy ``spearmanr``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    codes = np.arange(len(x))
    LX, EX = _rank_matrices(x, codes, len(x))
    LY, EY = _rank_matrices(y, codes, len(x))
    return float(_spearman_weighted(np.ones((1, len(x))), LX, EX, LY, EY, codes)[0])


# =====================================================================================
# units: judge verdicts and human labels in one coding
# =====================================================================================


def _sorted_pair(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    a, b = a.astype(str).to_numpy(), b.astype(str).to_numpy()
    return np.where(a <= b, a, b), np.where(a <= b, b, a)


def _winner_of(v: pd.DataFrame) -> np.ndarray:
    """Winner response id (or 'tie'); from ``choice`` and ``order`` where ``winner`` is empty."""
    win = (
        v["winner"].astype(object).to_numpy()
        if "winner" in v.columns
        else np.full(len(v), None, object)
    )
    if "choice" in v.columns:
        ch = v["choice"].to_numpy()
        order = v["order"].to_numpy() if "order" in v.columns else np.full(len(v), "ab", object)
        first = np.where(order == "ba", v["response_b"].to_numpy(), v["response_a"].to_numpy())
        second = np.where(order == "ba", v["response_a"].to_numpy(), v["response_b"].to_numpy())
        derived = np.where(
            ch == "A", first, np.where(ch == "B", second, np.where(ch == "tie", "tie", None))
        )
        missing = pd.isna(pd.Series(win)).to_numpy()
        win = np.where(missing, derived, win)
    return win


def _parsed(v: pd.DataFrame) -> np.ndarray:
    if "parse_ok" not in v.columns:
        return np.ones(len(v), bool)
    return v["parse_ok"].fillna(False).astype(bool).to_numpy().copy()


def _mode_label(labels: np.ndarray) -> int:
    """Most frequent class among repeats; no unique mode -> tie (the repeats disagree)."""
    counts = np.bincount(labels, minlength=3)
    top = np.flatnonzero(counts == counts.max())
    return int(top[0]) if len(top) == 1 else 2


# Inside audit() the same judge's frame is turned into units by several statistics; the
# frames stay alive for the whole audit, so their ids are safe keys there (None = no cache).
_UNITS_CACHE: dict | None = None


def pairwise_units(
    verdicts: pd.DataFrame, order_aggregation: str = "per_call", tie_policy: str = "class"
) -> tuple[pd.DataFrame, dict]:
    """One judge's pairwise verdicts as weighted units ``item_id, lo, hi, label, weight``.

    ``lo < hi`` are the pair's response ids in sorted order; ``label`` 0 = lo wins, 1 = hi
    wins, 2 = tie. ``per_call``: every parsed (pair, order) is a unit of weight 1 shared by
    its repeats (1 / r each: repeats averaged within (pair, order), STATISTICS.md).
    ``first_order``: order ``ab`` only. ``consistent_only``: one unit per pair with both
    orders parsed, labelled by the modal repeat of each order; orders that disagree give a
    tie. ``tie_policy='drop'`` removes tie units afterwards. Returns (units, counts of
    excluded rows/pairs by reason).
    """
    key = (id(verdicts), len(verdicts), order_aggregation, tie_policy)
    if _UNITS_CACHE is not None and key in _UNITS_CACHE:
        units, ex = _UNITS_CACHE[key]
        return units.copy(), dict(ex)
    units, ex = _pairwise_units(verdicts, order_aggregation, tie_policy)
    if _UNITS_CACHE is not None:
        _UNITS_CACHE[key] = (units, ex)
    return units.copy(), dict(ex)


def _pairwise_units(
    verdicts: pd.DataFrame, order_aggregation: str = "per_call", tie_policy: str = "class"
) -> tuple[pd.DataFrame, dict]:
    """The uncached body of :func:`pairwise_units` (same arguments and result)."""
    _check_settings(tie_policy, order_aggregation)
    _require(verdicts, "verdicts", ["item_id", "response_a", "response_b"])
    v = verdicts
    ok = _parsed(v)
    win = _winner_of(v)
    lo, hi = _sorted_pair(v["response_a"], v["response_b"])
    label = np.where(win == lo, 0, np.where(win == hi, 1, np.where(win == "tie", 2, -1)))
    ok &= label >= 0
    order = v["order"].fillna("ab").to_numpy() if "order" in v.columns else np.full(len(v), "ab")
    sample = v["sample"].fillna(0).to_numpy() if "sample" in v.columns else np.zeros(len(v))
    df = pd.DataFrame(
        {
            "item_id": v["item_id"].astype(str).to_numpy(),
            "lo": lo,
            "hi": hi,
            "order": order,
            "sample": sample,
            "label": label,
            "ok": ok,
        }
    )
    excluded = {"unparsed": int((~ok).sum())}
    df = df[df["ok"]]
    if order_aggregation == "first_order":
        excluded["order_ba"] = int((df["order"] != "ab").sum())
        df = df[df["order"] == "ab"]
    if order_aggregation in ("per_call", "first_order"):
        r = df.groupby(["item_id", "lo", "hi", "order"])["label"].transform("size")
        units = df.assign(weight=1.0 / r.to_numpy())[
            ["item_id", "lo", "hi", "order", "label", "weight"]
        ]
    else:
        per_order = (
            df.groupby(["item_id", "lo", "hi", "order"])["label"]
            .agg(lambda s: _mode_label(s.to_numpy().astype(int)))
            .reset_index()
        )
        g = per_order.groupby(["item_id", "lo", "hi"])
        n_orders = g["order"].nunique()
        both = n_orders[n_orders == 2].index
        excluded["one_order_only"] = int((n_orders < 2).sum())
        lab = g["label"].agg(lambda s: int(s.iloc[0]) if s.nunique() == 1 else 2)
        lab = lab.loc[both]
        units = lab.rename("label").reset_index()
        units["order"] = "both"
        units["weight"] = 1.0
    if tie_policy == "drop":
        excluded["tie_verdict"] = int((units["label"] == 2).sum())
        units = units[units["label"] != 2]
    return _obj(units.reset_index(drop=True)), excluded


def _human_votes_pairwise_uncached(dataset) -> pd.DataFrame:
    """Human preferences as ``item_id, lo, hi, rater_id, label`` (label coded as in
    :func:`pairwise_units`)."""
    p = dataset.preferences
    if p is None or len(p) == 0:
        return pd.DataFrame(columns=["item_id", "lo", "hi", "rater_id", "label"])
    _require(p, "preferences", ["item_id", "response_a", "response_b", "rater_id", "preference"])
    bad = ~p["preference"].isin(["a", "b", "tie"])
    if bad.any():
        raise DataError(
            "preferences",
            "preference",
            "preference not in {a, b, tie}",
            np.flatnonzero(bad.to_numpy()).tolist(),
        )
    a, b = p["response_a"].astype(str).to_numpy(), p["response_b"].astype(str).to_numpy()
    win = np.where(p["preference"] == "a", a, np.where(p["preference"] == "b", b, "tie"))
    lo, hi = np.where(a <= b, a, b), np.where(a <= b, b, a)
    label = np.where(win == lo, 0, np.where(win == hi, 1, 2))
    return _obj(
        pd.DataFrame(
            {
                "item_id": p["item_id"].astype(str).to_numpy(),
                "lo": lo,
                "hi": hi,
                "rater_id": p["rater_id"].astype(str).to_numpy(),
                "label": label,
            }
        )
    )


def _majority(labels: np.ndarray, n_classes: int) -> int:
    """The class with more than half of the votes, else -1 (no majority)."""
    c = np.bincount(labels, minlength=n_classes)
    k = int(c.argmax())
    return k if c[k] * 2 > c.sum() else -1


def human_reference_pairwise(
    votes: pd.DataFrame, tie_policy: str = "class"
) -> tuple[pd.DataFrame, dict]:
    """Human majority per pair: ``item_id, lo, hi, ref`` (strict majority of the raters'
    votes, ties counted as votes); pairs without one are excluded and counted, and under
    ``tie_policy='drop'`` so are pairs whose majority is tie."""
    if len(votes) == 0:
        return pd.DataFrame(columns=["item_id", "lo", "hi", "ref"]), {"no_human_majority": 0}
    # vote counts per pair and class; a strict majority (> half of the votes) or -1
    counts = votes.groupby(["item_id", "lo", "hi", "label"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[0, 1, 2], fill_value=0)
    c = counts.to_numpy()
    top = c.argmax(axis=1)
    has = c[np.arange(len(c)), top] * 2 > c.sum(axis=1)
    ref = counts.index.to_frame(index=False)
    ref["ref"] = np.where(has, top, -1)
    excluded = {"no_human_majority": int((ref["ref"] < 0).sum())}
    ref = ref[ref["ref"] >= 0]
    if tie_policy == "drop":
        excluded["tie_reference"] = int((ref["ref"] == 2).sum())
        ref = ref[ref["ref"] != 2]
    return ref.reset_index(drop=True), excluded


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


def score_units(verdicts: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """One judge's single-score verdicts: ``item_id, response_id, score`` (mean of the
    parsed repeats of a response)."""
    _require(verdicts, "verdicts", ["item_id", "response_id", "score"])
    ok = _parsed(verdicts) & pd.to_numeric(verdicts["score"], errors="coerce").notna().to_numpy()
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


def _human_scores_uncached(dataset) -> pd.DataFrame:
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


# The human tables are the same for every judge of an audit; reading them once per dataset
# (keyed by object id and content hash, a few entries) removes most of the pandas overhead.
_CACHE: dict = {}


def _cached(name: str, dataset, fn):
    key = (name, id(dataset), getattr(dataset, "sha256", None))
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = fn(dataset)
    return _CACHE[key].copy()


def human_votes_pairwise(dataset) -> pd.DataFrame:
    """Human preferences as ``item_id, lo, hi, rater_id, label`` (label coded as in
    :func:`pairwise_units`: 0 = lo wins, 1 = hi wins, 2 = tie)."""
    return _cached("votes", dataset, _human_votes_pairwise_uncached)


def _human_scores(dataset) -> pd.DataFrame:
    return _cached("scores", dataset, _human_scores_uncached)


def _response_info(dataset) -> pd.DataFrame:
    def info(ds):
        r = ds.response_info()
        keep = [
            c
            for c in ("response_id", "item_id", "generator", "family", "category")
            if c in r.columns
        ]
        return _obj(r[keep].astype(object))

    return _cached("info", dataset, info)


# =====================================================================================
# per-item sufficient statistics and bootstrap plumbing
# =====================================================================================


def _per_item_confusion(items: np.ndarray, ref: np.ndarray, lab: np.ndarray, w: np.ndarray, k: int):
    """``(n_items, k*k)`` weighted confusion counts per item (rows: reference)."""
    codes, uniq = pd.factorize(pd.Series(items))
    out = np.zeros((len(uniq), k * k))
    np.add.at(out, (codes, ref.astype(int) * k + lab.astype(int)), w)
    return out, len(uniq)


@dataclass
class _Ctx:
    n_boot: int = 2000
    seed: int = 0
    ci_level: float = 0.95

    def boot(self, per_item, statistic) -> BootstrapResult:
        return cluster_bootstrap(
            per_item, statistic, n_boot=self.n_boot, seed=self.seed, ci_level=self.ci_level
        )


def _row(
    id_,
    res: BootstrapResult | None,
    *,
    judge,
    slice_,
    n,
    n_excluded,
    method_prefix="",
    reason=None,
    **extra,
):
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
    kw = res.finding_kwargs()
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


def _excluded_total(ex: dict) -> int:
    return int(sum(ex.values()))


def _excluded_text(ex: dict) -> str:
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in ex.items() if v]
    return "excluded: " + ", ".join(parts) if parts else "nothing excluded"


# =====================================================================================
# agreement with the human reference
# =====================================================================================


def _slices(units: pd.DataFrame, info: pd.DataFrame, protocol: str):
    """(slice dict, mask) for overall, each candidate family and each item category.

    A pair belongs to family f's slice when either of its responses is from f (so family
    slices of a pair overlap); a response to its own family."""
    yield None, np.ones(len(units), bool)
    fam = dict(zip(info["response_id"], info["family"]))
    if protocol == "pairwise":
        fa, fb = units["lo"].map(fam).to_numpy(), units["hi"].map(fam).to_numpy()
    else:
        fa = fb = units["response_id"].map(fam).to_numpy()
    for f in sorted({x for x in np.concatenate([fa, fb]) if isinstance(x, str)}):
        yield {"family": f}, (fa == f) | (fb == f)
    if "category" in info.columns:
        cat = dict(zip(info["item_id"], info["category"]))
        c = units["item_id"].map(cat).to_numpy()
        for s in sorted({x for x in c if isinstance(x, str)}):
            yield {"subset": s}, c == s


def pairwise_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    slice_: dict | None = None,
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    by_slice: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """``accuracy``, ``cohen_kappa`` and ``macro_f1`` of one judge's pairwise verdicts against
    the human majority of each pair, overall and (``by_slice``) per candidate family and item
    category, each with an item-cluster bootstrap CI of the weighted confusion counts.
    ``n`` counts pairs; ``n_excluded`` the judged pairs without a usable reference plus
    unparsed / dropped verdict rows."""
    _check_settings(tie_policy, order_aggregation)
    ctx = _Ctx(n_boot, seed, ci_level)
    units, ex = pairwise_units(verdicts, order_aggregation, tie_policy)
    ref, ex_ref = human_reference_pairwise(human_votes_pairwise(dataset), tie_policy)
    judged_pairs = units[["item_id", "lo", "hi"]].drop_duplicates()
    m = units.merge(ref, on=["item_id", "lo", "hi"], how="inner")
    keys = judged_pairs.merge(ref[["item_id", "lo", "hi"]], how="left", indicator=True)
    ex = dict(ex)
    ex["pairs_without_reference"] = int((keys["_merge"] == "left_only").sum())
    method = f"vs human majority; tie_policy={tie_policy}, order_aggregation={order_aggregation}"
    info = _response_info(dataset)
    rows = []
    slices = _slices(m, info, "pairwise") if by_slice else [(slice_, np.ones(len(m), bool))]
    for sl, mask in slices:
        sub = m[mask]
        n_pairs = len(sub[["item_id", "lo", "hi"]].drop_duplicates())
        if len(sub) == 0:
            for id_ in ("accuracy", "cohen_kappa", "macro_f1"):
                rows.append(
                    _row(
                        id_,
                        None,
                        judge=judge,
                        slice_=sl,
                        n=0,
                        n_excluded=_excluded_total(ex),
                        reason="no judged pair with a human majority in this slice",
                        method=method,
                    )
                )
            continue
        per_item, _ = _per_item_confusion(
            sub["item_id"].to_numpy(),
            sub["ref"].to_numpy(),
            sub["label"].to_numpy(),
            sub["weight"].to_numpy(),
            3,
        )
        for id_, fn in (
            ("accuracy", agreement_from_confusion),
            ("cohen_kappa", kappa_from_confusion),
            ("macro_f1", macro_f1_from_confusion),
        ):
            res = ctx.boot(per_item, lambda t, fn=fn: fn(t, 3))
            rows.append(
                _row(
                    id_,
                    res,
                    judge=judge,
                    slice_=sl,
                    n=n_pairs,
                    n_excluded=_excluded_total(ex) if sl is None else None,
                    method_prefix=method,
                    excluded=_excluded_text(ex) if sl is None else None,
                )
            )
    return findings_frame(rows)


def score_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    by_slice: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """``weighted_kappa`` (quadratic, judge score rounded vs the rounded median human score),
    ``spearman`` and ``kendall_tau`` (b; unrounded judge mean vs the median human score) of
    one judge's single scores, overall and per family / category, item-cluster CIs."""
    ctx = _Ctx(n_boot, seed, ci_level)
    units, ex = score_units(verdicts)
    hs = _human_scores(dataset)
    med = hs.groupby("response_id")["score"].median().rename("human")
    m = units.merge(med, left_on="response_id", right_index=True, how="inner")
    ex = dict(ex)
    ex["responses_without_human_score"] = int(len(units) - len(m))
    lo, k = _score_classes(dataset, m["score"], m["human"])
    info = _response_info(dataset)
    rows = []
    slices = _slices(m, info, "single") if by_slice else [(None, np.ones(len(m), bool))]
    for sl, mask in slices:
        sub = m[mask]
        n_ex = _excluded_total(ex) if sl is None else None
        if len(sub) < 2:
            for id_ in ("weighted_kappa", "spearman", "kendall_tau"):
                rows.append(
                    _row(
                        id_,
                        None,
                        judge=judge,
                        slice_=sl,
                        n=len(sub),
                        n_excluded=n_ex,
                        reason="fewer than 2 scored responses with human scores",
                    )
                )
            continue
        jc = np.clip(np.round(sub["score"].to_numpy() - lo), 0, k - 1)
        hc = np.clip(np.round(sub["human"].to_numpy() - lo), 0, k - 1)
        per_item, _ = _per_item_confusion(sub["item_id"].to_numpy(), hc, jc, np.ones(len(sub)), k)
        res = ctx.boot(per_item, lambda t: weighted_kappa_from_confusion(t, k))
        rows.append(
            _row(
                "weighted_kappa",
                res,
                judge=judge,
                slice_=sl,
                n=len(sub),
                n_excluded=n_ex,
                method_prefix="quadratic weights, judge score (repeats averaged, rounded) vs rounded median human score",
            )
        )
        for id_, res in _rank_corr_boot(sub, ctx).items():
            rows.append(
                _row(
                    id_,
                    res,
                    judge=judge,
                    slice_=sl,
                    n=len(sub),
                    n_excluded=n_ex,
                    method_prefix="judge mean score vs median human score, exact weighted-multiset ranks",
                )
            )
    return findings_frame(rows)


def _rank_corr_boot(sub: pd.DataFrame, ctx: _Ctx) -> dict[str, BootstrapResult]:
    x, y = sub["score"].to_numpy(float), sub["human"].to_numpy(float)
    codes, uniq = pd.factorize(sub["item_id"])
    n_items = len(uniq)
    S, TX, TY, sizes = _kendall_matrices(x, y, codes, n_items)
    LX, EX = _rank_matrices(x, codes, n_items)
    LY, EY = _rank_matrices(y, codes, n_items)
    eye = np.eye(n_items)
    # per_item = I: the totals handed to the statistic are the item multiplicities w.
    return {
        "spearman": ctx.boot(eye, lambda W: _spearman_weighted(W, LX, EX, LY, EY, codes)),
        "kendall_tau": ctx.boot(eye, lambda W: _kendall_b_weighted(W, S, TX, TY, sizes)),
    }


# =====================================================================================
# human ceiling, judge vs individual votes, alternative annotator gap
# =====================================================================================


def _human_votes(dataset, protocol: str, tie_policy: str) -> pd.DataFrame:
    """Human votes as ``item_id, unit, rater_id, label`` (pairwise classes or score classes)."""
    if protocol == "pairwise":
        v = human_votes_pairwise(dataset)
        v["unit"] = v["lo"] + "|" + v["hi"]
        if tie_policy == "drop":
            v = v[v["label"] != 2]
        return v[["item_id", "unit", "rater_id", "label"]]
    hs = _human_scores(dataset)
    lo, _ = _score_classes(dataset, hs["score"])
    return pd.DataFrame(
        {
            "item_id": hs["item_id"],
            "unit": hs["response_id"],
            "rater_id": hs["rater_id"],
            "label": np.round(hs["score"].to_numpy() - lo).astype(int),
            "value": hs["score"].to_numpy(),
        }
    )


def _judge_votes(
    verdicts: pd.DataFrame, dataset, protocol: str, tie_policy: str, order_aggregation: str
) -> pd.DataFrame:
    """The judge's units as ``item_id, unit, label, weight`` in the coding of :func:`_human_votes`."""
    if protocol == "pairwise":
        u, _ = pairwise_units(verdicts, order_aggregation, tie_policy)
        return pd.DataFrame(
            {
                "item_id": u["item_id"],
                "unit": u["lo"] + "|" + u["hi"],
                "label": u["label"],
                "weight": u["weight"],
            }
        )
    u, _ = score_units(verdicts)
    lo, k = _score_classes(dataset, u["score"])
    return pd.DataFrame(
        {
            "item_id": u["item_id"],
            "unit": u["response_id"],
            "label": np.clip(np.round(u["score"].to_numpy() - lo), 0, k - 1).astype(int),
            "weight": 1.0,
            "value": u["score"].to_numpy(),
        }
    )


def _n_classes(dataset, protocol):
    if protocol == "pairwise":
        return 3
    hs = _human_scores(dataset)
    return _score_classes(dataset, hs["score"])[1]


def _kappa_fn(protocol):
    return kappa_from_confusion if protocol == "pairwise" else weighted_kappa_from_confusion


def human_ceiling(
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    units=None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Human-human agreement on the same unit, pooled over every (unit, ordered pair of
    different raters) (Zheng et al. 2023, "Judging LLM-as-a-judge", MT-Bench agreement).

    Pairwise: ``estimate`` = agreement (share of rater pairs with the same vote; under
    ``tie_policy='drop'`` tie votes are removed first, MT-Bench's "without tie"); extra
    column ``kappa`` = Cohen kappa of the pooled rater-pair table. Scores: ``estimate`` =
    quadratic-weighted kappa of the pooled table of rounded scores (``kappa`` the same),
    ``agreement`` = exact agreement. ``units`` restricts to these unit keys (the units the
    judge saw). Item-cluster bootstrap CIs."""
    if protocol == "pairwise":
        _check_settings(tie_policy, "per_call")
    v = _human_votes(dataset, protocol, tie_policy)
    if units is not None:
        v = v[v["unit"].isin(set(units))]
    k = _n_classes(dataset, protocol)
    pairs = v.merge(v, on=["item_id", "unit"], suffixes=("_1", "_2"))
    pairs = pairs[pairs["rater_id_1"] != pairs["rater_id_2"]]
    return _pooled_agreement(
        "human_ceiling",
        pairs["item_id"].to_numpy(),
        pairs["label_1"].to_numpy(),
        pairs["label_2"].to_numpy(),
        np.ones(len(pairs)),
        k,
        protocol,
        None,
        _Ctx(n_boot, seed, ci_level),
        n_units=pairs["unit"].nunique(),
        what="two different human raters on the same unit",
    )


def human_vote_agreement(
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
    """The judge against each individual human vote on the same unit, pooled over (unit,
    judge unit weight, human vote) exactly as :func:`human_ceiling` pools rater pairs, so
    the two compare (Zheng et al. 2023)."""
    if protocol == "pairwise":
        _check_settings(tie_policy, order_aggregation)
    jv = _judge_votes(verdicts, dataset, protocol, tie_policy, order_aggregation)
    hv = _human_votes(dataset, protocol, tie_policy)
    m = jv.merge(hv, on=["item_id", "unit"], suffixes=("_j", "_h"))
    k = _n_classes(dataset, protocol)
    return _pooled_agreement(
        "human_vote_agreement",
        m["item_id"].to_numpy(),
        m["label_h"].to_numpy(),
        m["label_j"].to_numpy(),
        m["weight"].to_numpy(),
        k,
        protocol,
        judge,
        _Ctx(n_boot, seed, ci_level),
        n_units=m["unit"].nunique(),
        what="the judge and each individual human vote",
    )


def _pooled_agreement(id_, items, a, b, w, k, protocol, judge, ctx, n_units, what):
    if len(items) == 0:
        return findings_frame([finding(id_, None, judge=judge, n=0, reason=f"no unit with {what}")])
    per_item, _ = _per_item_confusion(items, a, b, w, k)
    kfn = _kappa_fn(protocol)
    kap = ctx.boot(per_item, lambda t: kfn(t, k))
    acc = ctx.boot(per_item, lambda t: agreement_from_confusion(t, k))
    if protocol == "pairwise":
        main, other, oname = acc, kap, "kappa"
        prefix = f"agreement of {what}, pooled over rater pairs (Zheng et al. 2023)"
    else:
        main, other, oname = kap, acc, "agreement"
        prefix = f"quadratic weighted kappa of {what}, pooled over rater pairs"
    extra = {
        oname: other.estimate,
        f"{oname}_ci_low": other.ci_low,
        f"{oname}_ci_high": other.ci_high,
    }
    if protocol != "pairwise":
        extra.update(kappa=kap.estimate, kappa_ci_low=kap.ci_low, kappa_ci_high=kap.ci_high)
    return findings_frame(
        [
            _row(
                id_,
                main,
                judge=judge,
                slice_=None,
                n=n_units,
                n_excluded=0,
                method_prefix=prefix,
                conclusion=_pooled_conclusion(id_, acc, kap, protocol),
                **extra,
            )
        ]
    )


def _pooled_conclusion(
    id_, acc: BootstrapResult, kap: BootstrapResult, protocol: str
) -> str | None:
    if acc.estimate is None:
        return None
    subject = (
        "Two different humans agree"
        if id_ == "human_ceiling"
        else "The judge agrees with an individual human vote"
    )
    kname = "kappa" if protocol == "pairwise" else "quadratic-weighted kappa"
    k = f"{kap.estimate:.3f}" if kap.estimate is not None else "undefined"
    ci = f" (95% CI {kap.ci_low:.3f} to {kap.ci_high:.3f})" if kap.ci_low is not None else ""
    tail = (
        " (the ceiling to read the judges against)"
        if id_ == "human_ceiling"
        else ", computed like the human ceiling"
    )
    return f"{subject} on {acc.estimate:.1%} of units, {kname} {k}{ci}{tail}"


def alternative_annotator_gap(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    margin: float = AAG_MARGIN,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Alternative-annotator gap (after Calderon et al. 2025, "The Alternative Annotator
    Test for LLM-as-a-Judge").

    For each rater h, on the units h labelled where the *other* raters (at least one) agree
    on one label L: gap_h = mean_units 1[judge = L] - mean_units 1[h = L] (the judge's
    units weighted as in :func:`pairwise_units`). The estimate is the mean of gap_h over
    raters with such units; item-cluster bootstrap CI of the per-item sums
    (judge agreements, h agreements, units) of every rater. The judge is as good as a human
    annotator here when ci_low >= -``margin``. Scores: "agree" means within one scale point
    (exact-or-adjacent agreement) and the others agree when their scores span at most one
    point; L is their rounded median.
    """
    if protocol == "pairwise":
        _check_settings(tie_policy, order_aggregation)
    jv = _judge_votes(verdicts, dataset, protocol, tie_policy, order_aggregation)
    hv = _human_votes(dataset, protocol, tie_policy)
    hv = hv[hv["unit"].isin(set(jv["unit"]))]
    raters = sorted(hv["rater_id"].unique())
    tol = 0 if protocol == "pairwise" else 1
    # every (unit, rater h, other rater o != h): the others' labels seen from h
    pairs = hv.merge(hv, on=["item_id", "unit"], suffixes=("", "_o"))
    pairs = pairs[pairs["rater_id"] != pairs["rater_id_o"]]
    g = pairs.groupby(["item_id", "unit", "rater_id"])
    oth = g["label_o"].agg(["min", "max", "median"]).reset_index()
    own = hv.groupby(["item_id", "unit", "rater_id"])["label"].first().reset_index()
    oth = oth.merge(own, on=["item_id", "unit", "rater_id"])
    # the others agree: one label (pairwise) or a span of at most one point (scores)
    oth = oth[(oth["max"] - oth["min"]) <= tol]
    oth["L"] = oth["min"] if protocol == "pairwise" else np.round(oth["median"])
    oth["h_agree"] = (np.abs(oth["label"] - oth["L"]) <= tol).astype(float)
    ju = oth[["unit", "L"]].drop_duplicates().merge(jv[["unit", "label", "weight"]], on="unit")
    ju["hit"] = (np.abs(ju["label"] - ju["L"]) <= tol) * ju["weight"]
    jag = ju.groupby(["unit", "L"])[["hit", "weight"]].sum()
    jag = (jag["hit"] / jag["weight"]).rename("j_agree").reset_index()
    oth = oth.merge(jag, on=["unit", "L"])
    items = pd.Index(sorted(jv["item_id"].unique()))
    per_item = np.zeros((len(items), 3 * len(raters)))
    ii = items.get_indexer(oth["item_id"])
    ri = pd.Index(raters).get_indexer(oth["rater_id"])
    np.add.at(per_item, (ii, 3 * ri), oth["j_agree"].to_numpy())
    np.add.at(per_item, (ii, 3 * ri + 1), oth["h_agree"].to_numpy())
    np.add.at(per_item, (ii, 3 * ri + 2), 1.0)
    nr = len(raters)

    def stat(t):
        t = np.asarray(t).reshape(t.shape[0], nr, 3)
        with np.errstate(invalid="ignore", divide="ignore"):
            gaps = (t[:, :, 0] - t[:, :, 1]) / t[:, :, 2]
        return (
            np.nanmean(np.where(t[:, :, 2] > 0, gaps, np.nan), axis=1)
            if nr
            else np.full(t.shape[0], np.nan)
        )

    n_units = int(per_item[:, 2::3].sum())
    if nr < 2 or n_units == 0:
        return findings_frame(
            [
                finding(
                    "alternative_annotator_gap",
                    None,
                    judge=judge,
                    n=n_units,
                    reason="needs at least 2 human raters with units where the other raters agree",
                )
            ]
        )
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = _Ctx(n_boot, seed, ci_level).boot(per_item, stat)
    tot = per_item.sum(0).reshape(nr, 3)
    per_rater = {
        h: (float((tot[i, 0] - tot[i, 1]) / tot[i, 2]) if tot[i, 2] else None)
        for i, h in enumerate(raters)
    }
    as_good = res.ci_low is not None and res.ci_low >= -margin
    concl = None
    if res.estimate is not None:
        concl = (
            f"judge agreement with the other raters minus a rater's own: {res.estimate:+.3f}"
            + (
                f" (CI {res.ci_low:+.3f} to {res.ci_high:+.3f}); "
                if res.ci_low is not None
                else "; "
            )
            + (
                f"as good as a human annotator here (ci_low >= -{margin:.2f})"
                if as_good
                else f"not shown to be as good as a human annotator (ci_low < -{margin:.2f} or no CI)"
            )
        )
    return findings_frame(
        [
            _row(
                "alternative_annotator_gap",
                res,
                judge=judge,
                slice_=None,
                n=n_units,
                n_excluded=0,
                method_prefix="per rater: judge minus rater agreement with the other raters' label, mean over raters (Calderon et al. 2025)",
                conclusion=concl,
                as_good_as_human=bool(as_good),
                per_rater=json.dumps(per_rater),
            )
        ]
    )


# =====================================================================================
# signed bias per family, generator ranking, separability
# =====================================================================================


def _win_value(label: np.ndarray, side: int, tie_policy: str) -> np.ndarray:
    """Win of response ``side`` (0 = lo, 1 = hi) for each label: 1, 0, or for a tie 0
    (class), 0.5 (half) or nan (drop)."""
    tie = {"class": 0.0, "half": 0.5, "drop": np.nan}[tie_policy]
    return np.where(label == 2, tie, (label == side).astype(float))


def _pair_win_shares(verdicts, dataset, tie_policy, order_aggregation):
    """Per pair: the judge's and the humans' win share of ``lo`` (tie_policy for win rates)."""
    units, _ = pairwise_units(verdicts, order_aggregation, "class")
    u = units.assign(win=_win_value(units["label"].to_numpy(), 0, tie_policy))
    u = u[np.isfinite(u["win"])]
    j = u.assign(ww=u["win"] * u["weight"]).groupby(["item_id", "lo", "hi"])[["ww", "weight"]].sum()
    j = (j["ww"] / j["weight"]).rename("judge")
    hv = human_votes_pairwise(dataset)
    hv = hv.assign(win=_win_value(hv["label"].to_numpy(), 0, tie_policy))
    hv = hv[np.isfinite(hv["win"])]
    h = hv.groupby(["item_id", "lo", "hi"])["win"].mean().rename("human")
    return pd.concat([j, h], axis=1, join="inner").reset_index()


def signed_bias(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Signed bias of one judge per candidate family (STATISTICS.md).

    Pairs: the judge's minus the humans' win rate of family f's responses on the same pairs
    (pairs where both responses are from f carry no information and are skipped; ties per
    ``tie_policy`` for win rates: class = not a win, half, drop). Scores: mean(judge score -
    median human score) over f's responses. Item-cluster bootstrap CI of (sum of
    differences, count) per item; a sign-flip permutation p of the per-item sums of
    differences (:func:`sign_flip_test`). **Primary** per judge: the family with the
    largest absolute bias, its p Holm-adjusted across the judge's families (so the
    study-level Holm over judges starts from a selection-adjusted p). Non-significant
    primary rows carry the minimum detectable bias (80% power, alpha 0.05) in ``mde``.

    Pairs: judge noise attenuates win rates toward 0.5, so the raw difference of STATISTICS.md
    makes an unbiased but noisy judge look biased against the best family and for the worst
    (a null panel was flagged for every judge). The estimate is therefore the raw difference
    corrected for the judge's attenuation (:func:`_attenuation_residual`); the raw difference
    is kept in ``raw_difference``. Scores: the raw difference, not corrected.
    """
    ctx = _Ctx(n_boot, seed, ci_level)
    info = _response_info(dataset)
    fam = dict(zip(info["response_id"].astype(str), info["family"]))
    if protocol == "pairwise":
        units_j, _ = pairwise_units(verdicts, order_aggregation, "class")
        hv = human_votes_pairwise(dataset)
        recs = []
        for side in (0, 1):
            uj = units_j.assign(win=_win_value(units_j["label"].to_numpy(), side, tie_policy))
            uj = uj[np.isfinite(uj["win"])]
            jj = (
                uj.assign(ww=uj["win"] * uj["weight"])
                .groupby(["item_id", "lo", "hi"])[["ww", "weight"]]
                .sum()
            )
            jj = (jj["ww"] / jj["weight"]).rename("judge")
            hh = hv.assign(win=_win_value(hv["label"].to_numpy(), side, tie_policy))
            hh = (
                hh[np.isfinite(hh["win"])]
                .groupby(["item_id", "lo", "hi"])["win"]
                .mean()
                .rename("human")
            )
            both = pd.concat([jj, hh], axis=1, join="inner").reset_index()
            resp = both["lo"] if side == 0 else both["hi"]
            other = both["hi"] if side == 0 else both["lo"]
            both["family"] = resp.map(fam)
            both = both[both["family"] != other.map(fam)]
            both["raw"] = both["judge"] - both["human"]
            recs.append(both[["item_id", "family", "judge", "human", "raw"]])
        d = pd.concat(recs, ignore_index=True)
        d["diff"] = _attenuation_residual(
            d["judge"].to_numpy(float), d["human"].to_numpy(float), d["family"].to_numpy()
        )
        method = (
            "judge win rate of the family's responses minus the rate expected from the human "
            "win rate on the same pairs given the judge's overall attenuation (OLS of judge on "
            f"human win rate over all families; raw difference in raw_difference) (tie_policy={tie_policy}, {order_aggregation})"
        )
    else:
        units, _ = score_units(verdicts)
        med = _human_scores(dataset).groupby("response_id")["score"].median().rename("human")
        d = units.merge(med, left_on="response_id", right_index=True)
        d["family"] = d["response_id"].map(fam)
        d["diff"] = d["score"] - d["human"]
        d["raw"] = d["diff"]
        d = d[["item_id", "family", "diff", "raw"]]
        method = "mean judge score minus median human score over the family's responses"
    rows = []
    for f in sorted(x for x in d["family"].dropna().unique()):
        sub = d[d["family"] == f]
        g = sub.groupby("item_id")["diff"].agg(["sum", "size"])
        per_item = g.to_numpy(float)
        res = ctx.boot(
            per_item,
            lambda t: np.where(t[:, 1] > 0, t[:, 0] / np.where(t[:, 1] > 0, t[:, 1], 1), np.nan),
        )
        sf = sign_flip_test(g["sum"].to_numpy(), n_perm=n_perm, seed=seed)
        sd = np.nanstd(res.distribution) if res.distribution.size else np.nan
        rows.append(
            _row(
                "signed_bias",
                res,
                judge=judge,
                slice_={"family": f},
                n=len(sub),
                n_excluded=0,
                method_prefix=method + "; p: item-level sign-flip permutation",
                statistic=sf.statistic,
                p_value=sf.p_value,
                boot_se=sd,
                raw_difference=float(sub["raw"].mean()),
            )
        )
    if not rows:
        return findings_frame(
            [
                finding(
                    "signed_bias",
                    None,
                    judge=judge,
                    reason="no family with judged and human-labelled units",
                )
            ]
        )
    ps = np.array([r["p_value"] if r["p_value"] is not None else 1.0 for r in rows])
    holm = multitest.holm(ps)
    est = np.array([abs(r["estimate"]) if r["estimate"] is not None else -1 for r in rows])
    top = int(est.argmax())
    for i, r in enumerate(rows):
        r["p_holm_families"] = float(holm[i])
        if r["estimate"] is None:
            continue
        sig = holm[i] < 0.05
        direction = "favours" if r["estimate"] > 0 else "disfavours"
        unit = "win rate" if protocol == "pairwise" else "score points"
        r["conclusion"] = (
            f"judge {direction} {r['slice']['family']} by {r['estimate']:+.3f} {unit} relative to humans"
            + (" (significant after Holm across families)" if sig else " (not significant)")
        )
    r = rows[top]
    if r["estimate"] is not None:
        r["primary"] = True
        r["p_value"] = float(holm[top])
        r["method"] += "; primary: largest |bias| over families, p Holm-adjusted across families"
        if not holm[top] < 0.05 and r.get("boot_se") is not None and np.isfinite(r["boot_se"]):
            r["mde"] = float(_mde_from_se(r["boot_se"]))
            r["conclusion"] += f"; minimum detectable bias {r['mde']:.3f} (80% power, alpha 0.05)"
    return findings_frame(rows)


def _attenuation_residual(judge: np.ndarray, human: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Judge win rates minus what the human win rates predict at the judge's attenuation.

    A judge with symmetric noise and no family preference picks a response with probability
    about alpha + kappa * h (h the human win rate on the pair; kappa < 1 as noise pulls rates
    toward the middle), whichever family wrote it. The raw difference judge - human then
    shrinks toward the middle for every family, negative for the families humans favour and
    positive for the others, which a permutation test reads as family bias. kappa is fitted
    by least squares on the *within-family* variation of h (each family's rows centred on the
    family's means), so that a family preference, a shift of all of that family's rows, cannot
    leak into it; each row's residual (judge - mean judge) - kappa (h - mean h) then averages,
    per family, to the family's excess that humans and the judge's noise do not explain. The
    per-family bootstrap ignores the uncertainty of kappa (one number fitted on all rows)."""
    fam = pd.Series(family).astype(str).to_numpy()
    xw = human - pd.Series(human).groupby(fam).transform("mean").to_numpy()
    yw = judge - pd.Series(judge).groupby(fam).transform("mean").to_numpy()
    sxx = float(xw @ xw)
    kappa = float(xw @ yw) / sxx if sxx > 0 else 0.0
    return (judge - judge.mean()) - kappa * (human - human.mean())


def _mde_from_se(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect of a two-sided Wald test with standard error ``se``."""
    return float(_power.minimum_detectable_effect(se=se, alpha=alpha, power=power))


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
    info = _response_info(dataset)
    gen = dict(zip(info["response_id"].astype(str), info["generator"]))
    recs = []
    if protocol == "pairwise":
        pw = (
            _pair_win_shares(verdicts, dataset, tie_policy, order_aggregation)
            if verdicts is not None
            else None
        )
        units_j, _ = pairwise_units(verdicts, order_aggregation, "class")
        hv = human_votes_pairwise(dataset)
        keys = pw[["item_id", "lo", "hi"]]
        for side in (0, 1):
            for src, df, w in (("judge", units_j, "weight"), ("human", hv, None)):
                df = df.merge(keys, on=["item_id", "lo", "hi"])
                win = _win_value(df["label"].to_numpy(), side, tie_policy)
                wt = df[w].to_numpy() if w else np.ones(len(df))
                ok = np.isfinite(win)
                resp = (df["lo"] if side == 0 else df["hi"]).to_numpy()
                other = (df["hi"] if side == 0 else df["lo"]).to_numpy()
                # the per-pair share: normalise the weights within each pair so a pair counts once
                tmp = pd.DataFrame(
                    {
                        "item_id": df["item_id"].to_numpy()[ok],
                        "resp": resp[ok],
                        "other": other[ok],
                        "ww": (win * wt)[ok],
                        "w": wt[ok],
                    }
                )
                g = tmp.groupby(["item_id", "resp", "other"])[["ww", "w"]].sum().reset_index()
                g["wins"] = g["ww"] / g["w"]
                g["n"] = 1.0
                g["generator"] = g["resp"].map(gen)
                g = g[g["generator"] != g["other"].map(gen)]
                g["source"] = src
                recs.append(g[["item_id", "generator", "source", "wins", "n"]])
    else:
        units, _ = score_units(verdicts)
        hs = _human_scores(dataset)
        med = hs.groupby("response_id")["score"].median().rename("human")
        m = units.merge(med, left_on="response_id", right_index=True)
        m["generator"] = m["response_id"].map(gen)
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
    out = (
        pd.concat(recs, ignore_index=True)
        if recs
        else pd.DataFrame(columns=["item_id", "generator", "source", "wins", "n"])
    )
    return out.groupby(["item_id", "generator", "source"], as_index=False)[["wins", "n"]].sum()


def _tau_b_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall tau-b between rows of a and b ``(m, G)`` (vectorised; nan when undefined)."""
    sa = np.sign(a[:, :, None] - a[:, None, :])
    sb = np.sign(b[:, :, None] - b[:, None, :])
    iu = np.triu_indices(a.shape[1], 1)
    sa, sb = sa[:, iu[0], iu[1]], sb[:, iu[0], iu[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt((sa != 0).sum(1) * (sb != 0).sum(1))
        return np.where(den > 0, (sa * sb).sum(1) / den, np.nan)


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
    wr = win_rates(
        verdicts,
        dataset,
        protocol=protocol,
        tie_policy=tie_policy,
        order_aggregation=order_aggregation,
    )
    if wr.empty:
        return findings_frame(
            [
                finding("ranking_kendall_tau", None, judge=judge, reason="no units judged by both"),
                finding("separability", None, judge=judge, reason="no units judged by both"),
            ]
        )
    gens = sorted(wr["generator"].dropna().unique())
    items = sorted(wr["item_id"].unique())
    G = len(gens)
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

    def rates(t):
        t = np.asarray(t).reshape(t.shape[0], 2, 2, G)  # source, (wins, n), generator
        with np.errstate(invalid="ignore", divide="ignore"):
            return t[:, :, 0, :] / t[:, :, 1, :]

    def tau(t):
        r = rates(t)
        out = _tau_b_rows(r[:, 0], r[:, 1])
        return np.where(np.isfinite(r).all(axis=(1, 2)), out, np.nan)

    ctx = _Ctx(n_boot, seed, ci_level)
    rows = []
    if G < 2:
        rows.append(
            finding("ranking_kendall_tau", None, judge=judge, n=G, reason="fewer than 2 generators")
        )
    else:
        res = ctx.boot(per_item, tau)
        est_rates = rates(per_item.sum(0)[None, :])[0]
        rows.append(
            _row(
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
    dist = np.concatenate(
        [
            rates(W.astype(float) @ per_item)
            for W in iter_bootstrap_weights(len(items), n_boot, seed)
        ]
    )
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


def _first(df: pd.DataFrame, id_: str, col: str):
    r = df[df["id"] == id_]
    if r.empty or col not in r.columns:
        return None
    v = r[col].iloc[0]
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def gate(
    metrics: pd.DataFrame,
    *,
    judge: str | None = None,
    protocol: str = "pairwise",
    thresholds: Mapping | None = None,
    ceiling: pd.DataFrame | None = None,
    aag: pd.DataFrame | None = None,
    slice_: dict | None = None,
) -> pd.DataFrame:
    """The seeds' calibration gate on point estimates: pass (2) if kappa >= pass_kappa and
    macro-F1 >= pass_f1, warn (1) if kappa >= warn_kappa, else fail (0); single scores use
    the weighted kappa and no F1. ``metrics`` holds the judge's overall agreement rows.

    The conclusion says whether the CI lower bounds clear the same thresholds
    ("established"), and sets the gate beside the human ceiling (human-human kappa) and the
    alternative-annotator gap: where humans agree with each other below a threshold, it says
    that threshold cannot be met on this data."""
    th = {**DEFAULT_GATE, **(thresholds or {})}
    overall = metrics[metrics["slice"].isna()] if "slice" in metrics.columns else metrics

    def get(id_):
        r = overall[overall["id"] == id_]
        return (None, None) if r.empty else (r["estimate"].iloc[0], r["ci_low"].iloc[0])

    kid = "cohen_kappa" if protocol != "single" else "weighted_kappa"
    kap, kap_lo = get(kid)
    f1, f1_lo = get("macro_f1") if protocol != "single" else (None, None)
    if (
        kap is None
        or (isinstance(kap, float) and math.isnan(kap))
        or (protocol != "single" and f1 is None)
    ):
        return findings_frame(
            [
                finding(
                    "gate",
                    None,
                    judge=judge,
                    slice=slice_,
                    reason=f"{kid}{' or macro_f1' if protocol != 'single' else ''} undefined",
                )
            ]
        )

    def level(k, f):
        if k is None:
            return None
        if k >= th["pass_kappa"] and (
            protocol == "single" or (f is not None and f >= th["pass_f1"])
        ):
            return 2
        return 1 if k >= th["warn_kappa"] else 0

    g = level(kap, f1)
    g_lo = (
        level(kap_lo, f1_lo)
        if kap_lo is not None and (protocol == "single" or f1_lo is not None)
        else None
    )
    parts = [
        f"gate {GATE_LABELS[g]} on point estimates ({kid} {kap:.3f}"
        + (f", macro-F1 {f1:.3f}" if f1 is not None else "")
        + ")"
    ]
    if g == 0:
        parts.append(
            "fails the warn threshold"
            + (
                f" (CI upper bound of {kid} {hi_k:.3f})"
                if (hi_k := _first(overall, kid, "ci_high")) is not None
                else ""
            )
        )
    elif g_lo is None:
        parts.append("not established: no CI")
    elif g_lo >= g:
        parts.append(
            f"established: the CI lower bounds ({kid} {kap_lo:.3f}"
            + (f", F1 {f1_lo:.3f}" if f1_lo is not None else "")
            + ") clear it"
        )
    else:
        parts.append(f"not established: the CI lower bounds only support {GATE_LABELS[g_lo]}")
    hk = None
    if ceiling is not None and not ceiling.empty:
        hk = ceiling["kappa"].iloc[0] if "kappa" in ceiling.columns else None
        if hk is not None and not (isinstance(hk, float) and math.isnan(hk)):
            parts.append(f"human-human {kid.replace('cohen_', '')} {hk:.3f}")
            if hk < th["pass_kappa"]:
                # judge vs the majority of several raters can exceed one human's agreement,
                # so this is a statement about the bar, not a verdict on the judge
                lvl, bar = (
                    ("pass", th["pass_kappa"])
                    if hk >= th["warn_kappa"]
                    else ("warn", th["warn_kappa"])
                )
                parts.append(
                    f"humans agree with each other below the {lvl} threshold {bar}: a single human "
                    "annotator cannot meet it on this data, so read the judge against the human "
                    "ceiling and the alternative-annotator gap"
                )
        else:
            hk = None
    aag_est = None
    if aag is not None and not aag.empty and aag["estimate"].iloc[0] is not None:
        aag_est = aag["estimate"].iloc[0]
        good = bool(aag.get("as_good_as_human", pd.Series([False])).iloc[0])
        parts.append(
            f"alternative-annotator gap {aag_est:+.3f} ({'as good as a human annotator' if good else 'not shown as good as a human annotator'})"
        )
    method = (
        f"{kid} >= {th['pass_kappa']}"
        + (f" and macro-F1 >= {th['pass_f1']}" if protocol != "single" else "")
        + f" -> pass (2); {kid} >= {th['warn_kappa']} -> warn (1); else fail (0); point estimates"
    )
    return findings_frame(
        [
            finding(
                "gate",
                g,
                judge=judge,
                slice=slice_,
                method=method,
                ci_level=None,
                n=_first(overall, kid, "n"),
                conclusion="; ".join(parts),
                gate_label=GATE_LABELS[g],
                gate_at_ci_low=g_lo,
                established=bool(g > 0 and g_lo is not None and g_lo >= g),
                human_kappa=hk,
                alternative_annotator_gap=aag_est,
            )
        ]
    )


# =====================================================================================
# drift between two judge versions
# =====================================================================================


def drift_agreement(
    verdicts: pd.DataFrame,
    versions: Sequence[str],
    dataset=None,
    *,
    protocol: str = "pairwise",
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Agreement between two judge_versions on the same units (pairwise: (pair, order,
    sample); scores: (response, sample)), kappa between them (``kappa``: Cohen; quadratic
    weighted for scores), and an item-level permutation test of the change in the verdict
    distribution: statistic = total variation distance between the two versions' class
    distributions; under H0 the version labels are exchangeable within an item, so each
    permutation swaps them item by item. p = (k + 1) / (B + 1)."""
    if versions is None or len(versions) != 2:
        raise ValueError("drift needs exactly two judge_versions, e.g. ('v1-abc', 'v2-def')")
    v1, v2 = map(str, versions)
    present = set(verdicts["judge_version"].astype(str))
    missing = [x for x in (v1, v2) if x not in present]
    if missing:
        raise DataError(
            "verdicts",
            "judge_version",
            f"judge_version(s) {missing} not in the verdicts (present: {sorted(present)[:10]})",
        )
    rows = []
    keyed = []
    for ver in (v1, v2):
        d = verdicts[(verdicts["judge_version"].astype(str) == ver)]
        d = d[_parsed(d)]
        if protocol == "pairwise":
            lo, hi = _sorted_pair(d["response_a"], d["response_b"])
            win = _winner_of(d)
            lab = np.where(win == lo, 0, np.where(win == hi, 1, np.where(win == "tie", 2, -1)))
            key = pd.Series(
                lo
                + "|"
                + hi
                + "|"
                + d["order"].fillna("ab").astype(str).to_numpy()
                + "|"
                + d["sample"].fillna(0).astype(int).astype(str).to_numpy()
            )
            k = 3
        else:
            lab = pd.to_numeric(d["score"], errors="coerce").to_numpy()
            key = pd.Series(
                d["response_id"].astype(str).to_numpy()
                + "|"
                + d["sample"].fillna(0).astype(int).astype(str).to_numpy()
            )
            k = None
        keyed.append(
            pd.DataFrame(
                {
                    "key": key.to_numpy(),
                    "item_id": d["item_id"].astype(str).to_numpy(),
                    "label": lab,
                }
            )
        )
    m = keyed[0].merge(keyed[1], on=["key", "item_id"], suffixes=("_1", "_2"))
    m = m[(m["label_1"] >= 0) & (m["label_2"] >= 0)] if protocol == "pairwise" else m.dropna()
    if m.empty:
        return findings_frame(
            [
                finding(
                    "drift_agreement",
                    None,
                    slice={"judge_pair": f"{v1} vs {v2}"},
                    reason="the two versions share no parsed unit",
                )
            ]
        )
    if protocol != "pairwise":
        lo_s, k = _score_classes(dataset, m["label_1"], m["label_2"])
        m["label_1"] = np.clip(np.round(m["label_1"] - lo_s), 0, k - 1).astype(int)
        m["label_2"] = np.clip(np.round(m["label_2"] - lo_s), 0, k - 1).astype(int)
    per_item, n_items = _per_item_confusion(
        m["item_id"].to_numpy(),
        m["label_1"].to_numpy(),
        m["label_2"].to_numpy(),
        np.ones(len(m)),
        k,
    )
    ctx = _Ctx(n_boot, seed, ci_level)
    acc = ctx.boot(per_item, lambda t: agreement_from_confusion(t, k))
    kfn = _kappa_fn("pairwise" if protocol == "pairwise" else "single")
    kap = ctx.boot(per_item, lambda t: kfn(t, k))
    # permutation of version labels within items: the class counts of each item per version
    c = per_item.reshape(n_items, k, k)
    c1, c2 = c.sum(axis=2), c.sum(axis=1)  # (n_items, k): version-1 / version-2 class counts
    n_units = c1.sum()

    def tv(a, b):
        return 0.5 * np.abs(a / n_units - b / n_units).sum(axis=-1)

    t_obs = float(tv(c1.sum(0), c2.sum(0)))
    rng = np.random.default_rng(seed)
    count, done = 0, 0
    diff = c1 - c2
    while done < n_perm:
        b = min(n_perm - done, max(1, 4_000_000 // max(n_items, 1)))
        s = rng.integers(0, 2, size=(b, n_items))  # 1: swap the item's versions
        # T1* = sum c1 - sum_{swapped} (c1 - c2); T2* = sum c2 + sum_{swapped} (c1 - c2)
        shift = s @ diff
        t1, t2 = c1.sum(0) - shift, c2.sum(0) + shift
        count += int(np.count_nonzero(tv(t1, t2) >= t_obs - 1e-12))
        done += b
    p = (count + 1) / (n_perm + 1)
    concl = (
        f"versions agree on {acc.estimate:.1%} of {len(m)} shared units (kappa {kap.estimate if kap.estimate is not None else float('nan'):.3f}); "
        f"verdict distribution {'changed' if p < 0.05 else 'not shown to change'} (TV {t_obs:.3f}, permutation p {p:.4f})"
    )
    rows.append(
        _row(
            "drift_agreement",
            acc,
            judge=None,
            slice_={"judge_pair": f"{v1} vs {v2}"},
            n=len(m),
            n_excluded=0,
            method_prefix="agreement between two judge_versions on the same units; p: item-level permutation of version labels, statistic total variation of verdict distributions",
            statistic=t_obs,
            p_value=p,
            kappa=kap.estimate,
            kappa_ci_low=kap.ci_low,
            kappa_ci_high=kap.ci_high,
            conclusion=concl,
        )
    )
    return findings_frame(rows)


# =====================================================================================
# rubric mode
# =====================================================================================


def _sections_frame(verdicts: pd.DataFrame) -> pd.DataFrame:
    recs = []
    ok = _parsed(verdicts)
    for (item, resp, sec), good in zip(
        verdicts[["item_id", "response_id", "sections"]].itertuples(index=False), ok
    ):
        if not good or not isinstance(sec, str | dict):
            continue
        d = json.loads(sec) if isinstance(sec, str) else sec
        for title, val in (d or {}).items():
            if isinstance(val, int | float) and not isinstance(val, bool) and math.isfinite(val):
                recs.append((str(item), str(resp), title, float(val)))
    return pd.DataFrame(recs, columns=["item_id", "response_id", "section", "metric"])


def section_failure_rate(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    pass_threshold: float | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Per rubric section: the share of responses whose section metric (repeats averaged)
    is below the pass threshold, with an item-cluster CI; beside it (``human_failure_rate``)
    the share of the human section labels that are not ``pass`` on the same responses."""
    from judgelab import rubric as _rubric

    # the judge's own aggregation threshold (a Judge setting, default rubric.DEFAULT_PASS_THRESHOLD);
    # the verdict frame does not carry it, so a judge with another threshold passes it here
    thr = float(_rubric.DEFAULT_PASS_THRESHOLD if pass_threshold is None else pass_threshold)
    _require(verdicts, "verdicts", ["item_id", "response_id", "sections"])
    s = _sections_frame(verdicts)
    if s.empty:
        return findings_frame(
            [
                finding(
                    "section_failure_rate",
                    None,
                    judge=judge,
                    reason="no parsed rubric section metrics",
                )
            ]
        )
    s = s.groupby(["item_id", "response_id", "section"], as_index=False)["metric"].mean()
    s["fail"] = (s["metric"] < thr).astype(float)
    hl = dataset.rubric_labels
    titles = (
        list(_rubric.section_titles(dataset.rubric))
        if dataset.rubric
        else sorted(s["section"].unique())
    )
    ctx = _Ctx(n_boot, seed, ci_level)
    rows = []
    for title in titles:
        sub = s[s["section"] == title]
        if sub.empty:
            rows.append(
                finding(
                    "section_failure_rate",
                    None,
                    judge=judge,
                    slice={"subset": title},
                    reason="section never scored",
                )
            )
            continue
        g = sub.groupby("item_id")["fail"].agg(["sum", "size"])
        res = ctx.boot(
            g.to_numpy(float),
            lambda t: np.where(t[:, 1] > 0, t[:, 0] / np.maximum(t[:, 1], 1), np.nan),
        )
        hrate = None
        if hl is not None and len(hl):
            h = hl[
                (hl["section"] == title)
                & hl["response_id"].astype(str).isin(set(sub["response_id"]))
            ]
            if len(h):
                hrate = float((h["label"] != "pass").mean())
        concl = f"judge fails section '{title}' on {res.estimate:.1%} of responses" + (
            f", humans {hrate:.1%}" if hrate is not None else ""
        )
        rows.append(
            _row(
                "section_failure_rate",
                res,
                judge=judge,
                slice_={"subset": title},
                n=len(sub),
                n_excluded=0,
                method_prefix=f"share of responses with section metric < pass threshold {thr}",
                human_failure_rate=hrate,
                conclusion=concl,
            )
        )
    return findings_frame(rows)


def rubric_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    tie_policy: str = "class",
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """``accuracy``, ``cohen_kappa``, ``macro_f1`` of the aggregated rubric verdict
    (pass / warn / fail; repeats by their modal verdict) against the human majority
    ``overall`` label of the response (``slice`` {"subset": "overall"})."""
    classes = {"pass": 0, "warn": 1, "fail": 2}
    col = "verdict" if "verdict" in verdicts.columns else "judge_verdict"
    v = verdicts[_parsed(verdicts) & verdicts[col].isin(list(classes))]
    hl = dataset.rubric_labels
    if hl is None or v.empty:
        return findings_frame(
            [
                finding(i, None, judge=judge, reason="no rubric verdicts or no human rubric labels")
                for i in ("accuracy", "cohen_kappa", "macro_f1")
            ]
        )
    h = hl[hl["section"] == "overall"]
    ref = (
        h.groupby("response_id")["label"]
        .agg(lambda s: _majority(s.map(classes).to_numpy(), 3))
        .rename("ref")
    )
    n_nomaj = int((ref < 0).sum())
    ref = ref[ref >= 0]
    jl_ = (
        v.groupby(["item_id", "response_id"])[col]
        .agg(lambda s: _mode_label(s.map(classes).to_numpy()))
        .rename("label")
        .reset_index()
    )
    m = jl_.merge(ref, left_on="response_id", right_index=True)
    if m.empty:
        return findings_frame(
            [
                finding(
                    i, None, judge=judge, reason="no judged response with a human overall majority"
                )
                for i in ("accuracy", "cohen_kappa", "macro_f1")
            ]
        )
    per_item, _ = _per_item_confusion(
        m["item_id"].astype(str).to_numpy(),
        m["ref"].to_numpy(),
        m["label"].to_numpy(),
        np.ones(len(m)),
        3,
    )
    ctx = _Ctx(n_boot, seed, ci_level)
    rows = []
    for id_, fn in (
        ("accuracy", agreement_from_confusion),
        ("cohen_kappa", kappa_from_confusion),
        ("macro_f1", macro_f1_from_confusion),
    ):
        rows.append(
            _row(
                id_,
                ctx.boot(per_item, lambda t, fn=fn: fn(t, 3)),
                judge=judge,
                slice_={"subset": "overall"},
                n=len(m),
                n_excluded=n_nomaj,
                method_prefix="rubric verdict (pass/warn/fail) vs human majority overall label",
            )
        )
    return findings_frame(rows)


# =====================================================================================
# confusion, ensembles, escalation queue
# =====================================================================================


def confusion_table(
    verdicts: pd.DataFrame,
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
) -> pd.DataFrame:
    """Weighted confusion table (rows: human reference, columns: judge) for plots."""
    if protocol == "pairwise":
        units, _ = pairwise_units(verdicts, order_aggregation, tie_policy)
        ref, _ = human_reference_pairwise(human_votes_pairwise(dataset), tie_policy)
        m = units.merge(ref, on=["item_id", "lo", "hi"])
        labels = list(PAIR_CLASSES)
        c = np.zeros((3, 3))
        np.add.at(c, (m["ref"].to_numpy(int), m["label"].to_numpy(int)), m["weight"].to_numpy())
    else:
        units, _ = score_units(verdicts)
        med = _human_scores(dataset).groupby("response_id")["score"].median().rename("human")
        m = units.merge(med, left_on="response_id", right_index=True)
        lo, k = _score_classes(dataset, m["score"], m["human"])
        labels = [f"{lo + i:g}" for i in range(k)]
        c = np.zeros((k, k))
        np.add.at(
            c,
            (
                np.clip(np.round(m["human"] - lo), 0, k - 1).astype(int),
                np.clip(np.round(m["score"] - lo), 0, k - 1).astype(int),
            ),
            1.0,
        )
    return pd.DataFrame(
        c, index=pd.Index(labels, name="human"), columns=pd.Index(labels, name="judge")
    )


def majority_verdicts(verdicts: pd.DataFrame, protocol: str = "pairwise") -> pd.DataFrame:
    """The panel's majority verdict as a verdict frame of a pseudo-judge
    (model ``ensemble``, backend ``majority``, judge_version ``majority-of-<m>``), one row
    per (pair, order) (pairwise) or response (scores), with its ``vote_share``.

    Pairwise uses :func:`judgelab.ensembles.vote_share` (plurality of the judges' parsed
    votes per (pair, order); a split vote is a tie) when that module is importable, else the
    same rule here. Scores: the median of the judges' mean scores; ``vote_share`` is the
    share of judges whose rounded score equals the rounded median."""
    v = verdicts[_parsed(verdicts)].copy()
    v["_judge"] = identity_of(v)
    m = v["_judge"].nunique()
    if protocol == "pairwise":
        try:
            from judgelab import ensembles as _ens
        except ImportError:  # pragma: no cover - ensembles.py is part of the package
            _ens = None
        if _ens is not None and hasattr(_ens, "vote_share"):
            vs = _ens.vote_share(verdicts, order_aggregation="per_call", tie_policy="class")
            vs = vs[vs["winner"].notna()]
            # the stored orientation of each pair: order 'ab' showed the stored response_a first
            stored = verdicts.drop_duplicates(["item_id", "response_a", "response_b"])
            s_lo, s_hi = _sorted_pair(stored["response_a"], stored["response_b"])
            stored_a = dict(
                zip(
                    zip(stored["item_id"].astype(str), s_lo, s_hi), stored["response_a"].astype(str)
                )
            )
            key = list(
                zip(
                    vs["item_id"].astype(str),
                    vs["response_a"].astype(str),
                    vs["response_b"].astype(str),
                )
            )
            first_a = np.array([stored_a.get(k, k[1]) for k in key], dtype=object)
            first_b = np.where(
                first_a == vs["response_a"].astype(str).to_numpy(),
                vs["response_b"],
                vs["response_a"],
            )
            order = np.where(vs["shown_first"].astype(str).to_numpy() == first_a, "ab", "ba")
            out = pd.DataFrame(
                {
                    "item_id": vs["item_id"].astype(str).to_numpy(),
                    "response_a": first_a,
                    "response_b": first_b,
                    "order": order,
                    "sample": 0,
                    "winner": vs["winner"].to_numpy(),
                    "vote_share": vs["vote_share"].to_numpy(),
                    "parse_ok": True,
                    "choice": None,
                    "protocol": "pairwise",
                }
            )
            out["model"], out["backend"], out["judge_version"], out["judge_family"] = (
                "ensemble",
                "majority",
                f"majority-of-{m}",
                None,
            )
            return out
    if protocol == "pairwise":
        lo, hi = _sorted_pair(v["response_a"], v["response_b"])
        win = _winner_of(v)
        v["_label"] = np.where(win == lo, 0, np.where(win == hi, 1, np.where(win == "tie", 2, -1)))
        v["_lo"], v["_hi"] = lo, hi
        v = v[v["_label"] >= 0]
        v["order"] = v["order"].fillna("ab")
        per_judge = (
            v.groupby(["item_id", "_lo", "_hi", "order", "_judge"])["_label"]
            .agg(lambda s: _mode_label(s.to_numpy().astype(int)))
            .reset_index()
        )

        def agg(s):
            c = np.bincount(s.to_numpy().astype(int), minlength=3)
            k = int(c.argmax())
            return (
                k if c[k] * 2 > c.sum() else 2,
                c[k] / c.sum() if c[k] * 2 > c.sum() else c[2] / c.sum(),
            )

        g = per_judge.groupby(["item_id", "_lo", "_hi", "order"])["_label"].agg(agg).reset_index()
        lab = g["_label"].map(lambda t: t[0]).to_numpy()
        out = pd.DataFrame(
            {
                "item_id": g["item_id"],
                "response_a": g["_lo"],
                "response_b": g["_hi"],
                "order": g["order"],
                "sample": 0,
                "winner": np.where(lab == 0, g["_lo"], np.where(lab == 1, g["_hi"], "tie")),
                "vote_share": g["_label"].map(lambda t: t[1]).to_numpy(),
                "parse_ok": True,
            }
        )
        out["choice"] = None
        out["protocol"] = "pairwise"
    else:
        per_judge = (
            v.assign(score=pd.to_numeric(v["score"]))
            .groupby(["item_id", "response_id", "_judge"])["score"]
            .mean()
            .reset_index()
        )
        g = per_judge.groupby(["item_id", "response_id"])["score"]
        med = g.median()
        share = per_judge.merge(med.rename("med").reset_index()).assign(
            hit=lambda d: (d["score"].round() == d["med"].round()).astype(float)
        )
        out = med.reset_index()
        out["vote_share"] = share.groupby(["item_id", "response_id"])["hit"].mean().to_numpy()
        out["sample"], out["parse_ok"], out["protocol"] = 0, True, protocol
    out["model"], out["backend"], out["judge_version"], out["judge_family"] = (
        "ensemble",
        "majority",
        f"majority-of-{m}",
        None,
    )
    return out


def escalation_queue(
    verdicts: pd.DataFrame,
    *,
    protocol: str = "pairwise",
    margin_threshold: float | None = 0.2,
    vote_share_threshold: float | None = 0.7,
) -> pd.DataFrame:
    """Low-margin cases (DESIGN.md) for human review: one row per (judge, unit, reason).

    A case is low-margin when its two orders disagree (pairwise), its repeats disagree,
    the panel's majority has a vote share below ``vote_share_threshold``, or its logprob
    ``margin`` (where stored) is below ``margin_threshold``. Columns: ``judge, item_id,
    response_a, response_b, response_id, order, reason, value``."""
    v = verdicts[_parsed(verdicts)].copy()
    if v.empty:
        return pd.DataFrame(
            columns=[
                "judge",
                "item_id",
                "response_a",
                "response_b",
                "response_id",
                "order",
                "reason",
                "value",
            ]
        )
    v["judge"] = identity_of(v)
    rows = []

    def add(
        judge,
        item_id,
        reason,
        value,
        response_a=None,
        response_b=None,
        response_id=None,
        order=None,
    ):
        rows.append(
            {
                "judge": judge,
                "item_id": item_id,
                "response_a": response_a,
                "response_b": response_b,
                "response_id": response_id,
                "order": order,
                "reason": reason,
                "value": float(value),
            }
        )

    if protocol == "pairwise":
        lo, hi = _sorted_pair(v["response_a"], v["response_b"])
        v["response_a"], v["response_b"] = lo, hi
        v["_w"] = _winner_of(v)
        v["order"] = v["order"].fillna("ab")
        key = ["judge", "item_id", "response_a", "response_b"]
        for c in key + ["order", "_w"]:
            v[c] = v[c].astype(object)
        # counts of each winner per (judge, pair, order): repeats disagree when > 1 winner;
        # the modal winner (a split mode counts as a tie) per order, vectorised
        cnt = v.groupby(key + ["order", "_w"], sort=False).size().rename("c").reset_index()
        g = cnt.groupby(key + ["order"], sort=False)["c"]
        cnt["n_winners"] = g.transform("size")
        cnt["top"] = g.transform("max")
        cnt["n_top"] = (
            (cnt["c"] == cnt["top"])
            .groupby([cnt[k] for k in key + ["order"]], sort=False)
            .transform("sum")
        )
        rep = cnt[cnt["n_winners"] > 1].drop_duplicates(key + ["order"])
        for r in rep.itertuples(index=False):
            add(
                r.judge,
                r.item_id,
                "repeats_disagree",
                r.n_winners,
                r.response_a,
                r.response_b,
                order=r.order,
            )
        modal = cnt[cnt["c"] == cnt["top"]].copy()
        modal.loc[modal["n_top"] > 1, "_w"] = "tie"
        modal = modal.drop_duplicates(key + ["order"])
        ords = modal.groupby(key, sort=False)["_w"].agg(["nunique", "size"]).reset_index()
        for r in ords[(ords["size"] == 2) & (ords["nunique"] > 1)].itertuples(index=False):
            add(r.judge, r.item_id, "orders_disagree", 1.0, r.response_a, r.response_b)
    else:
        v["response_id"] = v["response_id"].astype(str)
        v["score"] = pd.to_numeric(v["score"], errors="coerce")
        span = v.groupby(["judge", "item_id", "response_id"])["score"].agg(
            lambda s: s.max() - s.min()
        )
        for (j, it, rid), val in span[span > 0].items():
            add(j, it, "repeats_disagree", val, response_id=rid)
    if margin_threshold is not None and "margin" in v.columns:
        mg = pd.to_numeric(v["margin"], errors="coerce")
        low = v[mg.notna() & (mg < margin_threshold)]
        for r in low.itertuples(index=False):
            add(
                r.judge,
                r.item_id,
                "logprob_margin_below_threshold",
                r.margin,
                getattr(r, "response_a", None),
                getattr(r, "response_b", None),
                getattr(r, "response_id", None),
                getattr(r, "order", None),
            )
    if vote_share_threshold is not None and v["judge"].nunique() >= 2:
        ens = majority_verdicts(verdicts, protocol)
        low = ens[ens["vote_share"] < vote_share_threshold]
        for r in low.itertuples(index=False):
            add(
                "ensemble|majority|" + r.judge_version,
                r.item_id,
                "ensemble_vote_share_below_threshold",
                r.vote_share,
                getattr(r, "response_a", None),
                getattr(r, "response_b", None),
                getattr(r, "response_id", None),
                getattr(r, "order", None),
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "judge",
            "item_id",
            "response_a",
            "response_b",
            "response_id",
            "order",
            "reason",
            "value",
        ],
    )
    return out.sort_values(["item_id", "judge", "reason"], kind="stable").reset_index(drop=True)


# =====================================================================================
# the whole audit
# =====================================================================================


def audit(verdicts: pd.DataFrame, dataset, **settings) -> pd.DataFrame:
    global _UNITS_CACHE
    _UNITS_CACHE = {}
    try:
        return _audit(verdicts, dataset, **settings)
    finally:
        _UNITS_CACHE = None


def _audit(
    verdicts: pd.DataFrame,
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    gate_thresholds: Mapping | None = None,
    drift_versions: Sequence[str] | None = None,
    ensemble: bool = True,
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
    progress: bool = False,
) -> pd.DataFrame:
    """Every calibration-audit finding for every judge identity in ``verdicts`` (and, with
    ``ensemble`` and at least two judges, the panel's majority as ``slice`` {"ensemble":
    "majority"}), for ``protocol`` ``pairwise``, ``single`` or ``rubric``.

    Returns the findings frame (primary: ``signed_bias`` per judge; apply Holm across
    judges with the study's ``save_findings``)."""
    if protocol not in ("pairwise", "single", "rubric"):
        raise ValueError(f"protocol must be 'pairwise', 'single' or 'rubric', not {protocol!r}")
    if protocol == "pairwise":
        _check_settings(tie_policy, order_aggregation)
    _require(verdicts, "verdicts", ["model", "backend", "judge_version", "item_id"])
    v = _obj(verdicts)
    if "protocol" in v.columns:
        v = v[v["protocol"] == protocol]
    if v.empty:
        return findings_frame(
            [finding("accuracy", None, reason=f"no {protocol} verdicts to audit")]
        )
    if drift_versions:
        base = v[~v["judge_version"].astype(str).isin([str(x) for x in drift_versions[1:]])]
    else:
        base = v
    ids = identity_of(base)
    groups = [(ident, base[ids.to_numpy() == ident], None) for ident in sorted(ids.unique())]
    if ensemble and len(groups) >= 2 and protocol != "rubric":
        groups.append(
            (
                None,
                majority_verdicts(base, "pairwise" if protocol == "pairwise" else "single"),
                {"ensemble": "majority"},
            )
        )
    kw = dict(n_boot=n_boot, seed=seed, ci_level=ci_level)
    score_proto = "pairwise" if protocol == "pairwise" else "single"
    out = []
    ceiling = None
    if protocol != "rubric":
        # the ceiling on the units the judges saw, so that it sits beside their agreement
        if protocol == "pairwise":
            lo, hi = _sorted_pair(base["response_a"], base["response_b"])
            judged_units = set(np.char.add(np.char.add(lo.astype(str), "|"), hi.astype(str)))
        else:
            judged_units = set(base["response_id"].astype(str))
        ceiling = human_ceiling(
            dataset,
            protocol=score_proto,
            tie_policy=tie_policy if protocol == "pairwise" else "class",
            units=judged_units,
            **kw,
        )
        out.append(ceiling)
    it = groups
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(groups, desc="calibration audit")
    for ident, g, ens_slice in it:
        frames = []
        if protocol == "pairwise":
            metrics = pairwise_agreement(
                g,
                dataset,
                judge=ident,
                tie_policy=tie_policy,
                order_aggregation=order_aggregation,
                by_slice=ens_slice is None,
                **kw,
            )
        elif protocol == "single":
            metrics = score_agreement(g, dataset, judge=ident, by_slice=ens_slice is None, **kw)
        else:
            metrics = rubric_agreement(g, dataset, judge=ident, **kw)
        frames.append(metrics)
        if protocol != "rubric":
            common = dict(judge=ident, protocol=score_proto, **kw)
            tp = (
                dict(tie_policy=tie_policy, order_aggregation=order_aggregation)
                if protocol == "pairwise"
                else {}
            )
            frames.append(human_vote_agreement(g, dataset, **common, **tp))
            aag = alternative_annotator_gap(g, dataset, **common, **tp)
            frames.append(aag)
            frames.append(
                gate(
                    metrics[metrics["slice"].isna()] if ens_slice is None else metrics,
                    judge=ident,
                    protocol=score_proto,
                    thresholds=gate_thresholds,
                    ceiling=ceiling,
                    aag=aag,
                )
            )
            if ens_slice is None:
                frames.append(
                    signed_bias(
                        g, dataset, judge=ident, protocol=score_proto, n_perm=n_perm, **tp, **kw
                    )
                )
                frames.append(ranking(g, dataset, judge=ident, protocol=score_proto, **tp, **kw))
        else:
            overall = metrics.copy()
            overall["slice"] = None
            frames.append(
                gate(
                    overall,
                    judge=ident,
                    protocol="pairwise",
                    thresholds=gate_thresholds,
                    slice_={"subset": "overall"},
                )
            )
            frames.append(section_failure_rate(g, dataset, judge=ident, **kw))
        f = pd.concat([x for x in frames if x is not None and len(x)], ignore_index=True)
        if ens_slice is not None:
            f["slice"] = [ens_slice] * len(f)
        out.append(f)
    if drift_versions:
        out.append(
            drift_agreement(v, drift_versions, dataset, protocol=score_proto, n_perm=n_perm, **kw)
        )
    res = pd.concat(out, ignore_index=True)
    return findings_frame([_with_conclusion(r) for r in res.to_dict("records")])


_DESCRIBE = {
    "accuracy": "{who} agrees with the human majority on {e:.1%} of judgments",
    "cohen_kappa": "{whos} chance-corrected agreement with the human majority (Cohen's kappa) is {e:.3f}",
    "macro_f1": "{whos} macro-F1 against the human majority is {e:.3f}",
    "weighted_kappa": "{whos} quadratic-weighted kappa with the median human score is {e:.3f}",
    "spearman": "{whos} Spearman correlation with the median human score is {e:.3f}",
    "kendall_tau": "{whos} Kendall tau-b with the median human score is {e:.3f}",
    "human_ceiling": "two different humans agree at {e:.3f} on the judged units (the ceiling to read the judges against)",
    "human_vote_agreement": "{who} agrees with an individual human vote at {e:.3f}, computed like the human ceiling",
    "ranking_kendall_tau": "{who} ranks the generators like the humans with Kendall tau-b {e:.3f}",
}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _with_conclusion(r: dict) -> dict:
    """Give every finding a plain-language conclusion (estimate, CI, slice; or why undefined)."""
    if not _missing(r.get("conclusion")):
        return r
    sl = r.get("slice")
    where = ""
    if isinstance(sl, dict) and sl:
        k, v = next(iter(sl.items()))
        where = {
            "family": f" on {v}'s answers",
            "subset": f" on '{v}' items",
            "ensemble": " (panel majority)",
        }.get(k, f" ({k} {v})")
    who = "the panel majority" if where == " (panel majority)" else "the judge"
    if _missing(r.get("estimate")):
        r["conclusion"] = f"{r['id']} undefined{where}: {r.get('reason') or 'no data'}"
        return r
    tmpl = _DESCRIBE.get(r["id"], r["id"] + " = {e:.3f}")
    text = tmpl.format(e=float(r["estimate"]), who=who, whos=who + "'s")
    ci = ""
    if not _missing(r.get("ci_low")) and not _missing(r.get("ci_high")):
        ci = f" (95% CI {r['ci_low']:.3f} to {r['ci_high']:.3f})"
    elif r.get("reason"):
        ci = f" ({r['reason']})"
    r["conclusion"] = f"{text}{where if where != ' (panel majority)' else ''}{ci}"
    r["conclusion"] = r["conclusion"][0].upper() + r["conclusion"][1:]
    return r


# audit() is a thin wrapper (it scopes the units cache); show _audit's signature and docs
audit.__doc__ = _audit.__doc__
audit.__signature__ = inspect.signature(_audit)


def resolve_drift_versions(verdicts: pd.DataFrame, drift_versions) -> tuple[str, str] | None:
    """The pair of judge_versions to compare for drift: None (no drift analysis), an explicit
    pair, or ``"auto"``: the first model (in verdict order) judged under two judge_versions,
    its versions in the order they first appear."""
    if (
        drift_versions is None
        or drift_versions is False
        or (isinstance(drift_versions, list | tuple) and not drift_versions)
    ):
        return None
    if isinstance(drift_versions, str):
        if drift_versions != "auto":
            raise ValueError(
                f"drift_versions must be a pair of judge_versions or 'auto', not {drift_versions!r}"
            )
        seen = verdicts[["model", "judge_version"]].astype(str).drop_duplicates()
        counts = seen.groupby("model", sort=False)["judge_version"].apply(list)
        multi = [v for v in counts if len(v) >= 2]
        if not multi:
            raise DataError(
                "verdicts",
                "judge_version",
                "drift_versions='auto' needs a model judged under two judge_versions; every model has one "
                f"({dict(zip(counts.index, counts))})",
            )
        return multi[0][0], multi[0][1]
    versions = tuple(map(str, drift_versions))
    if len(versions) != 2:
        raise ValueError(
            f"drift_versions must name exactly two judge_versions, got {len(versions)}"
        )
    return versions


def overview(findings: pd.DataFrame, protocol: str = "pairwise") -> pd.DataFrame:
    """One row per judge (and ensemble): the overall agreement statistics with their 95% CIs,
    the judge's agreement with individual human votes, the alternative-annotator gap and the
    gate, for display."""
    ids = (
        ["accuracy", "cohen_kappa", "macro_f1"]
        if protocol != "single"
        else ["weighted_kappa", "spearman", "kendall_tau"]
    ) + ["human_vote_agreement", "alternative_annotator_gap"]
    rows = {}
    for r in findings.itertuples(index=False):
        sl = r.slice if isinstance(r.slice, dict) else None
        if (
            sl is not None
            and "ensemble" not in sl
            and not (protocol == "rubric" and sl.get("subset") == "overall")
        ):
            continue
        if r.id not in ids and r.id != "gate":
            continue
        name = (
            r.judge if isinstance(r.judge, str) else f"ensemble: {sl['ensemble']}" if sl else None
        )
        if name is None:
            continue
        row = rows.setdefault(name, {})
        if r.id == "gate":
            row["gate"] = getattr(r, "gate_label", None) if r.estimate is not None else None
            row["established"] = getattr(r, "established", None)
            continue
        if r.estimate is None or (isinstance(r.estimate, float) and math.isnan(r.estimate)):
            row[r.id] = "n/a"
        elif r.ci_low is None or (isinstance(r.ci_low, float) and math.isnan(r.ci_low)):
            row[r.id] = f"{r.estimate:.3f}"
        else:
            row[r.id] = f"{r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "judge"
    return out[[c for c in [*ids, "gate", "established"] if c in out.columns]]
