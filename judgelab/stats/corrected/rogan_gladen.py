"""Rogan-Gladen correction of a judge's pass rate, with the adjusted-Wald CI of Lee et al.

The judge's rate ``p`` on the judged units mixes true passes it keeps (TPR) and true fails it
lets through (1 - TNR): ``p = TPR * theta + (1 - TNR) * (1 - theta)``. Solving for the human
rate gives the Rogan-Gladen estimator (Rogan & Gladen 1978)::

    theta = (p + TNR - 1) / (TPR + TNR - 1)

clipped to [0, 1] (sampling noise can push the unclipped value outside). It needs a judge
better than chance, ``TPR + TNR > 1``; otherwise the rate is undefined (null with a reason),
never an inverted interval.

The interval is the closed form of Lee, Zeng, Jeong, Sohn & Lee (2025), "How to correctly
report LLM-as-a-judge evaluations", arXiv 2511.21140 (their ``confidence_interval``): with
``z = Phi^-1(1 - alpha/2)``

* adjusted counts: ``p~ = (n p + z^2/2) / (n + z^2)`` (Agresti-Coull), ``q0~ = (m0 TNR + 1) /
  (m0 + 2)``, ``q1~ = (m1 TPR + 1) / (m1 + 2)`` (one success and one failure added to each
  calibration class), ``n~ = n + z^2``, ``m0~ = m0 + 2``, ``m1~ = m1 + 2``;
* ``theta~ = (p~ + q0~ - 1) / (q0~ + q1~ - 1)``;
* a second-order bias shift ``d = 2 z^2 (-(1 - theta~) q0~ (1 - q0~) / m0~ + theta~ q1~
  (1 - q1~) / m1~)``;
* the delta-method standard error ``se = sqrt(p~(1-p~)/n~ + (1-theta~)^2 q0~(1-q0~)/m0~ +
  theta~^2 q1~(1-q1~)/m1~) / (q0~ + q1~ - 1)``;
* CI = ``clip(theta~ + d -/+ z se, 0, 1)``.

Unlike Lee's code, the interval is null with a reason when the raw ``TPR + TNR <= 1`` or the
adjusted ``q0~ + q1~ <= 1`` (their code divides by a non-positive denominator and returns an
inverted interval), and when the labelled set has no human pass (m1 = 0) or no human fail
(m0 = 0). The interval treats ``p``, TPR and TNR as independent binomial proportions (iid
units); with several units per item the item-cluster bootstrap of
:mod:`judgelab.stats.corrected.estimates` is the primary interval.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["rogan_gladen", "rogan_gladen_undefined", "lee_adjusted_wald_ci"]


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def rogan_gladen(p, tpr, tnr) -> np.ndarray:
    """Rogan-Gladen human rate ``(p + tnr - 1) / (tpr + tnr - 1)`` clipped to [0, 1].

    Parameters
    ----------
    p, tpr, tnr : float or array-like (broadcast)
        The judge's pass rate on the judged units, its true-positive rate (share of human
        passes it passes) and true-negative rate (share of human fails it fails), both
        estimated on the labelled units of the same slice.

    Returns
    -------
    numpy.ndarray
        The corrected rate; nan where ``tpr + tnr <= 1`` or an input is nan (undefined: see
        :func:`rogan_gladen_undefined` for the reason).
    """
    p, tpr, tnr = np.broadcast_arrays(_arr(p), _arr(tpr), _arr(tnr))
    den = tpr + tnr - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.clip((p + tnr - 1.0) / den, 0.0, 1.0)
    return np.where(den > 0, theta, np.nan)


def rogan_gladen_undefined(tpr, tnr, m0, m1) -> str | None:
    """Why the Rogan-Gladen rate of one slice is undefined, or None when it is defined.

    Parameters
    ----------
    tpr, tnr : float
        Estimated true-positive and true-negative rates (nan when their class is empty).
    m0, m1 : int
        Labelled units the humans failed (m0) and passed (m1).
    """
    if m1 <= 0:
        return "no labelled unit the humans passed: the judge's TPR is unknown"
    if m0 <= 0:
        return "no labelled unit the humans failed: the judge's TNR is unknown"
    if tpr + tnr <= 1.0:
        # the rates themselves are the row's tpr / tnr columns: the reason stays the same
        # text for every such slice, so caveats group it
        return (
            "judge no better than chance on the labelled units (TPR + TNR <= 1, see the tpr "
            "and tnr columns): the correction divides by a non-positive number"
        )
    return None


def lee_adjusted_wald_ci(p, tpr, tnr, n, m0, m1, ci_level: float = 0.95):
    """Closed-form adjusted-Wald CI of the Rogan-Gladen rate (Lee et al. 2025), vectorised.

    Parameters
    ----------
    p : float or array-like
        The judge's pass rate on the ``n`` judged units.
    tpr, tnr : float or array-like
        True-positive rate on the ``m1`` labelled human passes, true-negative rate on the
        ``m0`` labelled human fails.
    n, m0, m1 : int or array-like
        Sizes of the judged set and of the two labelled classes.
    ci_level : float
        Confidence level (0.95 gives Lee's default ``alpha = 0.05``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ci_low, ci_high)``; nan where the interval is undefined (an empty class, raw
        ``tpr + tnr <= 1`` or adjusted ``q0~ + q1~ <= 1``).
    """
    p, tpr, tnr, n, m0, m1 = np.broadcast_arrays(*(_arr(x) for x in (p, tpr, tnr, n, m0, m1)))
    z = float(special.ndtri(1.0 - (1.0 - ci_level) / 2.0))
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        pa = (n * p + z2 / 2.0) / (n + z2)
        q0 = (m0 * tnr + 1.0) / (m0 + 2.0)
        q1 = (m1 * tpr + 1.0) / (m1 + 2.0)
        na, m0a, m1a = n + z2, m0 + 2.0, m1 + 2.0
        den = q0 + q1 - 1.0
        th = (pa + q0 - 1.0) / den
        shift = 2.0 * z2 * (-(1.0 - th) * q0 * (1.0 - q0) / m0a + th * q1 * (1.0 - q1) / m1a)
        var = pa * (1 - pa) / na + (1 - th) ** 2 * q0 * (1 - q0) / m0a + th**2 * q1 * (1 - q1) / m1a
        se = np.sqrt(var) / den
        lo = np.clip(th + shift - z * se, 0.0, 1.0)
        hi = np.clip(th + shift + z * se, 0.0, 1.0)
    ok = (m0 > 0) & (m1 > 0) & (n > 0) & (tpr + tnr > 1.0) & (den > 0)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
