"""The judge-comparison study's steps: select the source verdicts, judge what is missing,
and compare each candidate with the source (statistics in :mod:`judgelab.stats.compare`).

"Can a cheap judge replace an expensive one?" is answered for exact identities: the
``source`` is a selection (model, backend, judge_version, run_id) of stored verdicts; when
it spans several identities the study stops unless ``allow_mixed`` (the answer would mix
two instruments); when it is empty in a fresh store, the source judge is run first on the
study's pairs. Candidates (the study's ``judges``) are judged on the same units. On stored
verdicts, what was left at its default is derived from the data by :func:`stored_defaults`
(docs/statistics.md, "Judge comparison") and stated first in the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from judgelab.data import DataError
from judgelab.identity import SEPARATOR, JudgeIdentity, identities_table
from judgelab.stats import compare
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.reference import coded_votes, pair_key, reference_labels, winner_reference
from judgelab.stats.units import sorted_pair
from judgelab.studies import (
    MixedIdentitiesError,
    StudyContext,
    apply_select,
    load_verdicts,
)

__all__ = [
    "SourceSelection",
    "StoredDefaults",
    "stored_defaults",
    "select_source",
    "reference_for",
    "compare_judges",
    "restrict_to_pairs",
    "cheap_candidate",
    "confidence_findings",
]

IDENTITY = ["model", "backend", "judge_version"]

#: The study's reference rule (:func:`judgelab.stats.reference.reference_labels`): the strict
#: majority of every rater's vote (gold labels included) where the dataset has preferences,
#: else the truly better answer where the truth is known.
REFERENCE_RULES = ("majority", "truth")


@dataclass
class SourceSelection:
    verdicts: pd.DataFrame
    identities: pd.DataFrame
    judged_now: bool
    mixed: bool


@dataclass
class StoredDefaults:
    """What the comparison compares on stored verdicts, and why (the report states it first).

    ``source``: a select mapping of one identity; ``candidates``: identity strings;
    ``ensemble``: identity strings of the cascade's second pass, or None (``ensemble_reason``
    says why); ``chosen``: the parameters left at their default and derived here."""

    source: dict
    source_basis: str
    candidates: list[str]
    ensemble: list[str] | None
    ensemble_reason: str
    chosen: list[str]

    def record(self) -> dict:
        """The structured field of the run summary (``choices``)."""
        return {
            "source": str(JudgeIdentity(**self.source)),
            "source_basis": self.source_basis,
            "candidates": list(self.candidates),
            "ensemble": None if self.ensemble is None else list(self.ensemble),
            "ensemble_reason": self.ensemble_reason,
            "derived": list(self.chosen),
        }

    def markdown(self) -> str:
        """One line for the top of the report."""
        derived = ", ".join(self.chosen) if self.chosen else "none"
        ens = ", ".join(self.ensemble) if self.ensemble else f"none ({self.ensemble_reason})"
        return (
            f"**Compared:** source **{JudgeIdentity(**self.source)}** ({self.source_basis}); "
            f"{len(self.candidates)} candidate(s): {', '.join(self.candidates)}; "
            f"cascade ensemble: {ens}. Derived from the stored verdicts (not given): {derived}."
        )


def _left_default(ctx: StudyContext, name: str) -> bool:
    return name not in ctx.given


def _identity_record(row) -> dict:
    return {"model": row.model, "backend": row.backend, "judge_version": row.judge_version}


def _cost_ranking(ids: pd.DataFrame, verdicts: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per identity string, what one judgment costs: the recorded cost when every identity
    has one (:func:`judgelab.stats.compare.cost_findings`), else the litellm price per token
    (prompt + completion) when every model has one; else a DataError asking for ``source``."""
    from judgelab.judges import Judge
    from judgelab.llm import token_prices

    recorded = {}
    for r in ids.itertuples():
        rows = compare.cost_findings(verdicts[verdicts["judge"] == r.judge])
        recorded[r.judge] = rows[0]["estimate"]
    if all(v is not None and pd.notna(v) for v in recorded.values()):
        return pd.Series(recorded, dtype=float), "recorded cost per 1,000 judgments"
    priced = {}
    for r in ids.itertuples():
        try:
            prices = token_prices(Judge(str(r.model)))
        except Exception:  # a published model name that is no litellm route has no price
            prices = None
        priced[r.judge] = None if prices is None else sum(prices)
    unpriced = sorted({str(m) for m, p in zip(ids["model"], priced.values()) if p is None})
    if not unpriced:
        return pd.Series(priced, dtype=float), "litellm price per prompt + completion token"
    raise _ask_for_source(ids, unpriced)


