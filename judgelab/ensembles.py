"""Judge ensembles: majority, weighted and unanimity votes, the review queue, and the
composition policy (docs/design.md idea 3: independence is the point of an ensemble).

All aggregation works on a :class:`judgelab.stats.units.UnitMatrix` (units x judges,
pairwise verdict codes 0 = ``a`` (response_a wins), 1 = ``b``, 2 = tie; nan = no parsed
verdict), so the unit of analysis is the one ``order_aggregation`` defines there.

The votes (``majority``, ``weighted``, ``unanimity``, ``vote_share``) live in
:mod:`judgelab.stats.votes`; this module composes them into ensembles.

- :func:`~judgelab.stats.votes.majority`: plurality of the members' parsed votes; a split vote (two or more
  verdicts share the top count) is a tie (or undecided under ``tie_policy="drop"``).
- :func:`~judgelab.stats.votes.weighted`: the same with weights; :func:`fit_weights` sets w_j = max(0, kappa_j)
  where kappa_j is judge j's Cohen kappa against the human majority label on a seeded
  50% *calibration* split of items (:func:`calibration_split`); accuracy is reported on
  the other half only, so the weights never see the units they are scored on.
- :func:`~judgelab.stats.votes.unanimity`: decided when every member parsed and all agree; every other unit goes
  to the human-review queue (:func:`review_queue`; the caller writes it).
- :func:`~judgelab.stats.votes.vote_share`: per unit the ensemble verdict, the winning share of the (weighted)
  vote and a ``low_margin`` flag below a threshold, reusable by the calibration audit's
  escalation queue and the judge-comparison cascade (docs/design.md#low-margin-cases).

Findings (:func:`ensemble_findings`, definitions in docs/statistics.md#family-entanglement):
``ensemble_accuracy`` per ensemble, ``ensemble_coverage`` (unanimity),
``ensemble_accuracy_difference`` (**primary**: cross-family minus same-family majority
accuracy of equal size, paired on the same units, item-cluster bootstrap CI) and
``outlier_rate`` per judge (the share of disagreement units where it alone dissents).
"""

from __future__ import annotations

import itertools
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab import families as families_mod
from judgelab.identity import JudgeIdentity, model_of
from judgelab.stats import reference as refs
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement import kappa_from_codes
from judgelab.stats.entanglement import REFERENCE_MIN_RATERS, given_reference, reference_labels
from judgelab.stats.power import bootstrap_mde
from judgelab.stats.queue import escalation_queue
from judgelab.stats.resampling import cluster_bootstrap
from judgelab.stats.units import CLASSES, UnitMatrix, member_mask, unit_matrix
from judgelab.stats.votes import (
    majority,
    member_indices,
    unanimity,
    weighted,
)

__all__ = [
    "CompositionError",
    "CompositionWarning",
    "check_composition",
    "calibration_split",
    "fit_weights",
    "review_queue",
    "outlier_counts",
    "EnsembleReport",
    "ensemble_findings",
    "same_and_cross_family",
]


# ---------------------------------------------------------------------------------------
# composition policy
# ---------------------------------------------------------------------------------------


class CompositionError(ValueError):
    """An ensemble that the composition policy refuses for the stated purpose."""


class CompositionWarning(UserWarning):
    """An ensemble that is allowed but whose composition deserves attention."""


def _family_of_judge(j) -> tuple[str, str | None]:
    """(label, family) of a Judge, a mapping of Judge fields, an identity string or a model."""
    if hasattr(j, "model") and hasattr(j, "family"):
        return str(j.model), j.family or families_mod.family_of(j.model)
    if isinstance(j, Mapping):
        model = j.get("model") or j.get("name")
        fam = j.get("family") or j.get("judge_family") or (j.get("sim") or {}).get("family")
        return str(model), fam or families_mod.family_of(model)
    model = model_of(j)
    return model, families_mod.family_of(model)


