"""Shared plumbing of the agreement statistics: label arrays, codes, safe division, and the
checks and finding rows of the tidy (DataFrame) functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding
from judgelab.stats.errors import DataError
from judgelab.stats.resampling import BootstrapResult


def _obj(values) -> np.ndarray:
    """1-D object array of labels with missing values as None, without a Python-level
    loop (iterating an Arrow-backed string column costs ~5 s per 100k rows)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    if not hasattr(values, "to_numpy"):
        values = pd.Series(np.asarray(values, dtype=object) if np.ndim(values) else [values])
    out = values.to_numpy(dtype=object, na_value=None)
    return np.asarray(out, dtype=object).reshape(-1)


def _sorted_labels(values) -> list:
    """Sorted distinct labels; numbers numerically, otherwise by their text."""
    u = pd.unique(pd.Series(_obj(values), dtype=object).dropna())
    try:
        return sorted(u)
    except TypeError:
        return sorted(u, key=str)


def _codes(values, labels: Sequence) -> np.ndarray:
    # Index.get_indexer is a hash lookup in C (a Python loop costs ~50 ms per 100k rows).
    out = pd.Index(list(labels), dtype=object).get_indexer(pd.Index(values, dtype=object))
    out = out.astype(np.int64)
    if (out < 0).any():
        bad = sorted({str(v) for v, c in zip(values, out) if c < 0})[:10]
        raise ValueError(f"labels not in the given label set: {bad}")
    return out


def _pair_arrays(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _obj(a), _obj(b)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {len(a)} vs {len(b)}")
    keep = ~(pd.isna(a) | pd.isna(b))
    return a[keep], b[keep]


def _safe_div(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _ratings_table(ratings, labels: Sequence | None = None) -> tuple[np.ndarray, list]:
    """Units x raters labels (nan = missing) -> units x categories counts."""
    # Positional unit index, so a duplicated index in the caller's frame does not matter.
    R = pd.DataFrame(ratings).reset_index(drop=True)
    stacked = R.stack().dropna()
    labels = _sorted_labels(stacked.to_numpy()) if labels is None else list(labels)
    codes = _codes(stacked.to_numpy(), labels)
    unit_pos = np.asarray(stacked.index.get_level_values(0), dtype=np.int64)
    table = np.zeros((len(R), len(labels)))
    np.add.at(table, (unit_pos, codes), 1)
    return table, labels


def _sum_by(per_unit: np.ndarray, items) -> np.ndarray:
    codes, uniq = pd.factorize(pd.Series(_obj(items), dtype=object), sort=False)
    out = np.zeros((len(uniq), per_unit.shape[1]))
    np.add.at(out, codes, per_unit)
    return out


def _require(df: pd.DataFrame, cols: Sequence[str], table: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    for c in cols:
        if c not in df.columns:
            raise DataError(table, c, f"column missing (columns: {list(df.columns)})")


def _prepare(
    df: pd.DataFrame, cols: Sequence[str], item_col: str | None, table: str
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Rows with every column present; item ids (row number when item_col is None)."""
    need = list(cols) + ([item_col] if item_col else [])
    _require(df, need, table)
    if item_col:
        miss = df[item_col].isna().to_numpy()
        if miss.any():
            raise DataError(
                table, item_col, "item id missing", [int(i) for i in np.flatnonzero(miss)]
            )
    keep = df[list(cols)].notna().all(axis=1).to_numpy()
    sub = df.loc[keep]
    items = sub[item_col].to_numpy() if item_col else np.arange(len(sub))
    return sub, items, int((~keep).sum())


def _row(
    stat_id: str,
    res: BootstrapResult,
    *,
    what: str,
    n: int,
    n_excluded: int,
    judge,
    slice,
    undefined_reason: str,
    **extra,
) -> dict:
    kw = res.finding_kwargs()
    kw["method"] = f"{what}; {kw['method']}"
    if res.estimate is None:
        kw["reason"] = undefined_reason if res.reason != "no items" else "no units to compare"
    return finding(
        stat_id,
        judge=judge,
        slice=slice,
        n=n,
        n_excluded=n_excluded,
        n_items=res.n_items,
        n_degenerate=res.n_degenerate,
        **kw,
        **extra,
    )
