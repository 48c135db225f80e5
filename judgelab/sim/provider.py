"""The simulated panel served as a litellm custom provider (``judgelab-sim/<name>``) and
plugged into judgelab's call path as one more :class:`judgelab.judges.Endpoint`.

A call is self-contained: its ``extra_body`` carries the judge's parameters, so any process
with judgelab imported answers it identically."""

from __future__ import annotations

import asyncio
import json
import math
import re
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from judgelab.judges import Endpoint, register_endpoint
from judgelab.llm import NOMINAL_LATENCY
from judgelab.sim.model import (
    _FAIL_PAIRWISE,
    _FAIL_SINGLE,
    _KNOWN_JUDGES,
    _PAIRWISE_TOKEN,
    _PROTOCOL_CODE,
    PROVIDER,
    STREAM_CHOICE,
    STREAM_PARSE,
    _chain,
    _count_tokens,
    _draw_pairwise,
    _draw_score,
    _family_key,
    _greedy_pairwise,
    _h64,
    _judge_family,
    _name_of,
    _pairwise_parts,
    _perceived,
    _relation_terms,
    _rubric_fail_text,
    _rubric_metrics,
    _rubric_parts,
    _section_values,
    _sim_of,
    _single_parts,
    _taste_z,
    _uniform,
    confidence_z,
    normalize_params,
    pairwise_probabilities,
    param_hash,
    reported_probabilities,
    rubric_probabilities,
    rubric_verdict,
    score_probabilities,
)
from judgelab.sim.truth import (
    lookup,
    register_dataset,
)


def backend(judge_: Any) -> str:
    """``judgelab-sim:<first 8 hex of the parameter hash>``: the route of a simulated judge."""
    return f"{PROVIDER}:{param_hash(_sim_of(judge_))[:8]}"


def request_kwargs(judge_: Any, sample: int = 0) -> dict[str, Any]:
    """Extra keyword arguments for ``litellm.(a)completion`` of a simulated judge.

    ``api_base`` carries the full parameter hash (the route, part of the call address);
    ``extra_body["judgelab_sim"]`` carries the parameters themselves, the sample index
    and the judge's seed, so the call is self-contained: any process with judgelab
    imported answers it identically. (Measured on litellm 1.106: ``extra_body`` and
    ``api_base`` reach a CustomLLM as ``optional_params["extra_body"]`` and ``api_base``;
    ``metadata`` only reaches ``litellm_params``.)"""
    params = _sim_of(judge_)
    seed = judge_.get("seed") if isinstance(judge_, Mapping) else getattr(judge_, "seed", None)
    payload = {"params": params, "sample": int(sample)}
    if seed is not None:
        payload["seed"] = int(seed)
    return {
        "api_base": f"{PROVIDER}://{param_hash(params)}",
        "extra_body": {"judgelab_sim": payload},
    }


# -------------------------------------------------------------- prompt parsing

_PAIR_RE = re.compile(
    r"\[The Start of Assistant A's Answer\]\n?(.*?)\n?\[The End of Assistant A's Answer\].*?"
    r"\[The Start of Assistant B's Answer\]\n?(.*?)\n?\[The End of Assistant B's Answer\]",
    re.S,
)
_SINGLE_RE = re.compile(
    r"\[The Start of Assistant's Answer\]\n?(.*?)\n?\[The End of Assistant's Answer\]", re.S
)
_QUESTION_RE = re.compile(r"\[User Question\]\n?(.*?)(?=\n\s*\[The Start of |\Z)", re.S)
_SCALE_RE = re.compile(r"on a scale of\s*(-?\d+(?:\.\d+)?)\s*to\s*(-?\d+(?:\.\d+)?)", re.I)


