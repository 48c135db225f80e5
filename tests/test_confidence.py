"""Per-verdict confidence (judgelab.stats.confidence) against hand computations."""

import math

import numpy as np
import pandas as pd
import pytest

from judgelab.stats.confidence import (
    CONFIDENCE_COLUMNS,
    canonical_probabilities,
    row_confidence,
    verdict_confidence,
)


def _row(judge, item, a, b, order, choice, sample=0, p=None):
    r = {
        "model": judge,
        "backend": "x",
        "judge_version": "v",
        "protocol": "pairwise",
        "item_id": item,
        "response_a": a,
        "response_b": b,
        "order": order,
        "sample": sample,
        "choice": choice,
        "parse_ok": True,
    }
    if p is not None:
        r["p_a"], r["p_b"], r["p_tie"] = p
    return r


def test_canonical_probabilities_read_the_display_order():
    # response_a = "r2" > response_b = "r1": lo is r1. In "ab" r2 was shown first (slot A).
    df = pd.DataFrame(
        [
            _row("j", "i", "r2", "r1", "ab", "A", p=(0.7, 0.2, 0.1)),
            _row("j", "i", "r2", "r1", "ba", "A", p=(0.6, 0.4, None)),
        ]
    )
    q = canonical_probabilities(df)
    # ab: P(r2)=0.7 -> p_hi; P(r1)=0.2 -> p_lo
    assert q[0] == pytest.approx([0.2, 0.7, 0.1])
    # ba: r1 shown first: P(r1)=0.6; no tie offered -> 0
    assert q[1] == pytest.approx([0.6, 0.4, 0.0])


def test_logprob_confidence_is_mean_probability_of_the_pair_verdict():
    df = pd.DataFrame(
        [
            _row("j", "i", "r1", "r2", "ab", "A", p=(0.9, 0.1, 0.0)),
            _row("j", "i", "r1", "r2", "ba", "B", p=(0.3, 0.7, 0.0)),  # r1 again: consistent
            _row("j", "k", "r3", "r4", "ab", "A", p=(0.8, 0.2, 0.0)),
            _row("j", "k", "r3", "r4", "ba", "A", p=(0.6, 0.4, 0.0)),  # r4: inconsistent
        ]
    )
    c = verdict_confidence(df, "logprob").set_index("item_id")
    assert list(c.columns) == ["judge", "lo", "hi", "order", *CONFIDENCE_COLUMNS[5:]]
    assert c.loc["i", "label"] == 0
    assert c.loc["i", "confidence"] == pytest.approx((0.9 + 0.7) / 2)
    # orders disagree: the pair verdict is a tie, and no order gave the tie any probability
    assert c.loc["k", "label"] == 2 and c.loc["k", "confidence"] == pytest.approx(0.0)
    assert set(c["confidence_source"]) == {"logprob"}
    calls = verdict_confidence(df, "logprob", level="call")
    assert len(calls) == 4
    assert sorted(calls["confidence"].round(6)) == sorted([0.9, 0.7, 0.8, 0.6])


def test_missing_logprob_is_missing_not_replaced():
    df = pd.DataFrame(
        [
            _row("j", "i", "r1", "r2", "ab", "A", p=(0.9, 0.1, 0.0)),
            _row("j", "i", "r1", "r2", "ba", "B", p=(None, None, None)),
        ]
    )
    c = verdict_confidence(df, "logprob")
    assert math.isnan(c["confidence"].iloc[0]) and c["confidence_source"].iloc[0] is None
    rc = row_confidence(df)
    assert rc["confidence"].iloc[0] == pytest.approx(0.9)
    assert rc["confidence_source"].tolist() == ["logprob", None]


def test_order_agreement_levels():
    df = pd.DataFrame(
        [
            _row("j", "i", "r1", "r2", "ab", "A"),
            _row("j", "i", "r1", "r2", "ba", "B"),  # consistent
            _row("j", "k", "r3", "r4", "ab", "A"),
            _row("j", "k", "r3", "r4", "ba", "tie"),  # split A / tie -> tie, share 0.5
            _row("j", "m", "r5", "r6", "ab", "A"),
            _row("j", "m", "r5", "r6", "ba", "A"),  # A vs B -> tie, nobody said tie
            _row("j", "n", "r7", "r8", "ab", "A"),  # one order only: missing
        ]
    )
    c = verdict_confidence(df, "order_agreement").set_index("item_id")
    assert c.loc["i", "confidence"] == 1.0 and c.loc["i", "label"] == 0
    assert c.loc["k", "confidence"] == 0.5 and c.loc["k", "label"] == 2
    assert c.loc["m", "confidence"] == 0.0 and c.loc["m", "label"] == 2
    assert np.isnan(c.loc["n", "confidence"]) and c.loc["n", "confidence_source"] is None
    with pytest.raises(ValueError, match="level='pair'"):
        verdict_confidence(df, "order_agreement", level="call")


def test_self_consistency_and_ensemble_shares():
    rows = [_row("j", "i", "r1", "r2", "ab", ch, sample=s) for s, ch in enumerate("AABAB")]
    rows += [_row("j", "k", "r3", "r4", "ab", "A")]  # one repeat: missing
    c = verdict_confidence(pd.DataFrame(rows), "self_consistency", level="call")
    c = c.set_index("item_id")
    assert c.loc["i", "confidence"] == pytest.approx(3 / 5) and c.loc["i", "n_votes"] == 5
    assert c.loc["k", "confidence_source"] is None
    ens = pd.DataFrame(
        [_row(j, "i", "r1", "r2", "ab", ch) for j, ch in zip("xyz", "AAB", strict=True)]
    )
    e = verdict_confidence(ens, "ensemble", ensemble_name="trio")
    assert e["judge"].tolist() == ["trio"] and e["confidence"].iloc[0] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at least two judges"):
        verdict_confidence(ens[ens["model"] == "x"], "ensemble")


def test_bad_source_refused():
    with pytest.raises(ValueError, match="source must be one of"):
        verdict_confidence(pd.DataFrame([_row("j", "i", "a", "b", "ab", "A")]), "verbal")
