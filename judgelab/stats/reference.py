"""Reference labels that judges are compared with (docs/statistics.md#reference-labels).

- Pairwise: the human majority per pair (pairs without a majority are excluded and counted).
- Scores: the median human score per response.
- Where correctness is known (the demo's truth), the truly better answer of a pair.

Named rules (:data:`RULES`) for studies that compare judges with a pair reference, through one
function, :func:`reference_labels`, which returns the rule it used so that every finding's
``method`` can name it:

- ``majority``: the strict majority of the raters' votes (ties counted as votes), at least
  ``min_raters`` votes; pairs without one are excluded and counted.
- ``unanimous``: every rater gives the same vote, at least ``min_raters`` votes.
- ``gold``: the majority of the votes of the ``gold`` rater (curated labels, e.g. LLMBar's).
- ``truth``: the truly better answer (higher ``quality`` in the dataset's truth table).

A study declares its default as an ordered list of rules: the first rule whose input the
dataset has is used. The declarations (each study's findings name the rule in ``method``):

- calibration audit: ``("majority", "truth")``
  (:data:`judgelab.stats.calibration.reference_agreement.AUDIT_REFERENCE`);
- judge comparison: ``("majority", "truth")``, gold labels voting with the humans
  (:data:`judgelab.comparison.REFERENCE_RULES`);
- family entanglement: ``("truth", "unanimous")`` with at least 2 raters, the truth only
  where it covers every unit (:data:`judgelab.stats.entanglement.REFERENCE_RULES`,
  :data:`~judgelab.stats.entanglement.REFERENCE_MIN_RATERS`); its ensembles' weights:
  ``majority`` (:data:`judgelab.ensembles.WEIGHT_REFERENCE`);
- self-preference: ``majority`` (a tie majority is no majority;
  :data:`judgelab.stats.self_preference_judgments.HUMAN_REFERENCE`).

Pairs are matched on an order-free key, ``pair_key = "<smaller id>|<larger id>"``
(:func:`judgelab.stats.units.pair_key`), and
verdicts are compared through their ``winner`` (a response id or ``tie``), so the order in
which a human or a judge saw the two answers never matters for the match.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats.errors import DataError
from judgelab.stats.units import pair_key, sorted_pair

TIE = "tie"
#: The named reference rules (module docstring).
RULES = ("majority", "unanimous", "gold", "truth")
#: Label codes of a pair in sorted order (``lo < hi``): lo wins, hi wins, tie.
LO, HI, TIE_CODE = 0, 1, 2

__all__ = [
    "pair_key",
    "row_pair_keys",
    "reference_by_key",
    "winner_reference",
    "median_scores",
    "attach_reference",
    "RULES",
    "coded_votes",
    "reference_labels",
    "vote_reference",
]


def winner_reference(reference: pd.DataFrame) -> pd.DataFrame:
    """Coded reference labels (:func:`reference_labels`) as the winner of each pair:
    ``item_id, pair_key, reference`` (the winning response id, or ``tie``) and ``n_votes``,
    the form :func:`attach_reference` joins on. ``attrs`` keeps those of ``reference``."""
    lo, hi = reference["lo"].to_numpy(dtype=object), reference["hi"].to_numpy(dtype=object)
    ref = reference["ref"].to_numpy()
    out = pd.DataFrame(
        {
            "item_id": reference["item_id"].to_numpy(dtype=object),
            "pair_key": pair_key(lo, hi),
            "reference": np.where(ref == LO, lo, np.where(ref == HI, hi, TIE)).astype(object),
            "n_votes": reference["n_votes"].to_numpy(),
        }
    )
    out.attrs.update(reference.attrs)
    return out


def row_pair_keys(a, b) -> np.ndarray:
    """:func:`pair_key` of each row's ``a, b``: the same array, built once per distinct
    (a, b) of two text columns and taken for the rows (the key's text is most of its cost;
    a pair judged in both orders and with repeats has one key for several rows)."""
    if not (
        isinstance(a, pd.Series) and isinstance(b, pd.Series) and a.dtype == "str"
        and b.dtype == "str" and not (a.hasnans or b.hasnans)
    ):  # fmt: skip
        return pair_key(a, b)
    codes, ids = pd.factorize(pd.concat([a, b], ignore_index=True))  # hashed as stored
    ra, rb = codes[: len(a)].astype(np.int64), codes[len(a) :]
    row = pd.factorize(ra * (len(ids) + 1) + rb)[0]
    first = np.unique(row, return_index=True)[1]  # numbered from 0 in row order
    # the distinct pairs hold every row's texts, so the fixed text width is the same too
    return pair_key(a.iloc[first], b.iloc[first])[row]


def reference_by_key(reference: pd.DataFrame) -> pd.Series:
    """The ``reference`` of each ``pair_key`` of a pair reference (its first row per key), as
    a Series indexed by the key. Built from the two columns as plain arrays: every pandas step
    on the reference frame deep-copies its attrs (the keys of the pairs without a majority:
    thousands of strings)."""
    keys = pd.Index(reference["pair_key"].to_numpy())
    first = ~keys.duplicated()
    return pd.Series(reference["reference"].to_numpy()[first], index=keys[first])


def median_scores(labels: pd.DataFrame) -> pd.DataFrame:
    """Median human score per response: ``response_id, reference, n_raters``."""
    g = labels.assign(score=pd.to_numeric(labels["score"])).groupby("response_id", sort=False)[
        "score"
    ]
    return pd.DataFrame({"reference": g.median(), "n_raters": g.size()}).reset_index()


def attach_reference(
    verdicts: pd.DataFrame, reference: pd.DataFrame, pair_keys=None
) -> pd.DataFrame:
    """Pairwise verdicts joined with a pair reference on ``pair_key``: adds ``pair_key``,
    ``reference`` (None where the pair has no reference) and ``correct`` (winner equals the
    reference; None where either is missing). ``pair_keys``: the rows' :func:`pair_key`,
    when the caller has built them."""
    if pair_keys is None:
        pair_keys = pair_key(verdicts["response_a"], verdicts["response_b"])
    v = verdicts.assign(pair_key=pair_keys)
    v["reference"] = v["pair_key"].map(reference_by_key(reference))
    ok = v["reference"].notna() & v["winner"].notna()
    v["correct"] = np.where(ok, (v["winner"] == v["reference"]).astype(float), np.nan)
    return v


# ---------------------------------------------------------------------------------------
# named rules on votes coded by the sorted pair (lo / hi / tie)
# ---------------------------------------------------------------------------------------


def coded_votes(preferences: pd.DataFrame | None) -> pd.DataFrame:
    """Human preferences as ``item_id, lo, hi, rater_id, label``.

    ``lo < hi`` are the pair's response ids in sorted order and ``label`` is 0 (``lo``
    wins), 1 (``hi`` wins) or 2 (tie), whatever order the rater saw. Raises
    :class:`judgelab.data.DataError` on a missing column or a preference not in
    ``{a, b, tie}`` (read in any case).
    """
    cols = ["item_id", "lo", "hi", "rater_id", "label"]
    p = preferences
    if p is None or len(p) == 0:
        return pd.DataFrame(columns=cols)
    for c in ("item_id", "response_a", "response_b", "rater_id", "preference"):
        if c not in p.columns:
            raise DataError(
                "preferences", c, f"missing required column (columns present: {list(p.columns)})"
            )
    pref = p["preference"].astype(str).str.lower()
    bad = ~pref.isin(["a", "b", "tie"])
    if bad.any():
        raise DataError(
            "preferences",
            "preference",
            "preference not in {a, b, tie}",
            np.flatnonzero(bad.to_numpy()).tolist(),
        )
    a, b = p["response_a"].astype(str).to_numpy(), p["response_b"].astype(str).to_numpy()
    win = np.where(pref == "a", a, np.where(pref == "b", b, TIE))
    lo, hi = sorted_pair(a, b)
    label = np.where(win == lo, LO, np.where(win == hi, HI, TIE_CODE))
    return pd.DataFrame(
        {
            "item_id": p["item_id"].astype(str).to_numpy(),
            "lo": lo,
            "hi": hi,
            "rater_id": p["rater_id"].astype(str).to_numpy(),
            "label": label,
        }
    ).astype({"item_id": object, "lo": object, "hi": object, "rater_id": object})


def vote_reference(
    votes: pd.DataFrame,
    keys: Sequence[str] = ("item_id", "lo", "hi"),
    *,
    rule: str = "majority",
    min_raters: int = 1,
    code: str = "label",
) -> tuple[pd.DataFrame, int]:
    """The ``majority`` or ``unanimous`` label of each unit (group of ``keys``) of votes.

    Returns the units that have one, as ``keys, ref, n_votes``, and the number that do not
    (no strict majority, not unanimous, or fewer than ``min_raters`` votes). Majority: the
    code c with ``n_c > n / 2``; unanimous: ``n_c = n`` (ties are votes like any code)."""
    keys = list(keys)
    counts = votes.groupby([*keys, code]).size().unstack(fill_value=0)
    c = counts.to_numpy()
    n = c.sum(axis=1)
    top = c.argmax(axis=1)
    k = c[np.arange(len(c)), top]
    ok = (k == n) if rule == "unanimous" else (k * 2 > n)
    ok &= n >= min_raters
    ref = counts.index.to_frame(index=False)
    ref["ref"] = np.where(ok, counts.columns.to_numpy()[top], -1)
    ref["n_votes"] = n
    return ref[ok].reset_index(drop=True), int((~ok).sum())


def _truth_rule(pairs: pd.DataFrame, truth: pd.DataFrame, by: str = "quality") -> pd.DataFrame:
    """The truly better answer of each pair ``item_id, lo, hi`` (equal quality: tie)."""
    q = dict(zip(truth["response_id"].astype(str), truth[by].astype(float), strict=False))
    out = pairs[["item_id", "lo", "hi"]].drop_duplicates().reset_index(drop=True)
    q_lo = out["lo"].map(q).to_numpy(dtype=float)
    q_hi = out["hi"].map(q).to_numpy(dtype=float)
    out["ref"] = np.where(q_lo > q_hi, LO, np.where(q_hi > q_lo, HI, TIE_CODE))
    out["n_votes"] = 0
    return out[~(np.isnan(q_lo) | np.isnan(q_hi))].reset_index(drop=True)


def _rule_input_present(rule: str, votes: pd.DataFrame, truth) -> bool:
    if rule == "truth":
        return truth is not None and len(truth) > 0 and "quality" in truth.columns
    if rule == "gold":
        return bool((votes["rater_id"] == "gold").any())
    return len(votes) > 0


def reference_labels(
    votes: pd.DataFrame,
    *,
    rule: str | Sequence[str] = "majority",
    min_raters: int = 1,
    tie_policy: str = "class",
    truth: pd.DataFrame | None = None,
    pairs: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict, str]:
    """The reference label of each pair under a named rule (module docstring).

    Parameters
    ----------
    votes : DataFrame
        Human votes as :func:`coded_votes` returns them.
    rule : str or sequence of str
        One of :data:`RULES`, or an ordered list of them: the first rule whose input exists
        (votes, gold votes, a truth table with ``quality``) is used.
    min_raters : int
        ``majority`` / ``unanimous`` / ``gold``: pairs with fewer votes are excluded.
    tie_policy : {"class", "drop"}
        ``drop`` also excludes (and counts) pairs whose reference is a tie.
    truth : DataFrame, optional
        ``response_id, quality`` (the ``truth`` rule).
    pairs : DataFrame, optional
        ``item_id, lo, hi`` of the pairs to label under ``truth`` (the judged pairs).

    Returns
    -------
    reference : DataFrame
        ``item_id, lo, hi, ref, n_votes``: ``ref`` 0 (lo wins), 1 (hi wins), 2 (tie).
    excluded : dict
        Pairs excluded by reason: ``no_human_majority`` (no strict majority, or not
        unanimous, or too few votes) and, under ``drop``, ``tie_reference``.
    rule : str
        The rule used.

    Notes
    -----
    Majority: label c with ``n_c > n / 2`` (n the pair's votes); unanimous: ``n_c = n``.
    """
    rules = [rule] if isinstance(rule, str) else list(rule)
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ValueError(f"reference rule must be one of {RULES}, not {unknown[0]!r}")
    used = next((r for r in rules if _rule_input_present(r, votes, truth)), rules[0])
    if used == "truth":
        if truth is None or pairs is None:
            raise ValueError("the truth rule needs the truth table and the pairs to label")
        ref, n_without = _truth_rule(pairs, truth), 0
    elif len(votes) == 0:
        ref, n_without = pd.DataFrame(columns=["item_id", "lo", "hi", "ref", "n_votes"]), 0
    else:
        v = votes[votes["rater_id"] == "gold"] if used == "gold" else votes
        majority_rule = "unanimous" if used == "unanimous" else "majority"
        ref, n_without = vote_reference(v, rule=majority_rule, min_raters=min_raters)
    excluded = {"no_human_majority": n_without}
    if tie_policy == "drop":
        excluded["tie_reference"] = int((ref["ref"] == TIE_CODE).sum())
        ref = ref[ref["ref"] != TIE_CODE]
    return ref.reset_index(drop=True), excluded, used
