"""Agreement statistics: plain functions, per-item sufficient statistics, tidy findings.

Three layers, so that every study module can reuse the pieces it needs:

1. **Plain functions** on label arrays, returning a float (nan when undefined):
   :func:`percent_agreement_score`, :func:`cohen_kappa_score` (unweighted, linear,
   quadratic), :func:`fleiss_kappa_score`, :func:`krippendorff_alpha_score`,
   :func:`accuracy_score`, :func:`macro_f1_score`, :func:`f1_per_class_score`,
   :func:`spearman_score`, :func:`kendall_tau_score`, :func:`pearson_score`,
   :func:`confusion_matrix`.
2. **Sufficient statistics** per item (cluster) and vectorised statistics of their totals,
   for :func:`judgelab.stats.resampling.cluster_bootstrap`: :func:`confusion_counts` with
   :func:`kappa_from_totals`, :func:`accuracy_from_totals`, :func:`macro_f1_from_totals`,
   :func:`f1_from_totals`; :func:`fleiss_counts` / :func:`fleiss_from_totals`;
   :func:`coincidence_counts` / :func:`alpha_from_totals`; :func:`pearson_moments` /
   :func:`pearson_from_totals`.
3. **Tidy functions** on a wide frame (one row per unit, e.g. one judgment paired with its
   reference label), with an item-cluster bootstrap CI: :func:`percent_agreement`,
   :func:`cohen_kappa`, :func:`accuracy`, :func:`macro_f1`, :func:`f1_per_class`,
   :func:`fleiss_kappa`, :func:`krippendorff_alpha`, :func:`spearman`,
   :func:`kendall_tau`, :func:`pearson`. Each returns a findings frame
   (:data:`judgelab.stats._tidy.FINDING_COLUMNS` plus ``n_items`` and ``n_degenerate``).

Plus the tie policies and order aggregation of docs/statistics.md#ties, #orders-and-repeats:
:func:`check_tie_policy`, :func:`apply_tie_policy`, :func:`win_score`,
:func:`aggregate_orders`.

Modules by concept: :mod:`.kappa` (Cohen's kappa, plain and weighted, and Fleiss'),
:mod:`.alpha` (Krippendorff's alpha, incl. the two-coder forms the family-entanglement
bootstrap uses), :mod:`.classification` (accuracy, percent agreement, F1),
:mod:`.correlation` (Pearson, Spearman, Kendall), :mod:`.confusion` (confusion counts),
:mod:`.ties` (tie policies, order aggregation); the modal vote lives in
:mod:`judgelab.stats.votes`. Every public name is importable from here.

References: Cohen (1960, 1968) for kappa and weighted kappa (formulas as in
scikit-learn's ``cohen_kappa_score``); Fleiss (1971), Psychological Bulletin 76(5);
Krippendorff (2011), "Computing Krippendorff's alpha-reliability" (coincidence matrices,
difference functions); Kendall (1945) for tau-b.
"""

from __future__ import annotations

from judgelab.stats.agreement.alpha import (
    alpha_from_totals,
    alpha_interval_from_moments,
    alpha_nominal_from_joint,
    coincidence_counts,
    interval_moments,
    krippendorff_alpha,
    krippendorff_alpha_score,
)
from judgelab.stats.agreement.classification import (
    accuracy,
    accuracy_from_totals,
    accuracy_score,
    f1_from_totals,
    f1_per_class,
    f1_per_class_score,
    macro_f1,
    macro_f1_from_totals,
    macro_f1_score,
    percent_agreement,
    percent_agreement_score,
)
from judgelab.stats.agreement.confusion import ConfusionCounts, confusion_counts, confusion_matrix
from judgelab.stats.agreement.correlation import (
    item_block_sums,
    kendall_sums,
    kendall_tau,
    kendall_tau_b_from_weights,
    kendall_tau_b_rows,
    kendall_tau_score,
    pearson,
    pearson_from_totals,
    pearson_moments,
    pearson_score,
    rank_correlation_statistics,
    rank_sums,
    spearman,
    spearman_from_weights,
    spearman_score,
)
from judgelab.stats.agreement.kappa import (
    cohen_kappa,
    cohen_kappa_score,
    fleiss_counts,
    fleiss_from_totals,
    fleiss_kappa,
    fleiss_kappa_score,
    kappa_from_codes,
    kappa_from_totals,
    kappa_weights,
)
from judgelab.stats.agreement.ties import (
    ORDER_AGGREGATIONS,
    TIE,
    TIE_POLICIES,
    aggregate_orders,
    apply_tie_policy,
    check_tie_policy,
    win_score,
)

__all__ = [
    # plain
    "percent_agreement_score",
    "cohen_kappa_score",
    "fleiss_kappa_score",
    "krippendorff_alpha_score",
    "accuracy_score",
    "macro_f1_score",
    "f1_per_class_score",
    "spearman_score",
    "kendall_tau_score",
    "pearson_score",
    "confusion_matrix",
    # sufficient statistics
    "ConfusionCounts",
    "confusion_counts",
    "kappa_weights",
    "kappa_from_totals",
    "kappa_from_codes",
    "accuracy_from_totals",
    "macro_f1_from_totals",
    "f1_from_totals",
    "fleiss_counts",
    "fleiss_from_totals",
    "coincidence_counts",
    "alpha_from_totals",
    "alpha_nominal_from_joint",
    "interval_moments",
    "alpha_interval_from_moments",
    "pearson_moments",
    "pearson_from_totals",
    "item_block_sums",
    "kendall_sums",
    "kendall_tau_b_from_weights",
    "kendall_tau_b_rows",
    "rank_correlation_statistics",
    "rank_sums",
    "spearman_from_weights",
    # tidy
    "percent_agreement",
    "cohen_kappa",
    "accuracy",
    "macro_f1",
    "f1_per_class",
    "fleiss_kappa",
    "krippendorff_alpha",
    "spearman",
    "kendall_tau",
    "pearson",
    # ties and orders
    "TIE",
    "TIE_POLICIES",
    "ORDER_AGGREGATIONS",
    "check_tie_policy",
    "apply_tie_policy",
    "win_score",
    "aggregate_orders",
]
