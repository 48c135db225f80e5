"""The simulated judge's generative model: its parameters, the hashed uniforms every draw is
made from, the closed-form probabilities, the draws and the texts it writes.

The model is stated in the package docstring (:mod:`judgelab.sim`) and in
docs/simulated_panel.md; the provider and the vectorised sampler both draw from it."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit, ndtri

from judgelab import families
from judgelab import rubric as rubric_mod

PROVIDER = "judgelab-sim"
NEUTRAL_QUALITY = 0.0
#: true quality -QUALITY_RANGE..QUALITY_RANGE spans the score scale (single protocol): on the
#: demo's 1..10 scale one point per 2/3 logit, the slope of the demo's human raters (1.5 / logit)
QUALITY_RANGE = 10.0 / 3.0
#: rubric thresholds used by the simulated judge for its own verdict (judgelab.rubric's defaults;
#: the prompt does not state a judge's thresholds, so the simulated judge cannot know others)
RUBRIC_PASS = rubric_mod.DEFAULT_PASS_THRESHOLD
RUBRIC_WARN = rubric_mod.DEFAULT_WARN_THRESHOLD

#: Parameters of a simulated judge (logit scale of true quality) and their defaults.
PARAM_DEFAULTS: dict[str, Any] = {
    "family": None,
    "noise": 1.0,
    "position_bias": 0.0,
    "self_preference": 0.0,
    "family_preference": 0.0,
    "lineage_preference": 0.0,
    "length_bias": 0.0,
    "family_taste": 0.0,
    "tie_band": 0.0,
    "parse_failure_rate": 0.0,
    "price_in": 0.0,
    "price_out": 0.0,
    "latency_s": 0.0,
}
#: Knobs of the *reported* confidence and of greedy decoding (docs/simulated_panel.md): they
#: change the logprobs a judge emits (and, with ``greedy``, its verdict at temperature 0), not
#: its generative model. Hashed only when set away from their defaults, so that every judge
#: declared before they existed keeps its parameter hash, backend and cached calls.
CONFIDENCE_DEFAULTS: dict[str, Any] = {
    "confidence_sharpness": 1.0,
    "confidence_noise": 0.0,
    "greedy": False,
}
PARAM_DEFAULTS.update(CONFIDENCE_DEFAULTS)
#: Execution settings: not part of the identity (parameter hash).
RUNTIME_DEFAULTS: dict[str, Any] = {"sleep": False}

_BIAS_KEYS = (
    "position_bias",
    "self_preference",
    "family_preference",
    "lineage_preference",
    "length_bias",
    "family_taste",
)

# -------------------------------------------------------------------- parameters


def normalize_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in, numbers as floats, ranges checked (ValueError names the parameter)."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(PARAM_DEFAULTS) - set(RUNTIME_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown simulated-judge parameter(s) {unknown}; valid: {sorted(PARAM_DEFAULTS) + sorted(RUNTIME_DEFAULTS)}"
        )
    out: dict[str, Any] = {}
    for key, default in PARAM_DEFAULTS.items():
        value = params.get(key, default)
        if key == "family":
            out[key] = None if value is None else str(value)
            continue
        if value is None:
            value = default
        if key == "greedy":
            if not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
                raise ValueError(
                    f"simulated-judge parameter 'greedy' must be true or false, not {value!r}"
                )
            out[key] = bool(value)
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"simulated-judge parameter '{key}' must be a number, not {value!r}"
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"simulated-judge parameter '{key}' must be finite, not {value!r}")
        out[key] = value
    if out["noise"] <= 0:
        raise ValueError(
            f"simulated-judge parameter 'noise' must be > 0 (the logistic scale), not {out['noise']}"
        )
    for key in (
        "tie_band",
        "family_taste",
        "price_in",
        "price_out",
        "latency_s",
        "confidence_sharpness",
        "confidence_noise",
    ):
        if out[key] < 0:
            raise ValueError(f"simulated-judge parameter '{key}' must be >= 0, not {out[key]}")
    if not 0.0 <= out["parse_failure_rate"] <= 1.0:
        raise ValueError(
            f"simulated-judge parameter 'parse_failure_rate' must be in [0, 1], not {out['parse_failure_rate']}"
        )
    out["sleep"] = bool(params.get("sleep", RUNTIME_DEFAULTS["sleep"]))
    return out


def _identity_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    p = normalize_params(params)
    return {
        k: p[k]
        for k in PARAM_DEFAULTS
        if k not in CONFIDENCE_DEFAULTS or p[k] != CONFIDENCE_DEFAULTS[k]
    }


def param_hash(params: Mapping[str, Any] | None) -> str:
    """sha256 (hex) of the canonical JSON of the parameters with defaults filled in.

    Stable across processes and Python hash seeds; ``noise=1`` and ``noise=1.0`` and an
    omitted ``noise`` hash alike; ``sleep`` (an execution setting) is not hashed."""
    canon = json.dumps(
        _identity_params(params), sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _name_of(model_or_judge: Any) -> str:
    model = getattr(model_or_judge, "model", model_or_judge)
    if isinstance(model_or_judge, Mapping):
        model = model_or_judge.get("model") or model_or_judge.get("name")
    model = str(model)
    return model.split("/", 1)[1] if model.startswith(PROVIDER + "/") else model


def _sim_of(judge_: Any) -> dict[str, Any]:
    sim = judge_.get("sim") if isinstance(judge_, Mapping) else getattr(judge_, "sim", None)
    if sim is None:
        raise ValueError(
            f"{_name_of(judge_)!r} is not a simulated judge (its 'sim' parameters are None)"
        )
    return normalize_params(sim)


_KNOWN_JUDGES: dict[str, dict[str, Any]] = {}  # name -> params of the latest judge() / panel()


# ------------------------------------------------------------- hashing / uniforms

_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)

STREAM_CHOICE, STREAM_PARSE, STREAM_TASTE, STREAM_SECTION, STREAM_CONFIDENCE = 1, 2, 3, 4, 5
_PROTOCOL_CODE = {"pairwise": 1, "single": 2, "rubric": 3}


@functools.lru_cache(maxsize=1 << 20)
def _h64(text: str) -> int:
    """First 8 bytes of sha256 as an unsigned 64-bit integer (process independent)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> _S30)) * _C1
        z = (z ^ (z >> _S27)) * _C2
        return z ^ (z >> _S31)


