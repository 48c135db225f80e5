"""judgelab.stats.units: the one pair key, choice coding, winner rule and repeats rule that
every study reads verdicts through (hand-computed values; the identity string:
tests/test_identity.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats import units
from judgelab.stats.queue import PANEL_COLUMNS, escalation_queue
from judgelab.stats.votes import modal_codes


def test_choice_codes_and_parsed_mask():
    ch = pd.Series([" a ", "B", "TIE", "c", None, "x", np.nan], dtype=object)
    assert units.choice_codes(ch).tolist() == ["A", "B", "C", "C", None, None, None]
    ok = pd.DataFrame({"parse_ok": pd.Series([True, 0, "false", "yes", None, 1.0], dtype=object)})
    assert units.parsed_mask(ok).tolist() == [True, False, False, True, False, True]
    assert units.parsed_mask(pd.DataFrame({"x": [1, 2]})).tolist() == [True, True]


def test_pair_key_winner_and_label_codes():
    lo, hi = units.sorted_pair(["y", "a", 3], ["x", "b", 10])
    assert lo.tolist() == ["x", "a", "10"] and hi.tolist() == ["y", "b", "3"]  # string order
    assert units.pair_key(["y", "a"], ["x", "b"]).tolist() == ["x|y", "a|b"]
    v = pd.DataFrame(
        {
            "response_a": ["x", "x", "x", "x", "x"],
            "response_b": ["y", "y", "y", "y", "y"],
            "order": ["ab", "ba", "ba", "ab", "ab"],
            "choice": ["A", "A", "tie", "B", None],
            "winner": [None, None, None, "x", ""],  # a stored winner wins over the choice
        }
    )
    win = units.winner_of(v)
    assert win.tolist() == ["x", "y", "tie", "x", None]
    lo, hi = units.sorted_pair(v["response_a"], v["response_b"])
    codes = units.label_codes(win, lo, hi)
    assert codes[:4].tolist() == [0.0, 1.0, 2.0, 0.0] and np.isnan(codes[4])


def test_pair_labels_are_sorted_pair_and_label_codes_on_codes():
    """pair_labels codes the same pairs and labels as sorted_pair and label_codes(winner_of):
    text columns as stored and as objects, a missing id, a winner of another pair (no
    verdict, not an error), a choice read through the order."""
    v = pd.DataFrame(
        {
            "response_a": ["y", "x", "b", "x", "q", "é", "x"],
            "response_b": ["x", "y", "a", "y", "r", "z", "y"],
            "order": ["ab", "ba", "ab", None, "ab", "ba", "ab"],
            "choice": ["A", "A", "tie", "B", "A", "B", None],
            "winner": [None, None, "", "b", None, None, "tie"],  # "b": not a response of x|y
        }
    )
    for frame in (v.astype({"response_a": "str", "response_b": "str"}), v.astype(object)):
        pl = units.pair_labels(frame)
        lo, hi = units.sorted_pair(frame["response_a"], frame["response_b"])
        assert pl.text(pl.lo).tolist() == lo.tolist() and pl.text(pl.hi).tolist() == hi.tolist()
        want = units.label_codes(units.winner_of(frame), lo, hi)
        np.testing.assert_array_equal(pl.label, want)
        assert pl.a_is_lo.tolist() == (frame["response_a"].to_numpy(dtype=object) == lo).tolist()
    assert np.isnan(units.pair_labels(v).label[3])
    with_missing = v.assign(response_b=[None, "y", "a", "y", "r", "z", "y"])
    lo, _ = units.sorted_pair(with_missing["response_a"], with_missing["response_b"])
    pl = units.pair_labels(with_missing)
    assert pl.text(pl.lo).tolist() == lo.tolist() == ["nan", "x", "a", "x", "q", "z", "x"]


def test_as_text_reads_each_distinct_value_as_str_does():
    mixed = np.array(["b", None, 1, 1.0, True, np.nan, "a"], dtype=object)
    assert units._as_text(mixed).tolist() == ["b", "None", "1", "1.0", "True", "nan", "a"]
    text = np.array(["b", "a", "b"], dtype=object)
    assert units._as_text(text).tolist() == ["b", "a", "b"]


def test_modal_codes_split_mode_is_a_tie():
    d = pd.DataFrame({"k": ["p", "p", "p", "q", "q", "r"], "label": [0, 0, 1, 0, 1, 2]})
    m = modal_codes(d, ["k"])
    assert m.to_dict() == {"p": 0, "q": 2, "r": 2}


def test_escalation_queue_panel_layout():
    um = units.UnitMatrix(
        units=pd.DataFrame(
            {"item_id": ["i1", "i2", "i3"], "response_a": ["a"] * 3, "response_b": ["b"] * 3}
        ),
        values=np.array([[0.0, 0.0], [0.0, 1.0], [2.0, np.nan]]),
        judges=["j1|x|v", "j2|x|v"],
        families=["f", "g"],
        kind="nominal",
        order_aggregation="first_order",
        tie_policy="class",
        protocol="pairwise",
    )
    q = escalation_queue(um, vote_share_threshold=1.0)
    assert list(q.columns) == ["item_id", "response_a", "response_b", *PANEL_COLUMNS, *um.judges]
    assert q["item_id"].tolist() == ["i2", "i3"]
    assert q["reason"].tolist() == ["disagreement", "missing verdict"]
    assert q["vote_share"].tolist() == [0.5, 1.0]
    assert q["j2|x|v"].iloc[0] == "b" and pd.isna(q["j2|x|v"].iloc[1])


def test_modal_codes_on_integer_keys_match_the_groupby_rule():
    """votes.modal_codes' coded path (integer keys numbered column by column, groups.group_numbers
    rule) gives the groupby-unstack rule's codes (votes._modal_codes_grouped), in its order."""
    from judgelab.stats.votes import _modal_codes_grouped as groupby_rule
    from judgelab.stats.votes import modal_codes

    rng = np.random.default_rng(3)
    for n, hi in ((40, 4), (300, 3), (10000, 30000)):  # the last: ~8000 values a key
        df = pd.DataFrame({k: rng.integers(0, hi, n) * 7 for k in "abcdf"})
        df["e"] = rng.integers(0, 2, n).astype(bool)
        df = pd.concat([df, df.sample(n // 2, random_state=1)], ignore_index=True)  # repeats
        df["code"] = rng.integers(0, 3, len(df)).astype(float)
        for keys in (["a"], ["a", "e"], list("abcdfe")):
            pd.testing.assert_series_equal(
                modal_codes(df, keys, "code"), groupby_rule(df, keys, "code"), check_index_type=True
            )
