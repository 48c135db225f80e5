"""Inspect AI evaluation logs: ``.eval`` (a zip of ``header.json`` + ``samples/*.json``) and
``.json`` (one object with ``eval``, ``results`` and ``samples``). Read with ``zipfile`` and
``json``; ``inspect_ai`` is not needed.

Per sample: ``input`` is the item's prompt, ``target`` its reference, ``output`` the response of
the evaluated model ``eval.model`` and ``epoch`` the repeat (``sample = epoch - 1``; each epoch's
output is its own response, ``<item>|<model>`` for epoch 1 and ``<item>|<model>|e<k>`` after).
Each model-graded score of a sample is one ``single`` verdict: ``grade`` keeps the value as
written; ``score`` is 1 / 0.5 / 0 for C / P / I (Inspect's CORRECT / PARTIAL / INCORRECT) or the
number a numeric scorer wrote; ``N`` (no answer) and unreadable values are unparsed.

The grader: the ``model`` event inside the scorer's block of the sample's events (newer logs
bracket it with ``span_begin`` / ``span_end`` of type ``scorer``, older ones with ``step``
events), else ``eval.model_roles.grader``, else ``eval.model`` with a warning (the model then
graded itself: relation ``self``). A scorer with no grader call, no ``metadata.grading`` and no
``model_graded`` in its name is deterministic (``match``, ``includes`` ...): its scores are
skipped and counted. ``judge_version`` is the scorer name, with a hash of its options / params
when it has any. A crashed log (journal only, no ``header.json``) is refused.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from judgelab.importers._common import (
    DatasetBuilder,
    ImportFormatError,
    missing,
    read_json,
    short_hash,
)

BACKEND = "inspect_ai"
GRADE_SCORES = {"C": 1.0, "P": 0.5, "I": 0.0}
UNPARSED_GRADES = ("N",)  # NOANSWER

SKIP_DETERMINISTIC = "deterministic scorer (no grader model call)"
SKIP_NO_SCORE = "sample without a score (error or cancelled)"
SKIP_STRUCTURED = "score value is a mapping (several metrics), not one grade"


def read_log(path: Path) -> tuple[dict, list[dict]]:
    """(header, samples) of a ``.eval`` or ``.json`` log."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if "header.json" not in names:
                journal = [n for n in names if n.startswith("_journal/")]
                raise ImportFormatError(
                    f"{path}: no header.json in this .eval log ({len(journal)} journal entries): "
                    "the run crashed or is still running, so its results were never written; "
                    "re-run or recover it with Inspect (`inspect eval-retry`) and import the "
                    "finished log"
                )
            header = json.loads(z.read("header.json"))
            samples = [
                json.loads(z.read(n))
                for n in sorted(names)
                if n.startswith("samples/") and n.endswith(".json")
            ]
        return header, samples
    log = read_json(path)
    if not isinstance(log, dict) or "eval" not in log:
        raise ImportFormatError(f"{path}: not an Inspect log (no 'eval' key)")
    return log, list(log.get("samples") or [])


def _text(content) -> str | None:
    """Text of a message content (a string or a list of content parts)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [c.get("text", "") for c in content if isinstance(c, dict) and c.get("text")]
        return "\n".join(parts)
    return str(content)


def _prompt(inp) -> str | None:
    if isinstance(inp, list):
        users = [_text(m.get("content")) for m in inp if m.get("role", "user") == "user"]
        return "\n\n".join(t for t in users if t)
    return _text(inp)


def _completion(output) -> str | None:
    if not isinstance(output, dict):
        return None
    if output.get("completion"):
        return output["completion"]
    choices = output.get("choices") or []
    if choices:
        return _text((choices[0].get("message") or {}).get("content"))
    return None


def scorer_models(events: list[dict]) -> dict[str, str]:
    """Scorer name -> the model of the first ``model`` event inside that scorer's block."""
    out: dict[str, str] = {}
    span_names: dict[str, str] = {}  # open scorer span id -> scorer name
    current: list[str] = []
    for ev in events or []:
        kind = ev.get("event")
        if kind == "span_begin" and ev.get("type") == "scorer":
            span_names[ev.get("id")] = ev.get("name")
            current.append(ev.get("name"))
        elif kind == "span_end" and ev.get("id") in span_names:
            name = span_names.pop(ev.get("id"))
            if name in current:
                current.remove(name)
        elif kind == "step" and ev.get("type") == "scorer":
            if ev.get("action") == "begin":
                current.append(ev.get("name"))
            elif ev.get("name") in current:
                current.remove(ev.get("name"))
        elif kind == "model" and current and ev.get("model"):
            out.setdefault(current[-1], ev["model"])
    return out


