"""Model string -> provider family, declared lineages, and the judge/generator relation.

``family_of("openai/gpt-4o")`` -> ``"openai"``; ``relation(judge, generator)`` is one of
``self`` (same model), ``family`` (same provider family, other model), ``lineage``
(a declared derivation, e.g. vicuna from llama) or ``other``. The simulated judge
``judgelab-sim/<g>`` is ``self`` for generator ``<g>``.

Users override or extend the built-in table with :func:`register_family` and
:func:`register_lineage` (or the ``families=`` / ``lineages=`` arguments).
"""

from __future__ import annotations

import re

__all__ = [
    "family_of",
    "relation",
    "canonical_model",
    "register_family",
    "register_lineage",
    "lineage_of",
    "DEMO_FAMILIES",
    "RELATIONS",
]

RELATIONS = ("self", "family", "lineage", "other")

#: The demo benchmark's fictional generators (no real provider's behaviour is claimed).
DEMO_FAMILIES: dict[str, list[str]] = {
    "aurora": ["aurora-max", "aurora-plus", "aurora-lite"],
    "basalt": ["basalt-xl", "basalt-m", "basalt-s"],
    "cirrus": ["cirrus-ultra", "cirrus-base", "cirrus-nano"],
}

# Ordered: the first pattern that matches the (lower-cased, prefix-stripped) model name wins.
_PATTERNS: list[tuple[str, str]] = [
    (r"^(gpt|o1|o3|o4|chatgpt|text-davinci|davinci|openai)", "openai"),
    (r"^(claude|anthropic)", "anthropic"),
    (r"^(gemini|gemma|palm|bard|bison|google)", "google"),
    (r"^(llama|meta-llama|codellama|vicuna|alpaca|koala|wizardlm|tulu|guanaco)", "meta"),
    (r"^(mistral|mixtral|codestral|ministral|pixtral)", "mistral"),
    (r"^(qwen|qwq)", "qwen"),
    (r"^(deepseek)", "deepseek"),
    (r"^(command|cohere|aya)", "cohere"),
    (r"^(falcon)", "tii"),
    (r"^(phi)", "microsoft"),
    (r"^(grok)", "xai"),
    (r"^(yi-)", "01-ai"),
    (r"^(dbrx)", "databricks"),
    (r"^(olmo)", "allenai"),
]

# Derivations that are not the same provider: fine-tunes of another family's base model.
_BUILTIN_LINEAGES: dict[str, str] = {
    "vicuna": "meta",
    "alpaca": "meta",
    "koala": "meta",
    "wizardlm": "meta",
    "guanaco": "meta",
    "tulu": "meta",
}

_USER_FAMILIES: dict[str, str] = {}
_USER_LINEAGES: dict[str, str] = {}

_PROVIDER_PREFIXES = {
    "openai": "openai",
    "azure": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex_ai": "google",
    "mistral": "mistral",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "xai": "xai",
}


def canonical_model(model: str) -> str:
    """Lower-case model name without routing prefixes (``openai/``, ``judgelab-sim/`` ...)."""
    m = str(model).strip()
    if m.startswith("judgelab-sim/"):
        m = m.split("/", 1)[1]
    # provider/org prefixes: keep the last path component
    m = m.split("/")[-1]
    return m.lower()


def register_family(model_or_prefix: str, family: str) -> None:
    """Declare (or override) the family of a model; matches the exact canonical name or a prefix."""
    _USER_FAMILIES[canonical_model(model_or_prefix)] = family


def register_lineage(model_or_prefix: str, base_family: str) -> None:
    """Declare that a model derives from another family's base model (e.g. vicuna -> meta)."""
    _USER_LINEAGES[canonical_model(model_or_prefix)] = base_family


def _lookup_prefix(table: dict[str, str], name: str) -> str | None:
    if name in table:
        return table[name]
    best = None
    for key, fam in table.items():
        if name.startswith(key) and (best is None or len(key) > len(best[0])):
            best = (key, fam)
    return best[1] if best else None


def family_of(model: str | None, families: dict[str, str] | None = None) -> str | None:
    """Provider family of a model string, or None when unknown.

    Precedence: the ``families`` argument, user registrations, the demo's fictional
    families, the built-in patterns, then a provider prefix such as ``anthropic/``."""
    if model is None or (isinstance(model, float) and model != model):
        return None
    name = canonical_model(model)
    if families:
        fam = _lookup_prefix({canonical_model(k): v for k, v in families.items()}, name)
        if fam:
            return fam
    fam = _lookup_prefix(_USER_FAMILIES, name)
    if fam:
        return fam
    for fam, members in DEMO_FAMILIES.items():
        if name in members:
            return fam
    for pattern, fam in _PATTERNS:
        if re.match(pattern, name):
            return fam
    prefix = str(model).split("/", 1)[0].lower() if "/" in str(model) else None
    if prefix in _PROVIDER_PREFIXES:
        return _PROVIDER_PREFIXES[prefix]
    return None


def lineage_of(model: str, lineages: dict[str, str] | None = None) -> str | None:
    """The family a model derives from (declared lineage), or None."""
    name = canonical_model(model)
    table = {**_BUILTIN_LINEAGES, **_USER_LINEAGES}
    if lineages:
        table.update({canonical_model(k): v for k, v in lineages.items()})
    return _lookup_prefix(table, name)


def _given(family) -> str | None:
    return family if isinstance(family, str) and family else None


def relation(
    judge_model: str,
    generator_model: str,
    judge_family: str | None = None,
    generator_family: str | None = None,
    families: dict[str, str] | None = None,
    lineages: dict[str, str] | None = None,
) -> str:
    """``self`` | ``family`` | ``lineage`` | ``other`` for a judge and a response's generator.

    Explicit families (a judge's declared family, a response's ``family`` column) take
    precedence over the lookup. Lineage holds when one model derives from the other's
    family (vicuna judged by a llama judge, or the reverse) and they are not one family."""
    j, g = canonical_model(judge_model), canonical_model(generator_model)
    if j == g:
        return "self"
    # a missing family is None, NaN or pd.NA depending on how a column was built: all of
    # them (anything but non-empty text) mean "not given", so the lookup decides
    jf = _given(judge_family) or family_of(judge_model, families)
    gf = _given(generator_family) or family_of(generator_model, families)
    jl_, gl = lineage_of(judge_model, lineages), lineage_of(generator_model, lineages)
    # a fine-tune's own family is its base family only through the lineage, not the family
    if jf is not None and jf == gf and not (jl_ or gl):
        return "family"
    if (gl is not None and gl in (jf, jl_)) or (jl_ is not None and jl_ == gf):
        return "lineage"
    if jf is not None and jf == gf:
        return "family"
    return "other"
