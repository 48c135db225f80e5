"""The offline simulated judge panel: planted biases, served as a litellm custom provider.

Models ``judgelab-sim/<name>`` are answered by :class:`SimProvider`, a litellm
``CustomLLM`` registered in every process that imports judgelab, so a simulated
judge travels the real path (prompt -> litellm -> parser -> store, with tokens,
cost and latency). :func:`sample_verdicts` draws the *same* generative model,
vectorised with numpy and without litellm, for simulation studies (10^5 judgments
in a fraction of a second). docs/simulated_panel.md has the model as a table.

Generative model
----------------
Everything is on the logit scale of the dataset's true quality ``q_r``
(``truth.quality``; an answer the registry does not know gets ``NEUTRAL_QUALITY`` = 0).
Judge ``j`` (family ``f_j``) perceives response ``r`` (generator ``g_r``) as

    V_j(r) = q_r + family_taste_j * z(f_j, r)
             + self_preference_j    * [relation(j, g_r) == "self"]
             + family_preference_j  * [relation(j, g_r) == "family"]
             + lineage_preference_j * [relation(j, g_r) == "lineage"]
             + length_bias_j * n_words_r / 100

where ``z(f, r) ~ N(0, 1)`` is one fixed draw per (judge family, response), shared
by every judge of the family (correlated errors), and ``relation`` is
:func:`judgelab.families.relation`. The judge then adds logistic noise of scale
``s = noise_j`` (default 1) to a latent and reads off its answer:

* **pairwise** (answer ``x`` shown first as A, ``y`` second as B):
  ``eta = V(x) - V(y) + position_bias``, latent ``L = eta + s*eps``, eps standard
  logistic; A if ``L > tau``, B if ``L < -tau``, tie (``[[C]]``) otherwise, with
  ``tau = tie_band`` (0 when the prompt offers no ``[[C]]``). Closed form:
  ``P(A) = expit((eta - tau)/s)``, ``P(B) = expit((-eta - tau)/s)``,
  ``P(tie) = 1 - P(A) - P(B)``. A planted term ``b`` thus shifts the log-odds by
  ``b / s`` when ``tau = 0``.
* **single** (scale ``lo..hi``, ``K = hi - lo + 1`` points): cut points
  ``c_k = QUALITY_RANGE * (2k/K - 1)``, ``k = 1..K-1`` (quality -3..3 spans the
  scale); ``score = lo + #{k: V + s*eps > c_k}``, an ordered logit:
  ``P(score <= lo + k - 1) = expit((c_k - V)/s)``.
* **rubric** (sections ``1..m`` from the ``[Rubric]`` JSON): metric
  ``m_k = expit(V + s*eps_k)``, eps_k iid standard logistic, rounded to 3 decimals;
  ``P(m_k >= t) = expit((V - logit t)/s)``. The judge's verdict aggregates its own
  metrics with :func:`rubric_verdict` (pass: every section >= pass threshold;
  warn: exactly one section in [warn, pass); fail: otherwise), so
  ``P(pass) = prod_k a_k``, ``P(warn) = sum_k w_k prod_{i != k} a_i`` with
  ``a_k = P(m_k >= pass)`` and ``w_k = P(warn <= m_k < pass)``.
* **parse failures**: with probability ``parse_failure_rate`` (an independent draw)
  the output is text the strict parsers reject.

Outputs carry ``top_logprobs`` for the verdict token equal to the log of these
probabilities, usage tokens (a deterministic word/punctuation count) and, through
``litellm.register_model``, a price (``price_in``/``price_out`` per million tokens).

Seeding (exact agreement between the provider and :func:`sample_verdicts`)
---------------------------------------------------------------------------
Every random number is an inverse-CDF transform of a uniform computed by hashing,
never a stateful generator: ``u = splitmix64-chain(stream, H(name), seed, sample',
protocol, K(first), K(second)) / 2^64`` where ``H`` is the first 8 bytes of
sha256, ``K(r) = H("rid:" + response_id)`` for an answer the registry knows (else
``H("txt:" + sha256(question, answer))``), ``seed`` is the request's ``seed`` (0
when absent) and ``sample' = sample`` at temperature > 0, else 0 (identical repeats
at temperature 0). The choice is ``A if u < P(A)``, ``B if u >= 1 - P(B)``, tie
otherwise (monotone coupling). The key holds the judge's *name*, not its parameters:
re-planting a judge changes its probabilities but not its uniforms (common random
numbers, so "the same judge without the bias" is compared on the same draws),
while the parameter hash in the backend and the call address keeps the store from
returning stale verdicts. So for the same judge, response ids, order, sample and
seed, the provider and :func:`sample_verdicts` agree exactly (choice, score,
probabilities, text), in any process (no Python ``hash()``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import re
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtri

from judgelab import families
from judgelab import rubric as rubric_mod
from judgelab.judges import Endpoint, register_endpoint
from judgelab.llm import NOMINAL_LATENCY

__all__ = [
    "PROVIDER",
    "PARAM_DEFAULTS",
    "NEUTRAL_QUALITY",
    "QUALITY_RANGE",
    "PANELS",
    "param_hash",
    "normalize_params",
    "backend",
    "request_kwargs",
    "register_dataset",
    "responses_frame",
    "clear_registry",
    "lookup",
    "judge",
    "panel",
    "sample_verdicts",
    "prepare_responses",
    "PreparedResponses",
    "pairwise_probabilities",
    "score_probabilities",
    "rubric_probabilities",
    "rubric_verdict",
    "parse_prompt",
    "register",
    "install",
    "simulate_call",
]

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
    for key in ("tie_band", "family_taste", "price_in", "price_out", "latency_s"):
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
    return {k: p[k] for k in PARAM_DEFAULTS}


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


# ------------------------------------------------------------- hashing / uniforms

_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)

STREAM_CHOICE, STREAM_PARSE, STREAM_TASTE, STREAM_SECTION = 1, 2, 3, 4
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


# ---------------------------------------------------------------- truth registry


@dataclass(frozen=True)
class TruthRecord:
    """What a simulated judge knows about an answer it reads."""

    response_id: str | None
    item_id: str | None
    generator: str | None
    family: str | None
    quality: float
    correct: float | None
    n_words: int
    key: str  # the randomness key: "rid:<response_id>" or "txt:<sha256>"
    sections: tuple[
        tuple[str, float], ...
    ] = ()  # true rubric section metrics (truth "section:<title>")


_REG_LOCK = threading.Lock()
_BY_QA: dict[str, TruthRecord] = {}
_BY_A: dict[str, TruthRecord | None] = {}  # None: the text occurs under several questions
_REGISTERED: dict[str, int] = {}  # dataset sha256 -> responses registered
_DEMO_LOADED = False


def _norm(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split())


def _text_key(question: Any, answer: Any) -> str:
    return hashlib.sha256((_norm(question) + "\x1f" + _norm(answer)).encode("utf-8")).hexdigest()


def _answer_key(answer: Any) -> str:
    return hashlib.sha256(_norm(answer).encode("utf-8")).hexdigest()


def _n_words(text: Any) -> int:
    return len(str(text).split()) if isinstance(text, str) else 0


def responses_frame(ds) -> pd.DataFrame:
    """The ``responses`` input of :func:`sample_verdicts` from a Dataset: response_id,
    item_id, generator, family, quality, correct, n_words (+ text, prompt).

    Quality and correctness come from ``ds.truth`` (neutral quality / None without it);
    ``n_words`` from truth where given, else counted from the text."""
    r = ds.response_info()
    r = r.merge(ds.items[["item_id", "prompt"]], on="item_id", how="left")
    section_cols: list[str] = []
    if ds.truth is not None:
        section_cols = [c for c in ds.truth.columns if str(c).startswith("section:")]
        cols = [
            c for c in ("response_id", "quality", "correct", "n_words") if c in ds.truth.columns
        ] + section_cols
        t = ds.truth[cols].rename(columns={"n_words": "_truth_words"})
        r = r.merge(t, on="response_id", how="left")
    if "quality" not in r.columns:
        r["quality"] = np.nan
    if "correct" not in r.columns:
        r["correct"] = np.nan
    r["quality"] = (
        pd.to_numeric(r["quality"], errors="coerce").fillna(NEUTRAL_QUALITY).astype(float)
    )
    if "_truth_words" in r.columns:
        tw = pd.to_numeric(r["_truth_words"], errors="coerce")
        r["n_words"] = tw.fillna(r["n_words"]).fillna(0).astype(int)
        r = r.drop(columns="_truth_words")
    else:
        r["n_words"] = r["n_words"].fillna(0).astype(int)
    for c in section_cols:
        r[c] = pd.to_numeric(r[c], errors="coerce")
    cols = [
        "response_id",
        "item_id",
        "generator",
        "family",
        "quality",
        "correct",
        "n_words",
        "text",
        "prompt",
        *section_cols,
    ]
    return r[cols].reset_index(drop=True)


def register_dataset(ds) -> int:
    """Fill the truth registry from a Dataset (or a dataset name / directory).

    Each response text is keyed by sha256 of its normalised question and answer (and,
    where the answer text is unique, by the answer alone), mapping to its response_id,
    generator, family, true quality, correctness and word count. Returns the number of
    responses registered. Responses without text are skipped (a judge cannot read them)."""
    from judgelab.data import load_dataset

    ds = load_dataset(ds)
    if ds.sha256 is not None and ds.sha256 in _REGISTERED:
        return _REGISTERED[ds.sha256]  # every run registers its dataset: do the work once
    frame = responses_frame(ds)
    section_cols = [c for c in frame.columns if c.startswith("section:")]
    n = 0
    with _REG_LOCK:
        for row, sec_values in zip(
            frame.itertuples(index=False), frame[section_cols].to_numpy(), strict=True
        ):
            if not isinstance(row.text, str) or not row.text.strip():
                continue
            sections = tuple(
                (c.split(":", 1)[1], float(x))
                for c, x in zip(section_cols, sec_values, strict=True)
                if pd.notna(x)
            )
            correct = None if row.correct is None or pd.isna(row.correct) else float(row.correct)
            rec = TruthRecord(
                response_id=str(row.response_id),
                item_id=str(row.item_id),
                generator=None if pd.isna(row.generator) else str(row.generator),
                family=None if row.family is None or pd.isna(row.family) else str(row.family),
                quality=float(row.quality),
                correct=correct,
                n_words=int(row.n_words),
                key="rid:" + str(row.response_id),
                sections=sections,
            )
            _BY_QA[_text_key(row.prompt, row.text)] = rec
            ak = _answer_key(row.text)
            prev = _BY_A.get(ak, rec)
            _BY_A[ak] = rec if prev is not None and prev.response_id == rec.response_id else None
            n += 1
        if ds.sha256 is not None:
            _REGISTERED[ds.sha256] = n
    return n


def clear_registry() -> None:
    """Forget every registered answer (the demo is registered again lazily when needed)."""
    global _DEMO_LOADED
    with _REG_LOCK:
        _BY_QA.clear()
        _BY_A.clear()
        _REGISTERED.clear()
        _DEMO_LOADED = False


_DEMO_LOCK = threading.Lock()


def _ensure_demo() -> None:
    """Register the demo benchmark once, lazily, so demo prompts resolve in any process.

    Concurrent first lookups wait for the registration (none sees a half-filled registry)."""
    global _DEMO_LOADED
    if _DEMO_LOADED:
        return
    with _DEMO_LOCK:
        if _DEMO_LOADED:
            return
        from judgelab.data import demo_data_dir

        d = demo_data_dir()
        if (d / "dataset.yaml").exists() and any(d.glob("truth.*")):
            try:
                register_dataset(str(d))
            except Exception:  # a broken demo directory must not break judging other data
                pass
        _DEMO_LOADED = True


def lookup(question: Any, answer: Any) -> TruthRecord:
    """The registry record of an answer, or a neutral record keyed by the text's hash."""
    qa = _text_key(question, answer)
    for attempt in range(2):
        rec = _BY_QA.get(qa)
        if rec is None:
            rec = _BY_A.get(_answer_key(answer))
        if rec is not None:
            return rec
        if attempt == 0 and not _DEMO_LOADED:
            _ensure_demo()
        else:
            break
    return TruthRecord(None, None, None, None, NEUTRAL_QUALITY, None, _n_words(answer), "txt:" + qa)


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
    built with the default templates (docs/architecture.md). ValueError if no answer is found."""
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
        code = int(_draw_pairwise(pa, pb, u_choice))
        probs = {"A": pa, "B": pb, "C": pt}
        if parse_ok:
            parts = _pairwise_parts(code)
            top = sorted(
                ((t, _safe_log(p)) for t, p in probs.items() if allow_tie or t != "C"),
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
    if parse_ok:
        # the verdict token carries the distribution; the surrounding text is certain
        logprobs = []
        for part in parts:
            if part == token and not any(e.get("top_logprobs") for e in logprobs):
                logprobs.append(_logprob_entry(part, _safe_log(probs[token]), top))
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
_KNOWN_JUDGES: dict[str, dict[str, Any]] = {}  # name -> params of the latest judge() / panel()


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


# ------------------------------------------------------------- judges & panels


def judge(name: str, **params):
    """A simulated judge ``judgelab-sim/<name>`` as a :class:`judgelab.judges.Judge`.

    Keyword arguments that are simulated-judge parameters (:data:`PARAM_DEFAULTS`,
    ``sleep``) go to ``Judge.sim``; the others (``temperature``, ``templates``,
    ``allow_tie`` ...) to the Judge itself. The judge is priced in litellm."""
    import dataclasses

    from judgelab.judges import Judge

    sim = {k: v for k, v in params.items() if k in PARAM_DEFAULTS or k in RUNTIME_DEFAULTS}
    rest = {k: v for k, v in params.items() if k not in sim}
    judge_fields = {f.name for f in dataclasses.fields(Judge)} - {"model", "sim", "family"}
    unknown = sorted(set(rest) - judge_fields)
    if unknown:
        raise ValueError(
            f"sim.judge: unknown parameter(s) {unknown}; simulated-judge parameters: "
            f"{sorted(PARAM_DEFAULTS) + sorted(RUNTIME_DEFAULTS)}; Judge fields: {sorted(judge_fields)}"
        )
    sim = normalize_params(sim)
    name = _name_of(name)
    _KNOWN_JUDGES[name] = sim
    _register_price(name, sim)
    family = _judge_family(name, sim)
    return Judge(model=f"{PROVIDER}/{name}", sim=sim, family=family, **rest)


# The demo panel: the 9 demo generators as judges, three tiers per family (flagship,
# mid, small). Noise, tie band and parse-failure rate depend on the tier only, so every
# family has the same spread of judge noise: a family whose judges were noisier on
# average would pick the worse family's answers more often with no bias planted (a
# confound measured at +0.03 own-family excess), which the null panel must not contain.
# Biases are moderate and documented in docs/simulated_panel.md; self-preference sits on
# the worst family (cirrus), so that quality cannot pass for it (STATISTICS.md).
_TIERS = {
    "flagship": dict(noise=0.12, tie_band=0.02, parse_failure_rate=0.0),
    "mid": dict(noise=0.3, tie_band=0.05, parse_failure_rate=0.01),
    "small": dict(noise=0.6, tie_band=0.1, parse_failure_rate=0.03),
}
PANELS: dict[str, dict[str, dict[str, Any]]] = {
    "demo": {
        # near-unbiased: the judge that can pass the calibration gate
        "aurora-max": dict(
            **_TIERS["flagship"],
            position_bias=0.03,
            self_preference=0.03,
            family_taste=0.1,
            price_in=10.0,
            price_out=30.0,
            latency_s=2.5,
        ),
        "aurora-plus": dict(
            **_TIERS["mid"],
            position_bias=0.12,
            family_preference=0.05,
            length_bias=0.5,
            family_taste=0.1,
            price_in=2.5,
            price_out=10.0,
            latency_s=1.2,
        ),
        "aurora-lite": dict(
            **_TIERS["small"],
            position_bias=0.3,
            length_bias=1.0,
            family_taste=0.1,
            price_in=0.15,
            price_out=0.6,
            latency_s=0.5,
        ),
        # basalt: a strongly shared taste (correlated errors inside the family)
        "basalt-xl": dict(
            **_TIERS["flagship"],
            position_bias=0.06,
            family_preference=0.05,
            family_taste=0.35,
            price_in=5.0,
            price_out=15.0,
            latency_s=2.0,
        ),
        "basalt-m": dict(
            **_TIERS["mid"],
            position_bias=0.2,
            length_bias=1.5,
            family_taste=0.35,
            price_in=0.8,
            price_out=3.2,
            latency_s=0.9,
        ),
        "basalt-s": dict(
            **_TIERS["small"],
            position_bias=0.45,
            length_bias=2.5,
            family_taste=0.35,
            price_in=0.1,
            price_out=0.4,
            latency_s=0.4,
        ),
        # cirrus (the worst family): self-preference (1 logit) and family preference (0.5 logit)
        "cirrus-ultra": dict(
            **_TIERS["flagship"],
            position_bias=0.1,
            self_preference=0.12,
            family_preference=0.06,
            length_bias=0.3,
            family_taste=0.2,
            price_in=3.0,
            price_out=12.0,
            latency_s=1.8,
        ),
        "cirrus-base": dict(
            **_TIERS["mid"],
            position_bias=0.3,
            self_preference=0.3,
            family_preference=0.15,
            length_bias=1.5,
            family_taste=0.2,
            price_in=0.5,
            price_out=1.5,
            latency_s=0.7,
        ),
        "cirrus-nano": dict(
            **_TIERS["small"],
            position_bias=0.6,
            self_preference=0.6,
            family_preference=0.3,
            length_bias=2.5,
            family_taste=0.2,
            price_in=0.05,
            price_out=0.2,
            latency_s=0.3,
        ),
    },
}
# The null panel: the same judges, prices, noise, ties, parse failures and latency, no bias.
PANELS["null"] = {
    name: {**p, **dict.fromkeys(_BIAS_KEYS, 0.0)} for name, p in PANELS["demo"].items()
}


def panel(name: str = "demo", **judge_kwargs) -> list:
    """The ready panels: ``demo`` (planted biases) or ``null`` (every bias 0, noise unequal).

    ``judge_kwargs`` (e.g. ``temperature``) go to every Judge."""
    if name.startswith("panel:"):
        name = name.split(":", 1)[1]
    if name not in PANELS:
        raise ValueError(f"unknown simulated panel {name!r}; available: {sorted(PANELS)}")
    return [judge(j, **p, **judge_kwargs) for j, p in PANELS[name].items()]


# ------------------------------------------------------------ vectorised sampler


def _judge_spec(j: Any) -> dict[str, Any]:
    if isinstance(j, str):
        name = _name_of(j)
        params = normalize_params(_KNOWN_JUDGES.get(name))
        return {
            "name": name,
            "params": params,
            "version": None,
            "temperature": 0.0,
            "seed": None,
            "allow_tie": True,
            "family": None,
        }
    get = j.get if isinstance(j, Mapping) else (lambda k, d=None: getattr(j, k, d))
    params = _sim_of(j)
    return {
        "name": _name_of(j),
        "params": params,
        "version": get("version", None),
        "temperature": float(get("temperature", 0.0) or 0.0),
        "seed": get("seed", None),
        "allow_tie": bool(get("allow_tie", True)),
        "family": get("family", None),
        # the Judge's own aggregation thresholds: the stored `verdict` is recomputed with them
        "pass_threshold": float(
            RUBRIC_PASS if get("pass_threshold", None) is None else get("pass_threshold")
        ),
        "warn_threshold": float(
            RUBRIC_WARN if get("warn_threshold", None) is None else get("warn_threshold")
        ),
    }


def _prepare_responses(responses: pd.DataFrame) -> pd.DataFrame:
    from judgelab.data import DataError

    if "response_id" not in responses.columns:
        raise DataError("responses", "response_id", "missing required column for sample_verdicts")
    r = responses.copy()
    r["response_id"] = r["response_id"].astype(str)
    dup = r["response_id"].duplicated(keep=False)
    if dup.any():
        raise DataError(
            "responses", "response_id", "duplicate ids", np.flatnonzero(dup.to_numpy()).tolist()
        )
    for col, default in (
        ("item_id", None),
        ("generator", None),
        ("family", None),
        ("correct", np.nan),
    ):
        if col not in r.columns:
            r[col] = default
    if "quality" not in r.columns:
        r["quality"] = NEUTRAL_QUALITY
    r["quality"] = (
        pd.to_numeric(r["quality"], errors="coerce").fillna(NEUTRAL_QUALITY).astype(float)
    )
    if "n_words" not in r.columns:
        r["n_words"] = r["text"].map(_n_words) if "text" in r.columns else 0
    r["n_words"] = pd.to_numeric(r["n_words"], errors="coerce").fillna(0).astype(float)
    missing = r["family"].isna() & r["generator"].notna()
    if missing.any():
        r.loc[missing, "family"] = r.loc[missing, "generator"].map(families.family_of)
    return r.reset_index(drop=True)


class PreparedResponses:
    """The ``responses`` input of :func:`sample_verdicts`, validated and indexed once.

    Replicate loops (hundreds of calls on the same responses) should prepare once and pass
    this object instead of the frame: it caches the response keys, relations and taste
    draws, which otherwise dominate a call's fixed cost."""

    def __init__(self, responses: pd.DataFrame):
        r = _prepare_responses(responses)
        self.frame = r
        self.rid_list: list[str] = r["response_id"].tolist()
        self.index = pd.Index(self.rid_list)
        self.keys = np.fromiter(
            (_h64("rid:" + rid) for rid in self.rid_list), dtype=np.uint64, count=len(r)
        )
        self.quality = r["quality"].to_numpy(dtype=float)
        self.words = r["n_words"].to_numpy(dtype=float)
        self.item_ids = r["item_id"].to_numpy(dtype=object)
        self.sections = {
            c.split(":", 1)[1]: r[c].to_numpy(dtype=float)
            for c in r.columns
            if str(c).startswith("section:")
        }
        # relations depend on (generator, family) only: resolve each distinct one once
        gen = [None if pd.isna(g) else str(g) for g in r["generator"].tolist()]
        gfam = [None if pd.isna(f) else str(f) for f in r["family"].tolist()]
        combos: dict[tuple, int] = {}
        self.combo_codes = np.array(
            [combos.setdefault((g, f), len(combos)) for g, f in zip(gen, gfam, strict=True)],
            dtype=np.int64,
        )
        self.combos = list(combos)
        self.rid_cats = _pa_strings(self.rid_list)
        self.rid_tie = _pa_strings([*self.rid_list, "tie"])
        self._rel: dict[tuple, np.ndarray] = {}
        self._taste: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.rid_list)

    def relation_terms(self, name: str, family: str | None, p: Mapping[str, Any]) -> np.ndarray:
        key = (name, family, p["self_preference"], p["family_preference"], p["lineage_preference"])
        if key not in self._rel:
            rel_u = np.array(
                [_relation_terms(p, name, family, g, f) for g, f in self.combos], dtype=float
            )
            self._rel[key] = rel_u[self.combo_codes] if len(rel_u) else np.zeros(len(self))
        return self._rel[key]

    def taste(self, family_key: str) -> np.ndarray:
        if family_key not in self._taste:
            self._taste[family_key] = _taste_z(family_key, self.keys)
        return self._taste[family_key]

    def perceived(self, name: str, family: str | None, p: Mapping[str, Any]) -> np.ndarray:
        """V_j(r) for every response (module doc)."""
        taste = self.taste(_family_key(name, family)) if p["family_taste"] > 0 else 0.0
        return _perceived(self.quality, self.words, self.relation_terms(name, family, p), taste, p)


