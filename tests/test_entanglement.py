"""Family entanglement statistics (judgelab.stats.entanglement).

Reference checks: kappa against scikit-learn, alpha against the krippendorff package,
phi against numpy.corrcoef, on random inputs. Simulation checks (judgelab.sim.sample_verdicts,
9 judges in 3 families): planted family taste gives positive gaps with CIs above 0; the
null panel does not."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

import judgelab as jl
from judgelab import sim
from judgelab.stats import entanglement as ent
from judgelab.stats.errors import DataError
from judgelab.stats.family_gap import family_label_assignments
from judgelab.stats.judge_pairs import error_matrix, pair_table
from judgelab.stats.units import UnitMatrix, unit_matrix

N_BOOT = 300


def _spec(name: str, **params) -> dict:
    """A simulated judge for sample_verdicts as a mapping (no litellm import needed)."""
    return {"model": f"judgelab-sim/{name}", "sim": sim.normalize_params(params)}


def _frame_from_codes(codes: np.ndarray, items: np.ndarray, families: list[str]) -> pd.DataFrame:
    """Tidy pairwise verdicts from a (units, judges) matrix of codes 0/1/2 (nan = unparsed)."""
    rows = []
    for u in range(codes.shape[0]):
        ra, rb = f"r{u:04d}a", f"r{u:04d}b"
        for j in range(codes.shape[1]):
            c = codes[u, j]
            rows.append(
                {
                    "model": f"judge{j}",
                    "backend": "x",
                    "judge_version": "v",
                    "judge_family": families[j],
                    "protocol": "pairwise",
                    "item_id": f"i{items[u]}",
                    "response_a": ra,
                    "response_b": rb,
                    "order": "ab",
                    "sample": 0,
                    "choice": None if np.isnan(c) else ["A", "B", "tie"][int(c)],
                    "winner": None,
                    "parse_ok": not np.isnan(c),
                }
            )
    return pd.DataFrame(rows)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(8, 60), missing=st.floats(0, 0.3))
def test_pairwise_kappa_and_alpha_match_references(seed, n, missing):
    rng = np.random.default_rng(seed)
    m = 3
    codes = rng.integers(0, 3, size=(n, m)).astype(float)
    # correlate judge 1 with judge 0 so kappa is not always ~0
    codes[:, 1] = np.where(rng.random(n) < 0.6, codes[:, 0], codes[:, 1])
    codes[rng.random((n, m)) < missing] = np.nan
    items = rng.integers(0, max(2, n // 3), size=n)
    um = unit_matrix(
        _frame_from_codes(codes, items, ["f", "f", "g"]),
        judges=["judge0|x|v", "judge1|x|v", "judge2|x|v"],
    )
    pt = pair_table(um)
    for r in pt.itertuples():
        i, j = int(r.judge_i[5]), int(r.judge_j[5])
        both = ~(np.isnan(codes[:, i]) | np.isnan(codes[:, j]))
        a, b = codes[both, i], codes[both, j]
        assert r.n_units == both.sum()
        if both.sum() == 0:
            assert pd.isna(r.kappa) and pd.isna(r.alpha)
            continue
        ref_k = (
            cohen_kappa_score(a, b, labels=[0.0, 1.0, 2.0])
            if len(np.unique(np.r_[a, b])) > 1
            else np.nan
        )
        if np.isnan(ref_k):
            assert pd.isna(r.kappa)
        else:
            assert r.kappa == pytest.approx(ref_k, abs=1e-9)
        if len(np.unique(np.r_[a, b])) > 1 and both.sum() > 1:
            ref_a = krippendorff.alpha(
                reliability_data=np.vstack([a, b]), level_of_measurement="nominal"
            )
            assert r.alpha == pytest.approx(ref_a, abs=1e-9)


def test_interval_alpha_and_weighted_kappa_on_scores():
    rng = np.random.default_rng(3)
    n_resp = 80
    true = rng.integers(1, 11, size=n_resp)
    rows = []
    scores = {}
    for j in range(3):
        s = np.clip(true + rng.integers(-2, 3, size=n_resp), 1, 10).astype(float)
        s[rng.random(n_resp) < 0.1] = np.nan
        scores[j] = s
        for k in range(n_resp):
            rows.append(
                dict(
                    model=f"judge{j}",
                    backend="x",
                    judge_version="v",
                    judge_family="f" if j < 2 else "g",
                    protocol="single",
                    item_id=f"i{k // 4}",
                    response_id=f"r{k:03d}",
                    order=None,
                    sample=0,
                    score=s[k],
                    parse_ok=not np.isnan(s[k]),
                )
            )
    um = unit_matrix(pd.DataFrame(rows), judges=[f"judge{j}|x|v" for j in range(3)])
    assert um.kind == "interval"
    for r in pair_table(um).itertuples():
        i, j = int(r.judge_i[5]), int(r.judge_j[5])
        both = ~(np.isnan(scores[i]) | np.isnan(scores[j]))
        a, b = scores[i][both], scores[j][both]
        ref_a = krippendorff.alpha(
            reliability_data=np.vstack([a, b]), level_of_measurement="interval"
        )
        assert r.alpha == pytest.approx(ref_a, abs=1e-9)
        # quadratic weights on score values: sklearn with the full label range
        ref_k = cohen_kappa_score(a, b, weights="quadratic", labels=np.unique(np.r_[a, b]))
        labels = np.unique(np.r_[scores[0], scores[1], scores[2]])
        labels = labels[~np.isnan(labels)]
        if np.array_equal(labels, np.arange(labels.min(), labels.max() + 1)):
            ref_k = cohen_kappa_score(a, b, weights="quadratic", labels=labels)
            assert r.kappa == pytest.approx(ref_k, abs=1e-9)


def test_error_phi_matches_numpy_corrcoef_and_null_without_errors():
    rng = np.random.default_rng(7)
    n = 200
    truth = rng.integers(0, 2, size=n).astype(float)
    codes = np.stack(
        [np.where(rng.random(n) < p, 1 - truth, truth) for p in (0.2, 0.3, 0.25)], axis=1
    )
    codes = np.column_stack([codes, truth])  # judge 3 never errs
    um = unit_matrix(
        _frame_from_codes(codes, np.arange(n) // 3, ["f", "f", "g", "g"]),
        judges=[f"judge{j}|x|v" for j in range(4)],
    )
    err = error_matrix(um, truth)
    pt = pair_table(um, err)
    for r in pt.itertuples():
        i, j = int(r.judge_i[5]), int(r.judge_j[5])
        ei, ej = (codes[:, i] != truth).astype(float), (codes[:, j] != truth).astype(float)
        if 3 in (i, j):
            assert pd.isna(r.error_phi) and "made no errors" in r.error_phi_reason
        else:
            assert r.error_phi == pytest.approx(np.corrcoef(ei, ej)[0, 1], abs=1e-9)


def test_family_label_assignments_count_and_distinct():
    a, n, full = family_label_assignments(["x", "x", "y", "y", "z", "z"])
    assert full and n == 15 and len(a) == 15
    parts = {frozenset(frozenset(np.flatnonzero(row == b)) for b in set(row)) for row in a}
    assert len(parts) == 15
    a, n, full = family_label_assignments(["x"] * 3 + ["y"] * 3 + ["z"] * 3)
    assert full and n == 280 and len(a) == 280
    a, n, full = family_label_assignments(["x"] * 4 + ["y"] * 2)
    assert n == 15 and len(a) == 15  # 6! / (4! 2!)


def test_units_order_aggregation_and_winner_mapping():
    base = dict(
        model="m",
        backend="x",
        judge_version="v",
        judge_family="f",
        protocol="pairwise",
        item_id="i1",
        sample=0,
        parse_ok=True,
    )
    rows = [
        # stored as (b1, a1): canonical pair is (a1, b1)
        {
            **base,
            "response_a": "b1",
            "response_b": "a1",
            "order": "ab",
            "choice": "A",
            "winner": None,
        },  # b1 wins
        {
            **base,
            "response_a": "b1",
            "response_b": "a1",
            "order": "ba",
            "choice": "A",
            "winner": None,
        },  # a1 shown first wins
    ]
    v = pd.DataFrame(rows)
    per_call = unit_matrix(v)
    assert len(per_call.units) == 2
    got = dict(zip(per_call.units["shown_first"], per_call.values[:, 0], strict=True))
    assert got == {"b1": 1.0, "a1": 0.0}
    first = unit_matrix(v, order_aggregation="first_order")
    assert first.values[:, 0].tolist() == [1.0]
    cons = unit_matrix(v, order_aggregation="consistent_only")
    assert cons.values[:, 0].tolist() == [2.0]  # inconsistent -> tie
    dropped = unit_matrix(v, order_aggregation="consistent_only", tie_policy="drop")
    assert len(dropped.units) == 0
    with pytest.raises(ValueError, match="tie_policy"):
        unit_matrix(v, tie_policy="half")
    bad = v.assign(winner="zz")
    with pytest.raises(DataError, match="winner"):  # judgelab.DataError once data re-exports it
        unit_matrix(bad)


def test_unit_matrix_rules_winner_choice_repeats_and_families():
    """One winner rule (stored winner first, else choice through the order, any case), one
    repeats rule (modal verdict, even split = tie) and one family fill per identity."""
    from judgelab.stats import units

    base = dict(backend="x", judge_version="v", protocol="pairwise", item_id="i1", parse_ok=True)
    rows = [
        # judge j1: winner stored -> it wins over a contradicting choice
        {**base, "model": "j1", "response_a": "r2", "response_b": "r1", "order": "ab",
         "sample": 0, "choice": "A", "winner": "r1", "judge_family": None},
        # judge j2: lower-case choice, repeats split evenly -> tie
        {**base, "model": "j2", "response_a": "r2", "response_b": "r1", "order": "ab",
         "sample": 0, "choice": "a", "winner": None, "judge_family": ""},
        {**base, "model": "j2", "response_a": "r2", "response_b": "r1", "order": "ab",
         "sample": 1, "choice": "b", "winner": None, "judge_family": "fam2"},
        # judge j3: 'C' is a tie; two of three repeats say B -> r1 (= lo) wins
        {**base, "model": "j3", "response_a": "r2", "response_b": "r1", "order": "ab",
         "sample": 0, "choice": "C", "winner": None, "judge_family": None},
        {**base, "model": "j3", "response_a": "r2", "response_b": "r1", "order": "ab",
         "sample": 1, "choice": "B", "winner": None, "judge_family": None},
        {**base, "model": "j3", "response_a": "r2", "response_b": "r1", "order": "ab",
         "sample": 2, "choice": "B", "winner": None, "judge_family": None},
    ]  # fmt: skip
    um = units.unit_matrix(pd.DataFrame(rows), families={"j3": "fam3"})
    assert um.units[["response_a", "response_b", "shown_first"]].values.tolist() == [
        ["r1", "r2", "r2"]
    ]
    got = dict(zip(um.judges, um.values[0], strict=True))
    assert got == {"j1|x|v": 0.0, "j2|x|v": 2.0, "j3|x|v": 0.0}
    fams = dict(zip(um.judges, um.families, strict=True))
    assert fams["j2|x|v"] == "fam2" and fams["j3|x|v"] == "fam3"
    assert UnitMatrix is units.UnitMatrix and ent.unit_matrix is units.unit_matrix


def test_reference_truth_and_unanimous_humans():
    ds = jl.load_dataset("demo")
    pairs = ds.pairs("human").head(60)
    v = sim.sample_verdicts(
        pairs, sim.responses_frame(ds), [_spec("aurora-max", noise=0.3)], seed=0
    )
    um = unit_matrix(v)
    ref, src = ent.reference_labels(um, ds, "truth")
    q = dict(zip(ds.truth["response_id"], ds.truth["quality"], strict=True))
    expect = np.where(um.units["response_a"].map(q) > um.units["response_b"].map(q), 0.0, 1.0)
    assert np.array_equal(ref, expect) and src.startswith("truth")
    href, hsrc = ent.reference_labels(um, ds, "human", min_raters=2)
    assert "all raters agree" in hsrc
    # independent recomputation: winners (response id or tie) of every vote, by unordered pair
    votes: dict = {}
    for x in ds.preferences.itertuples():
        w = (
            "tie"
            if x.preference == "tie"
            else (x.response_a if x.preference == "a" else x.response_b)
        )
        votes.setdefault((x.item_id, frozenset((x.response_a, x.response_b))), []).append(w)
    for u, r in zip(um.units.itertuples(), href, strict=True):
        ws = votes.get((u.item_id, frozenset((u.response_a, u.response_b))), [])
        if len(ws) >= 2 and len(set(ws)) == 1:
            assert r == (2.0 if ws[0] == "tie" else (0.0 if ws[0] == u.response_a else 1.0))
        else:
            assert np.isnan(r)


@pytest.fixture(scope="module")
def demo():
    ds = jl.load_dataset("demo")
    return ds, sim.responses_frame(ds), ds.pairs("human")


def _panel(taste: float):
    return [_spec(name, **{**p, "family_taste": taste}) for name, p in sim.PANELS["null"].items()]


def _primary(f: pd.DataFrame, fid: str) -> pd.Series:
    r = f[(f["id"] == fid) & f["primary"].astype(bool)]
    assert len(r) == 1
    return r.iloc[0]


def test_planted_family_taste_gives_positive_gaps(demo):
    ds, resp, pairs = demo
    v = sim.sample_verdicts(pairs, resp, _panel(0.8), seed=11)
    f = ent.entanglement_findings(v, ds, n_boot=N_BOOT, seed=1)
    for fid in ("alpha_gap", "error_correlation_gap"):
        r = _primary(f, fid)
        assert r["estimate"] > 0 and r["ci_low"] > 0, (fid, r.to_dict())
        assert r["p_value"] < 0.05
        perm = f[(f["id"] == fid) & ~f["primary"].astype(bool)].iloc[0]
        assert perm["n_assignments"] == 280 and perm["p_value"] <= 0.01
    eff = f[f["id"] == "effective_independent_judges"].iloc[0]
    pt_phi = f[f["id"] == "pairwise_kappa"]["error_phi"].astype(float)
    assert eff["estimate"] == pytest.approx(9 / (1 + 8 * pt_phi.mean()), rel=1e-9)
    # the caller's reference labels (ref=) give the same findings; labels of another unit
    # matrix are refused
    um = unit_matrix(v)
    ref = ent.reference_labels(um, ds)
    again = ent.entanglement_findings(um, ds, n_boot=N_BOOT, seed=1, ref=ref)
    pd.testing.assert_frame_equal(again, f, check_exact=True)
    with pytest.raises(ValueError, match="labels for"):
        ent.entanglement_findings(um, ds, n_boot=N_BOOT, seed=1, ref=(ref[0][:-1], ref[1]))


def test_null_panel_gaps_not_flagged(demo):
    ds, resp, pairs = demo
    v = sim.sample_verdicts(pairs, resp, _panel(0.0), seed=12)
    f = ent.entanglement_findings(v, ds, n_boot=N_BOOT, seed=2)
    for fid in ("alpha_gap", "error_correlation_gap"):
        r = _primary(f, fid)
        assert not r["ci_low"] > 0, (fid, r.to_dict())
        assert r["p_value"] >= 0.05  # one-sided: H1 within > across
        assert r["mde"] > 0 and "could detect" in r["conclusion"]


def test_gap_point_estimates_equal_pair_table_means(demo):
    ds, resp, pairs = demo
    v = sim.sample_verdicts(
        pairs.head(150), resp, [_spec(n, **p) for n, p in sim.PANELS["demo"].items()], seed=3
    )
    um = unit_matrix(v)
    f = ent.entanglement_findings(um, ds, n_boot=50, seed=0)
    pt = pair_table(um)
    within = pt["relation"] == "within"
    gap = pt.loc[within, "alpha"].mean() - pt.loc[~within, "alpha"].mean()
    assert _primary(f, "alpha_gap")["estimate"] == pytest.approx(gap, abs=1e-12)
    # alpha_ij on a pair equals krippendorff on the two judges' columns
    r = pt.iloc[0]
    i, j = um.judges.index(r.judge_i), um.judges.index(r.judge_j)
    ok = ~(np.isnan(um.values[:, i]) | np.isnan(um.values[:, j]))
    ref = krippendorff.alpha(
        reliability_data=um.values[ok][:, [i, j]].T, level_of_measurement="nominal"
    )
    assert r.alpha == pytest.approx(ref, abs=1e-9)


def test_undefined_statistics_give_reasons_not_exceptions():
    codes = np.array([[0, 0], [1, 1], [0, 0]], dtype=float)
    v = _frame_from_codes(codes, np.array([0, 1, 2]), ["f", "f"])
    f = ent.entanglement_findings(v, None, n_boot=20)
    gap = f[f["id"] == "alpha_gap"].iloc[0]
    assert gap["estimate"] is None or pd.isna(gap["estimate"])
    assert gap["reason"]
    one = ent.entanglement_findings(v[v["model"] == "judge0"], None, n_boot=20)
    assert one.iloc[0]["reason"] == "fewer than 2 judges"


def test_null_replicates_rarely_flag_a_gap(demo):
    """A small size check (the full 1,000-replicate protocol is too slow for the unit tests):
    12 null-panel replicates at alpha 0.05; more than 3 rejections of either gap would have
    probability about 0.002 under a size of 0.05."""
    ds, resp, _ = demo
    pairs = ds.pairs("human", n_pairs=120, seed=0)
    panel = _panel(0.0)
    p = np.array(
        [
            ent.entanglement_findings(
                sim.sample_verdicts(pairs, resp, panel, seed=100 + r),
                ds,
                n_boot=199,
                seed=r,
                primary_only=True,
            )["p_value"].to_numpy(dtype=float)
            for r in range(12)
        ]
    )
    assert p.shape == (12, 2)
    assert ((p < 0.05).sum(axis=0) <= 3).all(), p
