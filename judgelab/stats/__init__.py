"""Pure statistics: DataFrame in, tidy findings DataFrame out (see docs/statistics.md).

Submodules: ``agreement`` (agreement, correlation, tie policies, order aggregation),
``resampling`` (cluster bootstrap, sign-flip, exact tests), ``models`` (conditional logit,
GEE, Wilcoxon), ``multitest`` (Holm, Benjamini-Hochberg), ``power`` (power, sample size and
every minimum detectable effect), ``planning`` (label budgets), ``decision`` (decisive
verdicts: established / refuted / inconclusive), ``estimands`` (what each finding id
estimates), ``votes`` (the plurality / modal vote), ``errors``
(:class:`~judgelab.stats.errors.DataError`) and ``rubric_sections`` (the rubric defaults the
statistics read): ``stats`` imports nothing from judgelab above itself. Study modules
(position, self_preference, entanglement, calibration, compare) are imported by name.
Importing this package does no work beyond importing these modules.
"""

from judgelab.stats import (
    agreement,
    decision,
    estimands,
    models,
    multitest,
    planning,
    power,
    resampling,
)
from judgelab.stats._tidy import FINDING_COLUMNS, finding, findings_frame
from judgelab.stats.multitest import adjust_findings, benjamini_hochberg, holm
from judgelab.stats.resampling import (
    BootstrapResult,
    binom_test,
    bootstrap_weights,
    cluster_bootstrap,
    cluster_bootstrap_rows,
    mcnemar_exact,
    sign_flip_test,
    wilson_ci,
)

__all__ = [
    "FINDING_COLUMNS",
    "finding",
    "findings_frame",
    "agreement",
    "models",
    "multitest",
    "power",
    "planning",
    "decision",
    "estimands",
    "resampling",
    "BootstrapResult",
    "bootstrap_weights",
    "cluster_bootstrap",
    "cluster_bootstrap_rows",
    "sign_flip_test",
    "wilson_ci",
    "binom_test",
    "mcnemar_exact",
    "holm",
    "benjamini_hochberg",
    "adjust_findings",
]
