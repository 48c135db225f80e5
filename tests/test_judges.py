"""Judge identity, templates, strict parsers, logprob fields and rubric aggregation."""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys

import pytest

from judgelab import rubric as rubric_mod
from judgelab.judges import (
    PAIRWISE_TEMPLATE,
    Judge,
    as_judges,
    endpoint_of,
    parse_pairwise,
    parse_rubric,
    parse_single,
)
from judgelab.logprobs import logprob_fields

RUBRIC = {
    "name": "r",
    "sections": [
        {"title": "Correctness", "body": "right answer", "bullets": ["a"]},
        {"title": "Clarity", "body": "clear", "bullets": []},
    ],
}

# The fresh interpreters load judgelab.judges without the package __init__ (which imports
# litellm for the simulated panel, seconds of CPU on a busy machine): the hashing code is the same.
_VERSION_SCRIPT = """
import json, sys, types
pkg = types.ModuleType("judgelab")
pkg.__path__ = [%r]
sys.modules["judgelab"] = pkg
from judgelab.judges import Judge
specs = json.loads(%r)
print(json.dumps([Judge(**s).version for s in specs]))
"""


def test_version_stable_across_interpreters_and_hash_seeds():
    specs = [
        {"model": "openai/gpt-4o"},
        {
            "model": "openai/gpt-4o",
            "rubric": RUBRIC,
            "templates": {"pairwise": PAIRWISE_TEMPLATE + "\n"},
        },
        {
            "model": "anthropic/claude-3",
            "temperature": 0.7,
            "seed": 3,
            "extra_params": {"b": 1, "a": [1, 2]},
        },
    ]
    import judgelab

    script = _VERSION_SCRIPT % (os.path.dirname(judgelab.__file__), json.dumps(specs))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=dict(os.environ, PYTHONHASHSEED=seed),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "12345")
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert outs[0] == outs[1]
    assert outs[0] == [Judge(**s).version for s in specs]
    assert len(set(outs[0])) == 3
    assert outs[0][0].startswith("gpt-4o-") and len(outs[0][0].split("-")[-1]) == 12


BASE = Judge("openai/gpt-4o")


@pytest.mark.parametrize(
    "change",
    [
        {"templates": {"system_pairwise": "Be a judge. End with [[A]] or [[B]] or [[C]]."}},
        {"templates": {"pairwise": PAIRWISE_TEMPLATE + "\nThink step by step."}},
        {"templates": {"single": "x {question} {answer} on a scale of {min} to {max}"}},
        {"templates": {"rubric": "[Rubric]\n{rubric}\n{question}{answer}"}},
        {"rubric": RUBRIC},
        {"temperature": 0.5},
        {"max_tokens": 64},
        {"seed": 1},
        {"top_p": 0.9},
        {"top_logprobs": 5},
        {"extra_params": {"presence_penalty": 0.1}},
        {"allow_tie": False},
        {"parser": "last"},
        {"pass_threshold": 0.9},
        {"warn_threshold": 0.4},
        {"name": "other"},
    ],
    ids=lambda c: next(iter(c)) + ":" + (next(iter(c["templates"])) if "templates" in c else ""),
)
def test_each_identity_setting_changes_version(change):
    assert Judge("openai/gpt-4o", **change).version != BASE.version


@pytest.mark.parametrize(
    "change",
    [
        {"api_key": "sk-abcdefgh123"},
        {"api_base": "http://127.0.0.1:1/v1"},
        {"timeout": 3},
        {"price_in": 1.0, "price_out": 2.0},
        {"rpm": 10},
        {"family": "meta"},
        {"temperature": 0},  # int and float spell the same setting
    ],
)
def test_non_identity_settings_keep_version(change):
    assert Judge("openai/gpt-4o", **change).version == BASE.version


