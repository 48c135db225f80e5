"""Simulated judges and the ready panels (``demo``: planted biases; ``null``: none)."""

from __future__ import annotations

from typing import Any

from judgelab.sim.model import (
    _BIAS_KEYS,
    _KNOWN_JUDGES,
    PARAM_DEFAULTS,
    PROVIDER,
    RUNTIME_DEFAULTS,
    _judge_family,
    _name_of,
    normalize_params,
)
from judgelab.sim.provider import (
    _register_price,
)

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
# the worst family (cirrus), so that quality cannot pass for it (docs/statistics.md).
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
