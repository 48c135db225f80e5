"""Order flips against the pair's human quality gap (docs/statistics.md#position-bias):
the quality gap of a pair from human scores or preferences, and the logistic GEE of
"order-inconsistent" on it, clustered by item."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats.position_pairs import classify_pairs
from judgelab.stats.reference import LO, TIE_CODE, coded_votes
from judgelab.stats.units import pair_key

__all__ = ["pair_quality_gap", "flip_vs_gap", "flip_vs_gap_curves"]


def pair_quality_gap(pairs: pd.DataFrame, dataset) -> tuple[pd.Series, str | None, str | None]:
    """Absolute quality gap per pair from human data, aligned with ``pairs``' rows.

    Scores (preferred): |mean human score(a) - mean human score(b)| in scale points.
    Preferences only: |2 share - 1|, share = (votes for a + tie/2) / votes on that pair.
    Returns (gap, method, reason); gap is NaN for pairs without human data."""
    nan = pd.Series(np.nan, index=pairs.index)
    if dataset is None:
        return nan, None, "no dataset given: the quality gap needs human scores or preferences"
    labels = getattr(dataset, "labels", None)
    if labels is not None and len(labels):
        mean = (
            pd.to_numeric(labels["score"], errors="coerce")
            .groupby(labels["response_id"].astype(str))
            .mean()
        )
        gap = (
            pairs["response_a"].astype(str).map(mean) - pairs["response_b"].astype(str).map(mean)
        ).abs()
        if gap.notna().any():
            return gap.astype(float), "|difference of mean human scores| (scale points)", None
    prefs = getattr(dataset, "preferences", None)
    if prefs is not None and len(prefs):
        votes = coded_votes(prefs)
        # a vote for the pair's first (sorted) response is 1, a tie 1/2
        label = votes["label"].to_numpy()
        win_lo = np.where(label == LO, 1.0, np.where(label == TIE_CODE, 0.5, 0.0))
        share = pd.Series(win_lo).groupby(pair_key(votes["lo"], votes["hi"])).mean()
        keys = pair_key(pairs["response_a"], pairs["response_b"])
        s = pd.Series(keys, index=pairs.index).map(share).astype(float)
        if s.notna().any():
            return (2 * s - 1).abs(), "|2 x human preference share - 1|", None
    return nan, None, "the dataset has no human scores or preferences for these pairs"


def _gee_fit(y, x, groups):
    """Logistic GEE of y on [1, x] clustered by item (independence working correlation,
    bias-reduced sandwich of Mancl & DeRouen 2001). Returns (params, cov) or raises.

    0/1 outcomes go through judgelab.stats.models.logistic_gee. With repeats, y is the
    fractional inconsistency of a pair (repeats averaged within pair and order); that
    quasi-likelihood fit is done by statsmodels' GEE directly, which accepts y in [0, 1]."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    groups = np.asarray(groups)
    if np.all((y == 0) | (y == 1)):
        from judgelab.stats.models import logistic_gee

        res = logistic_gee(y, pd.DataFrame({"gap": x}), groups, cov_struct="independence")
        params = res.params[["const", "gap"]].to_numpy(dtype=float)
        cov = res.cov.loc[["const", "gap"], ["const", "gap"]].to_numpy(dtype=float)
        if res.reason or not np.all(np.isfinite(params)) or not np.all(np.isfinite(cov)):
            raise FloatingPointError(res.reason or "GEE did not converge")
        return params, cov
    import warnings

    import statsmodels.api as sm

    g = pd.factorize(pd.Series(groups, dtype=object))[0]
    order = np.argsort(g, kind="stable")  # GEE wants the rows of a cluster together
    model = sm.GEE(
        y[order],
        sm.add_constant(x[order], has_constant="add"),
        groups=g[order],
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(cov_type="bias_reduced")
    params, cov = np.asarray(fit.params, dtype=float), np.asarray(fit.cov_params(), dtype=float)
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(cov)):
        raise FloatingPointError("GEE did not converge")
    return params, cov


def flip_vs_gap(
    verdicts: pd.DataFrame, dataset=None, classified: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per pair: judge, item_id, inconsistent (1 - w_consistent) and the human quality gap."""
    c = classify_pairs(verdicts) if classified is None else classified
    c = c[c["cls"].notna()].reset_index(drop=True)
    gap, method, reason = pair_quality_gap(c, dataset)
    out = c[["judge", "item_id", "response_a", "response_b"]].copy()
    out["inconsistent"] = 1.0 - c["w_consistent"].astype(float)
    out["gap"] = gap.to_numpy()
    out.attrs["method"], out.attrs["reason"] = method, reason
    return out


def flip_vs_gap_curves(
    verdicts: pd.DataFrame,
    dataset=None,
    grid: int = 50,
    ci_level: float = 0.95,
    classified=None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fitted P(inconsistent | gap) per judge with a pointwise CI band (delta method on the
    GEE robust covariance, computed on the logit scale): judge, gap, p, ci_low, ci_high.
    ``table``: :func:`flip_vs_gap` of (verdicts, dataset) when the caller has it."""
    from scipy.stats import norm

    fg = flip_vs_gap(verdicts, dataset, classified) if table is None else table
    z = norm.ppf(0.5 + ci_level / 2)
    rows = []
    fg = fg[fg["gap"].notna()]
    if fg.empty:
        return pd.DataFrame(columns=["judge", "gap", "p", "ci_low", "ci_high"])
    xs = np.linspace(0, float(fg["gap"].max()), grid)
    for judge, g in fg.groupby("judge", sort=True):
        try:
            params, cov = _gee_fit(g["inconsistent"], g["gap"], g["item_id"])
        except Exception:
            continue
        X = np.column_stack([np.ones_like(xs), xs])
        eta = X @ params
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, cov, X))
        expit = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
        rows.append(
            pd.DataFrame(
                {
                    "judge": judge,
                    "gap": xs,
                    "p": expit(eta),
                    "ci_low": expit(eta - z * se),
                    "ci_high": expit(eta + z * se),
                }
            )
        )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["judge", "gap", "p", "ci_low", "ci_high"])
    )
