"""Power, sample size and minimum detectable effects (docs/statistics.md#minimum-detectable-effect).

Closed form for one-sample proportions via Cohen's arcsine effect size
h = 2 asin(sqrt p1) - 2 asin(sqrt p0) and the normal power function
(``statsmodels.stats.power.NormalIndPower`` with ``ratio=0``, i.e. one sample), and for a
mean difference via the one-sample / paired t power (``TTestPower``). Clustered data:
pass ``design_effect`` = 1 + (m - 1) ICC (Kish 1965), which divides the sample size.

Simulation power takes any simulator ``callable(seed, n) -> p_value``, so a study can ask
how many items it needs to detect a given bias with the exact analysis it will run
(Arnold et al. 2011, "Simulation methods to estimate design power").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# statsmodels and judgelab.stats.resampling (scipy.stats) are imported by the functions that
# use them: `judgelab.study` reads `decision.default_margin`, which imports this module, in
# the `judgelab` command's process, which computes no power.

__all__ = [
    "power_proportion",
    "sample_size_proportion",
    "minimum_detectable_effect",
    "mde_wald",
    "bootstrap_mde",
    "withhold_mde",
    "PowerResult",
    "simulated_power",
    "simulated_sample_size",
]


def _n_eff(n: float, design_effect: float) -> float:
    if design_effect < 1:
        raise ValueError(f"design_effect must be >= 1, got {design_effect}")
    return float(n) / float(design_effect)


def power_proportion(
    p1: float,
    n: float,
    p0: float = 0.5,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    design_effect: float = 1.0,
) -> float:
    """Power of a one-sample test of H0: p = p0 when the true proportion is p1 (normal
    approximation on the arcsine scale)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = float(proportion_effectsize(p1, p0))
    alt = {"two-sided": "two-sided", "larger": "larger", "smaller": "smaller"}[alternative]
    return float(
        NormalIndPower().power(
            h, nobs1=_n_eff(n, design_effect), alpha=alpha, ratio=0, alternative=alt
        )
    )