def test_identity_string_and_family():
    j = Judge("openai/gpt-4o", api_base="http://h:1/v1/")
    assert j.api_base == "http://h:1/v1"
    assert j.identity() == f"openai/gpt-4o|openai:http://h:1/v1|{j.version}"
    assert j.identity("fallback:x") == f"openai/gpt-4o|fallback:x|{j.version}"
    assert j.family == "openai"
    assert Judge("judgelab-sim/foo", sim={"family": "basalt"}).family == "basalt"
    assert endpoint_of(Judge("judgelab-sim/foo", sim={})).prefix == "judgelab-sim"
    assert endpoint_of(Judge("openai/x")) is None
    assert Judge("openai/x", family="acme").family == "acme"


def test_api_key_hidden_from_repr_and_pickle():
    j = Judge("openai/gpt-4o", api_key="canary-KEY-123456")
    assert "canary" not in repr(j) and "canary" not in str(j)
    assert b"canary" not in pickle.dumps(j)
    assert pickle.loads(pickle.dumps(j)).version == j.version
    import copy

    assert copy.copy(j).api_key == copy.deepcopy(j).api_key == "canary-KEY-123456"
    assert "canary" not in json.dumps(j.settings())


def test_bad_settings_refused():
    with pytest.raises(ValueError, match="parser"):
        Judge("openai/x", parser="lenient")
    with pytest.raises(ValueError, match="templates"):
        Judge("openai/x", templates={"pairwize": "x"})
    with pytest.raises(ValueError, match="threshold"):
        Judge("openai/x", pass_threshold=0.3, warn_threshold=0.6)
    with pytest.raises(ValueError, match="sections"):
        Judge("openai/x", rubric={"name": "r", "sections": []})
    with pytest.raises(ValueError, match="identical"):
        as_judges(["openai/x", "openai/x"])
    with pytest.raises(ValueError, match="unknown Judge fields"):
        as_judges([{"model": "openai/x", "temprature": 1}])


def test_default_templates_carry_the_markers_the_sim_parses():
    j = Judge("openai/x")
    m = j.messages("pairwise", question="Q?", answer_a="first {x}", answer_b="second")
    user = m[-1]["content"]
    assert (
        "[User Question]\nQ?\n\n[The Start of Assistant A's Answer]\nfirst {x}\n[The End of Assistant A's Answer]"
        in user
    )
    assert "[The Start of Assistant B's Answer]\nsecond\n[The End of Assistant B's Answer]" in user
    assert "[[C]]" in m[0]["content"]
    no_tie = Judge("openai/x", allow_tie=False).messages(
        "pairwise", question="q", answer_a="a", answer_b="b"
    )
    assert "[[C]]" not in "".join(x["content"] for x in no_tie)
    s = j.messages("single", question="q", answer="ans", scale=(1.0, 10.0))[-1]["content"]
    assert "on a scale of 1 to 10" in s and "Rating: [[" in s
    assert "[The Start of Assistant's Answer]\nans\n[The End of Assistant's Answer]" in s
    r = j.messages("rubric", question="q", answer="ans", rubric=RUBRIC)[-1]["content"]
    line = r.split("[Rubric]\n", 1)[1].split("\n", 1)[0]
    assert json.loads(line) == RUBRIC


@pytest.mark.parametrize(
    "text,tie,parser,choice",
    [
        ("A is better. [[A]]", True, "strict", "A"),
        ("[[B]]", True, "strict", "B"),
        ("Equal. [[C]]", True, "strict", "tie"),
        ("Equal. [[C]]", False, "strict", None),
        ("no verdict", True, "strict", None),
        ("", True, "strict", None),
        (None, True, "strict", None),
        ("Format is [[A]] or [[B]]. Verdict: [[B]]", True, "strict", None),
        ("Format is [[A]] or [[B]]. Verdict: [[B]]", True, "last", "B"),
        ("[A] is better", True, "strict", None),
    ],
)
def test_parse_pairwise_is_strict(text, tie, parser, choice):
    p = parse_pairwise(text, tie, parser)
    assert p.choice == choice and p.ok == (choice is not None)
    if not p.ok:
        assert p.error


def test_parse_single():
    assert parse_single("ok. Rating: [[7]]", (1, 10)).score == 7
    assert parse_single("Rating: [[7.5]]", (1, 10)).score == 7.5
    assert not parse_single("Rating: [[11]]", (1, 10)).ok
    assert not parse_single("Rating: 7", (1, 10)).ok
    assert not parse_single("Rating: [[3]] then Rating: [[4]]", (1, 10)).ok
    assert parse_single("Rating: [[3]] then Rating: [[4]]", (1, 10), parser="last").score == 4


