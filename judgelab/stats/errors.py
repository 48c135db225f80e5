"""Errors of the statistics layer (imported by :mod:`judgelab.data`, which re-exports them)."""

from __future__ import annotations

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
