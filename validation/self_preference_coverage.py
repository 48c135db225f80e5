"""Coverage of the self-preference CI for a re-planted demo judge (issue 14 item 6).

    python validation/self_preference_coverage.py [--reps 200] [--judge cirrus-ultra]
        [--noises 0.12 0.3 0.6] [--controls human band truth] [--effective 1.0]
        [--family-taste X] [--panel demo|null] [--csv out.csv]

Prints, per judge noise and quality control, the mean estimate, the share of replicates whose
95% CI covers the planted effective self-preference (target >= 90%) and the shares rejecting
below / above 0 (judgelab.sim.self_preference_coverage has the design). ``--effective 0
--panel null`` is the null panel case: a sharp judge of the worst family with no bias planted
anywhere, which must not be flagged in either direction.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from judgelab.datasets import load_dataset
from judgelab.sim.self_preference_coverage import (
    CONTROLS,
    coverage_replicates,
    coverage_table,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--judge", default="cirrus-ultra")
    ap.add_argument("--noises", type=float, nargs="+", default=[0.12, 0.3, 0.6])
    ap.add_argument("--controls", nargs="+", default=list(CONTROLS), choices=CONTROLS)
    ap.add_argument("--effective", type=float, default=1.0)
    ap.add_argument("--family-taste", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--panel", default="demo", help="demo (planted biases) or null (none)")
    ap.add_argument("--csv", default=None, help="write the replicates to this CSV")
    a = ap.parse_args()
    ds = load_dataset("demo")
    parts = []
    for noise in a.noises:
        t = time.perf_counter()
        parts.append(
            coverage_replicates(
                ds,
                judge=a.judge,
                noises=[noise],
                effective=a.effective,
                controls=a.controls,
                n_rep=a.reps,
                seed=a.seed,
                family_taste=a.family_taste,
                panel=a.panel,
            )
        )
        print(f"noise {noise}: {a.reps} replicates in {time.perf_counter() - t:.0f} s", flush=True)
        print(coverage_table(parts[-1]).round(3).to_string(index=False), flush=True)
    reps = pd.concat(parts, ignore_index=True)
    if a.csv:
        reps.to_csv(a.csv, index=False)
    taste = "demo" if a.family_taste is None else a.family_taste
    print(
        f"\n{a.judge} in the {a.panel} panel: effective self-preference {a.effective}, family taste {taste}, "
        f"{a.reps} replicates per cell"
    )
    print(coverage_table(reps).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
