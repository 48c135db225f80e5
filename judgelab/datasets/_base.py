"""Shared machinery of the dataset loaders: where a dataset's files are, the
download cache, and the in-memory cache of parsed datasets.

A dataset is looked for, in this order (the first place that holds all of its
required files wins):

1. the ``path`` argument: the dataset folder itself, or a directory that contains
   the dataset folder (as the workplace data folder does, see :mod:`judgelab.config`);
2. ``$JUDGELAB_DATA/<folder>`` (``JUDGELAB_DATA`` is a directory of dataset folders);
3. the cache directory ``<cache_dir>/<name>`` (default ``~/.cache/judgelab/<name>``,
   or ``$XDG_CACHE_HOME/judgelab/<name>``), filled by downloading from the dataset's
   public upstream when it is missing and ``download`` is true.

A dataset found nowhere raises :class:`judgelab.data.DataError` naming every place
looked at and how to provide the data.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from judgelab import config
from judgelab.data import DataError, Dataset

ENV_DATA = config.ENV_DATA
USER_AGENT = "judgelab-dataset-loader (+https://github.com/; urllib)"
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Spec:
    """What the registry knows about one dataset (or reference table)."""

    name: str
    folder: str  # folder name under JUDGELAB_DATA (config.real_data_dir)
    required: tuple[str, ...]  # files that must all exist for the folder to count
    kind: str  # "dataset" (-> Dataset) or "reference" (-> Reference)
    licence: str
    description: str
    upstream: str  # human-readable upstream (repository + commit)
    read: Callable[..., Any]  # read(directory: Path, **kw) -> Dataset | Reference
    download: Callable[[Path], None] | None  # download(target_dir) -> None (files written into it)
    # other directories a reader depends on (e.g. a companion folder), part of the memory key
    depends: Callable[[Path], list[Path]] | None = None


@dataclass
class Reference:
    """Aggregate reference tables (no items, no per-item verdicts), e.g. AlpacaEval's
    judge leaderboards. ``tables`` maps a table name to a DataFrame."""

    name: str
    tables: dict[str, pd.DataFrame]
    description: str = ""
    licence: str = ""
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.tables[key]

    def summary(self) -> str:
        return ", ".join(f"{k}={len(v)} rows" for k, v in self.tables.items())


def default_cache_root() -> Path:
    """The dataset download cache (:func:`judgelab.config.dataset_cache_dir`)."""
    return config.dataset_cache_dir()


def has_files(directory: Path, required: tuple[str, ...]) -> bool:
    return directory.is_dir() and all((directory / f).is_file() for f in required)


def candidates(spec: Spec, path=None, cache_dir=None) -> list[tuple[str, Path]]:
    """Places to look, in order, as (how it was chosen, directory)."""
    out: list[tuple[str, Path]] = []
    if path is not None:
        p = Path(path).expanduser()
        out += [("path argument", p), ("path argument", p / spec.folder)]
        return out  # an explicit path is authoritative: never fall back silently
    root = config.data_env_dir()
    if root is not None:
        out += [(f"${ENV_DATA}", root / spec.folder), (f"${ENV_DATA}", root)]
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_root()
    out.append(("cache", root / spec.name))
    return out


def locate(spec: Spec, path=None, cache_dir=None, download: bool = True) -> Path:
    """The directory holding ``spec``'s files (downloading into the cache if allowed)."""
    looked = candidates(spec, path, cache_dir)
    for _how, d in looked:
        if has_files(d, spec.required):
            return d.resolve()
    tried = "; ".join(f"{how}: {d}" for how, d in looked)
    need = ", ".join(spec.required)
    if path is None:
        cache = looked[-1][1]
        if download and spec.download is not None:
            try:
                fetch_into(spec, cache)
                return cache.resolve()
            except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as exc:
                raise DataError(
                    spec.name,
                    None,
                    f"dataset not found (looked in {tried}; needs {need}) and downloading it from "
                    f"{spec.upstream} into {cache} failed: {exc}. Provide it with "
                    f"judgelab.datasets.load('{spec.name}', path=DIR), or set {ENV_DATA} to a directory "
                    f"containing '{spec.folder}/', or run once with internet access",
                ) from exc
        how = (
            "automatic download is not available for this dataset"
            if spec.download is None
            else "download=False was given"
        )
        raise DataError(
            spec.name,
            None,
            f"dataset not found (looked in {tried}; needs {need}); {how}. Provide it with "
            f"judgelab.datasets.load('{spec.name}', path=DIR), or set {ENV_DATA} to a directory containing "
            f"'{spec.folder}/' (upstream: {spec.upstream})",
        )
    raise DataError(
        spec.name,
        None,
        f"no '{spec.name}' data at the given path (looked in {tried}; needs {need}). Pass the dataset "
        f"folder or a directory containing '{spec.folder}/'",
    )


def fetch_into(spec: Spec, target: Path) -> None:
    """Download into a temporary sibling directory, then move into place, so that an
    interrupted download never leaves a half-filled cache that looks complete."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
    try:
        spec.download(tmp)  # type: ignore[misc]
        missing = [f for f in spec.required if not (tmp / f).is_file()]
        if missing:
            raise ValueError(f"download finished without {missing}")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def http_get(url: str, retries: int = 3) -> bytes:
    """GET with a few retries (exponential backoff): public hosts rate-limit bursts."""
    last: Exception | None = None
    for attempt in range(retries):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404, 410):  # not transient: fail at once, naming the URL
                raise urllib.error.URLError(f"{url}: HTTP {exc.code}") from exc
            last = exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = exc
        time.sleep(2**attempt)
    raise urllib.error.URLError(f"{url}: {last}")


def sha256_of_files(paths) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- in-memory cache
_MEMORY: dict[tuple, Any] = {}


def memory_key(spec: Spec, directory: Path, extra: tuple = ()) -> tuple:
    """Key on the directories read and their files' size and mtime, so edited data is re-read."""
    dirs = [directory, *(spec.depends(directory) if spec.depends else [])]
    stats = []
    for d in dirs:
        if d is None or not Path(d).is_dir():
            continue
        for p in sorted(Path(d).iterdir()):
            if p.is_file():
                st = p.stat()
                stats.append((str(p), st.st_size, st.st_mtime_ns))
    return (spec.name, str(directory), tuple(stats), extra)


def remember(key: tuple, obj: Any) -> None:
    _MEMORY[key] = obj


def recall(key: tuple) -> Any | None:
    obj = _MEMORY.get(key)
    return None if obj is None else fresh_copy(obj)


def clear_memory() -> None:
    _MEMORY.clear()


def fresh_copy(obj: Any) -> Any:
    """A copy whose tables can be modified without touching the cached one.
    ``copy.copy`` skips ``Dataset.__post_init__`` (id normalisation and hashing were done)."""
    new = copy.copy(obj)
    if isinstance(obj, Dataset):
        for name, df in obj.tables().items():
            setattr(new, name, df.copy())
        new.meta = copy.deepcopy(obj.meta)
    elif isinstance(obj, Reference):
        new.tables = {k: v.copy() for k, v in obj.tables.items()}
        new.meta = copy.deepcopy(obj.meta)
    return new


def require_columns(df: pd.DataFrame, columns, table: str) -> None:
    """Source files are checked before mapping, so a changed upstream format fails clearly."""
    for col in columns:
        if col not in df.columns:
            raise DataError(
                table, col, f"missing column in source file (columns present: {list(df.columns)})"
            )
