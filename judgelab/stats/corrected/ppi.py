"""Prediction-powered inference for a mean, PPI++ with a power-tuned lambda.

Angelopoulos, Duchi & Zrnic (2023), "PPI++: Efficient prediction-powered inference",
arXiv 2311.01453. ``n`` units carry a human label ``Y`` and a judge verdict ``Yh``; ``N``
further units carry only a judge verdict ``Yu``. For a weight ``lambda``::

    theta = lambda * mean(Yu) + mean(Y - lambda * Yh)

is unbiased for E[Y] whatever the judge (the rectifier ``mean(Y - lambda Yh)`` removes the
judge's bias, on the labelled units). Its variance is ``lambda^2 var(Yu) / N + var(Y -
lambda Yh) / n``, smallest at ``lambda = cov(Y, Yh) / ((1 + n/N) var(Yh))`` (the paper's
Example 6.1, the mean as an M-estimator with identity Hessian). As in the reference
implementation ``ppi_py`` (``ppi_mean_pointestimate`` / ``ppi_mean_ci`` with ``lam=None``):

* ``cov(Y, Yh)`` divides by ``n``; ``var(Yh)`` is the ``ddof=1`` variance of the judge
  verdicts of *all* ``n + N`` units; lambda is clipped to [0, 1] (lambda = 0 is the
  human-only mean, lambda = 1 plain PPI);
* the interval is Wald, ``theta -/+ z se`` with ``se^2 = lambda^2 var0(Yu) / N +
  var0(Y - lambda Yh) / n`` (``ddof=0`` variances).

So on iid data :func:`ppi_mean` equals ``ppi_py.ppi_mean_ci(Y, Yh, Yu, alpha=1 - ci_level)``
(mind ppi_py's default ``alpha=0.1``, a 90% interval). One departure: when every judge
verdict is the same (``var(Yh) = 0``) ppi_py's lambda is 0/0 = nan; here lambda = 0 (the
judge carries no information, the estimate is the human-only mean).

The **effective number of human labels** is the number of human labels a human-only mean
would need to be as precise as PPI++: ``n_eff = n * var_human_only / var_ppi`` with
``var_human_only = var0(Y) / n``, i.e. ``n_eff = var0(Y) / se^2``. It exceeds ``n`` when the
judge helps and is about ``n`` (slightly less: the lambda term) when it does not.

Everything is a function of nine sums (:func:`ppi_mean_from_sums`), vectorised over rows, so
the item-cluster bootstrap re-estimates lambda in every resample with one matrix product.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = ["PPIResult", "ppi_mean", "ppi_mean_from_sums"]


class PPIResult(NamedTuple):
    """PPI++ estimate, Wald interval, standard errors, lambda and effective human labels
    (arrays, one value per row of sums; nan where undefined)."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se: np.ndarray
    se_human_only: np.ndarray
    lam: np.ndarray
    n_eff: np.ndarray


def ppi_mean_from_sums(
    n,
    sum_y,
    sum_yh,
    sum_yy,
    sum_yhyh,
    sum_y_yh,
    n_u,
    sum_yu,
    sum_yuyu,
    ci_level: float = 0.95,
    lam: float | None = None,
) -> PPIResult:
    """PPI++ mean from sums over units (vectorised: every argument may be an array).

    Parameters
    ----------
    n, sum_y, sum_yh, sum_yy, sum_yhyh, sum_y_yh :
        Over the labelled units: their number and the sums of Y, Yh, Y^2, Yh^2 and Y Yh.
    n_u, sum_yu, sum_yuyu :
        Over the units with a judge verdict only: their number and the sums of Yu, Yu^2.
    ci_level : float
        Confidence level of the Wald interval.
    lam : float, optional
        A fixed lambda (1 = plain PPI, 0 = human-only); None tunes it (PPI++).

    Returns
    -------
    PPIResult
        nan where ``n < 2`` or ``n_u < 1`` (PPI needs both sets).
    """
    sums = (n, sum_y, sum_yh, sum_yy, sum_yhyh, sum_y_yh, n_u, sum_yu, sum_yuyu)
    args = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in sums))
    n, sy, sh, syy, shh, syh, nu, su, suu = args
    z = float(special.ndtri(1.0 - (1.0 - ci_level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        my, mh, mu = sy / n, sh / n, su / nu
        var_y = np.maximum(syy / n - my**2, 0.0)
        var_h = np.maximum(shh / n - mh**2, 0.0)
        var_u = np.maximum(suu / nu - mu**2, 0.0)
        cov = syh / n - my * mh
        tot_n, tot_s, tot_q = n + nu, sh + su, shh + suu
        var_all = np.maximum((tot_q - tot_s**2 / tot_n) / (tot_n - 1.0), 0.0)
        if lam is None:
            lam = np.where(var_all > 0, cov / ((1.0 + n / nu) * var_all), 0.0)
            lam = np.clip(lam, 0.0, 1.0)
        else:
            lam = np.full_like(n, float(lam))
        est = lam * mu + my - lam * mh
        var_rect = np.maximum(var_y + lam**2 * var_h - 2.0 * lam * cov, 0.0)
        se = np.sqrt(lam**2 * var_u / nu + var_rect / n)
        se_h = np.sqrt(var_y / n)
        n_eff = np.where(se > 0, var_y / se**2, np.nan)
    ok = (n >= 2) & (nu >= 1)
    nan = np.nan

    def keep(x):
        return np.where(ok, x, nan)

    return PPIResult(
        keep(est),
        keep(est - z * se),
        keep(est + z * se),
        keep(se),
        keep(se_h),
        keep(lam),
        keep(n_eff),
    )


def ppi_mean(y, yhat, yhat_unlabeled, ci_level: float = 0.95) -> PPIResult:
    """PPI++ mean with power-tuned lambda from unit-level arrays (iid units).

    Parameters
    ----------
    y, yhat : array-like
        Human labels and judge verdicts of the labelled units (same length, at least 2).
    yhat_unlabeled : array-like
        Judge verdicts of the units without a human label (at least 1).
    ci_level : float
        Confidence level (``ppi_py``'s ``alpha`` is ``1 - ci_level``).

    Returns
    -------
    PPIResult
        Scalars in 0-d arrays; equal to ``ppi_py.ppi_mean_pointestimate`` and
        ``ppi_py.ppi_mean_ci`` on the same data.
    """
    y = np.asarray(y, dtype=float).reshape(-1)
    h = np.asarray(yhat, dtype=float).reshape(-1)
    u = np.asarray(yhat_unlabeled, dtype=float).reshape(-1)
    if y.shape != h.shape:
        raise ValueError(
            f"y and yhat must have one value per labelled unit: {y.shape} vs {h.shape}"
        )
    return ppi_mean_from_sums(
        y.size,
        y.sum(),
        h.sum(),
        (y * y).sum(),
        (h * h).sum(),
        (y * h).sum(),
        u.size,
        u.sum(),
        (u * u).sum(),
        ci_level=ci_level,
    )
