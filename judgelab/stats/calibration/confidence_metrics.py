"""Calibration statistics of a confidence against a binary outcome (docs/statistics.md
#confidence-calibration): binning, plug-in and debiased ECE, the perfectly-calibrated null,
AUROC, the 3-class Brier score against vote shares, and Platt / isotonic recalibration.

Pure numpy / statsmodels functions of arrays; :mod:`judgelab.stats.calibration.confidence`
turns them into findings against the humans."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit
from scipy.stats import rankdata

from judgelab.stats._flips import UniformBelow

__all__ = [
    "N_BINS",
    "PLATT_MAX_UNITS",
    "bin_edges",
    "bin_index",
    "ece_from_bins",
    "debiased_ece_from_bins",
    "ece",
    "debiased_ece",
    "ece_null",
    "auroc",
    "brier_multiclass",
    "disagreement_floor",
    "pav",
    "fit_recalibration",
]

#: Equal-mass bins of the reliability diagram and the ECE (deciles of the confidence).
N_BINS = 10
#: Recalibration fits Platt scaling on fewer calibration units than this, isotonic above
#: (isotonic overfits small samples; Niculescu-Mizil & Caruana 2005).
PLATT_MAX_UNITS = 500


def bin_edges(conf: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Interior edges of up to ``n_bins`` equal-mass bins of ``conf`` (quantiles, duplicates
    merged: a confidence with few distinct values gets fewer bins)."""
    c = np.asarray(conf, dtype=float)
    c = c[np.isfinite(c)]
    if c.size == 0:
        return np.array([])
    q = np.quantile(c, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(q)


def bin_index(conf: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each confidence: values equal to an edge go to the upper bin."""
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(conf, dtype=float), "right")


def _bin_sums(conf, correct, idx, n_bins):
    n = np.bincount(idx, minlength=n_bins).astype(float)
    sc = np.bincount(idx, weights=conf, minlength=n_bins)
    sy = np.bincount(idx, weights=correct, minlength=n_bins)
    return n, sc, sy


def ece_from_bins(n: np.ndarray, sum_conf: np.ndarray, sum_correct: np.ndarray) -> np.ndarray:
    """Plug-in ECE, sum_b (n_b / n) |acc_b - conf_b|, from per-bin totals (last axis: bins;
    leading axes: e.g. bootstrap resamples)."""
    n, sc, sy = (np.asarray(x, dtype=float) for x in (n, sum_conf, sum_correct))
    tot = n.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(sy - sc).sum(axis=-1) / tot


def debiased_ece_from_bins(n, sum_conf, sum_correct) -> np.ndarray:
    """Debiased ℓ2 calibration error (Kumar, Liang & Ma 2019, "Verified uncertainty
    calibration", eq. 4): sqrt(max(0, sum_b (n_b/n) [(acc_b - conf_b)^2 - acc_b(1 - acc_b) /
    (n_b - 1)])). The subtracted term is the sampling variance of acc_b, the upward bias of
    the squared plug-in gap; bins with one unit carry no variance estimate and are dropped."""
    n, sc, sy = (np.asarray(x, dtype=float) for x in (n, sum_conf, sum_correct))
    with np.errstate(invalid="ignore", divide="ignore"):
        acc, cf = sy / n, sc / n
        term = (acc - cf) ** 2 - acc * (1 - acc) / (n - 1)
        ok = n > 1
        w = np.where(ok, n, 0.0)
        sq = np.where(ok, term, 0.0)
        val = (w * sq).sum(axis=-1) / w.sum(axis=-1)
    return np.sqrt(np.maximum(val, 0.0))


def _prep(conf, correct):
    c = np.asarray(conf, dtype=float)
    y = np.asarray(correct, dtype=float)
    ok = np.isfinite(c) & np.isfinite(y)
    return c[ok], y[ok]


def _equal_mass(statistic, conf, correct, n_bins: int) -> float:
    """``statistic`` of the per-bin sums over equal-mass bins; nan without a unit."""
    c, y = _prep(conf, correct)
    if c.size == 0:
        return float("nan")
    edges = bin_edges(c, n_bins)
    return float(statistic(*_bin_sums(c, y, bin_index(c, edges), len(edges) + 1)))


def ece(conf, correct, n_bins: int = N_BINS) -> float:
    """Plug-in expected calibration error with equal-mass bins (:func:`ece_from_bins`)."""
    return _equal_mass(ece_from_bins, conf, correct, n_bins)


def debiased_ece(conf, correct, n_bins: int = N_BINS) -> float:
    """:func:`debiased_ece_from_bins` with equal-mass bins."""
    return _equal_mass(debiased_ece_from_bins, conf, correct, n_bins)


def ece_null(
    conf, n_bins: int = N_BINS, n_sim: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Plug-in and debiased ECE of a perfectly calibrated judge with these confidences:
    outcomes drawn as Bernoulli(confidence) ("consistency resampling", Bröcker & Smith 2007),
    ``n_sim`` times on the same bins. Returns the two arrays of ``n_sim`` values."""
    c = np.asarray(conf, dtype=float)
    c = c[np.isfinite(c)]
    edges = bin_edges(c, n_bins)
    k = len(edges) + 1
    idx = bin_index(c, edges)
    rng = np.random.default_rng(seed)
    n = np.bincount(idx, minlength=k).astype(float)
    sc = np.bincount(idx, weights=c, minlength=k)
    # Outcomes per bin, drawn in blocks of simulations: the same random stream as one
    # (n_sim, units) draw (row-major), without holding n_sim x units floats (0.9 GB for 110k
    # units) or a units x bins one-hot matrix. A block's outcomes are packed 64 to a word
    # and counted per non-empty bin by popcount under the bin's bit mask (the same
    # integers: gathering the outcomes into bin order and counting each bin's slice cost
    # more than the packing and the popcounts together).
    present = np.flatnonzero(n > 0)
    width = -(-c.size // 64) * 64  # whole words; the padding units are never hit
    members = np.zeros((present.size, width), dtype=bool)
    members[np.searchsorted(present, idx), np.arange(c.size)] = True
    masks = np.packbits(members, axis=1).view(np.uint64)
    sy = np.zeros((n_sim, k))
    # 4M draws per block: 4 MB of outcomes, and 32 MB of uniforms where they are drawn as
    # floats (20M held 160 MB at the audit's peak; the same stream, drawn in more blocks)
    block = max(1, min(n_sim, 4_000_000 // max(c.size, 1)))
    # buffers reused by every block (fresh arrays per block cost page faults)
    hit = np.zeros((block, width), dtype=bool)
    words = np.empty((block, width // 64), dtype=np.uint64)
    # the outcomes read from the raw bits where that is numpy's draw (a pass fewer, no
    # uniforms held)
    below = UniformBelow(rng, c) if UniformBelow.usable(rng) else None
    u = np.empty((block, c.size)) if below is None else None
    for lo in range(0, n_sim, block):
        m = min(block, n_sim - lo)
        if below is not None:
            below(hit[:m, : c.size])
        else:
            rng.random(out=u[:m])
            np.less(u[:m], c[None, :], out=hit[:m, : c.size])
        packed = np.packbits(hit[:m], axis=1).view(np.uint64)
        for mask, b in zip(masks, present, strict=True):
            np.bitwise_and(packed, mask, out=words[:m])
            sy[lo : lo + m, b] = np.bitwise_count(words[:m]).sum(axis=1)
    nn, scc = np.broadcast_to(n, sy.shape), np.broadcast_to(sc, sy.shape)
    return ece_from_bins(nn, scc, sy), debiased_ece_from_bins(nn, scc, sy)


def auroc(conf, correct) -> float:
    """Area under the ROC curve of the confidence separating correct from wrong verdicts (the
    Mann-Whitney U / (n1 n0), ties counted half); nan when either class is empty."""
    c, y = _prep(conf, correct)
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(c)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def brier_multiclass(p: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Per-unit 3-class Brier score sum_k (p_k - h_k)^2 of the judge's probability vector ``p``
    against the humans' vote shares ``h`` (both ``(n, 3)``)."""
    return ((np.asarray(p, float) - np.asarray(h, float)) ** 2).sum(axis=1)


def disagreement_floor(h: np.ndarray) -> np.ndarray:
    """Per-unit sum_k h_k (1 - h_k): the Brier score against the individual human votes of a
    forecaster equal to the vote share itself (the humans' own disagreement; the Brier of any
    ``p`` against the votes is :func:`brier_multiclass` (p, h) plus this)."""
    h = np.asarray(h, float)
    return (h * (1 - h)).sum(axis=1)


def pav(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic (non-decreasing) least-squares fit of ``y`` on ``x`` by pool-adjacent-violators.

    Returns the sorted distinct ``x`` and the fitted value at each; :func:`fit_recalibration`
    interpolates between them."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ux, inv = np.unique(x, return_inverse=True)
    w = np.bincount(inv).astype(float)
    s = np.bincount(inv, weights=y)
    vals, wts, sizes = [], [], []
    # Python floats: the same IEEE double arithmetic as numpy scalars, several times faster
    for v, wt in zip((s / w).tolist(), w.tolist(), strict=True):
        vals.append(v)
        wts.append(wt)
        sizes.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v2, w2, n2 = vals.pop(), wts.pop(), sizes.pop()
            vals[-1] = (vals[-1] * wts[-1] + v2 * w2) / (wts[-1] + w2)
            wts[-1] += w2
            sizes[-1] += n2
    return ux, np.repeat(vals, sizes)


def fit_recalibration(conf, correct, method: str | None = None):
    """A monotone map of confidence to P(correct) fitted on (``conf``, ``correct``).

    ``method``: ``platt`` (logistic regression of correct on logit(confidence), statsmodels),
    ``isotonic`` (:func:`pav`), or None: Platt below :data:`PLATT_MAX_UNITS` units, isotonic
    from there. Returns ``(function, method)``."""
    c, y = _prep(conf, correct)
    if method is None:
        method = "platt" if c.size < PLATT_MAX_UNITS else "isotonic"
    if method == "isotonic":
        ux, fit = pav(c, y)
        return (lambda z: np.interp(np.asarray(z, float), ux, fit)), method
    if method != "platt":
        raise ValueError(f"recalibration method must be 'platt' or 'isotonic', not {method!r}")
    import statsmodels.api as sm

    z = logit(np.clip(c, 1e-6, 1 - 1e-6))
    X = sm.add_constant(z, has_constant="add")
    try:
        res = sm.Logit(y, X).fit(disp=0)
        a, b = res.params
    except Exception:  # perfect separation or a constant outcome: keep the identity map
        a, b = 0.0, 1.0
    return (lambda q: expit(a + b * logit(np.clip(np.asarray(q, float), 1e-6, 1 - 1e-6)))), method
