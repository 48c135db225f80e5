"""Speed and memory of judgelab.stats resampling and models, against same-run baselines.

    python benchmarks/bootstrap.py [--quick]

1. 1,000-resample item-cluster bootstrap of Cohen's kappa on 100,000 verdicts (20,000
   items): the vectorised path (per-item confusion counts x resample weights) against a
   per-resample scikit-learn loop over the same resamples. The loop runs fewer resamples
   (``LOOP_RESAMPLES``) and its time is extrapolated linearly to 1,000 (each resample costs
   the same); the script says so in its output. It also checks that the two paths give the
   same kappa on the resamples both computed.
2. Peak memory of analysing 1,000,000 verdict rows (200,000 items): the tidy
   ``cohen_kappa`` with a 1,000-resample BCa bootstrap, measured by tracemalloc (numpy
   reports its buffers to tracemalloc) and the process's peak RSS.
3. Conditional logit, 7,200 rows x 18 parameters (600 pairs, 6 judges x 2 orders): the
   vectorised fit against statsmodels' ConditionalLogit in the same run.

Targets (issue 5): bootstrap >= 20x the loop and < 1 s; peak < 2 GB; conditional logit
< 0.5 s. Timings depend on the machine's load; the ratios are what the script is for.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from judgelab.stats import agreement as ag
from judgelab.stats.models import conditional_logit
from judgelab.stats.resampling import bootstrap_weights, cluster_bootstrap

LABELS = np.array(["A", "B", "tie"])


def verdicts(n_items: int, per_item: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    item = np.repeat(np.arange(n_items), per_item)
    truth = rng.integers(0, 3, n_items)[item]
    judge = np.where(rng.random(item.size) < 0.75, truth, rng.integers(0, 3, item.size))
    human = np.where(rng.random(item.size) < 0.8, truth, rng.integers(0, 3, item.size))
    return pd.DataFrame(
        {"item_id": item.astype(str), "judge": LABELS[judge], "human": LABELS[human]}
    )


def bench_bootstrap(loop_resamples: int) -> None:
    from sklearn.metrics import cohen_kappa_score

    df = verdicts(20_000, 5)
    print(f"== cluster bootstrap of Cohen's kappa: {len(df):,} verdicts, 20,000 items, B = 1,000")
    t0 = time.perf_counter()
    cc = ag.confusion_counts(df["judge"], df["human"], df["item_id"])
    t_counts = time.perf_counter() - t0

    def stat(t):
        return ag.kappa_from_totals(t, cc.n_labels)

    cluster_bootstrap(cc.per_item[:100], stat, n_boot=10)  # warm-up (threadpool controller)
    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        res = cluster_bootstrap(cc.per_item, stat, n_boot=1000, seed=1, method="percentile")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    t_vec, c_vec = min(times), min(cpu)
    t0 = time.perf_counter()
    ag.cohen_kappa(df, "judge", "human", n_boot=1000, seed=1, method="bca")
    t_tidy = time.perf_counter() - t0

    # Baseline: each resample's rows (built without a Python loop over items, so the
    # baseline pays only for scikit-learn), then scikit-learn's kappa; same item draws.
    W = bootstrap_weights(len(cc.items), loop_resamples, seed=1)
    codes = pd.factorize(df["item_id"])[0]
    order = np.argsort(codes, kind="stable")
    lengths = np.bincount(codes)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    j, h = df["judge"].to_numpy(dtype=object), df["human"].to_numpy(dtype=object)

    def rows_of(w):
        rep = np.repeat(np.arange(len(w)), w)
        ln = lengths[rep]
        out0 = np.cumsum(ln) - ln
        return order[np.arange(ln.sum()) - np.repeat(out0, ln) + np.repeat(starts[rep], ln)]

    t0, c0 = time.perf_counter(), time.process_time()
    loop = []
    for w in W:
        rows = rows_of(w)
        loop.append(cohen_kappa_score(j[rows], h[rows]))
    t_loop_part, c_loop_part = time.perf_counter() - t0, time.process_time() - c0
    # The same loop on integer-coded labels (scikit-learn is much slower on strings).
    jc, hc = pd.factorize(df["judge"])[0], pd.factorize(df["human"])[0]
    n_int = max(1, loop_resamples // 2)
    t0, c0 = time.perf_counter(), time.process_time()
    for w in W[:n_int]:
        rows = rows_of(w)
        cohen_kappa_score(jc[rows], hc[rows])
    t_int = (time.perf_counter() - t0) * 1000 / n_int
    c_int = (time.process_time() - c0) * 1000 / n_int
    t_loop = t_loop_part * 1000 / loop_resamples
    c_loop = c_loop_part * 1000 / loop_resamples
    same = np.allclose(loop, res.distribution[:loop_resamples], atol=1e-9)
    print("                                   wall (s)   CPU (s)")
    print(f"per-item confusion counts         {t_counts:8.3f}")
    print(f"vectorised bootstrap (B=1000)     {t_vec:8.3f}  {c_vec:8.3f}   (best of 3)")
    print(
        f"tidy cohen_kappa, BCa, B=1000     {t_tidy:8.3f}             (counts + bootstrap + jackknife)"
    )
    print(
        f"scikit-learn loop (B=1000)        {t_loop:8.3f}  {c_loop:8.3f}   "
        f"(extrapolated from {loop_resamples} resamples: {t_loop_part:.2f} s wall)"
    )
    print(f"ratio loop / vectorised           {t_loop / t_vec:8.1f}x {c_loop / c_vec:8.1f}x")
    print(
        f"scikit-learn loop, integer labels {t_int:8.3f}  {c_int:8.3f}   "
        f"(extrapolated from {n_int} resamples)"
    )
    print(f"ratio integer loop / vectorised   {t_int / t_vec:8.1f}x {c_int / c_vec:8.1f}x")
    print(f"same kappa on the shared resamples: {same}")


def bench_memory() -> None:
    df = verdicts(200_000, 5, seed=2)
    print(f"== memory: tidy cohen_kappa on {len(df):,} verdict rows (200,000 items), BCa, B=1000")
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    out = ag.cohen_kappa(df, "judge", "human", n_boot=1000, seed=0, method="bca")
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    r = out.iloc[0]
    print(
        f"kappa {r['estimate']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}] in {dt:.2f} s wall, "
        f"{dc:.2f} s CPU (under tracemalloc)"
    )
    print(f"peak traced allocations during the analysis  {peak / 2**20:8.1f} MiB")
    print(f"peak RSS of the whole process (incl. input)  {rss:8.1f} MiB")


def _clogit_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    P, J = 600, 6
    pair = np.repeat(np.arange(P), J * 2)
    judge = np.tile(np.repeat(np.arange(J), 2), P)
    order = np.tile([1.0, -1.0], P * J)
    n = pair.size
    X = np.zeros((n, 3 * J))
    X[np.arange(n), judge * 3] = order
    X[np.arange(n), judge * 3 + 1] = rng.integers(-1, 2, (P, J))[pair, judge]
    X[np.arange(n), judge * 3 + 2] = rng.integers(-1, 2, (P, J))[pair, judge]
    eta = 1.5 * rng.normal(size=P)[pair] + X @ (0.3 * rng.normal(size=3 * J))
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, X, pair, pair // 3


def bench_clogit(with_statsmodels: bool) -> None:
    y, X, pair, item = _clogit_data()
    print(
        f"== conditional logit: {len(y):,} rows x {X.shape[1]} parameters, {pair.max() + 1} strata"
    )
    conditional_logit(y[:240], X[:240], pair[:240], item[:240])  # warm-up
    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        res = conditional_logit(y, X, pair, item)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(
        f"judgelab (vectorised, + cluster sandwich)  {min(times):8.3f} s wall, "
        f"{min(cpu):.3f} s CPU (best of 3)"
    )
    if with_statsmodels:
        from statsmodels.discrete.conditional_models import ConditionalLogit

        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ConditionalLogit(y, X, groups=pair).fit(method="bfgs", maxiter=1000, gtol=1e-8)
        t_sm, c_sm = time.perf_counter() - t0, time.process_time() - c0
        print(f"statsmodels ConditionalLogit (BFGS)        {t_sm:8.3f} s wall, {c_sm:.3f} s CPU")
        print(
            f"ratio                                      {t_sm / min(times):8.1f}x wall, {c_sm / min(cpu):.1f}x CPU"
        )
        print(
            f"max |coefficient difference|              {np.max(np.abs(res.params.to_numpy() - ref.params)):.2e}"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer loop resamples, no statsmodels")
    a = ap.parse_args(argv)
    import os

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times suffer under load)"
    )
    bench_bootstrap(loop_resamples=10 if a.quick else 50)
    bench_memory()
    bench_clogit(with_statsmodels=not a.quick)


if __name__ == "__main__":
    main()
