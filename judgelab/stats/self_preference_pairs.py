"""Descriptive self-preference statistics on the judged pairs, each with an item-cluster
bootstrap: harmful self-preference, own-family win-rate excess, conditional self-bias,
length bias, and the judge-family x generator-family win-rate matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding
from judgelab.stats.resampling import cluster_bootstrap

__all__ = [
    "harmful_self_preference",
    "own_family_win_rate_excess",
    "conditional_self_bias",
    "length_bias",
    "family_preference_matrix",
    "human_joined",
]


def _boot_diff(per_item: np.ndarray, n_boot: int, seed: int, ci_level: float):
    """Cluster bootstrap of a0/a1 - b0/b1 over per-item sums [a0, a1, b0, b1]; returns (est, lo, hi, p, reason)."""

    def stat(t):
        t = np.atleast_2d(t)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                (t[:, 1] > 0) & (t[:, 3] > 0),
                t[:, 0] / np.where(t[:, 1] > 0, t[:, 1], 1)
                - t[:, 2] / np.where(t[:, 3] > 0, t[:, 3], 1),
                np.nan,
            )

    # each seed of the study's descriptive statistics is drawn once: its weights are not kept
    res = cluster_bootstrap(
        per_item, stat, n_boot=n_boot, seed=seed, ci_level=ci_level, keep_weights=False
    )
    if res.estimate is None:
        return None, None, None, None, res.reason
    return res.estimate, res.ci_low, res.ci_high, res.p_value(0.0), res.reason


def _sums_by_item(items, cols: list[np.ndarray]) -> np.ndarray:
    """Per-item sums of ``cols``, items in sorted order (the bootstrap's clusters)."""
    df = pd.DataFrame({f"c{k}": c for k, c in enumerate(cols)})
    df["item"] = _values(items) if isinstance(items, pd.Series) else np.asarray(items)
    return df.groupby("item", sort=True).sum().to_numpy(dtype=float)


def harmful_self_preference(
    jt: pd.DataFrame, judge: str, n_boot=2000, seed=0, ci_level=0.95, info=None
) -> dict:
    """P(J picks the wrong answer | the wrong one is from J's family) - P(J picks the wrong answer
    | the wrong one is from another family), over pairs where exactly one answer is correct
    (truth); ties dropped; item-cluster bootstrap CI and p (after Chen et al. 2025, harmful
    vs legitimate self-preference). Exploratory."""
    fid = "harmful_self_preference"
    info = info or {}
    cols = ["item_id", "pick_a", "rel_a", "rel_b", "correct_a", "correct_b"]
    d = jt.loc[(jt["judge"] == judge).to_numpy(), cols]  # the columns read, not the table
    if d[["correct_a", "correct_b"]].isna().all().all():
        return finding(
            fid, None, judge=judge, reason="correctness unknown (no truth table)", n=0, **info
        )
    one = (d["correct_a"] + d["correct_b"] == 1) & d["pick_a"].notna()
    e = d[one]
    ex = int((d["correct_a"] + d["correct_b"] == 1).sum() - len(e))
    if e.empty:
        return finding(
            fid, None, judge=judge, reason="no pair with exactly one correct answer", n=0, **info
        )
    wrong_is_a = e["correct_a"].to_numpy() == 0
    rel_wrong = np.where(wrong_is_a, e["rel_a"], e["rel_b"])
    own = np.isin(rel_wrong, ["self", "family"])
    picked_wrong = np.where(wrong_is_a, e["pick_a"] == 1, e["pick_a"] == 0).astype(float)
    per = _sums_by_item(
        e["item_id"],
        [picked_wrong * own, own.astype(float), picked_wrong * ~own, (~own).astype(float)],
    )
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = None
    if est is not None:
        concl = (
            "When the wrong answer comes from its own family the judge picks it about as often as when it comes from another family"
            if abs(est) < 0.005
            else f"When the wrong answer comes from its own family the judge picks it {abs(est) * 100:.0f} percentage points "
            f"{'more' if est > 0 else 'less'} often than when it comes from another family"
        ) + (
            " (CI excludes 0)."
            if lo is not None and (lo > 0 or hi < 0)
            else " (CI includes 0: no clear harmful self-preference)."
        )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method="difference of P(picks wrong) by the wrong answer's family (own = self or family relation), pairs with exactly one correct answer (truth), ties dropped; item-cluster bootstrap CI and p; exploratory",
        p_value=p,
        n=len(e),
        n_excluded=ex,
        reason=why if est is None or lo is None else None,
        conclusion=concl,
        **info,
    )