def test_parse_rubric_and_aggregation():
    good = json.dumps(
        {"verdict": "pass", "reasoning": "r", "metrics": {"Correctness": 0.9, "Clarity": 0.6}}
    )
    p = parse_rubric(good, RUBRIC)
    assert p.ok and p.judge_verdict == "pass" and p.verdict == "warn"  # recomputed: one minor gap
    assert p.sections == {"Correctness": 0.9, "Clarity": 0.6}
    assert math.isclose(p.score, 0.75)
    fenced = "```json\n" + good + "\n```"
    assert parse_rubric(fenced, RUBRIC).ok
    assert parse_rubric("Here: " + good + " done", RUBRIC).ok
    for bad in [
        "not json",
        json.dumps({"verdict": "maybe", "metrics": {"Correctness": 1, "Clarity": 1}}),
        json.dumps({"verdict": "pass", "metrics": {"Correctness": 1}}),
        json.dumps({"verdict": "pass", "metrics": {"Correctness": 1, "Clarity": 1, "Extra": 1}}),
        json.dumps({"verdict": "pass", "metrics": {"Correctness": 1.2, "Clarity": 1}}),
        json.dumps({"verdict": "pass", "metrics": {"Correctness": "high", "Clarity": 1}}),
        json.dumps([1, 2]),
    ]:
        r = parse_rubric(bad, RUBRIC)
        assert not r.ok and r.error and r.verdict is None


@pytest.mark.parametrize(
    "metrics,expected",
    [
        ({"a": 1.0, "b": 0.8}, "pass"),
        ({"a": 1.0, "b": 0.79}, "warn"),
        ({"a": 0.7, "b": 0.6}, "fail"),  # two gaps
        ({"a": 1.0, "b": 0.49}, "fail"),  # a violation
        ({"a": 1.0, "b": 0.5}, "warn"),
        ({}, None),
        ({"a": float("nan")}, None),
    ],
)
def test_aggregate(metrics, expected):
    assert rubric_mod.aggregate(metrics, 0.8, 0.5) == expected


def test_logprob_fields_pairwise_and_single():
    text = "A wins. [[A]]"
    i = text.index("[[A]]") + 2
    content = [
        {"token": text[:i], "logprob": -0.1, "top_logprobs": []},
        {
            "token": "A",
            "logprob": math.log(0.6),
            "top_logprobs": [
                {"token": "A", "logprob": math.log(0.6)},
                {"token": "B", "logprob": math.log(0.3)},
                {"token": " C", "logprob": math.log(0.05)},
                {"token": "The", "logprob": math.log(0.05)},
            ],
        },
        {"token": "]]", "logprob": 0.0, "top_logprobs": []},
    ]
    f = logprob_fields("pairwise", text, content, allow_tie=True)
    assert math.isclose(f["p_a"], 0.6 / 0.95) and math.isclose(f["p_b"], 0.3 / 0.95)
    assert math.isclose(f["p_tie"], 0.05 / 0.95) and math.isclose(f["margin"], 0.3 / 0.95)
    f2 = logprob_fields("pairwise", text, content, allow_tie=False)
    assert math.isclose(f2["p_a"], 2 / 3) and f2["p_tie"] is None
    assert logprob_fields("pairwise", text, None)["p_a"] is None
    assert logprob_fields("pairwise", "no marker", content)["margin"] is None
    s = "Rating: [[7]]"
    j = s.index("7")
    sc = [
        {"token": s[:j], "logprob": 0, "top_logprobs": []},
        {
            "token": "7",
            "logprob": math.log(0.5),
            "top_logprobs": [
                {"token": "7", "logprob": math.log(0.5)},
                {"token": "8", "logprob": math.log(0.3)},
            ],
        },
        {"token": "]]", "logprob": 0, "top_logprobs": []},
    ]
    g = logprob_fields("single", s, sc)
    assert math.isclose(g["margin"], 0.2 / 0.8) and g["p_a"] is None
