"""Speed of the corrected estimates (issue 15 "Done when"), against a same-run loop baseline.

    python benchmarks/corrected_estimate.py [--units 100000] [--per-item 6] [--labels 1000]
        [--n-boot 2000] [--generators 4] [--loop-resamples 100]

Data: ``--units`` judged units, ``--per-item`` units per item (the responses of the
``--generators`` generators and more to one prompt), one judge, binary verdicts with item
effects on the human label and on the judge's errors; the humans label every unit of a random
set of items, ``--labels`` units in all (whole items, as a researcher labels them).

1. **vectorised**: the whole ``judgelab.stats.corrected.corrected_rates(units, by=
   ["generator"])``: input checks, per-item sums, and for the overall target and each
   generator the four estimators with their item-cluster bootstrap (``--n-boot`` resamples,
   p, TPR, TNR and lambda re-estimated in every resample) and closed forms. Timed cold (the
   resample-weight cache emptied first) and warm (weights reused, as within a study).
2. **per-resample loop**: the same bootstrap written as a loop over resamples: for each
   resample the units of the drawn items are gathered and the four estimators computed from
   unit-level arrays (PPI++ with ``ppi_py.ppi_mean_pointestimate`` when ppi-python is
   installed, else the kit's unit-level ``ppi_mean``), for each target. It runs
   ``--loop-resamples`` resamples per target and is extrapolated linearly to ``--n-boot``
   (each resample costs the same); it also checks that the loop reproduces the vectorised
   bootstrap distributions on the resamples both computed (same item draws).

Target: the vectorised run under 10 s on 2 cores. Wall time depends on the machine's load;
the CPU time and the ratio measured in one run are what to compare.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from judgelab.stats import resampling
from judgelab.stats.corrected import corrected_bootstrap, corrected_rates, per_item_sums
from judgelab.stats.corrected.ppi import ppi_mean
from judgelab.stats.corrected.rogan_gladen import rogan_gladen
from judgelab.stats.resampling import bootstrap_weights


def make_units(n_units: int, per_item: int, n_labels: int, n_gen: int, seed: int = 0):
    """Units with item effects (ICC about 1/3 on the human label; per-item judge TPR and FPR
    drawn from Beta distributions) and ``n_labels`` labelled units on whole items."""
    rng = np.random.default_rng(seed)
    n_items = n_units // per_item
    item = np.repeat(np.arange(n_items), per_item)
    pi = rng.beta(1.2, 0.8, n_items)[item]
    tpr = rng.beta(0.72, 0.08, n_items)[item]
    fpr = rng.beta(0.16, 0.64, n_items)[item]
    y = (rng.random(item.size) < pi).astype(float)
    jp = np.where(y == 1, rng.random(item.size) < tpr, rng.random(item.size) < fpr)
    labelled = np.zeros(n_items, bool)
    labelled[rng.choice(n_items, n_labels // per_item, replace=False)] = True
    gen = np.tile(np.arange(per_item) % n_gen, n_items)
    return pd.DataFrame(
        {
            "item_id": item,
            "generator": np.array([f"g{k}" for k in range(n_gen)])[gen],
            "judge_pass": jp.astype(int),
            "human_pass": np.where(labelled[item], y, np.nan),
        }
    )


def _ppi_point():
    try:
        import ppi_py

        return "ppi_py.ppi_mean_pointestimate", lambda y, yh, yu: float(
            np.squeeze(ppi_py.ppi_mean_pointestimate(y, yh, yu))
        )
    except ImportError:
        return "judgelab ppi_mean (ppi-python not installed)", lambda y, yh, yu: float(
            ppi_mean(y, yh, yu).estimate
        )


def loop_bootstrap(units: pd.DataFrame, n_boot: int, seed: int, ppi_point) -> np.ndarray:
    """``(n_boot, 4)`` bootstrap distributions, one resample at a time from unit rows."""
    codes, uniq = pd.factorize(units["item_id"], sort=False)
    j = units["judge_pass"].to_numpy(float)
    h = units["human_pass"].to_numpy(float)
    order = np.argsort(codes, kind="stable")
    lengths = np.bincount(codes)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    W = bootstrap_weights(len(uniq), n_boot, seed)
    out = np.empty((n_boot, 4))
    for r, w in enumerate(W):
        # the rows of the drawn items, each item as often as it is drawn
        rep = np.repeat(np.arange(len(w)), w)
        ln = lengths[rep]
        first = np.cumsum(ln) - ln
        rows = order[np.arange(ln.sum()) - np.repeat(first, ln) + np.repeat(starts[rep], ln)]
        jr, hr = j[rows], h[rows]
        lab = ~np.isnan(hr)
        y, yh, yu = hr[lab], jr[lab], jr[~lab]
        p = jr.mean()
        tpr = yh[y == 1].mean() if (y == 1).any() else np.nan
        tnr = 1 - yh[y == 0].mean() if (y == 0).any() else np.nan
        ok = lab.sum() >= 2 and (~lab).any()
        out[r] = (
            p,
            y.mean() if lab.any() else np.nan,
            float(rogan_gladen(p, tpr, tnr)),
            ppi_point(y, yh, yu) if ok else np.nan,
        )
    return out


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--per-item", type=int, default=6)
    ap.add_argument("--labels", type=int, default=1000)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--generators", type=int, default=4)
    ap.add_argument("--loop-resamples", type=int, default=100)
    a = ap.parse_args(argv)
    units = make_units(a.units, a.per_item, a.labels, a.generators)
    n_items = units["item_id"].nunique()
    n_lab = int(units["human_pass"].notna().sum())
    print(
        f"== corrected_rates: {len(units):,} units, {n_items:,} items ({a.per_item} per item), "
        f"{n_lab:,} labelled, {a.generators} generators, B = {a.n_boot:,}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )

    def vectorised():
        return corrected_rates(units, by=["generator"], n_boot=a.n_boot, seed=1)

    corrected_rates(units.head(600), n_boot=10)  # warm-up: imports, threadpool controller
    resampling._WEIGHT_CACHE.clear()
    res, t_cold, c_cold = _timed(vectorised)
    warm = [_timed(vectorised)[1:] for _ in range(2)]
    t_warm, c_warm = min(w[0] for w in warm), min(w[1] for w in warm)
    n_targets = 1 + a.generators
    assert len(res) == 4 * n_targets and res["ci_low"].notna().all(), res

    name, ppi_point = _ppi_point()
    targets = [units] + [g for _, g in units.groupby("generator", sort=True)]
    t_loop = c_loop = 0.0
    worst, nan_mismatch = 0.0, 0
    for tu in targets:
        dist, t, c = _timed(lambda tu=tu: loop_bootstrap(tu, a.loop_resamples, 1, ppi_point))
        t_loop += t
        c_loop += c
        S, _ = per_item_sums(tu["item_id"], tu["judge_pass"], tu["human_pass"])
        vec = np.column_stack(
            [b.distribution[: a.loop_resamples] for b in corrected_bootstrap(S, a.n_boot, seed=1)]
        )
        nan_mismatch += int((np.isnan(vec) != np.isnan(dist)).sum())
        worst = max(worst, float(np.nanmax(np.abs(vec - dist))))
    scale = a.n_boot / a.loop_resamples
    print(f"loop reference: PPI++ point estimate by {name}")
    print(f"{'':44s}wall (s)   CPU (s)")
    print(f"{'vectorised corrected_rates, cold weights':44s}{t_cold:8.2f}  {c_cold:8.2f}")
    print(f"{'vectorised corrected_rates, warm (best of 2)':44s}{t_warm:8.2f}  {c_warm:8.2f}")
    print(
        f"{'per-resample loop, extrapolated':44s}{t_loop * scale:8.1f}  {c_loop * scale:8.1f}"
        f"   ({a.loop_resamples} resamples x {n_targets} targets measured: {t_loop:.1f} s wall)"
    )
    print(
        f"{'ratio loop / vectorised (cold)':44s}{t_loop * scale / t_cold:8.1f}x "
        f"{c_loop * scale / c_cold:8.1f}x"
    )
    print(
        f"largest |loop - vectorised| on the shared resamples: {worst:.2e} "
        f"({nan_mismatch} resamples undefined in one path only)"
    )
    verdict = "meets" if t_cold < 10 else "MISSES"
    print(f"target: the vectorised run under 10 s wall: {verdict} ({t_cold:.2f} s cold)")


if __name__ == "__main__":
    main()
