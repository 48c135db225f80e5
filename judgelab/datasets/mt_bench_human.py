"""``mt_bench_human``: MT-Bench expert and author pairwise votes, turn 1.

Source: LMSYS ``mt_bench_human_judgments`` (split ``human``; Zheng et al., "Judging
LLM-as-a-Judge with MT-Bench and Chatbot Arena", NeurIPS 2023 Datasets & Benchmarks),
licence CC BY 4.0. Local folder ``mt_bench_human_judgments_turn1/`` with
``human_judgments_turn1.jsonl`` (question_id, judge, model_a, model_b, winner).

Mapping into judgelab's tables:

* items: one per MT-Bench question (``item_id`` = the question id as text, ``"81"``);
  ``prompt`` (turn-1 question), ``category`` and ``reference`` come from
  ``mtbench_questions.jsonl`` of the companion folder ``position_bias_mtbench_devbench/``
  when it is found (else the prompt is empty and ``meta["texts"]`` says so).
* responses: one per (question, model) that was voted on, ``response_id`` =
  ``"<question_id>:<model>"``, ``generator`` = the model; ``text`` = the model's turn-1
  answer from the companion ``mtbench_answers.jsonl`` where it is there (all models but
  ``vicuna-13b-v1.2``), else empty (votes only: analysable, not re-judgeable).
* preferences: one row per vote; ``response_a`` is ``model_a`` (shown first),
  ``rater_id`` the anonymised annotator, ``preference`` a | b | tie; extra column
  ``rater_group`` = ``expert`` (graduate students) or ``author`` (paper authors).

No verdicts (the ``gpt4_pair`` split is not included).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab import config
from judgelab.data import DataError, Dataset
from judgelab.datasets import _base

NAME = "mt_bench_human"
FOLDER = "mt_bench_human_judgments_turn1"
VOTES_FILE = "human_judgments_turn1.jsonl"
COMPANION_FOLDER = "position_bias_mtbench_devbench"
COMPANION_FILES = ("mtbench_questions.jsonl", "mtbench_answers.jsonl")
LICENCE = "CC BY 4.0 (LMSYS, Zheng et al. 2023); attribute the MT-Bench paper"
DESCRIPTION = "MT-Bench expert/author pairwise votes on turn-1 answers of 6 models (1,689 votes, 80 questions)"
# The copy in the workplace data folder (a field subset of the CC BY 4.0 release's `human` split).
UPSTREAM_URL = (
    "https://raw.githubusercontent.com/cprentice9/eval-platform/"
    "a138b749b2eb55903ceb1dfcfc378a82dc464307/data/mt_bench/human_judgments.jsonl"
)
UPSTREAM = f"LMSYS mt_bench_human_judgments (copy: {UPSTREAM_URL})"
SHA256 = "70a9b554139059533d2e26df393865fc8fb00c33a6ab1c7448782dd5e4c5d18e"

WINNER_TO_PREFERENCE = {"model_a": "a", "model_b": "b", "tie": "tie"}


def download(target: Path) -> None:
    """Fetch the turn-1 vote file and check it is byte-identical to the offline copy."""
    data = _base.http_get(UPSTREAM_URL)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise ValueError(f"downloaded {UPSTREAM_URL} has sha256 {digest}, expected {SHA256}")
    (Path(target) / VOTES_FILE).write_bytes(data)


def find_companion(directory: Path) -> Path | None:
    """The Judging-the-Judges folder with the MT-Bench questions and answers, if present:
    beside this dataset's folder, under $JUDGELAB_DATA, or in the judgelab cache."""
    places = [directory.parent / COMPANION_FOLDER]
    env = config.data_env_dir()
    if env is not None:
        places.append(env / COMPANION_FOLDER)
    places.append(_base.default_cache_root() / "judging_the_judges")
    for p in places:
        if _base.has_files(p, COMPANION_FILES):
            return p.resolve()
    return None


def depends(directory: Path) -> list[Path]:
    """The companion folder read with the votes (part of the in-memory cache key)."""
    comp = find_companion(Path(directory))
    return [comp] if comp is not None else []


