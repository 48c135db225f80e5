"""LLM calls through litellm's real HTTP path to a local OpenAI-compatible server:
retries, Retry-After, timeouts, faulty outputs, secrets, Router fallbacks, cache isolation,
budget, dry run and rate limits."""

# ruff: noqa: F811  (pytest fixtures imported from openai_server are used as arguments)
from __future__ import annotations

import logging
import time

import pytest
from openai_server import (  # noqa: F401  (fixtures)
    FakeOpenAI,
    _fake_openai_module,
    default_responder,
    fake_openai,
    request_key,
    tiny_dataset,
    user_text,
)

from judgelab import Judge, VerdictStore, judge_pairwise, judge_single
from judgelab.llm import BudgetError, redact

FAST = dict(progress=False, backoff_base=0.01, backoff_max=0.05, timeout=5.0)


def _judge(srv, **kw):
    kw.setdefault("api_key", "test-key")
    return Judge("openai/x", api_base=srv.base_url, **kw)


def _first_seen(fn):
    """A responder that applies ``fn(body, first)`` where ``first`` is True on a prompt's first request."""
    seen: set[str] = set()

    def responder(body, n):
        key = request_key(body)
        first = key not in seen
        seen.add(key)
        return fn(body, first)

    return responder


def test_429_with_retry_after_is_honoured(fake_openai, tmp_path):
    fake_openai.responder = _first_seen(
        lambda body, first: (
            {"status": 429, "headers": {"Retry-After": "1"}, "error": "rate limited"}
            if first
            else default_responder(body, 0)
        )
    )
    ds = tiny_dataset(1, 2)
    df = judge_pairwise(ds, _judge(fake_openai), store=tmp_path / "s.sqlite", orders="ab", **FAST)
    assert len(df) == 1 and df["parse_ok"].all() and (df["status"] == "done").all()
    t = [r["t"] for r in fake_openai.requests]
    assert len(t) == 2
    # backoff alone would wait <= 0.01 s: the 1 s came from Retry-After
    assert t[1] - t[0] >= 0.95
    with VerdictStore(tmp_path / "s.sqlite") as st:
        assert st.query("SELECT attempts FROM calls")["attempts"].tolist() == [2]


def test_500_retried_then_recorded_as_failure_and_resent_on_rerun(fake_openai, tmp_path):
    ds = tiny_dataset(2, 2)
    bad_item = "Question 1?"
    fake_openai.responder = lambda body, n: (
        {"status": 500, "error": "boom"}
        if bad_item in user_text(body)
        else default_responder(body, n)
    )
    store = tmp_path / "s.sqlite"
    df = judge_pairwise(ds, _judge(fake_openai), store=store, max_retries=2, **FAST)
    s = df.attrs["summary"]
    assert len(df) == 4 and s["calls"] == 4 and s["failed"] == 2 and s["sent"] == 4
    failed = df[df["status"] == "failed"]
    assert len(failed) == 2 and not failed["parse_ok"].any() and failed["choice"].isna().all()
    assert failed["error"].str.contains("InternalServerError").all()
    # 2 good calls + 2 bad calls x 3 attempts
    assert len(fake_openai.requests) == 2 + 2 * 3
    # a rerun sends only the failed calls; the provider has recovered
    fake_openai.reset()
    df2 = judge_pairwise(ds, _judge(fake_openai), store=store, **FAST)
    s2 = df2.attrs["summary"]
    assert s2["cached"] == 2 and s2["sent"] == 2 and s2["failed"] == 0 and s2["repaid"] == 0
    assert len(fake_openai.requests) == 2 and all(
        bad_item in user_text(r["body"]) for r in fake_openai.requests
    )
    assert (df2["status"] == "done").all() and len(df2) == 4


