"""Studies declared once: name, version, notebook, parameters, figures, analysis, conclusions.

A :class:`Study` says everything a caller needs to know about a study without opening its
notebook: its parameters (the shared ones of docs/design.md "Studies" plus its own, each
with a type, allowed values or range, default and help), its figures (the plotting
functions the notebook shows and saves), one analysis entry point with the same verb for
every study, :meth:`Study.analyse` (``ctx -> findings``, not yet adjusted: the save step
adjusts, :func:`judgelab.findings.save_findings`), and the renderers of its conclusion
sentences (finding id -> ``row -> text``, run by the save step after the adjustment).

The notebook's ``parameters`` cell must match the declaration (names, defaults and help;
``tests/test_study_declarations.py``; :func:`parameters_cell` writes it), so ``judgelab
studies`` can print from here (:func:`parameter_lines`). :func:`check` / :func:`coerce`
validate a parameter mapping against the declaration; they are not yet called before the
kernel starts.

A lab adds a study without editing the package (docs/new_study.md): a notebook
``<name>.ipynb`` and a declaration module ``<name>.py`` beside it, in a directory on
``$JUDGELAB_NOTEBOOKS``. The module calls :func:`register`; :func:`declaration` loads it
the first time the study is asked for.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.studies import StudyContext

__all__ = [
    "Parameter",
    "Figure",
    "Study",
    "StudyParameterError",
    "StudyDeclarationError",
    "SHARED_PARAMETERS",
    "STUDY_DECLARATIONS",
    "declaration",
    "declared_studies",
    "register",
    "shared_parameters",
    "parameters_cell",
    "check",
    "coerce",
    "parameter_lines",
    "listing",
    "analyse",
]

#: Parameter types: how a value is checked and shown.
TYPES = ("str", "int", "float", "bool", "mapping", "list", "judges", "dataset", "any")


class StudyDeclarationError(ValueError):
    """A study declaration that cannot be registered or loaded."""


class StudyParameterError(ValueError):
    """Parameters that do not fit a study's declaration; ``problems`` lists each one."""

    def __init__(self, study: str, problems: list[str]):
        self.study, self.problems = study, problems
        super().__init__(f"study '{study}': " + "; ".join(problems))


