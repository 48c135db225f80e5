"""The escalation (human review) queue: one low-margin rule, one frame schema.

A case is low-margin (DESIGN.md) when a judge's two orders disagree (pairwise), its repeats
disagree, the panel's majority vote share is below a threshold, or its logprob margin (where
stored) is below a threshold. :func:`escalation_queue` returns one row per (judge, unit,
reason) in the schema of :data:`QUEUE_COLUMNS`; the caller writes it (analysis functions
never write files).
"""

from __future__ import annotations

import pandas as pd

from judgelab.stats.calibration.panel import majority_verdicts
from judgelab.stats.calibration.units import _parsed, _sorted_pair, _winner_of, identity_of

__all__ = ["QUEUE_COLUMNS", "REASONS", "escalation_queue"]

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
#: Why a case is in the queue.
REASONS = (
    "repeats_disagree",
    "orders_disagree",
    "logprob_margin_below_threshold",
    "ensemble_vote_share_below_threshold",
)


def escalation_queue(
    verdicts: pd.DataFrame,
    *,
    protocol: str = "pairwise",
    margin_threshold: float | None = 0.2,
    vote_share_threshold: float | None = 0.7,
    panel_majority: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Low-margin cases (DESIGN.md) for human review: one row per (judge, unit, reason).

    Parameters
    ----------
    verdicts : DataFrame
        Tidy verdicts of one protocol (``pairwise`` or single scores).
    protocol : {"pairwise", "single"}
    margin_threshold : float or None
        A parsed verdict whose logprob ``margin`` (where stored) is below it is a case.
    vote_share_threshold : float or None
        A unit whose panel-majority vote share is below it is a case (two judges or more).
    panel_majority : DataFrame, optional
        The panel's majority verdicts
        (:func:`judgelab.stats.calibration.panel.majority_verdicts`) when the caller has
        built them already; built here otherwise.

    Returns
    -------
    DataFrame
        :data:`QUEUE_COLUMNS`: ``judge`` (identity string; the panel majority as
        ``ensemble|majority|majority-of-<m>``), ``item_id``, ``response_a``, ``response_b``
        (pairwise; sorted), ``response_id`` (scores), ``order`` (where the case is one
        order), ``reason`` (:data:`REASONS`) and ``value`` (number of distinct winners, 1 for
        orders that disagree, score span, margin or vote share). Sorted by item, judge and
        reason. The caller writes it; this function never writes files.
    """
    v = verdicts[_parsed(verdicts)].copy()
    if v.empty:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
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
        ens = majority_verdicts(verdicts, protocol) if panel_majority is None else panel_majority
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
    out = pd.DataFrame(rows, columns=QUEUE_COLUMNS)
    return out.sort_values(["item_id", "judge", "reason"], kind="stable").reset_index(drop=True)