def test_hang_past_timeout_is_retried(fake_openai, tmp_path):
    fake_openai.responder = _first_seen(
        lambda body, first: {**default_responder(body, 0), "delay": 30.0 if first else 0.0}
    )
    ds = tiny_dataset(1, 2)
    t0 = time.perf_counter()
    df = judge_pairwise(
        ds,
        _judge(fake_openai, timeout=0.5),
        store=tmp_path / "s.sqlite",
        orders="ab",
        **{**FAST, "timeout": 0.5},
    )
    assert time.perf_counter() - t0 < 10
    assert (df["status"] == "done").all() and df["parse_ok"].all()
    assert len(fake_openai.requests) == 2
    # every attempt hangs: the call fails after its retries instead of hanging the run
    fake_openai.reset(responder=lambda body, n: {"content": "[[A]]", "delay": 30.0})
    df = judge_pairwise(
        ds,
        _judge(fake_openai, timeout=0.3),
        store=tmp_path / "t.sqlite",
        orders="ab",
        max_retries=1,
        **FAST,
    )
    assert df.attrs["summary"]["failed"] == 1 and "Timeout" in df["error"].iloc[0]


def test_twenty_percent_empty_or_malformed_outputs_all_accounted(fake_openai, tmp_path):
    def responder(body, n):
        h = int(request_key(body)[:8], 16) % 10
        if h == 0:
            return {"content": ""}
        if h == 1:
            return {"content": None}
        if h == 2:
            return {"content": "I think the first one, A, is better."}  # no marker
        if h == 3:
            return {"content": "[[A]] no wait [[B]]"}  # conflicting markers: strict parser refuses
        return default_responder(body, n)

    fake_openai.responder = responder
    ds = tiny_dataset(6, 4)  # 36 pairs x 2 orders = 72 calls
    df = judge_pairwise(ds, _judge(fake_openai), store=tmp_path / "s.sqlite", concurrency=8, **FAST)
    s = df.attrs["summary"]
    assert s["calls"] == 72 and len(df) == 72 and s["failed"] == 0
    keys = [int(request_key(r["body"])[:8], 16) % 10 for r in fake_openai.requests]
    n_bad = sum(k in (0, 1, 2, 3) for k in keys)
    assert n_bad >= 5  # the fault injection did fire
    assert s["parse_failures"] == n_bad == int((~df["parse_ok"]).sum())
    bad = df[~df["parse_ok"]]
    assert (
        bad["choice"].isna().all()
        and bad["winner"].isna().all()
        and bad["error"].str.startswith("parse:").all()
    )
    good = df[df["parse_ok"]]
    assert good["choice"].isin(["A", "B"]).all()
    # raw text is kept, never guessed
    assert (
        bad["raw_output"]
        .fillna("")
        .isin(["", "I think the first one, A, is better.", "[[A]] no wait [[B]]"])
    ).all()


def test_canary_key_never_stored_logged_or_shown(fake_openai, tmp_path, capsys, caplog):
    canary = "sk-canary-7f3a9c1e5b2d8f6a4c0e"

    def responder(body, n):
        auth = [r for r in fake_openai.requests if r["n"] == n][0]["authorization"]
        if n % 3 == 0:  # providers echo the key in errors (as OpenAI does for a wrong key)
            return {"status": 500, "error": f"server error for key {auth} (api_key={canary})"}
        if n % 3 == 1:
            return {"status": 401, "error": f"Incorrect API key provided: {canary}"}
        return default_responder(body, n)

    fake_openai.responder = responder
    caplog.set_level(logging.DEBUG)
    store = tmp_path / "s.sqlite"
    df = judge_pairwise(
        tiny_dataset(2, 3), _judge(fake_openai, api_key=canary), store=store, max_retries=1, **FAST
    )
    assert df.attrs["summary"]["failed"] > 0  # errors carrying the key were recorded
    assert fake_openai.requests[0]["authorization"] == f"Bearer {canary}"  # the key was used
    st = VerdictStore(store)
    st.export(tmp_path / "export")
    st.close()
    out = capsys.readouterr()
    blobs = [out.out, out.err, caplog.text, df.to_csv(), repr(df.attrs["summary"])]
    for f in tmp_path.iterdir():
        blobs.append(f.read_bytes().decode("latin-1"))
    for b in blobs:
        assert canary not in b and "canary-7f3a" not in b
    assert "***" in "".join(df["error"].dropna())
    assert redact(f"Authorization: Bearer {canary}") == "Authorization: ***"