@dataclass(frozen=True)
class Parameter:
    """One study parameter: type, allowed values (``choices``) or ``range`` (inclusive
    bounds, None for open), default and help. ``nullable``: None is allowed."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple | None = None
    range: tuple[float | None, float | None] | None = None
    nullable: bool = False

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")

    def problem(self, value) -> str | None:
        """Why ``value`` does not fit (None when it does)."""
        if value is None:
            return (
                None if self.nullable or self.default is None else f"{self.name}: None not allowed"
            )
        ok = {
            "str": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "mapping": lambda v: isinstance(v, Mapping),
            "list": lambda v: isinstance(v, (list, tuple)),
            "judges": lambda v: isinstance(v, (str, list, tuple, Mapping)),
            "dataset": lambda v: isinstance(v, (str, Mapping)),
            "any": lambda v: True,
        }[self.type](value)
        if not ok:
            return f"{self.name}: expected {self.type}, got {type(value).__name__} {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"{self.name}: {value!r} not one of {', '.join(map(str, self.choices))}"
        if self.range is not None and isinstance(value, (int, float)):
            lo, hi = self.range
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                return f"{self.name}: {value!r} outside [{lo}, {hi}]"
        return None

    def coerce(self, value):
        """``value`` converted to the declared type where that is lossless (``"3"`` -> 3,
        ``3`` -> 3.0 for a float, ``"true"`` -> True, ``"none"`` -> None when nullable)."""
        if (
            isinstance(value, str)
            and value.strip().lower() in ("none", "null")
            and (self.nullable or self.default is None)
        ):
            return None
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

    def __post_init__(self):
        if not self.notebook:
            object.__setattr__(self, "notebook", f"{self.name}.ipynb")

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

    def analyse(self, ctx: StudyContext) -> pd.DataFrame:
        """The study's findings (not yet adjusted for multiple testing) from a prepared
        context; parameters not in ``ctx.parameters`` take their declared defaults."""
        fn = self.analysis
        if isinstance(fn, str):
            import importlib

            module, _, attr = fn.partition(":")
            fn = getattr(importlib.import_module(module), attr)
        params = {**self.defaults(), **ctx.parameters}
        return fn(ctx, params)


def _copy(value):
    return json.loads(json.dumps(value)) if isinstance(value, (list, dict)) else value


def _p(name, type, default, help, **kw) -> Parameter:
    return Parameter(name, type, default, help, **kw)


ORDER_AGGREGATIONS = ("per_call", "first_order", "consistent_only")
TIE_POLICIES = ("class", "drop")

#: The parameters every study shares, in the order of the notebooks' parameters cells.
SHARED_PARAMETERS: tuple[Parameter, ...] = (
    _p(
        "dataset",
        "dataset",
        "demo",
        "dataset name (demo, a registered dataset) or a dataset directory",
    ),
    _p(
        "judges",
        "judges",
        "panel:demo",
        "judges: list of model strings / Judge mappings, or panel:demo / panel:null",
        nullable=True,
    ),
    _p(
        "verdicts",
        "str",
        "call",
        "call (judge now), dataset/published (stored verdicts) or a store / CSV / Parquet path",
    ),
    _p(
        "select",
        "mapping",
        None,
        "mapping of model, backend, judge_version, run_id restricting the verdicts analysed",
        nullable=True,
    ),
    _p(
        "pairs",
        "str",
        "human",
        "pairs to judge: human (pairs humans compared), all or baseline:<generator>",
    ),
    _p(
        "n_pairs",
        "int",
        None,
        "seeded sample size of pairs (None: all pairs)",
        nullable=True,
        range=(1, None),
    ),
    _p("store", "str", "runs/verdicts.sqlite", "verdict store shared by all studies"),
    _p(
        "tie_policy",
        "str",
        "class",
        "ties in win rates: class, drop or half (position statistics always treat a tie as a class)",
        choices=(*TIE_POLICIES, "half"),
    ),
    _p(
        "order_aggregation",
        "str",
        "per_call",
        "recorded for the manifest; position statistics always use both orders",
        choices=ORDER_AGGREGATIONS,
    ),
    _p(
        "allow_mixed",
        "bool",
        False,
        "analyse a selection that spans several identities per judge",
    ),
    _p("seed", "int", 0, "seed of the bootstrap and the permutation tests", range=(0, None)),
    _p("n_boot", "int", 2000, "item-cluster bootstrap resamples", range=(0, None)),
    _p("concurrency", "int", 8, "concurrent judge calls", range=(1, None)),
    _p(
        "max_cost_usd",
        "float",
        None,
        "budget for judge calls (None: no limit)",
        nullable=True,
        range=(0, None),
    ),
    _p("dry_run", "bool", False, "only count the calls needed and their estimated cost"),
)


def shared_parameters(**changes: Mapping[str, Any]) -> tuple[Parameter, ...]:
    """The shared parameters with per-study changes by name, e.g.
    ``shared_parameters(judges={"default": None, "help": "..."})`` (any field of
    :class:`Parameter` but the name)."""
    unknown = set(changes) - {p.name for p in SHARED_PARAMETERS}
    if unknown:
        raise ValueError(f"not shared parameters: {sorted(unknown)}")
    return tuple(
        dataclasses.replace(p, **changes[p.name]) if p.name in changes else p
        for p in SHARED_PARAMETERS
    )


_UNIT = "unit of analysis: per_call (pair, order), first_order, consistent_only"

POSITION_BIAS = Study(
    name="position_bias",
    version="1",
    title="Position bias",
    parameters=(
        *shared_parameters(),
        _p(
            "repeats",
            "int",
            1,
            "judgments per (pair, order), 2 or more measure repetition stability "
            "(use a temperature above 0)",
            range=(1, None),
        ),
        _p("n_perm", "int", 9999, "sign-flip permutations of the primary test", range=(0, None)),
    ),
    figures=(
        Figure("position_consistency", "judgelab.plots.position:consistency_per_judge"),
        Figure("primacy_recency", "judgelab.plots.position:primacy_recency_bars"),
        Figure("flip_vs_gap", "judgelab.plots.position:flip_vs_gap_curves"),
    ),
    analysis="judgelab.study:analyse_position_bias",
)

SELF_PREFERENCE = Study(
    name="self_preference",
    version="1",
    title="Self-preference",
    parameters=(
        *shared_parameters(),
        _p(
            "scores",
            "bool",
            False,
            "also judge single 1..N scores of the answers in the pairs (adds score_difference; "
            "one call per judge and answer)",
        ),
    ),
    figures=(
        Figure("self_preference_forest", "judgelab.plots.self_preference:forest"),
        Figure("family_heatmap", "judgelab.plots.self_preference:family_heatmap"),
    ),
    analysis="judgelab.study:analyse_self_preference",
)

FAMILY_ENTANGLEMENT = Study(
    name="family_entanglement",
    version="1",
    title="Family entanglement",
    parameters=(
        *shared_parameters(
            pairs={"help": "pairs to judge: human, all or baseline:<generator>"},
            tie_policy={
                "help": "ties for kappa, alpha and errors: class (a tie is a verdict) or drop",
                "choices": TIE_POLICIES,
            },
            order_aggregation={"help": _UNIT},
            seed={"help": "seed of bootstrap, permutations and the calibration split"},
        ),
        _p(
            "reference",
            "str",
            "auto",
            "errors against: auto (truth where known, else unanimous humans), truth or human",
            choices=("auto", "truth", "human"),
        ),
        _p(
            "min_raters",
            "int",
            2,
            "human reference: pairs where all raters agree and at least this many rated",
            range=(1, None),
        ),
        _p(
            "ensemble_size",
            "int",
            None,
            "size of the same- vs cross-family ensembles (None: smallest family size, at most "
            "the number of families)",
            nullable=True,
            range=(1, None),
        ),
        _p(
            "calibration_share",
            "float",
            0.5,
            "share of items used to fit the weighted vote's weights",
            range=(0, 1),
        ),
        _p(
            "purpose",
            "str",
            "launch",
            "composition policy purpose: launch (single-family panels refused) or exploration",
            choices=("launch", "exploration"),
        ),
        _p(
            "candidate_models",
            "list",
            None,
            "models under evaluation for the policy (None: the generators of the dataset)",
            nullable=True,
        ),
    ),
    figures=(
        Figure("kappa_heatmap", "judgelab.plots.entanglement:agreement_heatmap"),
        Figure("error_phi_heatmap", "judgelab.plots.entanglement:agreement_heatmap"),
        Figure("within_vs_across", "judgelab.plots.entanglement:within_vs_across"),
        Figure("ensembles", "judgelab.plots.entanglement:ensemble_comparison"),
    ),
    analysis="judgelab.study:analyse_family_entanglement",
)

CALIBRATION_AUDIT = Study(
    name="calibration_audit",
    version="1",
    title="Calibration audit",
    parameters=(
        *shared_parameters(
            judges={
                "help": "judges: list of model strings / Judge mappings (sim: {...} for "
                "simulated), or panel:demo / panel:null"
            },
            pairs={
                "help": "pairs to judge: human (pairs humans compared: needed for the "
                "reference), all, baseline:<generator>"
            },
            tie_policy={
                "help": "ties for kappa / F1: class (a tie is a third class) or drop "
                "(ties removed and counted)",
                "choices": TIE_POLICIES,
            },
            order_aggregation={
                "help": "per_call (each order one judgment), first_order (ab only), "
                "consistent_only (an inconsistent pair counts as a tie)"
            },
            seed={"help": "seed of bootstrap and permutations"},
        ),
        _p(
            "protocol",
            "str",
            "pairwise",
            "pairwise (a vs b), single (a score on the dataset's scale) or rubric "
            "(pass/warn/fail per rubric)",
            choices=("pairwise", "single", "rubric"),
        ),
        _p(
            "gate_thresholds",
            "mapping",
            None,
            "mapping overriding the gate: pass_kappa (0.75), pass_f1 (0.85), warn_kappa (0.60)",
            nullable=True,
        ),
        _p(
            "margin_threshold",
            "float",
            0.2,
            "escalation: logprob margin below this is low-margin (where logprobs exist)",
            range=(0, None),
        ),
        _p(
            "vote_share_threshold",
            "float",
            0.7,
            "escalation: the panel's majority share below this is low-margin",
            range=(0, 1),
        ),
        _p(
            "drift_versions",
            "any",
            None,
            'optional pair of judge_versions judged on the same units, or "auto" '
            "(a model with two versions)",
            nullable=True,
        ),
        _p(
            "ensemble",
            "bool",
            True,
            "also audit the panel's majority vote (needs at least two judges)",
        ),
    ),
    figures=(
        Figure("agreement_vs_ceiling", "judgelab.plots.calibration:agreement_vs_ceiling"),
        Figure("signed_bias", "judgelab.plots.calibration:signed_bias_plot"),
        Figure("confusion", "judgelab.plots.calibration:confusion_heatmap"),
        Figure("ranking", "judgelab.plots.calibration:ranking_plot"),
    ),
    analysis="judgelab.study:analyse_calibration_audit",
)

JUDGE_COMPARISON = Study(
    name="judge_comparison",
    version="1",
    title="Judge comparison",
    parameters=(
        *shared_parameters(
            judges={
                "default": "panel:demo/aurora-lite,basalt-s,cirrus-nano",
                "help": "the candidates: model strings, Judge mappings, or "
                "panel:<name>[/<member>,...]",
            },
            select={
                "help": "mapping of model, backend, judge_version, run_id restricting the "
                "candidates' verdicts"
            },
            pairs={"help": "pairs to judge: human, all or baseline:<generator>"},
            n_pairs={"help": "seeded sample size of pairs; None means all"},
            tie_policy={
                "help": "ties are a verdict class in agreement and kappa (class) or dropped (drop)",
                "choices": TIE_POLICIES,
            },
            order_aggregation={"help": _UNIT},
            allow_mixed={"help": "continue when the source selection spans several identities"},
            seed={"help": "seed of bootstrap resamples and pair sampling"},
            max_cost_usd={"help": "budget for judge calls in USD; None means no limit"},
        ),
        _p(
            "source",
            "mapping",
            {"model": "judgelab-sim/aurora-max"},
            "the verdicts to compare against: model, backend, judge_version, run_id",
        ),
        _p(
            "source_judge",
            "judges",
            "panel:demo/aurora-max",
            "judged first when the source selection is empty; only when verdicts is call",
            nullable=True,
        ),
        _p(
            "margin",
            "float",
            0.03,
            "non-inferiority margin on the accuracy difference",
            range=(0, 1),
        ),
        _p(
            "ensemble",
            "judges",
            "panel:demo/aurora-max,basalt-xl,cirrus-ultra",
            "second pass of the cascade (judges, or a select mapping for stored verdicts)",
        ),
        _p(
            "thresholds",
            "list",
            [0.0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.01],
            "cascade: escalate pairs whose cheap-judge margin is below t",
        ),
    ),
    figures=(
        Figure("pareto", "judgelab.plots.compare:pareto"),
        Figure("cascade", "judgelab.plots.compare:cascade"),
    ),
    analysis="judgelab.study:analyse_judge_comparison",
)

#: Declared studies by name: the package's in docs/design.md order (that of
#: :data:`judgelab.studies.STUDIES`), then those a lab registered (:func:`register`).
STUDY_DECLARATIONS: dict[str, Study] = {
    s.name: s
    for s in (
        POSITION_BIAS,
        SELF_PREFERENCE,
        FAMILY_ENTANGLEMENT,
        CALIBRATION_AUDIT,
        JUDGE_COMPARISON,
    )
}


#: The package's own studies: a lab's declaration cannot replace them.
BUILTIN_STUDIES: dict[str, Study] = dict(STUDY_DECLARATIONS)
#: Finding id -> the study whose conclusion renderer :func:`register` installed for it.
_RENDERED_BY: dict[str, str] = {}


def declared_studies() -> list[str]:
    return list(STUDY_DECLARATIONS)


def register(study: Study) -> Study:
    """Declare a study from outside the package (a lab's ``<name>.py`` beside its notebook,
    docs/new_study.md); returns it. Registering the same name again replaces the earlier
    declaration (a module re-run in a notebook), except a study of the package's own.
    The conclusion renderers go into :data:`judgelab.findings.CONCLUSION_RENDERERS`;
    a finding id another study already renders is refused."""
    from judgelab import findings

    if not isinstance(study, Study):
        raise TypeError(f"register() takes a Study, not {type(study).__name__}")
    if study.name in BUILTIN_STUDIES and BUILTIN_STUDIES[study.name] is not study:
        raise StudyDeclarationError(f"'{study.name}' is a study of judgelab; choose another name")
    problems = [msg for p in study.parameters if (msg := p.problem(p.default))]
    taken = [f for f in study.conclusions if _RENDERED_BY.get(f, study.name) != study.name]
    problems += [f"finding id '{f}' is rendered by study '{_RENDERED_BY[f]}'" for f in taken]
    if problems:
        raise StudyDeclarationError(f"study '{study.name}': " + "; ".join(problems))
    for finding_id, render in study.conclusions.items():
        findings.CONCLUSION_RENDERERS[finding_id] = render
        _RENDERED_BY[finding_id] = study.name
    STUDY_DECLARATIONS[study.name] = study
    return study


def declaration_module(study: str) -> Path | None:
    """The declaration module ``<study>.py`` beside the study's notebook, if there is one."""
    from judgelab import studies

    try:
        path = studies.notebook_path(study).with_suffix(".py")
    except ValueError:  # no such notebook
        return None
    return path if path.is_file() else None


