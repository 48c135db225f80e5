"""Drift between two judge versions (docs/statistics.md#calibration-audit).

``drift_agreement``: the same units under two judge_versions: agreement, kappa and an
item-level permutation test of the change in verdict distribution;
``resolve_drift_versions`` picks the pair to compare.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.agreement import accuracy_from_totals, kappa_from_totals
from judgelab.stats.calibration._common import (
    Resampling,
    kappa_weights_for,
    per_item_confusion,
    result_row,
)
from judgelab.stats.calibration.units import _score_classes
from judgelab.stats.errors import DataError
from judgelab.stats.units import parsed_mask, sorted_pair, winner_of


def drift_agreement(
    verdicts: pd.DataFrame,
    versions: Sequence[str],
    dataset=None,
    *,
    protocol: str = "pairwise",
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Agreement between two judge_versions on the same units (pairwise: (pair, order,
    sample); scores: (response, sample)), kappa between them (``kappa``: Cohen; quadratic
    weighted for scores), and an item-level permutation test of the change in the verdict
    distribution: statistic = total variation distance between the two versions' class
    distributions; under H0 the version labels are exchangeable within an item, so each
    permutation swaps them item by item. p = (k + 1) / (B + 1)."""
    if versions is None or len(versions) != 2:
        raise ValueError("drift needs exactly two judge_versions, e.g. ('v1-abc', 'v2-def')")
    v1, v2 = map(str, versions)
    present = set(verdicts["judge_version"].astype(str))
    missing = [x for x in (v1, v2) if x not in present]
    if missing:
        raise DataError(
            "verdicts",
            "judge_version",
            f"judge_version(s) {missing} not in the verdicts (present: {sorted(present)[:10]})",
        )
    rows = []
    keyed = []
    for ver in (v1, v2):
        d = verdicts[(verdicts["judge_version"].astype(str) == ver)]
        d = d[parsed_mask(d)]
        if protocol == "pairwise":
            lo, hi = sorted_pair(d["response_a"], d["response_b"])
            win = winner_of(d)
            lab = np.where(win == lo, 0, np.where(win == hi, 1, np.where(win == "tie", 2, -1)))
            key = pd.Series(
                lo
                + "|"
                + hi
                + "|"
                + d["order"].fillna("ab").astype(str).to_numpy()
                + "|"
                + d["sample"].fillna(0).astype(int).astype(str).to_numpy()
            )
            k = 3
        else:
            lab = pd.to_numeric(d["score"], errors="coerce").to_numpy()
            key = pd.Series(
                d["response_id"].astype(str).to_numpy()
                + "|"
                + d["sample"].fillna(0).astype(int).astype(str).to_numpy()
            )
            k = None
        keyed.append(
            pd.DataFrame(
                {
                    "key": key.to_numpy(),
                    "item_id": d["item_id"].astype(str).to_numpy(),
                    "label": lab,
                }
            )
        )
    m = keyed[0].merge(keyed[1], on=["key", "item_id"], suffixes=("_1", "_2"))
    m = m[(m["label_1"] >= 0) & (m["label_2"] >= 0)] if protocol == "pairwise" else m.dropna()
    if m.empty:
        return findings_frame(
            [
                finding(
                    "drift_agreement",
                    None,
                    slice={"judge_pair": f"{v1} vs {v2}"},
                    reason="the two versions share no parsed unit",
                )
            ]
        )
    if protocol != "pairwise":
        lo_s, k = _score_classes(dataset, m["label_1"], m["label_2"])
        m["label_1"] = np.clip(np.round(m["label_1"] - lo_s), 0, k - 1).astype(int)
        m["label_2"] = np.clip(np.round(m["label_2"] - lo_s), 0, k - 1).astype(int)
    per_item, n_items = per_item_confusion(
        m["item_id"].to_numpy(),
        m["label_1"].to_numpy(),
        m["label_2"].to_numpy(),
        np.ones(len(m)),
        k,
    )
    ctx = Resampling(n_boot, seed, ci_level)
    acc = ctx.boot(per_item, lambda t: accuracy_from_totals(t, k))
    weights = kappa_weights_for("pairwise" if protocol == "pairwise" else "single")
    kap = ctx.boot(per_item, lambda t: kappa_from_totals(t, k, weights))
    # permutation of version labels within items: the class counts of each item per version
    c = per_item.reshape(n_items, k, k)
    c1, c2 = c.sum(axis=2), c.sum(axis=1)  # (n_items, k): version-1 / version-2 class counts
    n_units = c1.sum()

    def tv(a, b):
        return 0.5 * np.abs(a / n_units - b / n_units).sum(axis=-1)

    t_obs = float(tv(c1.sum(0), c2.sum(0)))
    rng = np.random.default_rng(seed)
    count, done = 0, 0
    diff = c1 - c2
    while done < n_perm:
        b = min(n_perm - done, max(1, 4_000_000 // max(n_items, 1)))
        s = rng.integers(0, 2, size=(b, n_items))  # 1: swap the item's versions
        # T1* = sum c1 - sum_{swapped} (c1 - c2); T2* = sum c2 + sum_{swapped} (c1 - c2)
        shift = s @ diff
        t1, t2 = c1.sum(0) - shift, c2.sum(0) + shift
        count += int(np.count_nonzero(tv(t1, t2) >= t_obs - 1e-12))
        done += b
    p = (count + 1) / (n_perm + 1)
    concl = (
        f"versions agree on {acc.estimate:.1%} of {len(m)} shared units (kappa {kap.estimate if kap.estimate is not None else float('nan'):.3f}); "
        f"verdict distribution {'changed' if p < 0.05 else 'not shown to change'} (TV {t_obs:.3f}, permutation p {p:.4f})"
    )
    rows.append(
        result_row(
            "drift_agreement",
            acc,
            judge=None,
            slice_={"judge_pair": f"{v1} vs {v2}"},
            n=len(m),
            n_excluded=0,
            method_prefix="agreement between two judge_versions on the same units; p: item-level permutation of version labels, statistic total variation of verdict distributions",
            statistic=t_obs,
            p_value=p,
            kappa=kap.estimate,
            kappa_ci_low=kap.ci_low,
            kappa_ci_high=kap.ci_high,
            conclusion=concl,
        )
    )
    return findings_frame(rows)


# =====================================================================================
# rubric mode
# =====================================================================================


def resolve_drift_versions(verdicts: pd.DataFrame, drift_versions) -> tuple[str, str] | None:
    """The pair of judge_versions to compare for drift: None (no drift analysis), an explicit
    pair, or ``"auto"``: the first model (in verdict order) judged under two judge_versions,
    its versions in the order they first appear."""
    if (
        drift_versions is None
        or drift_versions is False
        or (isinstance(drift_versions, list | tuple) and not drift_versions)
    ):
        return None
    if isinstance(drift_versions, str):
        if drift_versions != "auto":
            raise ValueError(
                f"drift_versions must be a pair of judge_versions or 'auto', not {drift_versions!r}"
            )
        seen = verdicts[["model", "judge_version"]].astype(str).drop_duplicates()
        counts = seen.groupby("model", sort=False)["judge_version"].apply(list)
        multi = [v for v in counts if len(v) >= 2]
        if not multi:
            raise DataError(
                "verdicts",
                "judge_version",
                "drift_versions='auto' needs a model judged under two judge_versions; every model has one "
                f"({dict(zip(counts.index, counts))})",
            )
        return multi[0][0], multi[0][1]
    versions = tuple(map(str, drift_versions))
    if len(versions) != 2:
        raise ValueError(
            f"drift_versions must name exactly two judge_versions, got {len(versions)}"
        )
    return versions
