"""The ``judges`` parameter: from what a study is given to the judges it calls or filters on.

``judges`` takes model strings, mappings of :class:`judgelab.judges.Judge` fields (``sim``
for simulated judges), Judge objects, or ``"panel:demo"`` / ``"panel:null"``
(:func:`judgelab.sim.panel`; ``panel:demo/a,b`` picks members), alone or in a list.
:func:`resolve_judges` builds the Judges that ``verdicts: call`` judges with;
:func:`filter_models` gives the model strings that ``judges`` keeps when it filters stored
verdicts (no Judge is built, so any published model string can be named). Used by
:func:`judgelab.studies.prepare`, the CLI's input checks (:mod:`judgelab.inputs`) and the
demo runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from judgelab.identity import SIM_PREFIX

__all__ = ["as_list", "panel_judges", "resolve_judges", "judge_from_mapping", "filter_models"]


def as_list(v) -> list:
    """A parameter value as a list: None -> [], one value (a string or mapping too) -> [it]."""
    if v is None:
        return []
    if isinstance(v, (str, bytes)) or not isinstance(v, Iterable) or isinstance(v, Mapping):
        return [v]
    return list(v)


# judges and sim are imported when a judge is built: filtering stored verdicts by model
# strings loads neither (the simulator is only needed for panels and sim judges)
def _judge_module():
    from judgelab import judges as _judges

    return _judges


def _sim_module():
    from judgelab import sim as _sim

    return _sim


def panel_judges(spec: str) -> list:
    """``panel:<name>`` -> the simulated panel's judges; ``panel:<name>/<member>,<member>``
    -> only the named members (e.g. ``panel:demo/aurora-lite,basalt-s``), in that order."""
    name, _, members = spec.split(":", 1)[1].partition("/")
    judges = _sim_module().panel(name)
    if not members:
        return judges
    by_name = {j.model.split("/", 1)[-1]: j for j in judges}
    wanted = [m.strip() for m in members.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in by_name]
    if unknown:
        raise ValueError(f"judges: {unknown} not in panel '{name}'; members: {sorted(by_name)}")
    return [by_name[m] for m in wanted]


def resolve_judges(judges) -> list:
    """``judges`` parameter -> list of :class:`judgelab.judges.Judge`.

    Accepts ``"panel:demo"`` / ``"panel:null"`` (:func:`judgelab.sim.panel`; ``panel:demo/a,b``
    picks members by name), a model
    string, a mapping of Judge fields (with ``sim`` for a simulated judge), a Judge, or a
    list mixing these (panels are flattened)."""
    out: list = []
    for spec in as_list(judges):
        if isinstance(spec, str) and spec.startswith("panel:"):
            out.extend(panel_judges(spec))
        elif isinstance(spec, str):
            out.append(_judge_module().Judge(spec))
        elif isinstance(spec, Mapping):
            out.append(judge_from_mapping(dict(spec)))
        elif hasattr(spec, "model") and hasattr(spec, "version"):
            out.append(spec)
        else:
            raise ValueError(
                f"judges: cannot read {spec!r}; give model strings, mappings of Judge fields, "
                "Judge objects or 'panel:demo' / 'panel:null'"
            )
    return out


def judge_from_mapping(spec: dict):
    """A mapping of :class:`judgelab.judges.Judge` fields -> a Judge; with ``sim`` (parameters
    of :func:`judgelab.sim.judge`) a simulated judge, other fields given beside it overriding
    the simulated judge's."""
    Judge = _judge_module().Judge
    if "model" not in spec and "name" not in spec:
        raise ValueError(
            f"judges: a mapping needs at least 'model' (or 'name' with 'sim'): {spec!r}"
        )
    if spec.get("sim") is not None and str(spec.get("model", "")).startswith(SIM_PREFIX):
        return _judge_module().Judge.from_spec(spec)
    if spec.get("sim") is not None:
        sim = _sim_module()
        params = dict(spec.pop("sim"))
        model = spec.pop("model", None)
        name = spec.pop("name", None) or (str(model).split("/", 1)[-1] if model else None)
        j = sim.judge(name, **params)
        # other Judge fields given beside `sim` (templates, allow_tie, ...) override the sim judge's
        valid = {f.name for f in dataclasses.fields(j)} if dataclasses.is_dataclass(j) else set()
        extra = {k: v for k, v in spec.items() if k in valid}
        unknown = sorted(set(spec) - valid)
        if unknown:
            raise ValueError(f"judges: unknown Judge field(s) {unknown} in {spec!r}")
        return dataclasses.replace(j, **extra) if extra else j
    try:
        return Judge(**spec)
    except TypeError as exc:
        raise ValueError(f"judges: {exc} in {spec!r}") from exc


def filter_models(judges) -> list[str]:
    """Model strings named by ``judges`` when it is a filter (no Judge is built for plain strings
    so that published verdicts of any model string can be selected)."""
    models: list[str] = []
    for spec in as_list(judges):
        if isinstance(spec, str) and spec.startswith("panel:"):
            models.extend(j.model for j in panel_judges(spec))
        elif isinstance(spec, str):
            models.append(spec)
        elif isinstance(spec, Mapping):
            if spec.get("sim") is not None:
                models.append(judge_from_mapping(dict(spec)).model)
            else:
                models.append(str(spec["model"]))
        elif hasattr(spec, "model"):
            models.append(spec.model)
    return models
