"""Rubric mode of the audit (docs/statistics.md#calibration-audit).

``section_failure_rate``: per rubric section, the share of responses below the pass threshold,
beside the share of human labels that are not ``pass``; ``rubric_agreement``: the aggregated
rubric verdict against the human majority ``overall`` label.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement import accuracy_from_totals, kappa_from_totals, macro_f1_from_totals
from judgelab.stats.calibration._common import Resampling, per_item_confusion, result_row
from judgelab.stats.calibration.units import _require
from judgelab.stats.reference import vote_reference
from judgelab.stats.rubric_sections import DEFAULT_PASS_THRESHOLD, section_titles
from judgelab.stats.units import parsed_mask
from judgelab.stats.votes import modal_codes


def _sections_frame(verdicts: pd.DataFrame) -> pd.DataFrame:
    recs = []
    ok = parsed_mask(verdicts)
    for (item, resp, sec), good in zip(
        verdicts[["item_id", "response_id", "sections"]].itertuples(index=False), ok
    ):
        if not good or not isinstance(sec, str | dict):
            continue
        d = json.loads(sec) if isinstance(sec, str) else sec
        for title, val in (d or {}).items():
            if isinstance(val, int | float) and not isinstance(val, bool) and math.isfinite(val):
                recs.append((str(item), str(resp), title, float(val)))
    return pd.DataFrame(recs, columns=["item_id", "response_id", "section", "metric"])


def section_failure_rate(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    pass_threshold: float | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Per rubric section: the share of responses whose section metric (repeats averaged)
    is below the pass threshold, with an item-cluster CI; beside it (``human_failure_rate``)
    the share of the human section labels that are not ``pass`` on the same responses."""
    # the judge's own aggregation threshold (a Judge setting, default DEFAULT_PASS_THRESHOLD);
    # the verdict frame does not carry it, so a judge with another threshold passes it here
    thr = float(DEFAULT_PASS_THRESHOLD if pass_threshold is None else pass_threshold)
    _require(verdicts, "verdicts", ["item_id", "response_id", "sections"])
    s = _sections_frame(verdicts)
    if s.empty:
        return findings_frame(
            [
                finding(
                    "section_failure_rate",
                    None,
                    judge=judge,
                    reason="no parsed rubric section metrics",
                )
            ]
        )
    s = s.groupby(["item_id", "response_id", "section"], as_index=False)["metric"].mean()
    s["fail"] = (s["metric"] < thr).astype(float)
    hl = dataset.rubric_labels
    titles = (
        list(section_titles(dataset.rubric)) if dataset.rubric else sorted(s["section"].unique())
    )
    ctx = Resampling(n_boot, seed, ci_level)
    rows = []
    for title in titles:
        sub = s[s["section"] == title]
        if sub.empty:
            rows.append(
                finding(
                    "section_failure_rate",
                    None,
                    judge=judge,
                    slice={"subset": title},
                    reason="section never scored",
                )
            )
            continue
        g = sub.groupby("item_id")["fail"].agg(["sum", "size"])
        res = ctx.boot(
            g.to_numpy(float),
            lambda t: np.where(t[:, 1] > 0, t[:, 0] / np.maximum(t[:, 1], 1), np.nan),
        )
        hrate = None
        if hl is not None and len(hl):
            h = hl[
                (hl["section"] == title)
                & hl["response_id"].astype(str).isin(set(sub["response_id"]))
            ]
            if len(h):
                hrate = float((h["label"] != "pass").mean())
        concl = f"judge fails section '{title}' on {res.estimate:.1%} of responses" + (
            f", humans {hrate:.1%}" if hrate is not None else ""
        )
        rows.append(
            result_row(
                "section_failure_rate",
                res,
                judge=judge,
                slice_={"subset": title},
                n=len(sub),
                n_excluded=0,
                method_prefix=f"share of responses with section metric < pass threshold {thr}",
                share=(g["sum"].to_numpy(float), g["size"].to_numpy(float)),
                human_failure_rate=hrate,
                conclusion=concl,
            )
        )
    return findings_frame(rows)


def rubric_agreement(
    verdicts: pd.DataFrame,
    dataset,
    *,
    judge: str | None = None,
    tie_policy: str = "class",
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """``accuracy``, ``cohen_kappa``, ``macro_f1`` of the aggregated rubric verdict
    (pass / warn / fail; repeats by their modal verdict) against the human majority
    ``overall`` label of the response (``slice`` {"subset": "overall"})."""
    classes = {"pass": 0, "warn": 1, "fail": 2}
    col = "verdict" if "verdict" in verdicts.columns else "judge_verdict"
    v = verdicts[parsed_mask(verdicts) & verdicts[col].isin(list(classes))]
    hl = dataset.rubric_labels
    if hl is None or v.empty:
        return findings_frame(
            [
                finding(i, None, judge=judge, reason="no rubric verdicts or no human rubric labels")
                for i in ("accuracy", "cohen_kappa", "macro_f1")
            ]
        )
    h = hl[hl["section"] == "overall"]
    maj, n_nomaj = vote_reference(
        h.assign(_code=h["label"].map(classes)), ["response_id"], code="_code"
    )
    ref = maj.set_index("response_id")["ref"]
    # repeats by their modal verdict; a split mode counts as code 2 (fail), as before
    jl_ = (
        modal_codes(v.assign(_code=v[col].map(classes)), ["item_id", "response_id"], "_code")
        .rename("label")
        .sort_index()
        .reset_index()
    )
    m = jl_.merge(ref, left_on="response_id", right_index=True)
    if m.empty:
        return findings_frame(
            [
                finding(
                    i, None, judge=judge, reason="no judged response with a human overall majority"
                )
                for i in ("accuracy", "cohen_kappa", "macro_f1")
            ]
        )
    per_item, _ = per_item_confusion(
        m["item_id"].astype(str).to_numpy(),
        m["ref"].to_numpy(),
        m["label"].to_numpy(),
        np.ones(len(m)),
        3,
    )
    ctx = Resampling(n_boot, seed, ci_level)
    rows = []
    for id_, fn in (
        ("accuracy", accuracy_from_totals),
        ("cohen_kappa", kappa_from_totals),
        ("macro_f1", macro_f1_from_totals),
    ):
        rows.append(
            result_row(
                id_,
                ctx.boot(per_item, lambda t, fn=fn: fn(t, 3)),
                judge=judge,
                slice_={"subset": "overall"},
                n=len(m),
                n_excluded=n_nomaj,
                method_prefix="rubric verdict (pass/warn/fail) vs human majority overall label",
                # accuracy is a share (the diagonal of the 3 x 3 table)
                share=(per_item[:, [0, 4, 8]].sum(axis=1), per_item.sum(axis=1))
                if id_ == "accuracy"
                else None,
            )
        )
    return findings_frame(rows)


# =====================================================================================
# confusion, ensembles, escalation queue
# =====================================================================================
