"""The scale benchmark's generated data (benchmarks/studies_scale.py) at a tiny size: it loads,
validates, is reproducible and a study's analysis runs on it (the benchmark itself is not run
by tests)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

import judgelab as jl

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "studies_scale.py"


def _bench():
    spec = importlib.util.spec_from_file_location("studies_scale", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_verdicts_load_validate_and_position_bias_runs(tmp_path):
    bench = _bench()
    ds_dir, vfile, meta = bench.dataset_files(2000, 0, tmp_path)
    assert meta["rows"]["verdicts"] == 2016  # 28 items x 9 judges x 4 pairs x 2 orders
    again = bench.generate(2000, 0)["verdicts"]
    pd.testing.assert_frame_equal(pd.read_parquet(vfile), again)  # seeded and reproducible

    ctx = jl.studies.prepare(
        "position_bias", dataset=str(ds_dir), verdicts=str(vfile), judges=None, n_boot=50
    )
    assert len(ctx.identities) == 9 and set(ctx.identities["judge_family"]) == {
        "aurora",
        "basalt",
        "cirrus",
    }
    assert len(ctx.verdicts) == 2016
    # every judge meets its own answers, its family's and the other families'
    hp = ctx.dataset.human_pairs()
    assert len(hp) == 28 * 4 and len(ctx.dataset.preferences) == 3 * len(hp)

    from judgelab.stats import position

    f = position.position_findings(ctx.verdicts, ctx.dataset, n_boot=50, n_perm=99, seed=0)
    primary = f[f["id"] == "first_slot_share"]
    assert len(primary) == 9 and primary["estimate"].notna().all()
