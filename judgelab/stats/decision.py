"""Decisive verdicts: established, refuted or inconclusive (docs/statistics.md#decisive-verdicts).

Every gate, every primary bias test and every corrected estimate is read by one function,
:func:`decide`, from its estimate and CI against a declared :class:`Claim`:

- **bias** (``kind="bias"``): *established* when the CI excludes the null on the claim's side
  (two-sided claims: either side); *refuted* when the CI lies inside ``null +/- margin``
  (an equivalence test; one-sided claims: the CI's upper bound is below ``null + margin``);
  *inconclusive* otherwise.
- **threshold** (``kind="threshold"``: a gate, a corrected rate against a target):
  *established* when the CI's lower bound is at or above the threshold, *refuted* when its
  upper bound is below it, *inconclusive* otherwise.

An inconclusive verdict states how many more units (labels, items, pairs: the row's ``n``)
would decide it: the n at which the CI's standard error, read from this CI and so carrying
the item-clustering design effect, is small enough that an effect of the planned size (the
margin) is established with 80% power and, for a bias, a zero effect is refuted with 80%
power. The observed effect is never used (no post-hoc power).

Claims are declared per finding id in :data:`CLAIMS` (margins with their documented
defaults); :func:`apply_decisions` adds the columns of :data:`DECISION_COLUMNS` to every row
of a findings frame whose id has a claim, and the one-sentence ``estimand`` of
:mod:`judgelab.stats.estimands` to every row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from judgelab.stats.estimands import estimand_of
from judgelab.stats.power import mde_wald

__all__ = [
    "CLAIMS",
    "DECISION_COLUMNS",
    "FAIL_ON",
    "DECISIONS",
    "ESTABLISHED",
    "INCONCLUSIVE",
    "REFUTED",
    "Claim",
    "apply_decisions",
    "decide",
    "default_margin",
    "fail_on_reasons",
    "gate_claim",
    "more_units",
    "parse_fail_on",
]

ESTABLISHED, REFUTED, INCONCLUSIVE = "established", "refuted", "inconclusive"
DECISIONS = (ESTABLISHED, REFUTED, INCONCLUSIVE)
#: Columns :func:`apply_decisions` adds (findings.json carries them beside the estimate).
DECISION_COLUMNS = (
    "decision",
    "decision_rule",
    "decision_null",
    "decision_margin",
    "more_units",
    "more_units_of",
    "decision_reason",
    "estimand",
)
#: Power at which :func:`more_units` plans (an effect of the margin's size established, and
#: for a bias a zero effect refuted, each with this probability).
PLANNED_POWER = 0.8


@dataclass(frozen=True)
class Claim:
    """What a finding claims and how it is decided.

    Parameters
    ----------
    kind : ``"bias"`` (a deviation from ``null``) or ``"threshold"`` (at least ``null``).
    null : the no-bias value, or the threshold.
    margin : a bias: the equivalence margin (the smallest bias that matters); a threshold:
        the planned distance of the true value from the threshold, used only to size
        :func:`more_units`.
    side : ``"two-sided"`` or ``"larger"`` (the claim is a value above ``null``).
    units : what the row's ``n`` counts (labels, pairs, judgments), for the sentence.
    """

    kind: str
    null: float
    margin: float
    side: str = "two-sided"
    units: str = "units"

    def __post_init__(self):
        if self.kind not in ("bias", "threshold"):
            raise ValueError(f"Claim.kind must be 'bias' or 'threshold', got {self.kind!r}")
        if self.side not in ("two-sided", "larger"):
            raise ValueError(f"Claim.side must be 'two-sided' or 'larger', got {self.side!r}")
        if not (self.margin > 0):
            raise ValueError(f"Claim.margin must be > 0, got {self.margin!r}")

    def rule(self) -> str:
        """The decision rule in words (the ``decision_rule`` column)."""
        m, n0 = self.margin, self.null
        if self.kind == "threshold":
            return (
                f"CI lower bound >= {n0:g} -> established; CI upper bound < {n0:g} -> refuted; "
                f"else inconclusive (more units planned for a true value {m:g} from {n0:g})"
            )
        if self.side == "larger":
            return (
                f"CI lower bound > {n0:g} -> established; CI upper bound < {n0 + m:g} "
                f"(margin {m:g}) -> refuted; else inconclusive"
            )
        return (
            f"CI excludes {n0:g} -> established; CI inside [{n0 - m:g}, {n0 + m:g}] "
            f"(margin {m:g}) -> refuted; else inconclusive"
        )


#: The documented claims (docs/statistics.md#decisive-verdicts): finding id -> Claim.
#: Margins: the smallest effect the kit treats as mattering, the documented defaults of the
#: studies' margin parameters (:func:`default_margin`; ``judgelab run STUDY -p logit_margin
#: 0.3``, docs/statistics.md#decisive-verdicts); override per run with
#: ``apply_decisions(..., margins={id: m})``.
CLAIMS: dict[str, Claim] = {
    # position bias: share of order-inconsistent pairs won by the first slot; 0.45-0.55 is
    # "no position preference that matters"
    "first_slot_share": Claim("bias", 0.5, 0.05, "two-sided", "order-inconsistent pairs"),
    # self-preference: log-odds of the judge preferring its own (family's, lineage's) answer;
    # 0.2 log-odds is an odds ratio of about 1.22
    "self_preference_logit": Claim("bias", 0.0, 0.2, "larger", "judgments"),
    "family_preference_logit": Claim("bias", 0.0, 0.2, "larger", "judgments"),
    "lineage_preference_logit": Claim("bias", 0.0, 0.2, "larger", "judgments"),
    # family entanglement: within- minus across-family agreement / error correlation
    "alpha_gap": Claim("bias", 0.0, 0.05, "larger", "judged units"),
    "error_correlation_gap": Claim("bias", 0.0, 0.05, "larger", "judged units"),
    # calibration audit: judge minus human win rate (score) of the judge's primary family
    "signed_bias": Claim("bias", 0.0, 0.05, "two-sided", "judged units"),
    # corrected estimates (stats/corrected): a rate against the target rate the row carries
    # (``target_rate``); without one the row's decision is null with a reason
    "naive_rate": Claim("threshold", math.nan, 0.05, "larger", "judged units"),
    "human_only_rate": Claim("threshold", math.nan, 0.05, "larger", "human labels"),
    "rogan_gladen_rate": Claim("threshold", math.nan, 0.05, "larger", "human labels"),
    "ppi_rate": Claim("threshold", math.nan, 0.05, "larger", "human labels"),
    "post_stratified_rate": Claim("threshold", math.nan, 0.05, "larger", "human labels"),
    # how far correcting moves the judge's rate (primary rows: each generator's win rate, the
    # overall pass rate): a shift within +/- 0.05 is a judge whose errors do not matter there
    "correction_shift": Claim("bias", 0.0, 0.05, "two-sided", "judged units"),
}
#: Corrected-estimate ids: their threshold is the row's ``target_rate``.
TARGET_RATE_IDS = (
    "naive_rate",
    "human_only_rate",
    "rogan_gladen_rate",
    "ppi_rate",
    "post_stratified_rate",
)
#: Why a corrected rate without a target carries no decision.
NO_TARGET_REASON = (
    "no target rate to decide against: give one (corrected_estimate: -p target_rate R, the "
    "rate the system must reach)"
)
#: The gate's planned distance from its kappa bar (sizing more labels only).
GATE_MARGIN = 0.05
#: The finding id of the gate (its claim is read from the row, :func:`gate_claim`).
GATE_ID = "gate"


def default_margin(ids) -> float:
    """The documented margin shared by the claims of finding ``ids`` (:data:`CLAIMS`, or
    :data:`GATE_MARGIN` for the gate): the default of the study parameter that sets them.
    ValueError when an id has no claim or the ids' margins differ (one parameter, one value)."""
    ids = [ids] if isinstance(ids, str) else list(ids)
    unknown = [i for i in ids if i != GATE_ID and i not in CLAIMS]
    if unknown or not ids:
        raise ValueError(f"no decisive claim for finding id(s) {unknown or ids}")
    values = {GATE_MARGIN if i == GATE_ID else CLAIMS[i].margin for i in ids}
    if len(values) != 1:
        raise ValueError(f"finding ids {ids} have different default margins {sorted(values)}")
    return values.pop()


