"""Which studies exist: the package's and those a lab registers (:func:`register`, or a
declaration module ``<study>.py`` beside the study's notebook, loaded by
:func:`declaration`); checking parameters against a declaration; ``judgelab studies``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from judgelab.study.builtin import BUILTIN
from judgelab.study.spec import Study, StudyDeclarationError, StudyParameterError

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.studies import StudyContext

__all__ = [
    "STUDY_DECLARATIONS",
    "BUILTIN_STUDIES",
    "declared_studies",
    "register",
    "declaration_module",
    "declaration",
    "parameter_spec",
    "coerce",
    "check",
    "typed",
    "unknown_parameter",
    "parameter_lines",
    "parameters_cell",
    "listing",
    "analyse",
]

#: Declared studies by name: the package's in docs/design.md order (that of
#: :data:`judgelab.studies.STUDIES`), then those a lab registered (:func:`register`).
STUDY_DECLARATIONS: dict[str, Study] = {}


#: The package's own studies: a lab's declaration cannot replace them.
BUILTIN_STUDIES: dict[str, Study] = {s.name: s for s in BUILTIN}
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

    if not isinstance(study, Study):
        raise TypeError(f"register() takes a Study, not {type(study).__name__}")
    if study.name in BUILTIN_STUDIES and BUILTIN_STUDIES[study.name] is not study:
        raise StudyDeclarationError(f"'{study.name}' is a study of judgelab; choose another name")
    problems = [msg for p in study.parameters if (msg := p.problem(p.default))]
    taken = [f for f in study.conclusions if _RENDERED_BY.get(f, study.name) != study.name]
    problems += [f"finding id '{f}' is rendered by study '{_RENDERED_BY[f]}'" for f in taken]
    if problems:
        raise StudyDeclarationError(f"study '{study.name}': " + "; ".join(problems))
    _install_renderers(study)
    STUDY_DECLARATIONS[study.name] = study
    return study


def _install_renderers(study: Study) -> None:
    from judgelab import findings

    for finding_id, render in study.conclusions.items():
        findings.CONCLUSION_RENDERERS[finding_id] = render
        _RENDERED_BY[finding_id] = study.name


# the package's own studies render their conclusions as a lab's registered ones do
for _study in BUILTIN:
    _install_renderers(_study)


# the package's studies, registered like a lab's (their conclusion renderers installed)
for _study in BUILTIN:
    register(_study)


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


def parameter_spec(study: str) -> dict[str, dict[str, Any]]:
    """The study's parameters as :func:`judgelab.studies.study_parameters` reads them from its
    notebook (name -> name, inferred_type_name, default source text, help), taken from the
    declaration when the study has one: tests/test_study_declarations.py holds the two equal,
    and reading a notebook through papermill imports nbformat and jsonschema (seconds), which
    a run refused before its kernel starts should not pay. Unknown studies raise ValueError."""
    from judgelab import studies as _studies

    _studies.notebook_path(study)  # an unknown study: the error lists the valid ones
    if study in STUDY_DECLARATIONS or declaration_module(study):
        return {
            p.name: {
                "name": p.name,
                "inferred_type_name": p.type_shown() or "None",
                "default": p.source(),
                "help": p.help,
            }
            for p in declaration(study).parameters
        }
    return _studies.study_parameters(study)


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
    problems = [unknown_parameter(k, known) for k in params if k not in known]
    problems += [msg for k, v in params.items() if k in known and (msg := known[k].problem(v))]
    if problems:
        raise StudyParameterError(decl.name, problems)
    return {**decl.defaults(), **params}


def unknown_parameter(name: str, valid) -> str:
    """The message for a parameter no declaration takes: the valid names and the closest."""
    import difflib

    valid = list(valid)
    close = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"unknown parameter '{name}'; valid parameters: {', '.join(valid)}{hint}"


def typed(study: str | Study, params: Mapping) -> dict:
    """``params`` converted losslessly to their declared types (:func:`coerce`) and checked
    (:func:`check`), before anything is loaded or judged: what the CLI hands to the kernel
    and what :func:`judgelab.studies.prepare` works with. A study without a declaration
    (a lab's notebook alone) has its shared parameters checked and the others kept as
    given. Raises :class:`StudyParameterError` naming each bad value."""
    from judgelab.study.builtin import SHARED_PARAMETERS

    name = study.name if isinstance(study, Study) else study
    if isinstance(study, Study) or study in STUDY_DECLARATIONS or declaration_module(study):
        values = coerce(study, params)
        check(study, values)
        return values
    shared = {p.name: p for p in SHARED_PARAMETERS}
    values = {k: shared[k].coerce(v) if k in shared else v for k, v in params.items()}
    problems = [msg for k, v in values.items() if k in shared and (msg := shared[k].problem(v))]
    if problems:
        raise StudyParameterError(name, problems)
    return values


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
