"""A small OpenAI-compatible chat-completions server for tests and benchmarks.

It listens on 127.0.0.1 on a free port (aiohttp, in its own thread and event loop) and
answers ``POST /v1/chat/completions``. What it answers is under the caller's control:

* ``server.responder = fn(body, n) -> dict`` decides each answer. ``body`` is the request
  JSON, ``n`` the 0-based index of this request. The dict may hold ``content`` (str or
  None), ``status`` (HTTP status, default 200), ``headers``, ``delay`` (seconds before
  answering; a long delay simulates a hang), ``logprobs`` (OpenAI ``logprobs.content``
  list, or ``"auto"`` to derive them from the verdict marker), ``error`` (error message),
  ``prompt_tokens`` / ``completion_tokens``.
* ``server.delay`` is added to every answer (latency injection for the benchmark).
* Every request is recorded in ``server.requests`` (body, Authorization header, time),
  and ``server.in_flight`` counts requests being answered. ``GET /stats`` returns the
  request count and the peak concurrency (for a server run in another process).

``python tests/openai_server.py --port 0 --delay 0.1`` runs it standalone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["FakeOpenAI", "default_responder", "user_text", "request_key"]


def user_text(body: dict) -> str:
    """The last user message's content."""
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user":
            c = m.get("content")
            return c if isinstance(c, str) else json.dumps(c)
    return ""