def _num(x) -> float | None:
    if x is None or x is pd.NA:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def more_units(
    n, ci_low, ci_high, claim: Claim, ci_level: float = 0.95, power: float = PLANNED_POWER
) -> int | None:
    """More units (beyond ``n``) at which ``claim`` would be decided with ``power``.

    The standard error now is read from the CI (half-width / z), so it carries whatever the
    CI carries (item clustering, the estimator's variance); it shrinks as 1/sqrt(n). Needed:
    SE <= margin / (z_{1-a/2} + z_power) (an effect of the margin's size established) and,
    for a bias, SE <= margin / (z_{1-a/2} + z_{1-(1-power)/2}) (a zero effect shown inside
    +/- margin, two one-sided bounds). None when n or the CI is missing.
    """
    n, lo, hi = _num(n), _num(ci_low), _num(ci_high)
    if n is None or lo is None or hi is None or n <= 0 or hi < lo:
        return None
    from scipy import special  # not at import: the `judgelab` command reads default_margin

    se = (hi - lo) / (2 * float(special.ndtri(0.5 + float(ci_level) / 2)))
    if se <= 0:
        return 0
    # the effect detectable now (judgelab.stats.power.mde_wald, the one home of the MDE);
    # a bias also needs a zero effect refuted: two one-sided bounds, each at 1 - (1 - power)/2
    plan_power = max(power, 1 - (1 - power) / 2) if claim.kind == "bias" else power
    detectable = mde_wald(se, alpha=1 - float(ci_level), power=plan_power)
    n_needed = math.ceil(n * (detectable / claim.margin) ** 2)
    return int(max(0, n_needed - n))