_PREPARED_CACHE: dict[str, PreparedResponses] = {}
_PREPARED_CACHE_SIZE = 8


def _fingerprint(responses: pd.DataFrame) -> str:
    """sha256 of every column the sampler reads (ids and strings joined, numbers as bytes):
    about 1 ms for the demo's 1,440 responses, against ~20 ms to prepare them again."""
    h = hashlib.sha256()
    read = ("response_id", "item_id", "generator", "family", "quality", "correct", "n_words")
    if "n_words" not in responses.columns:
        read += ("text",)  # word counts come from the texts then
    cols = [c for c in read if c in responses.columns]
    cols += sorted(c for c in responses.columns if str(c).startswith("section:"))
    for c in cols:
        h.update(str(c).encode() + b"\x1e")
        values = responses[c].to_numpy()
        if values.dtype.kind in "fiub":
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update("\x1f".join(map(str, values.tolist())).encode("utf-8"))
    return h.hexdigest()


def prepare_responses(responses: pd.DataFrame | PreparedResponses) -> PreparedResponses:
    """Validate and index a responses frame once for many :func:`sample_verdicts` calls.

    Frames are cached by a fingerprint of their content (8 most recent), so replicate loops
    that pass the same frame again skip the preparation; a changed frame is prepared anew."""
    if isinstance(responses, PreparedResponses):
        return responses
    key = _fingerprint(responses)
    prep = _PREPARED_CACHE.pop(key, None)
    if prep is None:
        prep = PreparedResponses(responses)
    _PREPARED_CACHE[key] = prep  # most recent last
    while len(_PREPARED_CACHE) > _PREPARED_CACHE_SIZE:
        _PREPARED_CACHE.pop(next(iter(_PREPARED_CACHE)))
    return prep


