"""Corrected estimates of the human-label rate from judge verdicts and a labelled subset.

One module per estimator: :mod:`.rogan_gladen` (Rogan-Gladen with the adjusted-Wald CI of
Lee et al. 2025), :mod:`.ppi` (PPI++ for a mean with power-tuned lambda); :mod:`.estimates`
puts them beside the naive and human-only rates as findings rows, with the item-cluster
bootstrap of the whole estimator (docs/statistics.md, "Corrected estimates").
"""

from judgelab.stats.corrected.estimates import (
    CORRECTED_IDS,
    corrected_bootstrap,
    corrected_rate_rows,
    corrected_rates,
    per_item_sums,
)
from judgelab.stats.corrected.ppi import PPIResult, ppi_mean, ppi_mean_from_sums
from judgelab.stats.corrected.rogan_gladen import (
    lee_adjusted_wald_ci,
    rogan_gladen,
    rogan_gladen_undefined,
)

__all__ = [
    "CORRECTED_IDS",
    "corrected_bootstrap",
    "corrected_rate_rows",
    "corrected_rates",
    "per_item_sums",
    "PPIResult",
    "ppi_mean",
    "ppi_mean_from_sums",
    "lee_adjusted_wald_ci",
    "rogan_gladen",
    "rogan_gladen_undefined",
]
