"""Registered public judge datasets, loaded into judgelab's tables.

>>> from judgelab import datasets
>>> datasets.registered()
['mt_bench_human', 'llmbar', 'judging_the_judges']
>>> ds = datasets.load("llmbar")                   # a judgelab.data.Dataset
>>> ref = datasets.load_reference("alpaca_eval_judges")   # aggregate tables only

Datasets (``load`` -> :class:`judgelab.data.Dataset`, also reachable through
``jl.load_dataset(name)``):

* ``mt_bench_human``: MT-Bench expert/author pairwise votes, turn 1 (CC BY 4.0)
* ``llmbar``: LLMBar instances, gold/human labels, 6 judges x 15 strategies (MIT)
* ``judging_the_judges``: Shi et al.'s MT-Bench / DevBench verdicts in both orders (MIT)

Reference tables (``load_reference`` -> :class:`Reference`; no items, so not a Dataset):
``alpaca_eval_judges``, AlpacaEval judge leaderboards (CC BY-NC 4.0, non-commercial).
``load("alpaca_eval_judges")`` raises a DataError that points to ``load_reference``.

Where the files are looked for (first hit wins): the ``path`` argument (the dataset
folder or a directory containing it), ``$JUDGELAB_DATA/<folder>``, then the cache
``<cache_dir or ~/.cache/judgelab>/<name>``, downloaded from the public upstream when
missing and ``download=True`` (the default). Downloads exist for ``mt_bench_human``,
``llmbar`` (without the derived MT-Bench model links) and ``alpaca_eval_judges``; they
need internet access; the tests run them against a fake HTTP layer only. A dataset found nowhere
raises :class:`judgelab.data.DataError` naming every place looked and how to provide it.
Parsed datasets are kept in memory per directory (keyed on file sizes and mtimes); each
call returns a fresh copy. See docs/datasets.md for the column mappings and licences.
"""

from __future__ import annotations

from pathlib import Path

from judgelab.data import DataError, Dataset, demo_data_dir, load_dataset_dir
from judgelab.datasets import _base
from judgelab.datasets._base import Reference, clear_memory

__all__ = [
    "load_dataset",
    "registered",
    "references",
    "load",
    "load_reference",
    "locate",
    "info",
    "Reference",
    "clear_memory",
]


def load_dataset(name_or_path, **kwargs) -> Dataset:
    """Load ``demo``, a registered dataset name (:func:`registered`) or a dataset directory.

    A mapping ``{name: <registered name>, <option>: <value>, ...}`` passes reader options
    (e.g. ``{name: llmbar, mtbench_votes: true}``), so a study's ``dataset`` parameter can
    ask for them. A :class:`Dataset` is returned as it is."""
    if isinstance(name_or_path, Dataset):
        return name_or_path
    if isinstance(name_or_path, dict):
        options = dict(name_or_path)
        name = options.pop("name", None)
        if not name:
            raise DataError(
                "dataset",
                None,
                f"a dataset mapping needs 'name' (a registered dataset): {name_or_path!r}",
            )
        return load_dataset(name, **{**options, **kwargs})
    key = str(name_or_path)
    if key == "demo":
        return load_dataset_dir(demo_data_dir())
    if key in registered():
        return load(key, **kwargs)
    path = Path(key).expanduser()
    if path.is_dir():
        return load_dataset_dir(path)
    raise DataError(
        "dataset",
        None,
        f"'{key}' is neither a registered dataset ({', '.join(['demo', *registered()])}) nor a dataset directory",
    )


