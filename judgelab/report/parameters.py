"""Study parameters: ``-p NAME VALUE`` values, ``--params`` files, checks against the notebook
and the values handed to papermill."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from judgelab import config
from judgelab import study as _study
from judgelab.report.results import StudyError

__all__ = [
    "parse_value",
    "parse_parameters",
    "check_parameters",
    "typed_parameters",
    "notebook_defaults",
    "effective_parameters",
]


# --------------------------------------------------------------- parameters
def parse_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value read as YAML: ``120`` -> int, ``[a, b]`` -> list,
    ``{model: x}`` -> mapping, ``null`` -> None, anything else a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_parameters(
    pairs: list[tuple[str, str]] | None = None, params_file: str | os.PathLike | None = None
) -> dict:
    """Parameters from a YAML file, overridden by ``-p NAME VALUE`` pairs (in order)."""
    params: dict[str, Any] = {}
    if params_file:
        path = Path(params_file)
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise StudyError(f"--params {path}: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise StudyError(f"--params {path}: expected a mapping of parameter names to values")
        params.update(loaded)
    for name, value in pairs or []:
        params[name] = parse_value(value)
    return params


def check_parameters(study: str, params: Mapping) -> dict[str, dict]:
    """Unknown study or parameter -> StudyError listing the valid ones (and the closest
    name); returns the notebook's parameters."""
    try:
        spec = _study.parameter_spec(study)
    except ValueError as exc:
        raise StudyError(str(exc)) from exc
    unknown = [k for k in params if k not in spec]
    if unknown:
        problems = [_study.unknown_parameter(k, spec) for k in unknown]
        raise StudyError(f"study '{study}': " + "; ".join(problems))
    return spec


def typed_parameters(study: str, params: Mapping) -> dict:
    """``params`` with known names (:func:`check_parameters`) converted losslessly to their
    declared types and checked against the declaration (types, choices, ranges:
    :func:`judgelab.study.typed`), before the kernel starts and before any call. A bad value
    raises StudyError naming the parameter, what it got and what it accepts."""
    check_parameters(study, params)
    try:
        return _study.typed(study, params)
    except _study.StudyParameterError as exc:
        raise StudyError(
            f"parameters of study '{study}' do not fit its declaration:\n  "
            + "\n  ".join(exc.problems)
            + "\n(`judgelab studies` lists every parameter with its type and default)"
        ) from exc


def notebook_defaults(spec: Mapping[str, Mapping]) -> dict:
    """The notebook's default values, evaluated from their source text (literals only)."""
    import ast

    out = {}
    for name, p in spec.items():
        try:
            out[name] = ast.literal_eval(str(p.get("default")))
        except (ValueError, SyntaxError):
            out[name] = p.get("default")
    return out


def effective_parameters(study: str, params: Mapping, cwd: Path | None = None) -> tuple[dict, dict]:
    """(parameters passed to papermill, notebook spec). Checks names and values
    (:func:`typed_parameters`: the values passed are the coerced ones); makes ``store`` absolute
    (default :func:`judgelab.config.default_store`, in the project directory) and a relative
    ``verdicts`` / ``dataset`` path absolute, since the notebook runs in the output directory."""
    p = typed_parameters(study, params)
    spec = check_parameters(study, p)
    cwd = Path(cwd or os.getcwd())
    if "store" in spec:
        store = p.get("store")  # typed by the user: relative to where they typed it
        p["store"] = str(
            (cwd / Path(store).expanduser()).resolve() if store else config.default_store()
        )
    for key in ("verdicts", "dataset"):
        v = p.get(key)
        if isinstance(v, str) and v not in ("call", "dataset", "published", "demo"):
            cand = cwd / Path(v).expanduser()
            if cand.exists():
                p[key] = str(cand.resolve())
    return p, spec
