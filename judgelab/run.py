"""Judge a dataset: pairwise (both orders by default), single score, or rubric grading.

Every function returns the tidy verdict frame of docs/architecture.md ("Verdict frame"),
one row per (judge, judged pair or response, order, sample), read back from the store for
this run, with ``df.attrs["summary"]`` holding the run's accounting:

========================= ===============================================================
``calls``                 distinct calls (addresses) the run needs
``cached``                of these, answered before (no payment)
``sent``                  sent by this run (paid)
``failed``                calls that ended failed (after retries), recorded with their error
``parse_failures``        verdict rows of answered calls whose output did not parse
``repaid``                calls re-sent because a killed run left them pending
``not_sent_budget``       calls not sent because ``max_cost_usd`` would have been exceeded
``cost_usd``              cost of the calls sent by this run
``wall_s``                wall time
========================= ===============================================================

Calls run through :class:`judgelab.llm.LLMClient`; each is recorded as pending in the store
before it is sent, so a rerun after a crash sends only what is not done.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from judgelab.judges import Judge, as_judges, endpoint_of
from judgelab.llm import BudgetError, LLMClient, call_address, expected_cost, route_of
from judgelab.store import FRAME_COLUMNS, VerdictStore, context_key

__all__ = ["judge_pairwise", "judge_single", "judge_rubric", "DEFAULT_STORE", "RunSummary"]

DEFAULT_STORE = "runs/verdicts.sqlite"
ORDERS = {"both": ("ab", "ba"), "ab": ("ab",), "ba": ("ba",)}


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
    """The run's accounting (a dict) with a one-line text form."""

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
        if self.get("not_sent_budget"):
            text += f"; STOPPED by max_cost_usd={self['max_cost_usd']}: {self['not_sent_budget']} calls not sent"
        return text


# --------------------------------------------------------------- helpers
def _as_store(store) -> VerdictStore:
    if isinstance(store, VerdictStore):
        return store
    return VerdictStore(store if store is not None else DEFAULT_STORE)


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


def _texts(ds) -> tuple[dict, dict, dict]:
    items = ds.items.set_index("item_id")
    prompts = items["prompt"].astype(str).to_dict()
    refs = items["reference"].to_dict() if "reference" in items.columns else {}
    r = ds.responses
    texts = dict(zip(r["response_id"], r["text"] if "text" in r.columns else [None] * len(r)))
    return prompts, refs, texts


def _ref(refs, item_id) -> str:
    v = refs.get(item_id)
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _check_families(ds, judges: list[Judge]) -> None:
    """Warn when a judge's family differs from the declared family of its own model's responses."""
    r = ds.responses
    if "family" not in r.columns:
        return
    from judgelab import families

    canon = r["generator"].map(families.canonical_model)
    for j in judges:
        own = r[(canon == families.canonical_model(j.model)).to_numpy()]
        declared = set(own["family"].dropna()) - {j.family}
        if declared and j.family is not None:
            warnings.warn(
                f"judge {j.model} has family '{j.family}' but the dataset declares its responses as {sorted(declared)}",
                UserWarning,
                stacklevel=3,
            )