def _specs() -> dict[str, _base.Spec]:
    # the readers are imported on first use: listing the names must stay cheap
    from judgelab.datasets import (
        alpaca_eval_judges,
        arena_judge_picks,
        hanna_story_ratings,
        judging_the_judges,
        llmbar,
        mt_bench_gpt4_pair,
        mt_bench_human,
    )

    out = {}
    for mod, kind, required in (
        (mt_bench_human, "dataset", (mt_bench_human.VOTES_FILE,)),
        (llmbar, "dataset", llmbar.REQUIRED),
        (judging_the_judges, "dataset", judging_the_judges.REQUIRED),
        (mt_bench_gpt4_pair, "dataset", mt_bench_gpt4_pair.REQUIRED),
        (arena_judge_picks, "dataset", arena_judge_picks.REQUIRED),
        (hanna_story_ratings, "dataset", hanna_story_ratings.REQUIRED),
        (alpaca_eval_judges, "reference", alpaca_eval_judges.REQUIRED),
    ):
        out[mod.NAME] = _base.Spec(
            name=mod.NAME,
            folder=mod.FOLDER,
            required=tuple(required),
            kind=kind,
            licence=mod.LICENCE,
            description=mod.DESCRIPTION,
            upstream=mod.UPSTREAM,
            read=mod.read,
            download=getattr(mod, "download", None),
            depends=getattr(mod, "depends", None),
        )
    return out


def registered() -> list[str]:
    """Names loadable as a :class:`Dataset` with :func:`load` (and ``jl.load_dataset``)."""
    return [n for n, s in _specs().items() if s.kind == "dataset"]


def references() -> list[str]:
    """Names of aggregate reference tables, loadable with :func:`load_reference`."""
    return [n for n, s in _specs().items() if s.kind == "reference"]


def info(name: str) -> dict:
    """Folder, required files, licence, description and upstream of a registered name."""
    s = _spec(name)
    return {
        "name": s.name,
        "kind": s.kind,
        "folder": s.folder,
        "required": list(s.required),
        "licence": s.licence,
        "description": s.description,
        "upstream": s.upstream,
        "download": s.download is not None,
    }


def _spec(name: str) -> _base.Spec:
    specs = _specs()
    if name not in specs:
        raise DataError(
            "dataset", None, f"unknown dataset '{name}' (registered: {', '.join(specs)})"
        )
    return specs[name]


def locate(name: str, path=None, cache_dir=None, download: bool = True) -> Path:
    """The directory that holds ``name``'s files (see the module docstring for the order)."""
    return _base.locate(_spec(name), path=path, cache_dir=cache_dir, download=download)


def load(name: str, path=None, cache_dir=None, download: bool = True, **kw) -> Dataset:
    """Load a registered dataset into judgelab's tables.

    ``path``: the dataset folder or a directory containing it; else ``$JUDGELAB_DATA``;
    else the cache (``cache_dir``/<name>, default ``~/.cache/judgelab/<name>``), filled
    from the public upstream when ``download`` is true. Extra keyword arguments go to the
    dataset's reader (``mt_bench_human``: ``companion=`` the Judging-the-Judges folder
    with the MT-Bench questions and answers)."""
    spec = _spec(name)
    if spec.kind != "dataset":
        raise DataError(
            name,
            None,
            f"'{name}' is a reference table of aggregate statistics (no items or verdicts), not a Dataset: "
            f"use judgelab.datasets.load_reference('{name}')",
        )
    return _load(spec, path, cache_dir, download, kw)


def load_reference(name: str, path=None, cache_dir=None, download: bool = True) -> Reference:
    """Load an aggregate reference table (``alpaca_eval_judges``) as a :class:`Reference`."""
    spec = _spec(name)
    if spec.kind != "reference":
        raise DataError(
            name,
            None,
            f"'{name}' is a dataset, not a reference table: use judgelab.datasets.load('{name}')",
        )
    return _load(spec, path, cache_dir, download, {})


def _load(spec: _base.Spec, path, cache_dir, download, kw):
    directory = _base.locate(spec, path=path, cache_dir=cache_dir, download=download)
    key = _base.memory_key(spec, directory, tuple(sorted((k, str(v)) for k, v in kw.items())))
    hit = _base.recall(key)
    if hit is not None:
        return hit
    obj = spec.read(directory, **kw)
    _base.remember(key, obj)
    return _base.fresh_copy(obj)
