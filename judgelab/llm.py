"""Every LLM call goes through litellm here.

:class:`LLMClient` adds to ``litellm.acompletion`` (docs/design.md#llm-calls):

* bounded async concurrency (a semaphore);
* a requests-per-minute and tokens-per-minute limit per provider, shared by all judges of
  that provider (requests are spaced at ``60 / rpm`` seconds and ``60 * tokens / tpm``
  seconds, a strict schedule without bursts);
* retries of 408, 409, 425, 429, 5xx, timeouts and connection errors (never of a missing or
  invalid credential, nor of 400, 401, 402, 403, 404, 422: :func:`classify_error`) with
  exponential backoff and jitter
  (wait ``b/2 + U(0, b/2)`` with ``b = min(backoff_max, backoff_base * 2**k)``), honouring
  ``Retry-After`` (seconds or an HTTP date) when the provider sends it;
* a per-call timeout (litellm's ``timeout`` plus an outer ``asyncio`` guard);
* an optional ``litellm.Router`` with fallbacks; the deployment that answered becomes the
  call's ``backend`` (``router:<deployment>`` or ``fallback:<deployment>``);
* cost per call from prices given per judge (USD per million tokens), the simulated
  judge's prices, or litellm's price map; ``max_cost_usd`` is checked *before* each call
  is sent against spent + in-flight reservations + this call's worst case (prompt tokens
  estimated from bytes, plus ``max_tokens`` completion tokens), and unpriced models are
  refused when a budget is set;
* secrets never leave: error texts are redacted of API keys and Authorization headers
  before they are stored, logged or raised.

The call *address* (:func:`call_address`) is the sha256 of model, route (api_base, Router
deployments, or the simulated judge's parameter hash), messages, request parameters
(except credentials and timeouts) and sample index.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import hashlib
import json
import logging
import os
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from judgelab.judges import Judge, canonical_json, endpoint_of
from judgelab.logprobs import logprob_fields

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__all__ = [
    "LLMClient",
    "CallResult",
    "BudgetError",
    "call_address",
    "route_of",
    "redact",
    "is_priced",
    "token_prices",
    "ErrorClass",
    "classify_error",
    "is_credential_message",
    "error_text",
    "failure_signature",
    "env_key_guard",
    "credential_guard",
    "is_default_api_base",
    "resolve_api_key",
    "ENV_KEY_PREFIX",
]

log = logging.getLogger("judgelab.llm")


class BudgetError(RuntimeError):
    """A budget cannot be honoured (an unpriced model with ``max_cost_usd`` set)."""


#: a response's ``_hidden_params`` key with the latency to record instead of the wall time
NOMINAL_LATENCY = "judgelab_nominal_latency_s"

_litellm = None


def _lit():
    """litellm, imported lazily (2 s, 165 MB) and told not to print help banners."""
    global _litellm
    if _litellm is None:
        import litellm

        litellm.suppress_debug_info = True
        litellm.drop_params = False
        _litellm = litellm
    return _litellm


# ------------------------------------------------------------------ secrets
_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key|token|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
    re.compile(r"\b(sk-|sk_|pk-|rk-)[A-Za-z0-9_\-]{6,}"),
]
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a credential so that :func:`redact` removes it from any text."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def _env_secrets() -> list[str]:
    out = []
    for k, v in os.environ.items():
        ku = k.upper()
        if v and len(v) >= 8 and any(s in ku for s in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
            out.append(v)
    return out


def redact(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with credentials replaced by ``***``: given secrets, registered ones, values of
    environment variables named like keys or tokens, and key / bearer patterns."""
    s = str(text)
    for sec in sorted(
        {*(x for x in secrets if x), *_extra_secrets, *_env_secrets()}, key=len, reverse=True
    ):
        if len(sec) >= 4:
            s = s.replace(sec, "***")
    s = _SECRET_PATTERNS[0].sub(lambda m: m.group(1) + "***", s)
    s = _SECRET_PATTERNS[1].sub(lambda m: m.group(1) + "***", s)
    s = _SECRET_PATTERNS[2].sub(lambda m: m.group(1) + "***", s)
    s = _SECRET_PATTERNS[3].sub(lambda m: m.group(1) + "***", s)
    return s


