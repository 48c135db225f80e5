from __future__ import annotations

import pandas as pd
import pytest

from judgelab import families as fam


@pytest.mark.parametrize(
    "model, family",
    [
        ("openai/gpt-4o-mini", "openai"),
        ("gpt-3.5-turbo", "openai"),
        ("anthropic/claude-3-5-sonnet", "anthropic"),
        ("claude-v1", "anthropic"),
        ("gemini/gemini-1.5-pro", "google"),
        ("palm-2", "google"),
        ("meta-llama/Llama-3-70b-instruct", "meta"),
        ("mistral/mistral-large", "mistral"),
        ("mixtral-8x7b", "mistral"),
        ("qwen2.5-72b", "qwen"),
        ("deepseek-chat", "deepseek"),
        ("command-r-plus", "cohere"),
        ("falcon-180b", "tii"),
        ("aurora-max", "aurora"),
        ("judgelab-sim/cirrus-nano", "cirrus"),
        ("totally-unknown-model", None),
    ],
)
def test_family_of(model, family):
    assert fam.family_of(model) == family


def test_relations():
    assert fam.relation("judgelab-sim/aurora-max", "aurora-max") == "self"
    assert fam.relation("judgelab-sim/aurora-max", "aurora-lite") == "family"
    assert fam.relation("judgelab-sim/aurora-max", "basalt-s") == "other"
    assert fam.relation("openai/gpt-4o", "gpt-4o") == "self"
    assert fam.relation("gpt-4", "gpt-3.5-turbo") == "family"
    assert fam.relation("llama-2-70b", "vicuna-13b") == "lineage"
    assert fam.relation("vicuna-13b", "llama-13b") == "lineage"
    assert fam.relation("gpt-4", "vicuna-13b") == "other"
    assert fam.relation("claude-v1", "gpt-4") == "other"


def test_user_mapping_overrides_and_declared_families():
    assert fam.family_of("acme-1", families={"acme": "acme-labs"}) == "acme-labs"
    assert fam.family_of("gpt-4", families={"gpt-4": "custom"}) == "custom"
    # a response's declared family wins over the lookup
    assert fam.relation("m1", "m2", judge_family="x", generator_family="x") == "family"
    fam.register_family("zeta-", "zeta")
    fam.register_lineage("zeta-chat", "openai")
    try:
        assert fam.family_of("zeta-large") == "zeta"
        assert fam.relation("gpt-4", "zeta-chat") == "lineage"
    finally:
        fam._USER_FAMILIES.clear()
        fam._USER_LINEAGES.clear()


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, ""])
def test_a_missing_family_is_looked_up_however_it_is_stored(missing):
    # a column's missing value is None, NaN or pd.NA depending on how it was built: the same
    # data must give the same relation (NaN was truthy, so it read as a family of its own)
    assert fam.relation("gpt-4", "gpt-3.5-turbo", judge_family=missing) == "family"
    assert fam.relation("gpt-4", "gpt-3.5-turbo", generator_family=missing) == "family"
    assert fam.relation("gpt-4", "claude-v1", judge_family=missing) == "other"
