"""Judge specification, default prompt templates, identity and strict output parsers.

A judge is not a model name: it is model + backend (the route that actually answered) +
``judge_version``, a stable hash of everything that shapes its verdicts
(docs/design.md#judge-identity)::

    judge.version = f"{name}-{sha256(canonical JSON of settings)[:12]}"

where the settings are the system prompts and templates, the rubric JSON, the decoding
parameters (temperature, max_tokens, seed, top_p, logprobs, extra request parameters),
``allow_tie``, the parser and the rubric aggregation thresholds. Canonical JSON (sorted
keys, fixed separators, ASCII) makes the hash independent of the process, of
``PYTHONHASHSEED`` and of the Python version. Credentials, timeouts, rate limits and
prices are not part of it: they change neither the request nor its interpretation.

Default templates follow MT-Bench (Zheng et al., 2023, "Judging LLM-as-a-Judge with
MT-Bench and Chatbot Arena"): pairwise answers end with ``[[A]]``, ``[[B]]`` or ``[[C]]``
(tie), single scores with ``Rating: [[N]]``. The simulated panel (judgelab.sim) parses
these markers, so custom templates must keep them (docs/design.md).

Parsing is strict: an output that does not match is returned with ``ok=False`` and an
error, never guessed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from judgelab import rubric as rubric_mod
from judgelab.identity import JudgeIdentity
from judgelab.verdict_schema import PROTOCOLS  # the one list of protocols

__all__ = [
    "Judge",
    "ParseResult",
    "PAIRWISE_SYSTEM",
    "PAIRWISE_SYSTEM_NO_TIE",
    "PAIRWISE_TEMPLATE",
    "SINGLE_SYSTEM",
    "SINGLE_TEMPLATE",
    "RUBRIC_SYSTEM",
    "RUBRIC_TEMPLATE",
    "DEFAULT_TEMPLATES",
    "TEMPLATE_KEYS",
    "PARSERS",
    "PROTOCOLS",
    "parse_pairwise",
    "parse_single",
    "parse_rubric",
    "as_judges",
    "canonical_json",
    "Endpoint",
    "register_endpoint",
    "endpoint_of",
    "BACKEND_LABEL_RESERVED",
    "gguf_backend_label",
]


#: Parser variants (part of judge_version). ``strict``: every verdict marker in the output
#: must agree; ``last``: the last marker counts (for judges that restate the format first).
PARSERS = ("strict", "last")
#: Bumped whenever a parser's behaviour changes, so stored verdicts are re-identified.
PARSER_REVISION = 1

PAIRWISE_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. You should choose the assistant that "
    "follows the user's instructions and answers the user's question better. Your evaluation "
    "should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, "
    "and level of detail of their responses. Begin your evaluation by comparing the two "
    "responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow "
    "the length of the responses to influence your evaluation. Do not favor certain names of the "
    "assistants. Be as objective as possible. After providing your explanation, output your "
    'final verdict by strictly following this format: "[[A]]" if assistant A is better, '
    '"[[B]]" if assistant B is better, and "[[C]]" for a tie.'
)

PAIRWISE_SYSTEM_NO_TIE = PAIRWISE_SYSTEM.replace(
    ', "[[B]]" if assistant B is better, and "[[C]]" for a tie.',
    ' or "[[B]]" if assistant B is better. A tie is not allowed: choose one.',
)

PAIRWISE_TEMPLATE = (
    "[User Question]\n{question}\n\n"
    "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]"
)

SINGLE_SYSTEM = "You are a helpful assistant."

SINGLE_TEMPLATE = (
    "[Instruction]\n"
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI "
    "assistant to the user question displayed below. Your evaluation should consider factors "
    "such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of the "
    "response. Begin your evaluation by providing a short explanation. Be as objective as "
    "possible. After providing your explanation, you must rate the response on a scale of {min} "
    'to {max} by strictly following this format: "[[rating]]", for example: "Rating: [[{example}]]".\n\n'
    "[User Question]\n{question}\n\n"
    "[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
)

RUBRIC_SYSTEM = "You are a careful grader who answers with one JSON object only."

RUBRIC_TEMPLATE = (
    "[Instruction]\n"
    "Please act as an impartial judge and grade the response provided by an AI assistant to the "
    "user question displayed below against the rubric. For every rubric section give a metric "
    "between 0 and 1 (1 = the section is fully satisfied, 0 = it is violated). Then give your "
    'overall verdict: "pass" if every section is satisfied, "warn" if exactly one section has a '
    'minor gap, "fail" if any section is materially violated. Answer with exactly one JSON '
    'object and nothing else: {{"verdict": "pass|warn|fail", "reasoning": "...", '
    '"metrics": {{"<section title>": <number between 0 and 1>}}}}\n\n'
    "[Rubric]\n{rubric}\n\n"
    "[User Question]\n{question}\n\n"
    "[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
)

TEMPLATE_KEYS = (
    "system_pairwise",
    "pairwise",
    "system_single",
    "single",
    "system_rubric",
    "rubric",
)

DEFAULT_TEMPLATES: dict[str, str] = {
    "system_pairwise": PAIRWISE_SYSTEM,
    "pairwise": PAIRWISE_TEMPLATE,
    "system_single": SINGLE_SYSTEM,
    "single": SINGLE_TEMPLATE,
    "system_rubric": RUBRIC_SYSTEM,
    "rubric": RUBRIC_TEMPLATE,
}


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, fixed separators, ASCII, no NaN.

    Used for hashes, so it must not depend on dict order, the process or Python version."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def _num(x: float) -> str:
    """A scale bound as the prompt shows it: ``1`` rather than ``1.0``."""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


@dataclass
class ParseResult:
    """One parsed judge output. ``ok`` false means the output is kept raw, not interpreted."""

    ok: bool
    choice: str | None = None  # pairwise: displayed A | B | tie
    score: float | None = None  # single: the rating; rubric: mean section metric
    judge_verdict: str | None = None  # rubric: the judge's own pass|warn|fail
    verdict: str | None = None  # rubric: recomputed from the metrics
    sections: dict[str, float] | None = None
    error: str | None = None


_PAIR_MARK = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_RATING = re.compile(r"Rating:\s*\[\[\s*([-+]?\d+(?:\.\d+)?)\s*\]\]")
_CHOICE = {"A": "A", "B": "B", "C": "tie"}


def parse_pairwise(text: str | None, allow_tie: bool = True, parser: str = "strict") -> ParseResult:
    """Displayed choice from an MT-Bench pairwise output (``[[A]]``, ``[[B]]``, ``[[C]]`` = tie).

    ``strict``: all markers in the output must name the same verdict; ``last``: the last
    marker counts. ``[[C]]`` is a parse failure when ties are not allowed."""
    if not isinstance(text, str) or not text.strip():
        return ParseResult(False, error="empty output")
    marks = _PAIR_MARK.findall(text)
    if not marks:
        return ParseResult(False, error="no [[A]]/[[B]]/[[C]] verdict marker")
    if parser == "strict" and len(set(marks)) > 1:
        return ParseResult(False, error=f"conflicting verdict markers {sorted(set(marks))}")
    mark = marks[-1]
    if mark == "C" and not allow_tie:
        return ParseResult(False, error="tie [[C]] given but ties are not allowed")
    return ParseResult(True, choice=_CHOICE[mark])


def parse_single(
    text: str | None, scale: tuple[float, float] | None = None, parser: str = "strict"
) -> ParseResult:
    """Score from ``Rating: [[N]]``; it must lie on the scale (inclusive)."""
    if not isinstance(text, str) or not text.strip():
        return ParseResult(False, error="empty output")
    marks = _RATING.findall(text)
    if not marks:
        return ParseResult(False, error="no 'Rating: [[N]]' marker")
    values = [float(m) for m in marks]
    if parser == "strict" and len(set(values)) > 1:
        return ParseResult(False, error=f"conflicting ratings {sorted(set(values))}")
    score = values[-1]
    if scale is not None and not (scale[0] <= score <= scale[1]):
        return ParseResult(
            False, error=f"rating {score:g} off the scale [{scale[0]:g}, {scale[1]:g}]"
        )
    return ParseResult(True, score=score)


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def _json_object(text: str) -> dict | None:
    s = text.strip()
    m = _FENCE.match(s)
    if m:
        s = m.group(1)
    try:
        obj = json.loads(s)
    except ValueError:
        # one object surrounded by prose: the outermost braces
        i, j = s.find("{"), s.rfind("}")
        if i < 0 or j <= i:
            return None
        try:
            obj = json.loads(s[i : j + 1])
        except ValueError:
            return None
    return obj if isinstance(obj, dict) else None


def parse_rubric(
    text: str | None,
    rubric: Mapping,
    pass_threshold: float = rubric_mod.DEFAULT_PASS_THRESHOLD,
    warn_threshold: float = rubric_mod.DEFAULT_WARN_THRESHOLD,
    parser: str = "strict",
) -> ParseResult:
    """The JSON verdict object; metrics must cover exactly the rubric's sections, in [0, 1].

    ``score`` is the mean section metric; ``verdict`` is recomputed by
    :func:`judgelab.rubric.aggregate` and stored beside the judge's own ``judge_verdict``."""
    if not isinstance(text, str) or not text.strip():
        return ParseResult(False, error="empty output")
    obj = _json_object(text)
    if obj is None:
        return ParseResult(False, error="no JSON object")
    jv = obj.get("verdict")
    if not isinstance(jv, str) or jv.strip().lower() not in rubric_mod.RUBRIC_VERDICTS:
        return ParseResult(False, error=f"verdict {jv!r} is not pass|warn|fail")
    metrics = obj.get("metrics")
    if not isinstance(metrics, dict):
        return ParseResult(False, error="no 'metrics' object")
    titles = rubric_mod.section_titles(rubric)
    missing = [t for t in titles if t not in metrics]
    extra = [k for k in metrics if k not in titles]
    if missing or extra:
        return ParseResult(
            False,
            error=f"metrics do not match the rubric sections (missing {missing}, unknown {extra})",
        )
    sections: dict[str, float] = {}
    for t in titles:
        v = metrics[t]
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not math.isfinite(v)
            or not 0 <= v <= 1
        ):
            return ParseResult(
                False, error=f"metric for section {t!r} is {v!r}, not a number in [0, 1]"
            )
        sections[t] = float(v)
    verdict = rubric_mod.aggregate(sections, pass_threshold, warn_threshold)
    return ParseResult(
        True,
        score=sum(sections.values()) / len(sections),
        judge_verdict=jv.strip().lower(),
        verdict=verdict,
        sections=sections,
    )


