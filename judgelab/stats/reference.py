"""Reference labels that judges are compared with (STATISTICS.md "Reference labels").

- Pairwise: the human majority per pair (pairs without a majority are excluded and counted).
- Scores: the median human score per response.
- Where correctness is known (the demo's truth), the truly better answer of a pair.

Pairs are matched on an order-free key, ``pair_key = "<smaller id>|<larger id>"``, and
verdicts are compared through their ``winner`` (a response id or ``tie``), so the order in
which a human or a judge saw the two answers never matters for the match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIE = "tie"

__all__ = [
    "pair_key",
    "vote_winners",
    "human_majority",
    "truth_winners",
    "median_scores",
    "attach_reference",
]


def pair_key(a, b) -> np.ndarray:
    """Order-free key of pairs: ``"<min>|<max>"`` of the two response ids (vectorised)."""
    a = np.asarray(a, dtype=object).astype(str)
    b = np.asarray(b, dtype=object).astype(str)
    lo, hi = np.where(a <= b, a, b), np.where(a <= b, b, a)
    return np.char.add(np.char.add(lo.astype(str), "|"), hi.astype(str))


def vote_winners(preferences: pd.DataFrame) -> pd.Series:
    """Each human vote as the winning response id (or ``tie``)."""
    p = preferences
    return pd.Series(
        np.select(
            [p["preference"] == "a", p["preference"] == "b"],
            [p["response_a"].to_numpy(), p["response_b"].to_numpy()],
            TIE,
        ),
        index=p.index,
        dtype=object,
    )


def human_majority(preferences: pd.DataFrame, min_votes: int = 1) -> pd.DataFrame:
    """Majority human verdict per pair.

    Returns one row per pair with a strict majority (more than half of its votes name the
    same winner, ties counted as a label): ``item_id, pair_key, reference`` (winner id or
    ``tie``), ``n_votes``, ``agreement`` (share of votes for the majority). A pair with a
    single vote has that vote as its majority when ``min_votes`` is 1. ``attrs`` holds
    ``n_pairs`` and ``n_excluded`` (pairs without a majority or with fewer votes).
    """
    if preferences is None or len(preferences) == 0:
        out = pd.DataFrame(columns=["item_id", "pair_key", "reference", "n_votes", "agreement"])
        out.attrs.update(n_pairs=0, n_excluded=0)
        return out
    p = preferences.assign(
        pair_key=pair_key(preferences["response_a"], preferences["response_b"]),
        _winner=vote_winners(preferences).to_numpy(),
    )
    counts = (
        p.groupby(["item_id", "pair_key", "_winner"], sort=False).size().rename("k").reset_index()
    )
    tot = counts.groupby(["item_id", "pair_key"], sort=False)["k"].transform("sum")
    counts = counts.assign(n_votes=tot)
    top = counts.sort_values("k", ascending=False, kind="stable").drop_duplicates(
        ["item_id", "pair_key"]
    )
    n_pairs = len(top)
    keep = (top["k"] * 2 > top["n_votes"]) & (top["n_votes"] >= min_votes)
    out = top.loc[keep].rename(columns={"_winner": "reference"})
    out = out.assign(agreement=out["k"] / out["n_votes"])[
        ["item_id", "pair_key", "reference", "n_votes", "agreement"]
    ]
    out = out.reset_index(drop=True)
    out.attrs.update(n_pairs=n_pairs, n_excluded=int(n_pairs - len(out)))
    return out


def truth_winners(pairs: pd.DataFrame, truth: pd.DataFrame, by: str = "quality") -> pd.DataFrame:
    """The truly better answer of each pair (higher ``quality``; the demo's truth), as
    ``item_id, pair_key, reference``. Equal quality gives ``tie``."""
    q = dict(zip(truth["response_id"].astype(str), truth[by].astype(float), strict=False))
    a, b = pairs["response_a"].astype(str).to_numpy(), pairs["response_b"].astype(str).to_numpy()
    qa = np.array([q.get(x, np.nan) for x in a])
    qb = np.array([q.get(x, np.nan) for x in b])
    ref = np.where(qa > qb, a, np.where(qb > qa, b, TIE)).astype(object)
    ref[np.isnan(qa) | np.isnan(qb)] = None
    out = pd.DataFrame(
        {"item_id": pairs["item_id"].to_numpy(), "pair_key": pair_key(a, b), "reference": ref}
    )
    return out.dropna(subset=["reference"]).drop_duplicates("pair_key").reset_index(drop=True)


def median_scores(labels: pd.DataFrame) -> pd.DataFrame:
    """Median human score per response: ``response_id, reference, n_raters``."""
    g = labels.assign(score=pd.to_numeric(labels["score"])).groupby("response_id", sort=False)[
        "score"
    ]
    return pd.DataFrame({"reference": g.median(), "n_raters": g.size()}).reset_index()


def attach_reference(verdicts: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Pairwise verdicts joined with a pair reference on ``pair_key``: adds ``pair_key``,
    ``reference`` (None where the pair has no reference) and ``correct`` (winner equals the
    reference; None where either is missing)."""
    v = verdicts.assign(pair_key=pair_key(verdicts["response_a"], verdicts["response_b"]))
    ref = reference.drop_duplicates("pair_key").set_index("pair_key")["reference"]
    v["reference"] = v["pair_key"].map(ref)
    ok = v["reference"].notna() & v["winner"].notna()
    v["correct"] = np.where(ok, (v["winner"] == v["reference"]).astype(float), np.nan)
    return v
