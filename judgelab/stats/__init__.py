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
Importing this package imports none of them: each name below is imported on its first use
(PEP 562 ``__getattr__``), so that a process needing only ``stats.errors`` or ``stats.units``
(the ``judgelab`` command's checks before the kernel starts) does not import scipy.stats and
statsmodels (about 1.5 s CPU).
"""

from judgelab.stats._lazy import lazy_attributes

_SUBMODULES = frozenset(
    {"agreement", "decision", "estimands", "models", "multitest", "planning", "power", "resampling"}
)
# public name -> the module it lives in
_NAMES = {
    "FINDING_COLUMNS": "judgelab.stats._tidy",
    "finding": "judgelab.stats._tidy",
    "findings_frame": "judgelab.stats._tidy",
    "adjust_findings": "judgelab.stats.multitest",
    "benjamini_hochberg": "judgelab.stats.multitest",
    "holm": "judgelab.stats.multitest",
    "BootstrapResult": "judgelab.stats.resampling",
    "binom_test": "judgelab.stats.resampling",
    "bootstrap_weights": "judgelab.stats.resampling",
    "cluster_bootstrap": "judgelab.stats.resampling",
    "cluster_bootstrap_rows": "judgelab.stats.resampling",
    "mcnemar_exact": "judgelab.stats.resampling",
    "sign_flip_test": "judgelab.stats.resampling",
    "wilson_ci": "judgelab.stats.resampling",
}

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


__getattr__, __dir__ = lazy_attributes("judgelab.stats", globals(), _SUBMODULES, _NAMES)