def _select_responses(ds, responses, n_responses, seed, table: str | None) -> list[str]:
    if responses is None:
        src = getattr(ds, table, None) if table else None
        responses = "labelled" if src is not None and len(src) else "all"
    if isinstance(responses, str):
        if responses == "all":
            ids = ds.responses["response_id"].tolist()
        elif responses == "labelled":
            src = getattr(ds, table, None) if table else None
            if src is None or not len(src):
                raise ValueError(f"responses='labelled' but the dataset has no {table} table")
            wanted = set(src["response_id"])
            ids = [x for x in ds.responses["response_id"] if x in wanted]
        else:
            raise ValueError(
                f"responses must be 'all', 'labelled' or a list of response ids, not {responses!r}"
            )
    else:
        ids = [str(x) for x in responses]
        known = set(ds.responses["response_id"])
        unknown = [x for x in ids if x not in known]
        if unknown:
            from judgelab.data import DataError

            raise DataError("responses", "response_id", "unknown response ids to judge", unknown)
    if n_responses is not None and n_responses < len(ids):
        rng = np.random.default_rng(seed)
        ids = [ids[i] for i in sorted(rng.choice(len(ids), size=int(n_responses), replace=False))]
    return ids


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
async def _execute(
    tasks, judges, store, client, run_id, protocol, scale, rubric, progress, max_cost_usd
):
    from tqdm.auto import tqdm

    by_addr: dict[str, list[_Task]] = defaultdict(list)
    for t in tasks:
        by_addr[t.address].append(t)
    status = store.call_status(by_addr)
    done_before = [a for a in by_addr if status.get(a) == "done"]
    to_send = [a for a in by_addr if status.get(a) != "done"]
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

    async def one(addr: str):
        group = by_addr[addr]
        t0, judge = group[0], judges[group[0].judge]
        if stop["budget"]:
            counts["not_sent_budget"] += 1
            return
        async with sem:
            if stop["budget"]:
                counts["not_sent_budget"] += 1
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
    return counts


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
            else Path(store if store is not None else DEFAULT_STORE)
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
            max_cost_usd=max_cost_usd,
            cost_usd=float(counts["cost_usd"]),
            wall_s=time.perf_counter() - t_start,
            store=str(st.path),
        )
        st.finish_run(run_id, dict(summary)).result()
    finally:
        if own_store:
            st.close()
    if summary["not_sent_budget"]:
        warnings.warn(summary.line(), UserWarning, stacklevel=3)
    if verbose:
        print(summary.line())
    df.attrs["summary"] = summary
    return df


def _client_kwargs(timeout, max_retries, backoff_base, backoff_max, rate_limits) -> dict:
    kw = {}
    for k, v in (
        ("timeout", timeout),
        ("max_retries", max_retries),
        ("backoff_base", backoff_base),
        ("backoff_max", backoff_max),
        ("rate_limits", rate_limits),
    ):
        if v is not None:
            kw[k] = v
    return kw