def _rubric_titles(rubric) -> list[str]:
    if rubric is None:
        raise ValueError(
            "protocol 'rubric' needs rubric= (a rubric mapping with sections, or a list of section titles)"
        )
    if isinstance(rubric, Mapping):
        sections = rubric.get("sections") or []
        return [
            str(s.get("title", f"section {i + 1}")) if isinstance(s, Mapping) else str(s)
            for i, s in enumerate(sections)
        ]
    return [str(s) for s in rubric]


def sample_verdicts(
    pairs: pd.DataFrame | None,
    responses: pd.DataFrame | PreparedResponses,
    judges: Iterable[Any],
    orders: Sequence[str] = ("ab", "ba"),
    repeats: int = 1,
    seed: int = 0,
    protocol: str = "pairwise",
    scale: tuple[float, float] = (1, 10),
    rubric: Any = None,
    temperature: float | None = None,
    allow_tie: bool | None = None,
    render: bool = False,
) -> pd.DataFrame:
    """Draw verdicts from the simulated panel's generative model without litellm.

    ``pairs``: ``item_id, response_a, response_b`` (pairwise; order ``ab`` shows
    ``response_a`` first) or ``response_id`` rows / None for every response (single,
    rubric). ``responses``: ``response_id, item_id, generator, family, quality,
    correct, n_words`` (:func:`responses_frame` builds it from a Dataset; missing
    quality is neutral), or :func:`prepare_responses` of it for replicate loops. ``judges``: Judges (or mappings with ``model`` and ``sim``).
    ``seed`` plays the role of the request seed of the provider (a Judge's own
    ``seed``, when set, takes precedence); ``temperature`` / ``allow_tie`` override the
    judges'. At temperature 0 repeats are identical. ``render=True`` also returns the
    exact ``raw_output`` texts of the provider (else None).

    Returns the verdict frame of docs/architecture.md: ``model, backend, judge_version,
    judge_family, protocol, item_id, response_a, response_b, response_id, order,
    sample, choice, winner, score, parse_ok, p_a, p_b, p_tie, margin, raw_output``
    (+ ``verdict`` (recomputed with each Judge's ``pass_threshold`` / ``warn_threshold``, as
    the store does), ``judge_verdict`` (the simulated judge's own, at judgelab.rubric's
    default thresholds), ``sections``, ``p_pass, p_warn, p_fail`` for rubric). The probabilities are the
    closed-form ones of each call; they are NaN where the output failed to parse, as
    the provider returns no logprobs then. Rows: judge x unit x order x sample."""
    if protocol not in _PROTOCOL_CODE:
        raise ValueError(f"protocol must be one of {sorted(_PROTOCOL_CODE)}, not {protocol!r}")
    specs = [_judge_spec(j) for j in judges]
    if not specs:
        raise ValueError("sample_verdicts needs at least one judge")
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, not {repeats}")
    prep = prepare_responses(responses)
    r = prep.frame
    rid_index = prep.index
    rkeys_all = prep.keys

    if protocol == "pairwise":
        if pairs is None:
            raise ValueError("protocol 'pairwise' needs pairs (item_id, response_a, response_b)")
        for o in orders:
            if o not in ("ab", "ba"):
                raise ValueError(f"orders must be 'ab' and/or 'ba', not {o!r}")
        pr = pairs.reset_index(drop=True)
        ia = rid_index.get_indexer(pr["response_a"].astype(str))
        ib = rid_index.get_indexer(pr["response_b"].astype(str))
        bad = (ia < 0) | (ib < 0)
        if bad.any():
            from judgelab.data import DataError

            raise DataError(
                "pairs",
                "response_a/response_b",
                "response id not in responses",
                np.flatnonzero(bad).tolist(),
            )
        n_units, n_orders = len(pr), len(orders)
        item_ids = (
            pr["item_id"].to_numpy(dtype=object) if "item_id" in pr.columns else prep.item_ids[ia]
        )
    else:
        orders = (None,)
        n_orders = 1
        if pairs is None:
            ia = np.arange(len(r))
        else:
            col = "response_id" if "response_id" in pairs.columns else "response_a"
            ia = rid_index.get_indexer(pairs[col].astype(str))
            if (ia < 0).any():
                from judgelab.data import DataError

                raise DataError(
                    "pairs", col, "response id not in responses", np.flatnonzero(ia < 0).tolist()
                )
        ib = ia
        n_units = len(ia)
        item_ids = prep.item_ids[ia]
        lo, hi = int(scale[0]), int(scale[1])
        if protocol == "single" and hi <= lo:
            raise ValueError(f"scale {scale} is empty")
        titles = _rubric_titles(rubric) if protocol == "rubric" else []

    n_j = len(specs)
    per_judge = n_units * n_orders * repeats
    total = n_j * per_judge
    # index arrays: judge x unit x order x sample (C order)
    jidx = np.repeat(np.arange(n_j), per_judge)
    uidx = np.tile(np.repeat(np.arange(n_units), n_orders * repeats), n_j)
    oidx = np.tile(np.repeat(np.arange(n_orders), repeats), n_j * n_units)
    sidx = np.tile(np.arange(repeats), n_j * n_units * n_orders)

    # per-judge scalars broadcast to rows
    def col(key):
        return np.array([s["params"][key] for s in specs], dtype=float)[jidx]

    noise, pos, tie, pfail = (
        col("noise"),
        col("position_bias"),
        col("tie_band"),
        col("parse_failure_rate"),
    )
    temps = np.array(
        [s["temperature"] if temperature is None else float(temperature) for s in specs]
    )[jidx]
    ties_ok = np.array([s["allow_tie"] if allow_tie is None else bool(allow_tie) for s in specs])[
        jidx
    ]
    seeds = np.array(
        [int(s["seed"]) if s["seed"] is not None else int(seed) for s in specs], dtype=np.int64
    )
    seed_rows = seeds.astype(np.uint64)[jidx]
    sample_eff = np.where(temps > 0, sidx, 0).astype(np.uint64)
    jkeys = np.array([_h64("judge:" + s["name"]) for s in specs], dtype=np.uint64)[jidx]

    # perceived quality V_j(r) for every judge and response (n_j x n_resp)
    quality = prep.quality
    fams = []
    vmat = np.empty((n_j, len(r)))
    for j, s in enumerate(specs):
        fam = s["family"] or _judge_family(s["name"], s["params"])
        fams.append(fam)
        vmat[j] = prep.perceived(s["name"], fam, s["params"])

    if protocol == "pairwise":
        swap = np.array([o == "ba" for o in orders])[oidx]
        first = np.where(swap, ib[uidx], ia[uidx])
        second = np.where(swap, ia[uidx], ib[uidx])
        k1, k2 = rkeys_all[first], rkeys_all[second]
    else:
        first = ia[uidx]
        k1, k2 = rkeys_all[first], np.zeros(total, dtype=np.uint64)
    pcode = _PROTOCOL_CODE[protocol]
    u_choice = _uniform(_chain(STREAM_CHOICE, jkeys, seed_rows, sample_eff, pcode, k1, k2))
    u_parse = _uniform(_chain(STREAM_PARSE, jkeys, seed_rows, sample_eff, pcode, k1, k2))
    parse_ok = ~(u_parse < pfail)

    n_resp = len(r)
    rid_cats, rid_tie = prep.rid_cats, prep.rid_tie
    item_cats, item_codes = _categories(np.asarray(item_ids, dtype=object))
    out: dict[str, Any] = {
        "model": _str_col([f"{PROVIDER}/{s['name']}" for s in specs], jidx),
        "backend": _str_col([f"{PROVIDER}:{param_hash(s['params'])[:8]}" for s in specs], jidx),
        "judge_version": _str_col([s["version"] for s in specs], jidx),
        "judge_family": _str_col(fams, jidx),
        "protocol": _str_col([protocol], np.zeros(total, dtype=np.int64)),
        "item_id": _str_col(item_cats, item_codes[uidx]),
    }
    nan = np.full(total, np.nan)
    none = np.full(total, -1, dtype=np.int64)
    raw = None
    if protocol == "pairwise":
        v1, v2 = vmat[jidx, first], vmat[jidx, second]
        pa, pb, pt = pairwise_probabilities(v1 - v2 + pos, tie, noise, ties_ok)
        code = _draw_pairwise(pa, pb, u_choice)
        win = np.where(code == 0, first, np.where(code == 1, second, n_resp))  # n_resp = "tie"
        top1 = np.maximum(np.maximum(pa, pb), pt)
        top2 = pa + pb + pt - top1 - np.minimum(np.minimum(pa, pb), pt)
        out.update(
            response_a=_str_col(rid_cats, ia[uidx]),
            response_b=_str_col(rid_cats, ib[uidx]),
            response_id=_str_col([], none),
            order=_str_col(list(orders), oidx),
            sample=sidx.astype(np.int64),
            choice=_str_col(["A", "B", "tie"], np.where(parse_ok, code, -1)),
            winner=_str_col(rid_tie, np.where(parse_ok, win, -1)),
            score=nan.copy(),
            parse_ok=parse_ok,
            p_a=np.where(parse_ok, pa, np.nan),
            p_b=np.where(parse_ok, pb, np.nan),
            p_tie=np.where(parse_ok, pt, np.nan),
            margin=np.where(parse_ok, top1 - top2, np.nan),
        )
        if render:
            texts = ["".join(_pairwise_parts(c)) for c in range(3)]
            raw = [
                texts[c] if ok else _FAIL_PAIRWISE
                for c, ok in zip(code.tolist(), parse_ok.tolist(), strict=True)
            ]
    else:
        v = vmat[jidx, first]
        out.update(
            response_a=_str_col([], none),
            response_b=_str_col([], none),
            response_id=_str_col(rid_cats, first),
            order=_str_col([], none),
            sample=sidx.astype(np.int64),
            choice=_str_col([], none),
            winner=_str_col([], none),
            parse_ok=parse_ok,
            p_a=nan.copy(),
            p_b=nan.copy(),
            p_tie=nan.copy(),
        )
        if protocol == "single":
            dist = score_probabilities(v, noise, (lo, hi))
            score = _draw_score(dist, u_choice, lo)
            out["score"] = np.where(parse_ok, score.astype(float), np.nan)
            out["margin"] = np.where(parse_ok, _margin(dist), np.nan)
            if render:
                raw = [
                    "".join(_single_parts(sc, lo, hi)) if ok else _FAIL_SINGLE
                    for sc, ok in zip(score.tolist(), parse_ok.tolist(), strict=True)
                ]
        else:
            sec_truth = (
                np.column_stack([prep.sections.get(t, np.full(n_resp, np.nan)) for t in titles])[
                    first
                ]
                if titles
                else np.empty((total, 0))
            )
            vsec = _section_values(quality[first], v - quality[first], sec_truth)
            metrics = _rubric_metrics(vsec, noise, jkeys, seed_rows, sample_eff, k1)
            pp, pw, pf, _ = rubric_probabilities(vsec, noise)
            vcode = _rubric_codes(metrics)  # the simulated judge's own verdict
            thresholds = np.array([[sp["pass_threshold"], sp["warn_threshold"]] for sp in specs])[
                jidx
            ]
            recomputed = _rubric_codes(metrics, thresholds[:, :1], thresholds[:, 1:])
            verdict_names = list(rubric_mod.RUBRIC_VERDICTS)
            out["score"] = np.where(parse_ok, metrics.mean(axis=1) if titles else np.nan, np.nan)
            out["margin"] = np.where(parse_ok, _margin(np.stack([pp, pw, pf], axis=1)), np.nan)
            out["verdict"] = _str_col(verdict_names, np.where(parse_ok, recomputed, -1))
            out["judge_verdict"] = _str_col(verdict_names, np.where(parse_ok, vcode, -1))
            metric_maps = [dict(zip(titles, row, strict=True)) for row in metrics.tolist()]
            out["sections"] = pd.array(
                [
                    json.dumps(m) if ok else None
                    for m, ok in zip(metric_maps, parse_ok.tolist(), strict=True)
                ],
                dtype="str",
            )
            out["p_pass"], out["p_warn"], out["p_fail"] = (
                np.where(parse_ok, x, np.nan) for x in (pp, pw, pf)
            )
            if render:
                raw = [
                    "".join(_rubric_parts(verdict_names[c], m))
                    if ok
                    else _rubric_fail_text(verdict_names[c])
                    for c, m, ok in zip(vcode.tolist(), metric_maps, parse_ok.tolist(), strict=True)
                ]
    out["raw_output"] = pd.array(raw, dtype="str") if raw is not None else _str_col([], none)
    return pd.DataFrame(out)


