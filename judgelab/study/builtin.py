"""The package's five studies: the parameters they share and each study's declaration."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from judgelab.stats.decision import default_margin
from judgelab.study import conclusions
from judgelab.study.spec import Figure, Parameter, Study

__all__ = [
    "SHARED_PARAMETERS",
    "shared_parameters",
    "POSITION_BIAS",
    "SELF_PREFERENCE",
    "FAMILY_ENTANGLEMENT",
    "CALIBRATION_AUDIT",
    "JUDGE_COMPARISON",
    "CORRECTED_ESTIMATE",
    "BUILTIN",
]


def _p(name, type, default, help, **kw) -> Parameter:
    return Parameter(name, type, default, help, **kw)


class _Margin(NamedTuple):
    parameter: Parameter
    ids: tuple[str, ...]


def _margin(name, ids, help, upper=1) -> _Margin:
    """A margin parameter of the decisive verdicts of finding ``ids``, with the ids it sets
    (:attr:`Study.margins`). Its default is the claims' documented margin
    (:func:`judgelab.stats.decision.default_margin`: one home); a margin must be > 0 and
    below ``upper`` (None: no upper bound), the value past which it is meaningless."""
    ids = tuple(ids)
    range_ = (0, upper)
    param = _p(name, "float", default_margin(ids), help, range=range_, exclusive=(True, True))
    return _Margin(param, ids)


def _margins(*declared: _Margin) -> dict[str, tuple[str, ...]]:
    """:attr:`Study.margins` of the study's margin parameters."""
    return {m.parameter.name: m.ids for m in declared}


_DECIDED = "decisive verdicts, docs/statistics.md#decisive-verdicts"
#: The margin parameters of the studies' decisive verdicts (each study declares its own).
SHARE_MARGIN = _margin(
    "share_margin",
    ("first_slot_share",),
    f"equivalence margin of the first-slot share around 0.5: a CI inside 0.5 +/- margin "
    f"refutes position bias ({_DECIDED})",
    upper=0.5,
)
LOGIT_MARGIN = _margin(
    "logit_margin",
    ("self_preference_logit", "family_preference_logit", "lineage_preference_logit"),
    "equivalence margin (log-odds) of the self / family / lineage preference terms: a CI "
    f"upper bound below it refutes the preference; 0.2 is an odds ratio of 1.22 ({_DECIDED})",
    upper=None,
)
GAP_MARGIN = _margin(
    "gap_margin",
    ("alpha_gap", "error_correlation_gap"),
    "equivalence margin of the within- minus across-family agreement and error-correlation "
    f"gaps: a CI upper bound below it refutes entanglement ({_DECIDED})",
)
BIAS_MARGIN = _margin(
    "bias_margin",
    ("signed_bias",),
    "equivalence margin of the judge minus human win rate (signed_bias): a CI inside "
    f"+/- margin refutes a bias ({_DECIDED})",
)
GATE_MARGIN = _margin(
    "gate_margin",
    ("gate",),
    "planned distance of the true kappa from the gate's bar; sizes the more labels an "
    f"inconclusive gate needs ({_DECIDED})",
)
SHIFT_MARGIN = _margin(
    "shift_margin",
    ("correction_shift",),
    "equivalence margin of correction_shift (corrected minus judge rate): a CI inside "
    f"+/- margin refutes that the judge's errors matter ({_DECIDED})",
)
RATE_MARGIN = _margin(
    "rate_margin",
    ("naive_rate", "human_only_rate", "rogan_gladen_rate", "ppi_rate", "post_stratified_rate"),
    "planned distance of the true rate from target_rate; sizes the more labels an "
    f"inconclusive rate needs ({_DECIDED})",
)


