"""Judge-pair statistics on a :class:`judgelab.stats.units.UnitMatrix`: per-item sufficient
statistics of every judge pair (joint verdict counts, interval moments, error co-occurrence)
so that an item-cluster bootstrap of kappa, alpha or phi is one matrix product, and the
per-pair table and matrices the family-entanglement study reports.

kappa: :func:`judgelab.stats.agreement.kappa_from_totals` (quadratic weights on score
values for scores); alpha: :func:`judgelab.stats.agreement.alpha_nominal_from_joint` /
:func:`judgelab.stats.agreement.alpha_interval_from_moments`; phi of two 0/1 error
vectors: :func:`phi_from_counts`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from judgelab.stats.agreement import (
    alpha_interval_from_moments,
    alpha_nominal_from_joint,
    interval_moments,
    kappa_from_totals,
)
from judgelab.stats.units import CLASSES, UnitMatrix

__all__ = [
    "error_matrix",
    "pair_table",
    "kappa_matrix",
    "phi_from_counts",
    "phi_reason",
    "judge_pairs",
    "pair_stats",
    "PairStats",
    "relation",
]


def error_matrix(um: UnitMatrix, ref: np.ndarray, score_tolerance: float = 1.0) -> np.ndarray:
    """``(n_units, m)`` 0/1 errors (nan where the judge or the reference is missing)."""
    vals = um.values
    if um.kind == "interval":
        err = (np.abs(vals - ref[:, None]) > score_tolerance).astype(float)
    else:
        err = (vals != ref[:, None]).astype(float)
    err[np.isnan(vals) | np.isnan(ref)[:, None]] = np.nan
    return err


def _item_sum(item_index: np.ndarray, n_items: int, X: np.ndarray) -> np.ndarray:
    """Sum the rows of X (n_units, k) by item -> (n_items, k), one sparse product."""
    G = sparse.csr_matrix(
        (np.ones(len(item_index)), (item_index, np.arange(len(item_index)))),
        shape=(n_items, len(item_index)),
    )
    return np.asarray(G @ X)


def _categories(um: UnitMatrix) -> np.ndarray:
    if um.kind == "nominal":
        return np.arange(len(CLASSES), dtype=float)
    v = um.values[~np.isnan(um.values)]
    return np.unique(np.round(v))


def _joint_counts(um: UnitMatrix, cats: np.ndarray, pairs, idx: np.ndarray, n_items: int):
    """``(n_items, P, K*K)`` joint verdict counts of every judge pair per item (cell
    ``k * K + l``: the first judge said category k, the second l), counted directly (one-hot
    products of every pair are a units x pairs x K*K float array, 300 MB at a million
    verdicts)."""
    K = len(cats)
    J = np.zeros((n_items, len(pairs), K * K))
    if K == 0:
        return J
    vals = um.values if um.kind == "nominal" else np.round(um.values)
    pos = np.minimum(np.searchsorted(cats, vals), K - 1)  # nan sorts last
    pos = np.where(cats[pos] == vals, pos, -1)  # -1: no verdict
    for p, (i, j) in enumerate(pairs):
        both = (pos[:, i] >= 0) & (pos[:, j] >= 0)
        cell = idx[both] * (K * K) + pos[both, i] * K + pos[both, j]
        J[:, p, :] = np.bincount(cell, minlength=n_items * K * K).reshape(n_items, K * K)
    return J


def judge_pairs(m: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(m), 2))


@dataclass
class PairStats:
    """Per-item sufficient statistics of every judge pair (columns grouped by pair)."""

    pairs: list[tuple[int, int]]
    K: int
    cats: np.ndarray
    joint: np.ndarray  # (n_items, P, K*K) joint verdict counts
    interval: np.ndarray | None  # (n_items, P, 4): N, sum d^2, sum v, sum v^2
    err: np.ndarray | None  # (n_items, P, 4): n, s_i, s_j, s_ij
    weights: np.ndarray | None  # kappa weights: None (nominal) or (v_c - v_d)^2 on scores

    def kappa(self, joint: np.ndarray) -> np.ndarray:
        """Cohen's kappa of joint counts ``(..., K*K)`` (weighted for scores)."""
        return kappa_from_totals(joint, self.K, self.weights)

    def alpha(self, per_pair: np.ndarray) -> np.ndarray:
        """Krippendorff's alpha of ``(B, P * width)`` summed statistics -> ``(B, P)``."""
        P = len(self.pairs)
        if self.interval is not None:
            return alpha_interval_from_moments(per_pair.reshape(len(per_pair), P, 4))
        return alpha_nominal_from_joint(per_pair.reshape(len(per_pair), P, self.K * self.K), self.K)

    def alpha_per_item(self) -> np.ndarray:
        """``(n_items, P * width)``: the per-item statistics :meth:`alpha` sums."""
        A = self.interval if self.interval is not None else self.joint
        return A.reshape(len(A), -1)


