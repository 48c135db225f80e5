"""The calibration gate (docs/statistics.md#calibration-audit).

2 pass / 1 warn / 0 fail from the point estimates (kappa >= 0.75 and macro-F1 >= 0.85;
kappa >= 0.60), stated with the CI, the human ceiling and the alternative-annotator gap. The
structured ``established`` column (the CI lower bounds clear the same level) and the
``verdict`` column (:func:`stand_in_verdict`: can the judge stand in for humans) are what
callers read, not the conclusion's wording.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.calibration.ceiling import AAG_MARGIN

#: The seeds' calibration gate: pass needs kappa >= pass_kappa and macro-F1 >= pass_f1;
#: warn needs kappa >= warn_kappa; anything else fails.
DEFAULT_GATE = {"pass_kappa": 0.75, "pass_f1": 0.85, "warn_kappa": 0.60}
GATE_LABELS = {2: "pass", 1: "warn", 0: "fail"}
#: The audit's answer per judge (the ``verdict`` column of its ``gate`` row).
STAND_IN, CANNOT, NOT_ESTABLISHED = "stand_in", "cannot", "not_established"


def _first(df: pd.DataFrame, id_: str, col: str):
    r = df[df["id"] == id_]
    if r.empty or col not in r.columns:
        return None
    v = r[col].iloc[0]
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _method(kid: str, th: Mapping, protocol: str) -> str:
    return (
        f"{kid} >= {th['pass_kappa']}"
        + (f" and macro-F1 >= {th['pass_f1']}" if protocol != "single" else "")
        + f" -> pass (2); {kid} >= {th['warn_kappa']} -> warn (1); else fail (0); point estimates"
    )


def stand_in_verdict(
    *,
    gate_at_ci_low: int | None,
    kappa_ci_high: float | None,
    human_kappa: float | None,
    as_good_as_human: bool | None,
    aag_ci_high: float | None,
    thresholds: Mapping | None = None,
) -> tuple[str, int]:
    """Can the judge stand in for humans? ``(verdict, required_level)``.

    The bar is the gate's pass level (2), unless the humans themselves agree with each other
    below the pass kappa (``human_kappa``): then no single annotator could clear pass, and the
    bar is the warn level (1) *and* the alternative-annotator test (``as_good_as_human``).

    - :data:`STAND_IN`: the CI lower bounds clear the bar (``gate_at_ci_low >= bar``), and,
      when the bar is warn, the judge is shown as good as a human annotator;
    - :data:`CANNOT`: the data rule the bar out: the kappa CI upper bound lies below the bar's
      kappa, or (bar warn) the alternative-annotator gap's CI upper bound lies below
      ``-AAG_MARGIN`` (the judge is shown worse than a human annotator);
    - :data:`NOT_ESTABLISHED`: anything else (the CI spans the bar, or a CI is missing).
    """
    th = {**DEFAULT_GATE, **(thresholds or {})}
    hk = _num(human_kappa)
    required = 1 if hk is not None and hk < th["pass_kappa"] else 2
    bar_kappa = th["pass_kappa"] if required == 2 else th["warn_kappa"]
    hi = _num(kappa_ci_high)
    aag_hi = _num(aag_ci_high)
    if gate_at_ci_low is not None and gate_at_ci_low >= required:
        if required == 2 or as_good_as_human:
            return STAND_IN, required
    if hi is not None and hi < bar_kappa:
        return CANNOT, required
    if required == 1 and aag_hi is not None and aag_hi < -AAG_MARGIN:
        return CANNOT, required
    return NOT_ESTABLISHED, required


def gate_level(kappa, f1, *, protocol: str = "pairwise", thresholds: Mapping | None = None):
    """The gate's level (2 pass, 1 warn, 0 fail) of a kappa and macro-F1 (None without a
    kappa); single scores need no F1."""
    th = {**DEFAULT_GATE, **(thresholds or {})}
    if kappa is None:
        return None
    if kappa >= th["pass_kappa"] and (
        protocol == "single" or (f1 is not None and f1 >= th["pass_f1"])
    ):
        return 2
    return 1 if kappa >= th["warn_kappa"] else 0


def _established_text(g, g_lo, kid, kap_lo, f1_lo, kap_hi) -> str:
    """Whether the CI lower bounds clear the point estimates' level, in words."""
    if g == 0:
        return "fails the warn threshold" + (
            f" (CI upper bound of {kid} {kap_hi:.3f})" if kap_hi is not None else ""
        )
    if g_lo is None:
        return "not established: no CI"
    if g_lo >= g:
        return (
            f"established: the CI lower bounds ({kid} {kap_lo:.3f}"
            + (f", F1 {f1_lo:.3f}" if f1_lo is not None else "")
            + ") clear it"
        )
    return f"not established: the CI lower bounds only support {GATE_LABELS[g_lo]}"


