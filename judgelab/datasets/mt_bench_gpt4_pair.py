"""``mt_bench_gpt4_pair_and_human``: MT-Bench expert/author votes on both turns, joined
with GPT-4's pairwise verdict on the same question, model pair and turn.

Source: Vibhanshu-555/Human-Aligned-LLM-Evaluation-Audit, commit d85394d7 (repository MIT),
``data/processed/human_gpt_comparison.zip``; its content is LMSYS
``mt_bench_human_judgments`` (splits ``human`` and ``gpt4_pair``; Zheng et al., "Judging
LLM-as-a-Judge with MT-Bench and Chatbot Arena", NeurIPS 2023 Datasets & Benchmarks),
CC BY 4.0. Local folder ``mt_bench_gpt4_pair_and_human/``.

Upstream joined the two splits on (question, model_a, model_b) without the turn, so the
file crosses every human vote with GPT-4's verdicts on both turns (3,502 rows = 1,751 votes
x 2). The loader deduplicates as the folder's SOURCE.md says: a human vote is kept on the
row with ``turn_x == turn_y``.

Mapping into judgelab's tables:

* items: one per (question, turn), ``item_id`` = ``"<question_id>-t<turn>"`` (``"81-t2"``);
  ``prompt`` = the user message of that turn (turn 2 follows up on turn 1: the turn-1
  question is in ``prompt_turn1``); ``category``; extra ``question_id``, ``turn``.
* responses: ``"<item_id>:<model>"``, ``generator`` = the model, ``text`` = its answer in
  that turn (from the file's conversations).
* preferences: one row per human vote (1,751), ``response_a`` = ``model_a``,
  ``rater_id`` = the annotator (``expert_N`` / ``author_N``), ``preference`` a | b | tie,
  extra ``rater_group`` expert | author.
* verdicts: one row per GPT-4 verdict (question, pair, turn): ``model`` ``gpt-4``,
  ``backend`` ``published``, ``judge_version`` ``mt-bench-gpt4_pair`` (the file does not name
  FastChat's prompt), ``judge_family`` ``openai``, ``protocol`` pairwise, ``response_a`` =
  ``model_a``. GPT-4's verdict is already aggregated over both presentation orders, so
  ``order`` = ``both``; ``choice`` A | B | tie relative to the stored pair, ``winner`` the
  response id or ``tie``; ``tie (inconsistent)`` (the two orders disagreed) is a tie with
  the extra column ``order_consistent`` False (True otherwise); ``verdict_source`` keeps
  the upstream value. ``parse_ok`` True throughout (the split holds no failures).
  Verdicts of the whole file are kept (1,240), including the 8 whose turn has no human
  vote in the file (they only appear on crossed rows).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab.data import VERDICT_COLUMNS, DataError, Dataset
from judgelab.datasets import _base

NAME = "mt_bench_gpt4_pair_and_human"
FOLDER = "mt_bench_gpt4_pair_and_human"
ZIP_FILE = "human_gpt_comparison.zip"
REQUIRED = (ZIP_FILE,)
LICENCE = (
    "CC BY 4.0 (LMSYS mt_bench_human_judgments, Zheng et al. 2023; attribute the MT-Bench "
    "paper); joined file MIT (Vibhanshu-555/Human-Aligned-LLM-Evaluation-Audit)"
)
DESCRIPTION = (
    "MT-Bench expert/author votes on turns 1 and 2 (1,751 after deduplication) joined with "
    "GPT-4's pairwise verdicts (aggregated over both orders, order-inconsistency flagged)"
)
COMMIT = "d85394d71800d4d5081b5a18096f581aeeac4d66"
UPSTREAM = f"github.com/Vibhanshu-555/Human-Aligned-LLM-Evaluation-Audit at {COMMIT}"
BACKEND = "published"
JUDGE_MODEL = "gpt-4"
JUDGE_VERSION = "mt-bench-gpt4_pair"
JUDGE_FAMILY = "openai"

HUMAN_TO_PREFERENCE = {"model_a": "a", "model_b": "b", "tie": "tie"}
GPT4_TO_CHOICE = {"model_a": "A", "model_b": "B", "tie": "tie", "tie (inconsistent)": "tie"}
SOURCE_COLUMNS = (
    "question_id",
    "model_a",
    "model_b",
    "winner_x",
    "judge_x",
    "turn_x",
    "category",
    "winner_y",
    "turn_y",
    "conversation_a_x",
    "conversation_b_x",
)


def read_source(directory: Path) -> pd.DataFrame:
    """The upstream table as published (3,502 crossed rows), columns checked."""
    raw = pd.read_csv(Path(directory) / ZIP_FILE, dtype={"judge_x": str})
    _base.require_columns(raw, SOURCE_COLUMNS, ZIP_FILE)
    return raw


def deduplicated(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per human vote: the row whose GPT-4 verdict is on the vote's turn."""
    return raw[raw["turn_x"] == raw["turn_y"]].reset_index(drop=True)


def _turns(conversation: str) -> list[tuple[str, str]]:
    """``"[(text, role), ...]"`` -> [(user text, assistant text), ...] per turn."""
    try:
        messages = ast.literal_eval(conversation)
    except (ValueError, SyntaxError) as exc:
        raise DataError(ZIP_FILE, "conversation_a_x", f"unreadable conversation: {exc}") from exc
    users = [t for t, role in messages if role == "user"]
    answers = [t for t, role in messages if role == "assistant"]
    return list(zip(users, answers, strict=False))