def _load_declaration(study: str) -> None:
    """Execute the study's declaration module (which calls :func:`register`)."""
    import importlib.util
    import sys

    path = declaration_module(study)
    if path is None:
        return
    name = f"judgelab_study_{study}"  # a prefix: a lab's study may share a stdlib module's name
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    if study not in STUDY_DECLARATIONS:
        raise StudyDeclarationError(
            f"{path} registers no study '{study}' (call judgelab.study.register(Study(...)))"
        )


def declaration(study: str | Study) -> Study:
    """The declaration of a study: a registered one, else the one its declaration module
    (``<study>.py`` beside the notebook) registers; unknown names raise a ValueError listing
    the declared ones."""
    if isinstance(study, Study):
        return study
    if study not in STUDY_DECLARATIONS:
        _load_declaration(study)
    try:
        return STUDY_DECLARATIONS[study]
    except KeyError:
        raise ValueError(
            f"unknown study '{study}'; declared studies: {', '.join(STUDY_DECLARATIONS)}"
        ) from None


# ----------------------------------------------------------------- checking
def coerce(study: str | Study, params: Mapping) -> dict:
    """``params`` with each declared parameter converted to its type where lossless
    (unknown names are kept as given: :func:`check` reports them)."""
    decl = declaration(study)
    known = {p.name: p for p in decl.parameters}
    return {k: known[k].coerce(v) if k in known else v for k, v in params.items()}


