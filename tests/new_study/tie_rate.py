"""tie_rate: the share of tie verdicts per judge, with an item-cluster bootstrap interval.

The worked example of docs/new_study.md: a study declared outside the package, found by
`judgelab run tie_rate` through $JUDGELAB_NOTEBOOKS (this file sits beside tie_rate.ipynb).
"""

import pandas as pd

from judgelab import JudgeIdentity
from judgelab.findings import finding, findings_frame
from judgelab.stats.resampling import cluster_bootstrap
from judgelab.study import Parameter, Study, register, shared_parameters


def analyse(ctx, params) -> pd.DataFrame:
    """One ``tie_rate`` finding per judge identity: ties / parsed verdicts. Verdicts on one
    item are not independent, so the interval resamples items (docs/statistics.md)."""
    rows = []
    for judge, verdicts in ctx.verdicts.groupby("judge", sort=True):
        parsed = verdicts[verdicts["parse_ok"]]
        tie = parsed["choice"].astype(str).str.lower().eq("tie")
        per_item = tie.groupby(parsed["item_id"], observed=True).agg(["sum", "count"])
        boot = cluster_bootstrap(
            per_item.to_numpy(),
            lambda totals: totals[:, 0] / totals[:, 1],  # ties / verdicts of the drawn items
            n_boot=params["n_boot"],
            seed=params["seed"],
            ci_level=params["ci_level"],
        )
        rows.append(
            finding(
                "tie_rate",
                judge=judge,
                n=len(parsed),
                n_excluded=len(verdicts) - len(parsed),
                **boot.finding_kwargs(),
            )
        )
    return findings_frame(rows)


def conclude(row) -> str | None:
    """'<judge> declares a tie in 12% of verdicts [9%, 15%]', from the row's fields."""
    if pd.isna(row["estimate"]):
        return None
    interval = "" if pd.isna(row["ci_low"]) else f" [{row['ci_low']:.0%}, {row['ci_high']:.0%}]"
    judge = JudgeIdentity.parse(row["judge"]).display_model
    return f"{judge} declares a tie in {row['estimate']:.0%} of verdicts{interval}"


TIE_RATE = register(
    Study(
        name="tie_rate",
        version="1",
        title="Tie rate",
        parameters=(
            *shared_parameters(),
            Parameter("ci_level", "float", 0.95, "level of the bootstrap interval", range=(0, 1)),
        ),
        figures=(),
        analysis=analyse,
        conclusions={"tie_rate": conclude},
    )
)
