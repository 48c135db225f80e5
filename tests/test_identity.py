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
        ids[1]: ids[1],
        ids[2]: ids[2],
    }
    records = [{"model": "judgelab-sim/aurora-mini", "backend": "s", "judge_version": "v1"}]
    assert short_labels(records, drop_sim_prefix=False) == {ids[0]: "judgelab-sim/aurora-mini"}
