"""A run that did not send every call (a judge stopped by the breaker, or max_cost_usd reached)
says so: a STOPPED line on the terminal, banners at the top of the report and above its
findings, fields in the manifest, and exit code 3 unless --allow-partial."""

# ruff: noqa: F811  (pytest fixtures imported from openai_server are used as arguments)
from __future__ import annotations

import json
import re

from openai_server import _fake_openai_module, default_responder, fake_openai  # noqa: F401

from judgelab.cli import PARTIAL_EXIT_CODE
from judgelab.report.html import report_counts
from judgelab.report.stops import BANNER_CLASS, add_banners, run_stops


def test_a_judge_stopped_by_the_breaker_makes_a_partial_run(cli, fake_openai, tmp_path):
    # the pre-flight call answers; every later call fails alike: the breaker stops the judge
    fake_openai.responder = lambda body, n: (
        default_responder(body, n) if n == 0 else {"status": 404, "error": "model gone"}
    )
    canary = "sk-inline-canary-5e1f0a9b7c3d"  # given inline: must reach no file
    judge = f"{{model: openai/x, api_base: '{fake_openai.base_url}', api_key: {canary}}}"
    args = ("run", "toy", "-p", "verdicts", "call", "-p", "judges", judge, "-p", "n_pairs", "10")
    store, out = tmp_path / "s.sqlite", tmp_path / "toy"
    res = cli(*args, "-p", "store", store, "--out", out)
    assert res.exit_code == PARTIAL_EXIT_CODE, res.output
    assert "STOPPED by repeated failures: NotFoundError" in res.output
    assert "model gone" in res.output and "--allow-partial" in res.output
    sent = len(fake_openai.requests)
    assert 1 + 5 <= sent < 20  # 20 calls: the probe, five failures, those in flight
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["partial"] is True
    [stop] = manifest["stopped"]
    assert stop["by"] == "repeated failures" and stop["not_sent"] == 20 - sent
    html = (out / "toy.html").read_text()
    assert html.count(f"class='{BANNER_CLASS}'") == 2
    top, table = html.index("data-where='top'"), re.search(r"<table[^>]*judgelab-findings", html)
    assert (
        top < html.index('<div class="jp-Cell')
        and html.index("data-where='conclusions'") < table.start()
    )
    assert report_counts(html)["findings_tables"] == 1
    # the key was sent (by the pre-flight and by the kernel) but is in no output
    assert {r["authorization"] for r in fake_openai.requests} == {f"Bearer {canary}"}
    assert canary not in res.output and canary not in store.read_bytes().decode("latin-1")
    for f in out.rglob("*"):
        if f.is_file():
            assert canary not in f.read_bytes().decode("latin-1"), f
    assert "os.environ/JUDGELAB_JUDGE_KEY_0" in json.dumps(manifest["parameters_given"])
    # accepted with --allow-partial (the rerun's pre-flight call answers, then the judge fails
    # again: partial again)
    fake_openai.responder = lambda body, n: (
        default_responder(body, n) if n == sent else {"status": 404, "error": "model gone"}
    )
    res = cli(*args, "-p", "store", store, "--out", out, "--resume", "--allow-partial")
    assert res.exit_code == 0, res.output
    assert "STOPPED by repeated failures" in res.output and "toy: partial" in res.output


def test_a_budget_stop_gets_the_same_banner_and_fields(tmp_path):
    stop = {
        "by": "max_cost_usd",
        "not_sent": 357,
        "calls": 400,
        "spent_usd": 0.4991,
        "budget_usd": 0.5,
    }
    (tmp_path / "run_summary.json").write_text(json.dumps([{"mode": "call", "stopped": [stop]}]))
    assert run_stops(tmp_path) == [stop]
    page = tmp_path / "r.html"
    page.write_text("<html><body><main><p>x</p><table class='judgelab-findings'></table></main>")
    add_banners(page, [stop])
    text = page.read_text()
    assert (
        text.count("STOPPED by max_cost_usd: 357 of 400 calls not sent ($0.4991 of $0.5000)") == 2
    )
    assert text.index("data-where='top'") < text.index("<p>x</p>") < text.index("conclusions")


def test_stops_are_read_from_the_store_when_the_notebook_failed(tmp_path):
    import time

    from judgelab.store import VerdictStore

    since = time.time() - 1
    stop = {
        "by": "repeated failures",
        "judge": "j",
        "message": "m",
        "failures": 5,
        "not_sent": 3,
        "calls": 8,
    }
    with VerdictStore(tmp_path / "s.sqlite") as st:
        st.start_run("r1", "pairwise").result()
        st.finish_run("r1", {"stopped": [stop]}).result()
    assert run_stops(tmp_path, str(tmp_path / "s.sqlite"), since) == [stop]
    assert run_stops(tmp_path, str(tmp_path / "s.sqlite"), time.time() + 60) == []
