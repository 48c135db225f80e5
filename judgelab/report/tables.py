"""Tables a report prints for a person to read: no pandas index, numbers rounded, counts as
integers, judges by their short labels.

A notebook ends a cell with ``table(frame)`` instead of ``frame`` or ``frame.round(3)``::

    from judgelab.report.tables import table
    table(overview, judges="judge")

A meaningful index (one with a name, such as the audit overview's ``judge``) becomes the first
column, so nothing is lost when the index is hidden; columns whose name starts with ``_``
(arrays a statistic keeps for its own use) are left out. Each numeric column is formatted
once, for the whole column (:func:`format_column`), so that its numbers line up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.identity import short_labels

__all__ = ["Table", "table", "format_column", "format_number", "TABLE_CLASS"]

#: CSS class of the tables :func:`table` renders (the findings table has its own).
TABLE_CLASS = "judgelab-table"
#: Significant digits kept when a column's numbers are all below 0.01 in size.
SMALL_DIGITS = 3


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _decimals(values: Sequence[float], digits: int) -> int | None:
    """Decimals for a column of non-integral numbers: ``digits`` in general, one when the
    numbers reach 100 (a cost, a count of seconds), None (significant digits instead) when
    all are below 0.01, where fixed decimals would print 0.000."""
    big = max(abs(v) for v in values)
    if big >= 100:
        return 1
    if 0 < big < 0.01:
        return None
    return digits


def format_number(x, decimals: int | None = 3) -> str:
    """One value for reading: integers as integers, other numbers with ``decimals`` decimals
    (None: :data:`SMALL_DIGITS` significant digits), booleans as yes/no, a missing value as an
    empty cell, anything else as its text."""
    if _missing(x):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if not _is_number(x):
        return str(x)
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    v = float(x)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{SMALL_DIGITS}g}" if decimals is None else f"{v:.{decimals}f}"


def format_column(values: pd.Series, digits: int = 3) -> pd.Series:
    """A column as text: counts (every number integral, not only 0 and 1) as integers, other numbers with the
    decimals the column needs (:func:`_decimals`), booleans as yes/no, text unchanged."""
    given = [v for v in values if _is_number(v) and not _missing(v)]
    finite = [float(v) for v in given if math.isfinite(float(v))]
    # a count stored as float (a column with gaps) prints as an integer; a share that happens
    # to be 0 or 1 throughout does not
    integral = (
        bool(finite)
        and all(v.is_integer() for v in finite)
        and (any(abs(v) > 1 for v in finite) or all(isinstance(v, int | np.integer) for v in given))
    )
    decimals = 0 if integral or not finite else _decimals(finite, digits)

    def one(v):
        if _is_number(v) and not _missing(v):
            return format_number(int(v) if integral and math.isfinite(v) else v, decimals)
        return format_number(v)

    return values.map(one).astype(object)


class Table:
    """A frame shown without its index, numbers formatted (:func:`table`)."""

    def __init__(self, frame: pd.DataFrame):
        #: the formatted frame (text cells), as displayed
        self.frame = frame

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, classes=TABLE_CLASS, escape=True, border=0)

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)

    def __len__(self) -> int:
        return len(self.frame)


def table(
    frame: pd.DataFrame,
    *,
    digits: int = 3,
    judges: str | Sequence[str] | None = None,
    labels: dict | None = None,
) -> Table:
    """``frame`` as a table for reading: without the pandas index, rounded, counts as integers.

    Parameters
    ----------
    frame : DataFrame
        The table. A named index (or a MultiIndex) becomes leading columns; an unnamed
        default index is dropped. Columns named ``_...`` are left out.
    digits : int
        Decimals of non-integral numbers (fewer for columns that reach 100; significant
        digits for columns below 0.01).
    judges : str or list of str, optional
        Columns holding judge identity strings, shown as their short labels
        (:func:`judgelab.identity.short_labels` among the column's judges, or ``labels``);
        values that are not identities (an ensemble's name) stay as they are. Columns named
        by an identity string (one per judge) are headed by its short label.
    labels : dict, optional
        identity string -> label, e.g. the run's labels, to label judges consistently with
        the rest of the report.

    Returns
    -------
    Table
        Displays as HTML (class :data:`TABLE_CLASS`) in a notebook and as text in a console;
        ``.frame`` is the formatted frame.
    """
    f = frame.copy()
    named = any(n is not None for n in f.index.names)
    f = f.reset_index() if named else f.reset_index(drop=True)
    f = f[[c for c in f.columns if not str(c).startswith("_")]]
    cols = [judges] if isinstance(judges, str) else list(judges or [])
    for c in cols:
        if c not in f.columns:
            raise KeyError(
                f"table: no column {c!r} to label judges in (columns: {list(f.columns)})"
            )
        names = [str(v) for v in f[c] if not _missing(v)]
        short = dict(labels) if labels is not None else _labels(names)
        f[c] = [v if _missing(v) else short.get(str(v), str(v)) for v in f[c]]
    # a column per judge (the review queue's members) is headed by the judge's short label
    heads = labels if labels is not None else _labels([str(c) for c in f.columns])
    out = pd.DataFrame(
        {heads.get(str(c), c): format_column(f[c].astype(object), digits) for c in f.columns}
    )
    return Table(out.reset_index(drop=True))


def _labels(names: list[str]) -> dict[str, str]:
    """Short labels of the identity strings among ``names`` (others keep their text)."""
    identities = [n for n in dict.fromkeys(names) if n.count("|") >= 2]
    return short_labels(identities) if identities else {}
