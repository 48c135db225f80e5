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

from typing import Any

# generative model -> truth registry -> provider (registers the endpoint) -> panels -> sampler
from judgelab.sim.model import (
    NEUTRAL_QUALITY,
    PARAM_DEFAULTS,
    PROVIDER,
    QUALITY_RANGE,
    RUBRIC_PASS,
    RUBRIC_WARN,
    RUNTIME_DEFAULTS,
    normalize_params,
    pairwise_probabilities,
    param_hash,
    rubric_probabilities,
    rubric_verdict,
    score_probabilities,
)
from judgelab.sim.panels import PANELS, judge, panel
from judgelab.sim.provider import (
    ENDPOINT,
    backend,
    install,
    parse_prompt,
    register,
    request_kwargs,
    simulate_call,
)
from judgelab.sim.sampler import PreparedResponses, prepare_responses, sample_verdicts
from judgelab.sim.truth import (
    TruthRecord,
    clear_registry,
    lookup,
    register_dataset,
    responses_frame,
)

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
__all__ += ["ENDPOINT", "RUBRIC_PASS", "RUBRIC_WARN", "RUNTIME_DEFAULTS", "TruthRecord"]


def __getattr__(name: str) -> Any:  # SimProvider: the litellm class, built on first use
    if name == "SimProvider":
        from judgelab.sim import provider

        return provider.SimProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