def _human_join(jt: pd.DataFrame, hp: pd.DataFrame) -> pd.DataFrame:
    return jt.merge(hp, on=["item_id", "ra", "rb"], how="inner")


def human_joined(jt: pd.DataFrame, hp: pd.DataFrame) -> pd.DataFrame:
    """The parsed judgments of ``jt`` on the pairs humans compared, with the pair's human
    columns (``hp``, :func:`~judgelab.stats.self_preference_judgments.human_pair_table`) and
    ``pair`` (its row in ``hp``: an integer pair code), in ``jt``'s row order.

    The judge statistics below read their rows from it (``joined=``), so that a panel's
    judgments are joined with the human table once, not once per judge and statistic (a
    merge on three string keys of every judgment: seconds per judge at a million
    verdicts)."""
    h = hp.assign(pair=np.arange(len(hp)))
    # the judgment columns the statistics below read (not a copy of the whole table)
    cols = ["judge", "judge_family", "item_id", "ra", "rb", "pick_a", "tie", "parsed"]
    cols += ["fam_a", "fam_b", "rel_a", "rel_b", "words_a", "words_b"]
    parsed = jt["parsed"].to_numpy(dtype=bool)
    return _human_join(jt.loc[parsed, [c for c in cols if c in jt.columns]], h)


def _judge_rows(joined: pd.DataFrame, judge: str, cols: list[str], mask=None) -> pd.DataFrame:
    """Columns ``cols`` of the rows of ``judge`` in a :func:`human_joined` frame with a
    non-missing pick (and ``mask``), re-indexed from 0 as a fresh join would be."""
    keep = (joined["judge"] == judge).to_numpy() & joined["pick_a"].notna().to_numpy()
    if mask is not None:
        keep &= mask
    return joined.loc[keep, cols].reset_index(drop=True)


def own_family_win_rate_excess(
    jt, hp, judge, n_boot=2000, seed=0, ci_level=0.95, tie_policy="half", info=None, joined=None
) -> dict:
    """(J's win rate for its family's answers - human win rate on the same pairs) minus the same
    difference for judges of other families on the same pairs (pairs with exactly one answer
    of J's family). Descriptive: the human terms cancel when the pairs coincide, leaving J's
    win rate minus other-family judges' win rate; differences in judge noise still enter.
    ``joined``: :func:`human_joined` of (jt, hp) when the caller has it."""
    fid = "own_family_win_rate_excess"
    info = info or {}
    mine_jt = np.flatnonzero((jt["judge"] == judge).to_numpy())
    fam = jt["judge_family"].iloc[mine_jt[0]] if len(mine_jt) else None
    method = f"(judge - human) minus (other-family judges - human) win rate of the judge's family's answers on the same pairs (ties: {tie_policy}); item-cluster bootstrap CI; descriptive"
    if fam is None or hp.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="judge family unknown or no human preferences",
            n=0,
            method=method,
            **info,
        )
    x = human_joined(jt, hp) if joined is None else joined
    # masks over the joined rows, not copies of them: pairs with one answer of the family,
    # a win or a loss (ties by policy)
    fa, fb = (x["fam_a"] == fam).to_numpy(), (x["fam_b"] == fam).to_numpy()
    win = _win(x, fa, tie_policy)
    keep = np.flatnonzero((fa != fb) & ~np.isnan(win))
    win = win[keep]
    mine = (x["judge"] == judge).to_numpy()[keep]
    jf = x["judge_family"]
    other = ((jf != fam).to_numpy() & jf.notna().to_numpy())[keep]
    pair = x["pair"].to_numpy()[keep]
    on_j = np.isin(pair, pair[mine])  # pairs this judge judged
    o = other & on_j
    if mine.sum() == 0 or o.sum() == 0:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no pairs of own-family vs other-family answers judged by this judge and by a judge of another family",
            n=int(mine.sum()),
            method=method,
            **info,
        )
    per = _sums_by_item(
        x["item_id"].iloc[keep], [win * mine, mine.astype(float), win * o, o.astype(float)]
    )
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = (
        None
        if est is None
        else f"Descriptive: this judge gives its family's answers a win rate {abs(est) * 100:.0f} percentage points {'higher' if est > 0 else 'lower'} than judges of other families do on the same pairs; unequal judge noise can produce such a gap without bias."
    )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        n=int(mine.sum()),
        reason=why if lo is None else None,
        conclusion=concl,
        **info,
    )


