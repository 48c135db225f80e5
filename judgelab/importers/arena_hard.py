"""Arena-Hard-Auto v0.1 judgments: ``model_judgment/<judge>/<model>.jsonl``.

One line per question: ``question_id``, ``model``, ``judge`` and ``games``, a list of two games
``{user_prompt, judgment, score}``. Game 1 shows the baseline as Assistant A (order ``ab``: the
stored pair is (baseline, model)); game 2 shows the model as A (order ``ba``). ``score`` is the
label the tool parsed from the judgment, relative to the displayed A / B: ``A>>B`` and ``A>B``
are choice A with ``strength`` 2 / 1 (the verdict schema's number: 2 for ``>>``), ``A=B`` a tie, ``B>A`` / ``B>>A`` choice B; null
(or a label outside this set) is unparsed.

The baseline is not named in the file: ``baseline`` (default ``gpt-4-0314``, the v0.1
baseline). The judge is the record's ``judge`` field (else the folder name, which Arena-Hard names after
the judge); it may differ from the folder name (``gemini-1.5-pro-api-preview`` in
``gemini-1.5-pro-api-0514/``): both are in the report.
``judge_version`` is ``arena-hard-v0.1``.

Arena-Hard-Auto v2 files (``uid`` instead of ``question_id``, a ``baseline`` field, judgments
as objects) are refused with a message: their layout differs and is not supported yet.
"""

from __future__ import annotations

from pathlib import Path

from judgelab.importers._common import (
    DatasetBuilder,
    ImportFormatError,
    between,
    read_jsonl,
)

BACKEND = "arena_hard"
JUDGE_VERSION = "arena-hard-v0.1"
DEFAULT_BASELINE = "gpt-4-0314"
SKIP_NOT_OBJECT = "not a judgment object"
SKIP_NO_GAMES = "no games"

#: label -> (displayed choice, strength)
LABELS: dict[str, tuple[str, int | None]] = {
    "A>>B": ("A", 2),
    "A>B": ("A", 1),
    "A=B": ("tie", None),
    "B=A": ("tie", None),
    "B>A": ("B", 1),
    "B>>A": ("B", 2),
    "A<B": ("B", 1),
    "A<<B": ("B", 2),
    "B<A": ("A", 1),
    "B<<A": ("A", 2),
}


def response_id_of(question_id, model) -> str:
    return f"{question_id}|{model}"


def _is_v2(rec: dict, path: Path) -> bool:
    return "uid" in rec or "baseline" in rec or "arena-hard-v2" in str(path)


def read(
    builder: DatasetBuilder, path: Path, baseline: str = DEFAULT_BASELINE, judge: str | None = None
) -> None:
    """Import one Arena-Hard-Auto v0.1 judgment file. ``judge`` overrides the record's own."""
    rows = read_jsonl(path)
    fc = builder.open_file(path)
    folder = path.parent.name
    judges_seen: set[str] = set()
    for n, rec in enumerate(rows):
        fc.records_read += 1
        if not isinstance(rec, dict):
            fc.skipped[SKIP_NOT_OBJECT] += 1
            continue
        if _is_v2(rec, path):
            raise ImportFormatError(
                f"{path}: this is an Arena-Hard-Auto v2 judgment file (uid / baseline fields); "
                "only the v0.1 layout (question_id, games with A>>B labels) is supported"
            )
        if "question_id" not in rec or "games" not in rec:
            raise ImportFormatError(
                f"{path}, line {n + 1}: not an Arena-Hard-Auto judgment (needs question_id and "
                f"games; keys {sorted(rec)})"
            )
        games = rec.get("games") or []
        if not games:
            fc.skipped[SKIP_NO_GAMES] += 1
            continue
        judge_model = judge or rec.get("judge") or folder
        judges_seen.add(judge_model)
        qid, model = str(rec["question_id"]), rec.get("model") or path.stem
        first = games[0].get("user_prompt", "")
        item = builder.add_item(
            qid, between(first, "<|User Prompt|>\n", "\n\n<|The Start of Assistant A")
        )
        base_text = between(
            first,
            "<|The Start of Assistant A's Answer|>\n",
            "\n<|The End of Assistant A's Answer|>",
        )
        model_text = between(
            first,
            "<|The Start of Assistant B's Answer|>\n",
            "\n<|The End of Assistant B's Answer|>",
        )
        ra = builder.add_response(response_id_of(qid, baseline), item, baseline, base_text)
        rb = builder.add_response(response_id_of(qid, model), item, model, model_text)
        for g, game in enumerate(games[:2]):
            order = "ab" if g == 0 else "ba"
            label = game.get("score")
            choice, strength = (
                LABELS.get(label, (None, None)) if isinstance(label, str) else (None, None)
            )
            builder.add_verdict(
                model=judge_model,
                backend=BACKEND,
                judge_version=JUDGE_VERSION,
                protocol="pairwise",
                item_id=item,
                response_a=ra,
                response_b=rb,
                order=order,
                sample=0,
                raw_output=game.get("judgment"),
                choice=choice,  # the winner is derived by the verdict schema (stats.units)
                parse_ok=choice is not None,
                strength=strength,
                source_label=label,
                source_file=str(path),
                source_record=n,
            )
        if len(games) > 2:
            builder.warn(f"{path}, line {n + 1}: {len(games)} games; the first two were imported")
        fc.imported += 1
    fc.notes.update(
        {"judge_folder": folder, "judge_field": sorted(judges_seen), "baseline": baseline}
    )