# --------------------------------------------------------------------- Judge
# ---------------------------------------------------------------- endpoints
@dataclass(frozen=True)
class Endpoint:
    """A litellm provider that plugs into judgelab's call path by its model prefix.

    Judges whose model is ``<prefix>/<name>`` take their backend, route (part of the call
    address), extra request arguments, prices and default family from these hooks instead
    of from ``api_base`` / the environment / litellm's price map. The generic path
    (:class:`Judge`, :mod:`judgelab.llm`, :mod:`judgelab.run`) knows no provider by name: a
    provider registers itself with :func:`register_endpoint` (the simulated panel does when
    judgelab is imported).

    Parameters
    ----------
    prefix : the litellm provider prefix (``judgelab-sim``).
    backend : ``judge -> str``, the backend part of the judge's identity string.
    route : ``judge -> str``, the route part of its call addresses.
    request_kwargs : ``(judge, sample) -> dict`` added to every litellm call.
    prices : ``judge -> (USD per prompt token, USD per completion token) | None``.
    family : ``judge -> str | None``, the family when the Judge does not name one.
    prepare : ``dataset -> None``, called before a run judges the dataset's texts.
    """

    prefix: str
    backend: Callable[[Judge], str]
    route: Callable[[Judge], str]
    request_kwargs: Callable[[Judge, int], dict] | None = None
    prices: Callable[[Judge], tuple[float, float] | None] | None = None
    family: Callable[[Judge], str | None] | None = None
    prepare: Callable[[Any], Any] | None = None


