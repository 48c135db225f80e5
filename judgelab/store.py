"""The verdict store: one SQLite file recording every call, every parsed verdict and run membership.

Design (docs/design.md#llm-calls):

* SQLite in WAL mode with ``synchronous=NORMAL`` (a commit survives a killed process; only
  an OS crash can lose the last transactions), ``busy_timeout`` so that several processes
  can share one store, ``PRAGMA user_version`` as the schema version.
* One writer thread per store object owns the only write connection; writes queued from
  any thread or event loop are committed in batches (one transaction per batch), which
  keeps SQLite's single-writer rule without blocking the event loop. Reads use one
  connection per thread (WAL readers never block the writer).
* ``calls``: one row per distinct request, keyed by its *address* (sha256 of model, route,
  messages, request parameters except credentials and timeouts, sample index; computed in
  :mod:`judgelab.llm`). A call is committed as ``pending`` *before* it is sent
  (:meth:`VerdictStore.claim`), then ``done`` or ``failed``. A rerun sends only calls not
  done; a call found ``pending`` was in flight when a process died, and re-sending it is
  counted as *re-paid*.
* ``verdicts``: (address, judge_version, context) -> parsed choice, winner, score,
  sections, parse_ok. Judges that differ only in their parser share calls, not verdicts.
  ``context`` names the judged pair / response so that identical texts of different
  responses never overwrite each other.
* ``run_calls``: run_id, address, judge_version, context, cached (this run did not pay),
  repaid (this run re-sent a call left pending by a killed run).
* ``runs``: one row per run with its summary (JSON).

API keys never reach the store: the request stored is messages + parameters only, and
error texts are redacted by :mod:`judgelab.llm` before they are written.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import json
import os
import queue
import random
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from judgelab import config
from judgelab.data import VERDICT_COLUMNS

__all__ = ["VerdictStore", "StoreError", "SCHEMA_VERSION", "FRAME_COLUMNS"]

SCHEMA_VERSION = 1

#: Columns of :meth:`VerdictStore.to_frame` (docs/design.md "Verdict frame").
FRAME_COLUMNS = [
    *VERDICT_COLUMNS,
    "verdict",
    "judge_verdict",
    "sections",
    "p_a",
    "p_b",
    "p_tie",
    "margin",
    "p_truncated",
    "cost_usd",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "address",
    "run_id",
    "cached",
    "status",
    "error",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    address TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    route TEXT,
    backend TEXT,
    sample INTEGER,
    request TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    raw_output TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost_usd REAL,
    latency_s REAL,
    p_a REAL, p_b REAL, p_tie REAL, margin REAL, p_truncated TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sends INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    created_at REAL,
    updated_at REAL
);
CREATE TABLE IF NOT EXISTS verdicts (
    address TEXT NOT NULL,
    judge_version TEXT NOT NULL,
    context TEXT NOT NULL,
    model TEXT NOT NULL,
    judge_family TEXT,
    protocol TEXT NOT NULL,
    item_id TEXT,
    response_a TEXT,
    response_b TEXT,
    response_id TEXT,
    "order" TEXT,
    sample INTEGER,
    choice TEXT,
    winner TEXT,
    score REAL,
    verdict TEXT,
    judge_verdict TEXT,
    sections TEXT,
    parse_ok INTEGER NOT NULL,
    parse_error TEXT,
    run_id TEXT,
    created_at REAL,
    PRIMARY KEY (address, judge_version, context)
);
CREATE INDEX IF NOT EXISTS verdicts_version ON verdicts (judge_version);
CREATE TABLE IF NOT EXISTS run_calls (
    run_id TEXT NOT NULL,
    address TEXT NOT NULL,
    judge_version TEXT NOT NULL,
    context TEXT NOT NULL,
    cached INTEGER NOT NULL,
    repaid INTEGER NOT NULL DEFAULT 0,
    created_at REAL,
    PRIMARY KEY (run_id, address, judge_version, context)
);
CREATE INDEX IF NOT EXISTS run_calls_address ON run_calls (address);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    protocol TEXT,
    started_at REAL,
    finished_at REAL,
    summary TEXT
);
"""