def decide(estimate, ci_low, ci_high, claim: Claim, *, n=None, ci_level=0.95) -> dict:
    """The decisive verdict of one finding (the one home of the rule; module docstring).

    Parameters
    ----------
    estimate, ci_low, ci_high : the finding's estimate and CI (None / nan when undefined).
    claim : :class:`Claim` (kind, null or threshold, margin, side).
    n : units the estimate rests on (sizes ``more_units``).
    ci_level : the CI's level.

    Returns
    -------
    dict
        The :data:`DECISION_COLUMNS` except ``estimand``: ``decision`` is None (with
        ``decision_reason``) when the estimate or CI is undefined; ``more_units`` is set only
        for an inconclusive verdict.
    """
    out = {
        "decision": None,
        "decision_rule": claim.rule(),
        "decision_null": _num(claim.null),
        "decision_margin": float(claim.margin),
        "more_units": None,
        "more_units_of": claim.units,
        "decision_reason": None,
    }
    est, lo, hi = _num(estimate), _num(ci_low), _num(ci_high)
    if _num(claim.null) is None:
        out["decision_reason"] = "no threshold to decide against (give a target)"
        return out
    if est is None or lo is None or hi is None:
        out["decision_reason"] = "no estimate with a CI: nothing to decide"
        return out
    n0, m = float(claim.null), float(claim.margin)
    if claim.kind == "threshold":
        verdict = ESTABLISHED if lo >= n0 else REFUTED if hi < n0 else INCONCLUSIVE
    else:
        excludes = lo > n0 if claim.side == "larger" else (lo > n0 or hi < n0)
        inside = hi < n0 + m if claim.side == "larger" else (lo > n0 - m and hi < n0 + m)
        verdict = ESTABLISHED if excludes else REFUTED if inside else INCONCLUSIVE
    out["decision"] = verdict
    if verdict == INCONCLUSIVE:
        more = more_units(n, lo, hi, claim, ci_level=_num(ci_level) or 0.95)
        out["more_units"] = more
        if more is None:
            out["decision_reason"] = "inconclusive; without n and a CI no sample size is planned"
        elif more == 0:
            out["decision_reason"] = (
                f"inconclusive although the data are sized for an effect of {m:g}: the estimate "
                "lies near the boundary; more data narrow it further"
            )
        else:
            out["decision_reason"] = (
                f"inconclusive: about {more} more {claim.units} would decide it "
                f"(80% power at a planned effect of {m:g}, not the observed one)"
            )
    return out


