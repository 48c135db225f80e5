"""The breaker: a judge stops after max_consecutive_failures failed calls in a row with the same
class, status and normalised message (completion order); its remaining calls are not sent and
the run's summary says so, like a budget stop."""

# ruff: noqa: F811  (pytest fixtures imported from openai_server are used as arguments)
from __future__ import annotations

import re

import pytest
from openai_server import (  # noqa: F401  (fixtures)
    _fake_openai_module,
    default_responder,
    fake_openai,
    tiny_dataset,
    user_text,
)

from judgelab import Judge, judge_pairwise
from judgelab.engine import stop_line

FAST = dict(progress=False, max_retries=0, timeout=5.0, verbose=False, concurrency=1)
N_CALLS = 24  # tiny_dataset(4, 3): 12 pairs x 2 orders


def _judge(srv, model="openai/x", **kw):
    return Judge(model, api_base=srv.base_url, api_key="k", **kw)


def _run(judges, tmp_path, **kw):
    with pytest.warns(UserWarning, match="STOPPED") if kw.pop("stops", True) else _no_warning():
        df = judge_pairwise(tiny_dataset(4, 3), judges, store=tmp_path / "s.sqlite", **FAST, **kw)
    return df, df.attrs["summary"]


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_five_identical_failures_in_a_row_stop_the_judge(fake_openai, tmp_path):
    # request ids differ per call: the normalised message is the same
    fake_openai.responder = lambda body, n: {
        "status": 404,
        "error": f"model not found (request req_{n:08x}{n:08x})",
    }
    df, s = _run(_judge(fake_openai), tmp_path)
    assert len(fake_openai.requests) == 5 and s["sent"] == 5 and s["failed"] == 5
    assert s["not_sent_failures"] == N_CALLS - 5 and s["not_sent_budget"] == 0
    [stop] = s["stopped"]
    assert stop["by"] == "repeated failures" and stop["not_sent"] == N_CALLS - 5
    assert stop["calls"] == N_CALLS and stop["failures"] == 5
    assert "model not found" in stop["message"]
    assert stop_line(stop).startswith("STOPPED by repeated failures: NotFoundError")
    assert "STOPPED by repeated failures" in s.line()


def test_a_success_or_another_error_in_between_resets_the_count(fake_openai, tmp_path):
    # four failures, then a success or a different error, over and over: never five alike
    def responder(body, n):
        if n % 5 == 4:
            return default_responder(body, n) if n % 2 else {"status": 400, "error": "other"}
        return {"status": 404, "error": "model not found"}

    fake_openai.responder = responder
    df, s = _run(_judge(fake_openai), tmp_path, stops=False)
    assert len(fake_openai.requests) == N_CALLS and s["stopped"] == []


def test_the_limit_is_a_parameter_and_zero_never_stops(fake_openai, tmp_path):
    fake_openai.responder = lambda body, n: {"status": 400, "error": "bad request"}
    df, s = _run(_judge(fake_openai), tmp_path, max_consecutive_failures=2)
    assert len(fake_openai.requests) == 2 and s["not_sent_failures"] == N_CALLS - 2
    fake_openai.reset(responder=lambda body, n: {"status": 400, "error": "bad request"})
    df, s = _run(_judge(fake_openai), tmp_path / "second", max_consecutive_failures=0, stops=False)
    assert len(fake_openai.requests) == N_CALLS and s["failed"] == N_CALLS


def _bad_key_for_model_bad(body, n):
    """A 401 for the model named "bad", the default answer for any other."""
    if body["model"] == "bad":
        return {"status": 401, "error": "Incorrect API key provided"}
    return default_responder(body, n)


def test_only_the_failing_judge_stops(fake_openai, tmp_path):
    fake_openai.responder = _bad_key_for_model_bad
    judges = [_judge(fake_openai, "openai/good"), _judge(fake_openai, "openai/bad")]
    df, s = _run(judges, tmp_path)
    [stop] = s["stopped"]
    assert stop["model"] == "openai/bad" and stop["not_sent"] == N_CALLS - 5
    good = df[df["model"] == "openai/good"]
    assert len(good) == N_CALLS and good["parse_ok"].all()
    assert sum(r["body"]["model"] == "bad" for r in fake_openai.requests) == 5


def test_judges_are_called_in_turn_so_a_failing_one_is_seen_first(fake_openai, tmp_path):
    """One semaphore admits calls first come, first served: sent judge by judge, the failing
    judge (listed last) was reached only after all of the good judge's calls."""
    fake_openai.responder = _bad_key_for_model_bad
    judges = [_judge(fake_openai, "openai/good"), _judge(fake_openai, "openai/bad")]
    df, s = _run(judges, tmp_path)
    models = [r["body"]["model"] for r in fake_openai.requests]
    assert models[:10] == ["good", "bad"] * 5  # the breaker stops "bad" at its 5th failure
    assert models[10:] == ["good"] * (N_CALLS - 5) and s["stopped"][0]["model"] == "openai/bad"


def test_a_budget_stop_reads_like_a_breaker_stop(fake_openai, tmp_path):
    j = _judge(fake_openai, price_in=1000.0, price_out=1000.0, max_tokens=20)
    df, s = _run(j, tmp_path, max_cost_usd=1.0)
    [stop] = s["stopped"]
    assert stop["by"] == "max_cost_usd" and stop["not_sent"] == s["not_sent_budget"] > 0
    line = stop_line(stop)
    assert re.fullmatch(
        rf"STOPPED by max_cost_usd: {stop['not_sent']} of {N_CALLS} calls not sent "
        r"\(\$0\.\d{4} of \$1\.0000\)",
        line,
    ), line


def test_a_judge_without_a_parsed_verdict_is_named_with_its_errors(fake_openai, tmp_path):
    from judgelab.verdict_checks import NoParsedVerdictsError, require_parsed_verdicts

    fake_openai.responder = lambda body, n: (
        {"status": 404, "error": f"model gone (req_{n:012x})"}
        if body["model"] == "bad"
        else default_responder(body, n)
    )
    judges = [_judge(fake_openai, "openai/good"), _judge(fake_openai, "openai/bad")]
    df = judge_pairwise(
        tiny_dataset(1, 3), judges, store=tmp_path / "s.sqlite", **FAST, max_consecutive_failures=0
    )
    require_parsed_verdicts(df[df["model"] == "openai/good"])
    with pytest.raises(NoParsedVerdictsError) as err:
        require_parsed_verdicts(df)
    text = str(err.value)
    assert re.search(r"no parsed verdicts for openai/bad\|openai:\S+\|bad-\w+: NotFoundError", text)
    assert "model gone" in text and "(6)" in text and "openai/good" not in text
    # stored verdicts without an error column: the rows are counted all the same
    stored = df.drop(columns=["error"]).assign(parse_ok=False)
    with pytest.raises(NoParsedVerdictsError, match=r"parse_ok false \(no error recorded\) \(6\)"):
        require_parsed_verdicts(stored)
    with pytest.raises(NoParsedVerdictsError, match="no verdicts to analyse"):
        require_parsed_verdicts(df.iloc[:0])