def request_key(body: dict) -> str:
    """A key identifying a request by its messages (what a call address hashes, minus params)."""
    return hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def default_responder(body: dict, n: int) -> dict:
    """A deterministic, well-formed judge answer chosen from a hash of the prompt."""
    text = user_text(body)
    h = _h(text)
    if "[Rubric]" in text:
        rub = json.loads(text.split("[Rubric]\n", 1)[1].split("\n", 1)[0])
        metrics = {
            s["title"]: round(((h >> i) % 11) / 10, 1) for i, s in enumerate(rub["sections"])
        }
        return {"content": json.dumps({"verdict": "pass", "reasoning": "ok", "metrics": metrics})}
    m = re.search(r"on a scale of (\d+) to (\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        return {"content": f"Fine answer. Rating: [[{lo + h % (hi - lo + 1)}]]"}
    return {"content": f"Assistant {'AB'[h % 2]} is better. [[{'AB'[h % 2]}]]", "logprobs": "auto"}


def _auto_logprobs(content: str) -> list[dict] | None:
    """Tokens covering ``content`` with the verdict letter as its own token and top alternatives."""
    m = list(re.finditer(r"\[\[([ABC])\]\]", content or ""))
    if not m:
        return None
    i = m[-1].start(1)
    letter = content[i]
    probs = {"A": 0.15, "B": 0.15, "C": 0.1}
    probs[letter] = 0.7
    tops = [{"token": k, "logprob": math.log(v), "bytes": None} for k, v in probs.items()]
    return [
        {"token": content[:i], "logprob": -0.1, "bytes": None, "top_logprobs": []},
        {"token": letter, "logprob": math.log(0.7), "bytes": None, "top_logprobs": tops},
        {"token": content[i + 1 :], "logprob": -0.01, "bytes": None, "top_logprobs": []},
    ]


class FakeOpenAI:
    def __init__(self, responder: Callable[[dict, int], dict] | None = None, delay: float = 0.0):
        self.responder = responder or default_responder
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, port: int = 0) -> FakeOpenAI:
        if port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        ready = threading.Event()

        def run():
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_post("/v1/chat/completions", self._handle)
            app.router.add_post("/chat/completions", self._handle)
            app.router.add_get("/stats", self._stats)
            # hanging handlers (simulated hangs) must not hold up shutdown
            runner = self._runner = web.AppRunner(
                app, access_log=None, shutdown_timeout=0.2, handler_cancellation=True
            )
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def reset(self, responder=None, delay: float | None = None) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0
        self.responder = responder or default_responder
        if delay is not None:
            self.delay = delay

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------- handling
    async def _stats(self, request: web.Request) -> web.StreamResponse:
        """Request count and peak concurrency (for a server in another process)."""
        return web.json_response(
            {"requests": len(self.requests), "max_in_flight": self.max_in_flight}
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self._lock:
            n = len(self.requests)
            self.requests.append(
                {
                    "body": body,
                    "authorization": request.headers.get("Authorization"),
                    "t": time.time(),
                    "n": n,
                }
            )
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            spec = self.responder(body, n) or {}
            delay = self.delay + float(spec.get("delay", 0.0))
            if delay > 0:
                await asyncio.sleep(delay)
            status = int(spec.get("status", 200))
            headers = dict(spec.get("headers") or {})
            if status != 200:
                err = {
                    "error": {
                        "message": spec.get("error", f"fake error {status}"),
                        "type": "fake",
                        "code": status,
                    }
                }
                return web.json_response(err, status=status, headers=headers)
            content = spec.get("content")
            prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
            usage = {
                "prompt_tokens": int(spec.get("prompt_tokens", prompt_chars // 4 + 1)),
                "completion_tokens": int(
                    spec.get("completion_tokens", len(content or "") // 4 + 1)
                ),
            }
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            logprobs = None
            if body.get("logprobs"):
                lp = spec.get("logprobs")
                logprobs = {"content": _auto_logprobs(content) if lp == "auto" else lp}
            resp = {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "x"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                        "logprobs": logprobs,
                    }
                ],
                "usage": usage,
            }
            return web.json_response(resp, headers=headers)
        finally:
            with self._lock:
                self.in_flight -= 1


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    a = ap.parse_args()
    srv = FakeOpenAI(delay=a.delay).start(a.port)
    print(srv.base_url, flush=True)
    parent = os.getppid()
    try:
        # exit with the process that started us (a killed benchmark leaves no server behind)
        while os.getppid() == parent:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    srv.stop()


# ------------------------------------------------------------------ test helpers
def tiny_dataset(n_items: int = 4, n_gen: int = 3, good: str | None = None):
    """A small Dataset: ``n_items`` items x ``n_gen`` generators, every pair of an item
    compared by one human rater. ``good`` marks one generator's answers with 'GOOD'."""
    import pandas as pd

    from judgelab.data import Dataset

    gens = [f"gen{g}" for g in range(n_gen)]
    items = pd.DataFrame(
        {
            "item_id": [f"q{i}" for i in range(n_items)],
            "prompt": [f"Question {i}?" for i in range(n_items)],
        }
    )
    rows, prefs, labels = [], [], []
    for i in range(n_items):
        for g in gens:
            text = f"Answer of {g} to question {i}." + (" GOOD" if g == good else "")
            rows.append(
                {
                    "response_id": f"q{i}-{g}",
                    "item_id": f"q{i}",
                    "generator": g,
                    "family": "fam",
                    "text": text,
                }
            )
            labels.append({"response_id": f"q{i}-{g}", "rater_id": "r1", "score": 5})
        for a in range(n_gen):
            for b in range(a + 1, n_gen):
                prefs.append(
                    {
                        "item_id": f"q{i}",
                        "response_a": f"q{i}-{gens[a]}",
                        "response_b": f"q{i}-{gens[b]}",
                        "rater_id": "r1",
                        "preference": "a",
                    }
                )
    rubric = {
        "name": "t",
        "sections": [{"title": "Correctness", "body": "c"}, {"title": "Clarity", "body": "c"}],
    }
    return Dataset(
        name="tiny",
        items=items,
        responses=pd.DataFrame(rows),
        labels=pd.DataFrame(labels),
        preferences=pd.DataFrame(prefs),
        scale=(1, 10),
        rubric=rubric,
    )


try:  # a pytest fixture for test modules that import it
    import pytest

    @pytest.fixture(scope="module")
    def _fake_openai_module():
        srv = FakeOpenAI().start()
        yield srv
        srv.stop()

    @pytest.fixture
    def fake_openai(_fake_openai_module):
        """The module's fake server, reset (default answers, no delay, no requests) per test."""
        _fake_openai_module.reset(delay=0.0)
        return _fake_openai_module

except ImportError:  # standalone use without pytest
    pass