# ------------------------------------------------------------- protocols
def judge_pairwise(
    ds,
    judges,
    store: VerdictStore | str | Path | None = None,
    pairs: str | pd.DataFrame = "human",
    n_pairs: int | None = None,
    seed: int = 0,
    orders: str = "both",
    repeats: int = 1,
    concurrency: int = 16,
    run_id: str | None = None,
    max_cost_usd: float | None = None,
    dry_run: bool = False,
    progress: bool = True,
    *,
    client: LLMClient | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    backoff_base: float | None = None,
    backoff_max: float | None = None,
    rate_limits: dict | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Judge pairs of responses with each judge, in both orders by default.

    ``pairs``: ``human`` (pairs humans compared), ``all``, ``baseline:<generator>`` or a
    DataFrame (item_id, response_a, response_b); ``n_pairs`` a seeded sample of them.
    ``orders``: ``both`` (ab and ba), ``ab``, ``ba`` or ``random`` (one seeded order per
    pair). ``repeats``: samples per (pair, order), each a distinct call. Rows carry the stored
    pair (``response_a`` is shown first in order ``ab``), ``choice`` (displayed A|B|tie) and
    ``winner`` (the response id, or ``tie``). See the module docstring for the summary."""
    from judgelab.data import load_dataset

    ds = load_dataset(ds)
    judges = as_judges(judges)
    if orders not in (*ORDERS, "random"):
        raise ValueError(f"orders must be one of {[*ORDERS, 'random']}, not {orders!r}")
    if int(repeats) < 1:
        raise ValueError("repeats must be >= 1")
    pr = ds.pairs(pairs, n_pairs, seed)
    ds.require_texts(pd.concat([pr["response_a"], pr["response_b"]]).unique())
    _check_families(ds, judges)
    prompts, refs, texts = _texts(ds)
    rng = np.random.default_rng(seed)
    pair_orders = (
        [("ab",) if x else ("ba",) for x in rng.integers(0, 2, len(pr)).astype(bool)]
        if orders == "random"
        else [ORDERS[orders]] * len(pr)
    )
    tasks = []
    for ji, j in enumerate(judges):
        route = route_of(j)
        for (item, ra, rb), ords in zip(
            pr[["item_id", "response_a", "response_b"]].itertuples(index=False), pair_orders
        ):
            for o in ords:
                sa, sb = (ra, rb) if o == "ab" else (rb, ra)
                msgs = j.messages(
                    "pairwise",
                    question=prompts[item],
                    answer_a=texts[sa],
                    answer_b=texts[sb],
                    reference=_ref(refs, item),
                )
                for s in range(int(repeats)):
                    addr, _, req = call_address(j, msgs, s, route)
                    tasks.append(
                        _Task(
                            ji, "pairwise", msgs, s, addr, route, req, item, ra, rb, None, o, sa, sb
                        )
                    )
    return _plan_and_run(
        "pairwise",
        ds,
        judges,
        tasks,
        store,
        run_id=run_id,
        concurrency=concurrency,
        max_cost_usd=max_cost_usd,
        dry_run=dry_run,
        progress=progress,
        scale=None,
        rubric=None,
        client=client,
        client_kwargs=_client_kwargs(timeout, max_retries, backoff_base, backoff_max, rate_limits),
        verbose=verbose,
    )


def _judge_each(
    protocol,
    ds,
    judges,
    store,
    responses,
    n_responses,
    seed,
    repeats,
    concurrency,
    run_id,
    max_cost_usd,
    dry_run,
    progress,
    client,
    ckw,
    verbose,
    scale=None,
    rubric=None,
):
    from judgelab.data import load_dataset

    ds = load_dataset(ds)
    judges = as_judges(judges)
    if int(repeats) < 1:
        raise ValueError("repeats must be >= 1")
    table = "labels" if protocol == "single" else "rubric_labels"
    ids = _select_responses(ds, responses, n_responses, seed, table)
    ds.require_texts(ids)
    _check_families(ds, judges)
    prompts, refs, texts = _texts(ds)
    item_of = dict(zip(ds.responses["response_id"], ds.responses["item_id"]))
    tasks = []
    for ji, j in enumerate(judges):
        route = route_of(j)
        jr = j.rubric or rubric
        for rid in ids:
            item = item_of[rid]
            extra = {"scale": scale} if protocol == "single" else {"rubric": jr}
            msgs = j.messages(
                protocol,
                question=prompts[item],
                answer=texts[rid],
                reference=_ref(refs, item),
                **extra,
            )
            for s in range(int(repeats)):
                addr, _, req = call_address(j, msgs, s, route)
                tasks.append(_Task(ji, protocol, msgs, s, addr, route, req, item, response_id=rid))
    return _plan_and_run(
        protocol,
        ds,
        judges,
        tasks,
        store,
        run_id=run_id,
        concurrency=concurrency,
        max_cost_usd=max_cost_usd,
        dry_run=dry_run,
        progress=progress,
        scale=scale,
        rubric=rubric,
        client=client,
        client_kwargs=ckw,
        verbose=verbose,
    )


def judge_single(
    ds,
    judges,
    store: VerdictStore | str | Path | None = None,
    responses: str | list | None = None,
    n_responses: int | None = None,
    seed: int = 0,
    repeats: int = 1,
    concurrency: int = 16,
    run_id: str | None = None,
    max_cost_usd: float | None = None,
    dry_run: bool = False,
    progress: bool = True,
    *,
    scale: tuple[float, float] | None = None,
    client: LLMClient | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    backoff_base: float | None = None,
    backoff_max: float | None = None,
    rate_limits: dict | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Score responses on the dataset's scale (``Rating: [[N]]``), one row per (judge, response,
    sample). ``responses``: ``labelled`` (those with human labels; default when labels exist),
    ``all`` or a list of ids; ``n_responses`` a seeded sample. ``scale`` overrides ``ds.scale``."""
    from judgelab.data import load_dataset

    ds = load_dataset(ds)
    scale = scale or ds.scale
    if scale is None:
        raise ValueError(f"dataset '{ds.name}' declares no score scale; pass scale=(min, max)")
    return _judge_each(
        "single",
        ds,
        judges,
        store,
        responses,
        n_responses,
        seed,
        repeats,
        concurrency,
        run_id,
        max_cost_usd,
        dry_run,
        progress,
        client,
        _client_kwargs(timeout, max_retries, backoff_base, backoff_max, rate_limits),
        verbose,
        scale=tuple(scale),
    )


def judge_rubric(
    ds,
    judges,
    store: VerdictStore | str | Path | None = None,
    responses: str | list | None = None,
    n_responses: int | None = None,
    seed: int = 0,
    repeats: int = 1,
    concurrency: int = 16,
    run_id: str | None = None,
    max_cost_usd: float | None = None,
    dry_run: bool = False,
    progress: bool = True,
    *,
    rubric: dict | None = None,
    client: LLMClient | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    backoff_base: float | None = None,
    backoff_max: float | None = None,
    rate_limits: dict | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Grade responses against a rubric (a judge's own ``rubric``, else ``rubric=``, else the
    dataset's). Rows carry ``judge_verdict`` (the judge's pass|warn|fail), ``verdict``
    (recomputed from the section metrics with the judge's thresholds), ``sections`` (JSON of
    the metrics) and ``score`` (mean metric). ``responses`` as in :func:`judge_single`."""
    from judgelab import rubric as rubric_mod
    from judgelab.data import load_dataset

    ds = load_dataset(ds)
    rubric = rubric or ds.rubric
    judges = as_judges(judges)
    if rubric is None and any(j.rubric is None for j in judges):
        raise ValueError(
            f"dataset '{ds.name}' has no rubric; pass rubric= or give each Judge a rubric"
        )
    if rubric is not None:
        rubric = rubric_mod.validate_rubric(rubric)
    return _judge_each(
        "rubric",
        ds,
        judges,
        store,
        responses,
        n_responses,
        seed,
        repeats,
        concurrency,
        run_id,
        max_cost_usd,
        dry_run,
        progress,
        client,
        _client_kwargs(timeout, max_retries, backoff_base, backoff_max, rate_limits),
        verbose,
        rubric=rubric,
    )


__all__ += ["BudgetError"]


# ------------------------------------------------------------- low margin
_IDENTITY = ["model", "backend", "judge_version"]


def low_margin(verdicts: pd.DataFrame, margin_threshold: float | None = None) -> pd.DataFrame:
    """Flag low-margin cases (DESIGN.md): a case is low-margin when its two orders disagree,
    its repeats disagree, or (when logprobs exist) a margin is below ``margin_threshold``.

    A case is one identity (model, backend, judge_version) and one pair (pairwise) or one
    response (single, rubric). Only parsed rows count. Returns one row per case with ``n``,
    ``orders_disagree`` (the winners of the two orders differ), ``repeats_disagree`` (samples
    of one order disagree: winner, score or rubric verdict), ``margin_low`` and ``low_margin``
    (any of them). The ensemble vote-share criterion belongs to :mod:`judgelab.ensembles`."""
    v = verdicts[verdicts["parse_ok"].astype(bool)].copy()
    out = []
    for protocol, grp in v.groupby("protocol", sort=False):
        if protocol == "pairwise":
            case = [*_IDENTITY, "item_id", "response_a", "response_b"]
            value = grp["winner"]
        else:
            case = [*_IDENTITY, "item_id", "response_id"]
            value = grp["verdict"] if protocol == "rubric" else grp["score"]
        g = grp.assign(_value=value.astype(str), _order=grp["order"].fillna("-"))
        per_order = g.groupby([*case, "_order"], dropna=False)["_value"].agg(["nunique", "first"])
        rep = per_order["nunique"].gt(1).groupby(level=list(range(len(case))), dropna=False).any()
        # orders disagree: the (order-consistent) answers of the two orders differ
        firsts = per_order["first"].groupby(level=list(range(len(case))), dropna=False).nunique()
        n_orders = per_order.groupby(level=list(range(len(case))), dropna=False).size()
        orders = (n_orders > 1) & (firsts > 1)
        n = g.groupby(case, dropna=False).size()
        if margin_threshold is not None and "margin" in g.columns:
            ml = g["margin"].lt(margin_threshold).groupby([g[c] for c in case], dropna=False).any()
        else:
            ml = pd.Series(False, index=n.index)
        res = pd.DataFrame(
            {"n": n, "orders_disagree": orders, "repeats_disagree": rep, "margin_low": ml}
        ).reset_index()
        res.insert(len(_IDENTITY), "protocol", protocol)
        out.append(res)
    if not out:
        return pd.DataFrame(
            columns=[
                *_IDENTITY,
                "protocol",
                "item_id",
                "response_a",
                "response_b",
                "response_id",
                "n",
                "orders_disagree",
                "repeats_disagree",
                "margin_low",
                "low_margin",
            ]
        )
    df = pd.concat(out, ignore_index=True)
    for c in ("orders_disagree", "repeats_disagree", "margin_low"):
        df[c] = df[c].fillna(False).astype(bool)
    df["low_margin"] = df["orders_disagree"] | df["repeats_disagree"] | df["margin_low"]
    return df


__all__ += ["low_margin"]
