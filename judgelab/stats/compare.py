"""Judge comparison: can a cheaper judge replace an expensive one (docs/statistics.md#judge-comparison).

Every function takes tidy verdict frames (docs/design.md "Verdict frame") that hold
exactly one judge identity each (``source`` and each candidate), a pair reference from
:mod:`judgelab.stats.reference`, and returns findings rows (:mod:`judgelab.stats._tidy`).

Definitions
-----------
- ``mixed_identities``: number of distinct (model, backend, judge_version) in the source.
- ``agreement_with_source`` / ``kappa_with_source``: the candidate's and the source's
  winners on the same units (a unit is a (pair, order, sample) call for ``per_call`` and
  ``first_order``, a pair for ``consistent_only``); Cohen's kappa with the tie as a class.
- ``accuracy_vs_human``: share of the candidate's units whose winner equals the reference.
- ``accuracy_difference`` (primary): candidate minus source accuracy on the units both
  judged and the reference covers; item-cluster bootstrap CI. Non-inferiority with margin
  delta: the candidate can replace the source when ``ci_low > -delta``. The p-value is the
  one-sided bootstrap p of H0: difference <= -delta, ``(1 + #{d* <= -delta}) / (B + 1)``.
  ``verdict`` (:func:`replacement_verdict`): ``can_replace`` (``ci_low > -delta``),
  ``cannot_replace`` (``ci_high < -delta``: worse by more than the margin) or
  ``not_established``.
  With at most one unit per item, the exact McNemar p of the discordant counts is added.
- ``cost_per_1k_usd``: 1000 x mean stored cost per call (cached calls count at their
  original cost: the store keeps what was paid once); ``latency_p50_s``: median latency.
- The cascade (cheap judge -> ensemble -> humans) with certified thresholds:
  :mod:`judgelab.stats.cascade`.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from judgelab.identity import IDENTITY_COLUMNS, identity_string
from judgelab.stats._tidy import finding
from judgelab.stats.agreement import (
    accuracy_from_totals,
    aggregate_orders,
    confusion_counts,
    kappa_from_totals,
)
from judgelab.stats.intervals import share_finding_kwargs
from judgelab.stats.power import minimum_detectable_effect
from judgelab.stats.reference import TIE, attach_reference, row_pair_keys
from judgelab.stats.resampling import cluster_bootstrap, mcnemar_exact
from judgelab.stats.units import PAIR_KEY_SEPARATOR

__all__ = [
    "identity_of",
    "units",
    "reference_units",
    "agreement_findings",
    "accuracy_findings",
    "cost_findings",
]

IDENTITY = list(IDENTITY_COLUMNS)


#: The comparison's answer per candidate (the ``verdict`` column of ``accuracy_difference``).
CAN_REPLACE, CANNOT_REPLACE, NOT_ESTABLISHED = "can_replace", "cannot_replace", "not_established"


def replacement_verdict(ci_low, ci_high, margin: float) -> str:
    """Non-inferiority as an answer: :data:`CAN_REPLACE` when the CI of candidate minus source
    accuracy lies above ``-margin``, :data:`CANNOT_REPLACE` when it lies below (the candidate
    is worse by more than the margin), else :data:`NOT_ESTABLISHED` (also without a CI)."""
    if ci_low is not None and ci_low > -margin:
        return CAN_REPLACE
    if ci_high is not None and ci_high < -margin:
        return CANNOT_REPLACE
    return NOT_ESTABLISHED


def identity_of(verdicts: pd.DataFrame) -> str | None:
    """``model|backend|judge_version`` of a single-identity frame (None when empty)."""
    ids = verdicts[IDENTITY]
    # one value per column (the frames this reads): its first row, without hashing rows
    one = all(pd.factorize(ids[c], use_na_sentinel=False)[1].size <= 1 for c in IDENTITY)
    ids = ids.iloc[:1] if one else ids.drop_duplicates()
    if len(ids) == 0:
        return None
    if len(ids) > 1:
        raise ValueError(f"expected one judge identity, got {len(ids)}: {ids.to_dict('records')}")
    return identity_string(*ids.iloc[0])


def units(verdicts: pd.DataFrame, order_aggregation: str = "per_call") -> pd.DataFrame:
    """Parsed judgments as units with an order-free ``pair_key`` and a ``unit`` key."""
    v = aggregate_orders(verdicts, order_aggregation)
    v = v.assign(pair_key=row_pair_keys(v["response_a"], v["response_b"]))
    if order_aggregation == "consistent_only":
        v["unit"] = v["pair_key"]
    else:
        sample = v["sample"] if "sample" in v.columns else 0
        v["unit"] = (
            v["pair_key"]
            + "#"
            + v["order"].astype(str)
            + "#"
            + pd.Series(sample, index=v.index).astype(str)
        )
    return v.drop_duplicates("unit")


#: the verdict columns :func:`reference_units` reads (the statistics read no other)
UNIT_COLUMNS = [*IDENTITY, "item_id", "response_a", "response_b", "order", "sample", "winner",
                "parse_ok", "choice"]  # fmt: skip


def reference_units(
    verdicts: pd.DataFrame,
    reference: pd.DataFrame,
    order_aggregation: str = "per_call",
    pair_lo: bool = False,
) -> pd.DataFrame:
    """:func:`units` of one identity with ``reference`` attached
    (:func:`judgelab.stats.reference.attach_reference`): what :func:`agreement_findings` and
    :func:`accuracy_findings` read of the source and of a candidate, built once by a caller
    that compares several candidates with one source. Only the verdict columns in
    :data:`UNIT_COLUMNS` are kept (a copy of the raw outputs per frame held memory and
    time). ``pair_lo``: also add ``pair_lo``, the part of the pair key before its first
    ``|`` (:func:`agreement_findings` reads it from the source's units)."""
    u = units(verdicts[[c for c in UNIT_COLUMNS if c in verdicts.columns]], order_aggregation)
    out = attach_reference(u, reference, pair_keys=u["pair_key"])
    if pair_lo:
        out["pair_lo"] = _lo_of(out["pair_key"])
    out.attrs["order_aggregation"] = order_aggregation
    return out


def code_units(*frames: pd.DataFrame) -> None:
    """Add ``unit_code`` to each :func:`reference_units` frame: one integer per ``unit`` in a
    code space shared by the frames, so that the statistics match units on integers (each
    unit key hashed once, not once per merge)."""
    codes, _ = pd.factorize(pd.concat([f["unit"] for f in frames], ignore_index=True))
    for f, c in zip(frames, np.split(codes, np.cumsum([len(f) for f in frames])[:-1]), strict=True):
        f["unit_code"] = c


def _units_of(verdicts, order_aggregation, given, reference=None):
    """``given`` (:func:`reference_units`, checked for its order aggregation), else the units
    of ``verdicts`` (with ``reference`` attached when one is given)."""
    if given is None:
        u = units(verdicts, order_aggregation)
        return u if reference is None else attach_reference(u, reference)
    if given.attrs.get("order_aggregation") != order_aggregation:
        raise ValueError(
            f"units were built for order_aggregation="
            f"{given.attrs.get('order_aggregation')!r}, not {order_aggregation!r}"
        )
    return given


def _match_on(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """The column two unit frames are matched on: ``unit_code`` when both carry it
    (:func:`code_units`: one code per unit, so the same matches), else ``unit``."""
    return "unit_code" if "unit_code" in a.columns and "unit_code" in b.columns else "unit"


def _side(winner: pd.Series, lo: pd.Series) -> np.ndarray:
    """Winner relative to the order-free pair: ``lo`` / ``hi`` / ``tie`` (``lo``: the part of
    the pair key before its first ``|``, :func:`_lo_of`)."""
    return np.where(winner == TIE, TIE, np.where(winner == lo, "lo", "hi"))


def _lo_of(key: pd.Series) -> pd.Series:
    # split once per distinct key (a str.split per row costs a Python call per row)
    codes, keys = pd.factorize(key, use_na_sentinel=False)
    keys = np.asarray(keys, dtype=object)
    lo = np.array(
        [k.split(PAIR_KEY_SEPARATOR)[0] if isinstance(k, str) else np.nan for k in keys],
        dtype=object,
    )
    return pd.Series(lo[codes], index=key.index, dtype=object)


def agreement_findings(
    source: pd.DataFrame,
    candidate: pd.DataFrame,
    *,
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    seed: int = 0,
    source_units: pd.DataFrame | None = None,
    candidate_units: pd.DataFrame | None = None,
) -> list[dict]:
    """``agreement_with_source`` and ``kappa_with_source`` of one candidate.

    ``source_units`` / ``candidate_units``: :func:`reference_units` of each, when the caller
    has built them (else built here)."""
    judge = identity_of(candidate)
    s = _units_of(source, order_aggregation, source_units)
    c = _units_of(candidate, order_aggregation, candidate_units)
    on = _match_on(s, c)
    lo = ["pair_lo"] if "pair_lo" in s.columns else []
    m = s[[on, "item_id", "pair_key", "winner", *lo]].merge(
        c[[on, "winner"]], on=on, suffixes=("_s", "_c")
    )
    n_excl = int(len(c) - len(m))
    common = dict(judge=judge, n=len(m), n_excluded=n_excl, slice=None)
    if len(m) == 0:
        reason = "no unit judged by both the candidate and the source"
        return [
            finding("agreement_with_source", None, reason=reason, **common),
            finding("kappa_with_source", None, reason=reason, **common),
        ]
    lo = m["pair_lo"] if lo else _lo_of(m["pair_key"])  # once for both sides
    a = _side(m["winner_s"], lo)
    b = _side(m["winner_c"], lo)
    cc = confusion_counts(a, b, items=m["item_id"], labels=["lo", "hi", TIE])
    rows = []
    for fid, stat in (
        ("agreement_with_source", partial(accuracy_from_totals, n_labels=3)),
        ("kappa_with_source", partial(kappa_from_totals, n_labels=3)),
    ):
        r = cluster_bootstrap(
            cc.per_item,
            stat,
            n_boot=n_boot,
            seed=seed,
            method="bca" if fid.startswith("kappa") else "percentile",
        )
        est = r.estimate
        concl = None
        if est is not None:
            concl = f"the candidate {'agrees with' if fid.startswith('agree') else 'has a chance-corrected agreement of'} {est:.2f} with the source ({order_aggregation} units)"
        # agreement is a share (the diagonal of the 3 x 3 table): Clopper-Pearson at the edges
        kw = (
            share_finding_kwargs(r, cc.per_item[:, [0, 4, 8]].sum(axis=1), cc.per_item.sum(axis=1))
            if fid == "agreement_with_source"
            else r.finding_kwargs()
        )
        kw["method"] = f"{kw['method']}; units {order_aggregation}; tie is a class"
        rows.append(finding(fid, conclusion=concl, **kw, **common))
    return rows


def accuracy_findings(
    source: pd.DataFrame,
    candidate: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    margin: float = 0.03,
    order_aggregation: str = "per_call",
    n_boot: int = 2000,
    seed: int = 0,
    reference_name: str = "human majority",
    source_units: pd.DataFrame | None = None,
    candidate_units: pd.DataFrame | None = None,
) -> list[dict]:
    """``accuracy_vs_human`` of the candidate and the primary ``accuracy_difference``.
    Both are undefined, with ``reference.attrs["undefined_reason"]`` as their reason when the
    reference carries one (no human reference at all). ``source_units`` /
    ``candidate_units``: as in :func:`agreement_findings`, with this ``reference`` attached."""
    judge = identity_of(candidate)
    undefined = reference.attrs.get("undefined_reason")
    c = _units_of(candidate, order_aggregation, candidate_units, reference)
    c_ok = c[c["correct"].notna()]
    rows = []
    if len(c_ok):
        per_item = (
            c_ok.groupby("item_id", sort=False)["correct"].agg(["sum", "size"]).to_numpy(float)
        )
        r = cluster_bootstrap(
            per_item,
            lambda t: t[:, 0] / np.where(t[:, 1] > 0, t[:, 1], np.nan),
            n_boot=n_boot,
            seed=seed,
        )
        rows.append(
            finding(
                "accuracy_vs_human",
                judge=judge,
                n=len(c_ok),
                n_excluded=int(len(c) - len(c_ok)),
                conclusion=f"the candidate picks the {reference_name}'s winner in {r.estimate:.0%} of {order_aggregation} units",
                **{
                    **(kw := share_finding_kwargs(r, per_item[:, 0], per_item[:, 1])),
                    "method": f"{kw['method']}; reference {reference_name}; units {order_aggregation}",
                },
            )
        )
    else:
        rows.append(
            finding(
                "accuracy_vs_human",
                None,
                judge=judge,
                n=0,
                reason=undefined or f"no candidate unit has a {reference_name} reference",
            )
        )

    s = _units_of(source, order_aggregation, source_units, reference)
    on = _match_on(c, s)
    m = (
        c[[on, "item_id", "correct"]]
        .merge(s[[on, "correct"]], on=on, suffixes=("_c", "_s"))
        .dropna(subset=["correct_c", "correct_s"])
    )
    if len(m) == 0:
        rows.append(
            finding(
                "accuracy_difference",
                None,
                judge=judge,
                primary=True,
                n=0,
                reason=undefined or "no unit judged by both with a reference",
                margin=margin,
                verdict=NOT_ESTABLISHED,
            )
        )
        return rows
    g = m.groupby("item_id", sort=False)
    per_item = np.column_stack([g["correct_c"].sum(), g["correct_s"].sum(), g.size()]).astype(float)
    stat = lambda t: (t[:, 0] - t[:, 1]) / np.where(t[:, 2] > 0, t[:, 2], np.nan)  # noqa: E731
    r = cluster_bootstrap(per_item, stat, n_boot=n_boot, seed=seed)
    d = r.distribution[np.isfinite(r.distribution)]
    p = (1 + np.count_nonzero(d <= -margin)) / (d.size + 1) if d.size else None
    extra = {}
    method = f"{r.method}; one-sided bootstrap p of H0 difference <= -{margin:g}; units {order_aggregation}"
    if g.size().max() == 1:
        b = int(((m["correct_c"] == 1) & (m["correct_s"] == 0)).sum())
        cdis = int(((m["correct_c"] == 0) & (m["correct_s"] == 1)).sum())
        extra["mcnemar_p"] = mcnemar_exact(b, cdis)
        method += f"; exact McNemar p = {extra['mcnemar_p']:.3g} (one unit per item)"
    verdict = replacement_verdict(r.ci_low, r.ci_high, margin)
    can = verdict == CAN_REPLACE
    if r.estimate is None:
        concl = None
    elif r.ci_low is None:
        concl = f"difference {r.estimate:+.3f}; no CI ({r.reason}), so non-inferiority cannot be established"
    elif can:
        concl = f"non-inferior: the CI lower bound {r.ci_low:+.3f} lies above -{margin:g}; on this data the candidate can replace the source"
    else:
        # Wald MDE with the item-cluster bootstrap SD as standard error (so clustering counts)
        sd = float(d.std(ddof=1)) if d.size >= 2 else 0.0
        mde = minimum_detectable_effect(se=sd) if sd > 0 else None
        extra["mde"] = mde
        concl = (
            f"not shown non-inferior: the CI lower bound {r.ci_low:+.3f} is not above -{margin:g}; "
            f"the candidate cannot be said to replace the source on this data"
        )
        if mde is not None:
            concl += (
                f" (with this many items a difference of {mde:.3f} is detectable with 80% power)"
            )
    rows.append(
        finding(
            "accuracy_difference",
            judge=judge,
            primary=True,
            statistic=r.estimate,
            p_value=p,
            n=len(m),
            n_excluded=int(len(c) - len(m)),
            conclusion=concl,
            margin=margin,
            non_inferior=bool(can),
            verdict=verdict,
            **{**r.finding_kwargs(), "method": method},
            **extra,
        )
    )
    return rows


def cost_findings(verdicts: pd.DataFrame) -> list[dict]:
    """``cost_per_1k_usd`` and ``latency_p50_s`` of one identity from its stored calls."""
    judge = identity_of(verdicts)
    rows = []
    cost = (
        pd.to_numeric(verdicts.get("cost_usd"), errors="coerce") if "cost_usd" in verdicts else None
    )
    if cost is None or cost.notna().sum() == 0:
        rows.append(
            finding(
                "cost_per_1k_usd",
                None,
                judge=judge,
                n=len(verdicts),
                ci_level=None,
                reason="no stored cost (published verdicts or an unpriced model)",
            )
        )
    else:
        n_cached = (
            int(verdicts["cached"].fillna(False).astype(bool).sum()) if "cached" in verdicts else 0
        )
        est = 1000 * cost.mean()
        rows.append(
            finding(
                "cost_per_1k_usd",
                est,
                judge=judge,
                n=int(cost.notna().sum()),
                n_excluded=int(cost.isna().sum()),
                ci_level=None,
                method=f"1000 x mean stored cost per call (tokens x price); {n_cached} cached calls counted at their original cost",
                conclusion=f"${est:.4f} per 1,000 judgments",
            )
        )
    lat = (
        pd.to_numeric(verdicts.get("latency_s"), errors="coerce")
        if "latency_s" in verdicts
        else None
    )
    if lat is None or lat.notna().sum() == 0:
        rows.append(
            finding("latency_p50_s", None, judge=judge, ci_level=None, reason="no stored latency")
        )
    else:
        rows.append(
            finding(
                "latency_p50_s",
                float(lat.median()),
                judge=judge,
                n=int(lat.notna().sum()),
                ci_level=None,
                method="median recorded latency per call",
            )
        )
    return rows
