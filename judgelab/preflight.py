"""Pre-flight checks: a study that cannot call its judges stops before any call is sent.

``judgelab run`` runs these checks in its own process before the notebook's
kernel starts; per judge (each Router deployment counts as one; judges served by a
registered :class:`judgelab.judges.Endpoint`, such as the simulated panel, need none of it):

a. ``litellm.get_llm_provider(model, api_base=...)``: an unknown provider is an error that
   suggests the closest names of ``litellm.provider_list``;
b. the credentials: a judge with a non-default ``api_base`` and no ``api_key`` is refused
   (judgelab never sends a provider's environment key to a server the user named; a local
   server that ignores keys takes ``api_key: none``), then
   ``litellm.validate_environment(model, api_base=...)`` with empty variables counted as
   missing (litellm counts them as set), checked after (a) because it reports unknown
   providers as fine;
c. the study is planned as a dry run in this process (:func:`planned`) and each judge's
   first pending call is sent alone, without retries (:func:`probe`; recorded in the
   store: the run reuses it).

A failure at any step raises :class:`PreflightError` with every problem found at that step,
the provider's message redacted. :func:`check_judges` runs (a) and (b) alone, for
interactive runs (``studies.prepare``) and for ``--dry-run``, which also warns about
judges without a price (:func:`price_warnings`).
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Iterator, Mapping

from judgelab import config
from judgelab.judges import Judge, endpoint_of
from judgelab.llm import (
    ENV_KEY_PREFIX,
    _lit,
    env_key_guard,
    error_text,
    is_priced,
    redact,
    register_secret,
    resolve_api_key,
)

__all__ = [
    "PreflightError",
    "routes",
    "provider_problem",
    "environment_problem",
    "judge_problems",
    "check_judges",
    "price_warnings",
    "planned",
    "probe",
    "needs_preflight",
    "keys_to_environment",
    "KEY_VARIABLE",
]


class PreflightError(RuntimeError):
    """A judge cannot be called: the run stops before sending anything (else)."""


def routes(judge: Judge) -> list[tuple[str, str | None, str | None]]:
    """(model, api_base, api_key) of every route a judge may call: the judge itself, or each
    Router deployment. Empty for judges served by a registered endpoint."""
    if endpoint_of(judge) is not None:
        return []
    if judge.router is None:
        return [(judge.model, judge.api_base, judge.api_key)]
    r = judge.router
    model_list = r.get("model_list", []) if isinstance(r, Mapping) else getattr(r, "model_list", [])
    out = []
    for dep in model_list or []:
        lp = dep.get("litellm_params", {}) or {}
        out.append((str(lp.get("model")), lp.get("api_base"), lp.get("api_key")))
    return out


def _provider_names() -> list[str]:
    return sorted({getattr(p, "value", str(p)) for p in _lit().provider_list})


def provider_problem(model: str, api_base: str | None = None) -> str | None:
    """Step (a): why litellm cannot route ``model``, with the closest provider names."""
    lit = _lit()
    try:
        lit.get_llm_provider(model, api_base=api_base)
        return None
    except Exception as exc:
        if not isinstance(exc, lit.BadRequestError):
            return f"{model}: {error_text(exc)}"
    prefix, slash, _ = model.partition("/")
    if not slash:
        return (
            f"{model}: no provider in the model name; write it as <provider>/<model>, "
            "e.g. openai/gpt-4o (providers: https://docs.litellm.ai/docs/providers)"
        )
    close = difflib.get_close_matches(prefix.lower(), _provider_names(), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"{model}: unknown provider {prefix!r}{hint} "
        "(litellm's providers: https://docs.litellm.ai/docs/providers)"
    )


@contextlib.contextmanager
def _empty_credentials_unset() -> Iterator[None]:
    """Hide credential variables set to an empty string while litellm checks the
    environment (it counts them as set, the provider then rejects the empty key)."""
    empty = {
        k: v
        for k, v in os.environ.items()
        if not v.strip() and any(part in k.upper() for part in config.CREDENTIAL_NAME_PARTS)
    }
    for k in empty:
        del os.environ[k]
    try:
        yield
    finally:
        os.environ.update(empty)


def environment_problem(
    model: str, api_base: str | None = None, api_key: str | None = None
) -> str | None:
    """Step (b): the key a call would lack (after :func:`provider_problem` found none)."""
    guard = env_key_guard(model, api_base, api_key)
    if guard or api_key:
        return guard
    with _empty_credentials_unset():
        found = _lit().validate_environment(model, api_base=api_base)
    missing = list(found.get("missing_keys") or [])
    if not missing:
        return None
    empty = [k for k in missing if k in os.environ]
    what = "empty" if empty and len(empty) == len(missing) else "missing or empty"
    return (
        f"{model}: {what} environment variable {' or '.join(missing)}; set it, or give the "
        "judge an api_key"
    )


def judge_problems(judges: list[Judge]) -> list[str]:
    """Steps (a) and (b) for every judge: one message per problem (none when all is well)."""
    problems = []
    for judge in judges:
        for model, api_base, api_key in routes(judge):
            problem = provider_problem(model, api_base) or environment_problem(
                model, api_base, api_key
            )
            if problem:
                problems.append(problem)
    return list(dict.fromkeys(problems))


def check_judges(judges) -> None:
    """Raise :class:`PreflightError` listing the judges that cannot be called (steps a, b).

    For interactive runs: ``studies.prepare`` calls it on the judges before judging."""
    from judgelab.judges import as_judges

    problems = judge_problems(as_judges(judges) if judges else [])
    if problems:
        raise PreflightError(
            "the judges cannot be called (nothing was sent):\n  " + "\n  ".join(problems)
        )


def price_warnings(judges: list[Judge]) -> list[str]:
    """One warning per judge whose model has no price in litellm's map nor given prices."""
    return [
        f"{j.model}: price unknown; give price_in/price_out to budget"
        for j in judges
        if endpoint_of(j) is None and not is_priced(j)
    ]