def _ask_for_source(ids: pd.DataFrame, unpriced: list[str]) -> DataError:
    lines = [f"  {r.judge}  ({r.n} verdicts)" for r in ids.head(40).itertuples()]
    if len(ids) > 40:
        lines.append(f"  ... and {len(ids) - 40} more")
    return DataError(
        "verdicts",
        "cost_usd",
        "judge_comparison needs a source (the judge to replace): it defaults to the most "
        + (
            "expensive identity, but these verdicts record no cost and litellm has no price "
            f"for {', '.join(unpriced[:10])}"
            if unpriced
            else "expensive stored identity that is not a candidate, and there is none"
        )
        + ". Name it, e.g. -p source '{model: M, judge_version: V}' "
        "(never pick it by agreement with the human labels the comparison then tests). "
        "Identities present:\n" + "\n".join(lines),
    )


def _ensemble_trio(pool: pd.DataFrame) -> tuple[list[str] | None, str]:
    """The cross-family trio with the most verdicts: per family its identity with the most
    verdicts (ties by name), the three families whose pick has the most verdicts."""
    fam = pool.assign(family=pool["judge_family"].fillna("unknown").astype(str))
    best = fam.sort_values(["n", "judge"], ascending=[False, True]).drop_duplicates("family")
    if len(best) < 3:
        return None, (
            f"the identities that are neither source nor candidate span {len(best)} "
            "famil(ies); a cross-family ensemble needs 3"
        )
    trio = best.head(3)
    return sorted(trio["judge"]), "cross-family trio with the most verdicts"


def stored_defaults(ctx: StudyContext) -> StoredDefaults | None:
    """Derive the comparison's ``source``, candidates and ``ensemble`` from stored verdicts
    where they were left at their defaults (which name the demo panel), and restrict
    ``ctx`` to the candidates. None when verdicts are called (the defaults then apply).

    source: the most expensive identity by recorded cost, else litellm price, ties broken by
    name; no cost and no price for some identity stops the study asking for ``source``
    (choosing it by agreement with the human labels would be selection on the outcome).
    candidates: every other identity. ensemble: :func:`_ensemble_trio` among identities that
    are neither, or None. The choices go into ``ctx.parameters`` and the run summary."""
    if (ctx.parameters.get("verdicts") or "call") == "call":
        return None
    ids = identities_table(ctx.verdicts)
    chosen = []
    if _left_default(ctx, "source"):
        # the source is one of the selected identities, or (candidates named in `judges`)
        # one of the other stored identities
        pool = ctx.verdicts
        if not _left_default(ctx, "judges"):
            pool = _normalised(_stored_frame(ctx))
            pool = pool[~pool["judge"].isin(ids["judge"])]
        pool_ids = identities_table(pool)
        if pool_ids.empty:
            raise _ask_for_source(ids, [])
        costs, basis = _cost_ranking(pool_ids, pool)
        top = costs.reset_index().sort_values([0, "index"], ascending=[False, True])
        src_id = str(top["index"].iloc[0])
        source = _identity_record(pool_ids[pool_ids["judge"] == src_id].iloc[0])
        chosen.append("source")
    else:
        source, basis = dict(ctx.parameters["source"]), "given"
        src_id = None
        match = apply_select(ctx.verdicts, source)
        if len(match):
            src_id = str(match["judge"].iloc[0]) if match["judge"].nunique() == 1 else None
    candidates = [j for j in ids["judge"] if j != src_id]
    if not candidates:
        raise DataError(
            "verdicts",
            "model",
            f"judge_comparison needs a candidate besides the source {src_id}: the selected "
            "verdicts hold no other identity",
        )
    if _left_default(ctx, "ensemble"):
        stored = identities_table(_normalised(_stored_frame(ctx)))
        pool = stored[~stored["judge"].isin(candidates)]
        ensemble, reason = _ensemble_trio(pool)
        chosen.append("ensemble")
    else:
        ensemble, reason = ctx.parameters.get("ensemble"), "given"
    if _left_default(ctx, "judges"):
        chosen.append("judges")
    choice = StoredDefaults(source, basis, candidates, ensemble, reason, chosen)
    _restrict_context(ctx, choice)
    return choice


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    from judgelab.studies import _normalise_verdicts

    return frame if "judge" in frame.columns else _normalise_verdicts(frame)


