"""One sentence per finding id naming what it estimates (the ``estimand`` column).

A finding's number answers a question only once the reader knows its population, unit and
reference; the sentence here says it once for every study (docs/statistics.md names the
methods). :func:`judgelab.stats.decision.apply_decisions` writes it on every row; a lab's
study registers its own ids with :func:`register_estimand`.
"""

from __future__ import annotations

__all__ = ["ESTIMANDS", "estimand_of", "register_estimand"]

ESTIMANDS: dict[str, str] = {
    # position bias
    "first_slot_share": "Among pairs whose verdict changes when the answers are swapped, the "
    "share won by the answer shown first (0.5 = no position preference).",
    "position_consistency": "The share of pairs judged in both orders whose verdict is the "
    "same in both orders.",
    "preference_fairness": "How evenly the judge's order-inconsistent verdicts split between "
    "the two slots, scaled to the share of inconsistent pairs.",
    "repetition_stability": "The share of repeated judgments of one pair in one order that "
    "return the same verdict.",
    "flip_vs_gap_slope": "The change in the chance that a pair's verdict flips with the order "
    "per unit of quality gap between its answers.",
    # self-preference
    "self_preference_logit": "The judge's log-odds of preferring its own model's answer over "
    "another's, relative to how the panel's other judges rate the same pair.",
    "family_preference_logit": "The judge's log-odds of preferring an answer of its own model "
    "family, relative to how the panel's other judges rate the same pair.",
    "lineage_preference_logit": "The judge's log-odds of preferring an answer of its own model "
    "lineage, relative to how the panel's other judges rate the same pair.",
    "harmful_self_preference": "How much more often the judge picks its own answer when the "
    "human reference prefers the other one than when it agrees.",
    "conditional_self_bias": "The judge's score for its own answers minus the score humans' "
    "preferences predict for them.",
    "own_family_win_rate_excess": "The win rate the judge gives its own family's answers minus "
    "the win rate other judges give them on the same pairs.",
    "length_bias": "The change in the judge's preference per unit of length difference "
    "between the two answers.",
    "score_difference": "The judge's mean score for its own answers minus its mean score for "
    "other models' answers to the same items.",
    # family entanglement
    "alpha_gap": "Krippendorff's alpha among judges of one family minus alpha among judges "
    "of different families, on the same units.",
    "alpha_within_family": "Krippendorff's alpha among the judges of one family.",
    "alpha_across_families": "Krippendorff's alpha among judges of different families.",
    "pairwise_kappa": "Cohen's kappa between two judges' verdicts on the units both judged.",
    "error_correlation_gap": "The correlation of two same-family judges' errors against the "
    "reference minus that of two judges of different families.",
    "error_correlation_within": "The correlation of errors against the reference between "
    "judges of one family.",
    "error_correlation_across": "The correlation of errors against the reference between "
    "judges of different families.",
    "effective_independent_judges": "The number of independent judges the panel's error "
    "correlation is worth.",
    "ensemble_accuracy": "The accuracy of the panel's majority verdict against the reference.",
    "ensemble_accuracy_difference": "The accuracy of the panel's majority verdict minus that "
    "of its best single judge, against the reference.",
    "ensemble_coverage": "The share of units on which the panel reaches a majority verdict.",
    "outlier_rate": "The share of units on which this judge disagrees with every other judge "
    "of the panel.",
    # calibration audit
    "accuracy": "The share of units on which the judge's verdict equals the human reference label.",
    "cohen_kappa": "Cohen's kappa between the judge's verdict and the human reference label "
    "(agreement beyond chance).",
    "weighted_kappa": "Quadratic-weighted kappa between the judge's score and the human score.",
    "macro_f1": "The mean over verdict classes of the judge's F1 against the human reference.",
    "tpr": "The share of units humans pass that the judge passes (true positive rate).",
    "tnr": "The share of units humans fail that the judge fails (true negative rate).",
    "signed_bias": "The judge's win rate (mean score) for a generator family minus what the "
    "human reference gives it on the same units.",
    "gate": "Whether the judge's agreement with humans (kappa, macro-F1) clears the gate's bar "
    "on this data, read from the CI lower bounds.",
    "human_ceiling": "Cohen's kappa between two human raters on the same units (how well "
    "humans agree with each other).",
    "human_vote_agreement": "The share of individual human votes the judge's verdict agrees with.",
    "alternative_annotator_gap": "The judge's agreement with the other raters minus a human "
    "rater's agreement with them (alternative-annotator test).",
    "ranking_kendall_tau": "Kendall's tau-b between the generators' ranking under the judge "
    "and under the humans.",
    "separability": "The share of generator pairs whose 95% CIs do not overlap under the "
    "judge's verdicts.",
    "section_failure_rate": "The share of responses the judge rates below the pass threshold "
    "on one rubric section.",
    "drift_agreement": "Agreement between two versions of one judge on the same units.",
    # judge comparison
    "accuracy_difference": "The candidate judge's accuracy against the reference minus the "
    "source judge's, on the same units.",
    "accuracy_vs_human": "The judge's accuracy against the human reference.",
    "agreement_with_source": "The share of units on which the candidate's verdict equals the "
    "source judge's.",
    "kappa_with_source": "Cohen's kappa between the candidate's and the source judge's verdicts.",
    "mixed_identities": "Whether the verdicts analysed mix several judge identities.",
    # calibration of the judge's confidence (stats/calibration/confidence)
    "confidence_ece": "The expected calibration error of the judge's verdict confidence against "
    "the human reference: the mean gap between stated confidence and accuracy over "
    "equal-mass bins (debiased; the confidence source is named in the method).",
    "confidence_brier": "The 3-class Brier score of the judge's verdict probabilities against "
    "the humans' vote shares (0 = perfect; the humans' own disagreement is the floor beside it).",
    # certified cascade (stats/certify, stats/cascade)
    "certified_threshold": "The lowest confidence at which the judge keeps its verdict while "
    "its disagreement with humans on the kept units stays at most alpha with probability "
    "1 - delta over calibration draws (fixed-sequence testing).",
    "certified_coverage": "The share of held-out units the judge (or the whole cascade) keeps "
    "at its certified threshold.",
    "certified_agreement": "The agreement with the human majority on the held-out units kept "
    "at the certified thresholds (guaranteed at least 1 - alpha, marginally).",
    "cost_per_1k_usd": "The judge's cost per 1,000 judged units in US dollars.",
    "latency_p50_s": "The judge's median call latency in seconds.",
    # corrected estimates (stats/corrected)
    "naive_rate": "The judge's pass (win) rate on the judged units, taken at face value.",
    "human_only_rate": "The human pass (win) rate estimated from the labelled units alone.",
    "rogan_gladen_rate": "The pass (win) rate humans would give the judged units, from the "
    "judge's rate corrected by its TPR and TNR measured in the same slice (Rogan-Gladen).",
    "ppi_rate": "The pass (win) rate humans would give the judged units, from human labels "
    "plus judge verdicts by prediction-powered inference (PPI++).",
    "post_stratified_rate": "The pass rate humans would give the judged units, from the human "
    "rates among labelled units the judge passed and failed, weighted by the judge's rate.",
    "correction_shift": "How far correcting for the judge's errors moves its rate: the primary "
    "corrected estimate minus the judge's own rate.",
    "labelled_judge_rate_gap": "The judge's pass rate on the labelled minus the unlabelled "
    "units (0 when the labelled units are a random sample).",
}


def register_estimand(finding_id: str, sentence: str) -> None:
    """Name what a finding id estimates (a lab's study, docs/new_study.md); one sentence."""
    if not sentence or not str(sentence).strip():
        raise ValueError(f"estimand of {finding_id!r}: give one non-empty sentence")
    ESTIMANDS[str(finding_id)] = str(sentence).strip()


def estimand_of(finding_id) -> str | None:
    """The sentence for ``finding_id`` (None for an id nobody registered)."""
    return ESTIMANDS.get(finding_id) if isinstance(finding_id, str) else None