def _win(x: pd.DataFrame, a_is_target: np.ndarray, tie_policy: str) -> np.ndarray:
    """1 when the target side won, 0 when it lost; ties by policy (class -> 0, half -> 0.5, drop -> NaN)."""
    pa = x["pick_a"].to_numpy(dtype=float)
    w = np.where(a_is_target, pa, 1 - pa)
    tie = x["tie"].to_numpy(dtype=bool)
    tv = {"class": 0.0, "half": 0.5, "drop": np.nan}.get(tie_policy)
    if tie_policy not in ("class", "half", "drop"):
        raise ValueError(f"tie_policy must be class, drop or half, not {tie_policy!r}")
    return np.where(tie, tv, w)


def conditional_self_bias(
    jt, hp, judge, n_boot=2000, seed=0, ci_level=0.95, info=None, joined=None
) -> dict:
    """P(J picks own | humans pick own) - P(J picks other | humans pick other) on pairs with exactly
    one own-family answer (self or family relation) and a strict human majority; ties dropped
    (Wataoka et al. 2024, equal opportunity). Descriptive: a judge of a better family, or a
    sharper judge, differs here without bias. ``joined``: :func:`human_joined` of (jt, hp)
    when the caller has it."""
    fid = "conditional_self_bias"
    info = info or {}
    cols = ["item_id", "pick_a", "rel_a", "rel_b", "majority"]
    x = _judge_rows(human_joined(jt, hp) if joined is None else joined, judge, cols)
    method = "P(judge picks own | human majority own) - P(judge picks other | human majority other); own = self or family relation; ties and pairs without a human majority dropped; item-cluster bootstrap CI; descriptive (Wataoka et al. 2024)"
    if x.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no judged pair with human preferences",
            n=0,
            method=method,
            **info,
        )
    own_a = x["rel_a"].isin(["self", "family"]).to_numpy()
    own_b = x["rel_b"].isin(["self", "family"]).to_numpy()
    x = x[(own_a != own_b) & x["majority"].notna().to_numpy()]
    own_a = x["rel_a"].isin(["self", "family"]).to_numpy()
    if x.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no own-vs-other pair with a human majority",
            n=0,
            method=method,
            **info,
        )
    picks_own = np.where(own_a, x["pick_a"] == 1, x["pick_a"] == 0).astype(float)
    h_own = np.where(own_a, x["majority"] == "a", x["majority"] == "b")
    per = _sums_by_item(
        x["item_id"],
        [picks_own * h_own, h_own.astype(float), (1 - picks_own) * ~h_own, (~h_own).astype(float)],
    )
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = (
        None
        if est is None
        else f"Descriptive: when humans prefer its own family's answer the judge agrees {'more' if est > 0 else 'less'} often ({abs(est) * 100:.0f} percentage points) than when humans prefer the other answer."
    )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        n=len(x),
        reason=why if lo is None else None,
        conclusion=concl,
        **info,
    )


def length_bias(jt, hp, judge, n_boot=2000, seed=0, ci_level=0.95, info=None, joined=None) -> dict:
    """J's P(prefer the longer answer) minus the humans' on the same pairs whose word counts
    differ by more than 10% (|w_a - w_b| > 0.1 min(w_a, w_b)); ties dropped; item-cluster
    bootstrap CI and p. Exploratory. ``joined``: :func:`human_joined` of (jt, hp) when the
    caller has it."""
    fid = "length_bias"
    info = info or {}
    mine = ((jt["judge"] == judge) & jt["pick_a"].notna()).to_numpy(dtype=bool)
    wa = jt["words_a"].to_numpy(dtype=float)[mine]
    method = "P(judge prefers the longer answer) - P(humans prefer it) on the same pairs (word counts differ > 10%), ties dropped; item-cluster bootstrap CI and p; exploratory"
    if not np.isfinite(wa).any() or hp.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="word counts or human preferences unknown",
            n=0,
            method=method,
            **info,
        )
    x = human_joined(jt, hp) if joined is None else joined
    xa, xb = x["words_a"].to_numpy(dtype=float), x["words_b"].to_numpy(dtype=float)
    cols = ["item_id", "ra", "rb", "pick_a", "words_a", "words_b", "votes_a", "votes_b"]
    x = _judge_rows(x, judge, cols, np.abs(xa - xb) > 0.1 * np.minimum(xa, xb))
    if x.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no judged pair with a length difference > 10% and human preferences",
            n=0,
            method=method,
            **info,
        )
    a_longer = (x["words_a"] > x["words_b"]).to_numpy()
    j_long = np.where(a_longer, x["pick_a"] == 1, x["pick_a"] == 0).astype(float)
    # humans: votes for the longer answer among non-tie votes, once per pair (not per judge call)
    hpairs = x.drop_duplicates(["item_id", "ra", "rb"])
    al = (hpairs["words_a"] > hpairs["words_b"]).to_numpy()
    h_long = np.where(al, hpairs["votes_a"], hpairs["votes_b"]).astype(float)
    h_n = (hpairs["votes_a"] + hpairs["votes_b"]).to_numpy(dtype=float)
    jj = pd.DataFrame({"item": x["item_id"], "a": j_long, "b": 1.0}).groupby("item").sum()
    hh = pd.DataFrame({"item": hpairs["item_id"], "c": h_long, "d": h_n}).groupby("item").sum()
    per = jj.join(hh, how="left").fillna(0.0).to_numpy(dtype=float)
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = (
        None
        if est is None
        else f"The judge prefers the longer answer {abs(est) * 100:.0f} percentage points {'more' if est > 0 else 'less'} often than humans on the same pairs"
        + (" (CI excludes 0)." if lo is not None and (lo > 0 or hi < 0) else " (CI includes 0).")
    )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        p_value=p,
        n=len(x),
        reason=why if lo is None else None,
        conclusion=concl,
        **info,
    )