def _restrict_context(ctx: StudyContext, choice: StoredDefaults) -> None:
    """The context holds the candidates only; its parameters and run summary hold the
    choices (so no demo default is recorded for a run on another dataset)."""
    keep = ctx.verdicts["judge"].isin(choice.candidates)
    ctx.verdicts = ctx.verdicts[keep].reset_index(drop=True)
    ctx.identities = ctx.identities[ctx.identities["judge"].isin(choice.candidates)]
    ctx.identities = ctx.identities.reset_index(drop=True)
    ctx.judges = [j for j in ctx.judges if str(JudgeIdentity.from_record(j)) in choice.candidates]
    ctx.parameters.update(
        source=choice.source,
        source_judge=None,
        ensemble=choice.ensemble,
        judges=ctx.parameters.get("judges") if "judges" in ctx.given else None,
    )
    ctx.run_summary["choices"] = choice.record()
    if ctx.summaries:
        ctx.summaries[0]["choices"] = choice.record()


def restrict_to_pairs(verdicts: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Verdicts of the given pairs only (order-free match)."""
    keys = set(pair_key(pairs["response_a"], pairs["response_b"]))
    k = pair_key(verdicts["response_a"], verdicts["response_b"])
    return verdicts[pd.Series(k, index=verdicts.index).isin(keys)].reset_index(drop=True)


def _stored_frame(ctx: StudyContext) -> pd.DataFrame:
    mode = ctx.parameters.get("verdicts") or "call"
    if mode == "call":
        from judgelab.store import VerdictStore

        if ctx.store is None or not ctx.store.exists():
            return pd.DataFrame(columns=IDENTITY)
        with VerdictStore(ctx.store) as store:
            return store.to_frame(protocol="pairwise")
    if mode in ("dataset", "published"):
        return ctx.dataset.verdicts
    return load_verdicts(mode, ctx.dataset)


def select_source(
    ctx: StudyContext,
    source: Mapping,
    source_judge=None,
    allow_mixed: bool | None = None,
) -> SourceSelection:
    """The source verdicts named by ``source`` (mapping of model, backend, judge_version,
    run_id), restricted to the pairs the candidates were judged on.

    Raises :class:`judgelab.studies.MixedIdentitiesError` when the selection spans more than
    one identity and ``allow_mixed`` is false. When nothing matches and verdicts are being
    called, ``source_judge`` (same forms as ``judges``) is judged now."""
    if not isinstance(source, Mapping) or not source:
        raise ValueError(
            "source must be a mapping such as {'model': 'gpt-4o', 'judge_version': '...'}"
        )
    allow_mixed = bool(ctx.parameters.get("allow_mixed")) if allow_mixed is None else allow_mixed
    pairs = ctx.verdicts[["item_id", "response_a", "response_b"]].drop_duplicates()
    stored = _stored_frame(ctx)
    frame = apply_select(stored, dict(source)) if len(stored) else stored
    frame = restrict_to_pairs(frame, pairs) if len(frame) else frame
    judged_now = False
    if len(frame) == 0:
        if (ctx.parameters.get("verdicts") or "call") != "call" or source_judge is None:
            raise DataError(
                "verdicts",
                None,
                f"source={dict(source)!r} matches no verdict on the candidates' pairs; "
                "give source_judge to judge it now, or select another source",
            )
        called = ctx.call(source_judge, pairs=pairs)
        frame = apply_select(called, dict(source))
        judged_now = True
        if len(frame) == 0:
            raise DataError(
                "verdicts",
                None,
                f"source_judge was judged but source={dict(source)!r} selects none of its verdicts",
            )
    ids = identities_table(frame)
    mixed = len(ids) > 1
    if mixed and not allow_mixed:
        lines = [f"  {r.judge}  ({r.n} verdicts)" for r in ids.itertuples()]
        raise MixedIdentitiesError(
            f"the source selection {dict(source)!r} spans {len(ids)} identities (model, backend, judge_version):\n"
            + "\n".join(lines)
            + "\nA comparison against a mixture measures no single judge: narrow `source` "
            "(e.g. add judge_version) or set allow_mixed=True.",
            ids,
        )
    if mixed:  # allowed: pool under one synthetic identity, said in the findings
        frame = frame.assign(
            model="mixed-source",
            backend="mixed",
            judge_version="+".join(sorted(ids["judge_version"].astype(str))),
        )
    return SourceSelection(frame, ids, judged_now, mixed)


def ensemble_verdicts(ctx: StudyContext, ensemble, cheap: pd.DataFrame) -> pd.DataFrame:
    """The cascade's second pass on the cheap judge's pairs: judged now (``verdicts="call"``;
    ``ensemble`` in the forms of ``judges``), or selected from the stored verdicts (a
    ``select`` mapping, model names or identity strings ``model|backend|judge_version``)."""
    pairs = cheap[["item_id", "response_a", "response_b"]].drop_duplicates()
    if (ctx.parameters.get("verdicts") or "call") == "call":
        frame = ctx.call(ensemble, pairs=pairs)
    else:
        stored = _stored_frame(ctx)
        names = [ensemble] if isinstance(ensemble, str) else ensemble
        if isinstance(ensemble, Mapping):
            frame = apply_select(stored, dict(ensemble))
        elif all(SEPARATOR in str(n) for n in names):  # identity strings
            stored = _normalised(stored)
            frame = stored[stored["judge"].isin([str(n) for n in names])]
        else:
            frame = stored[stored["model"].astype(str).isin([str(n) for n in names])]
        frame = restrict_to_pairs(frame, pairs)
    if len(frame) == 0:
        raise DataError(
            "verdicts",
            "model",
            f"the ensemble {ensemble!r} has no verdicts on the cheap judge's pairs",
        )
    return frame


#: ``reference_for``'s name when the dataset has no human preferences and no truth
NO_REFERENCE = "no human reference"


def reference_for(ctx: StudyContext) -> tuple[pd.DataFrame, str]:
    """The pair reference under :data:`REFERENCE_RULES` and its name for the findings'
    ``method``: ``gold/human majority`` (a ``gold`` rater among the voters), ``human
    majority`` or ``truth``. The frame is :func:`judgelab.stats.reference.winner_reference`'s
    (``attrs``: ``n_pairs``, ``n_excluded``: pairs without a strict majority, ``no_majority``:
    the keys of the study's pairs among them). With neither
    preferences nor truth the frame is empty, the name is :data:`NO_REFERENCE` and
    ``attrs["undefined_reason"]`` is the reason every accuracy finding states."""
    ds = ctx.dataset
    votes = coded_votes(ds.preferences)
    has_truth = ds.truth is not None and "quality" in ds.truth.columns
    if len(votes) == 0 and not has_truth:
        # agreement with the source needs no reference: run it, and leave every accuracy
        # finding undefined with this reason rather than stopping the study
        out = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("item_id", "pair_key", "reference", "n_votes")}
        )
        out.attrs.update(
            n_pairs=0,
            n_excluded=0,
            undefined_reason=f"dataset '{ds.name}' has neither human preferences nor truth: "
            "accuracy is undefined (agreement with the source is reported)",
        )
        return out, NO_REFERENCE
    pairs = ctx.verdicts[["item_id", "response_a", "response_b"]].drop_duplicates()
    lo, hi = sorted_pair(pairs["response_a"], pairs["response_b"])
    pairs = pd.DataFrame({"item_id": pairs["item_id"].to_numpy(), "lo": lo, "hi": hi})
    ref, excluded, rule = reference_labels(
        votes, rule=REFERENCE_RULES, truth=ds.truth if has_truth else None, pairs=pairs
    )
    out = winner_reference(ref)
    n_excl = excluded["no_human_majority"]
    # the study's pairs the humans voted on without a majority: the certified cascade counts
    # them as disagreements (docs/statistics.md#certified-cascade), not as missing
    voted = set(pair_key(votes["lo"], votes["hi"])) if len(votes) else set()
    study = set(pair_key(pairs["lo"], pairs["hi"]))
    no_majority = sorted((voted & study) - set(out["pair_key"]))
    out.attrs.update(n_pairs=len(out) + n_excl, n_excluded=n_excl, no_majority=no_majority)
    if rule == "truth":
        return out, "truth"
    return out, "gold/human majority" if (votes["rater_id"] == "gold").any() else "human majority"


def compare_judges(
    source: pd.DataFrame,
    candidates: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    margin: float = 0.03,
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    seed: int = 0,
    reference_name: str = "human majority",
    source_identities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """All per-candidate findings against one source (plus ``mixed_identities``)."""
    rows = []
    n_ids = (
        len(source_identities) if source_identities is not None else len(identities_table(source))
    )
    rows.append(
        finding(
            "mixed_identities",
            n_ids,
            ci_level=None,
            n=len(source),
            method="distinct (model, backend, judge_version) in the source selection",
            conclusion="the source is one judge identity"
            if n_ids == 1
            else f"the source mixes {n_ids} identities (allow_mixed): its figures describe no single judge",
        )
    )
    rows += compare.cost_findings(source)
    # the units (with their reference) of the source and of each candidate, built once and
    # read by both statistics (the source's by every candidate)
    su = compare.reference_units(source, reference, order_aggregation, pair_lo=True)
    # the columns the statistics read (each candidate's slice is held until the end)
    read = [*compare.UNIT_COLUMNS, "cost_usd", "latency_s", "cached"]
    slim = candidates[[c for c in read if c in candidates.columns]]
    groups = [cand for _, cand in slim.groupby(IDENTITY, sort=False)]
    cus = [compare.reference_units(cand, reference, order_aggregation) for cand in groups]
    compare.code_units(su, *cus)  # the units matched on integers by every statistic
    for cand, cu in zip(groups, cus, strict=True):
        given = dict(order_aggregation=order_aggregation, n_boot=n_boot, seed=seed,
                     source_units=su, candidate_units=cu)  # fmt: skip
        rows += compare.agreement_findings(source, cand, **given)
        rows += compare.accuracy_findings(
            source, cand, reference, margin=margin, reference_name=reference_name, **given
        )
        rows += compare.cost_findings(cand)
    src_acc = compare.accuracy_findings(
        source,
        source,
        reference,
        order_aggregation=order_aggregation,
        n_boot=n_boot,
        seed=seed,
        reference_name=reference_name,
        source_units=su,
        candidate_units=su,
    )[0]
    rows.append(src_acc)
    return findings_frame(rows)


def confidence_findings(
    candidates: pd.DataFrame,
    dataset,
    *,
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    seed: int = 0,
    reference_name: str = "human majority",
) -> pd.DataFrame:
    """``confidence_ece`` and ``confidence_brier`` of each candidate against the humans
    (:func:`judgelab.stats.calibration.confidence.confidence_calibration`, the calibration
    audit's statistic: one home), the confidence source in ``method``. Without a reference
    (:data:`NO_REFERENCE`) both are null with the reason."""
    from judgelab.identity import identity_string
    from judgelab.stats.calibration.confidence import CONFIDENCE_IDS, confidence_calibration
    from judgelab.stats.calibration.units import HumanData

    # the human side (votes, their reference and shares) prepared once for every candidate
    humans = None if reference_name == NO_REFERENCE else HumanData.of(dataset, "pairwise")
    frames = []
    for key, cand in candidates.groupby(IDENTITY, sort=True, dropna=False):
        judge = identity_string(*key)
        if reference_name == NO_REFERENCE:
            reason = "no human reference: confidence cannot be set against humans"
            frames.append(
                findings_frame(
                    [finding(i, None, judge=judge, reason=reason) for i in CONFIDENCE_IDS]
                )
            )
            continue
        frames.append(
            confidence_calibration(
                cand,
                humans,
                judge=judge,
                order_aggregation=order_aggregation,
                n_boot=n_boot,
                seed=seed,
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else findings_frame([])


def pareto_table(findings: pd.DataFrame) -> pd.DataFrame:
    """Cost per 1,000 judgments against accuracy vs humans, one row per identity."""
    f = findings[findings["id"].isin(["accuracy_vs_human", "cost_per_1k_usd"])]
    wide = f.pivot_table(index="judge", columns="id", values="estimate", aggfunc="first")
    # pivot_table drops an all-missing column: published verdicts have no stored cost
    wide = wide.reindex(columns=["accuracy_vs_human", "cost_per_1k_usd"])
    lo = f[f["id"] == "accuracy_vs_human"].set_index("judge")[["ci_low", "ci_high"]]
    return wide.join(lo).reset_index()


def cheap_candidate(findings: pd.DataFrame, source_id: str) -> str:
    """The cascade's first pass: the candidate (not the source) with the lowest stored
    ``cost_per_1k_usd``; when no candidate has a stored cost (published verdicts) the first
    candidate by identity, since cost cannot rank them."""
    cands = findings[(findings["id"] == "cost_per_1k_usd") & (findings["judge"] != source_id)]
    if cands.empty:
        raise DataError(
            "verdicts", "model", "no candidate judge besides the source to cascade from"
        )
    priced = cands.dropna(subset=["estimate"])
    pool = priced.sort_values(["estimate", "judge"]) if len(priced) else cands.sort_values("judge")
    return str(pool["judge"].iloc[0])