def check(study: str | Study, params: Mapping) -> dict:
    """Raise :class:`StudyParameterError` listing every unknown parameter and every value
    that does not fit its declaration; returns the effective parameters (defaults filled in)."""
    decl = declaration(study)
    known = {p.name: p for p in decl.parameters}
    problems = [
        f"unknown parameter '{k}'; valid parameters: {', '.join(known)}"
        for k in params
        if k not in known
    ]
    problems += [msg for k, v in params.items() if k in known and (msg := known[k].problem(v))]
    if problems:
        raise StudyParameterError(decl.name, problems)
    return {**decl.defaults(), **params}


# ----------------------------------------------------------------- listing
def parameter_lines(study: str | Study) -> list[str]:
    """``judgelab studies`` lines of a declared study: ``name: type = default  # help``
    (no type for a None default), as printed from the notebooks before."""
    lines = []
    for p in declaration(study).parameters:
        kind = p.type_shown()
        typed = f": {kind}" if kind else ""
        lines.append(f"  {p.name}{typed} = {p.source()}" + (f"  # {p.help}" if p.help else ""))
    return lines


def parameters_cell(study: str | Study) -> str:
    """The source of the notebook's ``parameters`` cell: ``name = default  # help`` per
    declared parameter, as papermill reads it back (paste it into the cell tagged
    ``parameters``; the declaration tests compare the two)."""
    lines = [
        f"{p.name} = {p.source()}" + (f"  # {p.help}" if p.help else "")
        for p in declaration(study).parameters
    ]
    return "\n".join(lines) + "\n"


