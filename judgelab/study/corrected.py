"""The corrected-estimate study's inputs and analysis: the units of a prepared context, the
check the CLI runs before the kernel (:attr:`judgelab.study.Study.requires`) and the
analysis. The statistics live in :mod:`judgelab.stats.corrected`; the sentences in
:mod:`judgelab.study.conclusions`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from judgelab.stats.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.stats.corrected.units import CorrectedUnits
    from judgelab.studies import StudyContext

__all__ = ["study_units", "require_labels", "analyse_corrected_estimate"]

STUDY = "corrected_estimate"


def _params(ctx: StudyContext, params: Mapping | None) -> dict:
    if params is not None:
        return dict(params)
    from judgelab.study import declaration

    return {**declaration(STUDY).defaults(), **ctx.parameters}


def _human_table(ctx: StudyContext, protocol: str) -> None:
    """Refuse a dataset without the human labels the protocol's units need."""
    ds = ctx.dataset
    table, what = {
        "pairwise": ("preferences", "human preferences between two answers"),
        "rubric": ("rubric_labels", "human rubric labels (section overall)"),
    }.get(protocol, ("labels", "human scores of single answers"))
    t = getattr(ds, table, None)
    if t is None or len(t) == 0:
        raise DataError(
            table,
            None,
            f"dataset '{ds.name}' has no {what} (table {table}): {STUDY} corrects the judge's "
            f"{'win' if protocol == 'pairwise' else 'pass'} rate with human labels on some of the "
            f"judged units. Add a {table} table to the dataset",
        )


def study_units(ctx: StudyContext, params: Mapping | None = None) -> CorrectedUnits:
    """The units of every judge of a prepared context
    (:func:`judgelab.stats.corrected.units.corrected_units`), after checking that the dataset
    has human labels for the protocol and that some judged unit carries one.

    Raises
    ------
    DataError
        What the dataset or the verdicts lack, naming the table and how to fix it.
    """
    from judgelab.stats.corrected.units import corrected_units, resolve_protocol

    p = _params(ctx, params)
    if len(ctx.verdicts) == 0:  # a dry run that judges nothing
        raise DataError("verdicts", None, "no verdicts to analyse")
    protocol = resolve_protocol(ctx.verdicts, p.get("protocol"))
    _human_table(ctx, protocol)
    cu = corrected_units(
        ctx.verdicts,
        ctx.dataset,
        protocol=protocol,
        threshold=p.get("threshold"),
        label_share=p.get("label_share"),
        seed=p.get("seed", 0),
        rubric_pass=p.get("rubric_pass") or "pass",
    )
    labelled = cu.units.groupby("judge")["human_pass"].apply(lambda s: int(s.notna().sum()))
    none = labelled[labelled == 0]
    if len(none) == len(labelled):
        unit = "pair" if protocol == "pairwise" else "response"
        raise DataError(
            {"pairwise": "preferences", "rubric": "rubric_labels"}.get(protocol, "labels"),
            None,
            f"none of the judged {unit}s carries a human label the humans decide (after ties "
            f"dropped): {STUDY} needs human labels on some judged {unit}s. Judge the "
            f"labelled {unit}s (pairs: human) or add labels for the judged ones",
        )
    return cu


def require_labels(ctx: StudyContext) -> None:
    """The study's ``requires``: stored verdicts the units can be built from and human labels
    on some judged unit, checked before the kernel starts. Judging now (``verdicts`` call),
    before any call: the dataset has the human table of the protocol judged (pairwise unless
    ``protocol`` says single)."""
    if (ctx.parameters.get("verdicts") or "call") == "call":
        _human_table(ctx, ctx.parameters.get("protocol") or "pairwise")
        return
    study_units(ctx)


def analyse_corrected_estimate(ctx: StudyContext, params: Mapping) -> pd.DataFrame:
    """Findings of the study (:func:`judgelab.stats.corrected.targets.corrected_findings`)."""
    from judgelab.stats.corrected.targets import corrected_findings
    from judgelab.stats.decision import TARGET_RATE_IDS

    cu = study_units(ctx, params)
    f = corrected_findings(cu, design=params["design"], n_boot=ctx.n_boot, seed=ctx.seed)
    # the rates are decided against the target the researcher gives (decision.apply_decisions)
    target = params.get("target_rate")
    if not f.empty:
        f["target_rate"] = pd.Series(
            [target if i in TARGET_RATE_IDS else None for i in f["id"]], index=f.index, dtype=object
        )
    return f
