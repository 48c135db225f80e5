"""The declaration types: :class:`Parameter`, :class:`Figure` and :class:`Study`, and the
errors of a declaration or of parameters that do not fit it."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.studies import StudyContext

__all__ = ["TYPES", "Parameter", "Figure", "Study", "StudyDeclarationError", "StudyParameterError"]

#: Parameter types: how a value is checked and shown.
TYPES = ("str", "int", "float", "bool", "mapping", "list", "judges", "dataset", "any")


class StudyDeclarationError(ValueError):
    """A study declaration that cannot be registered or loaded."""


class StudyParameterError(ValueError):
    """Parameters that do not fit a study's declaration; ``problems`` lists each one."""

    def __init__(self, study: str, problems: list[str]):
        self.study, self.problems = study, problems
        super().__init__(f"study '{study}': " + "; ".join(problems))


#: What a value of each type looks like, as the error of a bad value says it.
_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "mapping": "a mapping",
    "list": "a list",
    "judges": "a panel name (panel:<name>), a model string, or a list of models / Judge mappings",
    "dataset": "a dataset name or directory",
    "any": "any value",
}


@dataclass(frozen=True)
class Parameter:
    """One study parameter: type, allowed values (``choices``) or ``range`` (bounds, None for
    open; inclusive unless ``exclusive`` says which end is not), default and help.
    ``nullable``: None is allowed. ``items``: for a ``list``, the type of every element (a
    scalar type of :data:`TYPES`); ``choices`` and ``range`` then apply to each element and the
    list must not be empty (a list of guarantees with none in it would answer nothing)."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple | None = None
    range: tuple[float | None, float | None] | None = None
    nullable: bool = False
    exclusive: tuple[bool, bool] = (False, False)
    items: str | None = None

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")
        if self.items is not None and (
            self.type != "list" or self.items not in ("str", "int", "float", "bool")
        ):
            raise ValueError(
                f"parameter {self.name}: items={self.items!r} needs type 'list' and a scalar "
                "element type (str, int, float, bool)"
            )

    def _element(self) -> Parameter:
        """The declaration one element of an ``items`` list must fit."""
        return dataclasses.replace(self, type=self.items, items=None, default=0, nullable=False)

    def accepts(self) -> str:
        """What the parameter accepts, in words: ``an integer >= 1``, ``one of class, drop``,
        ``a number in (0, 1)``, ``..., or null``."""
        if self.items is not None:
            each = self._element().accepts()
            text = f"a non-empty list, each element {each}"
            return text + (", or null" if self.nullable or self.default is None else "")
        if self.choices is not None:
            text = "one of " + ", ".join(map(str, self.choices))
        else:
            text = _KINDS[self.type]
        if self.range is not None:
            (lo, hi), (xlo, xhi) = self.range, self.exclusive
            if lo is not None and hi is not None:
                text += f" in {'(' if xlo else '['}{lo}, {hi}{')' if xhi else ']'}"
            elif lo is not None:
                text += f" {'>' if xlo else '>='} {lo}"
            elif hi is not None:
                text += f" {'<' if xhi else '<='} {hi}"
        if self.nullable or self.default is None:
            text += ", or null"
        return text

    def problem(self, value) -> str | None:
        """Why ``value`` does not fit (None when it does): the parameter, the value it got and
        what it accepts (:meth:`accepts`)."""
        if value is None:
            return None if self.nullable or self.default is None else self._bad(value)
        ok = {
            "str": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            # a non-finite number (nan, inf) passes every comparison with a bound: refused
            "float": lambda v: (
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ),
            "bool": lambda v: isinstance(v, bool),
            "mapping": lambda v: isinstance(v, Mapping),
            "list": lambda v: isinstance(v, (list, tuple)),
            # from Python also a Judge object, and a Dataset object or a path
            "judges": lambda v: isinstance(v, (str, list, tuple, Mapping)) or _is_judge(v),
            "dataset": lambda v: isinstance(v, (str, Mapping, os.PathLike)) or _is_dataset(v),
            "any": lambda v: True,
        }[self.type](value)
        if not ok:
            return self._bad(value)
        if self.items is not None:
            element = self._element()
            bad = [v for v in value if element.problem(v) is not None]
            if not value or bad:
                which = f" (not fitting: {', '.join(map(repr, bad[:10]))})" if bad else ""
                return self._bad(value) + which
            return None
        if self.choices is not None and value not in self.choices:
            return self._bad(value)
        if self.range is not None and isinstance(value, (int, float)):
            (lo, hi), (xlo, xhi) = self.range, self.exclusive
            below = lo is not None and (value <= lo if xlo else value < lo)
            above = hi is not None and (value >= hi if xhi else value > hi)
            if below or above:
                return self._bad(value)
        return None

    def _bad(self, value) -> str:
        return f"{self.name}: got {value!r} ({type(value).__name__}); accepts {self.accepts()}"

    def coerce(self, value):
        """``value`` converted to the declared type where that is lossless (``"3"`` -> 3,
        ``3`` -> 3.0 for a float, ``"true"`` -> True, ``"none"`` -> None when nullable);
        anything else is returned as given, for :meth:`problem` to refuse. The elements of
        an ``items`` list are converted one by one (a tuple becomes a list)."""
        if self.items is not None and isinstance(value, (list, tuple)):
            element = self._element()
            return [element.coerce(v) for v in value]
        if (
            isinstance(value, str)
            and value.strip().lower() in ("none", "null")
            and (self.nullable or self.default is None)
        ):
            return None
        if self.type == "str" and isinstance(value, os.PathLike):  # a path given from Python
            return os.fspath(value)
        try:
            if self.type == "int" and isinstance(value, str):
                return int(value)
            if self.type == "int" and isinstance(value, float) and value.is_integer():
                return int(value)
            if (
                self.type == "float"
                and isinstance(value, (str, int))
                and not isinstance(value, bool)
            ):
                return float(value)
        except ValueError:
            return value
        if self.type == "bool" and isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "yes", "1"):
                return True
            if low in ("false", "no", "0"):
                return False
        return value

    def source(self) -> str:
        """The default as the notebook's parameters cell writes it (``"demo"``, ``None``)."""
        return _source(self.default)

    def type_shown(self) -> str | None:
        """The type ``judgelab studies`` shows: that of the default (none for a None default),
        as papermill infers it from the parameters cell."""
        return None if self.default is None else type(self.default).__name__


