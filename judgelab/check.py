"""``judgelab check DIR``: does a dataset validate, and which studies can it feed?

:func:`check_dataset` loads a dataset (a directory or a registered name), runs
``Dataset.validate()`` and, for each of the built-in studies, says whether the data
supports it, what is missing when it does not, and the parameters a run will need (for
example ``verdicts: dataset`` when the dataset carries stored verdicts).
:func:`render_check` turns that report into text; :func:`check_command` is the command
line (registered on the main app with ``app.command("check")(check_command)``).

The check reads tables only: it never calls a judge and never runs a study, so "supported"
means the inputs a study refuses to start without are present, not that every finding will
be estimable (a study can still report a statistic as undefined with its reason).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import typer

__all__ = ["StudySupport", "CheckReport", "check_dataset", "render_check", "check_command"]

STUDIES = (
    "position_bias",
    "self_preference",
    "family_entanglement",
    "calibration_audit",
    "judge_comparison",
    "corrected_estimate",
)


@dataclass
class StudySupport:
    """Whether one study can run on the dataset.

    ``missing`` lists what the study needs and the data lacks (empty when supported);
    ``parameters`` the ``-p`` values a run needs; ``notes`` caveats that do not stop it."""

    study: str
    supported: bool
    missing: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """The outcome of :func:`check_dataset`. ``valid`` is false when the dataset could not be
    loaded or did not validate; ``error`` then says why and ``studies`` is empty."""

    dataset: str
    valid: bool
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    studies: list[StudySupport] = field(default_factory=list)

    def supported(self) -> list[str]:
        """Names of the studies the data supports."""
        return [s.study for s in self.studies if s.supported]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _identity(frame: pd.DataFrame) -> pd.Series:
    return (
        frame["model"].astype(str)
        + "|"
        + frame["backend"].astype(str)
        + "|"
        + frame["judge_version"].astype(str)
    )


def _parsed(v: pd.DataFrame) -> pd.DataFrame:
    if "parse_ok" not in v.columns:
        return v
    ok = v["parse_ok"].map(
        lambda x: str(x).strip().lower() in ("true", "1", "1.0", "yes") if pd.notna(x) else False
    )
    return v[ok.to_numpy()]


def _verdict_facts(ds) -> dict[str, Any]:
    """What the stored verdicts hold: identities, protocols, pairs seen in both orders, cost."""
    v = ds.verdicts
    if v is None or v.empty:
        return {"stored_verdicts": 0}
    from judgelab import families

    ident = _identity(v)
    models = v[["model", "judge_version"]].drop_duplicates()
    versions_per_model = models.groupby("model")["judge_version"].nunique()
    protocol = v["protocol"].astype(str)
    pw = v[(protocol == "pairwise").to_numpy()]
    both_orders = 0
    if len(pw) and "order" in pw.columns:
        pw = _parsed(pw)
        lo = pw[["response_a", "response_b"]].astype(str).min(axis=1)
        hi = pw[["response_a", "response_b"]].astype(str).max(axis=1)
        keyed = pd.DataFrame(
            {"judge": _identity(pw).to_numpy(), "lo": lo, "hi": hi, "order": pw["order"]}
        )
        orders = keyed.groupby(["judge", "lo", "hi"])["order"].agg(lambda s: set(s.dropna()))
        both_orders = int(orders.map(lambda s: {"ab", "ba"} <= s).sum())
    fams = v["judge_family"] if "judge_family" in v.columns else pd.Series(None, index=v.index)
    fams = fams.where(fams.notna(), v["model"].astype(str).map(families.family_of))
    cost = "cost_usd" in v.columns and pd.to_numeric(v["cost_usd"], errors="coerce").notna().any()
    return {
        "stored_verdicts": len(v),
        "identities": sorted(ident.unique().tolist()),
        "protocols": sorted(protocol.unique().tolist()),
        "pairwise_verdicts": int((protocol == "pairwise").sum()),
        "pairwise_identities": sorted(
            _identity(v[(protocol == "pairwise").to_numpy()]).unique().tolist()
        ),
        "pairs_in_both_orders": both_orders,
        "judge_families": sorted({str(f) for f in fams.dropna()}),
        "models_with_several_versions": sorted(
            str(m) for m in versions_per_model[versions_per_model > 1].index
        ),
        "cost_recorded": bool(cost),
    }


def _facts(ds) -> dict[str, Any]:
    info = ds.response_info()
    gen_families = info.dropna(subset=["family"]).groupby("generator")["family"].first()
    per_item = ds.responses.groupby("item_id").size()
    prefs = ds.preferences
    return {
        "generators": int(ds.responses["generator"].nunique()),
        "generators_with_family": int(len(gen_families)),
        "generator_families": sorted({str(f) for f in gen_families}),
        "items_with_two_responses": int((per_item >= 2).sum()),
        "responses_with_text": int(len(ds.responses) - len(ds.missing_texts())),
        "human_preferences": 0 if prefs is None else len(prefs),
        "human_raters": 0 if prefs is None else int(prefs["rater_id"].nunique()),
        "human_labels": 0 if ds.labels is None else len(ds.labels),
        "rubric_labels": 0 if ds.rubric_labels is None else len(ds.rubric_labels),
        "rubric": ds.rubric is not None,
        "truth": ds.truth is not None and "quality" in ds.truth.columns,
        "scale": list(ds.scale) if ds.scale else None,
        **_verdict_facts(ds),
    }


def _stored_parameters(facts: dict) -> tuple[dict, list[str]]:
    """``verdicts: dataset``: with ``judges`` left at its default every stored identity is
    analysed as its own judge (identities sharing a model are kept apart), so nothing else is
    needed; naming models in ``judges`` filters them, and then a model under several judge
    versions must be narrowed with ``select`` (or kept apart with ``allow_mixed``)."""
    params: dict[str, Any] = {"verdicts": "dataset"}
    notes = []
    several = facts.get("models_with_several_versions") or []
    if several:
        notes.append(
            f"{', '.join(several)} appear under several judge_versions: each is analysed as "
            "its own judge; to analyse one, add select {judge_version: ...}"
        )
    return params, notes


def _can_call(facts: dict) -> bool:
    return facts["responses_with_text"] > 0 and facts["items_with_two_responses"] > 0


_CALL_NOTE = (
    "verdicts judged now: give judges (model strings or Judge mappings, see docs/your_judges.md)"
)


def _human_pairs_or_all(facts: dict) -> str:
    return "human" if facts["human_preferences"] else "all"


def _position_bias(facts: dict) -> StudySupport:
    s = StudySupport("position_bias", False)
    if facts.get("pairs_in_both_orders", 0) > 0:
        s.supported = True
        s.parameters, s.notes = _stored_parameters(facts)
        s.notes.append(f"{facts['pairs_in_both_orders']} (judge, pair) units seen in both orders")
    elif _can_call(facts):
        s.supported = True
        s.parameters = {"judges": "<your judges>", "pairs": _human_pairs_or_all(facts)}
        s.notes.append(_CALL_NOTE)
        if facts.get("pairwise_verdicts"):
            s.notes.append(
                "the stored pairwise verdicts are in one order only: they cannot be used"
            )
    else:
        s.missing.append(
            "pairwise verdicts in both orders (order ab and ba of the same pair), "
            "or response texts of at least two responses per item to judge now"
        )
    return s


def _pairwise_source(facts: dict, study: str) -> StudySupport:
    """Studies that read pairwise verdicts, stored or called."""
    s = StudySupport(study, False)
    if facts.get("pairwise_verdicts", 0) > 0:
        s.supported = True
        s.parameters, s.notes = _stored_parameters(facts)
    elif _can_call(facts):
        s.supported = True
        s.parameters = {"judges": "<your judges>", "pairs": _human_pairs_or_all(facts)}
        s.notes.append(_CALL_NOTE)
    else:
        s.missing.append(
            "pairwise verdicts (stored), or response texts of two or more responses per item "
            "to judge now"
        )
    return s


def _self_preference(facts: dict) -> StudySupport:
    s = _pairwise_source(facts, "self_preference")
    if facts["generators_with_family"] == 0:
        s.supported = False
        s.missing.append(
            "generators with a family (a `family` column in responses.csv, or generator names "
            "judgelab.families recognises)"
        )
    elif facts.get("judge_families") and not (
        set(facts["judge_families"]) & set(facts["generator_families"])
    ):
        s.notes.append(
            "no stored judge shares a family with a generator: the relations self and family "
            "never occur (add judge_generator_aliases to dataset.yaml if names differ)"
        )
    if not (facts["human_preferences"] or facts["truth"]):
        s.notes.append("no human preferences or truth: the quality control is not estimable")
    return s


def _family_entanglement(facts: dict) -> StudySupport:
    s = _pairwise_source(facts, "family_entanglement")
    if not (facts["truth"] or facts["human_preferences"]):
        s.supported = False
        s.missing.append(
            "a reference for judge errors: truth, or human preferences (preferences.csv) with "
            "at least min_raters raters agreeing"
        )
    elif not facts["truth"]:
        s.parameters["reference"] = "human"
    if facts.get("judge_families") and len(facts["judge_families"]) < 2:
        s.notes.append("the stored judges come from one family: no cross-family comparison")
    return s


def _calibration_audit(facts: dict) -> StudySupport:
    """Pairwise against preferences (or truth), single against labels, rubric against rubric
    labels; the first protocol the data has a reference for is suggested."""
    s = StudySupport("calibration_audit", False)
    protocols = facts.get("protocols") or []
    if facts["human_preferences"] or facts["truth"]:
        base = _pairwise_source(facts, "calibration_audit")
        if base.supported:
            s.supported, s.parameters, s.notes = True, base.parameters, base.notes
            if not facts["human_preferences"]:
                s.notes.append("no human preferences: the reference is truth (simulated data)")
    if not s.supported and facts["human_labels"]:
        if "single" in protocols:
            s.supported = True
            s.parameters, s.notes = _stored_parameters(facts)
        elif facts["responses_with_text"]:
            s.supported = True
            s.parameters = {"judges": "<your judges>"}
            s.notes.append(_CALL_NOTE)
        if s.supported:
            s.parameters["protocol"] = "single"
            if not facts["scale"]:
                s.notes.append(
                    "dataset.yaml declares no scale: add scale: {min: ..., max: ...} so scores are checked against it"
                )
    if not s.supported and facts["rubric_labels"] and facts["rubric"]:
        s.supported = True
        if "rubric" in protocols:
            s.parameters, s.notes = _stored_parameters(facts)
        else:
            s.parameters = {"judges": "<your judges>"}
        s.parameters["protocol"] = "rubric"
    if not s.supported:
        s.missing.append(
            "a human reference matching the verdicts: preferences.csv (item_id, response_a, "
            "response_b, rater_id, preference) for pairwise verdicts, labels.csv (response_id, "
            "rater_id, score) for single scores, or rubric_labels.csv with a rubric"
        )
        if not (facts.get("stored_verdicts") or _can_call(facts)):
            s.missing.append("verdicts to audit: stored verdicts or response texts to judge")
    return s


def _judge_comparison(facts: dict) -> StudySupport:
    s = _pairwise_source(facts, "judge_comparison")
    identities = facts.get("pairwise_identities") or []
    if facts.get("pairwise_verdicts"):
        if len(identities) < 2:
            s.supported = False
            s.missing.append(
                f"at least 2 judge identities with pairwise verdicts (found {len(identities)}); "
                "or judge candidates now with verdicts call"
            )
        else:
            # the study derives source, candidates and ensemble from stored verdicts
            # (judgelab.comparison.stored_defaults); only a source it cannot rank is asked for
            if facts.get("cost_recorded"):
                s.notes.append(
                    "source: the most expensive stored identity by recorded cost (name another "
                    "with source); candidates: the others; ensemble: a cross-family trio"
                )
            else:
                model, backend, version = identities[0].split("|", 2)
                s.parameters["source"] = {"model": model, "judge_version": version}
                s.notes.append(
                    "no cost is recorded: the study ranks the identities by litellm price when "
                    "every model has one, else it asks for source (the judge to replace; the "
                    "value shown is an example, never choose it by agreement with the human "
                    "labels the comparison tests)"
                )
    elif s.supported:
        s.parameters.update(source="<mapping naming the source judge>", source_judge="<model>")
    if s.supported and not (facts["human_preferences"] or facts["truth"]):
        s.notes.append(
            "no human preferences or truth: only agreement with the source is estimable, "
            "accuracy findings are undefined"
        )
    return s


def _corrected_estimate(facts: dict) -> StudySupport:
    """Win rates from pairwise verdicts and human preferences; pass rates from stored single
    scores and human labels, or stored rubric verdicts and rubric labels (judging now gives
    pairwise verdicts only)."""
    s = StudySupport("corrected_estimate", False)
    protocols = facts.get("protocols") or []
    if facts["human_preferences"]:
        base = _pairwise_source(facts, "corrected_estimate")
        if base.supported:
            s.supported, s.parameters, s.notes = True, base.parameters, base.notes
            if "single" in protocols:
                s.parameters["protocol"] = "pairwise"
    if not s.supported and facts["human_labels"] and "single" in protocols:
        s.supported = True
        s.parameters, s.notes = _stored_parameters(facts)
        s.parameters["protocol"] = "single"
    if not s.supported and facts["rubric_labels"] and "rubric" in protocols:
        s.supported = True
        s.parameters, s.notes = _stored_parameters(facts)
        s.parameters["protocol"] = "rubric"
        s.notes.append("rubric verdicts pass at pass; -p rubric_pass warn counts warn as a pass")
    if s.supported:
        s.notes.append(
            "where every judged unit is labelled the human-only rate is the answer: -p "
            "label_share 0.1 keeps a random 10% of the labels (a smaller label budget); "
            "-p target_rate R decides each corrected rate against R"
        )
    else:
        s.missing.append(
            "human labels on some judged units: preferences.csv with pairwise verdicts (stored, "
            "or response texts to judge now) for win rates, or labels.csv with stored single "
            "scores (rubric_labels.csv with stored rubric verdicts) for pass rates"
        )
    return s


def check_dataset(name_or_path) -> CheckReport:
    """Load and validate a dataset and say which studies it supports.

    Parameters
    ----------
    name_or_path
        A dataset directory, or a registered dataset name (``judgelab.datasets.registered()``).

    Returns
    -------
    CheckReport
        ``valid`` and ``error`` (the loader's or ``validate()``'s message), the validation
        ``summary``, the ``facts`` the decisions rest on, and one :class:`StudySupport` per
        study in :data:`STUDIES`.
    """
    import warnings

    from judgelab.data import DataError
    from judgelab.datasets import load_dataset

    label = str(name_or_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = load_dataset(name_or_path)
            summary = ds.validate(warn=False)
    except (DataError, FileNotFoundError, KeyError, ValueError, OSError) as exc:
        return CheckReport(dataset=label, valid=False, error=f"{type(exc).__name__}: {exc}")
    facts = _facts(ds)
    studies = [
        _position_bias(facts),
        _self_preference(facts),
        _family_entanglement(facts),
        _calibration_audit(facts),
        _judge_comparison(facts),
        _corrected_estimate(facts),
    ]
    summary.pop("sha256", None)
    return CheckReport(dataset=label, valid=True, summary=summary, facts=facts, studies=studies)


def _param_text(params: dict) -> str:
    def value(v):
        if v is None:
            return "null"
        if isinstance(v, dict):
            return "'" + json.dumps(v).replace('"', "") + "'"
        return str(v).lower() if isinstance(v, bool) else str(v)

    return " ".join(f"-p {k} {value(v)}" for k, v in params.items())


def render_check(report: CheckReport) -> str:
    """The report as text: validation, then one block per study."""
    if not report.valid:
        return f"dataset {report.dataset}: does NOT validate\n  {report.error}"
    s = report.summary
    lines = [
        f"dataset {report.dataset}: valid ({s['items']} items, {s['responses']} responses, "
        f"{s['generators']} generators, {s['preferences']} preferences, {s['labels']} labels, "
        f"{s['verdicts']} stored verdicts, {s['missing_texts']} responses without text)"
    ]
    f = report.facts
    if f.get("identities"):
        lines.append(f"judge identities in the stored verdicts: {len(f['identities'])}")
        lines += [f"  {i}" for i in f["identities"][:10]]
    lines.append(f"supports: {', '.join(report.supported()) or 'none of the studies'}")
    for st in report.studies:
        lines.append("")
        lines.append(f"{st.study}: {'yes' if st.supported else 'no'}")
        for m in st.missing:
            lines.append(f"  missing: {m}")
        if st.supported and st.parameters:
            lines.append(f"  run: judgelab run {st.study} -p dataset {report.dataset} ")
            lines[-1] += _param_text(st.parameters)
        for n in st.notes:
            lines.append(f"  note: {n}")
    return "\n".join(lines)


def check_command(
    dataset: str = typer.Argument(..., help="dataset directory or registered dataset name"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
):
    """Validate a dataset (directory or registered name) and say which studies it supports."""
    report = check_dataset(dataset)
    typer.echo(
        json.dumps(report.to_dict(), indent=2, default=str) if as_json else render_check(report)
    )
    if not report.valid:
        raise typer.Exit(1)
