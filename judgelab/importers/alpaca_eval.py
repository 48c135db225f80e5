"""AlpacaEval ``results/<model>/<annotator>/annotations.json`` (a JSON array of annotations).

Each annotation compares ``output_1`` (``generator_1``, usually the baseline) with ``output_2``
(``generator_2``). ``preference`` is 1 (output_1 better) or 2 (output_2 better); in
logprob-weighted files it is continuous, 1 + P(output_2 better). AlpacaEval shows the two
outputs in a random order and maps the verdict back, so the display order is recovered:

* CoT / function-calling files: ``referenced_models`` maps the prompt's ``m`` (always shown
  first) and ``M`` to ``output_1`` / ``output_2``;
* weighted files: the most probable of the tokens ``m`` / ``M`` at the verdict position names
  the answer the judge preferred (``m`` = the one shown first); with the side the preference
  points to, that gives which output was shown first;
* otherwise ``order = unknown`` (issue 12's value; today's ``validate()`` keeps it, studies that
  need the order drop such rows).

The file names no judge model, only the annotator configuration: :data:`ANNOTATOR_MODELS` maps
the common AlpacaEval 2 annotators to the model they called; any other annotator needs
``judge_model``. ``judge_version`` is the annotator name.

Records whose two outputs are identical are not judgments (AlpacaEval fills them without
calling the judge: 1.5 with a null completion in AlpacaEval 2, 0 in older files): they are
skipped and counted as ``identical outputs, not judged``. A preference of -1 or NaN (with
different outputs) is an unparsed judgment: imported with ``parse_ok = false``.
"""

from __future__ import annotations

import math
from pathlib import Path

from judgelab.importers._common import (
    DatasetBuilder,
    ImportFormatError,
    missing,
    read_json,
    short_hash,
)

BACKEND = "alpaca_eval"

#: Annotator configuration -> the judge model of the published AlpacaEval 2.0 results (the
#: annotations of 2024-01, "alpaca_eval 2.0"; later configs point ``gpt4_turbo`` annotators at
#: ``gpt-4-turbo``: pass ``judge_model`` for files annotated after that change).
ANNOTATOR_MODELS: dict[str, str] = {
    "weighted_alpaca_eval_gpt4_turbo": "gpt-4-1106-preview",
    "alpaca_eval_gpt4_turbo_fn": "gpt-4-1106-preview",
    "alpaca_eval_cot_gpt4_turbo_fn": "gpt-4-1106-preview",
    "weighted_alpaca_eval_cot_gpt4_turbo": "gpt-4-1106-preview",
    "weighted_alpaca_eval_gpt4.1": "gpt-4.1",
    "weighted_alpaca_eval_gpt-4o-mini-2024-07-18": "gpt-4o-mini-2024-07-18",
    "alpaca_eval_llama3_70b_fn": "meta-llama/Llama-3-70b-chat-hf",
}

SKIP_IDENTICAL = "identical outputs, not judged"
SKIP_NOT_OBJECT = "not an annotation object"

REQUIRED = ("instruction", "output_1", "generator_1", "output_2", "generator_2", "preference")


def item_id_of(instruction: str) -> str:
    """Items have no ids in AlpacaEval: the hash of the instruction, so that files of several
    annotators (or models) join on the same items."""
    return "ae-" + short_hash(instruction)


def response_id_of(instruction: str, generator: str) -> str:
    return "ae-" + short_hash(instruction, generator)


def _top_token(raw) -> str | None:
    """The more probable of ``m`` / ``M`` at the verdict token of a logprob completion."""
    try:
        content = raw["logprobs"]["content"]
    except (KeyError, TypeError):
        return None
    if not content:
        return None
    best = None
    for entry in content[0].get("top_logprobs") or []:
        tok = str(entry.get("token", "")).strip()
        if tok in ("m", "M") and (best is None or entry["logprob"] > best[1]):
            best = (tok, entry["logprob"])
    if best is None:
        tok = str(content[0].get("token", "")).strip()
        return tok if tok in ("m", "M") else None
    return best[0]