def read(directory: Path, companion: Path | str | bool | None = None) -> Dataset:
    """``companion``: the folder with mtbench_questions.jsonl / mtbench_answers.jsonl;
    None = look for it (:func:`find_companion`); False = votes only."""
    directory = Path(directory)
    votes_path = directory / VOTES_FILE
    votes = pd.read_json(votes_path, lines=True, dtype=False)
    _base.require_columns(
        votes, ("question_id", "judge", "model_a", "model_b", "winner"), VOTES_FILE
    )
    bad = ~votes["winner"].isin(list(WINNER_TO_PREFERENCE))
    if bad.any():
        raise DataError(
            VOTES_FILE,
            "winner",
            "winner not in {model_a, model_b, tie}",
            [int(i) for i in np.flatnonzero(bad)],
        )
    qid = votes["question_id"].astype(int).astype(str)
    votes = votes.assign(item_id=qid)

    if companion is None or companion is True:
        companion = find_companion(directory)
    elif companion is False:
        companion = None
    else:
        companion = Path(companion).expanduser()
        if not _base.has_files(companion, COMPANION_FILES):
            raise DataError(
                "mt_bench_human",
                None,
                f"companion folder {companion} lacks {', '.join(COMPANION_FILES)}",
            )
    questions = answers = None
    files = [votes_path]
    if companion is not None:
        questions = pd.read_json(companion / "mtbench_questions.jsonl", lines=True, dtype=False)
        answers = pd.read_json(companion / "mtbench_answers.jsonl", lines=True, dtype=False)
        _base.require_columns(
            questions, ("question_id", "task", "question_1"), "mtbench_questions.jsonl"
        )
        _base.require_columns(
            answers, ("question_id", "model", "answer_1"), "mtbench_answers.jsonl"
        )
        files += [companion / f for f in COMPANION_FILES]

    # items
    item_ids = sorted(votes["item_id"].unique(), key=int)
    items = pd.DataFrame({"item_id": item_ids, "question_id": [int(i) for i in item_ids]})
    if questions is not None:
        q = questions.assign(question_id=questions["question_id"].astype(int))
        q = q.rename(columns={"question_1": "prompt", "task": "category"})
        cols = ["question_id", "prompt", "category"]
        if "reference_answer_1" in q.columns:
            q = q.rename(columns={"reference_answer_1": "reference"})
            cols.append("reference")
        items = items.merge(q[cols], on="question_id", how="left")
    else:
        items["prompt"] = None

    # responses: every (question, model) voted on
    pairs = pd.concat(
        [
            votes[["item_id", "model_a"]].rename(columns={"model_a": "generator"}),
            votes[["item_id", "model_b"]].rename(columns={"model_b": "generator"}),
        ]
    ).drop_duplicates()
    pairs = pairs.sort_values(["item_id", "generator"], key=lambda s: s.map(_sort_key)).reset_index(
        drop=True
    )
    pairs["response_id"] = pairs["item_id"] + ":" + pairs["generator"]
    if answers is not None:
        a = answers.assign(item_id=answers["question_id"].astype(int).astype(str))
        a = a.rename(columns={"model": "generator", "answer_1": "text"})[
            ["item_id", "generator", "text"]
        ]
        pairs = pairs.merge(
            a.drop_duplicates(["item_id", "generator"]), on=["item_id", "generator"], how="left"
        )
    else:
        pairs["text"] = None
    responses = pairs[["response_id", "item_id", "generator", "text"]]

    preferences = pd.DataFrame(
        {
            "item_id": votes["item_id"],
            "response_a": votes["item_id"] + ":" + votes["model_a"],
            "response_b": votes["item_id"] + ":" + votes["model_b"],
            "rater_id": votes["judge"].astype(str),
            "preference": votes["winner"].map(WINNER_TO_PREFERENCE),
            "rater_group": votes["judge"].astype(str).str.split("_").str[0],
        }
    )

    n_text = int(responses["text"].map(lambda t: isinstance(t, str) and bool(t.strip())).sum())
    meta = {
        "turn": 1,
        "upstream": UPSTREAM,
        "companion": str(companion) if companion is not None else None,
        "texts": (
            f"{n_text} of {len(responses)} responses have the turn-1 answer text (from {companion})"
            if companion is not None
            else f"no answer texts: companion folder '{COMPANION_FOLDER}' not found (votes only)"
        ),
        "preference_columns": {"rater_group": "expert | author"},
    }
    return Dataset(
        name=NAME,
        items=items,
        responses=responses,
        preferences=preferences,
        description=DESCRIPTION,
        licence=LICENCE,
        path=directory,
        meta=meta,
        sha256=_base.sha256_of_files(files),
    )


def _sort_key(v):
    return int(v) if isinstance(v, str) and v.isdigit() else v
