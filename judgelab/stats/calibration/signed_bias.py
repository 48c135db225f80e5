"""Signed bias of a judge per candidate family (docs/statistics.md#calibration-audit).

Per candidate family: judge minus human win rate (pairs; corrected for the judge's
attenuation, :func:`attenuation_residual`) or mean judge minus median human score (scores);
primary per judge: the largest absolute family bias, its sign-flip p Holm-adjusted across the
judge's families.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats import multitest
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.calibration._common import (
    Resampling,
    coded_pair_win_shares,
    lookup_codes,
    result_row,
)
from judgelab.stats.calibration.units import HumanData, JudgeUnits, class_judge_units
from judgelab.stats.power import minimum_detectable_effect
from judgelab.stats.resampling import sign_flip_test


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
    """Signed bias of one judge per candidate family (docs/statistics.md).

    Pairs: the judge's minus the humans' win rate of family f's responses on the same pairs
    (pairs where both responses are from f carry no information and are skipped; ties per
    ``tie_policy`` for win rates: class = not a win, half, drop). Scores: mean(judge score -
    median human score) over f's responses. Item-cluster bootstrap CI of (sum of
    differences, count) per item; a sign-flip permutation p of the per-item sums of
    differences (:func:`sign_flip_test`). **Primary** per judge: the family with the
    largest absolute bias, its p Holm-adjusted across the judge's families (so the
    study-level Holm over judges starts from a selection-adjusted p). Non-significant
    primary rows carry the minimum detectable bias (80% power, alpha 0.05) in ``mde``.

    Pairs: judge noise attenuates win rates toward 0.5, so the raw difference of docs/statistics.md
    makes an unbiased but noisy judge look biased against the best family and for the worst
    (a null panel was flagged for every judge). The estimate is therefore the raw difference
    corrected for the judge's attenuation (:func:`attenuation_residual`); the raw difference
    is kept in ``raw_difference``. Scores: the raw difference, not corrected.
    """
    ctx = Resampling(n_boot, seed, ci_level)
    humans = HumanData.of(dataset, protocol)
    fam = humans.lookup("family")
    if protocol == "pairwise":
        ju = class_judge_units(verdicts, order_aggregation)
        recs = []
        for side in (0, 1):
            # shared: read, not modified; its responses as codes into resp_ids
            both, lo, hi, resp_ids, *_ = coded_pair_win_shares(ju, humans, side, tie_policy)
            fam_of = lookup_codes(ju.memo, fam, resp_ids)  # each distinct id looked up once
            resp, other = (fam_of[lo], fam_of[hi]) if side == 0 else (fam_of[hi], fam_of[lo])
            # a pair within one family carries no information; an unknown family (nan) is
            # never equal to another (as nan != nan), so those rows stay and drop out below
            keep = (resp != other) | (resp < 0)
            both = both[keep].assign(family=fam.names_of(resp[keep]))
            both["raw"] = both["judge"] - both["human"]
            recs.append(both[["item_id", "family", "judge", "human", "raw"]])
        d = pd.concat(recs, ignore_index=True)
        d["diff"] = attenuation_residual(
            d["judge"].to_numpy(float), d["human"].to_numpy(float), d["family"].to_numpy()
        )
        method = (
            "judge win rate of the family's responses minus the rate expected from the human "
            "win rate on the same pairs given the judge's overall attenuation (OLS of judge on "
            f"human win rate over all families; raw difference in raw_difference) (tie_policy={tie_policy}, {order_aggregation})"
        )
    else:
        units = JudgeUnits.of(verdicts, "single").units
        d = units.merge(humans.median_scores, left_on="response_id", right_index=True)
        d["family"] = fam.names_of(fam.codes(d["response_id"].to_numpy()))
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
            result_row(
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
            r["mde"] = float(minimum_detectable_effect(se=r["boot_se"], alpha=0.05, power=0.8))
            r["conclusion"] += f"; minimum detectable bias {r['mde']:.3f} (80% power, alpha 0.05)"
    return findings_frame(rows)


def attenuation_residual(judge: np.ndarray, human: np.ndarray, family: np.ndarray) -> np.ndarray:
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