def _categories(values: np.ndarray) -> tuple[list, np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return [None if pd.isna(u) else str(u) for u in uniques], codes.astype(np.int64)


def _pa_strings(values: Sequence[Any]):
    import pyarrow as pa

    return pa.array(
        [None if c is None else str(c) for c in values] or [None], type=pa.large_string()
    )


def _str_col(categories, codes: np.ndarray):
    """A pandas string column from categories and integer codes (-1 or a None category = null),
    built with one pyarrow ``take``: constructing it from Python objects costs ~50x more."""
    import pyarrow as pa

    codes = np.asarray(codes, dtype=np.int64)
    cats = categories if isinstance(categories, pa.Array) else _pa_strings(categories)
    idx = pa.array(np.where(codes < 0, 0, codes), mask=codes < 0)
    return pd.array(cats.take(idx), dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _rubric_codes(
    metrics: np.ndarray, pass_threshold=RUBRIC_PASS, warn_threshold=RUBRIC_WARN
) -> np.ndarray:
    """Vectorised :func:`judgelab.rubric.aggregate`: 0 pass, 1 warn, 2 fail (RUBRIC_VERDICTS order).
    Thresholds are scalars or (n, 1) columns (one per row)."""
    if metrics.shape[1] == 0:
        return np.full(metrics.shape[0], 2)
    violated = (metrics < warn_threshold).any(axis=1)
    gaps = ((metrics >= warn_threshold) & (metrics < pass_threshold)).sum(axis=1)
    return np.where(violated, 2, np.where(gaps == 0, 0, np.where(gaps == 1, 1, 2)))
