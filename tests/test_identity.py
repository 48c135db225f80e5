"""judgelab.identity: JudgeIdentity prints exactly today's identity strings and parses them back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from judgelab.identity import (
    JudgeIdentity,
    identities_table,
    identity_string,
    identity_strings,
    model_of,
    short_labels,
)


@pytest.mark.parametrize(
    "parts",
    [
        ("judgelab-sim/aurora-mini", "judgelab-sim:0123abcd", "aurora-mini-0123456789ab"),
        ("GPT-4", "published", "llmbar-Vanilla"),
        ("gpt-4o", None, None),
        ("a|b", "router:x", "v1"),  # a model with the separator still round-trips
    ],
)
def test_str_is_the_identity_string_and_parse_inverts_it(parts):
    ident = JudgeIdentity(*parts)
    assert str(ident) == identity_string(*parts)
    assert JudgeIdentity.parse(str(ident)) == ident
    assert JudgeIdentity.from_record(dict(ident.as_record())) == ident


def test_identity_strings_write_each_row_with_the_one_rule():
    v = pd.DataFrame(
        {
            "model": ["m", "m", "n"],
            "backend": pd.Series([None, "b", "b"], dtype=object),
            "judge_version": pd.Series(["v", np.nan, "v"], dtype=object),
        }
    ).set_axis([5, 6, 7])
    got = identity_strings(v)
    assert got.tolist() == ["m|None|v", "m|b|nan", "n|b|v"] and got.index.tolist() == [5, 6, 7]
    # an absent column reads None
    assert identity_strings(v[["model"]]).tolist() == ["m|None|None"] * 2 + ["n|None|None"]
    assert identity_string("m", "b", "v") == "m|b|v" == str(JudgeIdentity("m", "b", "v"))
    assert identity_strings(v.iloc[:0]).empty


def test_model_of_reads_identity_strings_and_bare_models():
    assert model_of("a|b|router:x|v1") == "a|b"  # the model is all before the last two parts
    assert model_of("judgelab-sim/aurora-max|s|v") == "judgelab-sim/aurora-max"
    assert model_of("gpt-4o") == "gpt-4o"


def test_parse_refuses_what_is_not_an_identity():
    with pytest.raises(ValueError, match="not an identity string"):
        JudgeIdentity.parse("gpt-4o")


def test_from_frame_and_table_list_identities_in_the_same_order():
    v = pd.DataFrame(
        {
            "model": ["m2", "m1", "m1", "m2"],
            "backend": ["b", "b", "b", "b"],
            "judge_version": ["v1", "v2", "v1", "v1"],
            "parse_ok": [True, False, True, True],
        }
    )
    ids = JudgeIdentity.from_frame(v)
    assert [str(i) for i in ids] == ["m1|b|v1", "m1|b|v2", "m2|b|v1"]
    table = identities_table(v)
    assert table["judge"].tolist() == [str(i) for i in ids]
    assert table["n"].tolist() == [1, 1, 2] and table["n_parsed"].tolist() == [1, 0, 2]
    assert JudgeIdentity.from_frame(v.iloc[:0]) == [] and identities_table(None).empty


def test_short_labels_are_the_model_unless_two_identities_share_it():
    ids = [
        "judgelab-sim/aurora-mini|s|v1",
        "judgelab-sim/basalt-s|s|v1",
        "judgelab-sim/basalt-s|s|v2",
    ]
    assert short_labels(ids) == {
        ids[0]: "aurora-mini",
        ids[1]: "basalt-s · v1",
        ids[2]: "basalt-s · v2",
    }
    records = [{"model": "judgelab-sim/aurora-mini", "backend": "s", "judge_version": "v1"}]
    assert short_labels(records, drop_sim_prefix=False) == {ids[0]: "judgelab-sim/aurora-mini"}


LLMBAR_STRATEGIES = [
    "Vanilla", "Vanilla_NoRules", "Vanilla_1shot", "Vanilla_2shot", "CoT", "Swap", "Swap_CoT",
    "Metrics", "Reference", "Metrics_Reference", "Rating", "Rating_NoRules", "Rating_Metrics",
    "Rating_Reference", "Rating_Metrics_Reference",
]  # fmt: skip


def test_short_labels_of_one_model_under_many_judge_versions_name_the_strategy():
    # LLMBar: 15 prompting strategies of one model, each its own judge_version
    ids = [f"GPT-4|published|llmbar-{s}" for s in LLMBAR_STRATEGIES] + [
        "ChatGPT|published|llmbar-CoT"
    ]
    labels = short_labels(ids)
    assert labels["GPT-4|published|llmbar-CoT"] == "GPT-4 · CoT"
    assert labels["GPT-4|published|llmbar-Vanilla"] == "GPT-4 · Vanilla"
    assert labels["GPT-4|published|llmbar-Vanilla_NoRules"] == "GPT-4 · Vanilla_NoRules"
    assert labels["ChatGPT|published|llmbar-CoT"] == "ChatGPT"  # its model is unique
    assert len(set(labels.values())) == len(ids)
    assert all("|" not in label and "llmbar-" not in label for label in labels.values())


def test_short_labels_pick_the_shorter_distinguishing_part_and_cut_hashes():
    # a Router fallback: same model and judge_version, the backend tells them apart
    fallback = ["gpt-4o|router:openai|v1", "gpt-4o|router:azure|v1"]
    assert short_labels(fallback) == {fallback[0]: "gpt-4o · openai", fallback[1]: "gpt-4o · azure"}
    # a prompt revision: judge_version hashes after a shared model prefix, cut to 7+ characters
    revised = [
        "judgelab-sim/aurora-mini|s|aurora-mini-0123456789ab",
        "judgelab-sim/aurora-mini|s|aurora-mini-fedcba987654",
    ]
    assert short_labels(revised) == {
        revised[0]: "aurora-mini · 0123456",
        revised[1]: "aurora-mini · fedcba9",
    }
    hashes = ["m|s|0123456789ab", "m|s|0123456fffff"]  # longer where 7 do not tell them apart
    assert short_labels(hashes) == {hashes[0]: "m · 01234567", hashes[1]: "m · 0123456f"}
    # neither part alone distinguishes: both are named
    both = ["m|a|v1", "m|b|v1", "m|a|v2"]
    assert short_labels(both) == {
        both[0]: "m · a · v1",
        both[1]: "m · b · v1",
        both[2]: "m · a · v2",
    }


def test_short_labels_keep_models_apart_that_print_alike_without_the_sim_prefix():
    ids = ["judgelab-sim/g|s|v", "g|s|v"]
    assert short_labels(ids) == {ids[0]: "judgelab-sim/g", ids[1]: "g"}
    # a value that is all shared prefix still leaves distinct labels
    odd = ["m|s|a-", "m|s|a-a-"]
    labels = short_labels(odd)
    assert len(set(labels.values())) == 2 and all(v.startswith("m · ") for v in labels.values())
