"""The corrected-estimate study's findings: the four estimators per judge and target, the
post-stratified estimator for a judge-verdict-stratified labelled set, the assumption check
and how far the correction moves the estimate.

Targets (docs/statistics.md, "Corrected estimates"): pointwise pass rates overall, per
generator, per generator family and per category; pairwise win rates per generator and per
family (the overall win rate of oriented units is 1/2 by construction), each unit counted
only against an opponent outside the target (a generator's self-pairs and a family's
within-family pairs say nothing about its win rate). TPR, TNR and lambda are estimated
within each target.

Beside :data:`judgelab.stats.corrected.CORRECTED_IDS` each target gets:

* ``correction_shift``: the primary corrected estimate minus the naive judge rate, with an
  item-cluster bootstrap CI of the difference (both re-estimated in every resample). The
  primary estimate is PPI++ where defined (the issue's primary estimator for win rates), else
  the post-stratified estimate (stratified labelled set), else Rogan-Gladen, else the
  human-only rate (every unit labelled: the humans' rate is the answer);
* ``labelled_judge_rate_gap``: the judge's pass rate on the labelled minus the unlabelled
  units. With a random labelled sample it is 0 up to noise; a CI excluding 0 says the labelled
  units are not a random sample of the judged ones (by design for a stratified set);
* ``post_stratified_rate`` (stratified labelled set only): ``p a + (1 - p) b`` with ``p`` the
  judge's pass rate over all units and ``a`` / ``b`` the human pass rate among labelled units
  the judge passed / failed. Rogan-Gladen and PPI++ then assume what the design breaks (a
  labelled set representative of the human classes, a random sample) and are reported
  undefined with that reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special, stats

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.corrected.estimates import (
    CORRECTED_IDS,
    corrected_rate_rows,
    corrected_statistics,
    per_item_sums,
)
from judgelab.stats.corrected.units import CorrectedUnits
from judgelab.stats.resampling import cluster_bootstrap_each

__all__ = [
    "STUDY_IDS",
    "DESIGNS",
    "post_stratified",
    "stratified_design",
    "corrected_findings",
]

#: Finding ids of the study, in report order.
STUDY_IDS = (*CORRECTED_IDS, "post_stratified_rate", "correction_shift", "labelled_judge_rate_gap")
#: How the labelled set was drawn: detected (auto), a random sample, stratified by verdict.
DESIGNS = ("auto", "random", "stratified")
#: Detection of a stratified design: two-proportion test of the labelled share among units the
#: judge passed vs failed, at this level (strict: the test ignores item clustering).
STRATIFIED_ALPHA = 0.001
_NL, _SY, _SH, _SYY, _SHH, _SYH, _NU, _SU, _SUU = range(9)


def post_stratified(T: np.ndarray) -> np.ndarray:
    """Post-stratified rate ``p a + (1 - p) b`` from totals ``(m, 9)`` (nan when a verdict
    stratum has no labelled unit)."""
    T = np.atleast_2d(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (T[:, _SH] + T[:, _SU]) / (T[:, _NL] + T[:, _NU])
        a = T[:, _SYH] / T[:, _SH]
        b = (T[:, _SY] - T[:, _SYH]) / (T[:, _NL] - T[:, _SH])
        return p * a + (1 - p) * b


def _post_stratified_iid(T: np.ndarray, ci_level: float) -> tuple[float, float]:
    n1, n0, N = T[_SH], T[_NL] - T[_SH], T[_NL] + T[_NU]
    p = (T[_SH] + T[_SU]) / N
    a, b = T[_SYH] / n1, (T[_SY] - T[_SYH]) / n0
    var = p**2 * a * (1 - a) / n1 + (1 - p) ** 2 * b * (1 - b) / n0 + (a - b) ** 2 * p * (1 - p) / N
    z = float(special.ndtri(1 - (1 - ci_level) / 2))
    th = p * a + (1 - p) * b
    return float(max(th - z * math.sqrt(var), 0.0)), float(min(th + z * math.sqrt(var), 1.0))


def _gap(T: np.ndarray) -> np.ndarray:
    T = np.atleast_2d(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return T[:, _SH] / T[:, _NL] - T[:, _SU] / T[:, _NU]


def stratified_design(T: np.ndarray) -> tuple[bool, float]:
    """Whether the labelled share differs between units the judge passed and failed
    (two-proportion z-test at :data:`STRATIFIED_ALPHA`), and the test's p-value."""
    n1 = T[_SH] + T[_SU]
    n0 = T[_NL] + T[_NU] - n1
    l1, l0 = T[_SH], T[_NL] - T[_SH]
    if min(n1, n0) == 0 or T[_NU] == 0 or T[_NL] == 0:
        return False, float("nan")
    r1, r0, r = l1 / n1, l0 / n0, T[_NL] / (n1 + n0)
    se = math.sqrt(r * (1 - r) * (1 / n1 + 1 / n0))
    p = float(2 * stats.norm.sf(abs(r1 - r0) / se)) if se > 0 else 1.0
    return p < STRATIFIED_ALPHA, p


