"""promptfoo results (``promptfoo eval -o results.json``, ``results.version`` 3).

``results.results`` holds one row per test case x prompt x provider. A row's
``gradingResult.componentResults`` holds one entry per assertion (nested ``assert-set``s hold
their own ``componentResults``). A *record* is one top-level component (plus nested components
that promptfoo did not also list at the top level), so records = the tool's
``assertPassCount + assertFailCount``. Rows that errored before grading count as one skipped
record each.

Each model-graded assertion becomes one ``single`` verdict on the row's response (item =
test x prompt, response = the provider's output): ``score`` is the assertion's score, ``passed``
its pass flag and ``pass_means`` says what a pass means for that type (in red-team runs a pass
means the application was *safe*). The assertion type comes from the component's
``assertion``, else from ``testCase.assert`` (the only assertion, or the one whose ``metric``
is the row's only named score), never from the position. Deterministic assertions
(``contains``, ``cost``, ``latency``, ...) and ``assert-set`` aggregates are skipped and counted.

No grader is named in the files unless the configuration says so: the assertion's
``provider``, else the test's or ``config.defaultTest.options.provider``, else ``grader_model``,
else ``unknown``. ``judge_version`` is the assertion type, with a hash of its rubric / threshold
when it has any.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from judgelab.importers._common import (
    UNKNOWN_JUDGE,
    DatasetBuilder,
    ImportFormatError,
    read_json,
    short_hash,
)

BACKEND = "promptfoo"
SUPPORTED_VERSIONS = (3,)

#: Assertion types graded by an LLM, and what a pass means.
MODEL_GRADED: dict[str, str] = {
    "llm-rubric": "the grader judged that the output meets the rubric",
    "model-graded-closedqa": "the grader judged that the output meets the criterion",
    "model-graded-factuality": "the grader judged the output consistent with the reference",
    "factuality": "the grader judged the output consistent with the reference",
    "answer-relevance": "the output is relevant to the query (LLM-generated questions, "
    "embedding similarity at least the threshold)",
    "context-faithfulness": "the grader judged the output faithful to the context",
    "context-recall": "the grader judged the reference recalled by the context",
    "context-relevance": "the grader judged the context relevant to the query",
    "conversation-relevance": "the grader judged the conversation relevant",
    "g-eval": "the grader's G-Eval score reached the threshold",
    "select-best": "the grader picked this output as the best",
    "search-rubric": "the grader (with web search) judged that the output meets the rubric",
}
REDTEAM_PREFIX = "promptfoo:redteam:"
REDTEAM_PASS = "the application was safe: the grader found no harmful / policy-violating output"

SKIP_DETERMINISTIC = "deterministic assertion (not graded by a model)"
SKIP_ASSERT_SET = "assert-set aggregate (its assertions are counted one by one)"
SKIP_UNKNOWN_TYPE = "assertion type not recoverable (no assertion, several candidates)"
SKIP_ERROR_ROW = "row errored before grading (no gradingResult)"


def pass_means(kind: str) -> str | None:
    """What a pass means for an assertion type, or None when it is not model-graded."""
    negated = kind.startswith("not-")
    base = kind[4:] if negated else kind
    if base.startswith(REDTEAM_PREFIX):
        meaning = REDTEAM_PASS
    else:
        meaning = MODEL_GRADED.get(base)
    if meaning is None:
        return None
    return f"negated: the opposite of '{meaning}'" if negated else meaning


def _provider_name(p) -> str | None:
    if p is None:
        return None
    if isinstance(p, str):
        return p
    if isinstance(p, dict):
        if p.get("id"):
            return str(p["id"])
        for key in ("text", "chat", "classification"):
            if key in p:
                return _provider_name(p[key])
    return None


def _flatten(asserts) -> list[dict]:
    out = []
    for a in asserts or []:
        if isinstance(a, dict):
            out.append(a)
            if a.get("type") == "assert-set":
                out.extend(_flatten(a.get("assert")))
    return out


def _assertion_of(comp: dict, row: dict) -> dict | None:
    """The assertion a component grades: its own, else recovered from the test case."""
    if isinstance(comp.get("assertion"), dict) and comp["assertion"].get("type"):
        return comp["assertion"]
    top = [a for a in (row.get("testCase") or {}).get("assert") or [] if isinstance(a, dict)]
    if len(top) == 1:
        return top[0]
    named = comp.get("namedScores") or row.get("namedScores") or {}
    if len(named) == 1:
        metric = next(iter(named))
        hits = [a for a in _flatten(top) if a.get("metric") == metric]
        if len(hits) == 1:
            return hits[0]
    return None


def _key(comp: dict) -> str:
    return json.dumps(
        [comp.get("assertion"), comp.get("pass"), comp.get("score"), comp.get("reason")],
        sort_keys=True,
        default=str,
    )


def _components(grading: dict) -> list[dict]:
    """Top-level components, then nested ones not also listed at the top level."""
    top = [c for c in grading.get("componentResults") or [] if isinstance(c, dict)]
    seen = {_key(c) for c in top}
    out = list(top)
    stack = [c for c in top if c.get("componentResults")]
    while stack:
        parent = stack.pop()
        for c in parent.get("componentResults") or []:
            if isinstance(c, dict) and _key(c) not in seen:
                seen.add(_key(c))
                out.append(c)
                if c.get("componentResults"):
                    stack.append(c)
    if not top and "pass" in grading:  # a single assertion promptfoo did not break down
        out = [grading]
    return out


def read(builder: DatasetBuilder, path: Path, grader_model: str | None = None) -> None:
    """Import one promptfoo results file."""
    doc = read_json(path)
    res = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(res, dict) or "results" not in res:
        raise ImportFormatError(f"{path}: not a promptfoo results file (no results.results)")
    version = res.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise ImportFormatError(
            f"{path}: promptfoo results version {version!r} is not supported "
            f"(supported: {SUPPORTED_VERSIONS}); re-export with a recent promptfoo"
        )
    config = doc.get("config") or {}
    default_grader = _provider_name(
        ((config.get("defaultTest") or {}).get("options") or {}).get("provider")
    )
    eval_id = doc.get("evalId") or path.stem
    fc = builder.open_file(path)
    by_type: Counter = Counter()
    verdict_counts = Counter()
    rows = res.get("results") or []
    for n, row in enumerate(rows):
        grading = row.get("gradingResult")
        if not isinstance(grading, dict):
            fc.records_read += 1
            fc.skipped[SKIP_ERROR_ROW] += 1
            continue
        verdict_counts["row_pass" if row.get("success") else "row_fail"] += 1
        test_idx, prompt_idx = row.get("testIdx", n), row.get("promptIdx", 0)
        item = builder.add_item(
            f"{eval_id}/t{test_idx}/p{prompt_idx}",
            (row.get("prompt") or {}).get("raw"),
            category=((row.get("testCase") or {}).get("metadata") or {}).get("pluginId"),
        )
        provider = _provider_name(row.get("provider")) or "unknown-provider"
        rid = builder.add_response(
            f"{item}|{provider}", item, provider, (row.get("response") or {}).get("output")
        )
        test_grader = _provider_name(
            ((row.get("testCase") or {}).get("options") or {}).get("provider")
        )
        for k, comp in enumerate(_components(grading)):
            fc.records_read += 1
            if comp.get("componentResults") and not comp.get("assertion"):
                by_type["assert-set"] += 1
                fc.skipped[SKIP_ASSERT_SET] += 1
                continue
            assertion = _assertion_of(comp, row)
            if assertion is None:
                fc.skipped[SKIP_UNKNOWN_TYPE] += 1
                continue
            kind = str(assertion.get("type"))
            by_type[kind] += 1
            if kind == "assert-set":
                fc.skipped[SKIP_ASSERT_SET] += 1
                continue
            meaning = pass_means(kind)
            if meaning is None:
                fc.skipped[SKIP_DETERMINISTIC] += 1
                continue
            grader = (
                _provider_name(assertion.get("provider"))
                or test_grader
                or default_grader
                or grader_model
                or UNKNOWN_JUDGE
            )
            settings = {
                k2: v for k2, v in assertion.items() if k2 not in ("type", "metric", "weight")
            }
            passed = comp.get("pass")
            builder.add_verdict(
                model=grader,
                backend=BACKEND,
                judge_version=kind if not settings else f"{kind}-{short_hash(settings)}",
                protocol="single",
                item_id=item,
                response_id=rid,
                sample=0,
                raw_output=comp.get("reason"),
                score=comp.get("score"),
                parse_ok=passed is not None,
                passed=passed,
                grade=None if passed is None else ("pass" if passed else "fail"),
                pass_means=meaning,
                metric=assertion.get("metric"),
                assertion_type=kind,
                source_file=str(path),
                source_record=f"row {n} component {k}",
            )
            fc.imported += 1
    if any(r.get("gradingResult") for r in rows) and grader_model is None and not default_grader:
        builder.notes.setdefault("grader", "not named in the file: recorded as unknown")
    fc.notes.update(
        {
            "eval_id": eval_id,
            "assertion_types": dict(by_type),
            "rows_passed": verdict_counts["row_pass"],
            "rows_failed": verdict_counts["row_fail"],
            "stats": {k: res.get("stats", {}).get(k) for k in ("successes", "failures", "errors")},
        }
    )
