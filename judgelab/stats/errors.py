"""The error of bad input data, defined at the bottom of the package tree.

:class:`DataError` lives here so that :mod:`judgelab.stats` imports nothing above itself;
:mod:`judgelab.data` re-exports it (``judgelab.data.DataError`` and ``judgelab.DataError``
are this class).
"""

from __future__ import annotations

__all__ = ["DataError", "DataWarning", "MAX_ROWS_SHOWN"]

#: A DataError message lists at most this many offending rows.
MAX_ROWS_SHOWN = 10


class DataError(ValueError):
    """Bad input: the message names the table, the column and up to 10 rows."""

    def __init__(self, table: str, column: str | None, problem: str, rows=None):
        self.table, self.column, self.problem = table, column, problem
        self.rows = list(rows)[:MAX_ROWS_SHOWN] if rows is not None else []
        where = f"table '{table}'" + (f", column '{column}'" if column else "")
        msg = f"{where}: {problem}"
        if self.rows:
            n_more = (len(list(rows)) - len(self.rows)) if rows is not None else 0
            msg += f"; rows {self.rows}" + (f" (and {n_more} more)" if n_more > 0 else "")
        super().__init__(msg)


class DataWarning(UserWarning):
    """Data that can still be analysed but deserves attention (e.g. empty texts, identical
    duplicate verdicts dropped)."""
