"""judgelab.datasets: registry, location rules, error messages, download converters
(offline, with a fake HTTP layer) and the in-memory cache. No real data needed here;
the reproduction of published figures is in test_datasets_real.py."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

import judgelab as jl
from judgelab import datasets as D
from judgelab.data import DataError, Dataset
from judgelab.datasets import _base, alpaca_eval_judges, llmbar, mt_bench_human


def test_registry_names_and_kinds():
    assert D.registered() == [
        "mt_bench_human",
        "llmbar",
        "judging_the_judges",
        "mt_bench_gpt4_pair_and_human",
        "arena_judge_picks_2025",
        "hanna_story_ratings",
    ]
    assert D.references() == ["alpaca_eval_judges"]
    for name in D.registered() + D.references():
        info = D.info(name)
        assert info["licence"] and info["upstream"] and info["required"]
    assert "NC" in D.info("alpaca_eval_judges")["licence"]  # non-commercial must be visible


def test_unknown_name_lists_registered():
    with pytest.raises(DataError, match="registered: mt_bench_human"):
        D.load("no_such_dataset")


def test_reference_is_not_a_dataset():
    with pytest.raises(DataError, match="load_reference"):
        D.load("alpaca_eval_judges")
    with pytest.raises(DataError, match="not a reference table"):
        D.load_reference("llmbar")


def test_missing_dataset_message_names_places_and_remedy(tmp_path, monkeypatch):
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    with pytest.raises(DataError) as ei:
        D.load("llmbar", cache_dir=tmp_path / "cache", download=False)
    msg = str(ei.value)
    assert str(tmp_path / "cache" / "llmbar") in msg
    assert "JUDGELAB_DATA" in msg and "path=" in msg and "download=False" in msg
    # an explicit path never falls back to anything else
    with pytest.raises(DataError, match="at the given path"):
        D.load("mt_bench_human", path=tmp_path)
    # no automatic download for Judging the Judges: say so instead of trying
    with pytest.raises(DataError, match="automatic download is not available"):
        D.load("judging_the_judges", cache_dir=tmp_path / "cache")


def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)

    def offline(url, retries=3):
        raise _base.urllib.error.URLError("network unreachable")

    monkeypatch.setattr(_base, "http_get", offline)
    with pytest.raises(DataError) as ei:
        D.load("mt_bench_human", cache_dir=tmp_path)
    msg = str(ei.value)
    assert "downloading it from" in msg and "network unreachable" in msg and "JUDGELAB_DATA" in msg
    assert not (tmp_path / "mt_bench_human").exists()  # no half-filled cache left behind


VOTES = [
    {
        "question_id": 81,
        "judge": "expert_1",
        "model_a": "gpt-4",
        "model_b": "llama-13b",
        "winner": "model_a",
    },
    {
        "question_id": 81,
        "judge": "author_2",
        "model_a": "llama-13b",
        "model_b": "gpt-4",
        "winner": "tie",
    },
    {
        "question_id": 82,
        "judge": "expert_1",
        "model_a": "claude-v1",
        "model_b": "gpt-4",
        "winner": "model_b",
    },
]


def _votes_bytes(rows):
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_download_fills_cache_then_loads_from_it(tmp_path, monkeypatch):
    """The cache path end to end with a fake upstream: verified by checksum, then read."""
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    payload = _votes_bytes(VOTES)
    monkeypatch.setattr(mt_bench_human, "SHA256", hashlib.sha256(payload).hexdigest())
    calls = []

    def fake_get(url, retries=3):
        calls.append(url)
        return payload

    monkeypatch.setattr(_base, "http_get", fake_get)
    ds = D.load("mt_bench_human", cache_dir=tmp_path, companion=False)
    assert calls == [mt_bench_human.UPSTREAM_URL]
    assert (tmp_path / "mt_bench_human" / mt_bench_human.VOTES_FILE).read_bytes() == payload
    ds.validate(warn=False)
    assert len(ds.preferences) == 3
    # second load: from the cache directory, no network
    D.load("mt_bench_human", cache_dir=tmp_path)
    assert len(calls) == 1


def test_download_checksum_mismatch_rejected(tmp_path, monkeypatch):
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    monkeypatch.setattr(_base, "http_get", lambda url, retries=3: b"tampered\n")
    with pytest.raises(DataError, match="sha256"):
        D.load("mt_bench_human", cache_dir=tmp_path)


def _write_votes(folder, rows):
    folder.mkdir(parents=True)
    (folder / mt_bench_human.VOTES_FILE).write_bytes(_votes_bytes(rows))


def test_mt_bench_mapping_on_small_fixture(tmp_path, monkeypatch):
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    root = tmp_path / "data"
    _write_votes(root / mt_bench_human.FOLDER, VOTES)
    comp = root / mt_bench_human.COMPANION_FOLDER
    comp.mkdir()
    (comp / "mtbench_questions.jsonl").write_text(
        json.dumps({"question_id": 81, "task": "writing", "question_1": "Q81", "question_2": "x"})
        + "\n"
        + json.dumps({"question_id": 82, "task": "math", "question_1": "Q82", "question_2": "y"})
        + "\n"
    )
    (comp / "mtbench_answers.jsonl").write_text(
        json.dumps({"question_id": 81, "model": "gpt-4", "answer_1": "A81", "answer_2": "z"}) + "\n"
    )
    # both path forms: the root that contains the folder, and the folder itself
    for p in (root, root / mt_bench_human.FOLDER):
        D.clear_memory()
        ds = D.load("mt_bench_human", path=p)
        ds.validate(warn=False)
        assert list(ds.items["prompt"]) == ["Q81", "Q82"]
        assert list(ds.items["category"]) == ["writing", "math"]
        p2 = ds.preferences.iloc[1]
        assert (p2.response_a, p2.response_b, p2.preference, p2.rater_group) == (
            "81:llama-13b",
            "81:gpt-4",
            "tie",
            "author",
        )
        assert ds.preferences.iloc[2].preference == "b"
        text = ds.responses.set_index("response_id")["text"]
        assert text["81:gpt-4"] == "A81" and pd.isna(
            text["81:llama-13b"]
        )  # votes only where no answer


def test_bad_winner_names_table_column_rows(tmp_path):
    rows = [*VOTES, {**VOTES[0], "winner": "model_c"}]
    _write_votes(tmp_path / "d", rows)
    with pytest.raises(
        DataError, match=r"human_judgments_turn1.jsonl', column 'winner'.*rows \[3\]"
    ):
        D.load("mt_bench_human", path=tmp_path / "d", companion=False)


def test_memory_cache_returns_independent_copies(tmp_path):
    _write_votes(tmp_path / "d", VOTES)
    a = D.load("mt_bench_human", path=tmp_path / "d", companion=False)
    a.preferences.loc[0, "preference"] = "b"
    a.meta["turn"] = 99
    b = D.load("mt_bench_human", path=tmp_path / "d", companion=False)
    assert b.preferences.loc[0, "preference"] == "a" and b.meta["turn"] == 1
    assert isinstance(b, Dataset)
    # edited data is re-read (the key includes size and mtime)
    (tmp_path / "d" / mt_bench_human.VOTES_FILE).write_bytes(_votes_bytes(VOTES[:2]))
    assert len(D.load("mt_bench_human", path=tmp_path / "d", companion=False).preferences) == 2


def test_load_dataset_reaches_registered_names(tmp_path, monkeypatch):
    _write_votes(tmp_path / mt_bench_human.FOLDER, VOTES)
    monkeypatch.setenv("JUDGELAB_DATA", str(tmp_path))
    ds = jl.load_dataset("mt_bench_human")
    assert ds.name == "mt_bench_human" and len(ds.preferences) == 3


def test_llmbar_result_record_parser():
    """The download converter's reading of an upstream result.json entry (format as in
    princeton-nlp/LLMBar Dataset/**/evaluators/<judge>/<strategy>/result.json)."""
    rec = {
        "input": "i",
        "output_1": "o1",
        "output_2": "o2",
        "label": 2,
        "results": [
            {
                "score_1": ["8", "stop"],
                "score_2": ["8", "stop"],
                "swap = False": {"winner": "2"},
                "swap = True": {"winner": "1"},
            }
        ],
    }
    row = llmbar.parse_result_record("LLMBar/Natural", 5, "GPT-4", "Rating", rec)
    assert row == {
        "subset": "LLMBar/Natural",
        "idx": 5,
        "judge": "GPT-4",
        "strategy": "Rating",
        "label": 2,
        "winner_original_order": "2",
        "winner_swapped_order": "1",
        "score_1": "8",
        "score_2": "8",
    }
    bad = {**rec, "results": [{"swap = False": {"winner": "unparsable"}}]}
    row = llmbar.parse_result_record("x", 0, "j", "Vanilla", bad)
    assert row["winner_original_order"] == "" and row["winner_swapped_order"] == ""


def test_llmbar_download_builds_readable_folder(tmp_path, monkeypatch):
    tree = {
        "tree": [
            {"path": "Dataset/LLMBar/Natural/dataset.json", "type": "blob"},
            {"path": "Dataset/LLMBar/Natural/evaluators/GPT-4/Vanilla/result.json", "type": "blob"},
            {
                "path": "Dataset/LLMBar/Natural/evaluators/GPT-4/Vanilla/statistics.json",
                "type": "blob",
            },
        ]
    }
    inst = [{"input": "q", "output_1": "good", "output_2": "bad", "label": 1}]
    res = [
        {**inst[0], "results": [{"swap = False": {"winner": "1"}, "swap = True": {"winner": "2"}}]}
    ]
    pages = {
        llmbar.GITHUB_TREE: tree,
        llmbar.GITHUB_RAW + "Dataset/LLMBar/Natural/dataset.json": inst,
        llmbar.GITHUB_RAW + "Dataset/LLMBar/Natural/evaluators/GPT-4/Vanilla/result.json": res,
    }
    monkeypatch.setattr(_base, "http_get", lambda url, retries=3: json.dumps(pages[url]).encode())
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    ds = D.load("llmbar", cache_dir=tmp_path)
    ds.validate(warn=False)
    v = ds.verdicts.set_index("order")
    # ab: output_1 shown first and chosen -> A; ba: output_2 shown first, output_2 chosen -> A
    assert v.loc["ab", "choice"] == "A" and v.loc["ab", "winner"] == "LLMBar/Natural#0#1"
    assert v.loc["ba", "choice"] == "A" and v.loc["ba", "winner"] == "LLMBar/Natural#0#2"
    assert ds.responses["generator"].isna().all()  # no link file from a download


def test_alpaca_download_maps_file_names_to_upstream_paths(tmp_path, monkeypatch):
    seen = []

    def fake_get(url, retries=3):
        seen.append(url)
        if url.endswith("evaluators/evaluators_leaderboard.csv"):
            return b",Human agreement,Proba. prefer 1\nhumans,65.7,0.5\ngpt4,69.2,0.47\n"
        return b",win_rate,n_total\ngpt4,80.0,805\nclaude,70.0,805\n"

    monkeypatch.setattr(_base, "http_get", fake_get)
    monkeypatch.delenv("JUDGELAB_DATA", raising=False)
    ref = D.load_reference("alpaca_eval_judges", cache_dir=tmp_path)
    assert (
        alpaca_eval_judges.RAW + "data_AlpacaEval_2/claude_3_opus_ranking_leaderboard.csv" in seen
    )
    assert len(seen) == 10
    ev = ref["evaluators"].set_index("judge")
    assert (
        ev.loc["humans", "judge_family"] == "human" and ev.loc["gpt4", "judge_family"] == "openai"
    )
    lb = ref["leaderboards"]
    assert len(lb) == 18 and set(lb["generator_family"]) == {"openai", "anthropic"}
    assert lb.loc[lb["annotator"] == "claude", "judge_family"].iloc[0] == "anthropic"
