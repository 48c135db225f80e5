"""Label hiding: how the corrected estimators do on real data where every unit is labelled.

On a dataset where every judged unit carries a human label, the all-label human rate is
known: it is the estimand of the corrected estimators (the human-label rate on the judged
population). Hiding the labels of all but a random share of the **items** (10%, 5%) and
running :func:`judgelab.stats.corrected.corrected_rate_rows` on what is left, over many
seeds, measures each estimator's error (bias, RMSE) and the coverage of its primary 95%
interval against that rate, on real judge errors instead of planted ones.

Pairwise data become units as item 1 of issue 15 defines them for win rates
(:func:`pair_share_units`): one unit per (judge, pair), oriented to a focal response (a
generator's answer), with the judge's share for it averaged over repeats and then over
both display orders, and the humans' vote share for it (a tie counts one half, for judges
and humans alike). Shares are not 0/1, so the Rogan-Gladen parts are their soft
versions: ``TPR = sum(Y Yh) / sum(Y)`` and ``TNR = sum((1 - Y)(1 - Yh)) / sum(1 - Y)``, for
which ``E[Yh] = theta TPR + (1 - theta)(1 - TNR)`` still holds exactly; on 0/1 shares they
are the usual rates. Results: docs/statistics.md, "Corrected estimates on real data".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from judgelab.identity import identity_strings
from judgelab.stats.corrected.estimates import CORRECTED_IDS, corrected_rate_rows, per_item_sums
from judgelab.stats.corrected.units import orient, pair_shares
from judgelab.stats.errors import DataError

__all__ = [
    "pair_share_units",
    "hide_labels",
    "label_hiding_summary",
]


def pair_share_units(
    verdicts: pd.DataFrame, preferences: pd.DataFrame, focal: Iterable[str]
) -> pd.DataFrame:
    """One unit per (judge identity, pair) oriented to the focal response of the pair.

    Parameters
    ----------
    verdicts : DataFrame
        Pairwise verdicts (docs/verdicts.md): ``model``, ``backend``, ``judge_version``,
        ``item_id``, ``response_a``, ``response_b``, ``winner`` and/or ``choice`` + ``order``;
        unparsed rows (``parse_ok`` false) are dropped.
    preferences : DataFrame
        Human votes (``item_id``, ``response_a``, ``response_b``, ``rater_id``,
        ``preference`` in a / b / tie).
    focal : iterable of str
        Response ids of the focal side (e.g. every answer of one generator). Pairs in which
        neither or both responses are focal are left out.

    Returns
    -------
    DataFrame
        ``judge, item_id, focal, other, judge_share, human_share, n_verdicts, n_votes``:
        the shares of :func:`judgelab.stats.corrected.units.pair_shares` (a tie counts 1/2;
        the judge's averaged over repeats within each display order, then over the orders)
        oriented to the focal response (:func:`~judgelab.stats.corrected.units.orient`).
        Only pairs with both a parsed verdict and a vote are kept.
    """
    focal_set = {str(f) for f in focal}
    for col in ("model", "backend", "judge_version"):
        if col not in verdicts.columns:
            raise DataError(
                "verdicts", col, f"column missing (columns: {list(verdicts.columns)}); add it"
            )
    out = pair_shares(verdicts, preferences, identity_strings(verdicts))
    out = out[out["n_votes"] > 0]
    is_lo = out["lo"].isin(focal_set).to_numpy()
    out = out[is_lo != out["hi"].isin(focal_set).to_numpy()]
    is_lo = out["lo"].isin(focal_set).to_numpy()
    out = out.assign(
        focal=np.where(is_lo, out["lo"], out["hi"]),
        other=np.where(is_lo, out["hi"], out["lo"]),
        judge_share=orient(out["judge_lo"], is_lo),
        human_share=orient(out["human_lo"], is_lo),
    )
    cols = ["judge", "item_id", "focal", "other", "judge_share", "human_share"]
    return out[[*cols, "n_verdicts", "n_votes"]].reset_index(drop=True)


def hide_labels(
    units: pd.DataFrame,
    *,
    shares: Sequence[float] = (0.10, 0.05),
    seeds: Iterable[int] = range(200),
    item: str = "item_id",
    verdict: str = "judge_share",
    human: str = "human_share",
    groups: Sequence[str] = ("judge",),
    n_boot: int = 2000,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Hide all human labels but those of a random share of items, over seeds.

    For each seed and share the labelled items are drawn once, without replacement, from all
    items of ``units`` (so every group sees the same labelled items, as when a researcher
    labels items); every unit of a drawn item keeps its label. The estimand of each group is
    its all-label human rate, the mean of ``human`` over its units.

    Parameters
    ----------
    units : DataFrame
        One row per judged unit, every one with a judge verdict and a human label (0/1 or a
        share in [0, 1]), e.g. :func:`pair_share_units`.
    shares : sequence of float
        Shares of items whose labels are kept (at least 2 items are kept).
    seeds : iterable of int
        One replicate per seed (the seed also seeds that replicate's bootstrap).
    item, verdict, human : str
        Columns of the item (the sampling and resampling cluster), the judge verdict and the
        human label.
    groups : sequence of str
        Columns defining the targets (one set of estimates each), e.g. judge and generator.
    n_boot, ci_level :
        Item-cluster bootstrap settings (used where an item has several units).

    Returns
    -------
    DataFrame
        One row per (group, share, seed, estimator): the group columns, ``share``, ``seed``,
        ``id`` (:data:`CORRECTED_IDS`), ``estimate``, ``ci_low``, ``ci_high``, ``truth``
        (the all-label human rate), ``n_units``, ``n_labelled``, ``n_items``, ``method``.
    """
    need = [item, verdict, human, *groups]
    for col in need:
        if col not in units.columns:
            raise DataError("units", col, f"column missing (columns: {list(units.columns)})")
    missing = units.index[units[[verdict, human]].isna().any(axis=1).to_numpy()]
    if len(missing):
        raise DataError(
            "units",
            f"{verdict}/{human}",
            "label hiding needs a judge verdict and a human label on every unit; drop the "
            "units that lack one",
            rows=missing,
        )
    item_codes, item_ids = pd.factorize(units[item], sort=True)
    n_items_all = len(item_ids)
    jv = units[verdict].to_numpy(dtype=float)
    hv = units[human].to_numpy(dtype=float)
    keys = list(groups)
    parts = list(units.groupby(keys, sort=True).indices.items()) if keys else [((), None)]
    seeds = list(seeds)
    rows = []
    for share in shares:
        k = max(2, int(round(share * n_items_all)))
        for seed in seeds:
            chosen = np.zeros(n_items_all, bool)
            chosen[np.random.default_rng(seed).choice(n_items_all, k, replace=False)] = True
            for key, idx in parts:
                idx = np.arange(len(units)) if idx is None else idx
                lab = chosen[item_codes[idx]]
                S, _ = per_item_sums(item_codes[idx], jv[idx], np.where(lab, hv[idx], np.nan))
                out = corrected_rate_rows(S, n_boot=n_boot, seed=seed, ci_level=ci_level)
                truth = float(hv[idx].mean())
                key = key if isinstance(key, tuple) else (key,)
                for r in out:
                    rows.append(
                        {
                            **dict(zip(keys, key)),
                            "share": share,
                            "seed": seed,
                            "id": r["id"],
                            "estimate": r["estimate"],
                            "ci_low": r["ci_low"],
                            "ci_high": r["ci_high"],
                            "truth": truth,
                            "n_units": len(idx),
                            "n_labelled": r["n_labelled"],
                            "n_items": r["n_items"],
                            "method": r["method"],
                        }
                    )
    return pd.DataFrame(rows)


def label_hiding_summary(
    replicates: pd.DataFrame, groups: Sequence[str] = ("judge",)
) -> pd.DataFrame:
    """Error and coverage of each estimator over the label-hiding replicates.

    Parameters
    ----------
    replicates : DataFrame
        :func:`hide_labels` output.
    groups : sequence of str
        The group columns used there.

    Returns
    -------
    DataFrame
        One row per (group, share, estimator): ``truth``, ``n_units``, ``n_labelled`` (mean
        over seeds), ``n_defined`` (seeds with an estimate), ``n_ci`` (seeds with an
        interval), ``bias`` (mean estimate minus truth over ``n_defined``), ``rmse``,
        ``coverage`` (share of the ``n_ci`` seeds whose interval contains the truth) and
        ``mean_width`` of the interval.
    """
    r = replicates.copy()
    est = pd.to_numeric(r["estimate"], errors="coerce")
    lo = pd.to_numeric(r["ci_low"], errors="coerce")
    hi = pd.to_numeric(r["ci_high"], errors="coerce")
    r["err"] = est - r["truth"]
    r["sq"] = r["err"] ** 2
    r["defined"] = est.notna()
    # coverage over the seeds with an interval; the seeds without one are counted apart
    has_ci = est.notna() & lo.notna() & hi.notna()
    r["has_ci"] = has_ci
    r["covers"] = np.where(has_ci, (lo <= r["truth"]) & (r["truth"] <= hi), np.nan)
    r["width"] = hi - lo
    keys = [*groups, "share", "id"]
    g = r.groupby(keys, sort=False)
    out = g.agg(
        truth=("truth", "first"),
        n_units=("n_units", "first"),
        n_labelled=("n_labelled", "mean"),
        n_seeds=("seed", "size"),
        n_defined=("defined", "sum"),
        n_ci=("has_ci", "sum"),
        bias=("err", "mean"),
        rmse=("sq", "mean"),
        coverage=("covers", "mean"),
        mean_width=("width", "mean"),
    ).reset_index()
    out["rmse"] = np.sqrt(out["rmse"])
    order = {k: i for i, k in enumerate(CORRECTED_IDS)}
    out["_o"] = out["id"].map(order)
    out = out.sort_values([*groups, "share", "_o"], ascending=[True] * len(groups) + [False, True])
    return out.drop(columns="_o").reset_index(drop=True)
