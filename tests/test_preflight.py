"""Pre-flight checks in the CLI process, before the kernel starts: unknown providers, missing or
empty keys, a named server without a key, and each judge's first call sent alone. A run that
fails them has sent nothing (no request at the test server, no call in the store)."""

# ruff: noqa: F811  (pytest fixtures imported from openai_server are used as arguments)
from __future__ import annotations

import pytest
from conftest import stored_calls
from openai_server import _fake_openai_module, default_responder, fake_openai  # noqa: F401

from judgelab import VerdictStore, report
from judgelab.judges import Judge
from judgelab.preflight import PreflightError, check_judges, judge_problems

SMALL = ("-p", "verdicts", "call", "-p", "n_pairs", "3")


def _judge_arg(**fields) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in fields.items()) + "}"


@pytest.fixture
def never_run(monkeypatch):
    """Fail the test if the notebook would be executed."""

    def run_study(*a, **k):
        raise AssertionError("the kernel must not start")

    monkeypatch.setattr(report, "run_study", run_study)


@pytest.mark.parametrize(
    "judge, message",
    [
        ("opneai/gpt-4o", "unknown provider 'opneai'; did you mean 'openai'"),
        ("antropic/claude-3-haiku-20240307", "did you mean 'anthropic'"),
        ("gpt4o", "no provider in the model name"),
        ("openai/gpt-4o", "missing or empty environment variable OPENAI_API_KEY"),
    ],
)
def test_a_judge_that_cannot_be_called_stops_the_run_before_any_call(
    cli, tmp_path, no_openai_key, never_run, judge, message
):
    store = tmp_path / "s.sqlite"
    res = cli(
        "run", "toy", *SMALL, "-p", "judges", judge, "-p", "store", store, "--out", tmp_path / "o"
    )
    assert res.exit_code == 1 and message in res.output, res.output
    assert "Traceback" not in res.output and stored_calls(store) == 0
    assert not (tmp_path / "o").exists()


def test_an_empty_key_is_a_missing_key(monkeypatch, no_openai_key):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    with pytest.raises(PreflightError, match="empty environment variable OPENAI_API_KEY"):
        check_judges(["openai/gpt-4o"])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-set-0123456789")
    check_judges(["openai/gpt-4o"])
    # a judge's own key needs no variable; so does a Router deployment with its key
    monkeypatch.delenv("OPENAI_API_KEY")
    assert judge_problems([Judge("openai/gpt-4o", api_key="k")]) == []


def test_a_missing_gemini_or_anthropic_key_is_named(monkeypatch):
    for v in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(v, raising=False)
    problems = judge_problems(
        [Judge("gemini/gemini-1.5-flash"), Judge("anthropic/claude-3-haiku-20240307")]
    )
    assert "GEMINI_API_KEY" in problems[0] and "ANTHROPIC_API_KEY" in problems[1]