# ---------------------------------------------------------- routes, address
def _router_obj(judge: Judge):
    """The judge's litellm Router (built once from a config mapping if needed)."""
    r = judge.router
    if r is None:
        return None
    if isinstance(r, dict):
        cache = judge.__dict__.setdefault("_router_cache", {})
        if "router" not in cache:
            for dep in r.get("model_list", []):
                register_secret(dep.get("litellm_params", {}).get("api_key"))
            cache["router"] = _lit().Router(**r)
        return cache["router"]
    return r


def _router_route(judge: Judge) -> dict:
    r = judge.router
    model_list = r.get("model_list", []) if isinstance(r, dict) else getattr(r, "model_list", [])
    fallbacks = r.get("fallbacks") if isinstance(r, dict) else getattr(r, "fallbacks", None)
    deps = []
    for d in model_list or []:
        lp = d.get("litellm_params", {}) or {}
        register_secret(lp.get("api_key"))
        deps.append(
            {
                "model_name": d.get("model_name"),
                "model": lp.get("model"),
                "api_base": (lp.get("api_base") or "").rstrip("/") or None,
            }
        )
    deps.sort(key=lambda x: (str(x["model_name"]), str(x["model"]), str(x["api_base"])))
    return {"router": deps, "fallbacks": fallbacks or []}


def route_of(judge: Judge) -> str:
    """The route part of a call address: the endpoint's route (the sim parameter hash),
    Router deployments, the judge's backend label (which replaces its api_base, so that a
    server moved to another port keeps its cached calls), api_base or the provider's
    default."""
    endpoint = endpoint_of(judge)
    if endpoint is not None:
        return endpoint.route(judge)
    if judge.backend is not None:
        return judge.backend
    if judge.router is not None:
        return canonical_json(_router_route(judge))
    if judge.api_base:
        return judge.api_base
    env = os.environ.get(f"{judge.provider.upper()}_API_BASE") or os.environ.get(
        f"{judge.provider.upper()}_BASE_URL"
    )
    return env.rstrip("/") if env else f"{judge.provider}:default"


def call_address(
    judge: Judge, messages: list[dict], sample: int, route: str | None = None
) -> tuple[str, str, str]:
    """(address, route, request JSON). The request JSON (what the store keeps) holds the model,
    route, messages, parameters and sample index, never credentials or timeouts."""
    route = route_of(judge) if route is None else route
    request = canonical_json(
        {
            "model": judge.model,
            "route": route,
            "messages": messages,
            "params": judge.request_params(),
            "sample": int(sample),
        }
    )
    return hashlib.sha256(request.encode("utf-8")).hexdigest(), route, request


# ------------------------------------------------------------------- prices
def token_prices(judge: Judge) -> tuple[float, float] | None:
    """(USD per prompt token, USD per completion token), or None when unpriced."""
    if judge.price_in is not None or judge.price_out is not None:
        return (judge.price_in or 0.0) / 1e6, (judge.price_out or 0.0) / 1e6
    endpoint = endpoint_of(judge)
    if endpoint is not None and endpoint.prices is not None:
        # e.g. simulated judges are always priced (their parameters default to 0 USD)
        prices = endpoint.prices(judge)
        if prices is not None:
            return prices
    if judge.router is not None:
        prices = [_map_price(d["model"]) for d in _router_route(judge)["router"]]
        if prices and all(p is not None for p in prices):
            # the worst case over deployments, for budget checks
            return max(p[0] for p in prices), max(p[1] for p in prices)
        return None
    return _map_price(judge.model)


