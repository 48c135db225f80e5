"""A verdict file checked once: the CLI's pre-kernel check and the kernel share one result.

``judgelab run`` checks a study's inputs in its own process before the notebook's kernel
starts (:mod:`judgelab.inputs`), and the kernel then prepares the same study: both read the
verdict file and check it against the verdict schema (:mod:`judgelab.verdict_schema`), about
5 s CPU each at a million verdicts. The checked, normalised frame is kept as an Arrow IPC
file (uncompressed: written in 0.13 s and read in 0.09 s CPU at a million verdicts, against
1.0 s and 0.5 s for Parquet, for about 300 MB on disk instead of 44 MB) under
:func:`judgelab.config.verdict_cache_dir`, addressed by the sha256 of everything that decides
it:

* the bytes of the verdict source (a SQLite store's ``-wal`` file too);
* the dataset it is checked against (:attr:`judgelab.data.Dataset.sha256`: its files or its
  tables), or none;
* the package's code (every ``.py`` file of judgelab) and the pandas, numpy and pyarrow
  versions.

A changed byte in any of them gives another address, so a stale result is never served.
Only a frame that passed the check is kept: a bad file is refused on every run, from the CLI
or from a notebook opened by hand. The warnings the check gave (identical duplicate rows
dropped) are kept with the frame and given again on every read. A frame Arrow cannot give
back exactly (a text column mixing types, missing values spelled both None and nan, an index
other than 0..n-1) is not kept. The most recently used :data:`judgelab.config.VERDICT_CACHE_KEEP` entries are kept;
``JUDGELAB_VERDICT_CACHE=off`` keeps none.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab import config

__all__ = ["FORMAT", "file_digest", "code_digest", "cached_frame"]

#: bump when the stored layout changes (2: Arrow IPC files, were Parquet)
FORMAT = 2
#: the entries' file suffix; files of the Parquet layout (FORMAT 1) are removed when pruning
SUFFIX = ".arrow"
_OLD_SUFFIXES = (".parquet",)
_META = b"judgelab_verdict_cache"
_CHUNK = 1 << 22


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes; for a SQLite store, of its ``-wal`` file's bytes too (rows
    written but not yet checkpointed live there)."""
    h = hashlib.sha256()
    path = Path(path)
    for p in (path, path.with_name(path.name + "-wal")):
        if p.exists():
            h.update(p.name.encode())
            with open(p, "rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 of every ``.py`` file of the package and the versions of the libraries that
    read and write the frame: any change of code gives new addresses."""
    import pyarrow

    h = hashlib.sha256()
    for p in sorted(config.PACKAGE_DIR.rglob("*.py")):
        h.update(str(p.relative_to(config.PACKAGE_DIR)).encode())
        h.update(p.read_bytes())
    h.update(f"{pd.__version__} {np.__version__} {pyarrow.__version__} {FORMAT}".encode())
    return h.hexdigest()


def cached_frame(parts: dict[str, str | None], compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()``, or the frame it gave before for the same ``parts``.

    Parameters
    ----------
    parts : dict
        What decides the frame besides the code (e.g. ``{"source": file_digest(path),
        "dataset": dataset.sha256}``); :func:`code_digest` is added.
    compute : callable
        Builds the frame; raises on bad input (then nothing is kept).

    Returns
    -------
    DataFrame
        The frame, with its ``attrs``; the warnings ``compute`` gave are given again on a
        read from the cache.
    """
    root = config.verdict_cache_dir()
    if root is None:
        return compute()
    key = json.dumps({**parts, "code": code_digest()}, sort_keys=True)
    path = root / f"{hashlib.sha256(key.encode()).hexdigest()}{SUFFIX}"
    frame = _read(path)
    if frame is not None:
        return frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = compute()
    for w in caught:  # given as compute gave them, under the caller's filters
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _write(path, frame, [w for w in caught if _kept_warning(w)])
    return frame


def _kept_warning(w) -> bool:
    from judgelab.stats.errors import DataWarning

    return issubclass(w.category, DataWarning)


def _column_kinds(frame: pd.DataFrame) -> dict[str, str] | None:
    """Each column's dtype; object columns as ``object:none`` / ``object:nan`` (how missing
    values are spelled). None when Arrow cannot give the frame back exactly."""
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        return None  # read back as 0..n-1
    kinds = {}
    for name, col in frame.items():
        if col.dtype != object:
            kinds[name] = str(col.dtype)
            continue
        if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
            return None  # numbers, bytes or mixed types in a text column
        missing = col.to_numpy()[col.isna().to_numpy()]
        nones = sum(x is None for x in missing)
        if 0 < nones < len(missing):
            return None
        kinds[name] = "object:nan" if len(missing) and not nones else "object:none"
    return kinds


def _write(path: Path, frame: pd.DataFrame, caught: list) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather

    kinds = _column_kinds(frame)
    if kinds is None or not all(isinstance(c, str) for c in frame.columns):
        return
    meta = {
        "kinds": kinds,
        "attrs": frame.attrs,
        "warnings": [[w.category.__name__, str(w.message)] for w in caught],
    }
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _META: json.dumps(meta).encode()}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        # one record batch: read back as one chunk per column, as Parquet's single row group
        # was (a checked frame's text columns come in several chunks; the judgment table took
        # 0.3-0.7 s longer on 8 chunks than on one at a million verdicts)
        feather.write_feather(
            table.combine_chunks(),
            tmp,
            compression="uncompressed",
            chunksize=max(1, table.num_rows),
        )
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    except (OSError, TypeError, ValueError, pa.ArrowException):
        return  # a cache that cannot be written is no cache; the run goes on
    _prune(path.parent)


def _read(path: Path) -> pd.DataFrame | None:
    import pyarrow as pa
    import pyarrow.feather as feather

    if not path.exists():
        return None
    try:
        # not memory-mapped: the frame owns its memory whatever happens to the file later
        table = feather.read_table(path, memory_map=False)
        meta = json.loads(table.schema.metadata[_META])
        frame = table.to_pandas()
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None
    for name, kind in meta["kinds"].items():
        if kind.startswith("object:") and name in frame.columns:
            missing = None if kind == "object:none" else np.nan
            if pa.types.is_null(table.schema.field(name).type):
                # every value missing (e.g. response_id of pairwise verdicts): built at once,
                # not by a where() over a million Python objects
                frame[name] = np.full(len(frame), missing, dtype=object)
                continue
            col = frame[name].astype(object)
            frame[name] = col.where(col.notna(), missing)
    found = {n: str(c.dtype) if c.dtype != object else None for n, c in frame.items()}
    want = {n: None if k.startswith("object:") else k for n, k in meta["kinds"].items()}
    if found != want:  # not the frame that was written: computed again
        return None
    frame.attrs.update(meta["attrs"])
    with contextlib.suppress(OSError):  # pruned by another process meanwhile: read anyway
        os.utime(path)  # most recently used
    _warn_again(meta["warnings"])
    return frame


def _warn_again(kept: list) -> None:
    from judgelab.stats import errors

    for category, message in kept:
        warnings.warn(message, getattr(errors, category, errors.DataWarning), stacklevel=4)


def _prune(root: Path) -> None:
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:  # removed by another process
            return 0.0

    entries = sorted(root.glob(f"*{SUFFIX}"), key=mtime, reverse=True)
    stale = [p for suffix in _OLD_SUFFIXES for p in root.glob(f"*{suffix}")]
    for p in [*entries[config.VERDICT_CACHE_KEEP :], *stale]:
        with contextlib.suppress(OSError):
            p.unlink()
