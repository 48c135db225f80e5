"""ranking_plot when no ranking row carries rates (one generator: Kendall's tau is undefined
and the audit's ranking rows have no judge_rates / human_rates columns): a panel saying no
ranking was computed, not an AttributeError."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from judgelab.plots.calibration import ranking_plot  # noqa: E402


def test_ranking_rows_without_rates_draw_the_empty_panel():
    findings = pd.DataFrame(
        [
            {"id": "ranking_kendall_tau", "judge": "j|b|v", "slice": None, "estimate": None},
            {"id": "accuracy", "judge": "j|b|v", "slice": None, "estimate": 0.5},
        ]
    )
    fig = ranking_plot(findings)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("no ranking computed" in t for t in texts)