_ENDPOINTS: dict[str, Endpoint] = {}

#: Kinds a ``Judge.backend`` label may not use: judgelab writes them for unlabelled routes
#: (besides the judge's own provider prefix and every registered endpoint's prefix).
BACKEND_LABEL_RESERVED = ("router", "fallback", "published", "default")
# kind:id, no whitespace and no identity separator
_BACKEND_LABEL = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):([^\s|]+)")


def gguf_backend_label(path, kind: str = "local") -> str:
    """``local:<first 8 hex of the file's sha256>``: a backend label that names model weights.

    Two servers loading the same GGUF file (on any host or port) share this label, hence
    identity and cached calls; a re-quantised or fine-tuned file gets another. Reads the
    whole file (about 1 s per 250 MB).
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"{kind}:{h.hexdigest()[:8]}"


def register_endpoint(endpoint: Endpoint) -> None:
    """Route judges of models ``<endpoint.prefix>/...`` through ``endpoint``'s hooks."""
    _ENDPOINTS[endpoint.prefix] = endpoint


def endpoint_of(judge_or_model: Judge | str) -> Endpoint | None:
    """The registered :class:`Endpoint` serving a judge (or model string), else None."""
    model = getattr(judge_or_model, "model", judge_or_model)
    prefix, slash, _ = str(model).partition("/")
    return _ENDPOINTS.get(prefix) if slash else None