def gate_claim(row: Mapping, margin: float = GATE_MARGIN) -> Claim | None:
    """The gate row's claim: kappa at or above the bar its verdict uses (the pass kappa, or
    the warn kappa where humans agree below pass; :func:`~judgelab.stats.calibration.gate.
    stand_in_verdict`), ``margin`` the planned distance that sizes more labels. None when
    the row does not say which bar."""
    bar = row.get("required_level")
    key = {"pass": "pass_kappa", "warn": "warn_kappa"}.get(bar)
    t = _num(row.get(key)) if key else None
    if t is None:
        return None
    return Claim("threshold", t, margin, "larger", "human labels")


def _gate_decision(row: Mapping, margin: float = GATE_MARGIN) -> dict:
    """The gate: the kappa claim decided by :func:`decide`, then the rest of the bar the gate's
    ``verdict`` reads (macro-F1's lower bound, the alternative-annotator test): established
    only when they hold too, refuted also when they are ruled out, so the decision and the
    stand-in verdict never disagree."""
    claim = gate_claim(row, margin)
    if claim is None:
        return {
            **dict.fromkeys(DECISION_COLUMNS[:-1]),
            "decision_reason": row.get("reason") or "the gate has no kappa bar",
        }
    out = decide(
        row.get("kappa"),
        row.get("kappa_ci_low"),
        row.get("kappa_ci_high"),
        claim,
        n=row.get("n"),
    )
    verdict = row.get("verdict")
    if verdict == "cannot" and out["decision"] != REFUTED:
        out.update(decision=REFUTED, more_units=None)
        out["decision_reason"] = "refuted: shown worse than a human annotator"
    elif out["decision"] == ESTABLISHED and verdict != "stand_in":
        out["decision"] = INCONCLUSIVE
        out["more_units"] = None
        out["decision_reason"] = (
            "inconclusive: the kappa CI clears the bar but the rest of the gate (macro-F1's "
            "CI lower bound, or the alternative-annotator test) does not"
        )
    return out


def _primary(row: Mapping) -> bool:
    p = row.get("primary")
    return bool(p) if p is not None and not (isinstance(p, float) and math.isnan(p)) else False


def _row_claim(row: Mapping, margins: Mapping[str, float]) -> Claim | None:
    claim = CLAIMS.get(row.get("id"))
    if claim is None:
        return None
    if claim.kind == "bias" and not _primary(row):
        return None  # a bias claim is decided on its primary test only (exploratory rows: p)
    if row.get("id") in margins:
        claim = replace(claim, margin=float(margins[row["id"]]))
    if row.get("id") in TARGET_RATE_IDS:
        t = _num(row.get("target_rate"))
        claim = replace(claim, null=math.nan if t is None else t)
    return claim


def apply_decisions(findings: pd.DataFrame, margins: Mapping[str, float] | None = None):
    """A copy of ``findings`` with :data:`DECISION_COLUMNS`: the decision of every gate row, of
    every primary row whose id has a bias claim in :data:`CLAIMS` and of every corrected
    estimate (``margins`` overrides a claim's margin by id, ``"gate"`` the gate's; the
    studies' margin parameters, :meth:`judgelab.study.Study.decision_margins`); ``estimand``
    on every row. Estimates and every other column are kept."""
    margins = dict(margins or {})
    unknown = sorted(set(margins) - set(CLAIMS) - {GATE_ID})
    if unknown:
        raise ValueError(
            f"no decisive claim for finding id(s) {unknown}: margins apply to "
            f"{sorted([*CLAIMS, GATE_ID])}"
        )
    bad = {k: v for k, v in margins.items() if _num(v) is None or _num(v) <= 0}
    if bad:
        raise ValueError(f"margins must be numbers > 0, got {bad}")
    f = findings.copy()
    if f.empty:
        return f
    cols = {c: [None] * len(f) for c in DECISION_COLUMNS}
    for i, row in enumerate(f.to_dict("records")):
        cols["estimand"][i] = estimand_of(row.get("id"))
        if row.get("id") == GATE_ID:
            out = _gate_decision(row, float(margins.get(GATE_ID, GATE_MARGIN)))
        else:
            claim = _row_claim(row, margins)
            if claim is None:
                continue
            out = decide(
                row.get("estimate"),
                row.get("ci_low"),
                row.get("ci_high"),
                claim,
                n=row.get("n"),
                ci_level=row.get("ci_level"),
            )
            if row.get("id") in TARGET_RATE_IDS and _num(claim.null) is None:
                out["decision_reason"] = NO_TARGET_REASON
        for c, v in out.items():
            cols[c][i] = v
    for c, vals in cols.items():
        f[c] = pd.Series(vals, index=f.index, dtype=object)
    # rows without a claim carry no decision fields at all (findings.json drops nulls)
    return f


