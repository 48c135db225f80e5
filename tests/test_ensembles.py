"""Ensembles and the composition policy (judgelab.ensembles)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import judgelab as jl
from judgelab import ensembles as ens
from judgelab import sim
from judgelab.judges import Judge
from judgelab.stats import entanglement as ent
from judgelab.stats import votes
from judgelab.stats.units import UnitMatrix, unit_matrix


def _um(codes, families=None, items=None, tie_policy="class") -> UnitMatrix:
    codes = np.asarray(codes, dtype=float)
    n, m = codes.shape
    units = pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in (items if items is not None else range(n))],
            "response_a": [f"r{u}a" for u in range(n)],
            "response_b": [f"r{u}b" for u in range(n)],
        }
    )
    return UnitMatrix(
        units=units,
        values=codes,
        judges=[f"j{k}|x|v" for k in range(m)],
        families=families or ["f"] * m,
        kind="nominal",
        order_aggregation="per_call",
        tie_policy=tie_policy,
        protocol="pairwise",
    )


NAN = np.nan


def _spec(name: str, **params) -> dict:
    """A simulated judge for sample_verdicts as a mapping (no litellm import needed)."""
    return {"model": f"judgelab-sim/{name}", "sim": sim.normalize_params(params)}


def test_majority_weighted_unanimity_by_hand():
    um = _um([[0, 0, 1], [0, 1, 2], [1, 1, 1], [NAN, 1, 0], [NAN, NAN, NAN]])
    maj = votes.majority(um)
    assert maj[:4].tolist() == [0, 2, 1, 2] and np.isnan(maj[4])  # split votes are ties
    w = votes.weighted(um, {"j0|x|v": 0.1, "j1|x|v": 0.1, "j2|x|v": 1.0})
    assert w[:4].tolist() == [1, 2, 1, 0]
    verdict, decided = votes.unanimity(um)
    assert decided.tolist() == [False, False, True, False, False]
    assert verdict[2] == 1 and np.isnan(verdict[0])
    drop = _um([[0, 1]], tie_policy="drop")
    assert np.isnan(votes.majority(drop)[0])  # no tie class: a split vote is undecided


def test_vote_share_and_low_margin():
    um = _um([[0, 0, 1, 0], [0, 1, 2, 2], [1, 1, 1, 1]])
    vs = votes.vote_share(um, threshold=0.7)
    assert vs["vote_share"].tolist() == [0.75, 0.5, 1.0]
    assert vs["verdict"].tolist() == ["a", "tie", "b"]
    assert vs["winner"].tolist() == ["r0a", "tie", "r2b"]
    assert vs["low_margin"].tolist() == [False, True, False]
    vw = votes.vote_share(um, weights={"j0|x|v": 3.0, "j1|x|v": 1.0})
    assert vw["vote_share"].iloc[1] == pytest.approx(0.75)


def test_review_queue_rows_are_the_disagreement_units(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, size=60).astype(float)
    codes = np.column_stack([np.where(rng.random(60) < 0.15, 1 - base, base) for _ in range(3)])
    codes[5, 1] = NAN
    um = _um(codes)
    path = tmp_path / "review_queue.csv"
    q = ens.review_queue(um)
    assert not path.exists()  # the analysis returns the queue; the caller writes it
    q.to_csv(path, index=False)
    disagree = ~np.all(
        codes == codes[:, :1], axis=1
    )  # nan != anything: missing counts as not decided
    assert len(q) == int(disagree.sum())
    assert set(q["response_a"]) == {f"r{u}a" for u in np.flatnonzero(disagree)}
    assert (q["reason"] == "missing verdict").sum() == 1
    back = pd.read_csv(path)
    assert len(back) == len(q) and {"votes_a", "votes_b", "vote_share", "j0|x|v"} <= set(
        back.columns
    )


def test_weights_fitted_on_calibration_half_only():
    rng = np.random.default_rng(1)
    n = 200
    human = rng.integers(0, 2, size=n).astype(float)
    codes = np.column_stack(
        [np.where(rng.random(n) < p, 1 - human, human) for p in (0.1, 0.3, 0.45)]
    )
    um = _um(codes, items=np.arange(n) // 2)
    cal = ens.calibration_split(um, seed=5)
    assert 0.4 < cal.mean() < 0.6
    # both units of an item fall on the same side
    side = pd.Series(cal).groupby(um.units["item_id"]).nunique()
    assert (side == 1).all()
    w = ens.fit_weights(um, human, cal)
    # scrambling the held-out half changes nothing; scrambling the calibration half does
    scr = codes.copy()
    scr[~cal] = rng.integers(0, 3, size=((~cal).sum(), 3))
    assert ens.fit_weights(_um(scr, items=np.arange(n) // 2), human, cal) == w
    scr2 = codes.copy()
    scr2[cal] = rng.integers(0, 3, size=(cal.sum(), 3))
    assert ens.fit_weights(_um(scr2, items=np.arange(n) // 2), human, cal) != w
    # weight = max(0, kappa vs humans) on the calibration units
    from sklearn.metrics import cohen_kappa_score

    k0 = cohen_kappa_score(codes[cal, 0], human[cal])
    assert w["j0|x|v"] == pytest.approx(max(0.0, k0), abs=1e-12)


def test_outlier_counts_by_hand():
    um = _um([[0, 0, 1], [0, 1, 2], [1, 1, 1], [0, 0, NAN]])
    dis, alone = ens.outlier_counts(um)
    assert dis.tolist() == [[True, True, True], [True, True, True], [False] * 3, [False] * 3]
    assert alone.tolist() == [[False, False, True], [False] * 3, [False] * 3, [False] * 3]


def test_check_composition_refuses_and_warns():
    same = [Judge(model=f"judgelab-sim/{n}") for n in ("aurora-max", "aurora-plus", "aurora-lite")]
    with pytest.raises(ens.CompositionError, match="single|family 'aurora'"):
        ens.check_composition(same, ["basalt-xl"], purpose="launch")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ens.check_composition(same, ["basalt-xl"], purpose="exploration")
    assert not any(issubclass(x.category, ens.CompositionWarning) for x in w)
    mixed = [*same[:2], Judge(model="judgelab-sim/basalt-xl")]
    with pytest.warns(ens.CompositionWarning, match="not a minority"):
        out = ens.check_composition(mixed, ["aurora-max"], purpose="launch")
    assert out["candidates"]["aurora-max"]["share"] == pytest.approx(2 / 3)
    balanced = [Judge(model=f"judgelab-sim/{n}") for n in sim.PANELS["null"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all: each family is a third
        res = ens.check_composition(balanced, ["aurora-max", "cirrus-nano"])
    assert res["families"] == {"aurora": 3, "basalt": 3, "cirrus": 3}
    # identity strings and mappings work too
    with pytest.raises(ens.CompositionError):
        ens.check_composition(
            ["judgelab-sim/basalt-xl|b|v", {"model": "judgelab-sim/basalt-m"}], []
        )


@pytest.fixture(scope="module")
def demo():
    ds = jl.load_dataset("demo")
    return ds, sim.responses_frame(ds), ds.pairs("human")


def test_ensemble_findings_on_the_panel(demo, tmp_path):
    ds, resp, pairs = demo
    judges = [_spec(n, **{**p, "family_taste": 1.0}) for n, p in sim.PANELS["null"].items()]
    v = sim.sample_verdicts(pairs, resp, judges, seed=4)
    um = unit_matrix(v)
    rep = ens.ensemble_findings(um, ds, n_boot=200, seed=0, review_queue_path=tmp_path / "rq.csv")
    f = rep.findings
    given = ens.ensemble_findings(
        um, ds, n_boot=200, seed=0, review_queue_path=tmp_path / "rq.csv",
        ref=ent.reference_labels(um, ds),
    )  # fmt: skip
    pd.testing.assert_frame_equal(given.findings, f, check_exact=True)
    assert set(f["id"]) == {
        "ensemble_accuracy",
        "ensemble_coverage",
        "ensemble_accuracy_difference",
        "outlier_rate",
    }
    diff = f[f["id"] == "ensemble_accuracy_difference"].iloc[0]
    assert (
        diff["primary"]
        and diff["n_same_family_ensembles"] == 3
        and diff["n_cross_family_ensembles"] == 27
    )
    # the estimate is the paired difference of the per-unit mean accuracies
    pu = rep.per_unit_correct.dropna(subset=["same_family_mean"])
    assert diff["estimate"] == pytest.approx(
        (pu["cross_family_mean"] - pu["same_family_mean"]).mean(), abs=1e-12
    )
    assert diff["estimate"] > 0  # shared family taste hurts same-family majorities
    cov = f[f["id"] == "ensemble_coverage"].iloc[0]
    _, decided = votes.unanimity(um)
    assert cov["estimate"] == pytest.approx(decided.mean())
    assert len(rep.review_queue) == int((~decided).sum()) == cov["n_review"]
    assert cov["review_queue"] == str(tmp_path / "rq.csv")
    assert not (tmp_path / "rq.csv").exists()  # the caller writes the queue
    # the weighted vote is scored on held-out units only
    wrow = f[
        f["slice"].map(lambda s: isinstance(s, dict) and s["ensemble"].startswith("weighted"))
    ].iloc[0]
    cal = ens.calibration_split(um, seed=0)
    ref, _ = ent.reference_labels(um, ds)
    assert wrow["n"] == int((~cal & ~np.isnan(ref)).sum())
    assert {"inter_judge_kappa", "ensemble_vs_human_kappa"} <= set(rep.agreement.columns)
    assert (f[f["id"] == "outlier_rate"]["judge"].tolist()) == um.judges


def test_single_family_panel_gives_reasons_not_exceptions(demo):
    ds, resp, pairs = demo
    v = sim.sample_verdicts(
        pairs.head(40), resp, [_spec("aurora-max"), _spec("aurora-lite")], seed=0
    )
    rep = ens.ensemble_findings(v, ds, n_boot=50)
    d = rep.findings[rep.findings["id"] == "ensemble_accuracy_difference"].iloc[0]
    assert pd.isna(d["estimate"]) and "two families" in d["reason"]
