"""The humans' per-pair win shares are computed once per prepared HumanData and equal the
groupby they replace (signed bias and ranking read them for every judge)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.datasets import load_dataset
from judgelab.stats.calibration._common import human_pair_win_shares
from judgelab.stats.calibration.units import HumanData, win_value


def test_human_pair_win_shares_equal_the_groupby_and_are_kept():
    humans = HumanData.of(load_dataset("demo"), "pairwise")
    for side in (0, 1):
        for tie_policy in ("class", "half", "drop"):
            got = human_pair_win_shares(humans, side, tie_policy)
            hv = humans.votes.assign(
                win=win_value(humans.votes["label"].to_numpy(), side, tie_policy)
            )
            want = (
                hv[np.isfinite(hv["win"])]
                .groupby(["item_id", "lo", "hi"])["win"]
                .mean()
                .rename("human")
            )
            pd.testing.assert_series_equal(got, want)
            assert human_pair_win_shares(humans, side, tie_policy) is got
    other = HumanData.of(load_dataset("demo"), "pairwise")
    assert human_pair_win_shares(other, 0, "class") is not human_pair_win_shares(humans, 0, "class")
