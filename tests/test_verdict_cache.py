"""A checked verdict file is kept by content and read back exactly; any change checks again
(judgelab.verdict_cache through studies.load_verdicts)."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

import judgelab as jl
from judgelab import studies, verdict_cache
from judgelab.data import DataError, DataWarning


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("JUDGELAB_VERDICT_CACHE", str(path))
    return path


@pytest.fixture(scope="module")
def demo():
    return jl.load_dataset("demo")


@pytest.fixture
def verdict_file(toy_verdicts, tmp_path):
    path = tmp_path / "verdicts.csv"
    shutil.copy(toy_verdicts, path)
    return path


def _entries(cache_dir):
    return sorted(cache_dir.glob(f"*{verdict_cache.SUFFIX}")) if cache_dir.exists() else []


def _no_check(monkeypatch):
    """Loading must not read and check the file again."""

    def fail(*args, **kwargs):
        raise AssertionError("the verdict file was checked again")

    monkeypatch.setattr(studies, "_read_verdicts", fail)


def test_second_load_reads_the_checked_frame_exactly(cache_dir, verdict_file, demo, monkeypatch):
    first = studies.load_verdicts(verdict_file, demo)
    assert len(_entries(cache_dir)) == 1
    _no_check(monkeypatch)
    second = studies.load_verdicts(verdict_file, demo)
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    assert second.dtypes.to_dict() == first.dtypes.to_dict()
    assert second.attrs == first.attrs
    # missing values keep their spelling in object columns (response_id of pairwise rows)
    assert [type(x) for x in second["response_id"]] == [type(x) for x in first["response_id"]]


def test_an_edited_file_is_checked_again_and_refused(cache_dir, verdict_file, demo):
    studies.load_verdicts(verdict_file, demo)
    v = pd.read_csv(verdict_file)
    row = v.index[v["order"].eq("ab") & v["choice"].eq("A")][0]
    v.loc[row, "winner"] = v.loc[row, "response_b"]  # contradicts the choice
    v.to_csv(verdict_file, index=False)
    with pytest.raises(DataError, match="choice and winner disagree"):
        studies.load_verdicts(verdict_file, demo)
    with pytest.raises(DataError, match="choice and winner disagree"):  # never kept
        studies.load_verdicts(verdict_file, demo)
    assert len(_entries(cache_dir)) == 1  # only the good version


def test_another_dataset_or_no_dataset_is_another_entry(cache_dir, verdict_file, demo):
    studies.load_verdicts(verdict_file, demo)
    studies.load_verdicts(verdict_file)
    assert len(_entries(cache_dir)) == 2
    with pytest.raises(DataError, match="unknown response"):
        other = jl.Dataset(
            name="other", items=demo.items, responses=demo.responses.iloc[:10].copy()
        )
        studies.load_verdicts(verdict_file, other)


def test_warnings_are_given_again_on_a_read(cache_dir, verdict_file, demo, monkeypatch):
    v = pd.read_csv(verdict_file)
    pd.concat([v, v.iloc[:3]]).to_csv(verdict_file, index=False)
    with pytest.warns(DataWarning, match="3 identical duplicate"):
        first = studies.load_verdicts(verdict_file, demo)
    _no_check(monkeypatch)
    with pytest.warns(DataWarning, match="3 identical duplicate"):
        second = studies.load_verdicts(verdict_file, demo)
    assert len(second) == len(first) == len(v)


def test_off_keeps_nothing(tmp_path, verdict_file, demo, monkeypatch):
    monkeypatch.setenv("JUDGELAB_VERDICT_CACHE", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    studies.load_verdicts(verdict_file, demo)
    assert not any((tmp_path / "xdg").rglob(f"*{verdict_cache.SUFFIX}"))


def test_a_frame_arrow_cannot_give_back_is_not_kept(cache_dir):
    mixed = pd.DataFrame({"x": pd.Series(["a", 1, None], dtype=object)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = verdict_cache.cached_frame({"what": "test"}, lambda: mixed)
    assert out is mixed
    assert _entries(cache_dir) == []


def test_the_most_recent_entries_are_kept(cache_dir, monkeypatch):
    monkeypatch.setattr(jl.config, "VERDICT_CACHE_KEEP", 2)
    for k in range(4):
        verdict_cache.cached_frame({"what": str(k)}, lambda k=k: pd.DataFrame({"x": [k]}))
    assert len(_entries(cache_dir)) == 2


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_an_all_missing_text_column_keeps_its_spelling(cache_dir, missing):
    frame = pd.DataFrame(
        {
            "x": pd.Series([missing] * 3, dtype=object),
            "y": pd.Series(["a", None, "c"], dtype=object),
        }
    )
    first = verdict_cache.cached_frame({"what": "missing"}, lambda: frame)
    second = verdict_cache.cached_frame({"what": "missing"}, lambda: pytest.fail("computed again"))
    assert second is not first
    pd.testing.assert_frame_equal(second, frame, check_exact=True)
    for col in ("x", "y"):
        assert [type(v) for v in second[col]] == [type(v) for v in frame[col]]


def test_a_frame_with_another_index_is_not_kept(cache_dir):
    frame = pd.DataFrame({"x": [1, 2]}, index=[5, 7])
    assert verdict_cache.cached_frame({"what": "index"}, lambda: frame) is frame
    assert _entries(cache_dir) == []


def test_entries_of_the_parquet_layout_are_removed(cache_dir):
    cache_dir.mkdir()
    old = cache_dir / ("0" * 64 + ".parquet")
    old.write_bytes(b"PAR1")
    verdict_cache.cached_frame({"what": "new"}, lambda: pd.DataFrame({"x": [1]}))
    assert not old.exists()
    assert len(_entries(cache_dir)) == 1


# ---------------------------------------------------------- the dataset's validation, kept
@pytest.fixture
def dataset_dir(tmp_path):
    """The demo dataset's files, two responses without text (validation warns)."""
    from judgelab.data import demo_data_dir

    path = tmp_path / "ds"
    shutil.copytree(demo_data_dir(), path)
    r = pd.read_csv(path / "responses.csv")
    r.loc[:1, "text"] = None
    r.to_csv(path / "responses.csv", index=False)
    return path