def _is_judge(value) -> bool:
    """A Judge object (as :func:`judgelab.judge_specs.resolve_judges` recognises one)."""
    return hasattr(value, "model") and hasattr(value, "version")


def _is_dataset(value) -> bool:
    from judgelab.data import Dataset

    return isinstance(value, Dataset)


def _source(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_source(k)}: {_source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_source(v) for v in value) + "]"
    return repr(value)


@dataclass(frozen=True)
class Figure:
    """A figure a study saves: its file stem and the plotting function (``module:function``)."""

    name: str
    function: str

    def load(self) -> Callable:
        import importlib

        module, _, attr = self.function.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Study:
    """A study declared once: notebook stem, version, parameters, figures and analysis.

    ``analysis`` is ``f(ctx, params) -> findings`` or its dotted ``module:function``;
    :meth:`analyse` is the verb every study shares. ``conclusions`` maps a finding id to
    ``f(row) -> sentence`` (row: the finding's fields after the multiple-testing adjustment);
    :func:`register` installs them in :data:`judgelab.findings.CONCLUSION_RENDERERS`.
    ``summary`` and ``caveats`` (``f(findings, labels) -> [Markdown items]`` or its dotted
    ``module:function``): the report's "Conclusions" (one or two sentences per judge) and the
    study's own "Caveats" (:func:`judgelab.findings.conclusions`, :func:`judgelab.findings.caveats`).
    ``version``: bump it when a finding of the study changes meaning (the run record keeps it).
    """

    name: str
    version: str
    title: str
    parameters: tuple[Parameter, ...]
    figures: tuple[Figure, ...]
    analysis: str | Callable
    notebook: str = ""
    conclusions: Mapping[str, Callable[[Mapping], str | None]] = dataclasses.field(
        default_factory=dict, hash=False
    )
    #: verdict protocols the analysis reads (empty: any); stored verdicts holding none of
    #: them are refused by :meth:`require_protocols` before the analysis starts
    protocols: tuple[str, ...] = ()
    summary: str | Callable | None = None
    caveats: str | Callable | None = None
    #: the study's own check of a prepared context, ``f(ctx)`` raising on inputs it cannot
    #: analyse (e.g. the judge comparison's source that stored verdicts do not decide); the
    #: CLI runs it before the kernel starts (:mod:`judgelab.inputs`)
    requires: str | Callable | None = None
    #: margin parameters of the decisive verdicts: parameter name -> the finding ids whose
    #: claim margin it sets (:func:`judgelab.stats.decision.apply_decisions`; the save step
    #: reads them, :meth:`decision_margins`)
    margins: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        if not self.notebook:
            object.__setattr__(self, "notebook", f"{self.name}.ipynb")
        names = {p.name: p for p in self.parameters}
        bad = [k for k in self.margins if k not in names or names[k].type != "float"]
        if bad:
            raise StudyDeclarationError(
                f"study '{self.name}': margins {bad} must name float parameters it declares"
            )

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"study '{self.name}' has no parameter '{name}'")

    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def defaults(self) -> dict[str, Any]:
        """Parameter name -> declared default (fresh copies of mutable defaults)."""
        return {p.name: _copy(p.default) for p in self.parameters}

    def decision_margins(self, parameters: Mapping) -> dict[str, float]:
        """Finding id -> margin of its decisive verdict, from the margin parameters in
        ``parameters`` (the declared default where one is absent or None): what the save step
        passes to :func:`judgelab.stats.decision.apply_decisions`."""
        out: dict[str, float] = {}
        for name, ids in self.margins.items():
            value = parameters.get(name)
            value = self.parameter(name).default if value is None else value
            out.update(dict.fromkeys(ids, float(value)))
        return out

    def require_protocols(self, verdicts: pd.DataFrame, source: str) -> None:
        """Raise :class:`judgelab.data.DataError` when ``verdicts`` (read from ``source``)
        hold none of :attr:`protocols`, naming the protocols they do hold."""
        if not self.protocols or len(verdicts) == 0:
            return
        held = verdicts["protocol"].astype(str).value_counts()
        if held.index.isin(self.protocols).any():
            return
        from judgelab.data import DataError

        counts = ", ".join(f"{k} ({v} rows)" for k, v in held.items())
        raise DataError(
            "verdicts",
            "protocol",
            f"{self.name} analyses {' or '.join(self.protocols)} verdicts; {source} holds "
            f"only {counts}. Use a dataset or verdict file with {self.protocols[0]} verdicts, "
            "or judge them now (verdicts: call, with judges)",
        )

    def section(self, which: str) -> Callable | None:
        """The ``summary``, ``caveats`` or ``requires`` function, imported when declared as a
        dotted name."""
        fn = getattr(self, which)
        return _load(fn) if isinstance(fn, str) else fn

    def analyse(self, ctx: StudyContext) -> pd.DataFrame:
        """The study's findings (not yet adjusted for multiple testing) from a prepared
        context; parameters not in ``ctx.parameters`` take their declared defaults."""
        fn = _load(self.analysis) if isinstance(self.analysis, str) else self.analysis
        params = {**self.defaults(), **ctx.parameters}
        return fn(ctx, params)


def _load(dotted: str) -> Callable:
    import importlib

    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def _copy(value):
    return json.loads(json.dumps(value)) if isinstance(value, (list, dict)) else value