def check_composition(
    judges: Sequence,
    candidate_models: Sequence[str] | str | None = None,
    purpose: str = "launch",
    families: Mapping[str, str] | None = None,
) -> dict:
    """Apply the ensemble composition policy; return a summary dict.

    - ``purpose="launch"`` (an ensemble whose verdict gates a launch decision): an
      ensemble whose judges all come from **one family** is refused with
      :class:`CompositionError` (its agreement is consistency, not validity).
    - For every candidate model (the models being evaluated), when the candidate's family
      is **not a minority** of the ensemble (its judges are half or more), a
      :class:`CompositionWarning` says so: those judges may prefer their own family's
      answers (self-preference) and share its blind spots.
    - Judges of unknown family are warned about (their independence cannot be checked).

    ``judges``: Judge objects, mappings of Judge fields, identity strings or model
    strings; ``families`` maps a judge model or identity to a family (overrides).
    Returns ``{"families": {family: n}, "n_judges", "candidates": {model: {"family",
    "share"}}, "warnings": [...]}``.
    """
    if isinstance(candidate_models, str):
        candidate_models = [candidate_models]
    candidate_models = list(candidate_models or [])
    judges = list(judges)
    if not judges:
        raise CompositionError("an ensemble needs at least one judge")
    fams: list[str | None] = []
    labels = []
    for j in judges:
        label, fam = _family_of_judge(j)
        if families:
            fam = families.get(str(j), families.get(label, fam))
        labels.append(label)
        fams.append(fam)
    messages: list[str] = []
    unknown = [lab for lab, f in zip(labels, fams, strict=True) if f is None]
    if unknown:
        messages.append(
            f"family unknown for judges {unknown}: their independence cannot be checked"
        )
    known = [f for f in fams if f is not None]
    counts = Counter(known)
    if purpose == "launch" and len(counts) == 1 and not unknown:
        fam = next(iter(counts))
        raise CompositionError(
            f"refused: every judge of this ensemble ({len(judges)}) is from family '{fam}'. "
            "Same-family judges share blind spots, so their agreement is consistency, not validity; "
            "a launch decision needs judges from at least two families (add a judge of another family, "
            "or pass purpose='exploration' to analyse without gating a launch)."
        )
    cand = {}
    for c in candidate_models:
        cf = (families or {}).get(c) or families_mod.family_of(c)
        share = (counts.get(cf, 0) / len(judges)) if cf is not None else None
        cand[c] = {"family": cf, "share": share}
        if cf is None:
            messages.append(
                f"family of candidate {c!r} unknown: cannot check that it is a minority of the ensemble"
            )
        elif share >= 0.5:
            messages.append(
                f"candidate {c!r} is from family '{cf}', which makes up {share:.0%} of the ensemble "
                f"({counts[cf]} of {len(judges)} judges): not a minority; those judges may favour their "
                "own family's answers. Prefer judges from other families."
            )
    for msg in messages:
        warnings.warn(msg, CompositionWarning, stacklevel=2)
    return {
        "families": dict(counts),
        "n_judges": len(judges),
        "candidates": cand,
        "warnings": messages,
    }


# ---------------------------------------------------------------------------------------
# weights on a calibration split
# ---------------------------------------------------------------------------------------


def calibration_split(um: UnitMatrix, seed: int = 0, share: float = 0.5) -> np.ndarray:
    """Boolean per unit: True for units of the seeded calibration half of *items*
    (items, not units, are split, so both orders of a pair fall on one side)."""
    items = np.asarray(pd.unique(um.units["item_id"]))
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(items))
    return member_mask(um.units["item_id"], items[perm[: int(round(share * len(items)))]])


#: The human label the weighted vote's weights are fitted against (declared;
#: :func:`judgelab.stats.reference.reference_labels`): the strict majority of the raters.
WEIGHT_REFERENCE = "majority"