def _primary(rows: list[dict]) -> str | None:
    """The id of the primary corrected estimate among the target's rows (module docstring)."""
    by = {r["id"]: r for r in rows}
    for fid in ("ppi_rate", "post_stratified_rate", "rogan_gladen_rate", "human_only_rate"):
        if fid in by and by[fid]["estimate"] is not None:
            return fid
    return None


def _shift_statistics() -> tuple[dict, Callable]:
    """The corrected estimators a shift can be taken from (id -> statistic of totals) and
    the naive rate."""
    naive, human_only, rg, ppi = corrected_statistics()
    fns = {
        "ppi_rate": ppi,
        "post_stratified_rate": post_stratified,
        "rogan_gladen_rate": rg,
        "human_only_rate": human_only,
    }
    return fns, naive


def _target_bootstrap(S, n_boot, seed, ci_level) -> tuple[list, dict]:
    """Every bootstrap of one target's sums on the same resamples, in one product of the
    weights with ``S`` (:func:`~judgelab.stats.resampling.cluster_bootstrap_each`; each
    result equals its own call with the same arguments): the four estimators
    (:func:`~judgelab.stats.corrected.estimates.corrected_bootstrap`, first list), and for
    :func:`_extra_rows` the shift of every candidate primary estimator, the judge-rate gap
    and the post-stratified rate (dict)."""
    fns, naive = _shift_statistics()
    shifts = {fid: (lambda X, f=f: f(X) - naive(X)) for fid, f in fns.items()}
    stats = [*corrected_statistics(), *shifts.values(), _gap, post_stratified]
    boots = cluster_bootstrap_each(S, stats, n_boot, seed, ci_level)
    k = len(CORRECTED_IDS)
    extra = dict(zip(shifts, boots[k : k + len(shifts)], strict=True))
    return boots[:k], {"shift": extra, "gap": boots[-2], "post": boots[-1]}


