"""Failed calls classified by HTTP status, credentials first: what is retried and what is not
(attempts per call through litellm's real HTTP path to the local test server, and the
missing-key cases through litellm itself, which fails before sending anything)."""

# ruff: noqa: F811  (pytest fixtures imported from openai_server are used as arguments)
from __future__ import annotations

import pytest
from openai_server import (  # noqa: F401  (fixtures)
    _fake_openai_module,
    default_responder,
    fake_openai,
    tiny_dataset,
)

from judgelab import Judge, VerdictStore, judge_pairwise
from judgelab.llm import classify_error, failure_signature

FAST = dict(progress=False, backoff_base=0.001, backoff_max=0.002, timeout=5.0, verbose=False)
RETRIES = 2  # three attempts at most


def _one_call(judge, store, **kw):
    """Judge one pair in one order (one call); the frame and the call's recorded attempts."""
    df = judge_pairwise(
        tiny_dataset(1, 2), judge, store=store, orders="ab", max_retries=RETRIES, **FAST, **kw
    )
    with VerdictStore(store) as st:
        calls = st.query("SELECT status, attempts, error FROM calls")
    return df, calls


@pytest.mark.parametrize(
    "status, attempts",
    [
        (400, 1),
        (401, 1),
        (402, 1),
        (403, 1),  # litellm raises APIError (not PermissionDeniedError) for 403
        (404, 1),
        (422, 1),
        (408, 3),
        (409, 3),
        (429, 3),
        (500, 3),
        (502, 3),
        (503, 3),
        (529, 3),
    ],
)
def test_each_status_is_retried_or_not(fake_openai, tmp_path, status, attempts):
    fake_openai.responder = lambda body, n: {"status": status, "error": f"fault {status}"}
    judge = Judge("openai/x", api_base=fake_openai.base_url, api_key="k")
    df, calls = _one_call(judge, tmp_path / "s.sqlite")
    assert len(fake_openai.requests) == attempts
    assert calls["attempts"].tolist() == [attempts] and calls["status"].tolist() == ["failed"]
    assert f"fault {status}" in calls["error"].iloc[0]


@pytest.mark.parametrize(
    "message",
    [
        "Incorrect API key provided: sk-abc***",
        "No API key provided.",
        "Missing credentials. Please pass an `api_key`",
    ],
)
def test_a_credential_message_is_never_retried_even_as_a_500(fake_openai, tmp_path, message):
    fake_openai.responder = lambda body, n: {"status": 500, "error": message}
    judge = Judge("openai/x", api_base=fake_openai.base_url, api_key="k")
    _, calls = _one_call(judge, tmp_path / "s.sqlite")
    assert len(fake_openai.requests) == 1 and calls["attempts"].tolist() == [1]


def test_a_retried_status_that_recovers_is_done(fake_openai, tmp_path):
    fake_openai.responder = lambda body, n: (
        {"status": 503, "error": "busy"} if n == 0 else default_responder(body, n)
    )
    judge = Judge("openai/x", api_base=fake_openai.base_url, api_key="k")
    df, calls = _one_call(judge, tmp_path / "s.sqlite")
    assert calls["attempts"].tolist() == [2] and calls["status"].tolist() == ["done"]


@pytest.mark.parametrize(
    "model, variables",
    [
        ("openai/gpt-4o-mini", ["OPENAI_API_KEY", "OPENAI_ADMIN_KEY"]),  # InternalServerError 500
        ("gemini/gemini-1.5-flash", ["GEMINI_API_KEY", "GOOGLE_API_KEY"]),  # APIConnectionError
        ("anthropic/claude-3-haiku-20240307", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]),
    ],
)
def test_a_missing_key_fails_once_without_retries(monkeypatch, tmp_path, model, variables):
    for v in variables:
        monkeypatch.delenv(v, raising=False)
    for v in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(v, raising=False)
    df, calls = _one_call(Judge(model), tmp_path / "s.sqlite")
    assert calls["attempts"].tolist() == [1] and calls["status"].tolist() == ["failed"]
    assert "Traceback" not in calls["error"].iloc[0]


def test_a_named_server_never_receives_the_environment_key(monkeypatch, fake_openai, tmp_path):
    canary = "sk-envcanary-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    judge = Judge("openai/x", api_base=fake_openai.base_url)  # no api_key
    df, calls = _one_call(judge, tmp_path / "s.sqlite")
    assert fake_openai.requests == []
    assert calls["attempts"].tolist() == [0]
    assert "api_key: none" in calls["error"].iloc[0] and canary not in calls["error"].iloc[0]
    # `api_key: none` for a server that ignores keys: sent, with that placeholder, not the key
    judge = Judge("openai/x", api_base=fake_openai.base_url, api_key="none")
    df, calls = _one_call(judge, tmp_path / "t.sqlite")
    assert calls["status"].tolist() == ["done"]
    assert [r["authorization"] for r in fake_openai.requests] == ["Bearer none"]


def test_the_provider_default_endpoint_may_use_the_environment_key():
    from judgelab.llm import credential_guard

    assert credential_guard(Judge("openai/gpt-4o")) is None
    assert credential_guard(Judge("openai/gpt-4o", api_base="https://api.openai.com/v1")) is None
    assert (
        credential_guard(Judge("groq/llama3-8b-8192", api_base="https://api.groq.com/openai/v1"))
        is None
    )
    assert credential_guard(Judge("openai/gpt-4o", api_base="http://10.0.0.5:8000/v1"))


def test_classification_and_signature():
    assert classify_error(TimeoutError()).retry
    assert not classify_error(ValueError("bug")).retry
    assert failure_signature("NotFoundError: req_0a1b2c3d4e5f6a7b9 at 12:01") == failure_signature(
        "NotFoundError: req_99aa88bb77cc66dd5 at 13:44"
    )


def test_an_environment_reference_sends_the_variables_value(monkeypatch, fake_openai, tmp_path):
    monkeypatch.setenv("MY_SERVER_KEY", "sk-server-0123456789")
    judge = Judge("openai/x", api_base=fake_openai.base_url, api_key="os.environ/MY_SERVER_KEY")
    df, calls = _one_call(judge, tmp_path / "s.sqlite")
    assert calls["status"].tolist() == ["done"]
    assert fake_openai.requests[0]["authorization"] == "Bearer sk-server-0123456789"