def _message_text(messages: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for m in messages:
        content = m.get("content") if isinstance(m, Mapping) else getattr(m, "content", None)
        if isinstance(content, list):  # OpenAI content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        parts.append(str(content or ""))
    return "\n".join(parts)


def _rubric_sections(text: str) -> list[str]:
    idx = text.find("[Rubric]")
    start = text.find("{", idx)
    if idx < 0 or start < 0:
        raise ValueError("judgelab-sim: the prompt has a [Rubric] line but no rubric JSON after it")
    try:
        rubric, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"judgelab-sim: the rubric JSON after [Rubric] does not parse: {exc}"
        ) from None
    sections = rubric.get("sections") if isinstance(rubric, Mapping) else None
    if not sections:
        raise ValueError("judgelab-sim: the rubric JSON after [Rubric] has no sections")
    return [
        str(s.get("title", f"section {i + 1}")) if isinstance(s, Mapping) else str(s)
        for i, s in enumerate(sections)
    ]


def parse_prompt(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Read protocol, question, answers, scale, rubric sections and tie option from a prompt
    built with the default templates (docs/design.md). ValueError if no answer is found."""
    text = _message_text(messages)
    qm = _QUESTION_RE.search(text)
    question = qm.group(1).strip() if qm else ""
    m = _PAIR_RE.search(text)
    if m:
        return {
            "protocol": "pairwise",
            "question": question,
            "answers": [m.group(1), m.group(2)],
            "allow_tie": "[[C]]" in text,
        }
    m = _SINGLE_RE.search(text)
    if m:
        if "[Rubric]" in text:
            return {
                "protocol": "rubric",
                "question": question,
                "answers": [m.group(1)],
                "sections": _rubric_sections(text),
            }
        sm = _SCALE_RE.search(text)
        # the simulated judge answers whole points inside the stated scale
        scale = (math.ceil(float(sm.group(1))), math.floor(float(sm.group(2)))) if sm else (1, 10)
        if scale[1] <= scale[0]:
            raise ValueError(f"judgelab-sim: the prompt's scale {scale[0]} to {scale[1]} is empty")
        return {"protocol": "single", "question": question, "answers": [m.group(1)], "scale": scale}
    raise ValueError(
        "judgelab-sim: no answer found in the prompt; simulated judges read answers between "
        '"[The Start of Assistant A\'s Answer]" / "[The Start of Assistant\'s Answer]" markers '
        "(the default templates)"
    )


# ----------------------------------------------------------------- provider


def _logprob_entry(
    token: str, logprob: float, top: list[tuple[str, float]] | None = None
) -> dict[str, Any]:
    entry = {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode("utf-8")),
        "top_logprobs": [],
    }
    if top is not None:
        entry["top_logprobs"] = [
            {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))} for t, lp in top
        ]
    return entry


def _safe_log(p: float) -> float:
    return math.log(p) if p > 0 else -9999.0


def simulate_call(
    model: str, messages, optional_params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Answer one call of a simulated judge (what :class:`SimProvider` returns, as a dict):
    ``text``, ``logprobs`` (OpenAI ``content`` list or None), ``prompt_tokens``,
    ``completion_tokens``, ``latency_s``, ``params``, ``protocol`` and the closed-form
    ``probabilities``."""
    optional_params = dict(optional_params or {})
    name = _name_of(model)
    payload = (
        (optional_params.get("extra_body") or {}).get("judgelab_sim")
        or optional_params.get("judgelab_sim")
        or {}
    )
    params = normalize_params(
        payload.get("params") if payload.get("params") is not None else _KNOWN_JUDGES.get(name)
    )
    sample = int(payload.get("sample", 0) or 0)
    seed = payload.get("seed", optional_params.get("seed"))
    seed = 0 if seed is None else int(seed)
    temperature = optional_params.get("temperature")
    temperature = 1.0 if temperature is None else float(temperature)  # OpenAI's default
    sample_eff = sample if temperature > 0 else 0

    parsed = parse_prompt(messages)
    protocol = parsed["protocol"]
    recs = [lookup(parsed["question"], a) for a in parsed["answers"]]
    family = _judge_family(name, params)
    jkey = _h64("judge:" + name)
    rkeys = np.array([_h64(r.key) for r in recs], dtype=np.uint64)
    taste = _taste_z(_family_key(name, family), rkeys)
    rel = [_relation_terms(params, name, family, r.generator, r.family) for r in recs]
    v = _perceived([r.quality for r in recs], [r.n_words for r in recs], rel, taste, params)
    pcode = _PROTOCOL_CODE[protocol]
    k2 = rkeys[1] if protocol == "pairwise" else np.uint64(0)
    u_choice = float(_uniform(_chain(STREAM_CHOICE, jkey, seed, sample_eff, pcode, rkeys[0], k2)))
    u_parse = float(_uniform(_chain(STREAM_PARSE, jkey, seed, sample_eff, pcode, rkeys[0], k2)))
    parse_ok = not (u_parse < params["parse_failure_rate"])

    logprobs = None
    if protocol == "pairwise":
        allow_tie = parsed["allow_tie"]
        pa, pb, pt = (
            float(x)
            for x in pairwise_probabilities(
                v[0] - v[1] + params["position_bias"],
                params["tie_band"],
                params["noise"],
                allow_tie,
            )
        )
        if params["greedy"] and temperature == 0:
            code = int(_greedy_pairwise(pa, pb, pt))
        else:
            code = int(_draw_pairwise(pa, pb, u_choice))
        probs = {"A": pa, "B": pb, "C": pt}
        # the logprobs the judge reports: its generative probabilities unless the
        # confidence knobs distort them (docs/simulated_panel.md)
        z = confidence_z(jkey, seed, sample_eff, pcode, rkeys[0], k2, 3)
        rep = reported_probabilities(
            [[pa, pb, pt]], params["confidence_sharpness"], params["confidence_noise"], z
        )[0]
        reported = dict(zip("ABC", (float(x) for x in rep), strict=True))
        if parse_ok:
            parts = _pairwise_parts(code)
            top = sorted(
                ((t, _safe_log(p)) for t, p in reported.items() if allow_tie or t != "C"),
                key=lambda x: -x[1],
            )
            token = _PAIRWISE_TOKEN[code]
        else:
            parts = [_FAIL_PAIRWISE]
    elif protocol == "single":
        lo, hi = parsed["scale"]
        dist = score_probabilities(v[:1], params["noise"], (lo, hi))[0]
        score = int(_draw_score(dist[None, :], np.array([u_choice]), lo)[0])
        probs = {str(lo + i): float(p) for i, p in enumerate(dist)}
        if parse_ok:
            parts = _single_parts(score, lo, hi)
            top = sorted(((t, _safe_log(p)) for t, p in probs.items()), key=lambda x: -x[1])[:20]
            token = str(score)
        else:
            parts = [_FAIL_SINGLE]
    else:  # rubric
        sections = parsed["sections"]
        truth_sec = dict(recs[0].sections)
        vsec = _section_values(
            [recs[0].quality],
            v[:1] - recs[0].quality,
            [[truth_sec.get(t, np.nan) for t in sections]],
        )
        metrics = _rubric_metrics(vsec, params["noise"], jkey, seed, sample_eff, rkeys[:1])[0]
        metric_map = {t: float(m) for t, m in zip(sections, metrics, strict=True)}
        verdict = rubric_verdict(metric_map)
        pp, pw, pf, _ = rubric_probabilities(vsec, params["noise"])
        pp, pw, pf = float(pp[0]), float(pw[0]), float(pf[0])
        probs = {"pass": float(pp), "warn": float(pw), "fail": float(pf)}
        if parse_ok:
            parts = _rubric_parts(verdict, metric_map)
            top = sorted(((t, _safe_log(p)) for t, p in probs.items()), key=lambda x: -x[1])
            token = verdict
        else:
            parts = [_rubric_fail_text(verdict)]
    text = "".join(parts)
    reported = reported if protocol == "pairwise" else probs
    k_top = optional_params.get("top_logprobs")
    if parse_ok and k_top is not None:
        # an OpenAI-compatible server returns the k most probable alternatives only
        top = top[: max(int(k_top), 1)]
    if parse_ok:
        # the verdict token carries the distribution; the surrounding text is certain
        logprobs = []
        for part in parts:
            if part == token and not any(e.get("top_logprobs") for e in logprobs):
                logprobs.append(_logprob_entry(part, _safe_log(reported[token]), top))
            else:
                logprobs.append(_logprob_entry(part, 0.0))
    return {
        "text": text,
        "logprobs": logprobs,
        "prompt_tokens": _count_tokens(_message_text(messages)) + 4 * len(messages),
        "completion_tokens": _count_tokens(text),
        "latency_s": params["latency_s"],
        "sleep": params["sleep"],
        "params": params,
        "protocol": protocol,
        "probabilities": probs,
        "parse_ok": parse_ok,
    }


def _register_price(name: str, params: Mapping[str, Any]) -> None:
    """Price ``judgelab-sim/<name>`` in litellm's model map (per token), once per price."""
    key = (params["price_in"], params["price_out"])
    if _PRICED.get(name) == key:
        return
    if "litellm" not in sys.modules:
        # Importing litellm costs seconds; a study that reads every verdict from the store
        # never needs it. The prices are registered with the provider when litellm arrives.
        _PENDING_PRICES[name] = dict(params)
        return
    import litellm

    entry = {
        "input_cost_per_token": params["price_in"] / 1e6,
        "output_cost_per_token": params["price_out"] / 1e6,
        # stated explicitly so litellm does not warn that cache prices are missing
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
        "litellm_provider": PROVIDER,
        "mode": "chat",
    }
    litellm.register_model({f"{PROVIDER}/{name}": entry})
    _PRICED[name] = key


_PRICED: dict[str, tuple[float, float]] = {}
_PENDING_PRICES: dict[str, dict[str, Any]] = {}  # judges created before litellm was imported


class _SimHandler:
    """The methods of the litellm custom provider answering ``judgelab-sim/<name>``
    (sync and async). The class litellm sees, :data:`SimProvider`, subclasses
    ``litellm.CustomLLM`` and is built when litellm is first imported (see :func:`install`)."""

    def _respond(self, model, messages, optional_params, model_response):
        out = simulate_call(model, messages, optional_params)
        name = _name_of(model)
        _register_price(name, out["params"])
        from litellm.types.utils import ChoiceLogprobs, Usage

        choice = model_response.choices[0]
        choice.message.content = out["text"]
        choice.finish_reason = "stop"
        if out["logprobs"] is not None:
            choice.logprobs = ChoiceLogprobs(content=out["logprobs"])
        model_response.model = f"{PROVIDER}/{name}"
        usage = Usage(
            prompt_tokens=out["prompt_tokens"],
            completion_tokens=out["completion_tokens"],
            total_tokens=out["prompt_tokens"] + out["completion_tokens"],
        )
        model_response.usage = usage  # type: ignore[attr-defined]
        # judgelab.llm records this latency (not the wall time of the simulated call)
        model_response._hidden_params[NOMINAL_LATENCY] = out["latency_s"]
        model_response._hidden_params["judgelab_sim"] = {
            "latency_s": out["latency_s"],
            "backend": f"{PROVIDER}:{param_hash(out['params'])[:8]}",
            "protocol": out["protocol"],
        }
        return model_response, out

    def completion(self, *args, **kwargs):
        response, out = self._respond(
            kwargs["model"],
            kwargs["messages"],
            kwargs.get("optional_params"),
            kwargs["model_response"],
        )
        if out["sleep"] and out["latency_s"] > 0:
            time.sleep(out["latency_s"])
        return response

    async def acompletion(self, *args, **kwargs):
        response, out = self._respond(
            kwargs["model"],
            kwargs["messages"],
            kwargs.get("optional_params"),
            kwargs["model_response"],
        )
        if out["sleep"] and out["latency_s"] > 0:
            await asyncio.sleep(out["latency_s"])
        return response


_PROVIDER_CLASS: type | None = None
_HANDLER: Any = None
_REGISTER_LOCK = threading.RLock()


def _provider_class() -> type:
    global _PROVIDER_CLASS
    if _PROVIDER_CLASS is None:
        from litellm import CustomLLM

        _PROVIDER_CLASS = type(
            "SimProvider",
            (_SimHandler, CustomLLM),
            {"__module__": __name__, "__doc__": _SimHandler.__doc__},
        )
    return _PROVIDER_CLASS


def __getattr__(name: str):  # module attribute SimProvider, built on first use
    if name == "SimProvider":
        return _provider_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register():
    """Register the provider with litellm now (imports litellm; idempotent; keeps other
    custom providers). Returns the handler instance."""
    global _HANDLER
    with _REGISTER_LOCK:
        import litellm

        cls = _provider_class()
        current = list(getattr(litellm, "custom_provider_map", None) or [])
        for item in current:
            if item.get("provider") == PROVIDER and isinstance(item.get("custom_handler"), cls):
                _HANDLER = item["custom_handler"]
                return _HANDLER
        _HANDLER = cls()
        current = [i for i in current if i.get("provider") != PROVIDER]
        current.append({"provider": PROVIDER, "custom_handler": _HANDLER})
        litellm.custom_provider_map = current
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
        for name, params in list(_PENDING_PRICES.items()):
            _register_price(name, params)
            _PENDING_PRICES.pop(name, None)
        return _HANDLER


class _RegisterOnImport:
    """A ``sys.meta_path`` finder that registers the provider right after litellm is
    imported, by anyone. ``import judgelab`` thus stays fast (litellm costs ~2 s and
    165 MB) while every process that imports judgelab answers ``judgelab-sim/<name>``
    before its first litellm call."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "litellm":
            return None
        import importlib.machinery

        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _RegisteringLoader(spec.loader)
        assert isinstance(spec, importlib.machinery.ModuleSpec)
        return spec


class _RegisteringLoader:
    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _remove_hook()
        try:
            register()
        except Exception as exc:  # never break litellm's own import; say why sim models will fail
            import warnings

            warnings.warn(
                f"judgelab-sim provider not registered with litellm: {exc!r}",
                RuntimeWarning,
                stacklevel=2,
            )


_HOOK = _RegisterOnImport()


def _remove_hook() -> None:
    while _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def install() -> None:
    """Make sure litellm answers ``judgelab-sim/<name>`` in this process: register now if
    litellm is already imported, else as soon as it is (judgelab/__init__.py calls this)."""
    if "litellm" in sys.modules and hasattr(sys.modules["litellm"], "custom_provider_map"):
        register()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)


def _endpoint_family(judge_: Any) -> str | None:
    sim = judge_.sim
    return str(sim["family"]) if sim and sim.get("family") else None


def _endpoint_prices(judge_: Any) -> tuple[float, float] | None:
    if judge_.sim is None:
        return None
    return float(judge_.sim.get("price_in") or 0.0) / 1e6, float(
        judge_.sim.get("price_out") or 0.0
    ) / 1e6


#: the simulated panel as one more litellm endpoint of judgelab's generic call path
ENDPOINT = Endpoint(
    prefix=PROVIDER,
    backend=backend,
    route=lambda judge_: param_hash(judge_.sim),
    request_kwargs=request_kwargs,
    prices=_endpoint_prices,
    family=_endpoint_family,
    prepare=register_dataset,
)
register_endpoint(ENDPOINT)
