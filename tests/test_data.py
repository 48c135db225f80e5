"""Dataset validation: every bad-input case names its table and column."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import judgelab as jl
from judgelab.data import DataError, Dataset, DataWarning, load_dataset_dir, read_table


def small(**over) -> Dataset:
    tables = dict(
        items=pd.DataFrame({"item_id": ["i1", "i2"], "prompt": ["p1", "p2"]}),
        responses=pd.DataFrame(
            {
                "response_id": ["r1", "r2", "r3", "r4"],
                "item_id": ["i1", "i1", "i2", "i2"],
                "generator": ["openai/gpt-4o", "claude-3", "gpt-4o", "llama-3"],
                "text": ["a", "b", "c", "d"],
            }
        ),
        labels=pd.DataFrame(
            {"response_id": ["r1", "r2"], "rater_id": ["h1", "h1"], "score": [3, 7]}
        ),
        preferences=pd.DataFrame(
            {
                "item_id": ["i1", "i2"],
                "response_a": ["r1", "r3"],
                "response_b": ["r2", "r4"],
                "rater_id": ["h1", "h1"],
                "preference": ["a", "tie"],
            }
        ),
    )
    tables.update(over)
    return Dataset(name="t", scale=(1, 10), **tables)


def test_valid_small_dataset_passes():
    s = small().validate()
    assert s["items"] == 2 and s["responses"] == 4 and s["preferences"] == 2


def expect(ds: Dataset, table: str, column: str, rows=None):
    with pytest.raises(DataError) as ei:
        ds.validate()
    msg = str(ei.value)
    assert f"table '{table}'" in msg and f"column '{column}'" in msg, msg
    assert ei.value.table == table and ei.value.column == column
    if rows is not None:
        assert ei.value.rows == rows, msg
    assert isinstance(ei.value, ValueError)
    return msg


def test_missing_required_column():
    ds = small(items=pd.DataFrame({"item_id": ["i1", "i2"]}))
    assert "missing required column" in expect(ds, "items", "prompt")


def test_duplicate_ids():
    ds = small(items=pd.DataFrame({"item_id": ["i1", "i1", "i2"], "prompt": ["p", "q", "r"]}))
    assert "duplicate" in expect(ds, "items", "item_id", rows=[0, 1])


def test_response_of_unknown_item():
    r = small().responses.copy()
    r.loc[3, "item_id"] = "i9"
    assert "unknown item" in expect(small(responses=r), "responses", "item_id", rows=[3])


def test_label_of_unknown_response():
    lab = pd.DataFrame({"response_id": ["r1", "zz"], "rater_id": ["h", "h"], "score": [1, 2]})
    assert "unknown response" in expect(small(labels=lab), "labels", "response_id", rows=[1])


def test_preference_of_unknown_response():
    p = small().preferences.copy()
    p.loc[0, "response_b"] = "nope"
    expect(small(preferences=p), "preferences", "response_b", rows=[0])


def test_score_off_scale():
    lab = pd.DataFrame(
        {"response_id": ["r1", "r2", "r3"], "rater_id": ["h"] * 3, "score": [1, 11, 0]}
    )
    assert "off the declared scale" in expect(small(labels=lab), "labels", "score", rows=[1, 2])


def test_non_numeric_score():
    lab = pd.DataFrame({"response_id": ["r1", "r2"], "rater_id": ["h"] * 2, "score": [3, "good"]})
    assert "non-numeric" in expect(small(labels=lab), "labels", "score", rows=[1])


def test_preference_not_in_allowed_values():
    p = small().preferences.copy()
    p.loc[1, "preference"] = "first"  # (A / B / TIE are read as a / b / tie: issue 12)
    assert "{a, b, tie}" in expect(small(preferences=p), "preferences", "preference", rows=[1])


def test_pair_compares_response_with_itself():
    p = small().preferences.copy()
    p.loc[0, "response_b"] = "r1"
    assert "itself" in expect(small(preferences=p), "preferences", "response_b", rows=[0])


def test_pair_across_items():
    p = small().preferences.copy()
    p.loc[0, "response_b"] = "r3"
    assert "different items" in expect(small(preferences=p), "preferences", "response_b", rows=[0])


def test_error_lists_at_most_ten_rows():
    n = 25
    items = pd.DataFrame({"item_id": ["i1"] * n, "prompt": ["p"] * n})
    with pytest.raises(DataError) as ei:
        small(items=items).validate()
    assert len(ei.value.rows) == 10 and "15 more" in str(ei.value)


def test_missing_texts_warn_and_refuse_judging():
    r = small().responses.copy()
    r.loc[1, "text"] = ""
    r.loc[2, "text"] = None
    ds = small(responses=r)
    with pytest.warns(DataWarning, match="2 of 4 responses have no text"):
        s = ds.validate()
    assert s["missing_texts"] == 2
    with pytest.raises(DataError) as ei:
        ds.require_texts(["r1", "r2", "r3"])
    assert (
        ei.value.table == "responses"
        and ei.value.column == "text"
        and ei.value.rows == ["r2", "r3"]
    )
    ds.require_texts(["r1", "r4"])  # texts present: fine


def test_votes_only_dataset_without_text_column_loads():
    r = small().responses.drop(columns="text")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = small(responses=r).validate()
    assert s["missing_texts"] == 4 and any(issubclass(x.category, DataWarning) for x in w)


def test_numbers_and_booleans_where_text_belongs_count_as_missing():
    r = small().responses.copy().astype({"text": object})
    r.loc[0, "text"] = 3.0
    r.loc[1, "text"] = True
    assert len(small(responses=r).missing_texts()) == 2


def test_read_table_formats_and_ids_as_strings(tmp_path):
    df = pd.DataFrame({"item_id": [1, 2], "prompt": ["x", "y"]})
    df.to_csv(tmp_path / "items.csv", index=False)
    df.to_json(tmp_path / "items.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "items.parquet")
    for ext in ("csv", "jsonl", "parquet"):
        out = read_table(tmp_path / f"items.{ext}")
        assert out["item_id"].tolist() == ["1", "2"], ext
    with pytest.raises(DataError, match="unsupported file type"):
        read_table(tmp_path / "items.txt")


def test_dataset_directory_roundtrip(tmp_path):
    ds = small()
    (tmp_path / "dataset.yaml").write_text("name: tiny\nscale: {min: 1, max: 10}\nlicence: CC0\n")
    ds.items.to_csv(tmp_path / "items.csv", index=False)
    ds.responses.to_json(tmp_path / "responses.jsonl", orient="records", lines=True)
    ds.labels.to_parquet(tmp_path / "labels.parquet")
    ds.preferences.to_csv(tmp_path / "preferences.csv", index=False)
    back = load_dataset_dir(tmp_path)
    assert back.name == "tiny" and back.scale == (1.0, 10.0) and back.licence == "CC0"
    assert back.validate()["labels"] == 2
    assert len(back.sha256) == 64
    assert jl.load_dataset(str(tmp_path)).sha256 == back.sha256


def test_unknown_dataset_name_is_a_clear_error():
    with pytest.raises(DataError, match="neither a registered dataset"):
        jl.load_dataset("no-such-dataset-xyz")


def test_pairs_selection():
    ds = jl.load_dataset("demo")
    human = ds.pairs("human")
    assert len(human) == 480 and set(human.columns) == {"item_id", "response_a", "response_b"}
    assert len(ds.pairs("all")) == 160 * 36
    base = ds.pairs("baseline:cirrus-nano")
    assert len(base) == 160 * 8 and base["response_b"].str.endswith("cirrus-nano").all()
    a = ds.pairs("all", n_pairs=50, seed=3)
    b = ds.pairs("all", n_pairs=50, seed=3)
    assert len(a) == 50 and a.equals(b) and not a.equals(ds.pairs("all", n_pairs=50, seed=4))
    with pytest.raises(DataError, match="baseline generator"):
        ds.pairs("baseline:nobody")
    with pytest.raises(ValueError, match="pairs must be"):
        ds.pairs("some")


def test_ids_become_strings_once_and_missing_ids_stay_missing(tmp_path):
    import numpy as np

    items = pd.DataFrame({"item_id": [1, 2], "prompt": ["p1", "p2"]})
    responses = pd.DataFrame(
        {"response_id": [10.5, 11.0], "item_id": pd.Series([1, 2], dtype=object), "generator": "g"}
    )
    labels = pd.DataFrame(
        {"response_id": ["10.5", "11.0"], "rater_id": [None, 7], "score": [3, 4]}, dtype=object
    )
    ds = Dataset(name="t", scale=(1, 10), items=items, responses=responses, labels=labels)
    # str(v) of every present id: the reference values of the per-element rule it replaced
    assert ds.items["item_id"].tolist() == ["1", "2"]
    assert ds.responses["response_id"].tolist() == ["10.5", "11.0"]
    assert ds.responses["item_id"].tolist() == ["1", "2"]
    rater = ds.labels["rater_id"].tolist()
    assert np.isnan(rater[0]) and rater[1] == "7"
    assert items["item_id"].tolist() == [1, 2]  # the caller's frame is untouched
    path = tmp_path / "items.csv"
    items.to_csv(path, index=False)
    read = read_table(path, "items")
    again = Dataset(name="t", items=read, responses=ds.responses)
    # normalised when read: the Dataset keeps the very same column instead of converting again
    assert again.items["item_id"].tolist() == ["1", "2"]
    assert str(again.items["item_id"].dtype) == "str"


def test_data_error_and_rubric_defaults_live_below_stats():
    """stats imports nothing above itself: DataError and the rubric defaults are defined in
    stats and re-exported, so every old import path names the same objects."""
    import judgelab
    from judgelab import data, rubric
    from judgelab.stats import errors, rubric_sections

    assert data.DataError is errors.DataError is judgelab.DataError
    assert data.MAX_ROWS_SHOWN == errors.MAX_ROWS_SHOWN == 10
    assert rubric.DEFAULT_PASS_THRESHOLD == rubric_sections.DEFAULT_PASS_THRESHOLD == 0.8
    assert rubric.DEFAULT_WARN_THRESHOLD == rubric_sections.DEFAULT_WARN_THRESHOLD == 0.5
    assert rubric.section_titles is rubric_sections.section_titles