def _values(col: pd.Series):
    """A column's values for a new frame: a text column as stored (``to_numpy`` would make a
    Python string per row, which the new frame turns back into this text column)."""
    return col.array if col.dtype == "str" else col.to_numpy()


def family_preference_matrix(
    jt: pd.DataFrame, hp: pd.DataFrame, tie_policy: str = "half"
) -> pd.DataFrame:
    """For each judge family x generator family: the judges' win rate for that generator family's
    answers, the humans' on the same pairs (where known), and the excess (judge - human).
    Pairs of two answers of one family are skipped (no preference between families)."""
    cols = ["item_id", "ra", "rb", "judge_family", "fam_a", "fam_b", "pick_a", "tie"]
    mixed = jt["parsed"].to_numpy(dtype=bool) & (jt["fam_a"] != jt["fam_b"]).to_numpy(dtype=bool)
    x = jt.loc[mixed, cols]  # the columns read, not the table
    if x.empty:
        return pd.DataFrame(
            columns=[
                "judge_family",
                "generator_family",
                "judge_win_rate",
                "human_win_rate",
                "excess",
                "n",
            ]
        )
    rows = []
    hx = _human_join(x, hp) if not hp.empty else None
    for side in ("a", "b"):
        target_a = np.full(len(x), side == "a")
        w = _win(x, target_a, tie_policy)
        rows.append(
            pd.DataFrame(
                {
                    "judge_family": _values(x["judge_family"]),
                    "generator_family": _values(x[f"fam_{side}"]),
                    "w": w,
                }
            )
        )
    long = pd.concat(rows, ignore_index=True).dropna(subset=["w"])
    out = (
        long.groupby(["judge_family", "generator_family"])
        .agg(judge_win_rate=("w", "mean"), n=("w", "size"))
        .reset_index()
    )
    if hx is not None and len(hx):
        hr = []
        for side in ("a", "b"):
            share = hx["share_a"].to_numpy(dtype=float)
            hr.append(
                pd.DataFrame(
                    {
                        "judge_family": _values(hx["judge_family"]),
                        "generator_family": _values(hx[f"fam_{side}"]),
                        "h": share if side == "a" else 1 - share,
                    }
                )
            )
        h = (
            pd.concat(hr, ignore_index=True)
            .groupby(["judge_family", "generator_family"])["h"]
            .mean()
            .rename("human_win_rate")
            .reset_index()
        )
        jx = []
        for side in ("a", "b"):
            jx.append(
                pd.DataFrame(
                    {
                        "judge_family": _values(hx["judge_family"]),
                        "generator_family": _values(hx[f"fam_{side}"]),
                        "w": _win(hx, np.full(len(hx), side == "a"), tie_policy),
                    }
                )
            )
        jh = (
            pd.concat(jx, ignore_index=True)
            .dropna()
            .groupby(["judge_family", "generator_family"])["w"]
            .mean()
            .rename("judge_win_rate_on_human_pairs")
            .reset_index()
        )
        out = out.merge(h, on=["judge_family", "generator_family"], how="left").merge(
            jh, on=["judge_family", "generator_family"], how="left"
        )
        out["excess"] = out["judge_win_rate_on_human_pairs"] - out["human_win_rate"]
    else:
        out["human_win_rate"] = np.nan
        out["excess"] = np.nan
    return out