def _texts(raw: pd.DataFrame) -> pd.DataFrame:
    """``question_id, turn, model, prompt, prompt_turn1, text`` from the conversations
    (each distinct conversation parsed once)."""
    rows = []
    for side in ("a", "b"):
        conv = raw[["question_id", f"model_{side}", f"conversation_{side}_x"]].drop_duplicates(
            ["question_id", f"model_{side}"]
        )
        for qid, model, text in conv.itertuples(index=False):
            turns = _turns(text)
            for k, (question, answer) in enumerate(turns, start=1):
                rows.append(
                    {
                        "question_id": int(qid),
                        "turn": k,
                        "model": model,
                        "prompt": question,
                        "prompt_turn1": turns[0][0] if k > 1 else None,
                        "text": answer,
                    }
                )
    return pd.DataFrame(rows).drop_duplicates(["question_id", "turn", "model"])


def _item_id(qid, turn) -> pd.Series:
    return pd.Series(qid).astype(int).astype(str) + "-t" + pd.Series(turn).astype(int).astype(str)


def read(directory: Path) -> Dataset:
    directory = Path(directory)
    raw = read_source(directory)
    votes = deduplicated(raw)
    bad = ~votes["winner_x"].isin(list(HUMAN_TO_PREFERENCE))
    if bad.any():
        raise DataError(
            ZIP_FILE, "winner_x", "human winner not in {model_a, model_b, tie}", np.flatnonzero(bad)
        )
    bad = ~raw["winner_y"].isin(list(GPT4_TO_CHOICE))
    if bad.any():
        raise DataError(
            ZIP_FILE,
            "winner_y",
            "GPT-4 winner not in {model_a, model_b, tie, tie (inconsistent)}",
            np.flatnonzero(bad),
        )

    texts = _texts(raw)
    texts["item_id"] = _item_id(texts["question_id"], texts["turn"]).to_numpy()
    category = raw.drop_duplicates("question_id").set_index("question_id")["category"]
    first = texts.drop_duplicates("item_id")
    items = pd.DataFrame(
        {
            "item_id": first["item_id"],
            "prompt": first["prompt"],
            "prompt_turn1": first["prompt_turn1"],
            "category": first["question_id"].map(category),
            "question_id": first["question_id"],
            "turn": first["turn"],
        }
    ).reset_index(drop=True)
    responses = pd.DataFrame(
        {
            "response_id": texts["item_id"] + ":" + texts["model"],
            "item_id": texts["item_id"],
            "generator": texts["model"],
            "text": texts["text"],
        }
    ).reset_index(drop=True)

    item = _item_id(votes["question_id"], votes["turn_x"])
    preferences = pd.DataFrame(
        {
            "item_id": item,
            "response_a": item + ":" + votes["model_a"],
            "response_b": item + ":" + votes["model_b"],
            "rater_id": votes["judge_x"].astype(str),
            "preference": votes["winner_x"].map(HUMAN_TO_PREFERENCE),
            "rater_group": votes["judge_x"].astype(str).str.split("_").str[0],
        }
    )
    verdicts = _verdicts(raw)
    return Dataset(
        name=NAME,
        items=items,
        responses=responses,
        preferences=preferences,
        verdicts=verdicts,
        description=DESCRIPTION,
        licence=LICENCE,
        path=directory,
        meta={
            "upstream": UPSTREAM,
            "families": {JUDGE_MODEL: JUDGE_FAMILY},
            "rows_in_file": len(raw),
            "votes_deduplicated": len(votes),
            "reference": "preferences: individual MT-Bench expert/author votes (both turns)",
        },
        sha256=_base.sha256_of_files([directory / ZIP_FILE]),
    )


def _verdicts(raw: pd.DataFrame) -> pd.DataFrame:
    """GPT-4's verdicts, one per (question, pair, turn) of the whole file."""
    g = raw.drop_duplicates(["question_id", "model_a", "model_b", "turn_y", "winner_y"])
    clash = g.duplicated(["question_id", "model_a", "model_b", "turn_y"], keep=False)
    if clash.any():
        raise DataError(
            ZIP_FILE,
            "winner_y",
            "two GPT-4 verdicts for one question, pair and turn",
            np.flatnonzero(clash),
        )
    g = g.sort_values(["turn_y", "question_id", "model_a", "model_b"], kind="stable")
    item = _item_id(g["question_id"], g["turn_y"]).to_numpy()
    rid_a = item + ":" + g["model_a"].to_numpy()
    rid_b = item + ":" + g["model_b"].to_numpy()
    choice = g["winner_y"].map(GPT4_TO_CHOICE).to_numpy()
    winner = np.where(choice == "A", rid_a, np.where(choice == "B", rid_b, "tie"))
    v = pd.DataFrame(
        {
            "model": JUDGE_MODEL,
            "backend": BACKEND,
            "judge_version": JUDGE_VERSION,
            "judge_family": JUDGE_FAMILY,
            "protocol": "pairwise",
            "item_id": item,
            "response_a": rid_a,
            "response_b": rid_b,
            "response_id": None,
            # FastChat judged both orders and reports one verdict: A/B refer to the stored pair
            "order": "both",
            "sample": 0,
            "raw_output": None,
            "choice": choice,
            "winner": winner,
            "score": np.nan,
            "parse_ok": True,
            "order_consistent": (g["winner_y"] != "tie (inconsistent)").to_numpy(),
            "verdict_source": g["winner_y"].to_numpy(),
        }
    )
    return v[[*VERDICT_COLUMNS, "order_consistent", "verdict_source"]].reset_index(drop=True)