def listing(studies: list[str] | None = None) -> str:
    """The text of ``judgelab studies``: every available study and its parameters, from the
    declaration, or from the notebook's parameters cell for a study without one (a lab's
    own notebook in ``$JUDGELAB_NOTEBOOKS``)."""
    from judgelab import studies as _studies

    names = _studies.available_studies() if studies is None else studies
    if not names:
        return f"no study notebooks installed (looked in {_studies.notebooks_dir()})"
    out = []
    for name in names:
        out.append(name)
        if name in STUDY_DECLARATIONS or declaration_module(name):
            out.extend(parameter_lines(name))
        else:
            for p in _studies.study_parameters(name).values():
                kind = p["inferred_type_name"]
                typed = f": {kind}" if kind and kind != "None" else ""
                out.append(
                    f"  {p['name']}{typed} = {p['default']}"
                    + (f"  # {p['help']}" if p["help"] else "")
                )
        out.append("")
    return "\n".join(out)


def analyse(ctx: StudyContext) -> pd.DataFrame:
    """The findings of ``ctx.study`` (:meth:`Study.analyse`)."""
    return declaration(ctx.study).analyse(ctx)


# ----------------------------------------------------------------- analyses
# One function per study, ``(ctx, params) -> findings``: the computations of the notebook's
# findings cells, with nothing displayed (the save step writes findings.json).
def analyse_position_bias(ctx: StudyContext, params: Mapping) -> pd.DataFrame:
    from judgelab.stats import position as pos

    return pos.position_findings(
        ctx.verdicts,
        ctx.dataset,
        n_boot=params["n_boot"],
        n_perm=params["n_perm"],
        seed=params["seed"],
    )


