"""Self-preference in the single-score protocol: the judge's score minus the median human
score, per relation of the judge to the answer's generator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.families import relation
from judgelab.identity import identity_string, identity_strings
from judgelab.stats._tidy import finding
from judgelab.stats.resampling import cluster_bootstrap
from judgelab.stats.self_preference_judgments import _response_table
from judgelab.stats.self_preference_pairs import _sums_by_item
from judgelab.stats.units import parsed_mask

__all__ = ["score_difference"]


def score_difference(
    verdicts: pd.DataFrame, dataset, n_boot=2000, seed=0, ci_level=0.95
) -> list[dict]:
    """Single-score protocol: mean(judge score - median human score) per judge and relation
    (self / family / lineage / other) with an item-cluster bootstrap CI; slice
    ``{"subset": "relation=<r>"}``. Empty when there are no single-score verdicts."""

    if verdicts is None or "protocol" not in verdicts.columns:
        return []
    v = verdicts[(verdicts["protocol"] == "single").to_numpy(dtype=bool, na_value=False)]
    if v.empty:
        return []
    labels = getattr(dataset, "labels", None)
    rows = []
    if labels is None or labels.empty:
        for j in v.drop_duplicates(["model", "backend", "judge_version"]).itertuples():
            rows.append(
                finding(
                    "score_difference",
                    None,
                    judge=identity_string(j.model, j.backend, j.judge_version),
                    reason="no human scores in the dataset",
                    n=0,
                )
            )
        return rows
    med = (
        pd.to_numeric(labels["score"], errors="coerce")
        .groupby(labels["response_id"].astype(str))
        .median()
    )
    resp = _response_table(dataset)
    v = v.copy()
    v = v[parsed_mask(v) & v["score"].notna().to_numpy()]
    v["rid"] = v["response_id"].astype(str)
    v["diff"] = pd.to_numeric(v["score"], errors="coerce") - v["rid"].map(med)
    v = v[v["diff"].notna()]
    v["judge"] = identity_strings(v)
    jf = (
        v["judge_family"]
        if "judge_family" in v.columns
        else pd.Series([None] * len(v), index=v.index)
    )
    v["rel"] = [
        relation(
            m,
            resp.at[r, "generator"],
            judge_family=f if isinstance(f, str) else None,
            generator_family=resp.at[r, "family"]
            if isinstance(resp.at[r, "family"], str)
            else None,
        )
        for m, f, r in zip(v["model"], jf, v["rid"])
    ]
    for k, ((judge, rel), g) in enumerate(v.groupby(["judge", "rel"], sort=True)):
        per = _sums_by_item(
            g["item_id"].astype(str), [g["diff"].to_numpy(dtype=float), np.ones(len(g))]
        )
        res = cluster_bootstrap(
            per,
            lambda t: np.atleast_2d(t)[:, 0] / np.atleast_2d(t)[:, 1],
            n_boot=n_boot,
            seed=seed + k,
            ci_level=ci_level,
        )
        rows.append(
            finding(
                "score_difference",
                res.estimate,
                judge=judge,
                slice={"subset": f"relation={rel}"},
                ci_low=res.ci_low,
                ci_high=res.ci_high,
                ci_level=ci_level,
                method="mean(judge score - median human score) over the responses of this relation; item-cluster bootstrap CI; descriptive",
                n=len(g),
                reason=res.reason if res.ci_low is None else None,
                conclusion=None
                if res.estimate is None
                else f"On answers of relation '{rel}' the judge scores {abs(res.estimate):.2f} points {'above' if res.estimate > 0 else 'below'} the human median.",
            )
        )
    return rows
