"""The analyses of the package's studies: one function per study, ``(ctx, params) ->
findings``, the computations of the notebook's findings cells with nothing displayed (the
save step writes findings.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.studies import StudyContext

__all__ = [
    "analyse_position_bias",
    "analyse_self_preference",
    "analyse_family_entanglement",
    "analyse_calibration_audit",
    "analyse_judge_comparison",
]


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
    from judgelab.stats import units

    candidates = params["candidate_models"] or sorted(
        ctx.dataset.responses["generator"].dropna().astype(str).unique()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens.check_composition(ctx.judges, candidates, purpose=params["purpose"])
    families = {str(JudgeIdentity.from_record(j)): j["family"] for j in ctx.judges}
    um = units.unit_matrix(
        ctx.verdicts,
        order_aggregation=params["order_aggregation"],
        tie_policy=params["tie_policy"],
        families={k: v for k, v in families.items() if v},
    )
    ref = ent.reference_labels(
        um, ctx.dataset, params["reference"], min_raters=params["min_raters"]
    )  # read by both analyses
    f_ent = ent.entanglement_findings(
        um,
        ctx.dataset,
        reference=params["reference"],
        n_boot=ctx.n_boot,
        seed=ctx.seed,
        min_raters=params["min_raters"],
        ref=ref,
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
        ref=ref,
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
    from judgelab.stats import cascade

    # on stored verdicts, source / candidates / ensemble left at their (demo) defaults are
    # derived from the data; ctx.parameters then holds the choices
    comparison.stored_defaults(ctx)
    params = {
        **params,
        **{k: ctx.parameters.get(k) for k in ("source", "source_judge", "ensemble")},
    }
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
    findings = pd.concat(
        [
            findings,
            comparison.confidence_findings(
                ctx.verdicts,
                ctx.dataset,
                order_aggregation=params["order_aggregation"],
                n_boot=ctx.n_boot,
                seed=ctx.seed,
                reference_name=reference_name,
            ),
        ],
        ignore_index=True,
    )
    source_id = str(
        JudgeIdentity(*src.verdicts[["model", "backend", "judge_version"]].iloc[0].tolist())
    )
    if params["ensemble"] is None:  # no cross-family trio outside the candidates: no cascade
        return findings
    cheap_id = comparison.cheap_candidate(findings, source_id)
    cheap = ctx.verdicts[ctx.verdicts["judge"] == cheap_id]
    ens_verdicts = comparison.ensemble_verdicts(ctx, params["ensemble"], cheap)
    f_cascade, _, _ = cascade.certified_cascade(
        cheap,
        ens_verdicts,
        reference,
        alphas=params["alphas"],
        delta=params["delta"],
        calibration_share=params["calibration_share"],
        n_boot=ctx.n_boot,
        seed=ctx.seed,
    )
    return pd.concat([findings, f_cascade], ignore_index=True)