def decision_counts(findings: pd.DataFrame) -> dict[str, int]:
    """How many rows are established / refuted / inconclusive (for summaries)."""
    if "decision" not in findings.columns:
        return dict.fromkeys(DECISIONS, 0)
    d = findings["decision"]
    return {k: int(np.sum(d == k)) for k in DECISIONS}


# ------------------------------------------------------------------ --fail-on
#: ``judgelab run --fail-on`` conditions (docs/design.md#command-line): each names the rows it
#: checks and when they fail the run.
FAIL_ON = {
    "gate": "a gate that is not established (refuted, inconclusive or undecided), or no gate",
    "bias": "a primary bias test that is established",
    "inconclusive": "any decided finding (gate, bias, corrected estimate) that is inconclusive",
}


def parse_fail_on(spec: str | None) -> tuple[str, ...]:
    """The conditions of a ``--fail-on`` value (comma-separated names of :data:`FAIL_ON`);
    () for None or an empty value. ValueError naming the valid names otherwise."""
    if spec is None or not str(spec).strip():
        return ()
    kinds = tuple(dict.fromkeys(k.strip() for k in str(spec).split(",") if k.strip()))
    bad = [k for k in kinds if k not in FAIL_ON]
    if bad:
        valid = "; ".join(f"{k}: {v}" for k, v in FAIL_ON.items())
        raise ValueError(f"--fail-on {spec!r}: unknown condition(s) {bad}; valid: {valid}")
    return kinds


def _where(row: Mapping) -> str:
    parts = [str(row.get("id"))]
    if row.get("judge") is not None:
        parts.append(f"judge {row['judge']}")
    if row.get("slice") not in (None, {}):
        parts.append(f"slice {row['slice']}")
    return ", ".join(parts)


def fail_on_reasons(findings, kinds) -> list[str]:
    """Why a run fails its ``--fail-on`` conditions ``kinds`` (:func:`parse_fail_on`): one line
    per finding row that meets a condition (empty: the run passes). ``findings``: a findings
    frame or the rows of findings.json."""
    rows = findings.to_dict("records") if isinstance(findings, pd.DataFrame) else list(findings)
    out: list[str] = []
    for kind in kinds:
        if kind == "gate":
            gates = [r for r in rows if r.get("id") == "gate"]
            if not gates:
                out.append("gate: the findings hold no gate row to check")
            for r in gates:
                if r.get("decision") != ESTABLISHED:
                    d = r.get("decision") or "undecided"
                    why = r.get("decision_reason") or r.get("reason") or ""
                    out.append(f"gate {d}: {_where(r)}" + (f" ({why})" if why else ""))
        elif kind == "bias":
            for r in rows:
                claim = CLAIMS.get(r.get("id"))
                if claim is not None and claim.kind == "bias" and r.get("decision") == ESTABLISHED:
                    out.append(f"bias established: {_where(r)} (estimate {r.get('estimate')})")
        elif kind == "inconclusive":
            for r in rows:
                if r.get("decision") == INCONCLUSIVE:
                    why = r.get("decision_reason") or ""
                    out.append(f"inconclusive: {_where(r)}" + (f" ({why})" if why else ""))
    return out