def analyse_self_preference(ctx: StudyContext, params: Mapping) -> pd.DataFrame:
    from judgelab.stats import self_preference as sp

    verdicts = ctx.verdicts
    if params["scores"] and not params["dry_run"]:
        single = ctx.call(ctx.judge_specs or params["judges"], protocol="single")
        verdicts = pd.concat([ctx.verdicts, single], ignore_index=True)
    return sp.self_preference_findings(
        verdicts,
        ctx.dataset,
        n_boot=params["n_boot"],
        seed=params["seed"],
        tie_policy=params["tie_policy"],
    )


def analyse_family_entanglement(ctx: StudyContext, params: Mapping) -> pd.DataFrame:
    import warnings

    import judgelab.ensembles as ens
    from judgelab.identity import JudgeIdentity
    from judgelab.stats import entanglement as ent

    candidates = params["candidate_models"] or sorted(
        ctx.dataset.responses["generator"].dropna().astype(str).unique()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens.check_composition(ctx.judges, candidates, purpose=params["purpose"])
    families = {str(JudgeIdentity.from_record(j)): j["family"] for j in ctx.judges}
    um = ent.unit_matrix(
        ctx.verdicts,
        order_aggregation=params["order_aggregation"],
        tie_policy=params["tie_policy"],
        families={k: v for k, v in families.items() if v},
    )
    f_ent = ent.entanglement_findings(
        um,
        ctx.dataset,
        reference=params["reference"],
        n_boot=ctx.n_boot,
        seed=ctx.seed,
        min_raters=params["min_raters"],
    )
    rep = ens.ensemble_findings(
        um,
        ctx.dataset,
        reference=params["reference"],
        size=params["ensemble_size"],
        n_boot=ctx.n_boot,
        seed=ctx.seed,
        calibration_share=params["calibration_share"],
        # as the notebook does today: ensemble_findings writes the queue and names it in the
        # ensemble_coverage row (moving the write to the caller changes that row: Part 1 item 3)
        review_queue_path=ctx.out_dir / "review_queue.csv",
        min_raters=params["min_raters"],
    )
    return pd.concat([f_ent, rep.findings], ignore_index=True)


def analyse_calibration_audit(ctx: StudyContext, params: Mapping) -> pd.DataFrame:
    from judgelab.stats import calibration as cal

    drift = cal.resolve_drift_versions(ctx.verdicts, params["drift_versions"])
    return cal.audit(
        ctx.verdicts,
        ctx.dataset,
        protocol=params["protocol"],
        tie_policy=params["tie_policy"],
        order_aggregation=params["order_aggregation"],
        gate_thresholds=params["gate_thresholds"],
        drift_versions=drift,
        ensemble=params["ensemble"],
        n_boot=ctx.n_boot,
        seed=ctx.seed,
    )


def analyse_judge_comparison(ctx: StudyContext, params: Mapping) -> pd.DataFrame:
    from judgelab import comparison
    from judgelab.identity import JudgeIdentity
    from judgelab.stats import compare

    src = comparison.select_source(ctx, params["source"], params["source_judge"])
    reference, reference_name = comparison.reference_for(ctx)
    findings = comparison.compare_judges(
        src.verdicts,
        ctx.verdicts,
        reference,
        margin=params["margin"],
        order_aggregation=params["order_aggregation"],
        n_boot=ctx.n_boot,
        seed=ctx.seed,
        reference_name=reference_name,
        source_identities=src.identities,
    )
    source_id = str(
        JudgeIdentity(*src.verdicts[["model", "backend", "judge_version"]].iloc[0].tolist())
    )
    cheap_id = comparison.cheap_candidate(findings, source_id)
    cheap = ctx.verdicts[ctx.verdicts["judge"] == cheap_id]
    ens_verdicts = comparison.ensemble_verdicts(ctx, params["ensemble"], cheap)
    f_cascade, _ = compare.cascade_findings(
        cheap, ens_verdicts, reference, params["thresholds"], n_boot=ctx.n_boot, seed=ctx.seed
    )
    return pd.concat([findings, f_cascade], ignore_index=True)