def _scorer_configs(eval_spec: dict, results: dict) -> dict[str, dict]:
    """Scorer name -> its options / params (from eval.scorers, else results.scores)."""
    out: dict[str, dict] = {}
    for s in eval_spec.get("scorers") or []:
        out[s.get("name")] = s.get("options") or {}
    for s in (results or {}).get("scores") or []:
        name = s.get("scorer") or s.get("name")
        if not out.get(name):
            out[name] = s.get("params") or {}
    return out


def _grade(value) -> tuple[float | None, str | None, bool]:
    """(score, grade as written, parsed) of a score value."""
    if isinstance(value, bool):
        return float(value), str(value), True
    if isinstance(value, (int, float)) and not missing(value):
        return float(value), str(value), True
    if isinstance(value, str):
        v = value.strip()
        if v in GRADE_SCORES:
            return GRADE_SCORES[v], v, True
        if v in UNPARSED_GRADES:
            return None, v, False
        try:
            return float(v), v, True
        except ValueError:
            return None, v, False
    return None, None if value is None else str(value), False


def read(builder: DatasetBuilder, path: Path) -> None:
    """Import one Inspect log."""
    header, samples = read_log(path)
    spec = header.get("eval") or {}
    results = header.get("results") or {}
    task = spec.get("task") or path.stem
    generator = spec.get("model")
    configs = _scorer_configs(spec, results)
    roles = spec.get("model_roles") or {}
    role_grader = roles.get("grader")
    if isinstance(role_grader, dict):
        role_grader = role_grader.get("model")
    if header.get("status") not in (None, "success"):
        builder.warn(f"{path}: log status is '{header.get('status')}'; imported what it holds")
    fc = builder.open_file(path)
    self_graded = set()
    for smp in samples:
        scores = smp.get("scores") or {}
        if not scores:
            fc.records_read += 1
            fc.skipped[SKIP_NO_SCORE] += 1
            continue
        epoch = int(smp.get("epoch") or 1)
        item = builder.add_item(
            f"{task}/{smp.get('id')}",
            _prompt(smp.get("input")),
            reference=_reference(smp.get("target")),
            category=task,
        )
        rid = f"{item}|{generator}" + ("" if epoch == 1 else f"|e{epoch}")
        builder.add_response(rid, item, generator, _completion(smp.get("output")))
        graders = scorer_models(smp.get("events") or [])
        for name, score in scores.items():
            fc.records_read += 1
            grading = (score.get("metadata") or {}).get("grading")
            model_graded = name in graders or grading is not None or "model_graded" in name
            if not model_graded:
                fc.skipped[SKIP_DETERMINISTIC] += 1
                continue
            if isinstance(score.get("value"), dict):
                fc.skipped[SKIP_STRUCTURED] += 1
                continue
            grader = graders.get(name) or role_grader
            if grader is None:
                grader = generator
                self_graded.add(name)
            value, grade, parsed = _grade(score.get("value"))
            options = configs.get(name) or {}
            builder.add_verdict(
                model=grader,
                backend=BACKEND,
                judge_version=name if not options else f"{name}-{short_hash(options)}",
                protocol="single",
                item_id=item,
                response_id=rid,
                sample=epoch - 1,
                raw_output=score.get("explanation"),
                score=value,
                parse_ok=parsed,
                grade=grade,
                source_file=str(path),
                source_record=f"{smp.get('id')}/epoch{epoch}/{name}",
            )
            fc.imported += 1
    for name in sorted(self_graded):
        builder.warn(
            f"{path}: scorer '{name}' names no grader (no model call in its events, no grader "
            f"role): its grader is taken to be the evaluated model {generator}, so these "
            "verdicts are self-grading (relation self)"
        )
    fc.notes.update(
        {
            "task": task,
            "model": generator,
            "samples": len(samples),
            "results": {
                s.get("name"): {k: m.get("value") for k, m in (s.get("metrics") or {}).items()}
                for s in results.get("scores") or []
            },
        }
    )


def _reference(target) -> str | None:
    if isinstance(target, list):
        return "\n".join(map(str, target))
    return None if target is None else str(target)
