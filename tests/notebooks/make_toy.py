"""Builds toy.ipynb, the study notebook the CLI tests run (python tests/notebooks/make_toy.py)."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

nb = new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
params = """# Parameters of the toy study (tests only)
dataset = "demo"  # demo, a registered dataset name, or a dataset directory
judges = None  # model strings (a filter unless verdicts is call), or panel:demo
verdicts = "call"  # call, dataset, or a store / CSV / Parquet path
select = None  # mapping of model, backend, judge_version, run_id
pairs = "human"  # human, all, baseline:<generator>
n_pairs = None  # seeded sample size of pairs
store = "runs/verdicts.sqlite"  # verdict store path
allow_mixed = False  # analyse a selection spanning several identities
seed = 0  # seed of every random step
n_boot = 200  # bootstrap resamples
n_figures = 2  # figures drawn (tests count images)
fail = False  # raise in the analysis cell (tests)
"""
c = new_code_cell(params)
c.metadata["tags"] = ["parameters"]
nb.cells = [
    new_markdown_cell(
        "# Toy study\n\nShare of verdicts choosing the first slot, per judge (tests of the report machinery)."
    ),
    c,
    new_code_cell("""if fail:  # before any import: a cheap failing run
    raise RuntimeError("planted failure")"""),
    new_code_cell("""import numpy as np
import matplotlib.pyplot as plt
from scipy import stats as sps
import judgelab as jl
from judgelab import report, studies
from judgelab.stats._tidy import finding, findings_frame

ctx = studies.prepare("toy", dataset=dataset, judges=judges, verdicts=verdicts, select=select, pairs=pairs,
                      n_pairs=n_pairs, store=store, allow_mixed=allow_mixed, seed=seed, n_boot=n_boot,
                      n_figures=n_figures, fail=fail)
ctx"""),
    new_code_cell("""rows = []
v = ctx.verdicts[ctx.verdicts["parse_ok"]]
for judge, grp in v.groupby("judge", sort=True):
    k, n = int((grp["choice"] == "A").sum()), len(grp)
    test = sps.binomtest(k, n, 0.5)
    ci = test.proportion_ci()
    rows.append(finding("first_slot_share", k / n, judge=judge, ci_low=ci.low, ci_high=ci.high, method="exact binomial",
                        p_value=test.pvalue, primary=True, n=n, conclusion="toy"))
    rows.append(finding("tie_share", float((grp["choice"] == "tie").mean()), judge=judge, slice={"family": grp["judge_family"].iloc[0]},
                        method="share", p_value=float(min(1.0, test.pvalue * 2)), n=n))
rows.append(finding("undefined_thing", None, reason="no data for it", n=0))"""),
    new_code_cell("""for i in range(n_figures):
    fig, ax = plt.subplots(figsize=(4, 3))
    share = v.groupby("model")["choice"].apply(lambda s: (s == "A").mean())
    ax.bar(range(len(share)), share.to_numpy() + i * 0.01)
    ax.set_title(f"figure {i}")
    report.show(fig, f"fig{i}")"""),
    new_code_cell("""findings = ctx.save_findings(findings_frame(rows))
ctx.findings_table(findings)"""),
]
nbformat.write(nb, Path(__file__).with_name("toy.ipynb"))
