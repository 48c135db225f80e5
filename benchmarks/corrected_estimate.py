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

3. **whole study** (``--whole``, on by default): the ``corrected_estimate`` study's analysis
   entry point on the same units written as a dataset directory (items with a category,
   responses of ``--per-item`` generators in 3 families, human 0/1 labels on ``--labels``
   units) and a Parquet file of the judge's 0/1 single verdicts: ``studies.prepare`` (load,
   schema checks; timed apart), then ``Study.analyse`` (the units, every target: overall,
   per generator, per family, per category; the four estimators, post-stratification check,
   ``correction_shift`` and ``labelled_judge_rate_gap`` with their bootstraps) and the save
   step's ``adjusted_findings`` with the study's margins (decisive verdicts, conclusions).
   Its loop baseline: the bootstraps of every target of the study computed one resample at a
   time (the four estimators and the labelled-unlabelled gap, from which the shift follows),
   ``--loop-resamples`` per target, extrapolated to ``--n-boot``; the loop omits the study's
   non-bootstrap work, so its ratio understates the gain.

Target: the vectorised run under 10 s on 2 cores. Wall time depends on the machine's load;
the CPU time and the ratio measured in one run are what to compare.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

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


def write_study_inputs(units: pd.DataFrame, workdir: Path) -> tuple[Path, Path]:
    """The units as a dataset directory (items, responses, 0/1 human labels) and a Parquet
    file of one judge's 0/1 single verdicts; generators g<k> in 3 families, 4 categories."""
    ds = workdir / "dataset"
    ds.mkdir(parents=True, exist_ok=True)
    u = units.assign(
        item_id="i" + units["item_id"].astype(str),
        gen=units.groupby("item_id").cumcount(),
    )
    u["generator"] = "g" + u["gen"].astype(str)
    u["response_id"] = u["item_id"] + "-" + u["generator"]
    items = u.drop_duplicates("item_id")[["item_id"]].reset_index(drop=True)
    items["prompt"] = "p"
    items["category"] = "c" + (np.arange(len(items)) % 4).astype(str)
    items.to_csv(ds / "items.csv", index=False)
    resp = u[["response_id", "item_id", "generator"]].assign(
        family="f" + (u["gen"] % 3).astype(str), text="t"
    )
    resp.to_csv(ds / "responses.csv", index=False)
    lab = u[u["human_pass"].notna()]
    lab[["response_id"]].assign(rater_id="r1", score=lab["human_pass"].astype(int)).to_csv(
        ds / "labels.csv", index=False
    )
    (ds / "dataset.yaml").write_text("name: corrected_bench\nlicence: CC0\n")
    v = pd.DataFrame(
        {
            "model": "bench-judge",
            "backend": "csv",
            "judge_version": "v1",
            "protocol": "single",
            "item_id": u["item_id"],
            "response_id": u["response_id"],
            "score": u["judge_pass"].astype(float),
            "parse_ok": True,
        }
    )
    vfile = workdir / "verdicts.parquet"
    v.to_parquet(vfile)
    return ds, vfile


def loop_study(cu, n_boot: int, seed: int, ppi_point) -> tuple[float, float]:
    """Every bootstrap of the study's targets one resample at a time (:func:`loop_bootstrap`
    plus the labelled-unlabelled judge-rate gap); returns (wall, CPU) seconds."""
    from judgelab.stats.corrected.targets import _targets

    t0, c0 = time.perf_counter(), time.process_time()
    for _, u in cu.units.groupby("judge", sort=True):
        for _, mask in _targets(u, cu.protocol):
            tu = u[mask]
            loop_bootstrap(tu, n_boot, seed, ppi_point)
            # the gap: judge rate on labelled minus unlabelled units, per resample
            lab = tu["human_pass"].notna().to_numpy()
            codes, uniq = pd.factorize(tu["item_id"], sort=False)
            j = tu["judge_pass"].to_numpy(float)
            for w in bootstrap_weights(len(uniq), n_boot, seed):
                wu = w[codes]
                _ = (wu * j * lab).sum() / (wu * lab).sum() - (wu * j * ~lab).sum() / (
                    wu * ~lab
                ).sum()
    return time.perf_counter() - t0, time.process_time() - c0


def whole_study(units: pd.DataFrame, a) -> None:
    """Part 3 of the module docstring: the study's analysis entry point, timed."""
    from judgelab import studies, study
    from judgelab.findings import adjusted_findings, decision_margins
    from judgelab.study.corrected import study_units

    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="corrected_bench_"))
    ds, vfile = write_study_inputs(units, workdir)
    decl = study.declaration("corrected_estimate")
    params = dict(dataset=str(ds), verdicts=str(vfile), n_boot=a.n_boot, seed=1)
    ctx, t_prep, c_prep = _timed(lambda: studies.prepare("corrected_estimate", **params))
    resampling._WEIGHT_CACHE.clear()
    load0 = os.getloadavg()[0]
    rusage0 = os.times()

    def analysis():
        f = decl.analyse(ctx)
        return adjusted_findings(f, margins=decision_margins(ctx))

    f, t_an, c_an = _timed(analysis)
    r1 = os.times()
    user, sys_ = r1.user - rusage0.user, r1.system - rusage0.system
    rates = f[f["id"].isin(["naive_rate", "human_only_rate", "ppi_rate"])]
    assert rates["ci_low"].notna().all(), rates  # every target's estimates with their CIs
    cu = study_units(ctx)
    n_targets = len(f[f["id"] == "naive_rate"])
    name, ppi_point = _ppi_point()
    t_loop, c_loop = loop_study(cu, a.loop_resamples, 1, ppi_point)
    scale = a.n_boot / a.loop_resamples
    print(
        f"\n== whole corrected_estimate study: {len(cu.units):,} units, "
        f"{int(cu.units['human_pass'].notna().sum()):,} labelled, {n_targets} targets "
        f"(overall, generators, families, categories), {len(f)} findings, B = {a.n_boot:,}; "
        f"load average {load0:.1f} (before), {os.getloadavg()[0]:.1f} (after)"
    )
    print(f"{'':44s}wall (s)   CPU (s)")
    print(f"{'prepare (load dataset + verdicts, checks)':44s}{t_prep:8.2f}  {c_prep:8.2f}")
    print(
        f"{'analyse + adjusted_findings, cold weights':44s}{t_an:8.2f}  {c_an:8.2f}"
        f"   (user {user:.2f} + sys {sys_:.2f})"
    )
    print(
        f"{'per-resample loop of its bootstraps, extrap.':44s}{t_loop * scale:8.1f}  "
        f"{c_loop * scale:8.1f}   ({a.loop_resamples} resamples x {n_targets} targets "
        f"measured: {t_loop:.1f} s wall)"
    )
    print(
        f"{'ratio loop / whole study':44s}{t_loop * scale / t_an:8.1f}x "
        f"{c_loop * scale / c_an:8.1f}x"
    )
    verdict = "meets" if t_an < 10 else "MISSES"
    print(f"target: the whole study's analysis under 10 s wall: {verdict} ({t_an:.2f} s)")


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
    ap.add_argument("--whole", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--only-whole", action="store_true", help="skip parts 1 and 2")
    ap.add_argument("--workdir", default=None, help="where the study's inputs are written")
    a = ap.parse_args(argv)
    units = make_units(a.units, a.per_item, a.labels, a.generators)
    if a.only_whole:
        return whole_study(units, a)
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
    if a.whole:
        whole_study(units, a)


if __name__ == "__main__":
    main()