def first_shown(record: dict, preference: float | None) -> str | None:
    """``output_1`` or ``output_2``: the output shown first, or None when not recoverable."""
    ref = record.get("referenced_models")
    if isinstance(ref, dict) and ref.get("m") in ("output_1", "output_2"):
        return ref["m"]
    if preference is None or preference == 1.5:
        return None
    token = _top_token(record.get("raw_completion"))
    if token is None:
        return None
    preferred = "output_2" if preference > 1.5 else "output_1"
    other = "output_1" if preferred == "output_2" else "output_2"
    return preferred if token == "m" else other


def _preference(value) -> float | None:
    """The preference as a number in [1, 2], or None when unparsed (-1, NaN, missing)."""
    if missing(value) or isinstance(value, bool):
        return None
    try:
        p = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(p) or not 1 <= p <= 2:
        return None
    return p


def read(
    builder: DatasetBuilder,
    path: Path,
    judge_model: str | None = None,
    annotator_models: dict[str, str] | None = None,
) -> None:
    """Import one ``annotations.json`` into ``builder``."""
    data = read_json(path)
    if not isinstance(data, list):
        raise ImportFormatError(
            f"{path}: an AlpacaEval annotations file is a JSON array of annotations, "
            f"not a {type(data).__name__}"
        )
    fc = builder.open_file(path)
    known = {**ANNOTATOR_MODELS, **(annotator_models or {})}
    annotators: set[str] = set()
    for n, rec in enumerate(data):
        fc.records_read += 1
        if not isinstance(rec, dict):
            fc.skipped[SKIP_NOT_OBJECT] += 1
            continue
        absent = [k for k in REQUIRED if k not in rec]
        if absent:
            raise ImportFormatError(
                f"{path}, record {n}: not an AlpacaEval annotation (missing {absent})"
            )
        annotator = str(rec.get("annotator") or path.parent.name)
        model = judge_model or known.get(annotator)
        if model is None:
            raise ImportFormatError(
                f"{path}: annotator '{annotator}' is not in the annotator -> model map "
                f"({', '.join(sorted(known))}); the file does not name the judge model, so give "
                "it: --judge-model MODEL (Python: judge_model=...)"
            )
        annotators.add(annotator)
        instruction = rec["instruction"]
        item = builder.add_item(item_id_of(instruction), instruction, category=rec.get("dataset"))
        if rec["output_1"] == rec["output_2"]:
            fc.skipped[SKIP_IDENTICAL] += 1
            builder.notes.setdefault("identical_outputs", []).append(
                {"file": str(path), "record": n, "item_id": item}
            )
            continue
        ids = {}
        for side in ("1", "2"):
            gen = rec[f"generator_{side}"]
            ids[f"output_{side}"] = builder.add_response(
                response_id_of(instruction, gen), item, gen, rec[f"output_{side}"]
            )
        pref = _preference(rec["preference"])
        first = first_shown(rec, pref)
        order = {"output_1": "ab", "output_2": "ba", None: "unknown"}[first]
        winner = choice = None
        p_a = p_b = None
        if pref is not None:
            p2 = pref - 1.0  # the judge's probability that output_2 is better
            winner = "tie" if pref == 1.5 else ids["output_2" if pref > 1.5 else "output_1"]
            if order != "unknown":
                shown_first_won = (pref > 1.5) == (first == "output_2")
                choice = "tie" if pref == 1.5 else ("A" if shown_first_won else "B")
                p_first = p2 if first == "output_2" else 1.0 - p2
                if _top_token(rec.get("raw_completion")) is not None:  # a logprob judge
                    p_a, p_b = p_first, 1.0 - p_first
        builder.add_verdict(
            model=model,
            backend=BACKEND,
            judge_version=annotator,
            protocol="pairwise",
            item_id=item,
            response_a=ids["output_1"],
            response_b=ids["output_2"],
            order=order,
            sample=0,
            raw_output=_raw_text(rec.get("raw_completion")),
            choice=choice,
            winner=winner,
            parse_ok=pref is not None,
            p_a=p_a,
            p_b=p_b,
            source_preference=rec["preference"],
            cost_usd=rec.get("price_per_example"),
            latency_s=rec.get("time_per_example"),
            source_file=str(path),
            source_record=n,
        )
        fc.imported += 1
    fc.notes["annotators"] = sorted(annotators)


def _raw_text(raw) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    import json

    return json.dumps(raw, ensure_ascii=False)