def _map_price(model: str | None) -> tuple[float, float] | None:
    if not model:
        return None
    cost = _lit().model_cost
    for key in (model, model.split("/", 1)[-1]):
        info = cost.get(key)
        if info and info.get("input_cost_per_token") is not None:
            return float(info.get("input_cost_per_token") or 0.0), float(
                info.get("output_cost_per_token") or 0.0
            )
    return None


def is_priced(judge: Judge) -> bool:
    return token_prices(judge) is not None


def estimate_prompt_tokens(messages: list[dict]) -> int:
    """An upper bound on prompt tokens: UTF-8 bytes (a BPE token covers at least one byte)
    plus per-message overhead. Conservative on purpose: the budget must not be overspent."""
    return sum(len(str(m.get("content", "")).encode("utf-8")) + 8 for m in messages) + 16


def worst_case_cost(judge: Judge, messages: list[dict]) -> float | None:
    p = token_prices(judge)
    if p is None:
        return None
    return estimate_prompt_tokens(messages) * p[0] + judge.max_tokens * p[1]


def expected_cost(
    judge: Judge, messages: list[dict], completion_tokens: int | None = None
) -> float | None:
    """A typical cost (prompt at ~4 bytes per token, completion at max_tokens/4), for dry runs."""
    p = token_prices(judge)
    if p is None:
        return None
    pt = sum(len(str(m.get("content", "")).encode("utf-8")) for m in messages) / 4 + 4 * len(
        messages
    )
    ct = completion_tokens if completion_tokens is not None else judge.max_tokens / 4
    return pt * p[0] + ct * p[1]


# ---------------------------------------------------------------- results
@dataclass
class CallResult:
    status: str  # done | failed
    content: str | None = None
    backend: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    logprobs: Any = None
    error: str | None = None
    attempts: int = 0
    extra: dict = field(default_factory=dict)
    error_kind: str | None = None  # ErrorClass.kind of the last failed attempt
    error_status: int | None = None

    @property
    def failure_key(self) -> tuple | None:
        """(kind, status, normalised message) of a failed call: what the breaker compares."""
        if self.status != "failed":
            return None
        return (self.error_kind, self.error_status, failure_signature(self.error))

    def store_fields(self, protocol: str, judge: Judge) -> dict:
        """Fields of the ``calls`` row (logprob fields computed here, once per call)."""
        lp = (
            logprob_fields(protocol, self.content, self.logprobs, judge.allow_tie)
            if self.logprobs
            else {}
        )
        out = {
            "backend": self.backend,
            "raw_output": self.content,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
            "error": self.error,
            "attempts": self.attempts,
        }
        out.update(lp)
        return out


# ------------------------------------------------------------ rate limits
class _Schedule:
    """Strict spacing of requests and tokens for one provider (no bursts)."""

    def __init__(self, rpm: float | None, tpm: float | None):
        self.rpm, self.tpm = rpm, tpm
        self.next_req = 0.0
        self.next_tok = 0.0
        self.lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_req if self.rpm else now, self.next_tok if self.tpm else now)
            if self.rpm:
                self.next_req = start + 60.0 / self.rpm
            if self.tpm:
                self.next_tok = start + 60.0 * tokens / self.tpm
        wait = start - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)


# ------------------------------------------------------ error classification
#: Provider messages that mean a missing or invalid credential, whatever the exception class:
#: litellm reports a missing OpenAI key as InternalServerError (500) and a missing Gemini key
#: as APIConnectionError (500), so the class and status cannot tell.
CREDENTIAL_MESSAGES = (
    re.compile(r"Missing credentials"),
    re.compile(r"api_key client option must be set"),
    re.compile(r"Missing .{0,40}API Key", re.I),
    re.compile(r"No API key provided"),
    re.compile(r"Incorrect API key"),
)
#: Statuses retried with backoff: request timeout, conflict, too early, rate limit (and 5xx).
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
#: Statuses never retried: the same request would fail the same way.
FINAL_STATUS = frozenset({400, 401, 402, 403, 404, 422})