_VERDICT_FIELDS = (
    "address",
    "judge_version",
    "context",
    "model",
    "judge_family",
    "protocol",
    "item_id",
    "response_a",
    "response_b",
    "response_id",
    "order",
    "sample",
    "choice",
    "winner",
    "score",
    "verdict",
    "judge_verdict",
    "sections",
    "parse_ok",
    "parse_error",
    "run_id",
)

_CALL_RESULT_FIELDS = (
    "backend",
    "raw_output",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
    "p_a",
    "p_b",
    "p_tie",
    "margin",
    "p_truncated",
    "error",
    "attempts",
)

BUSY_TIMEOUT_MS = 60_000

# stores still open at interpreter exit are flushed while their writer threads still run
_OPEN: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:
    for st in list(_OPEN):
        try:
            st.close()
        except Exception:
            pass


class StoreError(RuntimeError):
    """The store cannot be used (filesystem without WAL, newer schema, closed store)."""


_OWNER: dict[int, str] = {}


def owner_tag() -> str:
    """host:pid of this process (recorded on pending calls; cached per pid, forks differ)."""
    pid = os.getpid()
    if pid not in _OWNER:
        _OWNER[pid] = f"{socket.gethostname()}:{pid}"
    return _OWNER[pid]


def context_key(item_id=None, response_a=None, response_b=None, response_id=None) -> str:
    """What a verdict is about: ``item|a|b`` for a pair, ``item|id`` for one response."""
    if response_a is not None:
        return f"{item_id}|{response_a}|{response_b}"
    return f"{item_id}|{response_id}"


class _Writer(threading.Thread):
    """The store's only write connection; runs queued operations in batched transactions."""

    BATCH = 512

    def __init__(self, path: str):
        super().__init__(name=f"judgelab-store-writer:{Path(path).name}", daemon=True)
        self.path = path
        self.q: queue.Queue = queue.Queue()
        self.ready = cf.Future()

    def run(self):
        try:
            con = _connect(self.path)
            _retry_locked(lambda: _init_schema(con))
        except BaseException as exc:  # reported to the constructor
            self.ready.set_exception(exc)
            return
        self.ready.set_result(True)
        stop = False
        while not stop:
            item = self.q.get()
            batch = [item]
            while len(batch) < self.BATCH:
                try:
                    batch.append(self.q.get_nowait())
                except queue.Empty:
                    break
            ops = []
            for it in batch:
                if it is None:
                    stop = True
                else:
                    ops.append(it)
            if ops:
                self._run_batch(con, ops)
        con.close()

    @staticmethod
    def _run_batch(con: sqlite3.Connection, ops: list[tuple[Callable, cf.Future]]):
        results: list[tuple[cf.Future, Any, BaseException | None]] = []
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for _fn, fut in ops:
                fut.set_exception(StoreError(f"could not start a write transaction: {exc}"))
            return
        # savepoints isolate operations of a batch; a lone operation rolls back alone
        single = len(ops) == 1
        for fn, fut in ops:
            try:
                if not single:
                    con.execute("SAVEPOINT op")
                res = fn(con)
                if not single:
                    con.execute("RELEASE op")
                results.append((fut, res, None))
            except BaseException as exc:  # one bad operation must not lose the batch
                try:
                    con.execute("ROLLBACK TO op" if not single else "ROLLBACK")
                    if not single:
                        con.execute("RELEASE op")
                except sqlite3.Error:
                    pass
                if single:
                    fut.set_exception(exc)
                    return
                results.append((fut, None, exc))
        try:
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            for fut, _, _ in results:
                fut.set_exception(StoreError(f"commit failed: {exc}"))
            return
        for fut, res, exc in results:
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(res)