def _human_codes(um: UnitMatrix, dataset) -> np.ndarray:
    """The :data:`WEIGHT_REFERENCE` label code of each unit (nan: none)."""
    votes = refs.coded_votes(getattr(dataset, "preferences", None))
    ref, _, _ = refs.reference_labels(votes, rule=WEIGHT_REFERENCE)
    key = ["item_id", "lo", "hi"]
    units = um.units[["item_id", "response_a", "response_b"]].set_axis(key, axis=1)
    m = units.merge(ref[[*key, "ref"]].astype({"ref": float}), on=key, how="left")
    ref = m["ref"].to_numpy(dtype=float)
    if um.tie_policy == "drop":
        ref = np.where(ref == 2, np.nan, ref)
    return ref


def fit_weights(
    um: UnitMatrix, human: np.ndarray, calibration: np.ndarray, members=None
) -> dict[str, float]:
    """w_j = max(0, Cohen kappa of judge j vs the human label) on the calibration units only."""
    out = {}
    for k in member_indices(um, members):
        kap = kappa_from_codes(um.values[calibration, k], human[calibration], len(CLASSES))
        out[um.judges[k]] = max(0.0, kap) if np.isfinite(kap) else 0.0
    return out


# ---------------------------------------------------------------------------------------
# review queue and outliers
# ---------------------------------------------------------------------------------------


def review_queue(um: UnitMatrix, members=None) -> pd.DataFrame:
    """Every unit the unanimity ensemble does not decide, for human review (the caller
    writes it, e.g. ``review_queue.csv``): :func:`judgelab.stats.queue.escalation_queue` of
    the panel's unit matrix with a vote-share threshold of 1 (columns: the unit columns,
    ``reason`` ``disagreement`` or ``missing verdict``, ``votes_a, votes_b, votes_tie``,
    ``vote_share`` and one column per member with its verdict)."""
    return escalation_queue(um, vote_share_threshold=1.0, members=members)


def outlier_counts(um: UnitMatrix, members=None) -> tuple[np.ndarray, np.ndarray]:
    """Per unit and member: (disagreement unit where the judge voted, judge alone dissents).

    A disagreement unit has at least 3 parsed votes that are not all equal; the judge
    alone dissents when every other parsed vote is the same and its vote differs."""
    idx = member_indices(um, members)
    vals = um.values[:, idx]
    parsed = ~np.isnan(vals)
    n = parsed.sum(axis=1)
    oh = (vals[:, :, None] == np.arange(len(CLASSES))[None, None, :]).astype(int)
    counts = oh.sum(axis=1)  # (U, K)
    disagree = (n >= 3) & (counts.max(axis=1) < n)
    own = np.where(parsed, np.take_along_axis(counts, np.nan_to_num(vals).astype(int), axis=1), 0)
    # others all agree on one value and the judge's value is alone: count of own = 1 and
    # some other value holds n - 1 votes
    alone = (
        parsed & (own == 1) & (counts.max(axis=1)[:, None] == (n - 1)[:, None]) & disagree[:, None]
    )
    return (disagree[:, None] & parsed), alone


# ---------------------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------------------


def same_and_cross_family(
    um: UnitMatrix, size: int | None = None, max_combos: int = 200, seed: int = 0
) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], int]:
    """Same-family and cross-family ensembles of equal ``size`` (member indices).

    Default size = min(smallest family with >= 2 judges, number of families). Same-family:
    every ``size``-subset of each family; cross-family: every ``size``-subset with all
    members from different families (at most ``max_combos``, a seeded sample). With
    3 families of 3 judges every judge sits in one same-family and 9 of the 27
    cross-family ensembles, so both sides weigh every judge equally."""
    fam_idx: dict[str, list[int]] = {}
    for k, f in enumerate(um.families):
        if f is not None:
            fam_idx.setdefault(f, []).append(k)
    big = [len(v) for v in fam_idx.values() if len(v) >= 2]
    if not big or len(fam_idx) < 2:
        return [], [], 0
    if size is None:
        size = min(min(big), len(fam_idx))
    same = [c for v in fam_idx.values() if len(v) >= size for c in itertools.combinations(v, size)]
    cross: list[tuple[int, ...]] = []
    for fams in itertools.combinations(sorted(fam_idx), size):
        cross += list(itertools.product(*[fam_idx[f] for f in fams]))
    rng = np.random.default_rng(seed)
    if len(cross) > max_combos:
        cross = [cross[i] for i in sorted(rng.choice(len(cross), max_combos, replace=False))]
    if len(same) > max_combos:
        same = [same[i] for i in sorted(rng.choice(len(same), max_combos, replace=False))]
    return same, cross, size