@dataclass(frozen=True)
class ErrorClass:
    """How a failed attempt is treated. ``kind`` is ``credentials``, ``status`` (an HTTP
    status), ``timeout``, ``connection`` or ``other``; ``retry`` whether it is retried."""

    kind: str
    status: int | None
    retry: bool
    name: str  # the exception's class name


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "http_status", "code"):
        v = getattr(exc, attr, None)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def is_credential_message(text: str) -> bool:
    """True when a provider's message says a credential is missing or invalid."""
    return any(rx.search(text) for rx in CREDENTIAL_MESSAGES)


def classify_error(exc: BaseException) -> ErrorClass:
    """Classify a failed attempt: credentials first (never retried, whatever the class),
    then the HTTP status (400, 401, 402, 403, 404, 422 final; 408, 409, 425, 429 and every
    5xx retried; other 4xx final), then timeouts and connection errors (retried)."""
    name = type(exc).__name__
    status = _status_of(exc)
    if is_credential_message(str(exc)):
        return ErrorClass("credentials", status, False, name)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return ErrorClass("timeout", status or 408, True, name)
    if status is not None:
        retry = status in RETRYABLE_STATUS or status >= 500
        return ErrorClass("status", status, retry and status not in FINAL_STATUS, name)
    if isinstance(exc, ConnectionError):
        return ErrorClass("connection", None, True, name)
    return ErrorClass("other", None, False, name)