def test_a_named_server_without_a_key_is_told_to_give_api_key_none(
    cli, fake_openai, tmp_path, monkeypatch, never_run
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-canary-0123456789")
    store = tmp_path / "s.sqlite"
    judge = _judge_arg(model="openai/x", api_base=fake_openai.base_url)
    res = cli(
        "run", "toy", *SMALL, "-p", "judges", judge, "-p", "store", store, "--out", tmp_path / "o"
    )
    assert res.exit_code == 1 and "`api_key: none`" in res.output, res.output
    assert fake_openai.requests == [] and stored_calls(store) == 0
    assert "sk-env-canary" not in res.output


def test_a_failing_first_call_stops_the_run_with_the_providers_message(
    cli, fake_openai, tmp_path, never_run
):
    canary = "sk-probe-canary-0123456789"
    fake_openai.responder = lambda body, n: {
        "status": 401,
        "error": f"Incorrect API key provided: {canary}",
    }
    store = tmp_path / "s.sqlite"
    judge = _judge_arg(model="openai/x", api_base=fake_openai.base_url, api_key=canary)
    res = cli(
        "run", "toy", *SMALL, "-p", "judges", judge, "-p", "store", store, "--out", tmp_path / "o"
    )
    assert res.exit_code == 1, res.output
    assert "the first call of openai/x failed" in res.output
    assert "Incorrect API key provided" in res.output and canary not in res.output
    assert len(fake_openai.requests) == 1  # sent alone, not retried
    with VerdictStore(store) as st:
        calls = st.query("SELECT status, attempts FROM calls")
    assert calls.to_dict("records") == [{"status": "failed", "attempts": 1}]


def test_a_retryable_failure_of_the_first_call_is_not_retried(
    cli, fake_openai, tmp_path, never_run
):
    fake_openai.responder = lambda body, n: {"status": 503, "error": "overloaded"}
    judge = _judge_arg(model="openai/x", api_base=fake_openai.base_url, api_key="k")
    res = cli("run", "toy", *SMALL, "-p", "judges", judge, "-p", "store", tmp_path / "s.sqlite")
    assert res.exit_code == 1 and "overloaded" in res.output and len(fake_openai.requests) == 1


def test_the_first_call_of_each_judge_is_kept_for_the_run(cli, fake_openai, tmp_path, monkeypatch):
    ran = {}

    def run_study(study, values, out, **kw):
        ran["study"] = study
        ran["requests"] = len(fake_openai.requests)

    monkeypatch.setattr(report, "run_study", run_study)
    store = tmp_path / "s.sqlite"
    judges = (
        "["
        + ", ".join(
            _judge_arg(model=f"openai/{m}", api_base=fake_openai.base_url, api_key="k")
            for m in ("x", "y")
        )
        + "]"
    )
    res = cli(
        "run", "toy", *SMALL, "-p", "judges", judges, "-p", "store", store, "--out", tmp_path / "o"
    )
    assert res.exit_code == 0, res.output
    assert ran == {"study": "toy", "requests": 2}  # one call per judge, before the kernel
    with VerdictStore(store) as st:
        assert st.query("SELECT status FROM calls")["status"].tolist() == ["done", "done"]
    # the probes are cached: a second pre-flight sends each judge's next pending call
    res = cli(
        "run", "toy", *SMALL, "-p", "judges", judges, "-p", "store", store, "--out", tmp_path / "o2"
    )
    assert res.exit_code == 0 and len(fake_openai.requests) == 4


def test_the_simulated_panel_needs_no_preflight(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "run_study", lambda *a, **k: None)
    store = tmp_path / "s.sqlite"
    res = cli("run", "toy", *SMALL, "-p", "judges", "panel:demo", "-p", "store", store)
    assert res.exit_code == 0, res.output
    assert stored_calls(store) == 0


def test_dry_run_reports_unknown_providers_and_missing_keys_as_errors(cli, tmp_path, no_openai_key):
    judges = "[opneai/gpt-4o, openai/gpt-4o]"
    res = cli(
        "run", "toy", *SMALL, "--dry-run", "-p", "judges", judges, "-p", "store", tmp_path / "s"
    )
    assert res.exit_code == 1, res.output
    assert "unknown provider 'opneai'" in res.output and "OPENAI_API_KEY" in res.output


def test_dry_run_warns_about_an_unpriced_model(cli, fake_openai, tmp_path):
    judge = _judge_arg(model="openai/my-finetune", api_base=fake_openai.base_url, api_key="k")
    res = cli(
        "run", "toy", *SMALL, "--dry-run", "-p", "judges", judge, "-p", "store", tmp_path / "s"
    )
    assert res.exit_code == 0, res.output
    assert (
        "warning: openai/my-finetune: price unknown; give price_in/price_out to budget"
        in res.output
    )
    assert fake_openai.requests == []


def test_inline_keys_move_to_the_environment(monkeypatch):
    from judgelab.preflight import keys_to_environment

    judges = [
        "openai/gpt-4o",
        {"model": "openai/x", "api_base": "http://h/v1", "api_key": "sk-one-0123456789"},
        {"model": "openai/y", "api_base": "http://h/v1", "api_key": "none"},
        {
            "model": "g",
            "router": {
                "model_list": [
                    {"model_name": "g", "litellm_params": {"model": "openai/z", "api_key": "k2"}}
                ]
            },
        },
    ]
    for n in range(2):
        monkeypatch.delenv(f"JUDGELAB_JUDGE_KEY_{n}", raising=False)
    moved = keys_to_environment(judges)
    assert moved[0] == "openai/gpt-4o" and moved[2]["api_key"] == "none"
    assert moved[1]["api_key"] == "os.environ/JUDGELAB_JUDGE_KEY_0"
    lp = moved[3]["router"]["model_list"][0]["litellm_params"]
    assert lp == {"model": "openai/z", "api_key": "os.environ/JUDGELAB_JUDGE_KEY_1"}
    import os

    assert os.environ["JUDGELAB_JUDGE_KEY_0"] == "sk-one-0123456789"
    assert (
        judge_problems([Judge("openai/x", api_base="http://h/v1", api_key=moved[1]["api_key"])])
        == []
    )
    monkeypatch.delenv("JUDGELAB_JUDGE_KEY_0")
    [problem] = judge_problems(
        [Judge("openai/x", api_base="http://h/v1", api_key=moved[1]["api_key"])]
    )
    assert "names a variable that is not set" in problem


def test_the_command_with_a_missing_key_sends_nothing(tmp_path):
    # the one end-to-end run of the installed command: exit code, message on stderr, no store
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    store = tmp_path / "s.sqlite"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "judgelab",
            "run",
            "position_bias",
            "-p",
            "judges",
            "openai/gpt-4o-mini",
            "-p",
            "n_pairs",
            "5",
            "-p",
            "store",
            str(store),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "OPENAI_API_KEY" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    assert not store.exists() and not (tmp_path / "o").exists()