def _extra_rows(
    S, rows, stratified, judge, sl, protocol, n_boot, seed, ci_level, S_rg=None, pre=None
) -> list[dict]:
    """post_stratified_rate (stratified), correction_shift and labelled_judge_rate_gap.
    ``S_rg``: the sums Rogan-Gladen was estimated on when they are not ``S`` (pairwise: the
    ties-dropped binary units); the shift is then taken on them when Rogan-Gladen is the
    primary estimate. ``pre``: the bootstraps of ``S`` already computed
    (:func:`_target_bootstrap`), used where the shift is taken on ``S``."""
    fns, naive = _shift_statistics()
    T = S.sum(axis=0)
    ps = float(post_stratified(T[None, :])[0])
    candidates = rows + (
        [{"id": "post_stratified_rate", "estimate": ps if math.isfinite(ps) else None}]
        if stratified
        else []
    )
    # every unit labelled: the humans' rate is the answer, the corrections only restate it
    prim = "human_only_rate" if T[_NU] == 0 and T[_NL] > 0 else _primary(candidates)
    stat_shift = (lambda X: fns[prim](X) - naive(X)) if prim else (lambda X: naive(X) * np.nan)
    S_shift = S_rg if (S_rg is not None and prim == "rogan_gladen_rate") else S
    stat_list = [stat_shift, _gap] + ([post_stratified] if stratified else [])
    if pre is not None and prim and S_shift is S:  # the same results, computed once
        boots = [pre["shift"][prim], pre["gap"]] + ([pre["post"]] if stratified else [])
    elif S_shift is S:
        boots = cluster_bootstrap_each(S, stat_list, n_boot, seed, ci_level)
    else:  # the shift on Rogan-Gladen's own units, the gap on the estimate's units
        boots = cluster_bootstrap_each(S_shift, stat_list[:1], n_boot, seed, ci_level)
        boots += cluster_bootstrap_each(S, stat_list[1:], n_boot, seed, ci_level)
    T_shift = S_shift.sum(axis=0)
    n_all, n_l = int(T[_NL] + T[_NU]), int(T[_NL])
    common = dict(
        judge=judge, slice=sl, ci_level=ci_level, n=n_all, n_labelled=n_l, protocol=protocol
    )
    # the study's answers: the overall pass rate, or each generator's win rate
    primary = (sl is None) if protocol != "pairwise" else ("generator" in (sl or {}))
    out = []
    if stratified:
        b = boots[2]
        reason = None
        if T[_SH] == 0 or T[_NL] - T[_SH] == 0:
            reason = "no labelled unit the judge " + ("passed" if T[_SH] == 0 else "failed")
        clustered = bool(((S[:, _NL] + S[:, _NU]) > 1).any())
        iid = _post_stratified_iid(T, ci_level) if reason is None else (None, None)
        lo, hi = (b.ci_low, b.ci_high) if clustered else iid
        out.append(
            finding(
                "post_stratified_rate",
                None if reason else b.estimate,
                ci_low=None if reason else lo,
                ci_high=None if reason else hi,
                method="post-stratified by judge verdict, p a + (1 - p) b; "
                + (
                    b.method + ", p, a and b re-estimated in every resample"
                    if clustered
                    else "Wald (iid)"
                ),
                reason=reason or (b.reason if clustered and lo is None else None),
                iid_ci_low=iid[0],
                iid_ci_high=iid[1],
                **common,
            )
        )
    b = boots[0]
    out.append(
        finding(
            "correction_shift",
            b.estimate if prim else None,
            ci_low=b.ci_low if prim else None,
            ci_high=b.ci_high if prim else None,
            method=f"{prim} minus naive_rate; {b.method}, both re-estimated in every resample",
            reason=None if prim else "no corrected estimate is defined for this target",
            p_value=b.p_value(0.0) if prim and b.ci_low is not None else None,
            primary=bool(primary and prim),
            estimator=prim,
            naive_estimate=float(naive(T_shift[None, :])[0]),
            corrected_estimate=(float(fns[prim](T_shift[None, :])[0]) if prim else None),
            **common,
        )
    )
    g = boots[1]
    out.append(
        finding(
            "labelled_judge_rate_gap",
            g.estimate,
            ci_low=g.ci_low,
            ci_high=g.ci_high,
            method=f"judge pass rate on labelled minus unlabelled units; {g.method}",
            p_value=g.p_value(0.0) if g.estimate is not None and g.ci_low is not None else None,
            reason=(
                "every unit is labelled: no unlabelled unit to compare with"
                if T[_NU] == 0
                else "no labelled unit"
                if T[_NL] == 0
                else g.reason
            ),
            design="stratified" if stratified else "random",
            **common,
        )
    )
    return out


def _stratify(rows: list[dict], why: str) -> list[dict]:
    """Rogan-Gladen and PPI++ undefined on a stratified labelled set, saying why."""
    for r in rows:
        if r["id"] in ("rogan_gladen_rate", "ppi_rate"):
            r.update(estimate=None, ci_low=None, ci_high=None, iid_ci_low=None, iid_ci_high=None)
            r["reason"] = why
    return rows


def _targets(u: pd.DataFrame, protocol: str) -> list[tuple[dict | None, np.ndarray]]:
    """(slice, row mask) of every target of one judge's units."""
    out: list[tuple[dict | None, np.ndarray]] = []
    if protocol != "pairwise":  # pass rates (single, rubric): the overall target too
        out.append((None, np.ones(len(u), dtype=bool)))
    for col in ("generator", "family", "category"):
        if protocol == "pairwise" and col == "category":
            continue  # the win rate of a category's oriented units is 1/2 by construction
        vals = u[col]
        if vals.isna().all():
            continue
        mask_other = (
            (u[f"opp_{col}"].astype(object) != vals.astype(object)).to_numpy()
            if protocol == "pairwise"
            else np.ones(len(u), dtype=bool)
        )
        for v in sorted(vals.dropna().astype(str).unique()):
            out.append(({col: v}, (vals.astype(str) == v).to_numpy() & mask_other))
    return out