@contextlib.contextmanager
def planned() -> Iterator[list]:
    """Collect the :class:`judgelab.engine.Plan` of every dry run made inside the block."""
    from judgelab import engine

    plans: list = []
    token = engine.PLAN_OBSERVER.set(plans)
    try:
        yield plans
    finally:
        engine.PLAN_OBSERVER.reset(token)


def probe(plans: list) -> int:
    """Step (c): each judge's first pending call, sent alone without retries. Returns the
    number of calls sent; raises :class:`PreflightError` at the first that fails (or that
    ``max_cost_usd`` cannot pay)."""
    from judgelab.engine import probe_first_calls

    sent = 0
    for plan in plans:
        for judge, result in probe_first_calls(plan):
            if result is None:
                n = len({t.address for t in plan.pending})
                budget = plan.client.max_cost_usd
                raise PreflightError(
                    f"STOPPED by max_cost_usd: {n} of {plan.summary['calls']} calls not sent "
                    f"($0.0000 of ${budget:.4f}): the first call of {judge.model} could cost "
                    "more than the budget"
                )
            sent += 1
            if result.status != "done":
                raise PreflightError(
                    f"the first call of {judge.model} failed (sent alone, not retried; nothing "
                    f"else was sent): {redact(result.error, [resolve_api_key(judge.api_key)])}"
                )
    return sent


def needs_preflight(judges: list[Judge]) -> bool:
    """True when some judge is called through litellm's providers (not a registered endpoint
    such as the simulated panel, which needs no check)."""
    return any(routes(j) for j in judges)


#: The variables :func:`keys_to_environment` moves inline keys to (``<n>``: their order).
KEY_VARIABLE = "JUDGELAB_JUDGE_KEY_{n}"


def keys_to_environment(judges):
    """``judges`` (the parameter: mappings, lists, model strings) with every inline
    ``api_key`` (also a Router deployment's) replaced by ``os.environ/JUDGELAB_JUDGE_KEY_<n>``
    and that variable set in this process, which the notebook's kernel inherits: the
    parameters recorded in the notebook, findings.json and manifest.json never hold a key.
    ``api_key: none`` and ``os.environ/`` references stay as they are."""
    counter = iter(range(10_000))

    def move(key):
        if not isinstance(key, str) or key.startswith(ENV_KEY_PREFIX) or key == "none":
            return key
        name = KEY_VARIABLE.format(n=next(counter))
        os.environ[name] = key
        register_secret(key)
        return ENV_KEY_PREFIX + name

    def walk(spec):
        if isinstance(spec, list):
            return [walk(x) for x in spec]
        if not isinstance(spec, Mapping):
            return spec
        out = {
            k: walk(v) if k in ("router", "model_list", "litellm_params") else v
            for k, v in spec.items()
        }
        if "api_key" in out:
            out["api_key"] = move(out["api_key"])
        return out

    return walk(judges)