def sample_size_proportion(
    p1: float,
    p0: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
    design_effect: float = 1.0,
) -> int:
    """Units needed (rounded up) to detect p1 against p0 with the given power."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = float(proportion_effectsize(p1, p0))
    if h == 0:
        raise ValueError("p1 equals p0: no sample size detects a zero effect")
    n = NormalIndPower().solve_power(
        effect_size=abs(h), nobs1=None, alpha=alpha, power=power, ratio=0, alternative=alternative
    )
    return int(math.ceil(float(np.asarray(n).reshape(-1)[0]) * design_effect))


def mde_wald(
    se: float, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided"
) -> float:
    """Minimum detectable effect of a Wald test with standard error ``se``:
    (z_{1 - alpha/2} + z_power) * se (z_{1 - alpha} one-sided). nan for a missing se."""
    if se is None or not np.isfinite(se):
        return math.nan
    a = alpha / 2 if alternative == "two-sided" else alpha
    from scipy import special

    return float((special.ndtri(1 - a) + special.ndtri(power)) * float(se))


def bootstrap_mde(
    res, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided"
) -> float | None:
    """Minimum detectable effect of a Wald test with the bootstrap standard error.

    Parameters
    ----------
    res : BootstrapResult
        Any object with a ``distribution`` (the bootstrap replicates).
    alpha, power : level and power of the test (default 0.05, 0.8).
    alternative : ``"two-sided"`` or one-sided (``"larger"`` / ``"smaller"``).

    Returns
    -------
    float or None
        None when fewer than 2 finite replicates (or a non-finite MDE).

    Notes
    -----
    SE = standard deviation (ddof 1) of the finite replicates; MDE = (z_{1-alpha/2} +
    z_power) SE, z_{1-alpha} one-sided (:func:`mde_wald`).

    References
    ----------
    Bloom (1995), "Minimum detectable effects", Evaluation Review 19(5).
    """
    d = np.asarray(res.distribution, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return None
    m = mde_wald(float(d.std(ddof=1)), alpha=alpha, power=power, alternative=alternative)
    return float(m) if np.isfinite(m) else None


def minimum_detectable_effect(
    n: float | None = None,
    p0: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    sd: float | None = None,
    se: float | None = None,
    design_effect: float = 1.0,
    alternative: str = "two-sided",
) -> float:
    """Smallest effect detectable with ``power`` at level ``alpha`` from ``n`` units.

    - ``sd`` and ``se`` None: one-sample proportion; returns p1 - p0 > 0 for the p1 above
      p0 with arcsine effect h* solving the power equation (p1 = sin(asin(sqrt p0) +
      h*/2)^2; nan when even p1 = 1 is not detectable).
    - ``sd`` given: a mean (or paired mean difference) with standard deviation ``sd``;
      returns d* x sd with d* the standardised effect from the one-sample t power.
    - ``se`` given (n not needed): an estimate with that standard error (e.g. a
      cluster-robust model coefficient or a bootstrap SE): :func:`mde_wald`.
    ``n`` is divided by ``design_effect`` for clustered data. n < 2 gives nan.
    """
    if se is not None:
        return mde_wald(se, alpha=alpha, power=power, alternative=alternative)
    if n is None:
        raise ValueError("give n (with optional sd) or se")
    from statsmodels.stats.power import NormalIndPower, TTestPower

    ne = _n_eff(n, design_effect)
    if ne < 2:
        return math.nan
    if sd is not None:
        d = TTestPower().solve_power(
            effect_size=None, nobs=ne, alpha=alpha, power=power, alternative=alternative
        )
        return float(np.asarray(d).reshape(-1)[0]) * float(sd)
    h = NormalIndPower().solve_power(
        effect_size=None, nobs1=ne, alpha=alpha, power=power, ratio=0, alternative=alternative
    )
    h = abs(float(np.asarray(h).reshape(-1)[0]))
    phi = math.asin(math.sqrt(p0)) + h / 2
    if phi > math.pi / 2:
        return math.nan
    return math.sin(phi) ** 2 - p0


@dataclass
class PowerResult:
    """Share of simulated datasets with p < alpha, its Wilson CI, and the counts."""

    power: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_sim: int
    n_reject: int
    n_failed: int
    alpha: float


def simulated_power(
    simulator: Callable[[int, int], float],
    n: int,
    n_sim: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PowerResult:
    """Power by simulation: ``simulator(seed_i, n)`` returns a p-value for one simulated
    dataset of size n; power = share below ``alpha`` over the replicates whose p-value is
    defined (a None / nan p-value is counted in ``n_failed``). Replicate seeds come from
    ``numpy.random.SeedSequence(seed)``, so runs are reproducible and independent."""
    seeds = np.random.SeedSequence(seed).generate_state(int(n_sim), dtype=np.uint32)
    rej = fail = 0
    for s in seeds:
        p = simulator(int(s), int(n))
        if p is None or not np.isfinite(p):
            fail += 1
        elif p < alpha:
            rej += 1
    m = int(n_sim) - fail
    if m == 0:
        return PowerResult(None, None, None, int(n), int(n_sim), 0, fail, alpha)
    from judgelab.stats.resampling import wilson_ci

    lo, hi = wilson_ci(rej, m)
    return PowerResult(rej / m, lo, hi, int(n), int(n_sim), rej, fail, alpha)


def simulated_sample_size(
    simulator: Callable[[int, int], float],
    n_grid: Sequence[int],
    target_power: float = 0.8,
    n_sim: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Simulated power over a grid of sizes; column ``reaches_target`` marks the sizes
    whose power estimate is at least ``target_power`` (the first such n is the answer)."""
    rows = []
    for n in n_grid:
        r = simulated_power(simulator, n, n_sim=n_sim, seed=seed, alpha=alpha)
        rows.append(
            {
                "n": int(n),
                "power": r.power,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "n_sim": r.n_sim,
                "n_failed": r.n_failed,
                "reaches_target": r.power is not None and r.power >= target_power,
            }
        )
    return pd.DataFrame(rows)


def withhold_mde(df: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """``mde`` kept only beside a primary finding that is not significant (``p_adjusted`` below
    ``alpha``: the effect was detected, so what the data could detect is no longer asked;
    docs/statistics.md#minimum-detectable-effect). Run after
    :func:`judgelab.stats.multitest.adjust_findings`; a frame
    without an ``mde`` column is returned unchanged. Returns a copy."""
    out = df.copy()
    if "mde" not in out.columns or "p_adjusted" not in out.columns:
        return out
    p = pd.to_numeric(out["p_adjusted"], errors="coerce").to_numpy(dtype=float)
    primary = (
        out["primary"].fillna(False).astype(bool).to_numpy()
        if "primary" in out.columns
        else np.zeros(len(out), dtype=bool)
    )
    significant = primary & np.isfinite(p) & (p < alpha)
    if significant.any():
        out["mde"] = out["mde"].astype(object).where(~significant, None)
    return out