def pair_stats(um: UnitMatrix, err: np.ndarray | None) -> PairStats:
    """Per-item sufficient statistics of every judge pair of ``um`` (and of ``err``)."""
    m = len(um.judges)
    pairs = judge_pairs(m)
    cats = _categories(um)
    K = len(cats)
    idx, n_items = um.item_index, um.n_items
    J = _joint_counts(um, cats, pairs, idx, n_items)
    inter = None
    if um.kind == "interval":
        x = um.values
        cols = [interval_moments(x[:, i], x[:, j]) for i, j in pairs]
        inter = _item_sum(idx, n_items, np.concatenate(cols, axis=1)).reshape(
            n_items, len(pairs), 4
        )
    E = None
    if err is not None:
        cols = []
        for i, j in pairs:
            both = ~(np.isnan(err[:, i]) | np.isnan(err[:, j]))
            a = np.where(both, err[:, i], 0.0)
            b = np.where(both, err[:, j], 0.0)
            cols.append(np.stack([both.astype(float), a, b, a * b], axis=1))
        E = _item_sum(idx, n_items, np.concatenate(cols, axis=1)).reshape(n_items, len(pairs), 4)
    weights = None if um.kind == "nominal" else (cats[:, None] - cats[None, :]) ** 2
    return PairStats(pairs, K, cats, J, inter, E, weights)


def phi_from_counts(E: np.ndarray) -> np.ndarray:
    """phi (Pearson correlation) of two 0/1 vectors from ``(..., 4)`` sums
    ``(n, s_i, s_j, s_ij)``: (n s_ij - s_i s_j) / sqrt(s_i (n - s_i) s_j (n - s_j));
    nan when either vector is constant."""
    n, si, sj, sij = E[..., 0], E[..., 1], E[..., 2], E[..., 3]
    den = si * (n - si) * sj * (n - sj)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (n * sij - si * sj) / np.sqrt(den)
    return np.where(den > 0, p, np.nan)


def relation(fi, fj) -> str:
    """``within`` when both judges have the same known family, else ``across``."""
    return "within" if (fi is not None and fi == fj) else "across"


def pair_table(um: UnitMatrix, err: np.ndarray | None = None) -> pd.DataFrame:
    """One row per judge pair: families, relation (within/across), shared units,
    kappa, alpha and (with ``err``) the error phi, with reasons where undefined."""
    st = pair_stats(um, err)
    tot_j = st.joint.sum(axis=0)
    kap = st.kappa(tot_j)
    alp = st.alpha(st.alpha_per_item().sum(axis=0)[None, :])[0]
    rows = []
    for p, (i, j) in enumerate(st.pairs):
        n = int(tot_j[p].sum())
        row = {
            "judge_i": um.judges[i],
            "judge_j": um.judges[j],
            "family_i": um.families[i],
            "family_j": um.families[j],
            "relation": relation(um.families[i], um.families[j]),
            "n_units": n,
            "kappa": None if np.isnan(kap[p]) else float(kap[p]),
            "alpha": None if np.isnan(alp[p]) else float(alp[p]),
        }
        if st.err is not None:
            e = st.err[:, p, :].sum(axis=0)
            ph = phi_from_counts(e)
            row["n_error_units"] = int(e[0])
            row["errors_i"] = int(e[1])
            row["errors_j"] = int(e[2])
            row["error_phi"] = None if np.isnan(ph) else float(ph)
            row["error_phi_reason"] = phi_reason(e, um.judges[i], um.judges[j])
        rows.append(row)
    return pd.DataFrame(rows)


def phi_reason(e: np.ndarray, ji: str, jj: str) -> str | None:
    """Why phi of judges ``ji`` and ``jj`` is undefined (None when it is defined)."""
    n, si, sj = e[0], e[1], e[2]
    if n == 0:
        return "no units with a reference that both judges parsed"
    for s, name in ((si, ji), (sj, jj)):
        if s == 0:
            return f"judge {name} made no errors on the shared units (phi undefined)"
        if s == n:
            return f"judge {name} erred on every shared unit (phi undefined)"
    return None


def kappa_matrix(
    um: UnitMatrix, statistic: str = "kappa", err: np.ndarray | None = None
) -> pd.DataFrame:
    """Square judges x judges matrix of ``kappa``, ``alpha`` or ``error_phi`` (diagonal 1),
    ordered by family then identity (the order of ``um.judges``)."""
    pt = pair_table(um, err)
    M = pd.DataFrame(np.eye(len(um.judges)), index=um.judges, columns=um.judges)
    for r in pt.itertuples():
        val = getattr(r, statistic)
        val = np.nan if val is None else val
        M.loc[r.judge_i, r.judge_j] = val
        M.loc[r.judge_j, r.judge_i] = val
    return M
