"""Label budgets: how many human labels a target needs (docs/statistics.md#label-budget).

Targets, each from planned rates or from the data at hand:

- **TPR / TNR lower bounds** (:func:`labels_for_rate_bound`; from data at hand
  :func:`tpr_tnr_budget`): the labels of one class at
  which the one-sided Clopper-Pearson lower bound clears ``bound`` with 80% *assurance*
  (probability over the labels still to be drawn), computed exactly from the binomial.
  Planning at the expected rate (:func:`labels_at_expected_rate`: the bound computed as if
  exactly ``rate * n`` labels came out right) gives about even odds: for a 0.90 judge against
  a 0.80 bound it says 50 labels per class, which clear the bound with 62% assurance; 80%
  assurance needs 94.
- **kappa** (:func:`labels_for_kappa`): a CI half-width ``h``, or a CI lower bound at or above
  ``k`` with 80% assurance, from the large-sample variance of Cohen's kappa for two binary
  raters (Fleiss, Cohen & Everitt 1969) at a planned kappa and prevalence.
- **a bias of size d** with 80% power (:func:`units_for_share_bias`): the one-sample
  proportion power of :mod:`judgelab.stats.power` (one home of the MDE), times the design
  effect.
- **a self-preference log-odds** with 80% power (:func:`pairs_for_self_preference`): the
  pairs at which the self-preference conditional logit's Wald test detects it, from the
  exact Fisher information of one pair stratum (:func:`self_preference_information`), times
  the design effect.
- **PPI** (:func:`ppi_split`): the cheapest split between human labels and judge calls that
  gives a PPI++ interval of half-width ``h``, from the judge-human correlation and the costs.

Clustering: units that share an item are correlated; every unit count is multiplied by the
item-clustering design effect, either given, from an ICC (``1 + (m - 1) ICC``, Kish 1965),
or estimated from data (:func:`design_effect`). :func:`label_budget` reads a calibration
audit's findings (the data at hand) and states, per judge, the labels each target needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from judgelab.stats.agreement.kappa import kappa_unit_variance
from judgelab.stats.power import sample_size_proportion

__all__ = [
    "design_effect",
    "kappa_unit_variance",
    "label_budget",
    "labels_at_expected_rate",
    "labels_for_kappa",
    "labels_for_rate_bound",
    "labels_for_tpr_tnr",
    "pairs_for_self_preference",
    "ppi_split",
    "rate_bound_assurance",
    "self_preference_information",
    "tpr_tnr_budget",
    "units_for_share_bias",
]

ASSURANCE = 0.8


def _check_rate(name: str, x: float, open_: bool = True) -> float:
    x = float(x)
    ok = 0 < x < 1 if open_ else 0 <= x <= 1
    if not ok:
        raise ValueError(f"{name} must lie in (0, 1), got {x}")
    return x


def _deff(design_effect: float) -> float:
    d = float(design_effect)
    if not d >= 1:
        raise ValueError(f"design_effect must be >= 1 (1 = independent units), got {d}")
    return d


# ------------------------------------------------------------------ binomial lower bounds
def _cp_lower(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson lower bound of x successes in n (0 at x = 0)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        lo = stats.beta.ppf(alpha, np.maximum(x, 1e-300), n - x + 1)
    return np.where(x > 0, lo, 0.0)


def rate_bound_assurance(n: int, rate: float, bound: float, alpha: float = 0.05) -> float:
    """Probability that ``n`` labels of one class give a one-sided (1 - alpha)
    Clopper-Pearson lower bound at or above ``bound`` when the true rate is ``rate``
    (exact: the sum of the binomial probabilities of the counts that clear it)."""
    n = int(n)
    x = np.arange(n + 1)
    clear = _cp_lower(x, n, alpha) >= bound
    return float(stats.binom.pmf(x[clear], n, rate).sum())


def labels_at_expected_rate(rate: float, bound: float, alpha: float = 0.05) -> int:
    """The naive plan: the smallest n from which the lower bound computed as if exactly
    ``rate * n`` labels came out right stays at or above ``bound``. Shown beside
    :func:`labels_for_rate_bound` to say why it is not enough (about 50-65% assurance)."""
    rate, bound = _check_rate("rate", rate), _check_rate("bound", bound)
    if rate <= bound:
        raise ValueError(f"rate {rate} must exceed the bound {bound}")
    n_max = _n_max(rate, bound)
    ns = np.arange(1, n_max + 1)
    with np.errstate(invalid="ignore"):
        lo = stats.beta.ppf(alpha, rate * ns, ns - rate * ns + 1)
    return _stable_first(ns, lo >= bound)


def _n_max(rate: float, bound: float) -> int:
    # generous horizon: 20x the normal-approximation n, at least 200
    return int(max(200, 20 * 4 * rate * (1 - rate) / (rate - bound) ** 2))


def _stable_first(ns: np.ndarray, ok: np.ndarray) -> int:
    """The smallest n from which ``ok`` holds for every larger n of the grid (the binomial's
    sawtooth makes the first n that clears a target fall back below it at n + 1)."""
    bad = np.flatnonzero(~ok)
    if bad.size == 0:
        return int(ns[0])
    if bad[-1] == ok.size - 1:
        raise ValueError("no sample size within the search horizon reaches the target")
    return int(ns[bad[-1] + 1])


def labels_for_rate_bound(
    rate: float, bound: float, assurance: float = ASSURANCE, alpha: float = 0.05
) -> int:
    """Labels of one class (positives for TPR, negatives for TNR) at which the one-sided
    (1 - alpha) Clopper-Pearson lower bound clears ``bound`` with probability ``assurance``
    when the judge's true rate is ``rate``: the smallest n from which
    :func:`rate_bound_assurance` stays at or above ``assurance`` (exact, no simulation).

    Examples
    --------
    >>> labels_for_rate_bound(0.90, 0.80)
    94
    """
    rate, bound = _check_rate("rate", rate), _check_rate("bound", bound)
    _check_rate("assurance", assurance)
    if rate <= bound:
        raise ValueError(
            f"a judge whose true rate is {rate} cannot be shown above {bound}: plan for a "
            "rate above the bound"
        )
    n_max = _n_max(rate, bound)
    ns = np.arange(1, n_max + 1)
    # assurance for every n at once: P(X >= x_min(n)), x_min the smallest count whose CP
    # lower bound clears the bound. By the beta-binomial duality the bound clears it exactly
    # when P(Bin(n, bound) >= x) <= alpha, so x_min = binom.ppf(1 - alpha, n, bound) + 1
    x_min = stats.binom.ppf(1 - alpha, ns, bound) + 1
    x_min = np.where(x_min <= ns, x_min, np.inf)
    a = np.where(np.isfinite(x_min), stats.binom.sf(x_min - 1, ns, rate), 0.0)
    return _stable_first(ns, a >= assurance)


def labels_for_tpr_tnr(
    tpr: float,
    tnr: float,
    bound: float | tuple[float, float],
    prevalence: float,
    assurance: float = ASSURANCE,
    alpha: float = 0.05,
    design_effect: float = 1.0,
) -> dict:
    """Human labels for TPR and TNR lower bounds at or above ``bound`` (one value, or
    ``(tpr_bound, tnr_bound)``), per class and in total.

    ``positives`` / ``negatives``: labels of each human class (:func:`labels_for_rate_bound`,
    times ``design_effect``). ``total_random``: labels drawn at random from units whose
    human pass rate is ``prevalence`` so that the expected count of each class reaches its
    need (the rarer class sets it). Labelling stratified by the judge's verdict reaches a
    class sooner; the per-class counts are what must be reached.
    """
    b_pos, b_neg = (bound, bound) if np.isscalar(bound) else bound
    prevalence = _check_rate("prevalence", prevalence)
    d = _deff(design_effect)
    pos = math.ceil(labels_for_rate_bound(tpr, b_pos, assurance, alpha) * d)
    neg = math.ceil(labels_for_rate_bound(tnr, b_neg, assurance, alpha) * d)
    total = max(math.ceil(pos / prevalence), math.ceil(neg / (1 - prevalence)))
    return {"positives": pos, "negatives": neg, "total_random": total}


def tpr_tnr_budget(
    judge,
    human,
    items=None,
    bound: float = 0.8,
    assurance: float = ASSURANCE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """TPR and TNR lower-bound budgets from the data at hand (binary verdicts and labels).

    Per class (``tpr``: units humans pass; ``tnr``: units humans fail): the measured rate, the
    labels of that class now, the design effect of the judge's correctness within the class
    over ``items`` (:func:`design_effect`; 1 without items), and the labels needed for the
    one-sided Clopper-Pearson lower bound to clear ``bound`` with ``assurance`` if the true
    rate is the measured one (:func:`labels_for_rate_bound` times the design effect). A rate
    measured at or below the bound gets a reason instead of a number.
    """
    j = np.asarray(judge, dtype=float).reshape(-1)
    h = np.asarray(human, dtype=float).reshape(-1)
    if j.shape != h.shape:
        raise ValueError(f"judge ({j.size}) and human ({h.size}) verdicts differ in length")
    ok = np.isfinite(j) & np.isfinite(h)
    it = np.arange(j.size) if items is None else np.asarray(items).reshape(-1)
    rows = []
    for name, cls in (("tpr", 1.0), ("tnr", 0.0)):
        m = ok & (h == cls)
        correct = (j[m] == cls).astype(float)
        n = int(m.sum())
        row = {"target": f"{name} lower bound >= {bound:g} ({assurance:.0%} assurance)",
               "rate": None, "labels_now": n, "design_effect": None, "labels_needed": None,
               "more_labels": None, "reason": None}  # fmt: skip
        if n < 2:
            row["reason"] = f"fewer than 2 labelled units of this class ({n})"
            rows.append(row)
            continue
        rate = float(correct.mean())
        deff = design_effect(correct, it[m]) if items is not None else 1.0
        deff = 1.0 if not np.isfinite(deff) else deff
        row.update(rate=rate, design_effect=deff)
        if rate <= bound or rate >= 1:
            row["reason"] = (
                f"measured {name} {rate:.3f} is not above {bound:g}: more labels would not be "
                "expected to clear it"
                if rate <= bound
                else f"measured {name} is 1: plan from an expected rate below 1"
            )
        else:
            need = math.ceil(labels_for_rate_bound(rate, bound, assurance, alpha) * deff)
            row.update(labels_needed=max(need, n), more_labels=max(0, need - n))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ kappa
def labels_for_kappa(
    kappa: float,
    prevalence: float,
    *,
    half_width: float | None = None,
    lower_bound: float | None = None,
    assurance: float = ASSURANCE,
    ci_level: float = 0.95,
    design_effect: float = 1.0,
) -> int:
    """Labels for a kappa target at a planned ``kappa`` and human pass rate ``prevalence``.

    ``half_width``: the two-sided ``ci_level`` Wald CI's half-width at most ``h``
    (n = z^2 V / h^2). ``lower_bound``: the CI's lower bound at or above ``k`` with
    probability ``assurance`` (n = V (z + z_assurance)^2 / (kappa - k)^2); with both, the
    larger n. V is :func:`kappa_unit_variance`; n is multiplied by ``design_effect``.
    """
    if half_width is None and lower_bound is None:
        raise ValueError("give half_width, lower_bound or both")
    v = kappa_unit_variance(kappa, prevalence)
    z = float(special.ndtri(0.5 + ci_level / 2))
    need = []
    if half_width is not None:
        if not half_width > 0:
            raise ValueError(f"half_width must be > 0, got {half_width}")
        need.append(v * z**2 / half_width**2)
    if lower_bound is not None:
        if not kappa > lower_bound:
            raise ValueError(f"planned kappa {kappa} must exceed the lower bound {lower_bound}")
        za = float(special.ndtri(assurance))
        need.append(v * (z + za) ** 2 / (kappa - lower_bound) ** 2)
    return int(math.ceil(max(need) * _deff(design_effect)))


# ------------------------------------------------------------------ bias
def units_for_share_bias(
    d: float,
    p0: float = 0.5,
    power: float = 0.8,
    alpha: float = 0.05,
    *,
    units_per_item: float = 1.0,
    icc: float | None = None,
    design_effect: float | None = None,
) -> dict:
    """Units (and items) to detect a share ``p0 + d`` against ``p0`` (e.g. a first-slot share)
    with ``power`` by a two-sided test at ``alpha``.

    The iid n is :func:`judgelab.stats.power.sample_size_proportion` (one home of the
    proportion power); it is multiplied by the design effect: ``design_effect`` if given
    (e.g. from :func:`design_effect`), else ``1 + (units_per_item - 1) icc``, else 1.
    Returns ``{"units", "items", "design_effect"}``.
    """
    if design_effect is None:
        icc = 0.0 if icc is None else float(icc)
        if not 0 <= icc <= 1:
            raise ValueError(f"icc must lie in [0, 1], got {icc}")
        design_effect = 1 + (float(units_per_item) - 1) * icc
    deff = _deff(design_effect)
    n = sample_size_proportion(p0 + d, p0, alpha=alpha, power=power, design_effect=deff)
    return {
        "units": int(n),
        "items": int(math.ceil(n / float(units_per_item))),
        "design_effect": deff,
    }


def design_effect(values, clusters) -> float:
    """The item-clustering design effect of a mean, estimated from data: the cluster-robust
    variance of the mean of ``values`` (clusters = items) over its iid variance, at least 1.

    With equal clusters of m units and intra-class correlation rho this estimates
    ``1 + (m - 1) rho`` (Kish 1965). nan when fewer than 2 clusters or no variance.
    """
    y = np.asarray(values, dtype=float)
    codes, _ = pd.factorize(pd.Series(clusters), sort=False)
    ok = np.isfinite(y) & (codes >= 0)
    y, codes = y[ok], codes[ok]
    n = y.size
    k = int(codes.max()) + 1 if n else 0
    if k < 2 or n < 3:
        return math.nan
    mean = y.mean()
    var_iid = y.var(ddof=1) / n
    if not var_iid > 0:
        return math.nan
    resid = np.bincount(codes, weights=y - mean, minlength=k)
    var_cl = float((resid**2).sum()) / n**2 * k / (k - 1)
    return max(1.0, var_cl / var_iid)


# ------------------------------------------------------------------ self-preference logit
def self_preference_information(
    beta: float, pick_rate=0.5, judge_calls: int = 2, panel_calls: int = 4
) -> float:
    """Expected Fisher information about ``beta`` of one pair stratum of the self-preference
    conditional logit (:func:`judgelab.stats.self_preference.fit_self_preference_logit`).

    The planner's model: in a pair of the judge's own answer and another, the panel's calls
    (``panel_calls``: other judges times orders) pick the own answer with probability
    ``pick_rate`` = expit(alpha_pair), the judge's ``judge_calls`` with expit(alpha_pair +
    beta). Conditioning on the pair's total T of own-answer picks removes alpha_pair; the
    judge's count K given T is Fisher's noncentral hypergeometric with odds ratio e^beta, and
    the information is E[Var(K | T)], computed exactly. ``pick_rate``: one rate, or the rates
    of the planned pairs (their information is averaged: pair quality varies).
    """
    n1, n0 = int(judge_calls), int(panel_calls)
    if n1 < 1 or n0 < 1:
        raise ValueError(f"judge_calls and panel_calls must be >= 1, got {n1}, {n0}")
    rates = np.atleast_1d(np.asarray(pick_rate, dtype=float))
    if rates.size == 0 or not np.all((rates > 0) & (rates < 1)):
        raise ValueError(f"pick_rate must lie in (0, 1), got {pick_rate}")
    a = special.logit(rates)[:, None, None]
    u, v = np.arange(n1 + 1)[:, None], np.arange(n0 + 1)[None, :]
    # P(K = u, panel count = v) per rate, shape (rates, n1 + 1, n0 + 1)
    pu = stats.binom.pmf(u[None], n1, special.expit(a + float(beta)))
    pv = stats.binom.pmf(v[None], n0, special.expit(a))
    joint = pu * pv
    t = (u + v).ravel()
    info = np.zeros(len(rates))
    for total in range(n1 + n0 + 1):
        cells = t == total
        w = joint.reshape(len(rates), -1)[:, cells]
        k = np.broadcast_to(u, (n1 + 1, n0 + 1)).ravel()[cells]
        mass = w.sum(axis=1)
        ok = mass > 0
        m1 = (w * k).sum(axis=1)
        info[ok] += (w * k**2).sum(axis=1)[ok] - m1[ok] ** 2 / mass[ok]
    return float(info.mean())


def pairs_for_self_preference(
    beta: float,
    pick_rate=0.5,
    judge_calls: int = 2,
    panel_calls: int = 4,
    power: float = 0.8,
    alpha: float = 0.05,
    *,
    pairs_per_item: float = 1.0,
    design_effect: float = 1.0,
) -> dict:
    """Pairs (of the judge's own answer against another) at which the self-preference
    conditional logit detects a log-odds ``beta`` with ``power`` (two-sided Wald at ``alpha``).

    The standard error on n pairs is sqrt(design_effect / (n I)), I the information of one
    pair (:func:`self_preference_information`); n solves :func:`judgelab.stats.power.mde_wald`
    (the one home of the Wald MDE) = ``beta``. ``design_effect``: the cluster-robust (by item)
    variance over the model variance, e.g. (robust SE / model SE)^2 of a pilot fit, >= 1;
    ``pairs_per_item`` converts pairs to items. Returns ``{"pairs", "items", "judgments",
    "information", "design_effect"}`` (``judgments``: the judge's calls, ``pairs *
    judge_calls``).
    """
    from judgelab.stats.power import mde_wald

    beta = float(beta)
    if beta == 0 or not math.isfinite(beta):
        raise ValueError(f"beta must be a finite non-zero log-odds, got {beta}")
    deff = _deff(design_effect)
    info = self_preference_information(beta, pick_rate, judge_calls, panel_calls)
    # n with mde_wald(sqrt(deff / (n info))) = |beta|
    n = deff / info * (mde_wald(1.0, alpha=alpha, power=power) / abs(beta)) ** 2
    pairs = int(math.ceil(n))
    return {
        "pairs": pairs,
        "items": int(math.ceil(pairs / float(pairs_per_item))),
        "judgments": pairs * int(judge_calls),
        "information": info,
        "design_effect": deff,
    }


# ------------------------------------------------------------------ PPI
def ppi_split(
    rate: float,
    correlation: float,
    half_width: float,
    cost_label: float,
    cost_call: float,
    *,
    ci_level: float = 0.95,
    max_judge_only: int | None = None,
    design_effect: float = 1.0,
) -> dict:
    """The cheapest PPI++ design whose interval has half-width ``half_width``.

    PPI++ with the power-tuned lambda has variance ``s^2 / n (1 - rho^2 N / (N + n))``
    (``s^2 = rate (1 - rate)``, ``rho`` the judge-human correlation, ``n`` human labels,
    ``N`` units with a judge verdict only; Angelopoulos et al. 2023). A human label costs
    ``cost_label`` and every unit (labelled or not) one judge call ``cost_call``. For every n
    up to the human-only n the smallest N reaching the target is found in closed form, and
    the cheapest (n, N) returned; ``max_judge_only`` caps N (the units there are to judge).
    Counts are multiplied by ``design_effect``.

    Returns
    -------
    dict
        ``labels``, ``judge_only``, ``judge_calls`` (labels + judge_only), ``cost``, and the
        human-only plan (``human_only_labels``, ``human_only_cost``) for comparison.
    """
    s2 = _check_rate("rate", rate) * (1 - rate)
    rho2 = float(correlation) ** 2
    if not 0 <= rho2 <= 1:
        raise ValueError(f"correlation must lie in [-1, 1], got {correlation}")
    if not half_width > 0 or cost_label < 0 or cost_call < 0:
        raise ValueError("half_width must be > 0 and costs >= 0")
    z = float(special.ndtri(0.5 + ci_level / 2))
    v = (half_width / z) ** 2  # the variance the target allows
    n_human = int(math.ceil(s2 / v))
    n = np.arange(2, n_human + 1, dtype=float)
    # need rho^2 N / (N + n) >= r with r = 1 - n v / s2; q = r / rho^2 = N / (N + n)
    r = np.maximum(1 - n * v / s2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(r > 0, r / rho2, 0.0)
        big_n = np.where(q < 1, np.ceil(n * q / (1 - q) - 1e-9), np.inf)
    big_n = np.maximum(big_n, 0.0)
    if max_judge_only is not None:
        big_n = np.where(big_n <= max_judge_only, big_n, np.inf)
    cost = n * (cost_label + cost_call) + big_n * cost_call
    i = int(np.argmin(cost))
    if not np.isfinite(cost[i]):
        raise ValueError("no split reaches the half-width: raise max_judge_only")
    d = _deff(design_effect)
    labels, judge_only = math.ceil(n[i] * d), math.ceil(big_n[i] * d)
    return {
        "labels": labels,
        "judge_only": judge_only,
        "judge_calls": labels + judge_only,
        "cost": labels * (cost_label + cost_call) + judge_only * cost_call,
        "human_only_labels": math.ceil(n_human * d),
        "human_only_cost": math.ceil(n_human * d) * cost_label,
    }


# ------------------------------------------------------------------ the audit's budget
def _z(level: float) -> float:
    return float(special.ndtri(0.5 + float(level) / 2))


def _scaled_n(n: float, half_width_now: float, half_width_target: float) -> int:
    """Labels at which a CI of half-width ``half_width_now`` on ``n`` labels shrinks to the
    target (half-width ~ 1/sqrt(n); the CI's own clustering and variance carry over)."""
    return int(math.ceil(n * (half_width_now / half_width_target) ** 2))


def label_budget(
    findings: pd.DataFrame,
    *,
    kappa_half_width: float = 0.05,
    kappa_bound: float | None = None,
    assurance: float = ASSURANCE,
    judges: Mapping | None = None,
) -> pd.DataFrame:
    """Per judge, the human labels the calibration audit's targets need, from its findings.

    Rows (one per judge and target):

    - ``kappa CI half-width <= h``: the labels at which the kappa CI (item-cluster
      bootstrap, so clustering is included) narrows to ``kappa_half_width``;
    - ``kappa lower bound >= k`` (``k`` the gate's bar, the row's ``pass_kappa`` unless
      ``kappa_bound``): the labels at which the CI lower bound clears ``k`` with
      ``assurance``, if the judge's true kappa is the one measured (nothing is promised for
      a judge measured at or below the bar: ``reason`` says so).

    Both read the standard error from the audit's CI, so the item-clustering design effect
    of this data is included. Columns: judge, target, labels_now, labels_needed,
    more_labels, reason.
    """
    rows = []
    f = findings
    overall = f[f["slice"].isna()] if "slice" in f.columns else f
    gates = overall[overall["id"] == "gate"]
    for rec in overall[overall["id"].isin(["cohen_kappa", "weighted_kappa"])].to_dict("records"):
        judge = rec.get("judge")
        n, est = rec.get("n"), rec.get("estimate")
        lo, hi, level = rec.get("ci_low"), rec.get("ci_high"), rec.get("ci_level") or 0.95
        g = gates[gates["judge"] == judge] if judge is not None else gates[gates["judge"].isna()]
        bar = kappa_bound
        if bar is None and len(g) and "pass_kappa" in g.columns:
            bar = g["pass_kappa"].iloc[0]
        base = {"judge": judge, "labels_now": n}
        if any(_bad(x) for x in (n, est, lo, hi)):
            rows.append({**base, "target": f"kappa CI half-width <= {kappa_half_width:g}",
                         "labels_needed": None, "more_labels": None,
                         "reason": "kappa or its CI undefined"})  # fmt: skip
            continue
        hw = (float(hi) - float(lo)) / 2
        need = _scaled_n(float(n), hw, kappa_half_width)
        rows.append({**base, "target": f"kappa CI half-width <= {kappa_half_width:g}",
                     "labels_needed": max(need, int(n)), "more_labels": max(0, need - int(n)),
                     "reason": None})  # fmt: skip
        if bar is None or _bad(bar):
            continue
        target = f"kappa CI lower bound >= {float(bar):g} ({assurance:.0%} assurance)"
        if float(est) <= float(bar):
            rows.append({**base, "target": target, "labels_needed": None, "more_labels": None,
                         "reason": f"measured kappa {float(est):.3f} is not above {float(bar):g}: "
                         "more labels would not be expected to clear it"})  # fmt: skip
            continue
        se1 = hw / _z(level) * math.sqrt(float(n))  # SE of one label, clustering included
        za = float(special.ndtri(assurance))
        need = int(math.ceil((se1 * (_z(level) + za) / (float(est) - float(bar))) ** 2))
        rows.append({**base, "target": target, "labels_needed": max(need, int(n)),
                     "more_labels": max(0, need - int(n)), "reason": None})  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["judge", "target", "labels_now", "labels_needed", "more_labels", "reason"],
    )  # fmt: skip


def _bad(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))
