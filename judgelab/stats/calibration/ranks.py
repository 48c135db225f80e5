"""Kendall tau-b and Spearman rho of a weighted multiset of units, for the bootstrap.

A bootstrap resample is a vector ``w`` of item multiplicities, and both rank correlations
have closed forms in ``w`` (:func:`kendall_b_weighted`, :func:`spearman_weighted`), so they are
bootstrapped by :func:`judgelab.stats.resampling.cluster_bootstrap` with ``per_item = I``:
exact, and no Python loop over resamples. With ``w = 1`` they equal
:func:`judgelab.stats.agreement.kendall_tau_score` and
:func:`judgelab.stats.agreement.spearman_score` (tests/test_calibration.py).
:func:`tau_b_rows` is tau-b between the rows of two matrices (a ranking per resample).

References: Kendall (1945), "The treatment of ties in ranking problems", Biometrika 33(3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats.resampling import BootstrapResult


def _block_sums(m: np.ndarray, codes: np.ndarray, n_items: int, axes=(0, 1)) -> np.ndarray:
    """Sum the rows (and columns) of ``m`` within items: ``out[I, J] = sum_{i in I, j in J} m[i, j]``."""
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_items)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = m
    for ax in axes:
        out = np.add.reduceat(np.take(out, order, axis=ax), starts, axis=ax)
    return out


def kendall_matrices(x, y, codes, n_items):
    # every item has at least one unit (codes come from factorize), so reduceat is safe
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    return (
        _block_sums(sx * sy, codes, n_items),
        _block_sums((sx == 0).astype(float), codes, n_items),
        _block_sums((sy == 0).astype(float), codes, n_items),
        np.bincount(codes, minlength=n_items).astype(float),
    )


def kendall_b_weighted(W, S, TX, TY, sizes):
    """Kendall tau-b of the multiset in which item I appears W[r, I] times.

    Over ordered pairs of distinct units, sum s = w'Sw (the self pair has s = 0) and ties
    sum = w'Tw - sum_I w_I n_I (removing each unit's pair with itself); halve for unordered
    pairs. tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)) (scipy ``kendalltau``, b)."""
    W = np.asarray(W, dtype=float)
    # w'Mw for every row of W: one BLAS product and a row-wise dot (einsum does not use BLAS)
    cd = 0.5 * ((W @ S) * W).sum(axis=1)
    self_pairs = W @ sizes
    n1 = 0.5 * (((W @ TX) * W).sum(axis=1) - self_pairs)
    n2 = 0.5 * (((W @ TY) * W).sum(axis=1) - self_pairs)
    n0 = 0.5 * (self_pairs**2 - self_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt((n0 - n1) * (n0 - n2))
        return np.where(den > 0, cd / den, np.nan)


def rank_matrices(x, codes, n_items):
    less = (x[None, :] < x[:, None]).astype(float)  # [i, j] = x_j < x_i
    eq = (x[None, :] == x[:, None]).astype(float)
    # (n, n_items): how many units of each item are smaller than / equal to unit i
    return _block_sums(less, codes, n_items, axes=(1,)), _block_sums(eq, codes, n_items, axes=(1,))


def spearman_weighted(W, LX, EX, LY, EY, codes):
    """Spearman rho of the multiset in which item I appears W[r, I] times: the Pearson
    correlation of average ranks, a unit of response i having rank L_i.w + (E_i.w + 1) / 2
    (L_i.w units are smaller, E_i.w - 1 other units are equal), weighted by w_item(i)."""
    W = np.asarray(W, dtype=float)
    # float32 products are exact here (integer counts far below 2**24) and twice as fast
    W32 = W.astype(np.float32)
    rx = (W32 @ (LX + 0.5 * EX).T.astype(np.float32)).astype(float) + 0.5
    ry = (W32 @ (LY + 0.5 * EY).T.astype(np.float32)).astype(float) + 0.5
    wu = W[:, codes]
    n = wu.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (wu * rx).sum(1) / n
        my = (wu * ry).sum(1) / n
        dx, dy = rx - mx[:, None], ry - my[:, None]
        cov = (wu * dx * dy).sum(1)
        vx, vy = (wu * dx * dx).sum(1), (wu * dy * dy).sum(1)
        out = cov / np.sqrt(vx * vy)
    return np.where((vx > 1e-12) & (vy > 1e-12), out, np.nan)


def tau_b_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall tau-b between rows of a and b ``(m, G)`` (vectorised; nan when undefined)."""
    sa = np.sign(a[:, :, None] - a[:, None, :])
    sb = np.sign(b[:, :, None] - b[:, None, :])
    iu = np.triu_indices(a.shape[1], 1)
    sa, sb = sa[:, iu[0], iu[1]], sb[:, iu[0], iu[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt((sa != 0).sum(1) * (sb != 0).sum(1))
        return np.where(den > 0, (sa * sb).sum(1) / den, np.nan)


def rank_correlation_bootstrap(
    x: np.ndarray, y: np.ndarray, items, boot
) -> dict[str, BootstrapResult]:
    """Item-cluster bootstrap of Spearman rho and Kendall tau-b of ``x`` vs ``y`` (units
    clustered by ``items``); ``boot(per_item, statistic)`` runs the bootstrap."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    codes, uniq = pd.factorize(pd.Series(items))
    n_items = len(uniq)
    S, TX, TY, sizes = kendall_matrices(x, y, codes, n_items)
    LX, EX = rank_matrices(x, codes, n_items)
    LY, EY = rank_matrices(y, codes, n_items)
    eye = np.eye(n_items)
    # per_item = I: the totals handed to the statistic are the item multiplicities w.
    return {
        "spearman": boot(eye, lambda W: spearman_weighted(W, LX, EX, LY, EY, codes)),
        "kendall_tau": boot(eye, lambda W: kendall_b_weighted(W, S, TX, TY, sizes)),
    }
