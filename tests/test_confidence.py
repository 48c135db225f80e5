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


def _entry(token, top):
    return {
        "token": token,
        "logprob": math.log(top.get(token, 1.0)),
        "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in top.items()],
    }


def test_score_distribution_chains_a_two_token_ten_and_refuses_an_ambiguous_one():
    from judgelab.logprobs import score_distribution
    from judgelab.stats.confidence import expected_score, pass_probability

    text = "Good.\n\nRating: [[10]]"
    content = [
        {"token": "Good.\n\nRating: [[", "logprob": 0.0, "top_logprobs": []},
        _entry("1", {"1": 0.5, "9": 0.3, "8": 0.2}),
        _entry("0", {"0": 0.6, "]]": 0.4}),
        {"token": "]]", "logprob": 0.0, "top_logprobs": []},
    ]
    d = score_distribution(text, content, scale=(1, 10))
    assert d == pytest.approx({1.0: 0.2, 8.0: 0.2, 9.0: 0.3, 10.0: 0.3})
    assert expected_score(d) == pytest.approx(0.2 + 1.6 + 2.7 + 3.0)
    assert pass_probability(d, 8) == pytest.approx(0.8)
    # the judge wrote 9: P('1') mixes 1 and 10, the next token after '1' is unknown
    text9 = "Good.\n\nRating: [[9]]"
    content9 = [content[0], _entry("9", {"9": 0.5, "1": 0.3, "8": 0.2}), content[3]]
    with pytest.raises(ValueError, match=r"mixes the scores \['1', '10'\]"):
        score_distribution(text9, content9, scale=(1, 10))
    # on 1..9 no value is two tokens: read as is
    assert score_distribution(text9, content9, scale=(1, 9)) == pytest.approx(
        {1.0: 0.3, 8.0: 0.2, 9.0: 0.5}
    )
    # a tokenizer that writes '10' whole: alternatives are whole values
    content10 = [content[0], _entry("10", {"10": 0.6, "9": 0.3, "1": 0.1}), content[3]]
    assert score_distribution(text, content10, scale=(1, 10)) == pytest.approx(
        {1.0: 0.1, 9.0: 0.3, 10.0: 0.6}
    )


def test_truncated_verdict_enters_at_its_upper_bound():
    from judgelab.logprobs import logprob_fields

    text = "A is better.\n\n[[A]]"
    content = [
        {"token": "A is better.\n\n[[", "logprob": 0.0, "top_logprobs": []},
        _entry("A", {"A": 0.7, "B": 0.2, "The": 0.05}),
        {"token": "]]", "logprob": 0.0, "top_logprobs": []},
    ]
    f = logprob_fields("pairwise", text, content)
    # C is missing: at most min(listed) = 0.05 and at most the unlisted 0.05
    assert f["p_truncated"] == "C"
    assert f["p_tie"] == pytest.approx(0.05 / 0.95)
    assert f["p_a"] == pytest.approx(0.7 / 0.95)
    full = [content[0], _entry("A", {"A": 0.7, "B": 0.3}), content[2]]
    g = logprob_fields("pairwise", text, full)
    assert g["p_truncated"] is None and g["p_tie"] == 0.0


def test_a_verdict_without_item_is_left_out_and_keys_read_back_as_text():
    # the keys are grouped as integer codes and decoded at the end: a missing item_id is no
    # unit (as a groupby on the text leaves it out), and the keys come back as the text given
    df = pd.DataFrame(
        [
            _row("j", "i9", "r2", "r1", "ab", "A", p=(0.7, 0.2, 0.1)),
            _row("j", None, "r2", "r1", "ba", "A", p=(0.6, 0.4, 0.0)),
            _row("j", "i1", "r3", "r4", "ba", "B", p=(0.2, 0.8, 0.0)),
        ]
    )
    c = verdict_confidence(df, "logprob", level="call")
    assert c["item_id"].tolist() == ["i1", "i9"]  # sorted units, the item-less row left out
    assert c[["lo", "hi", "order"]].to_numpy().tolist() == [["r3", "r4", "ba"], ["r1", "r2", "ab"]]
    # ba: r4 shown first, choice B names r3 = lo; ab: r2 shown first, choice A names r2 = hi
    assert c["label"].tolist() == [0, 1]
    assert c["confidence"].to_numpy() == pytest.approx([0.8, 0.7])