def _retry_locked(operation: Callable[[], Any]) -> Any:
    """``operation()``, retried with jittered backoff while SQLite answers "database is locked".

    SQLite does not always wait on busy_timeout: the switch to WAL and the first schema
    transaction on a new file can fail at once while another process does the same (several
    ``judgelab demo`` workers opening one fresh store). Retried for up to BUSY_TIMEOUT_MS."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if not ("locked" in text or "busy" in text) or time.monotonic() >= deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(2 * delay, 0.25)


def _connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    mode = _retry_locked(lambda: con.execute("PRAGMA journal_mode=WAL").fetchone()[0])
    if str(mode).lower() != "wal":
        con.close()
        raise StoreError(
            f"the verdict store {path} cannot use SQLite's write-ahead log (journal_mode is '{mode}'). "
            "This happens on filesystems without shared-memory locking (network filesystems such as "
            "NFS or SMB, some container mounts). Put the store on a local disk, e.g. "
            f"store='{config.DEFAULT_STORE}' under a local working directory."
        )
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    return con


def _init_schema(con: sqlite3.Connection) -> None:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"store schema version {version} is newer than this judgelab understands ({SCHEMA_VERSION}); "
            "upgrade judgelab"
        )
    if version < SCHEMA_VERSION:
        con.execute("BEGIN IMMEDIATE")
        try:
            # statement by statement: executescript could commit the open transaction
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                con.execute(stmt)
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    _add_columns(con)


#: Columns added to a table after its schema version was set: additive (an older judgelab
#: reads the store unchanged, it names the columns it selects), so no version bump.
_ADDED_COLUMNS = {"calls": (("p_truncated", "TEXT"),)}


def _add_columns(con: sqlite3.Connection) -> None:
    """Add the :data:`_ADDED_COLUMNS` a store created before them lacks (once, under the
    write lock, so that two processes opening the store do not both add a column)."""

    def missing():
        out = []
        for table, cols in _ADDED_COLUMNS.items():
            have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
            out += [(table, c, t) for c, t in cols if c not in have]
        return out

    if not missing():
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        for table, c, t in missing():
            con.execute(f"ALTER TABLE {table} ADD COLUMN {c} {t}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class VerdictStore:
    """SQLite verdict store (see the module docstring). ``VerdictStore("runs/verdicts.sqlite")``.

    The store is safe to share between threads and processes; call :meth:`close` (or use it as
    a context manager) to flush queued writes. Writes queued but not committed when the process
    is killed are lost, and the affected calls stay ``pending`` (re-sent and counted as re-paid).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _Writer(str(self.path))
        self._writer.start()
        self._writer.ready.result()
        self._local = threading.local()
        self._closed = False
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        _OPEN.add(self)

    # ---------------------------------------------------------------- basics
    def __repr__(self) -> str:
        return f"VerdictStore({str(self.path)!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # never block in a finaliser: ask the writer to stop after the queued writes
        try:
            if not self._closed:
                self._closed = True
                self._writer.q.put(None)
        except Exception:
            pass

    def _reader(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self._closed:
                raise StoreError(f"{self!r} is closed")
            con = _connect(str(self.path))
            self._local.con = con
            with self._lock:
                self._readers.append(con)
        return con

    def submit(self, fn: Callable[[sqlite3.Connection], Any]) -> cf.Future:
        """Queue a write operation ``fn(connection)``; the future resolves after its commit."""
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        fut: cf.Future = cf.Future()
        self._writer.q.put((fn, fut))
        return fut

    def flush(self, timeout: float | None = 600) -> None:
        """Wait until every write queued so far is committed."""
        self.submit(lambda con: None).result(timeout=timeout)

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._writer.q.put(None)
        self._writer.join(timeout=30)
        with self._lock:
            for con in self._readers:
                try:
                    con.close()
                except sqlite3.Error:
                    pass
            self._readers.clear()

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        """A read-only SQL query as a DataFrame (for inspection and tests)."""
        cur = self._reader().execute(sql, params)
        cols = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)

    # ------------------------------------------------------------------ calls
    def call_status(self, addresses: Iterable[str]) -> dict[str, str]:
        """address -> status for the addresses present in the store."""
        addresses = list(dict.fromkeys(addresses))
        out: dict[str, str] = {}
        con = self._reader()
        for i in range(0, len(addresses), 900):  # SQLite's host-parameter limit
            chunk = addresses[i : i + 900]
            q = f"SELECT address, status FROM calls WHERE address IN ({','.join('?' * len(chunk))})"
            out.update(dict(con.execute(q, chunk).fetchall()))
        return out

    def get_calls(self, addresses: Iterable[str]) -> dict[str, dict]:
        """address -> the stored call row (as a dict)."""
        addresses = list(dict.fromkeys(addresses))
        out: dict[str, dict] = {}
        con = self._reader()
        for i in range(0, len(addresses), 900):
            chunk = addresses[i : i + 900]
            cur = con.execute(
                f"SELECT * FROM calls WHERE address IN ({','.join('?' * len(chunk))})", chunk
            )
            cols = [d[0] for d in cur.description]
            for row in cur.fetchall():
                d = dict(zip(cols, row))
                out[d["address"]] = d
        return out

    def claim(
        self, address: str, model: str, route: str, backend: str, sample: int, request: str
    ) -> cf.Future:
        """Record the call as pending before sending it; resolves to the status it had before.

        ``done`` means another process finished it meanwhile: do not send. ``pending`` means
        a previous run sent it and died (or another process is sending it now): re-paid."""
        owner, now = owner_tag(), time.time()

        def op(con: sqlite3.Connection):
            row = con.execute("SELECT status FROM calls WHERE address = ?", (address,)).fetchone()
            prev = row[0] if row else None
            if prev == "done":
                return prev
            if row is None:
                con.execute(
                    "INSERT INTO calls (address, model, route, backend, sample, request, status, sends, owner,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?)",
                    (address, model, route, backend, sample, request, owner, now, now),
                )
            else:
                con.execute(
                    "UPDATE calls SET status = 'pending', sends = sends + 1, owner = ?, updated_at = ?,"
                    " error = NULL WHERE address = ?",
                    (owner, now, address),
                )
            return prev

        return self.submit(op)

    def finish(self, address: str, status: str, result: dict, _op_only: bool = False):
        """Record a call's outcome (``done`` or ``failed``) with its result fields."""
        if status not in ("done", "failed"):
            raise ValueError(f"status must be done or failed, not {status!r}")
        # only the fields given: a failure without a backend keeps the one recorded at claim
        keys = [k for k in _CALL_RESULT_FIELDS if k in result]
        vals = [int(result[k] or 0) if k == "attempts" else _sql_value(result[k]) for k in keys]
        sets = "".join(f", {k} = ?" for k in keys)

        def op(con: sqlite3.Connection):
            con.execute(
                f"UPDATE calls SET status = ?{sets}, updated_at = ? WHERE address = ?",
                (status, *vals, time.time(), address),
            )

        return op if _op_only else self.submit(op)

    # ----------------------------------------------------------- verdicts, runs
    def put_verdicts(self, rows: Sequence[dict], _op_only: bool = False):
        """Insert or replace verdict rows (keys: see ``_VERDICT_FIELDS``)."""
        now = time.time()
        data = [tuple(_sql_value(r.get(k)) for k in _VERDICT_FIELDS) + (now,) for r in rows]
        cols = ", ".join(f'"{k}"' for k in _VERDICT_FIELDS)
        ph = ", ".join("?" * (len(_VERDICT_FIELDS) + 1))

        def op(con: sqlite3.Connection):
            con.executemany(
                f"INSERT OR REPLACE INTO verdicts ({cols}, created_at) VALUES ({ph})", data
            )

        return op if _op_only else self.submit(op)

    def put_run_calls(self, rows: Sequence[dict], _op_only: bool = False):
        """Record run membership: run_id, address, judge_version, context, cached, repaid."""
        now = time.time()
        data = [
            (
                r["run_id"],
                r["address"],
                r["judge_version"],
                r["context"],
                int(r["cached"]),
                int(r.get("repaid", 0)),
                now,
            )
            for r in rows
        ]

        def op(con: sqlite3.Connection):
            con.executemany(
                "INSERT INTO run_calls (run_id, address, judge_version, context, cached, repaid, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, address, judge_version, context) DO UPDATE"
                " SET cached = min(cached, excluded.cached), repaid = max(repaid, excluded.repaid)",
                data,
            )

        return op if _op_only else self.submit(op)

    def record(
        self,
        address: str,
        status: str | None,
        result: dict | None,
        verdict_rows: Sequence[dict],
        run_rows: Sequence[dict],
    ) -> cf.Future:
        """A call's outcome (unless ``status`` is None), its verdicts and run membership,
        committed together (one queued operation per call keeps the writer cheap)."""
        ops = []
        if status is not None:
            ops.append(self.finish(address, status, result or {}, _op_only=True))
        ops.append(self.put_verdicts(verdict_rows, _op_only=True))
        ops.append(self.put_run_calls(run_rows, _op_only=True))

        def op(con: sqlite3.Connection):
            for o in ops:
                o(con)

        return self.submit(op)

    def start_run(self, run_id: str, protocol: str) -> cf.Future:
        now = time.time()

        def op(con):
            con.execute(
                "INSERT INTO runs (run_id, protocol, started_at) VALUES (?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
                (run_id, protocol, now),
            )

        return self.submit(op)

    def finish_run(self, run_id: str, summary: dict) -> cf.Future:
        text, now = json.dumps(summary, default=str), time.time()

        def op(con):
            con.execute(
                "UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?", (now, text, run_id)
            )

        return self.submit(op)

    def runs(self) -> pd.DataFrame:
        """Runs recorded in the store with their summaries."""
        return self.query(
            "SELECT run_id, protocol, started_at, finished_at, summary FROM runs ORDER BY started_at"
        )

    # ------------------------------------------------------------------ frames
    def to_frame(
        self,
        model: str | Sequence[str] | None = None,
        backend: str | Sequence[str] | None = None,
        judge_version: str | Sequence[str] | None = None,
        run_id: str | Sequence[str] | None = None,
        protocol: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The tidy verdict table (:data:`FRAME_COLUMNS`), optionally filtered.

        With ``run_id``, rows are the verdicts of that run's calls and ``cached`` says whether
        the run paid for them; without it, ``run_id`` is the run that last wrote the verdict
        and ``cached`` is null."""
        where, params = [], []
        for col, val in (
            ("v.model", model),
            ("c.backend", backend),
            ("v.judge_version", judge_version),
            ("v.protocol", protocol),
        ):
            if val is not None:
                vals = [val] if isinstance(val, str) else list(val)
                where.append(f"{col} IN ({','.join('?' * len(vals))})")
                params += vals
        if run_id is not None:
            runs = [run_id] if isinstance(run_id, str) else list(run_id)
            join = (
                "JOIN run_calls rc ON rc.address = v.address AND rc.judge_version = v.judge_version"
                " AND rc.context = v.context"
            )
            where.append(f"rc.run_id IN ({','.join('?' * len(runs))})")
            params += runs
            run_cols = "rc.run_id AS run_id, rc.cached AS cached"
        else:
            join, run_cols = "", "v.run_id AS run_id, NULL AS cached"
        sql = f"""
            SELECT v.model, c.backend, v.judge_version, v.judge_family, v.protocol, v.item_id,
                   v.response_a, v.response_b, v.response_id, v."order", v.sample, c.raw_output,
                   v.choice, v.winner, v.score, v.parse_ok, v.verdict, v.judge_verdict, v.sections,
                   c.p_a, c.p_b, c.p_tie, c.margin, c.p_truncated, c.cost_usd, c.latency_s, c.prompt_tokens,
                   c.completion_tokens, v.address, {run_cols}, c.status,
                   COALESCE(c.error, v.parse_error) AS error
            FROM verdicts v JOIN calls c ON c.address = v.address {join}
            {"WHERE " + " AND ".join(where) if where else ""}
            ORDER BY v.model, v.judge_version, v.item_id, v.context, v."order", v.sample
        """
        df = self.query(sql, params)
        return _typed_frame(df)

    def identities(self) -> pd.DataFrame:
        """One row per identity (model, backend, judge_version) and protocol with counts and cost."""
        df = self.query(
            """
            SELECT v.model, c.backend, v.judge_version, v.judge_family, v.protocol,
                   COUNT(*) AS n_verdicts, SUM(v.parse_ok) AS n_parsed,
                   SUM(c.status = 'failed') AS n_failed, COUNT(DISTINCT v.address) AS n_calls,
                   MIN(v.created_at) AS first_at, MAX(v.created_at) AS last_at
            FROM verdicts v JOIN calls c ON c.address = v.address
            GROUP BY v.model, c.backend, v.judge_version, v.judge_family, v.protocol
            ORDER BY v.model, c.backend, v.judge_version, v.protocol
            """
        )
        cost = self.query(
            """
            SELECT model, backend, judge_version, protocol, SUM(cost_usd) AS cost_usd FROM (
                SELECT DISTINCT v.address, v.model, c.backend, v.judge_version, v.protocol, c.cost_usd
                FROM verdicts v JOIN calls c ON c.address = v.address)
            GROUP BY model, backend, judge_version, protocol
            """
        )
        df = df.merge(cost, on=["model", "backend", "judge_version", "protocol"], how="left")
        df["identity"] = df["model"] + "|" + df["backend"].fillna("") + "|" + df["judge_version"]
        return df

    def export(self, path: str | os.PathLike, **filters) -> list[Path]:
        """Write :meth:`to_frame` (with ``filters``) to ``.csv`` or ``.parquet`` by suffix; a path
        without one of these suffixes gets both. Returns the files written."""
        path = Path(path)
        df = self.to_frame(**filters)
        suffix = path.suffix.lower()
        targets = (
            [path]
            if suffix in (".csv", ".parquet")
            else [path.with_suffix(".csv"), path.with_suffix(".parquet")]
        )
        for t in targets:
            t.parent.mkdir(parents=True, exist_ok=True)
            if t.suffix.lower() == ".csv":
                df.to_csv(t, index=False)
            else:
                df.to_parquet(t, index=False)
        return targets

    def stats(self) -> dict[str, int]:
        """Counts of calls by status, verdicts and run memberships."""
        con = self._reader()
        out = {s: 0 for s in ("pending", "done", "failed")}
        out.update(
            dict(con.execute("SELECT status, COUNT(*) FROM calls GROUP BY status").fetchall())
        )
        out["verdicts"] = con.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        out["run_calls"] = con.execute("SELECT COUNT(*) FROM run_calls").fetchone()[0]
        return out


def _sql_value(v):
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _typed_frame(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=FRAME_COLUMNS)
    df["parse_ok"] = df["parse_ok"].fillna(0).astype(bool)
    df["sample"] = df["sample"].astype("Int64")
    for c in ("prompt_tokens", "completion_tokens"):
        df[c] = df[c].astype("Int64")
    for c in ("score", "p_a", "p_b", "p_tie", "margin", "cost_usd", "latency_s"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["cached"] = (
        df["cached"].map(lambda x: None if x is None or x != x else bool(x)).astype(object)
    )
    return df