@dataclass
class EnsembleReport:
    """Everything the notebook shows about ensembles."""

    findings: pd.DataFrame
    review_queue: pd.DataFrame
    agreement: pd.DataFrame  # per ensemble: inter-judge kappa beside ensemble-vs-human kappa
    weights: dict[str, float]
    per_unit_correct: pd.DataFrame = field(default_factory=pd.DataFrame)
    reference_source: str = ""


def _ratio_boot(num: np.ndarray, den: np.ndarray, item_index: np.ndarray, n_items: int, boot: dict):
    S = np.zeros((n_items, 2))
    np.add.at(S, (item_index, 0), num)
    np.add.at(S, (item_index, 1), den)
    S = S[S[:, 1] > 0] if (S[:, 1] > 0).any() else S

    def stat(T):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(T[:, 1] > 0, T[:, 0] / T[:, 1], np.nan)

    return cluster_bootstrap(S, stat, method="percentile", **boot)


def _kappa_or_none(x: np.ndarray, y: np.ndarray) -> float | None:
    k = kappa_from_codes(x, y, len(CLASSES))
    return k if np.isfinite(k) else None


def _mean_pairwise_kappa(um: UnitMatrix, idx) -> float | None:
    ks = [
        _kappa_or_none(um.values[:, i], um.values[:, j]) for i, j in itertools.combinations(idx, 2)
    ]
    ks = [k for k in ks if k is not None]
    return float(np.mean(ks)) if ks else None


def _fmt_acc(name, res) -> str:
    if res.estimate is None:
        return f"Undefined: {res.reason}."
    ci = f" (95% CI {res.ci_low:.1%} to {res.ci_high:.1%})" if res.ci_low is not None else ""
    return f"Ensemble '{name}' matches the reference on {res.estimate:.1%} of units{ci}."


@dataclass
class EnsemblePanel:
    """What every ensemble finding reads: the units, the reference and human labels, the
    bootstrap settings; accuracy rows add their per-unit correctness and agreement here."""

    um: UnitMatrix
    ref: np.ndarray
    ref_src: str
    human: np.ndarray
    boot: dict
    seed: int
    alpha: float
    per_unit: pd.DataFrame
    agreement_rows: list[dict] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def ref_ok(self) -> np.ndarray:
        return ~np.isnan(self.ref)

    @property
    def all_units(self) -> np.ndarray:
        return np.ones(len(self.um.units), dtype=bool)

    def ratio_boot(self, num: np.ndarray, den: np.ndarray):
        return _ratio_boot(num, den, self.um.item_index, self.um.n_items, self.boot)