def _rg_targets(cu: CorrectedUnits, judge):
    """Pairwise: a function slice -> per-item sums of the judge's ties-dropped binary units of
    that target (what Rogan-Gladen reads); None when the units are already binary."""
    if cu.binary_units is None:
        return None
    b = cu.binary_units[cu.binary_units["judge"] == judge]
    masks = {repr(sl): m for sl, m in _targets(b, cu.protocol)}
    items = b["item_id"].to_numpy()
    j, h = b["judge_pass"].to_numpy(float), b["human_pass"].to_numpy(float)

    def sums(sl) -> np.ndarray:
        m = masks.get(repr(sl), np.zeros(len(b), dtype=bool))
        return per_item_sums(items[m], j[m], h[m])[0]

    return sums


def corrected_findings(
    cu: CorrectedUnits,
    *,
    design: str = "auto",
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Findings of the corrected-estimate study for every judge and target.

    Parameters
    ----------
    cu : CorrectedUnits
        :func:`judgelab.stats.corrected.units.corrected_units`.
    design : {"auto", "random", "stratified"}
        How the labelled set was drawn. ``auto``: stratified when the labelled share differs
        between units the judge passed and failed (:func:`stratified_design`; pointwise only,
        pairwise units have no orientation-free verdict).
    n_boot, seed, ci_level :
        Item-cluster bootstrap settings.

    Returns
    -------
    DataFrame
        Findings rows (:data:`STUDY_IDS`), per judge and target.
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, not {design!r}")
    rows: list[dict] = []
    for judge, u in cu.units.groupby("judge", sort=True):
        items = u["item_id"].to_numpy()
        j, h = u["judge_pass"].to_numpy(float), u["human_pass"].to_numpy(float)
        stratified, why = design == "stratified", ""
        if design == "auto" and cu.protocol != "pairwise":
            S_all, _ = per_item_sums(items, j, h)
            stratified, p = stratified_design(S_all.sum(axis=0))
            why = f" (detected: labelled share differs by judge verdict, p = {p:.2g})"
        elif stratified:
            why = " (design: stratified, as given)"
        targets = _targets(u, cu.protocol)
        rg_units = _rg_targets(cu, judge)
        if not targets:  # e.g. pairs whose answers have no known generator
            rows.append(
                finding(
                    "correction_shift",
                    None,
                    judge=str(judge),
                    n=len(u),
                    reason="no target: the judged answers carry no generator, family or "
                    "category (responses.generator unknown)",
                    protocol=cu.protocol,
                )
            )
        for sl, mask in targets:
            S, _ = per_item_sums(items[mask], j[mask], h[mask])
            boots, pre = _target_bootstrap(S, n_boot, seed, ci_level)
            part = corrected_rate_rows(
                S,
                judge=str(judge),
                slice=sl,
                n_boot=n_boot,
                seed=seed,
                ci_level=ci_level,
                boots=boots,
            )
            S_rg = None
            if rg_units is not None:  # Rogan-Gladen on the ties-dropped binary units
                S_rg = rg_units(sl)
                rg = corrected_rate_rows(
                    S_rg, judge=str(judge), slice=sl, n_boot=n_boot, seed=seed, ci_level=ci_level
                )[CORRECTED_IDS.index("rogan_gladen_rate")]
                rg["method"] = f"{rg['method']}; on the binary units (ties dropped)"
                part[CORRECTED_IDS.index("rogan_gladen_rate")] = rg
            if stratified:
                part = _stratify(
                    part,
                    "labelled set stratified by judge verdict"
                    + why
                    + ": this estimator assumes a random labelled sample; see "
                    "post_stratified_rate",
                )
            ex = cu.excluded.get(str(judge), {})
            part[0]["n_excluded"] = int(sum(v for k, v in ex.items() if not k.endswith("_dataset")))
            part[0]["excluded"] = dict(ex)
            for r in part:
                r["protocol"] = cu.protocol
            part[0]["threshold"] = cu.threshold
            rows += part
            rows += _extra_rows(
                S, part, stratified, str(judge), sl, cu.protocol, n_boot, seed, ci_level, S_rg, pre
            )
    return findings_frame(rows)