def _renderer(target: str) -> Callable[[Mapping], str | None]:
    """The conclusion renderer ``module:function``, imported when first called (declaring
    the studies imports none of their statistics)."""
    module, _, attr = target.partition(":")

    def render(row: Mapping) -> str | None:
        return getattr(importlib.import_module(module), attr)(row)

    render.__qualname__ = render.__name__ = attr
    return render


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
    _p("n_boot", "int", 2000, "item-cluster bootstrap resamples", range=(1, None)),
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
        _p("n_perm", "int", 9999, "sign-flip permutations of the primary test", range=(1, None)),
        SHARE_MARGIN.parameter,
    ),
    figures=(
        Figure("position_consistency", "judgelab.plots.position:consistency_per_judge"),
        Figure("primacy_recency", "judgelab.plots.position:primacy_recency_bars"),
        Figure("flip_vs_gap", "judgelab.plots.position:flip_vs_gap_curves"),
    ),
    analysis="judgelab.study.analyses:analyse_position_bias",
    conclusions={
        "first_slot_share": _renderer("judgelab.stats.position:first_slot_share_conclusion")
    },
    protocols=("pairwise",),  # order effects need the two orders of a pair
    margins=_margins(SHARE_MARGIN),
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
        LOGIT_MARGIN.parameter,
    ),
    figures=(
        Figure("self_preference_forest", "judgelab.plots.self_preference:forest"),
        Figure("family_heatmap", "judgelab.plots.self_preference:family_heatmap"),
    ),
    analysis="judgelab.study.analyses:analyse_self_preference",
    # the conditional-logit terms (judgelab.stats.self_preference.LOGIT_IDS)
    conclusions={
        fid: _renderer("judgelab.stats.self_preference:logit_conclusion")
        for fid in (
            "self_preference_logit",
            "family_preference_logit",
            "lineage_preference_logit",
        )
    },
    margins=_margins(LOGIT_MARGIN),
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
            exclusive=(True, True),  # both the fit and the evaluation need items
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
        GAP_MARGIN.parameter,
    ),
    figures=(
        Figure("kappa_heatmap", "judgelab.plots.entanglement:agreement_heatmap"),
        Figure("error_phi_heatmap", "judgelab.plots.entanglement:agreement_heatmap"),
        Figure("within_vs_across", "judgelab.plots.entanglement:within_vs_across"),
        Figure("ensembles", "judgelab.plots.entanglement:ensemble_comparison"),
    ),
    analysis="judgelab.study.analyses:analyse_family_entanglement",
    # the study's ensembles aggregate a | b | tie votes (judgelab.stats.votes), not scores
    protocols=("pairwise",),
    summary="judgelab.study.conclusions:family_entanglement_summary",
    caveats="judgelab.study.conclusions:family_entanglement_caveats",
    margins=_margins(GAP_MARGIN),
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
            "alpha",
            "float",
            0.1,
            "escalation (pairwise): tolerated disagreement with humans on the pairs a judge "
            "keeps; the rest is queued",
            range=(0, 1),
            exclusive=(True, True),
        ),
        _p(
            "delta",
            "float",
            0.1,
            "escalation: probability that a judge's certified threshold is wrong",
            range=(0, 0.5),
            exclusive=(True, True),
        ),
        _p(
            "calibration_share",
            "float",
            0.5,
            "escalation: share of items that certify the thresholds (the rest measures)",
            range=(0, 1),
            exclusive=(True, True),
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
        BIAS_MARGIN.parameter,
        GATE_MARGIN.parameter,
    ),
    figures=(
        Figure("agreement_vs_ceiling", "judgelab.plots.calibration:agreement_vs_ceiling"),
        Figure("signed_bias", "judgelab.plots.calibration:signed_bias_plot"),
        Figure("confusion", "judgelab.plots.calibration:confusion_heatmap"),
        Figure("ranking", "judgelab.plots.calibration:ranking_plot"),
        Figure("reliability", "judgelab.plots.confidence:reliability_diagram"),
    ),
    analysis="judgelab.study.analyses:analyse_calibration_audit",
    conclusions={"gate": conclusions.render_gate},
    summary="judgelab.study.conclusions:calibration_audit_summary",
    caveats="judgelab.study.conclusions:calibration_audit_caveats",
    margins=_margins(BIAS_MARGIN, GATE_MARGIN),
)