def _accuracy_row(
    pn: EnsemblePanel, name, verdict, mask, method, extra=None, judges_idx=None
) -> dict:
    """An ``ensemble_accuracy`` row; records the per-unit correctness and the agreement
    table row (inter-judge kappa beside ensemble-vs-human kappa)."""
    ref = pn.ref
    use = mask & pn.ref_ok & ~np.isnan(verdict)
    correct = (verdict == ref).astype(float)
    pn.per_unit[name] = np.where(use, correct, np.nan)
    res = pn.ratio_boot(np.where(use, correct, 0.0), use.astype(float))
    inter = _mean_pairwise_kappa(pn.um, judges_idx) if judges_idx is not None else None
    vs_h = _kappa_or_none(np.where(mask, verdict, np.nan), pn.human)
    pn.agreement_rows.append(
        {
            "ensemble": name,
            "members": len(judges_idx or []),
            "inter_judge_kappa": inter,
            "ensemble_vs_human_kappa": vs_h,
            "accuracy": res.estimate,
            "n_units": int(use.sum()),
        }
    )
    concl = (
        f"Ensemble '{name}' matches the reference on {res.estimate:.1%} of units"
        + (f" (95% CI {res.ci_low:.1%} to {res.ci_high:.1%})" if res.ci_low is not None else "")
        + (
            f"; its judges agree with each other at kappa {inter:.2f} but with humans at kappa {vs_h:.2f}."
            if inter is not None and vs_h is not None
            else "."
        )
        if res.estimate is not None
        else f"Undefined: {res.reason}."
    )
    return finding(
        "ensemble_accuracy",
        slice={"ensemble": name},
        n=int(use.sum()),
        n_excluded=int((mask & ~use).sum()),
        conclusion=concl,
        inter_judge_kappa=inter,
        ensemble_vs_human_kappa=vs_h,
        **{
            **res.finding_kwargs(),
            "method": f"{method}; accuracy vs {pn.ref_src}; {res.method}",
        },
        **(extra or {}),
    )


def majority_accuracy_rows(pn: EnsemblePanel) -> list[dict]:
    """``ensemble_accuracy`` of the plurality vote of all judges."""
    idx_all = list(range(len(pn.um.judges)))
    return [
        _accuracy_row(pn, "majority: all judges", majority(pn.um), pn.all_units,
                      "plurality vote (split vote = tie)", judges_idx=idx_all)
    ]  # fmt: skip


def weighted_accuracy_rows(pn: EnsemblePanel, calibration_share: float) -> list[dict]:
    """``ensemble_accuracy`` of the weighted vote: weights fitted on a seeded calibration
    half of the items, accuracy on the held-out half only (sets ``pn.weights``)."""
    um, ref, ref_ok = pn.um, pn.ref, pn.ref_ok
    cal = calibration_split(um, seed=pn.seed, share=calibration_share)
    pn.weights = weights = fit_weights(um, pn.human, cal)
    name = "weighted: all judges (held-out half)"
    if sum(weights.values()) <= 0:
        return [
            finding(
                "ensemble_accuracy",
                None,
                slice={"ensemble": name},
                reason="every judge's kappa against humans on the calibration split is <= 0: no weights",
            )
        ]
    held_out = ~cal & ref_ok
    same_units = (
        float(np.nanmean(np.where(held_out, (majority(um) == ref).astype(float), np.nan)))
        if held_out.any()
        else None
    )
    return [
        _accuracy_row(
            pn,
            name,
            weighted(um, weights),
            ~cal,
            f"weighted plurality, w = max(0, kappa vs human majority) fitted on a seeded {calibration_share:.0%} "
            "calibration split of items; scored on the held-out items only",
            extra={"weights": weights, "majority_accuracy_same_units": same_units},
            judges_idx=list(range(len(um.judges))),
        )
    ]


def unanimity_accuracy_rows(pn: EnsemblePanel) -> list[dict]:
    """``ensemble_accuracy`` of the unanimous vote on the units it decides."""
    uv, decided = unanimity(pn.um)
    return [
        _accuracy_row(pn, "unanimity: all judges (decided units)", uv, decided,
                      "unanimous vote; undecided units go to review",
                      judges_idx=list(range(len(pn.um.judges))))
    ]  # fmt: skip


