"""Self-preference: does a judge favour its own model / family beyond answer quality?

Definitions follow docs/statistics.md#self-preference. A judge J and a response's generator
G stand in one relation (:func:`judgelab.families.relation`): ``self`` (same model),
``family`` (same provider family, other model), ``lineage`` (declared derivation) or
``other``. The judge's family is the verdict frame's ``judge_family``; the response's
family is the dataset's ``responses.family`` (else resolved by judgelab.families).

A raw own-family win rate is confounded with quality (a better family deserves to win
more often), so the **primary** estimate compares judges *on the same pairs*: a
conditional logit pooled over the panel, stratified by pair and sharpness band, one row per
parsed non-tie judgment, with a = the pair's first response (ids sorted, so that every judge of the
panel shares the stratum)::

    logit P(J picks a) = alpha_pair,B + b_pos,J (2 first_a - 1) + b_self,J (self_a - self_b)
                         + b_fam,J (fam_a - fam_b) + b_lin,J (lin_a - lin_b)
                         + b_len,J (words_a - words_b) / 100

alpha_pair,B absorbs the quality of the pair as the judges of J's sharpness band B see it
(sharp judges, order consistency >= 0.85, compared with each other, the others with each
other: :func:`judgelab.stats.self_preference_logit.sharpness_bands`), so b_self,J is J's
preference for its own answers *relative to those judges* (log-odds). Columns that are
constant (e.g. no self pairs) or collinear with the strata (one judge's length term per
band: the sum over its judges of the length columns is constant within a stratum) are
dropped, with a reason. SEs are cluster-robust by item (judgelab.stats.models.conditional_logit:
sandwich with the per-pair scores summed by item). References: Chamberlain (1980),
"Analysis of covariance with qualitative data", REStud 47; Panickssery et al. (2024),
"LLM evaluators recognize and favor their own generations".

Descriptive companions (with their caveats): ``harmful_self_preference`` (Chen et al.
2025), ``own_family_win_rate_excess``, ``conditional_self_bias`` (Wataoka et al. 2024),
``length_bias`` and, for the single-score protocol, ``score_difference``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats._tidy import findings_frame
from judgelab.stats.multitest import ALPHA
from judgelab.stats.power import mde_wald
from judgelab.stats.self_preference_judgments import (
    human_pair_table,
    judgment_table,
    panel_families,
)
from judgelab.stats.self_preference_logit import (
    _TERM_ID,
    _conclude_logit,
    fit_self_preference_logit,
    logit_design,
    logit_findings,
)
from judgelab.stats.self_preference_pairs import (
    conditional_self_bias,
    family_preference_matrix,
    harmful_self_preference,
    human_joined,
    length_bias,
    own_family_win_rate_excess,
)
from judgelab.stats.self_preference_scores import score_difference

__all__ = [
    "SELF_PREFERENCE_IDS",
    "judgment_table",
    "human_pair_table",
    "logit_design",
    "fit_self_preference_logit",
    "logit_findings",
    "harmful_self_preference",
    "own_family_win_rate_excess",
    "conditional_self_bias",
    "length_bias",
    "score_difference",
    "family_preference_matrix",
    "panel_families",
    "self_preference_findings",
    "logit_conclusion",
    "LOGIT_IDS",
]

SELF_PREFERENCE_IDS = (
    "self_preference_logit",
    "family_preference_logit",
    "lineage_preference_logit",
    "harmful_self_preference",
    "own_family_win_rate_excess",
    "conditional_self_bias",
    "length_bias",
    "score_difference",
)

#: The conditional-logit terms' finding ids (their conclusions read the adjusted p-value).
LOGIT_IDS = tuple(_TERM_ID.values())


def self_preference_findings(
    verdicts: pd.DataFrame,
    dataset,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    alpha: float = ALPHA,
    tie_policy: str = "half",
    judgments: pd.DataFrame | None = None,
    coefficients: pd.DataFrame | None = None,
    human_pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every self-preference finding per judge identity (see the module docstring).

    Primary per judge: the conditional-logit self term, or the family term for a judge
    without self pairs. A single-family panel gives the logit findings estimate None with the
    reason that preference cannot be separated from quality. Extra columns: ``se``, ``mde``
    (the Wald minimum detectable |log-odds| at ``alpha``, on every primary term with an
    estimate), ``judge_family``. The findings are not yet adjusted for multiple testing: the
    save step (:func:`judgelab.findings.save_findings`, or :func:`judgelab.findings.adjust`
    then :func:`judgelab.findings.render_conclusions`) Holm-adjusts the primary terms across
    judges once, keeps ``mde`` only beside a non-significant one and writes the logit terms'
    conclusions from the adjusted p-values (:func:`logit_conclusion`).

    ``judgments`` (:func:`judgment_table` of the pairwise verdicts) and ``coefficients``
    (:func:`fit_self_preference_logit` of it) may be passed when the caller already has them
    (the notebook draws the forest plot from the same fit), so that neither is computed twice;
    likewise ``human_pairs`` (:func:`human_pair_table` of ``dataset``)."""
    rows: list[dict] = []
    pw = verdicts
    if "protocol" in verdicts.columns:
        # compared as stored (an object copy of a million values took 0.2 s)
        pw = verdicts[(verdicts["protocol"] == "pairwise").to_numpy(dtype=bool, na_value=False)]
    if len(pw):
        hp = human_pair_table(dataset) if human_pairs is None else human_pairs
        jt = judgment_table(pw, dataset, hp) if judgments is None else judgments
        coefs = fit_self_preference_logit(jt) if coefficients is None else coefficients
        rows += _pairwise_rows(jt, coefs, hp, n_boot, seed, ci_level, tie_policy)
    rows += score_difference(verdicts, dataset, n_boot, seed + 99991, ci_level)
    df = findings_frame(rows)
    if df.empty:
        return df
    return _with_detectable_effects_and_reasons(df, alpha)