def _validated_twice(path, monkeypatch):
    with pytest.warns(DataWarning, match="2 of .* responses have no text"):
        first = jl.load_dataset(str(path))
        studies._validate_dataset(first, read_from_files=studies._read_from_files(str(path)))
    second = jl.load_dataset(str(path))
    with monkeypatch.context() as m:
        m.setattr(jl.Dataset, "validate", lambda *a, **k: pytest.fail("validated again"))
        with pytest.warns(DataWarning, match="2 of .* responses have no text"):
            studies._validate_dataset(second, read_from_files=True)
    return first, second


def test_a_dataset_read_from_files_is_validated_once(cache_dir, dataset_dir, monkeypatch):
    first, second = _validated_twice(dataset_dir, monkeypatch)
    plain = jl.load_dataset(str(dataset_dir))
    with pytest.warns(DataWarning):
        plain.validate()
    for ds in (first, second):
        pd.testing.assert_frame_equal(ds.preferences, plain.preferences, check_exact=True)
        assert ds.preferences.attrs == plain.preferences.attrs
        for table in ("items", "responses", "labels", "truth"):
            pd.testing.assert_frame_equal(getattr(ds, table), getattr(plain, table))


def test_an_edited_dataset_is_validated_again(cache_dir, dataset_dir, monkeypatch):
    _validated_twice(dataset_dir, monkeypatch)
    p = pd.read_csv(dataset_dir / "preferences.csv")
    p.loc[0, "response_b"] = p.loc[0, "response_a"]
    p.to_csv(dataset_dir / "preferences.csv", index=False)
    for _ in range(2):  # refused, and never kept
        with pytest.raises(DataError, match="compares a response with itself"):
            studies._validate_dataset(jl.load_dataset(str(dataset_dir)), read_from_files=True)


def test_a_dataset_object_is_validated_in_full(cache_dir, dataset_dir):
    ds = jl.load_dataset(str(dataset_dir))
    assert not studies._read_from_files(ds)
    assert not studies._read_from_files({"name": "demo"})
    assert studies._read_from_files("demo")
    ds.preferences = ds.preferences.assign(response_b=ds.preferences["response_a"])
    with pytest.raises(DataError, match="compares a response with itself"):
        studies._validate_dataset(ds, read_from_files=False)


def test_a_frame_is_read_back_in_one_chunk_per_column(cache_dir):
    """A checked frame's text columns may come in chunks (concatenated reads); the kept file
    gives each column back as one array (later steps take and factorize it faster)."""
    import pyarrow as pa

    parts = pa.chunked_array([["a", "b"], ["c", None]], type=pa.large_string())
    frame = pd.DataFrame({"x": pd.array(parts, dtype="str"), "y": [1, 2, 3, 4]})
    assert frame["x"].array._pa_array.num_chunks == 2
    verdict_cache.cached_frame({"what": "chunks"}, lambda: frame)
    back = verdict_cache.cached_frame({"what": "chunks"}, lambda: pytest.fail("computed again"))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back["x"].array._pa_array.num_chunks == 1