def _ceiling_text(ceiling: pd.DataFrame | None, kid: str, th: Mapping) -> tuple[float | None, list]:
    """The human-human kappa (None without one) and what it says about the bar."""
    if ceiling is None or ceiling.empty or "kappa" not in ceiling.columns:
        return None, []
    hk = _num(ceiling["kappa"].iloc[0])
    if hk is None:
        return None, []
    parts = [f"human-human {kid.replace('cohen_', '')} {hk:.3f}"]
    if hk < th["pass_kappa"]:
        # judge vs the majority of several raters can exceed one human's agreement,
        # so this is a statement about the bar, not a verdict on the judge
        lvl, bar = (
            ("pass", th["pass_kappa"]) if hk >= th["warn_kappa"] else ("warn", th["warn_kappa"])
        )
        parts.append(
            f"humans agree with each other below the {lvl} threshold {bar}: a single human "
            "annotator cannot meet it on this data, so read the judge against the human "
            "ceiling and the alternative-annotator gap"
        )
    return hk, parts


def _aag_text(aag: pd.DataFrame | None):
    """``(gap, as_good_as_human, gap CI upper bound, [text])`` of the alternative-annotator
    test (all None without one)."""
    if aag is None or aag.empty or aag["estimate"].iloc[0] is None:
        return None, None, None, []
    est = aag["estimate"].iloc[0]
    good = bool(aag.get("as_good_as_human", pd.Series([False])).iloc[0])
    hi = _num(aag["ci_high"].iloc[0]) if "ci_high" in aag.columns else None
    word = "as good as a human annotator" if good else "not shown as good as a human annotator"
    return est, good, hi, [f"alternative-annotator gap {est:+.3f} ({word})"]


def gate(
    metrics: pd.DataFrame,
    *,
    judge: str | None = None,
    protocol: str = "pairwise",
    thresholds: Mapping | None = None,
    ceiling: pd.DataFrame | None = None,
    aag: pd.DataFrame | None = None,
    slice_: dict | None = None,
) -> pd.DataFrame:
    """The seeds' calibration gate on point estimates: pass (2) if kappa >= pass_kappa and
    macro-F1 >= pass_f1, warn (1) if kappa >= warn_kappa, else fail (0); single scores use
    the weighted kappa and no F1. ``metrics`` holds the judge's overall agreement rows.

    The conclusion says whether the CI lower bounds clear the same thresholds
    ("established"), and sets the gate beside the human ceiling (human-human kappa) and the
    alternative-annotator gap: where humans agree with each other below a threshold, it says
    that threshold cannot be met on this data. ``verdict`` (:func:`stand_in_verdict`) is the
    structured answer."""
    th = {**DEFAULT_GATE, **(thresholds or {})}
    overall = metrics[metrics["slice"].isna()] if "slice" in metrics.columns else metrics

    def get(id_):
        r = overall[overall["id"] == id_]
        return (None, None) if r.empty else (r["estimate"].iloc[0], r["ci_low"].iloc[0])

    kid = "cohen_kappa" if protocol != "single" else "weighted_kappa"
    kap, kap_lo = get(kid)
    f1, f1_lo = get("macro_f1") if protocol != "single" else (None, None)
    if _num(kap) is None or (protocol != "single" and f1 is None):
        return findings_frame(
            [
                finding(
                    "gate",
                    None,
                    judge=judge,
                    slice=slice_,
                    reason=f"{kid}{' or macro_f1' if protocol != 'single' else ''} undefined",
                    verdict=NOT_ESTABLISHED,
                )
            ]
        )
    g = gate_level(kap, f1, protocol=protocol, thresholds=th)
    g_lo = (
        gate_level(kap_lo, f1_lo, protocol=protocol, thresholds=th)
        if kap_lo is not None and (protocol == "single" or f1_lo is not None)
        else None
    )
    kap_hi = _first(overall, kid, "ci_high")
    hk, ceiling_parts = _ceiling_text(ceiling, kid, th)
    aag_est, good, aag_hi, aag_parts = _aag_text(aag)
    parts = [
        f"gate {GATE_LABELS[g]} on point estimates ({kid} {kap:.3f}"
        + (f", macro-F1 {f1:.3f}" if f1 is not None else "")
        + ")",
        _established_text(g, g_lo, kid, kap_lo, f1_lo, kap_hi),
        *ceiling_parts,
        *aag_parts,
    ]
    verdict, required = stand_in_verdict(
        gate_at_ci_low=g_lo,
        kappa_ci_high=kap_hi,
        human_kappa=hk,
        as_good_as_human=good,
        aag_ci_high=aag_hi,
        thresholds=th,
    )
    return findings_frame(
        [
            finding(
                "gate",
                g,
                judge=judge,
                slice=slice_,
                method=_method(kid, th, protocol),
                ci_level=None,
                n=_first(overall, kid, "n"),
                conclusion="; ".join(parts),
                gate_label=GATE_LABELS[g],
                gate_at_ci_low=g_lo,
                established=bool(g > 0 and g_lo is not None and g_lo >= g),
                human_kappa=hk,
                alternative_annotator_gap=aag_est,
                # the structured answer and what it was read from (the conclusion renderer
                # of the calibration audit words it; docs/verdicts.md)
                verdict=verdict,
                required_level=GATE_LABELS[required],
                kappa=_num(kap),
                kappa_ci_low=_num(kap_lo),
                kappa_ci_high=_num(kap_hi),
                as_good_as_human=good,
                aag_ci_high=aag_hi,
                pass_kappa=th["pass_kappa"],
                warn_kappa=th["warn_kappa"],
            )
        ]
    )


# =====================================================================================
# drift between two judge versions
# =====================================================================================