def ensemble_coverage_rows(
    pn: EnsemblePanel, n_review: int, review_queue_path: str | Path | None = None
) -> list[dict]:
    """``ensemble_coverage``: the share of units the unanimous panel decides."""
    _, decided = unanimity(pn.um)
    cov = pn.ratio_boot(decided.astype(float), np.ones(len(decided)))
    return [
        finding(
            "ensemble_coverage",
            slice={"ensemble": "unanimity: all judges"},
            n=len(decided),
            n_excluded=0,
            n_review=n_review,
            review_queue=str(review_queue_path) if review_queue_path else None,
            conclusion=(
                f"The unanimous panel decides {cov.estimate:.1%} of units; {n_review} units go to human review."
                if cov.estimate is not None
                else f"Undefined: {cov.reason}."
            ),
            **{
                **cov.finding_kwargs(),
                "method": f"share of units where all judges parsed and agree; {cov.method}",
            },
        )
    ]


def same_family_accuracy_rows(pn: EnsemblePanel, same, k: int) -> list[dict]:
    """``ensemble_accuracy`` of each same-family ensemble of size ``k``."""
    um, rows = pn.um, []
    for fam in sorted({f for f in um.families if f is not None}):
        ens = [c for c in same if um.families[c[0]] == fam]
        for c in ens[:1] if len(ens) == 1 else ens:
            label = f"same-family {fam}: " + ", ".join(
                JudgeIdentity.parse(um.judges[i]).display_model for i in c
            )
            rows.append(
                _accuracy_row(pn, label, majority(um, list(c)), pn.all_units,
                              f"plurality vote of {k} judges of family {fam}", judges_idx=list(c))
            )  # fmt: skip
    return rows


@dataclass
class _FamilyContrast:
    """Per-unit correctness averaged over same- and over cross-family ensembles of size k,
    on the units where every pooled judge parsed and a reference exists."""

    same: list
    cross: list
    k: int
    complete: np.ndarray
    same_correct: np.ndarray
    cross_correct: np.ndarray
    # per unit, how many of the same- / cross-family ensembles are correct (integers: the
    # bootstrap's products of them are exact on every CPU, see ensemble_accuracy_difference_rows)
    same_hits: np.ndarray
    cross_hits: np.ndarray


def _family_contrast(pn: EnsemblePanel, same, cross, k) -> _FamilyContrast:
    um, ref = pn.um, pn.ref
    pool = sorted({i for c in same + cross for i in c})
    complete = ~np.isnan(um.values[:, pool]).any(axis=1) & pn.ref_ok
    s_each = [(majority(um, list(c)) == ref).astype(float) for c in same]
    c_each = [(majority(um, list(c)) == ref).astype(float) for c in cross]
    s_corr, c_corr = np.mean(s_each, axis=0), np.mean(c_each, axis=0)
    pn.per_unit["same_family_mean"] = np.where(complete, s_corr, np.nan)
    pn.per_unit["cross_family_mean"] = np.where(complete, c_corr, np.nan)
    return _FamilyContrast(
        same, cross, k, complete, s_corr, c_corr, np.sum(s_each, axis=0), np.sum(c_each, axis=0)
    )


def family_mean_accuracy_rows(pn: EnsemblePanel, fc: _FamilyContrast) -> list[dict]:
    """``ensemble_accuracy`` of the mean cross-family and mean same-family ensemble."""
    rows, complete = [], fc.complete
    for name, corr in (
        (f"cross-family: mean of {len(fc.cross)} ensembles of {fc.k}", fc.cross_correct),
        (f"same-family: mean of {len(fc.same)} ensembles of {fc.k}", fc.same_correct),
    ):
        res_m = pn.ratio_boot(np.where(complete, corr, 0.0), complete.astype(float))
        rows.append(
            finding(
                "ensemble_accuracy",
                slice={"ensemble": name},
                n=int(complete.sum()),
                n_excluded=int((~complete).sum()),
                conclusion=_fmt_acc(name, res_m),
                **{
                    **res_m.finding_kwargs(),
                    "method": f"mean over ensembles of the plurality vote's accuracy vs {pn.ref_src}; {res_m.method}",
                },
            )
        )
    return rows


