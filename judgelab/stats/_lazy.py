"""Names of a package imported on first use (PEP 562), for :mod:`judgelab` and
:mod:`judgelab.stats`: their statistics import scipy.stats and statsmodels (about 1.5 s CPU),
which the ``judgelab`` command's checks before the kernel starts never need."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping


def lazy_attributes(
    package: str,
    namespace: dict,
    submodules: Iterable[str],
    names: Mapping[str, str],
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose module globals are ``namespace``:
    a name of ``submodules`` is the submodule ``package.<name>``; a name of ``names`` (name ->
    the module it lives in) is imported from its module on first use and kept in
    ``namespace``, so later lookups are plain attribute reads."""
    submodules = frozenset(submodules)

    def __getattr__(name: str):
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
