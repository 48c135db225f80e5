"""Corrected estimates on real data by label hiding (issue 15 item 4).

    python validation/corrected_label_hiding.py [--seeds 200] [--shares 0.1 0.05]
        [--n-boot 2000] [--datasets llmbar mt_bench_gpt4_pair_and_human arena_judge_picks_2025]
        [--csv replicates.csv]

On three datasets where every judged pair has a human vote, keep the votes of a random 10%
(then 5%) of the items, over 200 seeds, and compare each estimator of
``judgelab.stats.corrected`` (naive judge rate, human-only, Rogan-Gladen, PPI++) with the
all-label human rate, the estimand (judgelab.stats.corrected.label_hiding has the design).
Prints, per dataset, judge and target, each estimator's bias, RMSE and the coverage of its
primary 95% interval. Needs the data ($JUDGELAB_DATA or ../shared/data).

Targets (each a win rate: the humans' vote share for the focal answer, ties 1/2; the judge's
share averaged over repeats, then over both display orders):

* ``llmbar``: the longer output of each instance (LLMBar's outputs have no generator; the
  longer one wins for 33% of the humans and for 42-70% of the judges: length bias), judged
  by the six models under the ``Vanilla`` strategy (LLMBar's baseline prompt), both orders;
  gold or human label, one per instance; instances whose outputs have equal length are left
  out;
* ``mt_bench_gpt4_pair_and_human``: each of the six generators' answers, judged by GPT-4
  (pair verdicts already aggregated over both orders upstream; an order-inconsistent pair is
  a tie), expert and author votes averaged per pair; items = question-turn (up to 5 pairs of
  a generator per item: the item-cluster bootstrap is the primary interval);
* ``arena_judge_picks_2025``: Claude Opus 4's answers (in every battle), judged by GPT-5.2 and
  GPT-4o-mini (single order; GPT-4o-mini's repeated run averaged), one vote per battle.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from judgelab.datasets import load_dataset
from judgelab.stats.corrected.label_hiding import (
    hide_labels,
    label_hiding_summary,
    pair_share_units,
)

DATASETS = ("llmbar", "mt_bench_gpt4_pair_and_human", "arena_judge_picks_2025")
GROUPS = ("dataset", "judge", "target")


def longer_outputs(preferences: pd.DataFrame, responses: pd.DataFrame) -> pd.Series:
    """The longer response (in characters) of each preference pair; equal lengths: none."""
    n = responses.set_index("response_id")["text"].astype(str).str.len()
    a, b = preferences["response_a"], preferences["response_b"]
    la, lb = n.reindex(a).to_numpy(), n.reindex(b).to_numpy()
    return pd.Series(a.where(la > lb, b.where(lb > la))).dropna()


def dataset_units(name: str) -> pd.DataFrame:
    """The label-hiding units of one dataset: :func:`pair_share_units` plus ``dataset`` and
    ``target`` (the focal side) columns, every unit with a judge share and a human share."""
    ds = load_dataset(name)
    r = ds.responses
    if name == "llmbar":
        v = ds.verdicts[ds.verdicts["judge_version"] == "llmbar-Vanilla"]
        focal = {"longer output": longer_outputs(ds.preferences, r)}
    elif name == "mt_bench_gpt4_pair_and_human":
        v = ds.verdicts
        focal = {
            g: r.loc[r["generator"] == g, "response_id"] for g in sorted(r["generator"].unique())
        }
    elif name == "arena_judge_picks_2025":
        v = ds.verdicts
        claude = r["generator"].astype(str).str.startswith("claude-opus-4")
        focal = {"claude-opus-4": r.loc[claude, "response_id"]}
    else:
        raise ValueError(f"no label-hiding target defined for dataset {name!r}")
    parts = [
        pair_share_units(v, ds.preferences, ids).assign(dataset=name, target=t)
        for t, ids in focal.items()
    ]
    return pd.concat(parts, ignore_index=True)


def run(
    datasets=DATASETS, seeds=range(200), shares=(0.10, 0.05), n_boot: int = 2000
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Replicates, summary and run time (s) per dataset."""
    reps, times = [], {}
    for name in datasets:
        t = time.perf_counter()
        units = dataset_units(name)
        reps.append(hide_labels(units, shares=shares, seeds=seeds, groups=GROUPS, n_boot=n_boot))
        times[name] = time.perf_counter() - t
    rep = pd.concat(reps, ignore_index=True)
    return rep, label_hiding_summary(rep, groups=GROUPS), times


def short_judge(judge: str) -> str:
    return judge.split("|")[0]


