"""The demo benchmark: byte-for-byte regeneration, size and the rater-quality guarantee."""

from __future__ import annotations

import filecmp

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

import judgelab as jl
from judgelab.data import demo_data_dir
from judgelab.demo import generate_demo


def test_regeneration_is_byte_for_byte(tmp_path):
    written = generate_demo(tmp_path)
    assert len(written) >= 8
    for p in written:
        committed = demo_data_dir() / p.name
        assert committed.exists(), p.name
        assert filecmp.cmp(p, committed, shallow=False), (
            f"{p.name} differs from the committed demo data"
        )


def test_demo_dataset_contents():
    ds = jl.load_dataset("demo")
    s = ds.validate()
    assert s["items"] >= 150 and s["generators"] == 9 and s["missing_texts"] == 0
    assert ds.responses.groupby("item_id").size().eq(9).all()
    fams = ds.responses.groupby("family")["generator"].nunique()
    assert fams.to_dict() == {"aurora": 3, "basalt": 3, "cirrus": 3}
    assert ds.labels["rater_id"].nunique() == 3 and len(ds.human_pairs()) >= 400
    assert ds.rubric is not None and ds.rubric_labels["response_id"].nunique() >= 150
    t = ds.truth.merge(ds.responses, on="response_id")
    by_family = t.groupby("family")["quality"].mean()
    assert by_family["aurora"] > by_family["basalt"] > by_family["cirrus"]
    assert 0.2 < t["correct"].mean() < 0.95
    # no two generators wrote the same text for an item (the simulated judge reads texts)
    assert not ds.responses.duplicated(["item_id", "text"]).any()


def test_three_rater_majority_agrees_with_truth():
    ds = jl.load_dataset("demo")
    q = dict(zip(ds.truth["response_id"], ds.truth["quality"], strict=True))

    def majority(s: pd.Series):
        counts = s.value_counts()
        return counts.index[0] if counts.iloc[0] >= 2 else None

    maj = (
        ds.preferences.groupby(["item_id", "response_a", "response_b"])["preference"]
        .agg(majority)
        .dropna()
        .reset_index()
    )
    truth = np.where(maj["response_a"].map(q) > maj["response_b"].map(q), "a", "b")
    assert len(maj) >= 400
    assert cohen_kappa_score(maj["preference"], truth) >= 0.85