def _difference_conclusion(res, k: int, extra: dict, alpha: float) -> str:
    if res.ci_low is not None and res.ci_low > 0:
        return (
            f"Cross-family ensembles of {k} are more accurate than same-family ones by "
            f"{res.estimate:.1%} (95% CI {res.ci_low:.1%} to {res.ci_high:.1%}): spread judges over families."
        )
    if res.ci_high is not None and res.ci_high < 0:
        return (
            f"Same-family ensembles of {k} are more accurate here by {-res.estimate:.1%} "
            f"(95% CI {-res.ci_high:.1%} to {-res.ci_low:.1%})."
        )
    extra["mde"] = bootstrap_mde(res, alpha)
    return (
        f"No clear accuracy difference between cross- and same-family ensembles of {k}: "
        f"{res.estimate:+.1%}"
        + (
            f" (95% CI {res.ci_low:+.1%} to {res.ci_high:+.1%})"
            if res.ci_low is not None
            else f" ({res.reason})"
        )
        + (
            f"; detectable with 80% power: about {extra['mde']:.1%}."
            if extra["mde"] is not None
            else "."
        )
    )


def ensemble_accuracy_difference_rows(pn: EnsemblePanel, fc: _FamilyContrast) -> list[dict]:
    """``ensemble_accuracy_difference`` (primary): cross- minus same-family majority
    accuracy, paired on the same units, item-cluster bootstrap CI and p."""
    um, complete, k = pn.um, fc.complete, fc.k
    item_index = um.item_index
    # per item: correct cross-family ensembles, correct same-family ensembles, units. Counts,
    # not means over the ensembles: a mean like 1/3 makes the resample totals depend on the
    # CPU's BLAS kernel in the last bit, and a resample whose two accuracies are equal then
    # reads as a tiny difference of either sign, moving the p-value (seen: 6/201 on AVX2,
    # 8/201 on AVX-512). Integer totals are exact everywhere; equal accuracies give 0 exactly.
    n_cross, n_same = len(fc.cross), len(fc.same)
    S = np.zeros((um.n_items, 3))
    np.add.at(S, (item_index, 0), np.where(complete, fc.cross_hits, 0.0))
    np.add.at(S, (item_index, 1), np.where(complete, fc.same_hits, 0.0))
    np.add.at(S, (item_index, 2), complete.astype(float))
    S = S[S[:, 2] > 0]

    def diff(T):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(T[:, 2] > 0, (T[:, 0] / n_cross - T[:, 1] / n_same) / T[:, 2], np.nan)

    res = cluster_bootstrap(S, diff, method="percentile", **pn.boot)
    extra = {
        "ensemble_size": k,
        "n_same_family_ensembles": len(fc.same),
        "n_cross_family_ensembles": len(fc.cross),
        "accuracy_same_family": float(fc.same_correct[complete].mean()) if complete.any() else None,
        "accuracy_cross_family": float(fc.cross_correct[complete].mean())
        if complete.any()
        else None,
    }
    if res.estimate is None:
        return [
            finding("ensemble_accuracy_difference", None, primary=True, reason=res.reason, **extra)
        ]
    kw = res.finding_kwargs()
    kw["method"] = (
        f"cross-family minus same-family majority accuracy, ensembles of {k}, each side the mean over "
        f"its ensembles ({len(fc.cross)} cross, {len(fc.same)} same), paired on the same units; vs {pn.ref_src}; "
        f"{res.method}; p from the bootstrap distribution"
    )
    concl = _difference_conclusion(res, k, extra, pn.alpha)
    return [
        finding(
            "ensemble_accuracy_difference",
            statistic=res.estimate,
            p_value=res.p_value(0.0),
            primary=True,
            slice={"ensemble": f"cross-family vs same-family, size {k}"},
            n=int(complete.sum()),
            n_excluded=int((~complete).sum()),
            conclusion=concl,
            **kw,
            **extra,
        )
    ]