def test_router_fallback_recorded_as_backend(fake_openai, tmp_path):
    down = FakeOpenAI(lambda body, n: {"status": 500, "error": "down"}).start()
    try:
        router = {
            "model_list": [
                {
                    "model_name": "judge",
                    "litellm_params": {
                        "model": "openai/x",
                        "api_base": down.base_url,
                        "api_key": "k1",
                    },
                },
                {
                    "model_name": "judge-fb",
                    "litellm_params": {
                        "model": "openai/y",
                        "api_base": fake_openai.base_url,
                        "api_key": "k2",
                    },
                },
            ],
            "fallbacks": [{"judge": ["judge-fb"]}],
            "num_retries": 0,
        }
        j = Judge("judge", router=router)
        df = judge_pairwise(tiny_dataset(1, 2), j, store=tmp_path / "s.sqlite", orders="ab", **FAST)
        assert df["parse_ok"].all()
        assert df["backend"].tolist() == [f"fallback:judge-fb:openai/y@{fake_openai.base_url}"]
        assert len(down.requests) >= 1 and len(fake_openai.requests) == 1
        # the primary recovers: a fresh store records the primary deployment
        down.responder = default_responder
        df = judge_pairwise(
            tiny_dataset(1, 2),
            Judge("judge", router=router),
            store=tmp_path / "t.sqlite",
            orders="ab",
            **FAST,
        )
        assert df["backend"].tolist() == [f"router:judge:openai/x@{down.base_url}"]
    finally:
        down.stop()


def test_two_api_bases_never_share_cached_answers(fake_openai, tmp_path):
    other = FakeOpenAI(lambda body, n: {"content": "Other server. [[B]]"}).start()
    try:
        store = VerdictStore(tmp_path / "s.sqlite")
        ds = tiny_dataset(2, 2)
        j1, j2 = _judge(fake_openai), _judge(other)
        assert j1.version == j2.version  # same judge settings, different route
        a = judge_pairwise(ds, j1, store=store, **FAST)
        b = judge_pairwise(ds, j2, store=store, **FAST)
        assert b.attrs["summary"]["cached"] == 0 and len(other.requests) == 4
        assert set(a["address"]).isdisjoint(b["address"])
        assert (b["raw_output"] == "Other server. [[B]]").all()
        ids = store.identities()
        assert sorted(ids["backend"]) == sorted(
            [f"openai:{fake_openai.base_url}", f"openai:{other.base_url}"]
        )
        assert len(store.to_frame(backend=f"openai:{other.base_url}")) == 4
        store.close()
    finally:
        other.stop()


def test_max_cost_usd_stops_before_overspending(fake_openai, tmp_path):
    fake_openai.delay = 0.05
    # $1 per 1k prompt tokens and per 1k completion tokens: each call costs ~ $0.1-0.3
    j = _judge(fake_openai, price_in=1000.0, price_out=1000.0, max_tokens=20)
    ds = tiny_dataset(4, 3)  # 24 calls
    budget = 2.0
    with pytest.warns(UserWarning, match="STOPPED"):
        df = judge_pairwise(
            ds, j, store=tmp_path / "s.sqlite", concurrency=4, max_cost_usd=budget, **FAST
        )
    s = df.attrs["summary"]
    assert 0 < s["sent"] < 24 and s["not_sent_budget"] == 24 - s["sent"]
    assert s["cost_usd"] <= budget
    assert len(fake_openai.requests) == s["sent"]
    with VerdictStore(tmp_path / "s.sqlite") as st:
        assert st.query("SELECT SUM(cost_usd) AS c FROM calls")["c"].iloc[0] <= budget
    # an unpriced model with a budget is refused before any call
    fake_openai.reset()
    with pytest.raises(BudgetError, match="no price"):
        judge_pairwise(
            ds, _judge(fake_openai), store=tmp_path / "s.sqlite", max_cost_usd=1.0, **FAST
        )
    assert fake_openai.requests == []


def test_dry_run_makes_no_call(fake_openai, tmp_path):
    ds = tiny_dataset(3, 3)
    j = _judge(fake_openai, price_in=1.0, price_out=2.0)
    store = tmp_path / "s.sqlite"
    df = judge_pairwise(ds, j, store=store, dry_run=True, **FAST)
    s = df.attrs["summary"]
    assert (
        s["calls"] == 18 and s["cached"] == 0 and s["to_send"] == 18 and s["estimated_cost_usd"] > 0
    )
    assert fake_openai.requests == [] and not store.exists() and df.empty
    judge_pairwise(ds, j, store=store, n_pairs=3, **FAST)
    n = len(fake_openai.requests)
    s = judge_pairwise(ds, j, store=store, dry_run=True, **FAST).attrs["summary"]
    assert s["cached"] == 6 and s["to_send"] == 12 and len(fake_openai.requests) == n
    assert s["worst_case_cost_usd"] >= s["estimated_cost_usd"]


