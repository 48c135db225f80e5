"""Accuracy, percent agreement and F1 (per class and macro) of labels against a reference."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement._common import _pair_arrays, _prepare, _row, _safe_div
from judgelab.stats.agreement.confusion import _as_tables, _confusion_finding, confusion_counts
from judgelab.stats.resampling import cluster_bootstrap


def accuracy_from_totals(totals, n_labels: int) -> np.ndarray:
    """Share of rows on the diagonal (percent agreement / accuracy); nan for no rows."""
    C = _as_tables(totals, n_labels)
    return _safe_div(np.trace(C, axis1=1, axis2=2), C.sum(axis=(1, 2)))


def _f1_per_class(C: np.ndarray) -> np.ndarray:
    # F1_c = 2 TP / (2 TP + FP + FN) = 2 C_cc / (row_c + col_c); rows = reference (y_true).
    tp = np.diagonal(C, axis1=1, axis2=2)
    return _safe_div(2.0 * tp, C.sum(axis=2) + C.sum(axis=1))


def f1_from_totals(totals, n_labels: int, label_index: int) -> np.ndarray:
    """F1 of one class (rows of the table = reference, columns = prediction); nan when the
    class occurs in neither."""
    return _f1_per_class(_as_tables(totals, n_labels))[:, label_index]


def macro_f1_from_totals(totals, n_labels: int) -> np.ndarray:
    """Unweighted mean of per-class F1 over the classes present in reference or prediction
    (scikit-learn's ``f1_score(average="macro")`` with the labels inferred from the data)."""
    f1 = _f1_per_class(_as_tables(totals, n_labels))
    present = np.isfinite(f1)
    cnt = present.sum(axis=1)
    return _safe_div(np.where(present, f1, 0.0).sum(axis=1), cnt)


def percent_agreement_score(a, b) -> float:
    """Share of units where both labels are equal (missing pairs dropped); nan if none."""
    a, b = _pair_arrays(a, b)
    return float(np.mean(a == b)) if len(a) else math.nan


def accuracy_score(y_true, y_pred) -> float:
    """Share of predictions equal to the reference; nan for no units."""
    return percent_agreement_score(y_true, y_pred)


def f1_per_class_score(y_true, y_pred, labels: Sequence | None = None) -> dict:
    """F1 per class, ``{label: F1}`` (nan for a class absent from both arrays)."""
    y_true, y_pred = _pair_arrays(y_true, y_pred)
    cc = confusion_counts(y_true, y_pred, labels=labels)
    f1 = _f1_per_class(_as_tables(cc.total().reshape(1, -1), cc.n_labels))[0]
    return {lab: float(v) for lab, v in zip(cc.labels, f1)}


def macro_f1_score(y_true, y_pred) -> float:
    """Macro-averaged F1 over classes present in either array; nan for no units."""
    y_true, y_pred = _pair_arrays(y_true, y_pred)
    if len(y_true) == 0:
        return math.nan
    cc = confusion_counts(y_true, y_pred)
    return float(macro_f1_from_totals(cc.total().reshape(1, -1), cc.n_labels)[0])


def percent_agreement(
    df: pd.DataFrame,
    rater1_col: str,
    rater2_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "percent_agreement",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Percent agreement of two label columns with an item-cluster bootstrap CI.

    Rows where either label is missing are excluded (``n_excluded``); ``n`` counts the
    compared rows, ``n_items`` the clusters.
    """
    return _confusion_finding(
        df,
        rater1_col,
        rater2_col,
        item_col,
        stat_id=id,
        what="percent agreement",
        stat_fn=accuracy_from_totals,
        labels=None,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="no units to compare",
    )


def accuracy(
    df: pd.DataFrame,
    reference_col: str,
    prediction_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "accuracy",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Accuracy of ``prediction_col`` against ``reference_col`` with a cluster CI."""
    return _confusion_finding(
        df,
        reference_col,
        prediction_col,
        item_col,
        stat_id=id,
        what="accuracy",
        stat_fn=accuracy_from_totals,
        labels=None,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="no units to compare",
    )


def macro_f1(
    df: pd.DataFrame,
    reference_col: str,
    prediction_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "macro_f1",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """Macro-F1 (classes present in reference or prediction) with a cluster CI."""
    return _confusion_finding(
        df,
        reference_col,
        prediction_col,
        item_col,
        stat_id=id,
        what="macro-F1",
        stat_fn=macro_f1_from_totals,
        labels=None,
        n_boot=n_boot,
        seed=seed,
        ci_level=ci_level,
        method=method,
        judge=judge,
        slice=slice,
        table=table,
        undefined_reason="no units to compare",
    )


def f1_per_class(
    df: pd.DataFrame,
    reference_col: str,
    prediction_col: str,
    item_col: str | None = "item_id",
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    method: str = "percentile",
    id: str = "f1",
    judge: str | None = None,
    slice: dict | None = None,
    table: str = "data",
) -> pd.DataFrame:
    """F1 per class (one finding row per class, column ``label``) with cluster CIs."""
    sub, items, n_exc = _prepare(df, [reference_col, prediction_col], item_col, table)
    cc = confusion_counts(sub[reference_col].to_numpy(), sub[prediction_col].to_numpy(), items)
    L = cc.n_labels
    rows = []
    for j, lab in enumerate(cc.labels):
        res = cluster_bootstrap(
            cc.per_item,
            lambda t, j=j: f1_from_totals(t, L, j),
            n_boot=n_boot,
            seed=seed,
            ci_level=ci_level,
            method=method,
        )
        rows.append(
            _row(
                id,
                res,
                what=f"F1 of class {lab!r}",
                n=len(sub),
                n_excluded=n_exc,
                judge=judge,
                slice=slice,
                undefined_reason="no units to compare",
                label=str(lab),
            )
        )
    if not rows:
        rows.append(
            finding(
                id,
                None,
                judge=judge,
                slice=slice,
                n=0,
                n_excluded=n_exc,
                reason="no units to compare",
            )
        )
    return findings_frame(rows)
