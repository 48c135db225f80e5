"""judgelab.report.tables: the tables reports print, without the pandas index, rounded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from judgelab.report.tables import TABLE_CLASS, format_column, table


def test_named_index_becomes_a_column_and_no_index_is_printed():
    overview = pd.DataFrame(
        {"accuracy": [0.81234, 0.7], "n": [120.0, 98.0]},
        index=pd.Index(
            ["GPT-4|published|llmbar-CoT", "GPT-4|published|llmbar-Vanilla"], name="judge"
        ),
    )
    t = table(overview, judges="judge")
    assert list(t.frame.columns) == ["judge", "accuracy", "n"]
    assert t.frame["judge"].tolist() == ["GPT-4 · CoT", "GPT-4 · Vanilla"]
    assert t.frame["accuracy"].tolist() == ["0.812", "0.700"]
    assert t.frame["n"].tolist() == ["120", "98"]  # counts stored as floats print as integers
    html = t._repr_html_()
    assert TABLE_CLASS in html and "<th></th>" not in html and ">0<" not in html
    assert repr(t).splitlines()[1].split() == ["GPT-4", "·", "CoT", "0.812", "120"]  # no index


def test_unnamed_index_is_dropped_and_private_columns_left_out():
    cascade = pd.DataFrame(
        {
            "threshold": [0.0, 0.2, "ensemble"],
            "escalated": [0.0, 0.125, 1.0],
            "cost_per_1k_usd": [0.0004, 0.0021, 0.0089],
            "n": [40, 40, 40],
            "_correct": [np.ones(3)] * 3,
        },
        index=[5, 6, 7],
    )
    t = table(cascade)
    assert list(t.frame.columns) == ["threshold", "escalated", "cost_per_1k_usd", "n"]
    assert t.frame["threshold"].tolist() == ["0.000", "0.200", "ensemble"]
    # a column below 0.01 keeps significant digits rather than printing 0.000
    assert t.frame["cost_per_1k_usd"].tolist() == ["0.0004", "0.0021", "0.0089"]
    assert t.frame["n"].tolist() == ["40", "40", "40"]


def test_columns_format_once_missing_values_blank_booleans_words():
    assert format_column(pd.Series([1234.56, 2.5, None])).tolist() == ["1234.6", "2.5", ""]
    assert format_column(pd.Series([True, False, None], dtype=object)).tolist() == ["yes", "no", ""]
    assert format_column(pd.Series([3.0, np.nan])).tolist() == ["3", ""]
    assert format_column(pd.Series([0.0, 1.0])).tolist() == ["0.000", "1.000"]  # a share
    assert format_column(pd.Series([0, 1])).tolist() == ["0", "1"]  # a count
    assert format_column(pd.Series(["n/a", "0.5 [0.4, 0.6]"])).tolist() == ["n/a", "0.5 [0.4, 0.6]"]


def test_non_identity_judges_keep_their_text_and_a_missing_column_is_named():
    f = pd.DataFrame({"judge": ["m|s|v", "ensemble: majority", None], "x": [1, 2, 3]})
    assert table(f, judges="judge").frame["judge"].tolist() == ["m", "ensemble: majority", ""]
    assert table(f, judges="judge", labels={"m|s|v": "M"}).frame["judge"].tolist()[0] == "M"
    with pytest.raises(KeyError, match="no column 'model'"):
        table(f, judges="model")


def test_columns_named_by_judges_are_headed_by_short_labels():
    queue = pd.DataFrame({"unit": ["u1"], "m|s|v1": ["A"], "m|s|v2": ["B"], "x|s|v1": ["A"]})
    assert list(table(queue).frame.columns) == ["unit", "m · v1", "m · v2", "x"]
