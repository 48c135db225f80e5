"""Judging throughput: judgelab versus plain litellm, measured in the same run.

A local OpenAI-compatible server (tests/openai_server.py, in its own process so that it does
not compete with the client for the GIL) answers every request after an injected latency.
The script sends the same N pairwise judgement calls at the same concurrency

1. with plain ``litellm.acompletion`` + ``asyncio.gather`` + an ``asyncio.Semaphore`` (the
   baseline: what a researcher would write by hand, no store, no retries bookkeeping);
2. with ``judgelab.judge_pairwise`` (store writes, pending-before-send, parsing, frames);
3. with ``judgelab.judge_pairwise`` again on the same store (every call cached).

It prints calls/s for each, judgelab / baseline (target >= 0.9), the fraction of the ideal
``concurrency / latency`` calls/s, and the cached rerun's speed-up (target >= 20x, zero server
hits). Rounds alternate baseline and judgelab so that machine load affects both alike.

    python benchmarks/throughput.py [--calls 2000] [--concurrency 64] [--latency 0.1] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE.parent / "tests" / "openai_server.py"),
            "--port",
            "0",
            "--delay",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError("the benchmark server did not start")
    return proc, url


def server_hits(url: str) -> int:
    with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/stats") as r:
        return json.loads(r.read())["requests"]


async def plain_litellm(
    messages: list, model: str, url: str, concurrency: int, params: dict
) -> None:
    import litellm

    sem = asyncio.Semaphore(concurrency)

    async def one(m):
        async with sem:
            return await litellm.acompletion(
                model=model, messages=m, api_base=url, api_key="bench", **params
            )

    await asyncio.gather(*(one(m) for m in messages))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=2000, help="pairwise calls (pairs x 2 orders)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.1, help="injected server latency, seconds")
    ap.add_argument("--rounds", type=int, default=2, help="alternating baseline / judgelab rounds")
    a = ap.parse_args()

    import litellm
    from openai_server import tiny_dataset

    import judgelab as jl

    litellm.suppress_debug_info = True
    n_pairs = a.calls // 2
    n_gen = 5  # 10 pairs per item
    ds = tiny_dataset(n_items=-(-n_pairs // 10), n_gen=n_gen)
    pairs = ds.pairs("all").head(n_pairs)
    n_calls = 2 * len(pairs)
    proc, url = start_server(a.latency)
    try:
        judge = jl.Judge("openai/bench", api_base=url, api_key="bench", max_tokens=64)
        texts = dict(zip(ds.responses["response_id"], ds.responses["text"]))
        prompts = dict(zip(ds.items["item_id"], ds.items["prompt"]))
        messages = []
        for item, ra, rb in pairs.itertuples(index=False):
            for x, y in ((ra, rb), (rb, ra)):
                messages.append(
                    judge.messages(
                        "pairwise", question=prompts[item], answer_a=texts[x], answer_b=texts[y]
                    )
                )
        params = {**judge.request_params(), "num_retries": 0, "max_retries": 0}
        # warm-up: litellm's lazy imports and HTTP client creation are not what we measure
        asyncio.run(plain_litellm(messages[:64], judge.model, url, a.concurrency, params))

        base_t, lab_t, tmp = [], [], tempfile.mkdtemp(prefix="judgelab-bench-")
        base_cpu, lab_cpu = [], []  # client CPU seconds (all threads): robust on a loaded machine
        store = None
        for r in range(a.rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            asyncio.run(plain_litellm(messages, judge.model, url, a.concurrency, params))
            base_t.append(time.perf_counter() - t0)
            base_cpu.append(time.process_time() - c0)
            store = Path(tmp) / f"round{r}.sqlite"
            t0, c0 = time.perf_counter(), time.process_time()
            df = jl.judge_pairwise(
                ds,
                judge,
                store=store,
                pairs=pairs,
                concurrency=a.concurrency,
                progress=False,
                verbose=False,
            )
            lab_t.append(time.perf_counter() - t0)
            lab_cpu.append(time.process_time() - c0)
            s = df.attrs["summary"]
            assert s["sent"] == n_calls and len(df) == n_calls and s["failed"] == 0, s
            print(
                f"round {r + 1}: plain litellm {base_t[-1]:.2f} s ({base_cpu[-1]:.1f} s CPU), "
                f"judgelab {lab_t[-1]:.2f} s ({lab_cpu[-1]:.1f} s CPU)",
                flush=True,
            )

        hits = server_hits(url)
        t0 = time.perf_counter()
        df = jl.judge_pairwise(
            ds,
            judge,
            store=store,
            pairs=pairs,
            concurrency=a.concurrency,
            progress=False,
            verbose=False,
        )
        cached_t = time.perf_counter() - t0
        cached_hits = server_hits(url) - hits
        assert df.attrs["summary"]["cached"] == n_calls and len(df) == n_calls
    finally:
        proc.kill()
        proc.wait()

    base, lab = statistics.median(base_t), statistics.median(lab_t)
    bcpu, lcpu = statistics.median(base_cpu), statistics.median(lab_cpu)
    ideal = a.concurrency / a.latency
    print()
    print(
        f"{n_calls} pairwise calls, concurrency {a.concurrency}, server latency {a.latency * 1000:.0f} ms, {a.rounds} rounds (median)"
    )
    print(
        f"plain litellm.acompletion + gather + semaphore: {n_calls / base:8.1f} calls/s ({base:.2f} s)"
    )
    print(
        f"judgelab.judge_pairwise:                       {n_calls / lab:8.1f} calls/s ({lab:.2f} s)"
    )
    print(f"ratio judgelab / plain litellm:                {base / lab:8.2f}   (target >= 0.9)")
    print(
        f"fraction of the ideal {ideal:.0f} calls/s:            judgelab {n_calls / lab / ideal:.2f}, plain {n_calls / base / ideal:.2f}"
    )
    print(
        f"client CPU per call:                         plain {bcpu / n_calls * 1000:.1f} ms, judgelab "
        f"{lcpu / n_calls * 1000:.1f} ms (ratio {bcpu / lcpu:.2f})"
    )
    try:
        load = os.getloadavg()[0]
        print(f"machine load average (1 min) at the end:       {load:.1f} on {os.cpu_count()} CPUs")
    except OSError:
        pass
    print(
        f"cached rerun:                                  {cached_t:8.2f} s, speed-up {lab / cached_t:.1f}x (target >= 20x), server hits {cached_hits}"
    )


if __name__ == "__main__":
    main()