def _chain(*components) -> np.ndarray:
    """Mix integer components (scalars or uint64 arrays, broadcast) into one 64-bit key each."""
    arrays = [
        np.asarray(c).astype(np.uint64) if np.ndim(c) else np.uint64(int(c) & _M64)
        for c in components
    ]
    shape = np.broadcast_shapes(*[np.shape(a) for a in arrays])
    h = np.zeros(shape, dtype=np.uint64)
    for a in arrays:
        h = _splitmix(h ^ a)
    return h


def _uniform(h: np.ndarray) -> np.ndarray:
    """Open-interval uniform in (0, 1) from the top 53 bits."""
    return ((h >> _S11).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


# ------------------------------------------------------------- closed-form model


def pairwise_probabilities(eta, tie_band, noise, allow_tie=True):
    """(P(A), P(B), P(tie)) for displayed-first advantage ``eta`` (ordered logit, see module doc)."""
    eta = np.asarray(eta, dtype=float)
    tau = np.where(np.asarray(allow_tie, dtype=bool), np.asarray(tie_band, dtype=float), 0.0)
    s = np.asarray(noise, dtype=float)
    pa = expit((eta - tau) / s)
    pb = expit((-eta - tau) / s)
    # with tau = 0 the two are complementary: force the tie probability to exactly 0
    pt = np.where(tau > 0, np.clip(1.0 - pa - pb, 0.0, 1.0), 0.0)
    pb = np.where(tau > 0, pb, 1.0 - pa)
    return pa, pb, pt


def _cutpoints(lo: int, hi: int) -> np.ndarray:
    k_points = hi - lo + 1
    k = np.arange(1, k_points)
    return QUALITY_RANGE * (2.0 * k / k_points - 1.0)


def score_probabilities(v, noise, scale=(1, 10)) -> np.ndarray:
    """(n, K) probabilities of the scores lo..hi for perceived quality ``v`` (ordered logit)."""
    lo, hi = int(scale[0]), int(scale[1])
    v = np.atleast_1d(np.asarray(v, dtype=float))
    s = np.broadcast_to(np.asarray(noise, dtype=float), v.shape)
    c = _cutpoints(lo, hi)
    cdf = expit((c[None, :] - v[:, None]) / s[:, None])  # P(score <= lo + k - 1)
    cdf = np.concatenate([np.zeros((len(v), 1)), cdf, np.ones((len(v), 1))], axis=1)
    return np.diff(cdf, axis=1)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def rubric_probabilities(v, noise, pass_threshold=RUBRIC_PASS, warn_threshold=RUBRIC_WARN):
    """Closed form of the simulated rubric verdict for perceived section values ``v`` (n, m).

    Returns (P(pass), P(warn), P(fail), a) with ``a[:, k] = P(m_k >= pass)`` and
    ``g_k = P(warn <= m_k < pass)``: P(pass) = prod_k a_k, P(warn) = sum_k g_k prod_{i != k} a_i
    (independent sections, see the module doc)."""
    v = np.atleast_2d(np.asarray(v, dtype=float))
    s = np.broadcast_to(np.asarray(noise, dtype=float), v.shape[:1])[:, None]
    a = expit((v - _logit(pass_threshold)) / s)  # section satisfied
    g = np.clip(expit((v - _logit(warn_threshold)) / s) - a, 0.0, 1.0)  # minor gap
    m = v.shape[1]
    p_pass = np.prod(a, axis=1)
    p_warn = np.zeros(v.shape[0])
    for k in range(m):
        others = np.prod(np.delete(a, k, axis=1), axis=1) if m > 1 else np.ones(v.shape[0])
        p_warn += g[:, k] * others
    p_fail = np.clip(1.0 - p_pass - p_warn, 0.0, 1.0)
    return p_pass, p_warn, p_fail, a


def _section_values(quality, bias, section_truth) -> np.ndarray:
    """(n, m) perceived section values: logit of the true section metric where the dataset
    gives one (truth ``section:<title>``, clipped to [0.02, 0.98]), else the true quality,
    plus the judge's planted terms ``bias`` = V - q."""
    quality = np.asarray(quality, dtype=float)
    st = np.asarray(section_truth, dtype=float).reshape(len(quality), -1)
    clipped = np.clip(st, 0.02, 0.98)
    base = np.where(np.isnan(st), quality[:, None], np.log(clipped) - np.log1p(-clipped))
    return base + np.asarray(bias, dtype=float)[:, None]


def rubric_verdict(metrics, pass_threshold=RUBRIC_PASS, warn_threshold=RUBRIC_WARN) -> str:
    """pass: every metric >= pass; warn: exactly one in [warn, pass) and none below warn;
    fail otherwise (:func:`judgelab.rubric.aggregate`)."""
    if not isinstance(metrics, Mapping):
        metrics = {str(i): float(x) for i, x in enumerate(metrics)}
    return rubric_mod.aggregate(metrics, pass_threshold, warn_threshold)


def _draw_pairwise(pa, pb, u):
    """0 = A, 1 = B, 2 = tie by inverse CDF on (A, tie, B): monotone in eta."""
    return np.where(u < pa, 0, np.where(u >= 1.0 - pb, 1, 2))


def _greedy_pairwise(pa, pb, pt):
    """The argmax verdict (0 = A, 1 = B, 2 = tie; a tie between the top two goes to A, then B):
    what a greedy decoder answers at temperature 0."""
    return np.argmax(np.stack([pa, pb, pt], axis=-1), axis=-1)


def confidence_z(jkey, seed, sample_eff, pcode, k1, k2, n_alt: int) -> np.ndarray:
    """``(n, n_alt)`` standard normal draws of the reported-confidence noise, one per verdict
    alternative, from their own hashed stream (the verdict's uniforms are untouched)."""

    def col(x):
        return np.asarray(x, dtype=np.uint64)[..., None] if np.ndim(x) else x

    k = np.arange(n_alt, dtype=np.uint64)
    u = _uniform(
        _chain(STREAM_CONFIDENCE, col(jkey), col(seed), col(sample_eff), pcode, col(k1), col(k2), k)
    )
    return ndtri(u)


def reported_probabilities(probs, sharpness, noise, z) -> np.ndarray:
    """The probabilities a judge reports as logprobs: softmax(sharpness * log p + noise * z)
    over the alternatives with p > 0 (p = 0 stays 0). ``sharpness`` 1 and ``noise`` 0 report
    the generative probabilities exactly; sharpness > 1 is overconfident, < 1 underconfident
    (0: flat, uninformative); a large ``noise`` makes the confidence unrelated to the verdict."""
    p = np.atleast_2d(np.asarray(probs, dtype=float))
    sh = np.asarray(sharpness, dtype=float).reshape(-1, 1)
    nz = np.asarray(noise, dtype=float).reshape(-1, 1)
    pos = p > 0
    with np.errstate(divide="ignore"):
        logit_ = np.where(pos, sh * np.log(np.where(pos, p, 1.0)) + nz * np.asarray(z), -np.inf)
    m = logit_.max(axis=1, keepdims=True)
    e = np.where(pos, np.exp(logit_ - m), 0.0)
    return e / e.sum(axis=1, keepdims=True)


def _draw_score(probs: np.ndarray, u: np.ndarray, lo: int) -> np.ndarray:
    cdf = np.cumsum(probs, axis=1)
    idx = (u[:, None] >= cdf[:, :-1]).sum(axis=1)
    return lo + idx


def _margin(probs: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row (rows: probability vectors)."""
    if probs.shape[1] < 2:
        return np.ones(probs.shape[0])
    part = -np.partition(-probs, 1, axis=1)
    return part[:, 0] - part[:, 1]


# --------------------------------------------------------------- output texts

_PAIRWISE_TEXT = {
    0: "Assistant A's answer is more accurate and more helpful than Assistant B's answer.",
    1: "Assistant B's answer is more accurate and more helpful than Assistant A's answer.",
    2: "Both answers are of comparable quality; neither is clearly better.",
}
_PAIRWISE_TOKEN = {0: "A", 1: "B", 2: "C"}
_FAIL_PAIRWISE = "Both assistants make reasonable points, and the comparison depends on what the user values most."
_FAIL_SINGLE = "The answer addresses the question, with some strengths and some weaknesses."
_SCORE_WORDS = ("poor", "weak", "adequate", "good", "excellent")


def _pairwise_parts(code: int) -> list[str]:
    return [_PAIRWISE_TEXT[code] + "\n\n", "[[", _PAIRWISE_TOKEN[code], "]]"]


def _single_parts(score: int, lo: int, hi: int) -> list[str]:
    frac = 0.0 if hi == lo else (score - lo) / (hi - lo)
    word = _SCORE_WORDS[min(int(frac * len(_SCORE_WORDS)), len(_SCORE_WORDS) - 1)]
    return [f"Overall, the answer is {word}.\n\n", "Rating: [[", str(score), "]]"]


def _rubric_parts(verdict: str, metrics: dict[str, float]) -> list[str]:
    n_ok = sum(1 for x in metrics.values() if x >= RUBRIC_PASS)
    reasoning = f"{n_ok} of {len(metrics)} sections are fully satisfied."
    tail = json.dumps({"reasoning": reasoning, "metrics": metrics})
    return ['{"verdict": "', verdict, '", ' + tail[1:]]


def _rubric_fail_text(verdict: str) -> str:
    # a truncated JSON object: strict parsing must reject it
    return '{"verdict": "' + verdict + '", "reasoning": "The answer satisfies'


def _count_tokens(text: str) -> int:
    """Deterministic stand-in for a tokenizer: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


# ------------------------------------------------------------ the shared core


@functools.lru_cache(maxsize=1 << 16)
def _relation(name: str, family: str | None, generator: str, gen_family: str | None) -> str:
    return families.relation(name, generator, judge_family=family, generator_family=gen_family)


def _relation_terms(
    p: Mapping[str, Any], name: str, family: str | None, generator, gen_family
) -> float:
    if generator is None:
        return 0.0
    rel = _relation(name, family, generator, gen_family)
    return {
        "self": p["self_preference"],
        "family": p["family_preference"],
        "lineage": p["lineage_preference"],
    }.get(rel, 0.0)


def _judge_family(name: str, p: Mapping[str, Any]) -> str | None:
    return p["family"] if p.get("family") else families.family_of(name)


def _taste_z(family_key: str, resp_keys: np.ndarray) -> np.ndarray:
    """z(f, r) ~ N(0, 1): one fixed draw per (judge family, response), shared by the family."""
    return ndtri(_uniform(_chain(STREAM_TASTE, _h64("fam:" + family_key), resp_keys)))


def _family_key(name: str, family: str | None) -> str:
    # a judge without a family shares its taste with nobody
    return family if family else "judge:" + name


def _perceived(quality, n_words, rel_term, taste_z, p: Mapping[str, Any]):
    return (
        np.asarray(quality, dtype=float)
        + p["family_taste"] * np.asarray(taste_z, dtype=float)
        + np.asarray(rel_term, dtype=float)
        + p["length_bias"] * np.asarray(n_words, dtype=float) / 100.0
    )


def _rubric_metrics(v, noise, jkey, seed, sample_eff, rkeys) -> np.ndarray:
    """(n, m) section metrics expit(V_k + s*eps_k), eps_k = logit(u_k), rounded to 3 decimals."""
    v = np.atleast_2d(np.asarray(v, dtype=float))
    s = np.broadcast_to(np.asarray(noise, dtype=float), v.shape[:1])
    k = np.arange(v.shape[1], dtype=np.uint64)[None, :]

    def col(x):
        return np.asarray(x, dtype=np.uint64)[:, None] if np.ndim(x) else x

    u = _uniform(
        _chain(
            STREAM_SECTION,
            col(jkey),
            col(seed),
            col(sample_eff),
            _PROTOCOL_CODE["rubric"],
            col(rkeys),
            k,
        )
    )
    eps = np.log(u) - np.log1p(-u)
    return np.round(expit(v + s[:, None] * eps), 3)