def error_text(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """``<Class>: <message>`` of a failed attempt, redacted, without a traceback."""
    msg = str(exc).split("Traceback (most recent call last)", 1)[0].strip()
    return redact(f"{type(exc).__name__}: {msg}", secrets)[:2000]


_VOLATILE = re.compile(r"\b(?:[0-9a-f]{8,}|[A-Za-z]*_[A-Za-z0-9]{10,}|\d+(?:\.\d+)?)\b")


def failure_signature(error: str | None) -> str:
    """An error text with request ids, hashes and numbers blanked: failures of one cause in
    different calls share it (the breaker counts them)."""
    return re.sub(r"\s+", " ", _VOLATILE.sub("#", str(error or "")))[:300]


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header on the provider's error."""
    headers = []
    for attr in ("litellm_response_headers", "headers"):
        h = getattr(exc, attr, None)
        if h:
            headers.append(h)
    resp = getattr(exc, "response", None)
    if resp is not None and getattr(resp, "headers", None):
        headers.append(resp.headers)
    for h in headers:
        try:
            ms = h.get("retry-after-ms") or h.get("Retry-After-Ms")
            if ms is not None:
                return max(0.0, float(ms) / 1000)
            ra = h.get("retry-after") or h.get("Retry-After")
        except Exception:
            continue
        if ra is None:
            continue
        try:
            return max(0.0, float(ra))
        except ValueError:
            try:
                dt = email.utils.parsedate_to_datetime(ra)
                return max(0.0, dt.timestamp() - time.time())
            except (TypeError, ValueError):
                continue
    return None


# ------------------------------------------------------------ credentials
#: Endpoints that providers' environment keys are meant for, where litellm does not say
#: (``get_llm_provider`` returns the default api_base of OpenAI-compatible providers only).
KNOWN_DEFAULT_API_BASES = {
    "openai": ("https://api.openai.com/v1", "https://api.openai.com"),
    "anthropic": ("https://api.anthropic.com", "https://api.anthropic.com/v1"),
    "mistral": ("https://api.mistral.ai/v1",),
    "gemini": ("https://generativelanguage.googleapis.com",),
}


@functools.lru_cache(maxsize=256)
def is_default_api_base(model: str, api_base: str | None) -> bool:
    """True when ``api_base`` is unset or the provider's own endpoint (litellm's default, the
    ``<PROVIDER>_API_BASE`` variable, or :data:`KNOWN_DEFAULT_API_BASES`)."""
    if not api_base:
        return True
    try:
        _, provider, _, default = _lit().get_llm_provider(model)
    except Exception:  # an unknown provider has no default endpoint
        return False
    from judgelab import config

    defaults = {
        default,
        config.provider_api_base(provider),
        *KNOWN_DEFAULT_API_BASES.get(provider, ()),
    }
    return api_base.rstrip("/") in {str(d).rstrip("/") for d in defaults if d}


#: An api_key of this form names the environment variable holding the key (litellm's own
#: convention for Router deployments), so that parameters, notebooks and manifests never
#: hold the key itself.
ENV_KEY_PREFIX = "os.environ/"


def resolve_api_key(api_key: str | None) -> str | None:
    """The key to send: ``api_key`` itself, or the value of the variable an
    ``os.environ/NAME`` reference names (None when unset or empty)."""
    if isinstance(api_key, str) and api_key.startswith(ENV_KEY_PREFIX):
        return os.environ.get(api_key[len(ENV_KEY_PREFIX) :]) or None
    return api_key


def env_key_guard(model: str, api_base: str | None, api_key: str | None) -> str | None:
    """Why a call may not be sent, or None: a model with a non-default ``api_base`` and no
    ``api_key`` would get the provider's environment key sent to that server."""
    if isinstance(api_key, str) and api_key.startswith(ENV_KEY_PREFIX):
        if resolve_api_key(api_key):
            return None
        return f"{model}: api_key {api_key} names a variable that is not set or empty"
    if api_key or is_default_api_base(model, api_base):
        return None
    return (
        f"{model} at api_base {api_base} has no api_key, and judgelab never sends a "
        "provider's key from the environment to a server you named. For a local server "
        "that ignores keys give `api_key: none`; otherwise give that server's key as api_key."
    )


def credential_guard(judge: Judge) -> str | None:
    """:func:`env_key_guard` for a judge (every Router deployment); None for endpoints."""
    if endpoint_of(judge) is not None:
        return None
    if judge.router is None:
        return env_key_guard(judge.model, judge.api_base, judge.api_key)
    r = judge.router
    model_list = r.get("model_list", []) if isinstance(r, dict) else getattr(r, "model_list", [])
    for dep in model_list or []:
        lp = dep.get("litellm_params", {}) or {}
        problem = env_key_guard(str(lp.get("model")), lp.get("api_base"), lp.get("api_key"))
        if problem:
            return problem
    return None


# --------------------------------------------------------------- the client
class LLMClient:
    """Async litellm caller shared by all judges of a run (see the module docstring).

    Parameters
    ----------
    concurrency : calls in flight at once.
    timeout : per-attempt timeout in seconds (a judge's ``timeout`` overrides it).
    max_retries : retries after the first attempt (429, 5xx, timeouts, connection errors).
    backoff_base, backoff_max : exponential backoff in seconds (jittered).
    retry_after_max : cap on a provider's Retry-After.
    rate_limits : ``{provider: {"rpm": .., "tpm": ..}}``; judges' ``rpm`` / ``tpm`` add to it
        (the smaller limit wins), shared by every judge of the provider.
    max_cost_usd : budget for the calls this client sends.
    max_consecutive_failures : a judge stops (its remaining calls are not sent) after this
        many failed calls in a row, in completion order, with the same class, status and
        normalised message (:attr:`CallResult.failure_key`); 0 or None never stops.
    seed : seed of the jitter generator.
    """

    def __init__(
        self,
        concurrency: int = 16,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        retry_after_max: float = 120.0,
        rate_limits: dict[str, dict] | None = None,
        max_cost_usd: float | None = None,
        seed: int = 0,
        max_consecutive_failures: int | None = 5,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = float(retry_after_max)
        self.rate_limits = {k: dict(v) for k, v in (rate_limits or {}).items()}
        self.max_cost_usd = max_cost_usd
        self.max_consecutive_failures = int(max_consecutive_failures or 0)
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        self.budget_refused = 0
        self._rng = random.Random(seed)
        self._schedules: dict[str, _Schedule] = {}
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop = None

    # ---------------------------------------------------------- capacity
    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem, self._sem_loop = asyncio.Semaphore(self.concurrency), loop
            self._schedules = {}
        return self._sem

    def _schedule(self, judge: Judge) -> _Schedule | None:
        lim = dict(self.rate_limits.get(judge.provider, {}))
        for k in ("rpm", "tpm"):
            jv = getattr(judge, k)
            if jv:
                lim[k] = min(lim[k], jv) if lim.get(k) else jv
        if not lim.get("rpm") and not lim.get("tpm"):
            return None
        s = self._schedules.get(judge.provider)
        if s is None:
            s = self._schedules[judge.provider] = _Schedule(lim.get("rpm"), lim.get("tpm"))
        else:  # a stricter judge of the same provider tightens the shared limit
            s.rpm = (
                min(x for x in (s.rpm, lim.get("rpm")) if x) if (s.rpm or lim.get("rpm")) else None
            )
            s.tpm = (
                min(x for x in (s.tpm, lim.get("tpm")) if x) if (s.tpm or lim.get("tpm")) else None
            )
        return s

    # ------------------------------------------------------------- budget
    def check_priced(self, judges: Iterable[Judge]) -> None:
        """With a budget, every judge must have a price (refuse before any call)."""
        if self.max_cost_usd is None:
            return
        unpriced = [j.model for j in judges if not is_priced(j)]
        if unpriced:
            raise BudgetError(
                f"max_cost_usd is set but these models have no price: {sorted(set(unpriced))}. Give "
                "Judge(price_in=..., price_out=...) in USD per million tokens, or drop the budget."
            )

    def reserve(self, judge: Judge, messages: list[dict]) -> float | None:
        """Reserve this call's worst-case cost; None if it would exceed the budget."""
        if self.max_cost_usd is None:
            return 0.0
        wc = worst_case_cost(judge, messages)
        if wc is None:
            raise BudgetError(f"model {judge.model} has no price and max_cost_usd is set")
        if self.spent_usd + self.reserved_usd + wc > self.max_cost_usd + 1e-12:
            self.budget_refused += 1
            return None
        self.reserved_usd += wc
        return wc

    def settle(self, reserved: float | None, cost: float | None) -> None:
        if reserved:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved)
        if cost:
            self.spent_usd += cost

    # --------------------------------------------------------------- call
    def _cost(self, judge: Judge, resp, pt: int | None, ct: int | None) -> float | None:
        p = None
        if (
            judge.price_in is not None
            or judge.price_out is not None
            or endpoint_of(judge) is not None
        ):
            p = token_prices(judge)
        if p is None and judge.router is not None:
            name = (getattr(resp, "_hidden_params", {}) or {}).get("litellm_model_name")
            p = _map_price(name)
        if p is None and judge.router is None:
            p = _map_price(judge.model)
        if p is None or pt is None:
            return None
        return (pt or 0) * p[0] + (ct or 0) * p[1]

    def _backend(self, judge: Judge, resp) -> str:
        if judge.router is not None and endpoint_of(judge) is None:
            hp = getattr(resp, "_hidden_params", {}) or {}
            headers = hp.get("additional_headers") or {}
            group = headers.get("x-litellm-model-group") or judge.model
            dep = f"{group}:{hp.get('litellm_model_name')}"
            if hp.get("api_base"):
                dep += f"@{str(hp['api_base']).rstrip('/')}"
            fell_back = (
                int(headers.get("x-litellm-attempted-fallbacks") or 0) > 0 or group != judge.model
            )
            return f"{'fallback' if fell_back else 'router'}:{dep}"
        return judge.default_backend()

    async def call(
        self,
        judge: Judge,
        messages: list[dict],
        sample: int = 0,
        extra_kwargs: dict | None = None,
        retries: int | None = None,
    ) -> CallResult:
        """One judgement call with retries (``retries`` overrides ``max_retries``; failures
        are classified by :func:`classify_error`). Never raises for provider errors: a call
        that cannot be completed returns ``status='failed'`` with a redacted error."""
        lit = _lit()
        timeout = float(judge.timeout or self.timeout)
        kwargs: dict[str, Any] = dict(judge.request_params())
        kwargs.update(extra_kwargs or {})
        endpoint = endpoint_of(judge)
        if endpoint is not None and endpoint.request_kwargs is not None:
            kwargs.update(endpoint.request_kwargs(judge, sample) or {})
        api_key = resolve_api_key(judge.api_key)
        register_secret(api_key)
        router = _router_obj(judge)
        if router is None:
            kwargs.update(num_retries=0, max_retries=0)
            if judge.api_base:
                kwargs["api_base"] = judge.api_base
            if api_key:
                kwargs["api_key"] = api_key
        schedule = self._schedule(judge)
        tokens = (
            (estimate_prompt_tokens(messages) // 4 + judge.max_tokens)
            if schedule is not None
            else 0
        )
        guard = credential_guard(judge)
        if guard is not None:  # never send the environment's key to a server the user named
            return CallResult(
                status="failed",
                backend=judge.default_backend(),
                error=f"CredentialError: {guard}",
                error_kind="credentials",
            )
        max_retries = self.max_retries if retries is None else int(retries)
        attempts, last_err = 0, None
        for attempt in range(max_retries + 1):
            attempts = attempt + 1
            if schedule is not None:
                await schedule.acquire(tokens)
            t0 = time.perf_counter()
            try:
                if router is not None:
                    coro = router.acompletion(
                        model=judge.model, messages=messages, timeout=timeout, **kwargs
                    )
                else:
                    coro = lit.acompletion(
                        model=judge.model, messages=messages, timeout=timeout, **kwargs
                    )
                # the outer guard catches hangs that escape the HTTP client's own timeout
                resp = await asyncio.wait_for(coro, timeout + 5.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # provider errors: classify, maybe retry
                last_err = exc
                if attempt < max_retries and classify_error(exc).retry:
                    await asyncio.sleep(self._wait(attempt, exc))
                    continue
                break
            latency = time.perf_counter() - t0
            nominal = (getattr(resp, "_hidden_params", None) or {}).get(NOMINAL_LATENCY)
            if nominal is not None:
                # an endpoint that answers without waiting (the simulated panel) states the
                # latency to record
                latency = float(nominal)
            choice = resp.choices[0]
            content = getattr(choice.message, "content", None)
            usage = getattr(resp, "usage", None)
            pt = getattr(usage, "prompt_tokens", None) if usage else None
            ct = getattr(usage, "completion_tokens", None) if usage else None
            lp = getattr(choice, "logprobs", None)
            lp_content = (
                getattr(lp, "content", None)
                if lp is not None and not isinstance(lp, dict)
                else (lp or {}).get("content")
            )
            return CallResult(
                status="done",
                content=content,
                backend=self._backend(judge, resp),
                prompt_tokens=pt,
                completion_tokens=ct,
                cost_usd=self._cost(judge, resp, pt, ct),
                latency_s=latency,
                logprobs=lp_content,
                attempts=attempts,
            )
        cls = classify_error(last_err)
        return CallResult(
            status="failed",
            backend=judge.default_backend(),
            error=error_text(last_err, [api_key]),
            attempts=attempts,
            error_kind=cls.kind,
            error_status=cls.status,
        )

    def _wait(self, attempt: int, exc: BaseException) -> float:
        b = min(self.backoff_max, self.backoff_base * (2**attempt))
        wait = b / 2 + self._rng.uniform(0, b / 2)
        ra = _retry_after(exc)
        if ra is not None:
            wait = max(wait, min(ra, self.retry_after_max))
        log.info("retrying after %.2fs: %s", wait, redact(type(exc).__name__))
        return wait


def response_json(resp) -> dict:
    """A litellm response as a plain dict (for debugging; carries no credentials)."""
    try:
        return json.loads(resp.model_dump_json())
    except Exception:
        return {}
