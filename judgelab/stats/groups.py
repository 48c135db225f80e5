"""Group numbers of rows by integer code columns: the one rule the coded paths (the queue's
disagreement, the modal votes, the order aggregation, the judge/human pair join) number
their groups by."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["group_numbers"]


def group_numbers(columns, sort: bool = False) -> np.ndarray:
    """The group number of each row by non-negative integer ``columns`` (equal-length arrays,
    at least one): numbered in order of first appearance, or (``sort``) in the sorted order
    of the codes, column by column. The columns are combined one at a time (the number so
    far times the next column's radix, plus its code, renumbered densely), so no product of
    radices can overflow."""
    g = None
    for col in columns:
        col = np.asarray(col).astype(np.int64, copy=False)
        g = col if g is None else g * (int(col.max(initial=0)) + 1) + col
        g = pd.factorize(g, sort=sort)[0].astype(np.int64)
    if g is None:
        raise ValueError("group_numbers needs at least one column")
    return g
