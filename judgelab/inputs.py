"""A study's inputs checked in the calling process, before the notebook's kernel starts.

``judgelab run`` used to find a bad dataset, a bad verdict file or a judge filter that
matches nothing only inside the kernel, as a failing cell half a minute later, and a judge
that cannot be called only after its calls were retried. :func:`check_inputs` runs the same
checks as :func:`judgelab.studies.prepare` first, here, and turns each problem into one
message (:class:`InputError`) naming what is wrong and how to fix it:

* stored verdicts (``verdicts`` = ``published`` / ``dataset`` / a file): ``prepare`` runs
  in full with ``dry_run`` (loading, validation against the verdict schema, the ``judges``
  filter, ``select``, identities, parsed verdicts) and then the study's own requirements
  (:attr:`judgelab.study.Study.requires`), which decide, e.g., the judge comparison's source;
* judges called now: the dataset is loaded and validated, the judges resolved and the
  study's requirements checked (e.g. the corrected estimate's human labels), so a dataset
  the study cannot use is refused before any call; judges reached through litellm's
  providers then pass the pre-flight of :mod:`judgelab.preflight` (unknown provider,
  missing key, the first call sent alone). The simulated panel needs no
  pre-flight and its calls are planned in the kernel only (planning 8,640 calls twice
  would cost seconds for nothing).

Nothing here sends a call except the pre-flight's first call per judge, which the run then
reuses from the store.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping

__all__ = ["check_inputs", "InputError", "STORED_MODES"]

#: ``verdicts`` values that read stored verdicts (any other value but ``call`` is a path).
STORED_MODES = ("published", "dataset")


class InputError(ValueError):
    """A study's inputs that cannot run: the message names what is wrong and how to fix it."""


def check_inputs(study: str, params: Mapping, log: Callable[[str], None] | None = None) -> None:
    """Raise :class:`InputError` when ``study`` cannot run on ``params`` (the parameters the
    notebook will receive, defaults included); return quietly otherwise."""
    from judgelab import preflight

    try:
        if (params.get("verdicts") or "call") == "call":
            _check_calls(study, params, log)
        else:
            _check_stored(study, params)
    except preflight.PreflightError:
        raise
    except (ValueError, LookupError, OSError) as exc:  # DataError is a ValueError
        raise InputError(f"{study}: {exc}") from exc


def _check_stored(study: str, params: Mapping) -> None:
    from judgelab import preflight, studies

    with preflight.planned(), contextlib.redirect_stdout(io.StringIO()):
        ctx = studies.prepare(study, **{**params, "dry_run": True})
    _study_requirements(study, ctx)


def _check_calls(study: str, params: Mapping, log) -> None:
    from judgelab import judge_specs, preflight, studies
    from judgelab.datasets import load_dataset

    judges = judge_specs.resolve_judges(params.get("judges"))
    if not judges:
        raise ValueError("judges: no judge to call; name some, or read stored verdicts")
    if not preflight.needs_preflight(judges):
        ds = load_dataset(params["dataset"])
        ds.validate(warn=False)
        # the study's requirements on the dataset (e.g. human labels), on a context without
        # verdicts: the judging is planned in the kernel only (see the module docstring)
        _study_requirements(study, _call_context(study, params, ds, judges))
        return
    # (a) and (b) for every judge, then the study's requirements, then (c) the plan's first
    # call per judge: a dataset the study cannot use is refused before any call
    preflight.check_judges(judges)
    with preflight.planned() as plans, contextlib.redirect_stdout(io.StringIO()):
        ctx = studies.prepare(study, **{**params, "dry_run": True})
    _study_requirements(study, ctx)
    sent = preflight.probe(plans)
    if sent and log is not None:
        log(f"pre-flight: the first call of each judge answered ({sent} sent)")


def _call_context(study: str, params: Mapping, dataset, judges):
    """A context for the study's ``requires`` when judges are called now: the dataset and the
    parameters, no verdicts yet (``requires`` checks what judging cannot supply)."""
    import pandas as pd

    from judgelab.studies import StudyContext

    return StudyContext(
        study=study,
        parameters=dict(params),
        dataset=dataset,
        verdicts=pd.DataFrame(),
        judges=[],
        identities=pd.DataFrame(),
        store=None,
        run_summary={},
        judge_specs=list(judges),
    )


def _study_requirements(study: str, ctx) -> None:
    """The study's declared ``requires(ctx)`` check (:attr:`judgelab.study.Study.requires`)."""
    from judgelab import study as _study

    try:
        decl = _study.declaration(study)
    except (KeyError, ValueError):
        return  # a notebook without a declaration: prepare's checks are all there is
    requires = decl.section("requires")
    if requires is not None:
        requires(ctx)
