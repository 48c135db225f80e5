"""Judge a dataset: pairwise (both orders by default), single score, or rubric grading.

Every function returns the tidy verdict frame of docs/design.md ("Verdict frame"),
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
``not_sent_failures``     calls not sent because their judge's breaker tripped
``stopped``               why calls were not sent: ``{"by": "max_cost_usd", ...}`` and one
                          ``{"by": "repeated failures", "judge", "message", ...}`` per
                          judge stopped after ``max_consecutive_failures`` (default 5) failed
                          calls in a row with the same error (:func:`judgelab.engine.stop_line`)
``cost_usd``              cost of the calls sent by this run
``wall_s``                wall time
========================= ===============================================================

Calls run through :class:`judgelab.llm.LLMClient`; each is recorded as pending in the store
before it is sent, so a rerun after a crash sends only what is not done.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab.datasets import load_dataset
from judgelab.engine import (  # noqa: F401  (DEFAULT_STORE, RunSummary: public here)
    DEFAULT_STORE,
    RunSummary,
    _as_store,
    _client_kwargs,
    _plan_and_run,
    _Task,
)
from judgelab.judges import Judge, as_judges
from judgelab.llm import BudgetError, LLMClient, call_address, route_of
from judgelab.store import VerdictStore

__all__ = ["judge_pairwise", "judge_single", "judge_rubric", "DEFAULT_STORE", "RunSummary"]

ORDERS = {"both": ("ab", "ba"), "ab": ("ab",), "ba": ("ba",)}


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
    max_consecutive_failures: int | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Judge pairs of responses with each judge, in both orders by default.

    ``pairs``: ``human`` (pairs humans compared), ``all``, ``baseline:<generator>`` or a
    DataFrame (item_id, response_a, response_b); ``n_pairs`` a seeded sample of them.
    ``orders``: ``both`` (ab and ba), ``ab``, ``ba`` or ``random`` (one seeded order per
    pair). ``repeats``: samples per (pair, order), each a distinct call. Rows carry the stored
    pair (``response_a`` is shown first in order ``ab``), ``choice`` (displayed A|B|tie) and
    ``winner`` (the response id, or ``tie``). See the module docstring for the summary."""
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
        client_kwargs=_client_kwargs(
            timeout, max_retries, backoff_base, backoff_max, rate_limits, max_consecutive_failures
        ),
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
    max_consecutive_failures: int | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Score responses on the dataset's scale (``Rating: [[N]]``), one row per (judge, response,
    sample). ``responses``: ``labelled`` (those with human labels; default when labels exist),
    ``all`` or a list of ids; ``n_responses`` a seeded sample. ``scale`` overrides ``ds.scale``."""
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
        _client_kwargs(
            timeout, max_retries, backoff_base, backoff_max, rate_limits, max_consecutive_failures
        ),
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
    max_consecutive_failures: int | None = None,
    verbose: bool = True,
) -> pd.DataFrame:
    """Grade responses against a rubric (a judge's own ``rubric``, else ``rubric=``, else the
    dataset's). Rows carry ``judge_verdict`` (the judge's pass|warn|fail), ``verdict``
    (recomputed from the section metrics with the judge's thresholds), ``sections`` (JSON of
    the metrics) and ``score`` (mean metric). ``responses`` as in :func:`judge_single`."""
    from judgelab import rubric as rubric_mod

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
        _client_kwargs(
            timeout, max_retries, backoff_base, backoff_max, rate_limits, max_consecutive_failures
        ),
        verbose,
        rubric=rubric,
    )


__all__ += ["BudgetError"]
