"""The panel's majority vote as one more (pseudo-)judge of the audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.identity import identity_strings
from judgelab.stats.units import pair_codes, parsed_mask, shared_objects, sorted_pair, unit_matrix
from judgelab.stats.votes import vote_share

__all__ = ["majority_verdicts"]


def majority_verdicts(verdicts: pd.DataFrame, protocol: str = "pairwise") -> pd.DataFrame:
    """The panel's majority verdict as a verdict frame of a pseudo-judge
    (model ``ensemble``, backend ``majority``, judge_version ``majority-of-<m>``), one row
    per (pair, order) (pairwise) or response (scores), with its ``vote_share``.

    Build it once and hand it to every consumer (the audit's ``panel_majority``, the
    escalation queue, the confusion table). Pairwise: plurality of the judges' parsed votes
    per (pair, order), each judge's repeats reduced to their modal verdict first
    (:func:`judgelab.stats.units.unit_matrix`), through
    :func:`judgelab.stats.votes.vote_share` (a split vote is a tie). Scores: the
    median of the judges' mean scores; ``vote_share`` is the share of judges whose rounded
    score equals the rounded median."""
    parsed = parsed_mask(verdicts)
    # the identity columns only: a copy of every column of a million verdicts is 0.3 GB
    ident = verdicts[[c for c in ("model", "backend", "judge_version") if c in verdicts.columns]]
    # the strings of the distinct identities only (the same distinct strings as of every row)
    m = identity_strings(ident[parsed].drop_duplicates()).nunique()
    if protocol == "pairwise":
        out = _pairwise_majority(verdicts)
    else:
        v = verdicts[parsed].copy()
        v["_judge"] = identity_strings(v)
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


def _pairwise_majority(verdicts: pd.DataFrame) -> pd.DataFrame:
    um = unit_matrix(verdicts, order_aggregation="per_call", tie_policy="class")
    # the one plurality rule (votes.plurality): a split top is a tie; top votes / parsed votes
    vote = vote_share(um)
    units = um.units
    lo = units["response_a"].to_numpy()  # the unit matrix's pairs are sorted
    hi = units["response_b"].to_numpy()
    verdict = vote["verdict"].to_numpy()
    winner = np.where(verdict == "a", lo, np.where(verdict == "b", hi, "tie"))
    keep = pd.notna(verdict)
    units, winner, share = units[keep], winner[keep], vote["vote_share"].to_numpy()[keep]
    # the stored orientation of each pair: order 'ab' showed the stored response_a first (a
    # pair stored both ways: the orientation whose first row comes last); matched on codes
    # of (item, lo, hi) text, one hash per column, not a Python tuple per row
    stored = verdicts[["item_id", "response_a", "response_b"]].drop_duplicates()
    s_lo, s_hi = sorted_pair(stored["response_a"], stored["response_b"])
    u_lo = _text(units["response_a"])
    s_code, u_code = pair_codes(
        pd.DataFrame({"item_id": _text(stored["item_id"]), "lo": s_lo, "hi": s_hi}),
        pd.DataFrame({"item_id": _text(units["item_id"]), "lo": u_lo,
                      "hi": _text(units["response_b"])}),
    )  # fmt: skip
    last = ~pd.Index(s_code[::-1]).duplicated()[::-1]
    pos = pd.Index(s_code[last]).get_indexer(u_code)
    stored_a = _text(stored["response_a"])[last]
    first_a = np.where(pos >= 0, stored_a[pos], u_lo).astype(object)
    first_b = np.where(first_a == u_lo, units["response_b"], units["response_a"])
    order = np.where(units["shown_first"].astype(str).to_numpy() == first_a, "ab", "ba")
    return pd.DataFrame(
        {
            "item_id": units["item_id"].astype(str).to_numpy(),
            "response_a": first_a,
            "response_b": first_b,
            "order": order,
            "sample": 0,
            "winner": winner,
            "vote_share": share,
            "parse_ok": True,
            "choice": None,
            "protocol": "pairwise",
        }
    )


def _text(col: pd.Series) -> np.ndarray:
    """``col.astype(str)`` as a numpy object array, one Python string per distinct value."""
    return shared_objects(col.astype(str))