def test_rpm_limit_spaces_requests(fake_openai, tmp_path):
    ds = tiny_dataset(1, 4)  # 6 pairs, order ab: 6 calls
    j = _judge(fake_openai, rpm=600)  # one request per 0.1 s
    judge_pairwise(ds, j, store=tmp_path / "s.sqlite", orders="ab", concurrency=6, **FAST)
    t = sorted(r["t"] for r in fake_openai.requests)
    assert len(t) == 6 and t[-1] - t[0] >= 0.45
    assert all(b - a >= 0.07 for a, b in zip(t, t[1:]))


def test_tpm_limit_spaces_requests(fake_openai, tmp_path):
    ds = tiny_dataset(1, 4)
    # every call counts at least max_tokens=1000 tokens: 600k tokens/min -> >= 0.1 s apart
    j = _judge(fake_openai, tpm=600_000, max_tokens=1000)
    judge_pairwise(ds, j, store=tmp_path / "s.sqlite", orders="ab", concurrency=6, **FAST)
    t = sorted(r["t"] for r in fake_openai.requests)
    assert len(t) == 6 and t[-1] - t[0] >= 0.45


def test_logprobs_stored_when_returned(fake_openai, tmp_path):
    ds = tiny_dataset(1, 2)
    df = judge_pairwise(
        ds, _judge(fake_openai, top_logprobs=3), store=tmp_path / "s.sqlite", **FAST
    )
    assert df["p_a"].notna().all() and df["margin"].notna().all()
    for _, r in df.iterrows():
        assert r["p_a"] + r["p_b"] + r["p_tie"] == pytest.approx(1.0)
        assert (r["p_a"] > r["p_b"]) == (r["choice"] == "A")
    # without logprobs the fields stay null
    s = judge_single(ds, _judge(fake_openai), store=tmp_path / "s.sqlite", **FAST)
    assert s["p_a"].isna().all() and s["score"].between(1, 10).all()


def test_cost_from_litellm_price_map_and_from_judge_prices(fake_openai, tmp_path):
    import litellm

    fake_openai.responder = lambda body, n: {
        "content": "[[A]]",
        "prompt_tokens": 1000,
        "completion_tokens": 10,
    }
    ds = tiny_dataset(1, 2)
    info = litellm.model_cost["gpt-4o-mini"]
    mapped = Judge("openai/gpt-4o-mini", api_base=fake_openai.base_url, api_key="k")
    df = judge_pairwise(ds, mapped, store=tmp_path / "s.sqlite", orders="ab", **FAST)
    expected = 1000 * info["input_cost_per_token"] + 10 * info["output_cost_per_token"]
    assert df["cost_usd"].iloc[0] == pytest.approx(expected)
    assert df.attrs["summary"]["cost_usd"] == pytest.approx(expected)
    own = _judge(fake_openai, price_in=2.0, price_out=8.0)  # USD per million tokens
    df = judge_pairwise(ds, own, store=tmp_path / "s.sqlite", orders="ab", **FAST)
    assert df["cost_usd"].iloc[0] == pytest.approx((1000 * 2.0 + 10 * 8.0) / 1e6)
    assert df[["prompt_tokens", "completion_tokens"]].iloc[0].tolist() == [1000, 10]
    # the same call by a judge without prices is served from the store with its recorded cost
    df = judge_pairwise(ds, _judge(fake_openai), store=tmp_path / "s.sqlite", orders="ab", **FAST)
    assert df["cached"].all() and df["cost_usd"].iloc[0] == pytest.approx(2.08e-3)
    # an unknown model without prices records no cost rather than a made-up one
    df = judge_pairwise(ds, _judge(fake_openai), store=tmp_path / "t.sqlite", orders="ab", **FAST)
    assert df["cost_usd"].isna().all() and df.attrs["summary"]["cost_usd"] == 0
