"""Calibration audit: can this judge stand in for humans on this distribution?

Every finding id of docs/statistics.md#calibration-audit, one module per concept:

==============================  ===========================================================
module                          finding ids / role
==============================  ===========================================================
:mod:`.units`                   judge verdicts and human labels in one coding, prepared once
                                per audit (:class:`JudgeUnits`, :class:`HumanData`)
:mod:`.reference_agreement`     accuracy, cohen_kappa, macro_f1 (pairs, against the
                                reference of :mod:`judgelab.stats.reference`);
                                weighted_kappa, spearman, kendall_tau (scores); confusion
:mod:`.ceiling`                 human_ceiling, human_vote_agreement,
                                alternative_annotator_gap
:mod:`.signed_bias`             signed_bias (per candidate family; primary per judge)
:mod:`.ranking`                 ranking_kendall_tau, separability
:mod:`.gate`                    gate (pass / warn / fail, ``established``)
:mod:`.drift`                   drift_agreement
:mod:`.rubric`                  section_failure_rate, rubric agreement
:mod:`.confidence`              confidence_ece, confidence_brier (the judge's verdict
                                confidence against humans; metrics in
                                :mod:`.confidence_metrics`)
:mod:`.panel`                   the panel's majority as a pseudo-judge
:mod:`.audit`                   the composition (:func:`audit`) and :func:`overview`
==============================  ===========================================================

The escalation queue is :mod:`judgelab.stats.queue`. Every CI is an
item-cluster bootstrap (:func:`judgelab.stats.resampling.cluster_bootstrap`) of per-item
sufficient statistics: confusion counts for accuracy / kappa / F1 (statistics of
:mod:`judgelab.stats.agreement`), win and appearance counts for win rates; the rank
correlations are the exact weighted forms of :mod:`judgelab.stats.agreement.correlation`.
"""

from judgelab.stats.calibration.audit import AUDIT_REFERENCE, AuditSettings, audit, overview
from judgelab.stats.calibration.ceiling import (
    AAG_MARGIN,
    alternative_annotator_gap,
    human_ceiling,
    human_vote_agreement,
)
from judgelab.stats.calibration.confidence import confidence_calibration
from judgelab.stats.calibration.drift import drift_agreement, resolve_drift_versions
from judgelab.stats.calibration.gate import DEFAULT_GATE, GATE_LABELS, gate
from judgelab.stats.calibration.panel import majority_verdicts
from judgelab.stats.calibration.ranking import ranking, win_rates
from judgelab.stats.calibration.reference_agreement import (
    confusion_table,
    pairwise_agreement,
    score_agreement,
)
from judgelab.stats.calibration.rubric import rubric_agreement, section_failure_rate
from judgelab.stats.calibration.signed_bias import signed_bias
from judgelab.stats.calibration.units import (
    PAIR_CLASSES,
    HumanData,
    JudgeUnits,
    human_votes_pairwise,
    pairwise_units,
    score_units,
)

__all__ = [
    "AAG_MARGIN",
    "AUDIT_REFERENCE",
    "DEFAULT_GATE",
    "GATE_LABELS",
    "PAIR_CLASSES",
    "AuditSettings",
    "HumanData",
    "JudgeUnits",
    "audit",
    "overview",
    "pairwise_units",
    "human_votes_pairwise",
    "score_units",
    "pairwise_agreement",
    "score_agreement",
    "human_ceiling",
    "human_vote_agreement",
    "alternative_annotator_gap",
    "signed_bias",
    "gate",
    "ranking",
    "drift_agreement",
    "resolve_drift_versions",
    "section_failure_rate",
    "rubric_agreement",
    "confusion_table",
    "win_rates",
    "majority_verdicts",
    "confidence_calibration",
]
