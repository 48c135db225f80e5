"""The call engine under :mod:`judgelab.run`'s protocols: a run's calls (tasks with their
addresses) are looked up in the store, the missing ones claimed as pending, sent through
:class:`judgelab.llm.LLMClient` within the budget, recorded, and the run's verdict rows
read back with their accounting (:class:`RunSummary`)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
import uuid
import warnings
from collections import defaultdict
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pandas as pd

from judgelab import config
from judgelab.judges import Judge, endpoint_of
from judgelab.llm import CallResult, LLMClient, expected_cost
from judgelab.store import FRAME_COLUMNS, VerdictStore, context_key

#: The default store's path relative to the project directory (its one home is judgelab.config;
#: a call that names no store uses :func:`judgelab.config.default_store`).
DEFAULT_STORE = config.DEFAULT_STORE


@dataclass
class _Task:
    judge: int
    protocol: str
    messages: list
    sample: int
    address: str
    route: str
    request: str
    item_id: str
    response_a: str | None = None  # the stored pair (order ab shows response_a first)
    response_b: str | None = None
    response_id: str | None = None
    order: str | None = None
    shown_a: str | None = None  # response displayed as A in this order
    shown_b: str | None = None

    @property
    def context(self) -> str:
        return context_key(self.item_id, self.response_a, self.response_b, self.response_id)


class RunSummary(dict):
    """The run's accounting (a dict) with a one-line text form. ``stopped`` lists why calls
    were not sent (:func:`stop_line` gives each its terminal line)."""

    def line(self) -> str:
        if self.get("dry_run"):
            cost = self.get("estimated_cost_usd")
            return (
                f"judgelab {self['protocol']} dry run: {self['calls']} calls needed, {self['cached']} cached, "
                f"{self['calls'] - self['cached']} to send, estimated cost "
                + (
                    f"${cost:.4f} (worst case ${self['worst_case_cost_usd']:.4f})"
                    if cost is not None
                    else "unknown (unpriced model)"
                )
            )
        text = (
            f"judgelab {self['protocol']} run {self['run_id']}: {self['calls']} calls "
            f"({self['cached']} cached, {self['sent']} sent, {self['failed']} failed, "
            f"{self['repaid']} re-paid after an interruption), {self['verdicts']} verdicts, "
            f"{self['parse_failures']} parse failures, ${self['cost_usd']:.4f}, {self['wall_s']:.1f} s"
        )
        for stop in self.get("stopped") or []:
            text += "; " + stop_line(stop)
        return text


BY_BUDGET = "max_cost_usd"
BY_FAILURES = "repeated failures"


def stop_line(stop: dict) -> str:
    """The terminal line of one entry of a summary's ``stopped`` list:
    ``STOPPED by max_cost_usd: N of M calls not sent ($spent of $budget)`` or
    ``STOPPED by repeated failures: <message>``."""
    if stop.get("by") == BY_BUDGET:
        return (
            f"STOPPED by max_cost_usd: {stop['not_sent']} of {stop['calls']} calls not sent "
            f"(${stop['spent_usd']:.4f} of ${stop['budget_usd']:.4f})"
        )
    return (
        f"STOPPED by repeated failures: {stop.get('message')} "
        f"({stop.get('judge')}: {stop.get('failures')} failures in a row, "
        f"{stop.get('not_sent')} of {stop.get('calls')} calls not sent)"
    )


# ------------------------------------------------------------------ plans
@dataclass
class Plan:
    """What a dry run would send: its judges, the first task of every call still to send
    (in task order) and the store, handed to :data:`PLAN_OBSERVER` (pre-flight checks)."""

    protocol: str
    judges: list[Judge]
    pending: list[_Task]
    store: VerdictStore | str | Path | None
    client: LLMClient
    summary: dict


#: While set to a list, every dry run appends its :class:`Plan` to it (judgelab.preflight
#: plans a study this way in the CLI process, before the kernel starts).
PLAN_OBSERVER: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "judgelab_plan_observer", default=None
)


def probe_first_calls(plan: Plan) -> list[tuple[Judge, CallResult | None]]:
    """Send each judge's first pending call of ``plan`` alone and without retries, one judge
    after the other, and record it in the store (done: later runs reuse it; failed: retried
    later). Stops at the first failure. Returns (judge, result) pairs; result None when the
    call cannot be sent within the plan's budget."""
    firsts: dict[int, _Task] = {}
    for t in plan.pending:
        firsts.setdefault(t.judge, t)

    async def go():
        out = []
        st = _as_store(plan.store)
        try:
            for ji, t in sorted(firsts.items()):
                judge = plan.judges[ji]
                reserved = plan.client.reserve(judge, t.messages)
                if reserved is None:
                    out.append((judge, None))
                    break
                prev = await asyncio.wrap_future(
                    st.claim(
                        t.address,
                        judge.model,
                        t.route,
                        judge.default_backend(),
                        t.sample,
                        t.request,
                    )
                )
                if prev == "done":
                    plan.client.settle(reserved, None)
                    continue
                res = await plan.client.call(judge, t.messages, t.sample, retries=0)
                plan.client.settle(reserved, res.cost_usd)
                await asyncio.wrap_future(
                    st.finish(t.address, res.status, res.store_fields(plan.protocol, judge))
                )
                out.append((judge, res))
                if res.status != "done":
                    break
        finally:
            st.flush()
            if not isinstance(plan.store, VerdictStore):
                st.close()
        return out

    return _run_sync(go)