def _md(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(x) for x in row) + " |" for row in frame.to_numpy()]
    return "\n".join([head, rule, *body])


def markdown_tables(summary: pd.DataFrame) -> tuple[str, str]:
    """The full table (one row per dataset, judge, target and share: bias / RMSE / coverage
    of each estimator) and the short one (ranges per dataset and share), as markdown."""
    s = summary.assign(judge=summary["judge"].map(short_judge))
    rows = []
    for (d, j, t, share), g in s.groupby(["dataset", "judge", "target", "share"], sort=True):
        g = g.set_index("id")

        def brc(i, g=g):
            r = g.loc[i]
            return f"{r['bias']:+.3f} / {r['rmse']:.3f} / {r['coverage']:.2f}"

        rg = g.loc["rogan_gladen_rate"]
        rows.append(
            {
                "dataset": d,
                "judge": j,
                "target": t,
                "labelled (of units)": f"{share:.0%}: {g.loc['ppi_rate', 'n_labelled']:.0f} "
                f"of {int(g.loc['naive_rate', 'n_units'])}",
                "human rate": f"{g.loc['naive_rate', 'truth']:.3f}",
                "naive: bias / coverage": f"{g.loc['naive_rate', 'bias']:+.3f} / "
                f"{g.loc['naive_rate', 'coverage']:.2f}",
                "human-only": brc("human_only_rate"),
                "Rogan-Gladen (seeds with an estimate, a CI)": f"{brc('rogan_gladen_rate')} "
                f"({int(rg['n_defined'])}, {int(rg['n_ci'])})",
                "PPI++": brc("ppi_rate"),
                "PPI++ / human-only width": f"{g.loc['ppi_rate', 'mean_width'] / g.loc['human_only_rate', 'mean_width']:.2f}",
            }
        )
    full = pd.DataFrame(rows).sort_values(
        ["dataset", "judge", "target", "labelled (of units)"], ascending=[True, True, True, False]
    )
    short = []
    for (d, share), g in s.groupby(["dataset", "share"], sort=True):
        p, h = g[g["id"] == "ppi_rate"], g[g["id"] == "human_only_rate"]
        n, r = g[g["id"] == "naive_rate"], g[g["id"] == "rogan_gladen_rate"]
        short.append(
            {
                "dataset (targets)": f"{d} ({len(p)})",
                "labelled items": f"{share:.0%}",
                "naive: bias, coverage": f"{n['bias'].min():+.2f} to {n['bias'].max():+.2f}, "
                f"{n['coverage'].min():.2f}-{n['coverage'].max():.2f}",
                "PPI++: max abs bias, RMSE, coverage": f"{p['bias'].abs().max():.3f}, "
                f"{p['rmse'].min():.3f}-{p['rmse'].max():.3f}, "
                f"{p['coverage'].min():.2f}-{p['coverage'].max():.2f}",
                "human-only: RMSE, coverage": f"{h['rmse'].min():.3f}-{h['rmse'].max():.3f}, "
                f"{h['coverage'].min():.2f}-{h['coverage'].max():.2f}",
                "Rogan-Gladen: RMSE, seeds with a CI": f"{r['rmse'].min():.2f}-"
                f"{r['rmse'].max():.2f}, {int(r['n_ci'].min())}-{int(r['n_ci'].max())} of "
                f"{int(r['n_seeds'].max())}",
            }
        )
    short = pd.DataFrame(short).sort_values(
        ["dataset (targets)", "labelled items"], ascending=[True, False]
    )
    return _md(full), _md(short)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--shares", type=float, nargs="+", default=[0.10, 0.05])
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--csv", default=None, help="write the replicates to this CSV")
    ap.add_argument("--markdown", action="store_true", help="also print the tables as markdown")
    a = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    rep, summary, times = run(a.datasets, range(a.seeds), a.shares, a.n_boot)
    show = summary.assign(judge=summary["judge"].map(short_judge))
    cols = ["dataset", "judge", "target", "share", "id", "truth", "n_units", "n_labelled"]
    cols += ["n_defined", "n_ci", "bias", "rmse", "coverage", "mean_width"]
    with pd.option_context("display.width", 200, "display.max_rows", 1000):
        print(show[cols].round(3).to_string(index=False))
    print(
        f"\n{a.seeds} seeds, shares {a.shares}, n_boot {a.n_boot}; run time per dataset (s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in times.items())
        + f"; total {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU"
    )
    if a.markdown:
        full, short = markdown_tables(summary)
        print(f"\n{short}\n\n{full}")
    if a.csv:
        rep.to_csv(a.csv, index=False)


if __name__ == "__main__":
    main()