def outlier_rate_rows(pn: EnsemblePanel) -> list[dict]:
    """``outlier_rate`` per judge: lone dissents / disagreement units."""
    um, rows = pn.um, []
    dis, alone = outlier_counts(um)
    for kj, j in enumerate(um.judges):
        res = pn.ratio_boot(alone[:, kj].astype(float), dis[:, kj].astype(float))
        rows.append(
            finding(
                "outlier_rate",
                judge=j,
                n=int(dis[:, kj].sum()),
                n_excluded=None,
                conclusion=(
                    f"On {res.estimate:.1%} of the units where the panel disagrees, this judge is the lone dissenter."
                    if res.estimate is not None
                    else f"Undefined: {res.reason or 'no disagreement units'}."
                ),
                **{
                    **res.finding_kwargs(),
                    "method": f"lone dissents / disagreement units (>= 3 parsed votes, not unanimous); {res.method}",
                    "reason": res.reason
                    if res.estimate is not None
                    else (res.reason or "no disagreement units"),
                },
            )
        )
    return rows


def ensemble_findings(
    verdicts: pd.DataFrame | UnitMatrix,
    dataset,
    *,
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    reference: str = "auto",
    families: dict[str, str] | None = None,
    members: Sequence[str] | None = None,
    size: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    calibration_share: float = 0.5,
    review_queue_path: str | Path | None = None,
    min_raters: int = REFERENCE_MIN_RATERS,
    alpha: float = 0.05,
    ref: tuple[np.ndarray, str] | None = None,
) -> EnsembleReport:
    """Ensemble findings on the panel (docs/statistics.md#family-entanglement, ensembles).

    Accuracy is agreement with the study reference (truth where known, else unanimous
    humans; :func:`judgelab.stats.entanglement.reference_labels`); the weighted vote's
    weights are fitted against the human majority label on the calibration half of the
    items and its accuracy is computed on the other half only. ``members`` restricts the
    panel. Returns an :class:`EnsembleReport` (findings, review queue, agreement table,
    weights). The review queue is returned, not written: ``review_queue_path`` only names
    where the caller writes it (recorded in the ``ensemble_coverage`` finding). ``ref``:
    :func:`~judgelab.stats.entanglement.reference_labels` of (the panel's unit matrix,
    ``dataset``, ``reference``, ``min_raters``) when the caller has it, so that it is not
    built again.
    """
    um = (
        verdicts
        if isinstance(verdicts, UnitMatrix)
        else unit_matrix(
            verdicts, order_aggregation=order_aggregation, tie_policy=tie_policy, families=families
        )
    )
    if members is not None:
        um = um.subset(list(members))
    ref, ref_src = given_reference(um, ref) or reference_labels(
        um, dataset, reference, min_raters=min_raters
    )
    pn = EnsemblePanel(
        um, ref, ref_src, _human_codes(um, dataset),
        {"n_boot": n_boot, "seed": seed, "ci_level": ci_level}, seed, alpha,
        pd.DataFrame(index=range(len(um.units))),
    )  # fmt: skip
    rows = majority_accuracy_rows(pn)
    rows += weighted_accuracy_rows(pn, calibration_share)
    rows += unanimity_accuracy_rows(pn)
    queue = review_queue(um)
    rows += ensemble_coverage_rows(pn, len(queue), review_queue_path)
    same, cross, k = same_and_cross_family(um, size=size, seed=seed)
    rows += same_family_accuracy_rows(pn, same, k)
    if same and cross:
        fc = _family_contrast(pn, same, cross, k)
        rows += family_mean_accuracy_rows(pn, fc)
        rows += ensemble_accuracy_difference_rows(pn, fc)
    else:
        rows.append(
            finding(
                "ensemble_accuracy_difference",
                None,
                primary=True,
                reason="needs at least two families, one of them with two or more judges",
            )
        )
    rows += outlier_rate_rows(pn)
    return EnsembleReport(
        findings=findings_frame(rows),
        review_queue=queue,
        agreement=pd.DataFrame(pn.agreement_rows),
        weights=pn.weights,
        per_unit_correct=pd.concat([um.units, pn.per_unit], axis=1),
        reference_source=ref_src,
    )