def _pairwise_rows(jt, coefs, hp, n_boot, seed, ci_level, tie_policy) -> list[dict]:
    """The logit findings, then per judge (a seed stream each) the descriptive findings
    (``hp``: the human pair table)."""
    info = {
        j: {"judge_family": f}
        for j, f in jt.drop_duplicates("judge")[["judge", "judge_family"]].itertuples(index=False)
    }
    rows = logit_findings(coefs, info)
    joined = human_joined(jt, hp)  # once for the panel, read by each judge's statistics
    for k, j in enumerate(sorted(jt["judge"].unique())):
        s = seed + 7919 * k
        rows.append(harmful_self_preference(jt, j, n_boot, s, ci_level, info[j]))
        rows.append(
            own_family_win_rate_excess(
                jt, hp, j, n_boot, s + 1, ci_level, tie_policy, info[j], joined=joined
            )
        )
        rows.append(
            conditional_self_bias(jt, hp, j, n_boot, s + 2, ci_level, info[j], joined=joined)
        )
        rows.append(length_bias(jt, hp, j, n_boot, s + 3, ci_level, info[j], joined=joined))
    return rows


def _with_detectable_effects_and_reasons(df: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The logit terms' minimum detectable |log-odds| (80% power, Wald) on every primary
    term with an estimate (the save step keeps it only beside a non-significant one), and
    ``Not estimated: <reason>.`` as the conclusion of a descriptive row without one."""
    mde, concl = [], []
    for _, r in df.iterrows():
        r = r.to_dict()
        m = None
        if r["id"] in LOGIT_IDS:
            if r["primary"] and r["estimate"] is not None:
                m = mde_wald(r.get("se"), alpha=alpha)
                m = float(m) if np.isfinite(m) else None
            concl.append(r["conclusion"])
        else:
            concl.append(
                r["conclusion"]
                if r["conclusion"]
                else (f"Not estimated: {r['reason']}." if r["estimate"] is None else None)
            )
        mde.append(m)
    df["mde"] = mde
    df["conclusion"] = concl
    return df


def logit_conclusion(row) -> str:
    """The conclusion of a conditional-logit term's row (:data:`LOGIT_IDS`) from its adjusted
    p-value (a finding row after :func:`judgelab.findings.adjust`; the study's renderer, run
    by the save step)."""
    return _conclude_logit(row, ALPHA)
