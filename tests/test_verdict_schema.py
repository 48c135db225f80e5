"""The verdict schema (judgelab.verdict_schema, docs/verdicts.md): one test per rule, on
every source verdicts enter by (the dataset table, a verdict file, an importer's output)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from judgelab.data import DataError, Dataset, DataWarning, load_dataset_dir
from judgelab.stats.position import position_counts
from judgelab.stats.position_pairs import classify_pairs
from judgelab.studies import load_verdicts
from judgelab.verdict_schema import check_verdicts


def items():
    return pd.DataFrame({"item_id": ["i1", "i2"], "prompt": ["p1", "p2"]})


def responses():
    return pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4"],
            "item_id": ["i1", "i1", "i2", "i2"],
            "generator": ["g1", "g2", "g1", "g2"],
            "text": ["a", "b", "c", "d"],
        }
    )


def pairwise(**cols) -> pd.DataFrame:
    """Four pairwise verdicts of one judge: pair (r1, r2) and (r3, r4), each in both orders."""
    base = {
        "model": "m",
        "backend": "b",
        "judge_version": "v",
        "protocol": "pairwise",
        "item_id": ["i1", "i1", "i2", "i2"],
        "response_a": ["r1", "r1", "r3", "r3"],
        "response_b": ["r2", "r2", "r4", "r4"],
        "order": ["ab", "ba", "ab", "ba"],
        "sample": 0,
        "choice": ["A", "B", "A", "tie"],
        "parse_ok": True,
    }
    base.update(cols)
    return pd.DataFrame(base)


def single(scores, **cols) -> pd.DataFrame:
    base = {
        "model": "m",
        "backend": "b",
        "judge_version": "v",
        "protocol": "single",
        "item_id": ["i1", "i1", "i2", "i2"][: len(scores)],
        "response_id": ["r1", "r2", "r3", "r4"][: len(scores)],
        "score": scores,
    }
    base.update(cols)
    return pd.DataFrame(base)


def dataset(verdicts, **kw) -> Dataset:
    return Dataset(name="t", items=items(), responses=responses(), verdicts=verdicts, **kw)


def refused(verdicts, column, rows=None, fix="", **kw) -> str:
    """The DataError of validating ``verdicts``: names table, column, rows and the fix."""
    with pytest.raises(DataError) as ei:
        dataset(verdicts, **kw).validate(warn=False)
    err = ei.value
    assert err.table == "verdicts"
    assert err.column == column, str(err)
    if rows is not None:
        assert err.rows == rows, str(err)
        assert f"rows {rows}" in str(err)
    assert fix in str(err), str(err)
    return str(err)


# ---------------------------------------------------------------- columns
def test_all_missing_required_columns_named_at_once():
    v = pairwise().drop(columns=["backend", "judge_version", "protocol"])
    msg = refused(v, "backend, judge_version, protocol", fix="add backend, judge_version, protocol")
    assert "columns present" in msg


def test_all_missing_columns_of_any_table_named_at_once():
    with pytest.raises(DataError) as ei:
        Dataset(name="t", items=items(), responses=responses()[["response_id"]]).validate()
    assert ei.value.table == "responses" and ei.value.column == "item_id, generator"
    assert "add item_id, generator" in str(ei.value)


# ---------------------------------------------------------------- protocol and order
def test_protocol_must_be_known():
    refused(
        pairwise(protocol=["pairwise", "pairwise", "pair", "pairwise"]), "protocol", [2], "set it"
    )


def test_protocol_and_order_read_in_any_case():
    ds = dataset(pairwise(protocol="Pairwise", order=["AB", "ba", " ab", "BA"]))
    ds.validate()
    assert ds.verdicts["protocol"].tolist() == ["pairwise"] * 4
    assert ds.verdicts["order"].tolist() == ["ab", "ba", "ab", "ba"]


def test_order_must_be_ab_ba_unknown_or_both():
    msg = refused(
        pairwise(order=["ab", "ba", "first", "ba"]), "order", [2], "unknown (not recorded)"
    )
    assert "both" in msg


def test_order_consistent_only_on_both():
    v = pairwise(order=["both", "ba", "ab", "ba"], winner=["r1", None, None, None])
    v["choice"] = [None, "B", "A", "tie"]
    v["order_consistent"] = [True, None, "true", None]
    refused(v, "order_consistent", [2], "leave it empty")
    v["order_consistent"] = [True, None, None, None]
    ds = dataset(v)
    ds.validate()
    assert ds.verdicts["order_consistent"].tolist()[0] is True


# ---------------------------------------------------------------- choice, preference, winner
def test_lower_case_choices_are_read_not_dropped():
    """A file coded a / b lost most of its verdicts silently before issue 12."""
    ds = dataset(pairwise(choice=["a", "b", "a", "TIE"]))
    ds.validate()
    assert ds.verdicts["choice"].tolist() == ["A", "B", "A", "tie"]
    assert ds.verdicts["winner"].tolist() == ["r1", "r1", "r3", "tie"]


def test_choice_outside_a_b_tie_is_refused():
    refused(pairwise(choice=["A", "left", "A", "B"]), "choice", [1], "recode it")


def test_unreadable_choice_of_an_unparsed_row_is_kept_out():
    ds = dataset(pairwise(choice=["A", "???", "A", "B"], parse_ok=[True, False, True, True]))
    ds.validate()
    assert pd.isna(ds.verdicts["choice"][1]) and not ds.verdicts["parse_ok"][1]


def test_human_preferences_read_in_any_case():
    p = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "response_a": ["r1", "r3"],
            "response_b": ["r2", "r4"],
            "rater_id": "h",
            "preference": ["A", " Tie"],
        }
    )
    ds = Dataset(name="t", items=items(), responses=responses(), preferences=p)
    ds.validate()
    assert ds.preferences["preference"].tolist() == ["a", "tie"]


def test_winner_derived_from_choice_and_order():
    ds = dataset(pairwise())
    ds.validate()
    assert ds.verdicts["winner"].tolist() == ["r1", "r1", "r3", "tie"]


def test_choice_derived_from_winner_and_order():
    v = pairwise(winner=["r1", "r1", "r4", "TIE"]).drop(columns=["choice"])
    ds = dataset(v)
    ds.validate()
    assert ds.verdicts["choice"].tolist() == ["A", "B", "B", "tie"]
    assert ds.verdicts["winner"].tolist() == ["r1", "r1", "r4", "tie"]


def test_choice_contradicting_winner_is_refused():
    # row 1: order ba, choice B = response_a (r1); the winner says r2
    v = pairwise(winner=["r1", "r2", "r3", "tie"])
    refused(v, "winner", [1], "correct one of them")


def test_winner_naming_an_unknown_response():
    msg = refused(pairwise(winner=["r1", "r1", "r9", "tie"]), "winner", [2], "give the id")
    assert "unknown response" in msg


def test_choice_without_winner_needs_a_display_order():
    v = pairwise(order=["ab", "unknown", "ab", "ba"])
    refused(v, "choice", [1], "give winner")
    v["winner"] = [None, "r2", None, None]
    ds = dataset(v)
    ds.validate()  # an unknown order with a winner is a verdict
    assert ds.verdicts["winner"].tolist() == ["r1", "r2", "r3", "tie"]


# ---------------------------------------------------------------- optional columns
def test_probabilities_in_unit_interval():
    v = pairwise(p_a=[0.9, 0.1, 1.0, 0.5], p_b=[0.1, 0.9, 0.0, 95.0])
    refused(v, "p_b", [3], "not a percentage")
    v = pairwise(p_a=[0.9, "high", 1.0, 0.5])
    refused(v, "p_a", [1], "probability")


def test_strength_and_confidence_source_typed():
    refused(pairwise(strength=[1, 2, "big", 1]), "strength", [2], "A>>B")
    refused(pairwise(strength=[1, 2, -1, 1]), "strength", [2], "how strongly")
    refused(pairwise(confidence_source=["logprobs", 3, None, "verbal"]), "confidence_source", [1])
    ds = dataset(pairwise(strength=[1, 2, 1, None], confidence_source="logprobs", p_a=0.5))
    ds.validate()


# ---------------------------------------------------------------- pointwise scores
def test_single_score_off_the_scale():
    msg = refused(single([3, 42, 7.5, 1]), "score", [1], "declare the judge's scale", scale=(1, 10))
    assert "[1, 10]" in msg


def test_single_scores_may_be_non_integer_and_use_a_judge_scale():
    dataset(single([3, 9.5, 7.25, 1]), scale=(1, 10)).validate()
    v = single([30, 95, 1, 2], judge_version=["v100", "v100", "v", "v"])
    dataset(v, scale=(1, 10), judge_scales={"v100": {"min": 0, "max": 100}}).validate()
    refused(v, "score", [0, 1], "judge_scales", scale=(1, 10))


def test_non_numeric_score_refused():
    refused(single([3, "good", 7, 1]), "score", [1], "declare grades", scale=(1, 10))


def test_declared_grades_ordinal_set():
    v = single([None, None, None, None], grade=["C", "P", "I", "X"])
    refused(v, "grade", [3], "declare it in dataset.yaml", grades={"C": 1, "P": 0.5, "I": 0})
    v["grade"] = ["C", "P", "I", "C"]
    ds = dataset(v, grades={"C": 1, "P": 0.5, "I": 0})
    ds.validate()
    assert ds.verdicts["score"].tolist() == [1.0, 0.5, 0.0, 1.0]
    assert ds.verdicts["parse_ok"].tolist() == [True] * 4


def test_declared_binary_grades():
    refused(single([0, 1, 0.5, 1]), "score", [2], "recode it", grades=[0, 1])
    dataset(single([0, 1, 0, 1]), grades=[0, 1]).validate()


def test_grades_declared_in_dataset_yaml(tmp_path):
    items().to_csv(tmp_path / "items.csv", index=False)
    responses().to_csv(tmp_path / "responses.csv", index=False)
    single([None] * 4, grade=["pass", "fail", "pass", "pass"]).to_csv(
        tmp_path / "verdicts.csv", index=False
    )
    (tmp_path / "dataset.yaml").write_text("name: g\ngrades: [fail, pass]\n")
    ds = load_dataset_dir(tmp_path)
    assert ds.grades == {"fail": 0.0, "pass": 1.0}
    ds.validate()
    assert ds.verdicts["score"].tolist() == [1.0, 0.0, 1.0, 1.0]


# ---------------------------------------------------------------- parse_ok
def test_parse_ok_derived_when_absent():
    v = pairwise(choice=["A", None, "B", "tie"]).drop(columns=["parse_ok"])
    ds = dataset(v)
    ds.validate()
    assert ds.verdicts["parse_ok"].tolist() == [True, False, True, True]
    ds = dataset(single([3, None, 5, 1]), scale=(1, 10))
    ds.validate()
    assert ds.verdicts["parse_ok"].tolist() == [True, False, True, True]


# ---------------------------------------------------------------- duplicates
def test_conflicting_duplicates_refused():
    v = pd.concat([pairwise(), pairwise().iloc[[1]].assign(choice="A")], ignore_index=True)
    refused(v, "choice, winner, parse_ok", [1, 4], "number repeats in the sample column")


def test_identical_duplicates_dropped_with_a_count():
    v = pd.concat([pairwise(), pairwise().iloc[[0, 2]]], ignore_index=True)
    ds = dataset(v)
    with pytest.warns(DataWarning, match="2 identical duplicate verdict row"):
        ds.validate()
    assert len(ds.verdicts) == 4


def test_repeats_and_runs_are_not_duplicates():
    v = pd.concat([pairwise(), pairwise(sample=1, choice="B")], ignore_index=True)
    dataset(v).validate()
    v = pd.concat([pairwise(run_id="r1"), pairwise(run_id="r2", choice="B")], ignore_index=True)
    dataset(v).validate()


# ---------------------------------------------------------------- responses
def test_unknown_response_named_as_such():
    v = pairwise(response_b=["r2", "r2", "r9", "r4"])
    msg = refused(v, "response_b", [2], "add it there or correct the id")
    assert "unknown response" in msg and "different items" not in msg
    refused(single([1, 2, 3, 4], response_id=["r1", "r2", "r3", "zz"]), "response_id", [3])


def test_pair_across_items_still_refused():
    v = pairwise(response_b=["r2", "r2", "r1", "r4"])
    assert "different items" in refused(v, "response_b", [2])


# ---------------------------------------------------------------- every source
def test_verdict_file_goes_through_the_schema(tmp_path):
    """`-p verdicts file.csv`: the same rules as the dataset table."""
    path = tmp_path / "v.csv"
    pairwise(choice=["a", "b", "a", "tie"]).drop(columns=["parse_ok"]).to_csv(path, index=False)
    ds = dataset(None)
    v = load_verdicts(path, ds)
    assert v["choice"].tolist() == ["A", "B", "A", "tie"]
    assert v["winner"].tolist() == ["r1", "r1", "r3", "tie"]
    assert v["parse_ok"].tolist() == [True] * 4
    pairwise(winner=["r1", "r2", "r3", "tie"]).to_csv(path, index=False)
    with pytest.raises(DataError, match="choice and winner disagree"):
        load_verdicts(path, ds)


def test_check_verdicts_leaves_the_input_alone():
    v = pairwise(choice=["a", "b", "a", "tie"])
    before = v.copy()
    check_verdicts(v)
    pd.testing.assert_frame_equal(v, before)


# ---------------------------------------------------------------- position statistics
def test_position_counts_unordered_verdicts_as_excluded_with_reason():
    v = pd.concat(
        [
            pairwise(),
            pairwise(
                item_id="i2",
                response_a="r4",
                response_b="r3",
                order=["both", "unknown", "both", "unknown"],
                sample=[0, 0, 1, 1],
                choice=None,
                winner=["r3", "r4", "r3", "tie"],
            ),
        ],
        ignore_index=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checked = check_verdicts(v)
    cls = classify_pairs(checked)
    assert len(cls) == 3
    unordered = cls[cls["response_a"] == "r4"]
    assert unordered["cls"].isna().all()
    assert "order unknown or both" in unordered["reason"].iloc[0]
    counts = position_counts(checked)
    assert counts["n_pairs"].tolist() == [2] and counts["n_excluded"].tolist() == [1]
    assert np.isfinite(counts["position_consistency"]).all()
