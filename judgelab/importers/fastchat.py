"""FastChat ``llm_judge`` judgments: ``model_judgment/<judge>_pair.jsonl`` and ``*_single.jsonl``.

Pairwise rows hold two games: game 1 shows ``model_1`` as Assistant A (order ``ab``), game 2
shows ``model_2`` as A (order ``ba``). ``g1_winner`` / ``g2_winner`` are already mapped back to
``model_1`` / ``model_2`` / ``tie``; ``error`` means FastChat could not parse the judgment
(``parse_ok = false``). The displayed choice is recomputed from the winner and the order and
cross-checked against the judgment's last ``[[A]]`` / ``[[B]]`` / ``[[C]]``; disagreements are
counted in the report. ``judge = [model, prompt name]``: the judge model is the first element and
``judge_version`` the prompt name (``pair-v2``, ``pair-math-v1``): one identity per prompt,
never pooled (reference-guided math prompts are another instrument).

Single rows: a 1-10 ``score`` of ``model``'s answer to (question, turn), ``-1`` when FastChat
could not parse a rating (``parse_ok = false``). Items are (question, turn): ``<qid>`` for turn 1,
``<qid>-t2`` for turn 2.

Response texts and question texts are cut from the judge prompts where the standard FastChat
templates are recognised (the answer files themselves are not needed).
"""

from __future__ import annotations

import re
from pathlib import Path

from judgelab.importers._common import (
    DatasetBuilder,
    ImportFormatError,
    between,
    missing,
    read_jsonl,
)

BACKEND = "fastchat"
SKIP_NOT_OBJECT = "not a judgment object"
SINGLE_SCALE = (1.0, 10.0)  # FastChat's single-answer grading

_VERDICT = re.compile(r"\[\[(A|B|C)\]\]")
_RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")


def item_id_of(question_id, turn) -> str:
    turn = int(turn or 1)
    return str(question_id) if turn == 1 else f"{question_id}-t{turn}"


def response_id_of(question_id, turn, model) -> str:
    return f"{item_id_of(question_id, turn)}|{model}"


def last_label(judgment: str) -> str | None:
    """The last ``[[A]]``/``[[B]]``/``[[C]]`` of a judgment as A / B / tie, or None."""
    found = _VERDICT.findall(judgment or "")
    return {"A": "A", "B": "B", "C": "tie"}[found[-1]] if found else None


def _judge(rec: dict, path: Path) -> tuple[str, str]:
    judge = rec.get("judge")
    if not (isinstance(judge, (list, tuple)) and len(judge) >= 2):
        raise ImportFormatError(
            f"{path}: 'judge' should be [judge model, prompt name], not {judge!r}"
        )
    return str(judge[0]), str(judge[1])


def _question(prompt: str) -> str | None:
    for start in ("[User Question]\n", "[Question]\n"):
        q = between(prompt, start, "\n\n[The Start of")
        if q is not None:
            return q
    return None


def _reference(prompt: str) -> str | None:
    return between(prompt, "[The Start of Reference Answer]\n", "\n[The End of Reference Answer]")


def _answer(prompt: str, who: str) -> str | None:
    return between(prompt, f"[The Start of {who}'s Answer]\n", f"\n[The End of {who}'s Answer]")


def read(builder: DatasetBuilder, path: Path) -> None:
    """Import one FastChat judgment file (pair or single, told apart by its fields)."""
    rows = read_jsonl(path)
    fc = builder.open_file(path)
    disagreements = []
    for n, rec in enumerate(rows):
        fc.records_read += 1
        if not isinstance(rec, dict):
            fc.skipped[SKIP_NOT_OBJECT] += 1
            continue
        if "g1_winner" in rec:
            if _pair(builder, rec, path, n):
                disagreements.append(n)
        elif "score" in rec and "model" in rec:
            _single(builder, rec, path, n)
        else:
            raise ImportFormatError(
                f"{path}, line {n + 1}: neither a FastChat pair judgment (g1_winner, g2_winner) "
                f"nor a single judgment (model, score); keys {sorted(rec)}"
            )
        fc.imported += 1
    if disagreements:
        fc.notes["winner_vs_judgment_label_disagreements"] = disagreements


def _pair(builder: DatasetBuilder, rec: dict, path: Path, n: int) -> bool:
    """Two verdict rows (one per game); True when a game's winner disagrees with its text."""
    model, prompt_name = _judge(rec, path)
    qid, turn = rec["question_id"], rec.get("turn", 1)
    m1, m2 = rec["model_1"], rec["model_2"]
    p1 = rec.get("g1_user_prompt", "")
    item = builder.add_item(item_id_of(qid, turn), _question(p1), reference=_reference(p1))
    ids = {
        "model_1": builder.add_response(
            response_id_of(qid, turn, m1), item, m1, _answer(p1, "Assistant A")
        ),
        "model_2": builder.add_response(
            response_id_of(qid, turn, m2), item, m2, _answer(p1, "Assistant B")
        ),
    }
    disagree = False
    for game, order in (("g1", "ab"), ("g2", "ba")):
        w = rec.get(f"{game}_winner")
        parsed = w in ("model_1", "model_2", "tie")
        winner = choice = None
        if parsed:
            winner = "tie" if w == "tie" else ids[w]
            shown_first = "model_1" if order == "ab" else "model_2"
            choice = "tie" if w == "tie" else ("A" if w == shown_first else "B")
        label = last_label(rec.get(f"{game}_judgment"))
        if parsed and label is not None and label != choice:
            disagree = True
        builder.add_verdict(
            model=model,
            backend=BACKEND,
            judge_version=prompt_name,
            protocol="pairwise",
            item_id=item,
            response_a=ids["model_1"],
            response_b=ids["model_2"],
            order=order,
            sample=0,
            raw_output=rec.get(f"{game}_judgment"),
            choice=choice,
            winner=winner,
            parse_ok=parsed,
            source_label=w,
            source_file=str(path),
            source_record=n,
        )
    return disagree


def _single(builder: DatasetBuilder, rec: dict, path: Path, n: int) -> None:
    model, prompt_name = _judge(rec, path)
    builder.scale = SINGLE_SCALE
    qid, turn, gen = rec["question_id"], rec.get("turn", 1), rec["model"]
    prompt = rec.get("user_prompt", "")
    first_turn = int(turn or 1) == 1  # later turns embed the whole conversation: no cut
    item = builder.add_item(
        item_id_of(qid, turn),
        _question(prompt) if first_turn else None,
        reference=_reference(prompt) if first_turn else None,
    )
    answer = _answer(prompt, "Assistant") if first_turn else None
    rid = builder.add_response(response_id_of(qid, turn, gen), item, gen, answer)
    score = rec.get("score")
    parsed = not missing(score) and float(score) >= 0  # FastChat writes -1 when unparsed
    builder.add_verdict(
        model=model,
        backend=BACKEND,
        judge_version=prompt_name,
        protocol="single",
        item_id=item,
        response_id=rid,
        sample=0,
        raw_output=rec.get("judgment"),
        score=float(score) if parsed else None,
        parse_ok=parsed,
        source_label=score,
        source_file=str(path),
        source_record=n,
    )