# --------------------------------------------------------------- helpers
def _as_store(store) -> VerdictStore:
    if isinstance(store, VerdictStore):
        return store
    return VerdictStore(store if store is not None else config.default_store())


def _run_sync(coro_fn):
    """Run an async function from sync code, also inside Jupyter's running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_fn())
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = asyncio.run(coro_fn())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="judgelab-run")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _verdict_rows(
    tasks: list[_Task],
    judges: list[Judge],
    raw: str | None,
    status: str,
    run_id: str,
    scale,
    rubric,
    versions: list[str],
) -> list[dict]:
    rows = []
    for t in tasks:
        j = judges[t.judge]
        row = {
            "address": t.address,
            "judge_version": versions[t.judge],
            "context": t.context,
            "model": j.model,
            "judge_family": j.family,
            "protocol": t.protocol,
            "item_id": t.item_id,
            "response_a": t.response_a,
            "response_b": t.response_b,
            "response_id": t.response_id,
            "order": t.order,
            "sample": t.sample,
            "run_id": run_id,
        }
        if status != "done":
            row.update(parse_ok=False, parse_error="call failed")
            rows.append(row)
            continue
        p = j.parse(t.protocol, raw, scale=scale, rubric=j.rubric or rubric)
        row.update(parse_ok=p.ok, parse_error=None if p.ok else f"parse: {p.error}")
        if p.ok:
            if t.protocol == "pairwise":
                row["choice"] = p.choice
                row["winner"] = {"A": t.shown_a, "B": t.shown_b}.get(p.choice, "tie")
            else:
                row["score"] = p.score
            if t.protocol == "rubric":
                row.update(
                    verdict=p.verdict,
                    judge_verdict=p.judge_verdict,
                    sections=json.dumps(p.sections),
                )
        rows.append(row)
    return rows


# ------------------------------------------------------------------ engine
def _judges_in_turn(addresses: list[str], by_addr: dict[str, list[_Task]]) -> list[str]:
    """The calls to send, taking one of each judge in turn (each judge's own order kept).

    All calls share one semaphore, which admits them first come, first served: in the tasks'
    judge-major order the second judge waited until the first judge's calls were nearly all
    answered. In turn, judges on different providers or local servers are called at once, and a
    judge whose calls fail is seen (and stopped by the breaker) within its first calls instead
    of after every other judge's."""
    queues: dict[int, list[str]] = defaultdict(list)
    for a in addresses:
        queues[by_addr[a][0].judge].append(a)
    rounds = zip_longest(*queues.values())
    return [a for batch in rounds for a in batch if a is not None]


async def _execute(
    tasks, judges, store, client, run_id, protocol, scale, rubric, progress, max_cost_usd
):
    # tqdm's plain text bar: it renders in JupyterLab and a terminal alike, where tqdm.auto
    # needs ipywidgets (not a dependency) and prints 'IProgress not found' without it
    from tqdm.std import tqdm

    by_addr: dict[str, list[_Task]] = defaultdict(list)
    for t in tasks:
        by_addr[t.address].append(t)
    status = store.call_status(by_addr)
    done_before = [a for a in by_addr if status.get(a) == "done"]
    to_send = _judges_in_turn([a for a in by_addr if status.get(a) != "done"], by_addr)
    counts = defaultdict(int)
    counts["cached"] = len(done_before)
    versions = [j.version for j in judges]  # hashed once per run, not per row
    pbar = tqdm(
        total=len(by_addr),
        desc=f"judging ({protocol})",
        unit="call",
        disable=not progress,
        leave=True,
    )

    # cached calls: (re)parse the stored outputs for these judges, record run membership
    futures = []
    if done_before:
        calls = store.get_calls(done_before)
        rows, members = [], []
        for a in done_before:
            rows += _verdict_rows(
                by_addr[a], judges, calls[a]["raw_output"], "done", run_id, scale, rubric, versions
            )
            members += [
                {
                    "run_id": run_id,
                    "address": a,
                    "judge_version": versions[t.judge],
                    "context": t.context,
                    "cached": 1,
                }
                for t in by_addr[a]
            ]
        futures += [store.put_verdicts(rows), store.put_run_calls(members)]
        pbar.update(len(done_before))

    sem = client.semaphore()
    stop = {"budget": False}
    breaker = _Breaker(client.max_consecutive_failures)

    def not_sent(ji: int) -> bool:
        if stop["budget"]:
            counts["not_sent_budget"] += 1
            return True
        if ji in breaker.stopped:
            breaker.not_sent[ji] += 1
            return True
        return False

    async def one(addr: str):
        group = by_addr[addr]
        t0, judge = group[0], judges[group[0].judge]
        if not_sent(t0.judge):
            return
        async with sem:
            if not_sent(t0.judge):
                return
            reserved = client.reserve(judge, t0.messages)
            if reserved is None:  # this call could overspend: stop sending
                stop["budget"] = True
                counts["not_sent_budget"] += 1
                return
            prev = await asyncio.wrap_future(
                store.claim(
                    addr, judge.model, t0.route, judge.default_backend(), t0.sample, t0.request
                )
            )
            if prev == "done":  # another process answered it meanwhile
                client.settle(reserved, None)
                raw = store.get_calls([addr])[addr]["raw_output"]
                cached, res = 1, None
            else:
                res = await client.call(judge, t0.messages, t0.sample)
                client.settle(reserved, res.cost_usd)
                cached = 0
        if res is None:
            st = "done"
            counts["cached"] += 1
        else:
            st, raw = res.status, res.content
            counts["sent"] += 1
            counts["repaid"] += prev == "pending"
            counts["failed"] += st == "failed"
            counts["cost_usd"] += res.cost_usd or 0.0
            breaker.record(t0.judge, res)
        run_rows = [
            {
                "run_id": run_id,
                "address": addr,
                "judge_version": versions[t.judge],
                "context": t.context,
                "cached": cached,
                "repaid": int(prev == "pending"),
            }
            for t in group
        ]
        futures.append(
            store.record(
                addr,
                None if res is None else st,
                None if res is None else res.store_fields(protocol, judge),
                _verdict_rows(group, judges, raw, st, run_id, scale, rubric, versions),
                run_rows,
            )
        )
        pbar.update(1)

    try:
        await asyncio.gather(*(one(a) for a in to_send))
    finally:
        pbar.close()
        for f in futures:
            await asyncio.wrap_future(f)
    counts["breaker"] = breaker
    return counts


class _Breaker:
    """Stops a judge after ``limit`` failed calls in a row (completion order) with the same
    :attr:`judgelab.llm.CallResult.failure_key`; a success or another failure resets it."""

    def __init__(self, limit: int):
        self.limit = limit
        self.last: dict[int, tuple] = {}
        self.run: dict[int, int] = defaultdict(int)
        self.stopped: dict[int, dict] = {}
        self.not_sent: dict[int, int] = defaultdict(int)

    def record(self, ji: int, res: CallResult) -> None:
        key = res.failure_key
        if key is None:
            self.run[ji] = 0
            self.last.pop(ji, None)
            return
        self.run[ji] = self.run[ji] + 1 if self.last.get(ji) == key else 1
        self.last[ji] = key
        if self.limit and self.run[ji] >= self.limit and ji not in self.stopped:
            self.stopped[ji] = {"message": res.error, "failures": self.run[ji]}


def _stops(counts, tasks, judges, client, n_calls, max_cost_usd) -> list[dict]:
    """The summary's ``stopped`` entries: the budget stop, then one per judge the breaker
    stopped."""
    out = []
    if counts["not_sent_budget"]:
        out.append(
            {
                "by": BY_BUDGET,
                "not_sent": int(counts["not_sent_budget"]),
                "calls": n_calls,
                "spent_usd": float(client.spent_usd),
                "budget_usd": float(max_cost_usd if max_cost_usd is not None else 0.0),
            }
        )
    breaker = counts.get("breaker")
    for ji, info in sorted(breaker.stopped.items()) if breaker else ():
        j = judges[ji]
        out.append(
            {
                "by": BY_FAILURES,
                "judge": j.identity(),
                "model": j.model,
                "message": info["message"],
                "failures": info["failures"],
                "not_sent": int(breaker.not_sent[ji]),
                "calls": len({t.address for t in tasks if t.judge == ji}),
            }
        )
    return out


def _plan_and_run(
    protocol,
    ds,
    judges,
    tasks,
    store,
    *,
    run_id,
    concurrency,
    max_cost_usd,
    dry_run,
    progress,
    scale,
    rubric,
    client,
    client_kwargs,
    verbose,
) -> pd.DataFrame:
    t_start = time.perf_counter()
    for endpoint in {e.prefix: e for e in map(endpoint_of, judges) if e is not None}.values():
        if endpoint.prepare is not None:
            endpoint.prepare(ds)  # e.g. the simulated panel learns the dataset's true quality
    client = client or LLMClient(
        concurrency=concurrency or 16, max_cost_usd=max_cost_usd, **client_kwargs
    )
    if max_cost_usd is not None and client.max_cost_usd is None:
        client.max_cost_usd = max_cost_usd
    client.check_priced(judges)  # refuse unpriced models with a budget before any call
    n_calls = len({t.address for t in tasks})

    if dry_run:
        path = (
            store.path
            if isinstance(store, VerdictStore)
            else Path(store if store is not None else config.default_store())
        )
        done: set[str] = set()
        if isinstance(store, VerdictStore) or path.exists():
            st = _as_store(store)
            done = {a for a, s in st.call_status(t.address for t in tasks).items() if s == "done"}
            if not isinstance(store, VerdictStore):
                st.close()
        first = {}
        for t in tasks:
            first.setdefault(t.address, t)
        todo = [t for a, t in first.items() if a not in done]
        from judgelab.llm import worst_case_cost

        exp = [expected_cost(judges[t.judge], t.messages) for t in todo]
        wc = [worst_case_cost(judges[t.judge], t.messages) for t in todo]
        summary = RunSummary(
            protocol=protocol,
            dry_run=True,
            calls=n_calls,
            cached=len(done),
            to_send=len(todo),
            estimated_cost_usd=None if any(x is None for x in exp) else float(sum(exp)),
            worst_case_cost_usd=None if any(x is None for x in wc) else float(sum(wc)),
            verdicts=len(tasks),
            wall_s=time.perf_counter() - t_start,
        )
        observer = PLAN_OBSERVER.get()
        if observer is not None:
            observer.append(Plan(protocol, judges, todo, store, client, summary))
        if verbose:
            print(summary.line())
        df = pd.DataFrame(columns=FRAME_COLUMNS)
        df.attrs["summary"] = summary
        return df

    own_store = not isinstance(store, VerdictStore)
    st = _as_store(store)
    run_id = run_id or f"{protocol}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    try:
        st.start_run(run_id, protocol).result()
        counts = _run_sync(
            lambda: _execute(
                tasks, judges, st, client, run_id, protocol, scale, rubric, progress, max_cost_usd
            )
        )
        st.flush()
        stops = _stops(counts, tasks, judges, client, n_calls, max_cost_usd)
        df = st.to_frame(run_id=run_id)
        summary = RunSummary(
            protocol=protocol,
            run_id=run_id,
            calls=n_calls,
            cached=int(counts["cached"]),
            sent=int(counts["sent"]),
            failed=int(counts["failed"]),
            repaid=int(counts["repaid"]),
            parse_failures=int(((df["status"] == "done") & ~df["parse_ok"]).sum()),
            verdicts=len(df),
            not_sent_budget=int(counts["not_sent_budget"]),
            not_sent_failures=sum(s["not_sent"] for s in stops if s["by"] == BY_FAILURES),
            max_cost_usd=max_cost_usd,
            stopped=stops,
            cost_usd=float(counts["cost_usd"]),
            wall_s=time.perf_counter() - t_start,
            store=str(st.path),
        )
        st.finish_run(run_id, dict(summary)).result()
    finally:
        if own_store:
            st.close()
    if summary["stopped"]:
        warnings.warn(summary.line(), UserWarning, stacklevel=3)
    if verbose:
        print(summary.line())
    df.attrs["summary"] = summary
    return df


def _client_kwargs(
    timeout, max_retries, backoff_base, backoff_max, rate_limits, max_consecutive_failures=None
) -> dict:
    kw = {}
    for k, v in (
        ("max_consecutive_failures", max_consecutive_failures),
        ("timeout", timeout),
        ("max_retries", max_retries),
        ("backoff_base", backoff_base),
        ("backoff_max", backoff_max),
        ("rate_limits", rate_limits),
    ):
        if v is not None:
            kw[k] = v
    return kw
