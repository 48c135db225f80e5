"""Confusion counts: the per-item sufficient statistics of kappa, accuracy and F1, and the
tidy-finding scaffold every confusion-based statistic shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import findings_frame
from judgelab.stats.agreement._common import (
    _codes,
    _obj,
    _pair_arrays,
    _prepare,
    _row,
    _sorted_labels,
)
from judgelab.stats.resampling import MIN_ITEMS, BootstrapResult, cluster_bootstrap


class ConfusionCounts:
    """Per-item confusion counts.

    ``per_item`` is ``(n_items, L * L)``: entry ``[i, a * L + b]`` counts rows of item i
    where the first rater says ``labels[a]`` and the second ``labels[b]``. ``items`` are
    the item ids in row order of ``per_item``.
    """

    def __init__(self, per_item: np.ndarray, labels: list, items: np.ndarray):
        self.per_item, self.labels, self.items = per_item, labels, items

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def total(self) -> np.ndarray:
        """The ``(L, L)`` confusion matrix of all rows."""
        L = self.n_labels
        return self.per_item.sum(axis=0).reshape(L, L)


def confusion_counts(a, b, items=None, labels: Sequence | None = None) -> ConfusionCounts:
    """Per-item confusion counts of two label arrays (rows with a missing label dropped).

    ``items`` gives the cluster (item id) of each row; None treats every row as its own
    item. ``labels`` fixes the label set and order (default: sorted union of both arrays;
    order matters for weighted kappa).
    """
    a = pd.Series(_obj(a), dtype=object)
    b = pd.Series(_obj(b), dtype=object)
    it = pd.Series(np.arange(len(a)) if items is None else _obj(items), dtype=object)
    if not (len(a) == len(b) == len(it)):
        raise ValueError(f"lengths differ: {len(a)}, {len(b)}, {len(it)}")
    keep = ~(a.isna() | b.isna()).to_numpy()
    a, b, it = a[keep].to_numpy(), b[keep].to_numpy(), it[keep].to_numpy()
    labels = _sorted_labels(np.concatenate([a, b])) if labels is None else list(labels)
    L = len(labels)
    ca, cb = _codes(a, labels), _codes(b, labels)
    icode, uniq = pd.factorize(pd.Series(it, dtype=object), sort=False)
    n_items = len(uniq)
    flat = icode.astype(np.int64) * (L * L) + ca * L + cb
    per_item = np.bincount(flat, minlength=n_items * L * L).reshape(n_items, L * L)
    return ConfusionCounts(per_item, labels, np.asarray(uniq))


def _as_tables(totals, n_labels: int) -> np.ndarray:
    T = np.asarray(totals, dtype=float)
    return T.reshape(T.shape[0] if T.ndim > 1 else 1, n_labels, n_labels)


def confusion_matrix(a, b, labels: Sequence | None = None) -> pd.DataFrame:
    """Confusion matrix: rows = labels of ``a`` (reference), columns = labels of ``b``."""
    cc = confusion_counts(*_pair_arrays(a, b), labels=labels)
    return pd.DataFrame(
        cc.total(),
        index=pd.Index(cc.labels, name="a"),
        columns=pd.Index(cc.labels, name="b"),
    )


def _confusion_finding(
    df,
    col1,
    col2,
    item_col,
    *,
    stat_id,
    what,
    stat_fn,
    labels,
    n_boot,
    seed,
    ci_level,
    method,
    judge,
    slice,
    table,
    undefined_reason,
    min_items=MIN_ITEMS,
) -> pd.DataFrame:
    sub, items, n_exc = _prepare(df, [col1, col2], item_col, table)
    cc = confusion_counts(sub[col1].to_numpy(), sub[col2].to_numpy(), items, labels)
    L = cc.n_labels
    if len(sub) == 0 or L == 0:
        res = BootstrapResult(None, None, None, ci_level, n_boot, 0, what, "no items")
    else:
        res = cluster_bootstrap(
            cc.per_item,
            lambda t: stat_fn(t, L),
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
            min_items=min_items,
        )
    row = _row(
        stat_id,
        res,
        what=what,
        n=len(sub),
        n_excluded=n_exc,
        judge=judge,
        slice=slice,
        undefined_reason=undefined_reason,
    )
    return findings_frame([row])
