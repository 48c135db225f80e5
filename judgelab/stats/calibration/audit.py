"""The calibration audit: can this judge stand in for humans on this distribution?

:func:`audit` composes every finding id of docs/statistics.md#calibration-audit from the tidy
verdict frame (docs/design.md) and a :class:`judgelab.data.Dataset`. It prepares each
input once and hands it to every statistic: the human side (:class:`HumanData`), each judge's
units (:class:`JudgeUnits`), the panel's majority (:func:`majority_verdicts`, or the caller's
``panel_majority``) and the human ceiling (read by every judge's gate).

Reference (docs/statistics.md#reference-labels): :data:`AUDIT_REFERENCE`, the human majority of
each pair (the gold label where the dataset's rater is ``gold``), else the truth.

Settings (docs/statistics.md): ``tie_policy`` ``class`` (a tie is a third class) or ``drop``
(tie verdicts and tie references are removed and counted); ``half`` is refused for kappa
and F1. ``order_aggregation``: ``per_call`` (each order is one judgment; repeats within
(pair, order) share a weight of one), ``first_order`` (order ``ab`` only),
``consistent_only`` (one judgment per pair; orders that disagree make a tie, as FastChat).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from judgelab.identity import identity_strings
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.calibration.ceiling import (
    alternative_annotator_gap,
    human_ceiling,
    human_vote_agreement,
)
from judgelab.stats.calibration.confidence import confidence_calibration
from judgelab.stats.calibration.drift import drift_agreement
from judgelab.stats.calibration.gate import gate
from judgelab.stats.calibration.panel import majority_verdicts
from judgelab.stats.calibration.ranking import ranking
from judgelab.stats.calibration.reference_agreement import (
    AUDIT_REFERENCE,
    pairwise_agreement,
    score_agreement,
)
from judgelab.stats.calibration.rubric import rubric_agreement, section_failure_rate
from judgelab.stats.calibration.signed_bias import signed_bias
from judgelab.stats.calibration.units import (
    HumanData,
    JudgeUnits,
    _check_settings,
    _obj,
    _require,
)
from judgelab.stats.units import pair_key

__all__ = ["AUDIT_REFERENCE", "AuditSettings", "audit", "overview"]


@dataclass(frozen=True)
class AuditSettings:
    """The settings every statistic of one audit shares."""

    protocol: str = "pairwise"
    tie_policy: str = "class"
    order_aggregation: str = "per_call"
    gate_thresholds: Mapping | None = None
    n_boot: int = 2000
    n_perm: int = 9999
    seed: int = 0
    ci_level: float = 0.95

    @property
    def score_protocol(self) -> str:
        """``pairwise`` or ``single`` (rubric verdicts are compared as classes)."""
        return "pairwise" if self.protocol == "pairwise" else "single"

    @property
    def boot(self) -> dict:
        return dict(n_boot=self.n_boot, seed=self.seed, ci_level=self.ci_level)

    @property
    def pairwise_settings(self) -> dict:
        if self.protocol != "pairwise":
            return {}
        return dict(tie_policy=self.tie_policy, order_aggregation=self.order_aggregation)


def audit(
    verdicts: pd.DataFrame,
    dataset,
    *,
    protocol: str = "pairwise",
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    gate_thresholds: Mapping | None = None,
    drift_versions: Sequence[str] | None = None,
    ensemble: bool = True,
    panel_majority: pd.DataFrame | None = None,
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
    progress: bool = False,
) -> pd.DataFrame:
    """Every calibration-audit finding for every judge identity in ``verdicts`` (and, with
    ``ensemble`` and at least two judges, the panel's majority as ``slice`` {"ensemble":
    "majority"}), for ``protocol`` ``pairwise``, ``single`` or ``rubric``.

    ``panel_majority``: the panel's majority verdicts when the caller has built them
    (:func:`majority_verdicts` of the audited verdicts, i.e. without the drift versions);
    built here once otherwise.

    Returns the findings frame (primary: ``signed_bias`` per judge; apply Holm across
    judges with the study's ``save_findings``)."""
    if protocol not in ("pairwise", "single", "rubric"):
        raise ValueError(f"protocol must be 'pairwise', 'single' or 'rubric', not {protocol!r}")
    if protocol == "pairwise":
        _check_settings(tie_policy, order_aggregation)
    _require(verdicts, "verdicts", ["model", "backend", "judge_version", "item_id"])
    s = AuditSettings(
        protocol, tie_policy, order_aggregation, gate_thresholds, n_boot, n_perm, seed, ci_level
    )
    # pairwise statistics code the verdicts' text columns as stored (judgment units,
    # confidence): a copy with numpy object strings would be 1.5 GB at 1M verdicts; the
    # other protocols and drift read the object copy (faster merges on object columns)
    shared = protocol == "pairwise" and not drift_versions
    v = verdicts if shared else _obj(verdicts)
    # the frame as stored beside it, row for row
    stored = verdicts
    if "protocol" in v.columns:
        same = (v["protocol"] == protocol).to_numpy()
        if not same.all():  # read only: no copy of a frame that holds one protocol
            stored = verdicts[same]
            v = stored if shared else v[same]
    if v.empty:
        return findings_frame(
            [finding("accuracy", None, reason=f"no {protocol} verdicts to audit")]
        )
    base, stored = audited_verdicts(v, drift_versions), audited_verdicts(stored, drift_versions)
    humans = HumanData.of(dataset, s.score_protocol if protocol != "rubric" else "rubric")
    groups = _judge_groups(base, s, ensemble, panel_majority)
    out = []
    ceiling = None
    if protocol != "rubric":
        ceiling = _judged_units_ceiling(stored, humans, s)
        out.append(ceiling)
    it = groups
    if progress:
        # tqdm's plain text bar: it renders in JupyterLab and a terminal alike, where tqdm.auto
        # needs ipywidgets (not a dependency) and prints 'IProgress not found' without it
        from tqdm.std import tqdm

        it = tqdm(groups, desc="calibration audit")
    for ident, g, ens_slice, rows in it:
        # the judge's rows, sliced for its findings only (nine slices held at once would add
        # a copy of the verdict frame to the peak)
        if rows is not None:
            g = base[rows]
        g_stored = None if rows is None else (g if stored is base else stored[rows])
        f = _judge_findings(ident, g, ens_slice, humans, ceiling, s, g_stored)
        del g, g_stored
        if ens_slice is not None:
            f["slice"] = [ens_slice] * len(f)
        out.append(f)
    if protocol == "pairwise" and any(sl is not None for _, _, sl, _ in groups):
        # the panel majority's confidence: the share of judges giving the majority verdict
        conf = confidence_calibration(
            stored, humans, judge=None, source="ensemble", **s.pairwise_settings, **s.boot
        )
        conf["slice"] = [{"ensemble": "majority"}] * len(conf)
        out.append(conf)
    if drift_versions:
        out.append(
            drift_agreement(
                v, drift_versions, dataset, protocol=s.score_protocol, n_perm=n_perm, **s.boot
            )
        )
    res = pd.concat(out, ignore_index=True)
    return findings_frame([_with_conclusion(r) for r in res.to_dict("records")])


def audited_verdicts(verdicts: pd.DataFrame, drift_versions: Sequence[str] | None):
    """The verdicts the judges are audited on: without the drift comparison's later version(s)."""
    if not drift_versions:
        return verdicts
    later = [str(x) for x in drift_versions[1:]]
    return verdicts[~verdicts["judge_version"].astype(str).isin(later)]


def _judge_groups(base: pd.DataFrame, s: AuditSettings, ensemble: bool, panel_majority):
    """(identity, None, ensemble slice, the judge's rows as a mask of ``base``) per judge (the
    caller slices each in turn), then the panel majority (built once; its verdicts, no mask)."""
    ids = identity_strings(base).to_numpy()
    groups = [(ident, None, None, ids == ident) for ident in sorted(set(ids))]
    if ensemble and len(groups) >= 2 and s.protocol != "rubric":
        panel = (
            majority_verdicts(base, s.score_protocol) if panel_majority is None else panel_majority
        )
        groups.append((None, panel, {"ensemble": "majority"}, None))
    return groups


def _judged_units_ceiling(base: pd.DataFrame, humans: HumanData, s: AuditSettings):
    """The human ceiling on the units the judges saw, so that it sits beside their agreement."""
    if s.protocol == "pairwise":
        # the key of each distinct stored pair (a pair is judged many times)
        pairs = base[["response_a", "response_b"]].drop_duplicates()
        judged_units = set(pair_key(pairs["response_a"], pairs["response_b"]))
    else:
        judged_units = set(base["response_id"].astype(str))
    return human_ceiling(
        humans,
        protocol=s.score_protocol,
        tie_policy=s.tie_policy if s.protocol == "pairwise" else "class",
        units=judged_units,
        **s.boot,
    )


def _judge_findings(ident, g, ens_slice, humans: HumanData, ceiling, s: AuditSettings, stored):
    """Every finding of one judge (or of the panel majority, ``ens_slice``); ``stored``: the
    judge's verdicts as stored (``g`` with text columns as numpy objects, :func:`_obj`)."""
    if s.protocol == "rubric":
        return _rubric_findings(ident, g, humans, s)
    ju = JudgeUnits.of(g, s.score_protocol, s.order_aggregation, s.tie_policy)
    if s.protocol == "pairwise":
        metrics = pairwise_agreement(
            ju, humans, judge=ident, by_slice=ens_slice is None, **s.pairwise_settings, **s.boot
        )
    else:
        metrics = score_agreement(ju, humans, judge=ident, by_slice=ens_slice is None, **s.boot)
    common = dict(judge=ident, protocol=s.score_protocol, **s.pairwise_settings, **s.boot)
    aag = alternative_annotator_gap(ju, humans, **common)
    frames = [
        metrics,
        human_vote_agreement(ju, humans, **common),
        aag,
        gate(
            metrics[metrics["slice"].isna()] if ens_slice is None else metrics,
            judge=ident,
            protocol=s.score_protocol,
            thresholds=s.gate_thresholds,
            ceiling=ceiling,
            aag=aag,
        ),
    ]
    if ens_slice is None:
        frames.append(signed_bias(ju, humans, n_perm=s.n_perm, **common))
        frames.append(ranking(ju, humans, **common))
        if s.protocol == "pairwise":
            frames.append(
                # the prepared units when they are of the stored rows: their coded pairs
                confidence_calibration(
                    ju if stored is g else stored,
                    humans,
                    judge=ident,
                    **s.pairwise_settings,
                    **s.boot,
                )
            )
    return pd.concat([x for x in frames if x is not None and len(x)], ignore_index=True)


def _rubric_findings(ident, g, humans: HumanData, s: AuditSettings):
    metrics = rubric_agreement(g, humans.dataset, judge=ident, **s.boot)
    overall = metrics.copy()
    overall["slice"] = None
    frames = [
        metrics,
        gate(
            overall,
            judge=ident,
            protocol="pairwise",
            thresholds=s.gate_thresholds,
            slice_={"subset": "overall"},
        ),
        section_failure_rate(g, humans.dataset, judge=ident, **s.boot),
    ]
    return pd.concat([x for x in frames if x is not None and len(x)], ignore_index=True)


_DESCRIBE = {
    "accuracy": "{who} agrees with the human majority on {e:.1%} of judgments",
    "cohen_kappa": "{whos} chance-corrected agreement with the human majority (Cohen's kappa) is {e:.3f}",
    "macro_f1": "{whos} macro-F1 against the human majority is {e:.3f}",
    "weighted_kappa": "{whos} quadratic-weighted kappa with the median human score is {e:.3f}",
    "spearman": "{whos} Spearman correlation with the median human score is {e:.3f}",
    "kendall_tau": "{whos} Kendall tau-b with the median human score is {e:.3f}",
    "human_ceiling": "two different humans agree at {e:.3f} on the judged units (the ceiling to read the judges against)",
    "human_vote_agreement": "{who} agrees with an individual human vote at {e:.3f}, computed like the human ceiling",
}


def _ranking_words(r: dict) -> str:
    """The ranking conclusion's words from the sign of tau-b and whether its CI excludes 0:
    a negative tau reverses the humans' ranking, it does not reproduce it."""
    lo, hi, e = r.get("ci_low"), r.get("ci_high"), float(r["estimate"])
    clear = not _missing(lo) and not _missing(hi) and (lo > 0 or hi < 0)
    # the caller appends the CI in parentheses, so the tau is stated after a colon
    if clear and e > 0:
        return "{who} ranks the generators like the humans: Kendall tau-b {e:.3f}"
    if clear and e < 0:
        return "{who} reverses the humans' ranking of the generators: Kendall tau-b {e:.3f}"
    return (
        "{whos} ranking of the generators is not shown to follow or reverse the humans' "
        "(a CI that includes 0, or none): Kendall tau-b {e:.3f}"
    )


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _with_conclusion(r: dict) -> dict:
    """Give every finding a plain-language conclusion (estimate, CI, slice; or why undefined)."""
    if not _missing(r.get("conclusion")):
        return r
    sl = r.get("slice")
    where = ""
    if isinstance(sl, dict) and sl:
        k, v = next(iter(sl.items()))
        where = {
            "family": f" on {v}'s answers",
            "subset": f" on '{v}' items",
            "ensemble": " (panel majority)",
        }.get(k, f" ({k} {v})")
    who = "the panel majority" if where == " (panel majority)" else "the judge"
    if _missing(r.get("estimate")):
        r["conclusion"] = f"{r['id']} undefined{where}: {r.get('reason') or 'no data'}"
        return r
    tmpl = _DESCRIBE.get(r["id"], r["id"] + " = {e:.3f}")
    if r["id"] == "ranking_kendall_tau":
        tmpl = _ranking_words(r)
    text = tmpl.format(e=float(r["estimate"]), who=who, whos=who + "'s")
    ci = ""
    if not _missing(r.get("ci_low")) and not _missing(r.get("ci_high")):
        ci = f" (95% CI {r['ci_low']:.3f} to {r['ci_high']:.3f})"
    elif r.get("reason"):
        ci = f" ({r['reason']})"
    r["conclusion"] = f"{text}{where if where != ' (panel majority)' else ''}{ci}"
    r["conclusion"] = r["conclusion"][0].upper() + r["conclusion"][1:]
    return r


def overview(findings: pd.DataFrame, protocol: str = "pairwise") -> pd.DataFrame:
    """One row per judge (and ensemble): the overall agreement statistics with their 95% CIs,
    the judge's agreement with individual human votes, the alternative-annotator gap and the
    gate, for display."""
    ids = (
        ["accuracy", "cohen_kappa", "macro_f1"]
        if protocol != "single"
        else ["weighted_kappa", "spearman", "kendall_tau"]
    ) + ["human_vote_agreement", "alternative_annotator_gap"]
    rows = {}
    for r in findings.itertuples(index=False):
        sl = r.slice if isinstance(r.slice, dict) else None
        if (
            sl is not None
            and "ensemble" not in sl
            and not (protocol == "rubric" and sl.get("subset") == "overall")
        ):
            continue
        if r.id not in ids and r.id != "gate":
            continue
        name = (
            r.judge if isinstance(r.judge, str) else f"ensemble: {sl['ensemble']}" if sl else None
        )
        if name is None:
            continue
        row = rows.setdefault(name, {})
        if r.id == "gate":
            row["gate"] = getattr(r, "gate_label", None) if r.estimate is not None else None
            row["established"] = getattr(r, "established", None)
            continue
        if r.estimate is None or (isinstance(r.estimate, float) and math.isnan(r.estimate)):
            row[r.id] = "n/a"
        elif r.ci_low is None or (isinstance(r.ci_low, float) and math.isnan(r.ci_low)):
            row[r.id] = f"{r.estimate:.3f}"
        else:
            row[r.id] = f"{r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "judge"
    return out[[c for c in [*ids, "gate", "established"] if c in out.columns]]