@dataclass
class Judge:
    """One judge: model, execution path and every setting that shapes its verdicts.

    Parameters
    ----------
    model : litellm model string (``openai/gpt-4o``, ``judgelab-sim/aurora-max`` ...).
    name : prefix of ``judge_version`` (default: the model's last path component).
    family : provider family (default: the endpoint's, e.g. ``sim["family"]``, else
        :func:`judgelab.families.family_of`).
    temperature, max_tokens, seed, top_p : decoding parameters (part of judge_version).
    api_base : the endpoint (part of the call address and the backend, not of judge_version).
    backend : a label naming what answers at ``api_base`` (``local:<gguf-sha8>``, see
        :func:`gguf_backend_label`), used as the backend and as the route of call addresses in
        place of ``provider:api_base``: a server restarted on another port keeps its identity
        and its cached calls. ``kind:id``; needs ``api_base``; not with a router or an endpoint.
    api_key : used for calls only; never stored, logged or shown (``repr`` hides it).
    router : a ``litellm.Router`` (or its constructor kwargs) serving ``model`` as a model
        group, with fallbacks; the deployment that answered is recorded as the backend.
    allow_tie : pairwise judges may answer ``[[C]]``.
    templates : overrides of :data:`DEFAULT_TEMPLATES` (keys :data:`TEMPLATE_KEYS`).
    rubric : rubric for :func:`judgelab.run.judge_rubric` (default: the dataset's).
    sim : simulated-panel parameters (read by the ``judgelab-sim`` endpoint) or None.
    top_logprobs : request this many top logprobs per token (P(A), P(B), margin).
    extra_params : further request parameters passed to litellm (part of the address).
    parser : ``strict`` or ``last`` (see :data:`PARSERS`).
    pass_threshold, warn_threshold : rubric aggregation thresholds.
    price_in, price_out : USD per million prompt / completion tokens (override litellm's map).
    rpm, tpm : requests / tokens per minute for this judge's provider (shared by all its judges).
    timeout : per-call timeout in seconds (default: the client's).
    """

    model: str
    name: str | None = None
    family: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = None
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False, compare=False)
    router: Any = field(default=None, repr=False, compare=False)
    allow_tie: bool = True
    templates: dict[str, str] | None = None
    rubric: dict | None = None
    sim: dict | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    extra_params: dict | None = None
    parser: str = "strict"
    pass_threshold: float = rubric_mod.DEFAULT_PASS_THRESHOLD
    warn_threshold: float = rubric_mod.DEFAULT_WARN_THRESHOLD
    price_in: float | None = None
    price_out: float | None = None
    rpm: float | None = None
    tpm: float | None = None
    timeout: float | None = None
    backend: str | None = None

    def __post_init__(self):
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError("Judge.model must be a non-empty litellm model string")
        if self.name is None:
            self.name = self.model.rstrip("/").split("/")[-1]
        if self.parser not in PARSERS:
            raise ValueError(f"Judge.parser must be one of {PARSERS}, not {self.parser!r}")
        if self.templates is not None:
            unknown = set(self.templates) - set(TEMPLATE_KEYS)
            if unknown:
                raise ValueError(
                    f"Judge.templates: unknown keys {sorted(unknown)}; valid: {TEMPLATE_KEYS}"
                )
        if self.rubric is not None:
            self.rubric = rubric_mod.validate_rubric(self.rubric)
        rubric_mod.check_thresholds(self.pass_threshold, self.warn_threshold)
        if self.family is None:
            endpoint = endpoint_of(self)
            if endpoint is not None and endpoint.family is not None:
                self.family = endpoint.family(self)
            if self.family is None:
                from judgelab import families

                self.family = families.family_of(self.model)
        if self.api_base is not None:
            self.api_base = str(self.api_base).rstrip("/")
        if self.backend is not None:
            self.backend = self._checked_backend_label(self.backend)

    def _checked_backend_label(self, label) -> str:
        """``backend`` as given, or a ValueError saying what is wrong and how to fix it.

        A label replaces ``provider:api_base`` in the identity and in call addresses, so it
        must not be confusable with a backend the kit writes itself (``openai``,
        ``openai:<url>``, ``router:...``, ``judgelab-sim:...``, ``published``): otherwise a
        local model and a hosted model of the same name would share verdicts."""
        fix = (
            "give backend as '<kind>:<id>' naming the weights behind api_base, e.g. "
            "'local:<first 8 hex of the GGUF's sha256>' (judgelab.judges.gguf_backend_label)"
        )
        text = label if isinstance(label, str) else None
        m = _BACKEND_LABEL.fullmatch(text or "")
        if m is None:
            raise ValueError(f"Judge.backend {label!r} of {self.model} is not a label: {fix}")
        kind = m.group(1)
        reserved = {*BACKEND_LABEL_RESERVED, self.provider, *_ENDPOINTS}
        if kind.lower() in {k.lower() for k in reserved} or "://" in text:
            raise ValueError(
                f"Judge.backend {label!r} of {self.model}: the kind {kind!r} (or a URL) is what "
                f"judgelab writes for an unlabelled route ({sorted(reserved)}), so verdicts of "
                f"different servers could pool; {fix}"
            )
        if not self.api_base or self.router is not None or endpoint_of(self) is not None:
            raise ValueError(
                f"Judge.backend {label!r} of {self.model}: a backend label names the server at "
                "the judge's api_base, so it needs api_base and neither a router nor a "
                "judgelab-registered endpoint (their backends are recorded per call); give "
                "api_base, or drop backend"
            )
        return text

    # ------------------------------------------------------------- identity
    @property
    def provider(self) -> str:
        """The litellm provider prefix (``openai`` for ``openai/x``), used for rate limits."""
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"

    def template(self, key: str) -> str:
        if self.templates and key in self.templates:
            return self.templates[key]
        if key == "system_pairwise" and not self.allow_tie:
            return PAIRWISE_SYSTEM_NO_TIE
        return DEFAULT_TEMPLATES[key]

    def request_params(self) -> dict[str, Any]:
        """Decoding / request parameters sent with every call (no credentials, no timeout)."""
        p: dict[str, Any] = {
            "temperature": float(self.temperature),
            "max_tokens": int(self.max_tokens),
        }
        if self.seed is not None:
            p["seed"] = int(self.seed)
        if self.top_p is not None:
            p["top_p"] = float(self.top_p)
        if self.top_logprobs:
            p["logprobs"] = True
            p["top_logprobs"] = int(self.top_logprobs)
        if self.extra_params:
            p.update(self.extra_params)
        return p

    def settings(self) -> dict[str, Any]:
        """Everything judge_version hashes (see the module docstring)."""
        return {
            "templates": {k: self.template(k) for k in TEMPLATE_KEYS},
            "rubric": self.rubric,
            "decoding": self.request_params(),
            "allow_tie": bool(self.allow_tie),
            "parser": {"name": self.parser, "revision": PARSER_REVISION},
            "aggregation": {
                "pass_threshold": float(self.pass_threshold),
                "warn_threshold": float(self.warn_threshold),
            },
        }

    @property
    def version(self) -> str:
        """``<name>-<12 hex of sha256(canonical JSON of settings())>``."""
        digest = hashlib.sha256(canonical_json(self.settings()).encode("utf-8")).hexdigest()[:12]
        return f"{self.name}-{digest}"

    def default_backend(self) -> str:
        """The route the judge is configured for (what answers unless a fallback serves)."""
        endpoint = endpoint_of(self)
        if endpoint is not None:
            return endpoint.backend(self)
        if self.backend is not None:
            return self.backend
        if self.router is not None:
            return f"router:{self.model}"
        if self.api_base:
            return f"{self.provider}:{self.api_base}"
        return self.provider

    def identity(self, backend: str | None = None) -> str:
        """``model|backend|judge_version`` (docs/design.md): the string of :meth:`judge_identity`."""
        return str(self.judge_identity(backend))

    def judge_identity(self, backend: str | None = None) -> JudgeIdentity:
        """This judge's :class:`~judgelab.identity.JudgeIdentity`; ``backend`` defaults to
        :meth:`default_backend` (a Router fallback that answered names its own)."""
        return JudgeIdentity(
            self.model, backend if backend is not None else self.default_backend(), self.version
        )

    def __getstate__(self):
        # a pickled judge (multiprocessing, notebook state) must not carry the key; the
        # receiving process uses the provider's environment variable instead
        state = dict(self.__dict__)
        state["api_key"] = None
        state.pop("_router_cache", None)
        return state

    def __copy__(self):
        # copies inside one process keep the key (pickling is what must not)
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_router_cache"})
        return new

    def __deepcopy__(self, memo):
        import copy

        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            if k == "_router_cache":
                continue
            new.__dict__[k] = v if k in ("api_key", "router") else copy.deepcopy(v, memo)
        return new

    # --------------------------------------------------------------- prompts
    def messages(self, protocol: str, **values: Any) -> list[dict[str, str]]:
        """Chat messages for one judgement (system + user), filled from the templates.

        pairwise: ``question, answer_a, answer_b``; single: ``question, answer, scale``;
        rubric: ``question, answer, rubric``. ``reference`` is available to custom templates."""
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
        v = {"reference": "", **values}
        if protocol == "single":
            lo, hi = v.pop("scale", None) or (1, 10)
            v.update(min=_num(lo), max=_num(hi), example=_num(round((lo + hi) / 2)))
        if protocol == "rubric":
            v["rubric"] = rubric_mod.render(v["rubric"])
        system = self.template(f"system_{protocol}")
        user = self.template(protocol).format(**v)
        msgs = []
        if system:
            msgs.append({"role": "system", "content": system})
        msgs.append({"role": "user", "content": user})
        return msgs

    def parse(self, protocol: str, text: str | None, scale=None, rubric=None) -> ParseResult:
        if protocol == "pairwise":
            return parse_pairwise(text, self.allow_tie, self.parser)
        if protocol == "single":
            return parse_single(text, scale, self.parser)
        if protocol == "rubric":
            return parse_rubric(
                text, rubric or self.rubric, self.pass_threshold, self.warn_threshold, self.parser
            )
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")

    @classmethod
    def from_spec(cls, spec: Judge | str | Mapping) -> Judge:
        """A Judge from a Judge, a model string or a mapping of Judge fields."""
        if isinstance(spec, Judge):
            return spec
        if isinstance(spec, str):
            return cls(model=spec)
        if isinstance(spec, Mapping):
            valid = {f.name for f in fields(cls)}
            unknown = set(spec) - valid
            if unknown:
                raise ValueError(f"unknown Judge fields {sorted(unknown)}; valid: {sorted(valid)}")
            return cls(**dict(spec))
        raise TypeError(
            f"a judge is a Judge, a model string or a mapping, not {type(spec).__name__}"
        )


def as_judges(judges) -> list[Judge]:
    """A list of Judges from one judge spec or a list of them; duplicate identities refused."""
    if isinstance(judges, (Judge, str, Mapping)):
        judges = [judges]
    out = [Judge.from_spec(j) for j in judges]
    if not out:
        raise ValueError("no judges given")
    seen: dict[tuple, int] = {}
    for i, j in enumerate(out):
        key = (j.model, j.api_base, j.backend, j.version, canonical_json(j.sim) if j.sim else None)
        if key in seen:
            raise ValueError(f"judges {seen[key]} and {i} are identical ({j.model}, {j.version})")
        seen[key] = i
    return out
