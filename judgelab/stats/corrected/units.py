"""Binary units of a corrected estimate: one row per judged unit with the judge's pass (0/1)
and, on the labelled subset, the human's pass (0/1, nan = unlabelled).

The one place where verdicts become the units :func:`judgelab.stats.corrected.corrected_rates`
reads (docs/statistics.md, "Corrected estimates", "Units"):

* **pointwise** verdicts (``single`` protocol: pass/fail grades 0/1, graded scores, a grade
  set): a unit is a response; the judge's score is the mean of its parsed repeats
  (:func:`judgelab.stats.calibration.units.score_units`), the human's the median over raters
  (as the calibration audit reads them); both pass when the score is ``>= threshold``.
  :func:`pass_threshold` resolves the threshold: the one given, else the midpoint of the
  judge's own scale (``judge_scales``), of the dataset's grade set or of its ``scale``; 0/1
  scores without a declared scale are binary (threshold 0.5); anything else is refused.
* **rubric** verdicts (pass / warn / fail): a unit is a response, passing at or above the
  level ``rubric_pass`` names (pass: pass vs warn or fail; warn: pass or warn vs fail); the
  judge's repeats by the mean of their levels, the humans' ``overall`` rubric labels by the
  median (fail 0, warn 1, pass 2), so rubric verdicts are analysed after a stated
  threshold, like scores.
* **pairwise** verdicts: the target is a win rate. The primary units (issue 15: "PPI on the
  human vote share, each pair oriented to the generator's answer with both orders
  aggregated first") are vote shares (:func:`pair_shares`): the judge's share for an answer
  averages its calls (a tie 1/2) over repeats within each display order, then over the
  orders; the humans' share is the mean of their votes (a tie 1/2). Every judged pair gives
  two units, one oriented to each answer (:func:`orient`, the one orientation rule, which
  label hiding uses too), carrying that answer's generator and family and its opponent's
  (``opp_generator``, ``opp_family``). Rogan-Gladen needs binary verdicts: it reads
  ``binary_units``, where a pair's calls are aggregated over both orders (and repeats) first
  and the answer with more of the (repeat-weighted) calls wins; equal weight (a tie, or
  orders that disagree) is a judge tie, and the humans' votes likewise (majority; equal
  counts a human tie). Ties are dropped and counted there (``excluded``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from judgelab.stats.calibration.units import human_scores, pairwise_units, score_units, win_value
from judgelab.stats.errors import DataError
from judgelab.stats.reference import coded_votes
from judgelab.stats.units import label_codes, parsed_mask, sorted_pair, winner_of
from judgelab.stats.votes import plurality

__all__ = [
    "CorrectedUnits",
    "pass_threshold",
    "resolve_protocol",
    "corrected_units",
    "orient",
    "pair_shares",
    "UNIT_COLUMNS",
]

#: Columns of the units frame (``category`` and the ``opp_*`` columns where they apply).
UNIT_COLUMNS = (
    "judge", "item_id", "unit", "generator", "family", "category", "opp_generator",
    "opp_family", "judge_pass", "human_pass",
)  # fmt: skip


@dataclass(frozen=True)
class CorrectedUnits:
    """Units of every judge (:data:`UNIT_COLUMNS`), the protocol they came from, the pass
    threshold of pointwise scores (None for pairwise) and, per judge, the counts of what was
    dropped and why (``excluded``: ``{judge: {reason: count}}``)."""

    units: pd.DataFrame = field(repr=False)
    protocol: str
    threshold: float | None
    threshold_basis: str
    excluded: dict
    label_share: float | None = None
    #: pairwise only: the ties-dropped binary units (same columns) Rogan-Gladen reads, which
    #: needs binary verdicts; ``units`` then hold the vote shares (module docstring)
    binary_units: pd.DataFrame | None = field(default=None, repr=False)


def _binary_scores(values) -> bool:
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return bool(len(v)) and bool(v.isin([0, 1]).all())


def pass_threshold(
    dataset, threshold: float | None, judge_scores, judge_version: str | None = None
) -> tuple[float, str]:
    """The score from which a pointwise unit passes (``score >= threshold``), and its basis.

    Parameters
    ----------
    dataset :
        The dataset (its ``judge_scales``, ``grades`` and ``scale`` are read).
    threshold : float or None
        The threshold given; None resolves it from the dataset.
    judge_scores : array-like
        The judge's scores (binary 0/1 scores need no declared scale).
    judge_version : str, optional
        The judge's version, for its own scale in ``dataset.judge_scales``.

    Returns
    -------
    (threshold, basis)
        ``basis`` says in words where the threshold came from.

    Raises
    ------
    DataError
        Scores that are not 0/1 on a dataset that declares no scale, with no threshold given.
    """
    if threshold is not None:
        return float(threshold), f"given: a unit passes when its score is >= {threshold:g}"
    own = (getattr(dataset, "judge_scales", None) or {}).get(str(judge_version))
    if own is not None:
        lo, hi = own
        return (lo + hi) / 2, f"midpoint of the judge's own scale {lo:g}..{hi:g}"
    grades = getattr(dataset, "grades", None)
    if grades:
        lo, hi = min(grades.values()), max(grades.values())
        return (lo + hi) / 2, f"midpoint of the grade set {grades} (score >= {(lo + hi) / 2:g})"
    scale = getattr(dataset, "scale", None)
    if scale is not None:
        lo, hi = scale
        return (lo + hi) / 2, f"midpoint of the dataset's scale {lo:g}..{hi:g}"
    if _binary_scores(judge_scores):
        return 0.5, "binary 0/1 scores (pass = 1)"
    raise DataError(
        "verdicts",
        "score",
        "scores are not 0/1 and the dataset declares neither a scale nor a grade set, so which "
        "score passes is ambiguous: give -p threshold T (a unit passes when its score >= T), or "
        "declare scale: {min, max} in dataset.yaml",
    )


def _info(dataset) -> pd.DataFrame:
    info = dataset.response_info()
    keep = [c for c in ("response_id", "item_id", "generator", "family", "category") if c in info]
    info = info[keep].astype(object).copy()
    info["response_id"] = info["response_id"].astype(str)
    return info.set_index("response_id")


def _pointwise(verdicts, dataset, threshold, info) -> tuple[pd.DataFrame, dict, float, str]:
    su, ex = score_units(verdicts)
    version = verdicts["judge_version"].iloc[0] if "judge_version" in verdicts else None
    thr, basis = pass_threshold(dataset, threshold, su["score"], version)
    hs = human_scores(dataset)
    human = hs.groupby("response_id")["score"].median()
    if basis.startswith("binary") and len(hs) and not _binary_scores(hs["score"]):
        raise DataError(
            "labels",
            "score",
            "the judge's scores are 0/1 but the human scores are not, and the dataset declares "
            "no scale: give -p threshold T (a unit passes when its score >= T)",
        )
    h = su["response_id"].map(human)
    units = pd.DataFrame(
        {
            "item_id": su["item_id"].astype(str).to_numpy(),
            "unit": su["response_id"].astype(str).to_numpy(),
            "judge_pass": (su["score"].to_numpy() >= thr).astype(float),
            "human_pass": np.where(h.isna(), np.nan, (h.to_numpy() >= thr).astype(float)),
        }
    )
    for c in ("generator", "family", "category"):
        units[c] = units["unit"].map(info[c]) if c in info else None
    return units, ex, thr, basis


#: Rubric verdicts in order (a unit passes at or above the level ``rubric_pass`` names).
RUBRIC_LEVELS = {"fail": 0, "warn": 1, "pass": 2}


def _rubric(verdicts, dataset, rubric_pass: str, info) -> tuple[pd.DataFrame, dict, str]:
    """Rubric units: a response passes when its verdict (pass / warn / fail; repeats: the mean
    of their levels) is at or above ``rubric_pass``; the humans' ``overall`` rubric labels
    likewise (the median of the raters' levels)."""
    if rubric_pass not in RUBRIC_LEVELS or rubric_pass == "fail":
        raise DataError(
            "verdicts",
            "verdict",
            f"rubric_pass must be pass (pass vs warn/fail) or warn (pass or warn vs fail), not "
            f"{rubric_pass!r}",
        )
    level = RUBRIC_LEVELS[rubric_pass]
    for col in ("item_id", "response_id", "verdict"):
        if col not in verdicts.columns:
            raise DataError(
                "verdicts", col, f"column missing (columns: {list(verdicts.columns)}); add it"
            )
    code = verdicts["verdict"].astype(str).str.strip().str.lower().map(RUBRIC_LEVELS)
    ok = parsed_mask(verdicts) & code.notna().to_numpy()
    v = verdicts[ok].assign(code=code[ok].astype(float))
    judged = v.groupby(["item_id", "response_id"], sort=False)["code"].mean().reset_index()
    rl = getattr(dataset, "rubric_labels", None)
    human = pd.Series(dtype=float)
    if rl is not None and len(rl):
        overall = rl[rl["section"].astype(str).str.lower() == "overall"]
        hc = overall["label"].astype(str).str.strip().str.lower().map(RUBRIC_LEVELS)
        human = hc.groupby(overall["response_id"].astype(str)).median()
    h = judged["response_id"].astype(str).map(human)
    units = pd.DataFrame(
        {
            "item_id": judged["item_id"].astype(str).to_numpy(),
            "unit": judged["response_id"].astype(str).to_numpy(),
            "judge_pass": (judged["code"].to_numpy() >= level).astype(float),
            "human_pass": np.where(h.isna(), np.nan, (h.to_numpy() >= level).astype(float)),
        }
    )
    for c in ("generator", "family", "category"):
        units[c] = units["unit"].map(info[c]) if c in info else None
    basis = (
        "rubric: pass vs warn or fail" if level == 2 else "rubric: pass or warn vs fail"
    ) + f" (rubric_pass {rubric_pass}; repeats: the mean level, humans: the median)"
    return units, {"unparsed": int((~ok).sum())}, basis


def _pair_verdicts(df: pd.DataFrame, weight: str | None) -> pd.DataFrame:
    """Per pair ``item_id, lo, hi``: ``lo_pass`` 1 (lo wins), 0 (hi wins) or nan (a tie):
    the plurality of the (weighted) calls or votes for each answer
    (:func:`judgelab.stats.votes.plurality`, a split top undecided); tie verdicts count for
    neither answer."""
    w = df[weight].to_numpy(float) if weight else np.ones(len(df))
    g = pd.DataFrame(
        {
            "item_id": df["item_id"].astype(str).to_numpy(),
            "lo": df["lo"].astype(str).to_numpy(),
            "hi": df["hi"].astype(str).to_numpy(),
            "w_lo": np.where(df["label"] == 0, w, 0.0),
            "w_hi": np.where(df["label"] == 1, w, 0.0),
        }
    )
    agg = g.groupby(["item_id", "lo", "hi"], sort=False)[["w_lo", "w_hi"]].sum().reset_index()
    code = plurality(agg[["w_lo", "w_hi"]].to_numpy(), split=np.nan)  # 0: lo, 1: hi
    agg["lo_pass"] = 1.0 - code
    return agg[["item_id", "lo", "hi", "lo_pass"]]


def _human_pairs(dataset, label_share: float | None, seed: int) -> tuple[pd.DataFrame, int]:
    """The humans' verdict per pair (majority of votes) and the number of human-tied pairs;
    with ``label_share`` a seeded random share of the labelled pairs is kept."""
    votes = coded_votes(getattr(dataset, "preferences", None))
    if votes.empty:
        return pd.DataFrame(columns=["item_id", "lo", "hi", "human_lo"]), 0
    hp = _pair_verdicts(votes, None).rename(columns={"lo_pass": "human_lo"})
    if label_share is not None:
        rng = np.random.default_rng(seed)
        keep = rng.random(len(hp)) < label_share
        hp = hp[keep]
    n_tie = int(hp["human_lo"].isna().sum())
    return hp, n_tie


def _pairwise(verdicts, human: pd.DataFrame, n_human_tie: int, info) -> tuple[pd.DataFrame, dict]:
    pu, ex = pairwise_units(verdicts, "per_call", "class")
    jp = _pair_verdicts(pu, "weight")
    ex["judge_tie_pairs"] = int(jp["lo_pass"].isna().sum())
    jp = jp[jp["lo_pass"].notna()].merge(human, on=["item_id", "lo", "hi"], how="left")
    tied = jp["human_lo"].isna() & jp.set_index(["item_id", "lo", "hi"]).index.isin(
        human[human["human_lo"].isna()].set_index(["item_id", "lo", "hi"]).index
    )
    ex["human_tie_pairs"] = int(tied.sum())
    ex["human_tie_pairs_in_dataset"] = n_human_tie
    jp = jp[~tied]
    sides = []
    for me, other, flip in (("lo", "hi", False), ("hi", "lo", True)):
        j, h = jp["lo_pass"].to_numpy(), jp["human_lo"].to_numpy(dtype=float)
        side = pd.DataFrame(
            {
                "item_id": jp["item_id"].to_numpy(),
                "unit": (jp["lo"] + "|" + jp["hi"] + "|" + me).to_numpy(),
                "judge_pass": 1.0 - j if flip else j,
                "human_pass": 1.0 - h if flip else h,
            }
        )
        for c in ("generator", "family", "category"):
            side[c] = jp[me].map(info[c]).to_numpy() if c in info else None
        for c in ("generator", "family"):
            side[f"opp_{c}"] = jp[other].map(info[c]).to_numpy() if c in info else None
        sides.append(side)
    return pd.concat(sides, ignore_index=True), ex


def orient(lo_value, focal_is_lo) -> np.ndarray:
    """A pair's value for its ``lo`` response turned into the value for the focal response
    (``1 - value`` when the focal response is ``hi``): the one orientation of a pair to a
    generator's answer, for the study's units and label hiding's alike."""
    v = np.asarray(lo_value, dtype=float)
    return np.where(np.asarray(focal_is_lo, dtype=bool), v, 1.0 - v)


def pair_shares(verdicts: pd.DataFrame, preferences, judge: pd.Series) -> pd.DataFrame:
    """Per (judge, pair): the judge's and the humans' share for the pair's ``lo`` response.

    The judge's share averages its parsed calls (a tie counts 1/2) over repeats within each
    display order and then over the orders (both orders weigh the same however many repeats
    each has); the humans' share is the mean of their votes (a tie 1/2).

    Parameters
    ----------
    verdicts : DataFrame
        Pairwise verdicts (``item_id``, ``response_a``, ``response_b``, ``winner`` and/or
        ``choice`` + ``order``, ``parse_ok``).
    preferences : DataFrame or None
        Human votes (``item_id``, ``response_a``, ``response_b``, ``rater_id``, ``preference``).
    judge : Series
        The judge identity of each verdict row (aligned with ``verdicts``).

    Returns
    -------
    DataFrame
        ``judge, item_id, lo, hi, judge_lo, n_verdicts, human_lo, n_votes``; every judged pair,
        ``human_lo`` nan (``n_votes`` 0) where no human voted.
    """
    for col in ("item_id", "response_a", "response_b"):
        if col not in verdicts.columns:
            raise DataError(
                "verdicts", col, f"column missing (columns: {list(verdicts.columns)}); add it"
            )
    ok = parsed_mask(verdicts)
    v = verdicts[ok]
    lo, hi = sorted_pair(v["response_a"], v["response_b"])
    codes = label_codes(winner_of(v), lo, hi)
    order = v["order"] if "order" in v.columns else pd.Series("ab", index=v.index)
    j = pd.DataFrame(
        {
            "judge": judge[ok].astype(str).to_numpy(),
            "item_id": v["item_id"].astype(str).to_numpy(),
            "lo": lo,
            "hi": hi,
            "order": order.astype(str).to_numpy(),
            "share": win_value(codes, 0, "half"),
        }
    )
    j = j[~np.isnan(j["share"].to_numpy())]
    keys = ["item_id", "lo", "hi"]
    per_order = j.groupby(["judge", *keys, "order"], sort=False)["share"].agg(["mean", "size"])
    out = (
        per_order.groupby(level=["judge", *keys], sort=False)
        .agg(judge_lo=("mean", "mean"), n_verdicts=("size", "sum"))
        .reset_index()
    )
    h = coded_votes(preferences)
    h = h.assign(share=win_value(h["label"].to_numpy(float), 0, "half"))
    human = h.groupby(keys, sort=False)["share"].agg(human_lo="mean", n_votes="size")
    out = out.merge(human.reset_index(), on=keys, how="left")
    out["n_votes"] = out["n_votes"].fillna(0).astype(int)
    return out


def _share_units(v: pd.DataFrame, dataset, human: pd.DataFrame | None, info) -> pd.DataFrame:
    """One judge's share units: every judged pair twice, oriented to each answer; the human
    share only on the pairs ``human`` keeps (the labelled set after ``label_share``)."""
    ps = pair_shares(v, getattr(dataset, "preferences", None), v["judge"])
    if human is not None:
        kept = pd.MultiIndex.from_frame(human[["item_id", "lo", "hi"]].astype(str))
        keep = pd.MultiIndex.from_frame(ps[["item_id", "lo", "hi"]]).isin(kept)
        ps.loc[~keep, "human_lo"] = np.nan
    sides = []
    for me, other in (("lo", "hi"), ("hi", "lo")):
        is_lo = np.full(len(ps), me == "lo")
        side = pd.DataFrame(
            {
                "item_id": ps["item_id"].to_numpy(),
                "unit": (ps["lo"] + "|" + ps["hi"] + "|" + me).to_numpy(),
                "judge_pass": orient(ps["judge_lo"], is_lo),
                "human_pass": orient(ps["human_lo"], is_lo),
            }
        )
        for c in ("generator", "family", "category"):
            side[c] = ps[me].map(info[c]).to_numpy() if c in info else None
        for c in ("generator", "family"):
            side[f"opp_{c}"] = ps[other].map(info[c]).to_numpy() if c in info else None
        sides.append(side)
    return pd.concat(sides, ignore_index=True)


def resolve_protocol(verdicts: pd.DataFrame, protocol: str | None) -> str:
    """The protocol whose verdicts become units: the one given, else the one pairwise or
    single protocol the verdicts hold (several, or none: refused, saying which exist)."""
    held = sorted(verdicts["protocol"].astype(str).unique())
    if protocol is None:
        usable = [p for p in held if p in ("pairwise", "single", "rubric")]
        if len(usable) != 1:
            raise DataError(
                "verdicts",
                "protocol",
                f"the verdicts hold protocols {held}: corrected_estimate reads one of pairwise "
                "(win rates), single or rubric (pass rates); give -p protocol pairwise, single "
                "or rubric",
            )
        return usable[0]
    if protocol not in held:
        raise DataError("verdicts", "protocol", f"no {protocol} verdicts; the verdicts hold {held}")
    return protocol


def corrected_units(
    verdicts: pd.DataFrame,
    dataset,
    *,
    protocol: str | None = None,
    threshold: float | None = None,
    label_share: float | None = None,
    seed: int = 0,
    rubric_pass: str = "pass",
) -> CorrectedUnits:
    """Every judge's binary units (see the module docstring).

    Parameters
    ----------
    verdicts : DataFrame
        Tidy verdicts with a ``judge`` identity column (one set of units per identity).
    dataset :
        The dataset (responses, items, human ``labels`` or ``preferences``, scales).
    protocol : {None, "pairwise", "single", "rubric"}
        None: the one protocol the verdicts hold.
    threshold : float, optional
        Pointwise pass threshold (``score >= threshold``); None: :func:`pass_threshold`.
    label_share : float in (0, 1], optional
        Keep a seeded random share of the human labels (pairs or responses), the rest
        treated as unlabelled: a smaller label budget on data labelled everywhere.
    seed : int
        Seed of ``label_share``'s draw.
    rubric_pass : {"pass", "warn"}
        Rubric verdicts: the lowest level that passes (pass: pass vs warn/fail; warn: pass or
        warn vs fail).

    Returns
    -------
    CorrectedUnits
    """
    protocol = resolve_protocol(verdicts, protocol)
    info = _info(dataset)
    frames, excluded, thresholds, basis, binary = [], {}, set(), "", []
    human, n_tie = (None, 0)
    if protocol == "pairwise":
        human, n_tie = _human_pairs(dataset, label_share, seed)
    for judge, v in verdicts.groupby("judge", sort=True):
        if protocol == "pairwise":
            pw = v[v["protocol"] == "pairwise"]
            b, ex = _pairwise(pw, human, n_tie, info)
            b.insert(0, "judge", judge)
            binary.append(b)
            u = _share_units(pw, dataset, human if label_share is not None else None, info)
        elif protocol == "rubric":
            u, ex, basis = _rubric(v[v["protocol"] == "rubric"], dataset, rubric_pass, info)
        else:
            u, ex, thr, basis = _pointwise(v[v["protocol"] == "single"], dataset, threshold, info)
            thresholds.add(thr)
        u.insert(0, "judge", judge)
        frames.append(u)
        excluded[str(judge)] = ex
    units = _columns(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())
    binary_units = _columns(pd.concat(binary, ignore_index=True)) if binary else None
    if protocol != "pairwise" and label_share is not None:
        labelled = units.loc[units["human_pass"].notna(), "unit"].unique()
        rng = np.random.default_rng(seed)
        kept = set(np.asarray(labelled)[rng.random(len(labelled)) < label_share])
        units.loc[~units["unit"].isin(kept), "human_pass"] = np.nan
    thr = thresholds.pop() if len(thresholds) == 1 else None
    if len(thresholds) > 0:
        basis = "per judge: the midpoint of each judge's own scale"
    return CorrectedUnits(
        units,
        protocol,
        thr if protocol == "single" else None,
        basis if protocol != "pairwise" else "win rates (no threshold)",
        excluded,
        label_share,
        binary_units,
    )


def _columns(units: pd.DataFrame) -> pd.DataFrame:
    for c in UNIT_COLUMNS:
        if c not in units:
            units[c] = None
    return units[list(UNIT_COLUMNS)]