JUDGE_COMPARISON = Study(
    name="judge_comparison",
    version="2",
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
            exclusive=(False, True),  # a margin of 1 would call any judge non-inferior
        ),
        _p(
            "ensemble",
            "judges",
            "panel:demo/aurora-max,basalt-xl,cirrus-ultra",
            "second pass of the cascade (judges, or a select mapping for stored verdicts)",
        ),
        _p(
            "alphas",
            "list",
            [0.05, 0.1, 0.15, 0.2, 0.3],
            "certified cascade: tolerated disagreement with humans on the kept pairs, one "
            "guarantee per value",
            items="float",
            range=(0, 1),
            exclusive=(True, True),  # alpha 0 certifies nothing, alpha 1 anything
        ),
        _p(
            "delta",
            "float",
            0.1,
            "certified cascade: probability that a certificate is wrong (split over its judges)",
            range=(0, 0.5),
            exclusive=(True, True),
        ),
        _p(
            "calibration_share",
            "float",
            0.5,
            "certified cascade: share of items that certify the thresholds (the rest measures)",
            range=(0, 1),
            exclusive=(True, True),  # both the certification and the measurement need items
        ),
    ),
    figures=(
        Figure("pareto", "judgelab.plots.compare:pareto"),
        Figure("certified_cascade", "judgelab.plots.compare:certified_cascade"),
        Figure("reliability", "judgelab.plots.confidence:reliability_diagram"),
    ),
    analysis="judgelab.study.analyses:analyse_judge_comparison",
    protocols=("pairwise",),
    conclusions={"accuracy_difference": conclusions.render_accuracy_difference},
    summary="judgelab.study.conclusions:judge_comparison_summary",
    caveats="judgelab.study.conclusions:judge_comparison_caveats",
    requires="judgelab.comparison:stored_defaults",
)


CORRECTED_ESTIMATE = Study(
    name="corrected_estimate",
    version="1",
    title="Corrected estimate",
    parameters=(
        *shared_parameters(
            pairs={
                "help": "pairs to judge: human (pairs humans compared), all or "
                "baseline:<generator>; judged pairs without a human label are the unlabelled units"
            },
            tie_policy={
                "help": "recorded for the manifest; judge and human ties are always dropped "
                "and counted (the estimand is the win rate among pairs the humans decide)"
            },
            order_aggregation={
                "help": "recorded for the manifest; a pair's calls are always aggregated over "
                "both orders first"
            },
        ),
        _p(
            "protocol",
            "str",
            None,
            "pairwise (win rates), single or rubric (pass rates); None: the one protocol the "
            "stored verdicts hold, pairwise when judging now",
            nullable=True,
            choices=("pairwise", "single", "rubric"),
        ),
        _p(
            "rubric_pass",
            "str",
            "pass",
            "rubric: the lowest verdict that passes, pass (pass vs warn or fail) or warn (pass "
            "or warn vs fail)",
            choices=("pass", "warn"),
        ),
        _p(
            "threshold",
            "float",
            None,
            "single: a unit passes when its score is at least threshold (None: the midpoint of the "
            "scale of the judge, else of the dataset or its grade set; 0/1 scores are binary)",
            nullable=True,
        ),
        _p(
            "design",
            "str",
            "auto",
            "labelled set: auto (stratified when the labelled share differs by judge verdict), "
            "random, or stratified (post-stratified estimator)",
            choices=("auto", "random", "stratified"),
        ),
        _p(
            "label_share",
            "float",
            None,
            "keep a seeded random share of the human labels, the rest treated as unlabelled "
            "(None: every label the dataset has)",
            nullable=True,
            range=(0, 1),
            exclusive=(True, False),
        ),
        _p(
            "target_rate",
            "float",
            None,
            "the pass (win) rate the system must reach: each corrected rate is decided against it "
            "(established when its CI lies at or above it, refuted when below it). None: "
            "the rates carry no decision (correction_shift is always tested against 0)",
            nullable=True,
            range=(0, 1),
        ),
        SHIFT_MARGIN.parameter,
        RATE_MARGIN.parameter,
    ),
    figures=(Figure("corrected_forest", "judgelab.plots.corrected:forest"),),
    analysis="judgelab.study.corrected:analyse_corrected_estimate",
    conclusions={"correction_shift": conclusions.render_correction_shift},
    summary="judgelab.study.conclusions:corrected_estimate_summary",
    caveats="judgelab.study.conclusions:corrected_estimate_caveats",
    requires="judgelab.study.corrected:require_labels",
    margins=_margins(SHIFT_MARGIN, RATE_MARGIN),
)


#: The package's studies in docs/design.md order (that of :data:`judgelab.studies.STUDIES`).
BUILTIN: tuple[Study, ...] = (
    POSITION_BIAS,
    SELF_PREFERENCE,
    FAMILY_ENTANGLEMENT,
    CALIBRATION_AUDIT,
    JUDGE_COMPARISON,
    CORRECTED_ESTIMATE,
)
