"""judgelab.stats.agreement against independent references (scikit-learn, scipy,
statsmodels, krippendorff) and published worked examples (STATISTICS.md, validation)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics

from judgelab.data import DataError
from judgelab.stats import agreement as ag
from judgelab.stats._tidy import FINDING_COLUMNS
from judgelab.stats.agreement._common import _ratings_table
from judgelab.stats.resampling import bootstrap_weights, cluster_bootstrap

TOL = 1e-9
HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def label_pairs(draw, missing=True):
    """Two label arrays over a small alphabet (ties and constant raters occur often),
    optionally with missing values."""
    n = draw(st.integers(2, 40))
    k = draw(st.integers(1, 4))
    alpha = ["A", "B", "tie", "D"][:k]
    lab = st.sampled_from(alpha)
    if missing:
        lab = st.one_of(lab, lab, lab, st.none())
    a = draw(st.lists(lab, min_size=n, max_size=n))
    b = draw(st.lists(lab, min_size=n, max_size=n))
    return a, b


def _complete(a, b):
    keep = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return [x for x, _ in keep], [y for _, y in keep]


def _close(mine, ref):
    if ref is None or (isinstance(ref, float) and math.isnan(ref)):
        return math.isnan(mine)
    return abs(mine - ref) <= TOL


@HYP
@given(label_pairs())
def test_kappa_accuracy_f1_confusion_match_sklearn(pair):
    a, b = pair
    ca, cb = _complete(a, b)
    if not ca:
        assert math.isnan(ag.cohen_kappa_score(a, b))
        assert math.isnan(ag.percent_agreement_score(a, b))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for w in (None, "linear", "quadratic"):
            ref = metrics.cohen_kappa_score(ca, cb, weights=w)
            assert _close(ag.cohen_kappa_score(a, b, weights=w), float(ref)), w
        assert _close(ag.accuracy_score(a, b), metrics.accuracy_score(ca, cb))
        assert _close(ag.percent_agreement_score(a, b), metrics.accuracy_score(ca, cb))
        assert _close(ag.macro_f1_score(a, b), metrics.f1_score(ca, cb, average="macro"))
        labels = sorted(set(ca) | set(cb))
        ref_f1 = metrics.f1_score(ca, cb, average=None, labels=labels)
        mine = ag.f1_per_class_score(a, b)
        assert list(mine) == labels
        assert np.allclose(list(mine.values()), ref_f1, atol=TOL, rtol=0)
        cm = ag.confusion_matrix(a, b)
        assert np.array_equal(cm.to_numpy(), metrics.confusion_matrix(ca, cb, labels=labels))


@HYP
@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(1, 5).map(float), st.just(float("nan"))),
            st.one_of(st.integers(1, 5).map(float), st.floats(-3, 3), st.just(float("nan"))),
        ),
        min_size=2,
        max_size=40,
    )
)
def test_correlations_match_scipy(rows):
    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    defined = ok.sum() >= 2 and np.ptp(xs) > 0 and np.ptp(ys) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not defined:
            assert math.isnan(ag.pearson_score(x, y))
            assert math.isnan(ag.spearman_score(x, y))
            assert math.isnan(ag.kendall_tau_score(x, y))
            return
        assert _close(ag.pearson_score(x, y), float(stats.pearsonr(xs, ys).statistic))
        assert _close(ag.spearman_score(x, y), float(stats.spearmanr(xs, ys).statistic))
        assert _close(ag.kendall_tau_score(x, y), float(stats.kendalltau(xs, ys).statistic))


def test_weighted_kappa_uses_label_positions_and_full_scale():
    a = [1, 2, 5, 5, 1, 2]
    b = [2, 2, 5, 1, 1, 5]
    assert _close(
        ag.cohen_kappa_score(a, b, "quadratic"),
        metrics.cohen_kappa_score(a, b, weights="quadratic"),
    )
    full = list(range(1, 11))
    ref = metrics.cohen_kappa_score(a, b, weights="quadratic", labels=full)
    assert _close(ag.cohen_kappa_score(a, b, "quadratic", labels=full), ref)


# Fleiss -------------------------------------------------------------------------------

FLEISS_1971 = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_fleiss_published_example_and_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa

    # Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa", worked example): 0.210.
    assert round(ag.fleiss_kappa_score(FLEISS_1971), 3) == 0.210
    assert abs(ag.fleiss_kappa_score(FLEISS_1971) - fleiss_kappa(FLEISS_1971)) < TOL


@HYP
@given(st.integers(2, 6), st.integers(2, 4), st.integers(2, 25), st.integers(0, 10**6))
def test_fleiss_matches_statsmodels_random(n_raters, n_cat, n_units, seed):
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    rng = np.random.default_rng(seed)
    R = rng.integers(0, n_cat, size=(n_units, n_raters))
    table, _ = aggregate_raters(R)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fleiss_kappa(table)
    mine = ag.fleiss_kappa_score(ratings=pd.DataFrame(R))
    assert _close(mine, float(ref)) or (math.isnan(mine) and not np.isfinite(ref))


# Krippendorff -------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", sec. C: 4 observers,
# 12 units, missing values. Published: nominal .743, ordinal .815, interval .849, ratio .797.
K2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
)


@pytest.mark.parametrize(
    "level,published",
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_published_example(level, published):
    assert round(ag.krippendorff_alpha_score(K2011, level), 3) == published
    # The vectorised coincidence-matrix form (used for the bootstrap) gives the same.
    df = pd.DataFrame(K2011.T, columns=list("ABCD")).assign(item_id=range(12))
    row = ag.krippendorff_alpha(df, list("ABCD"), level=level, n_boot=50, method="percentile")
    assert abs(row["estimate"].iloc[0] - ag.krippendorff_alpha_score(K2011, level)) < TOL
    assert row["n"].iloc[0] == 11  # unit 12 has a single value: not pairable
    assert row["n_excluded"].iloc[0] == 1


@HYP
@given(
    st.integers(2, 4),
    st.integers(2, 25),
    st.integers(2, 5),
    st.sampled_from(["nominal", "ordinal", "interval"]),
    st.integers(0, 10**6),
)
def test_krippendorff_coincidence_form_matches_package(n_raters, n_units, n_vals, level, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(1, n_vals + 1, size=(n_raters, n_units)).astype(float)
    data[rng.random(data.shape) < 0.25] = np.nan
    ref = ag.krippendorff_alpha_score(data, level)
    table, labels = _ratings_table(pd.DataFrame(data.T))
    ok = table.sum(axis=1) >= 2
    if len(labels) < 2 or not ok.any():
        assert math.isnan(ref)
        return
    tot = ag.coincidence_counts(table[ok]).sum(axis=0, keepdims=True)
    mine = float(ag.alpha_from_totals(tot, np.asarray(labels, float), level)[0])
    assert _close(mine, ref) or (math.isnan(ref) and math.isnan(mine))


def test_krippendorff_constant_values_is_null_with_reason():
    df = pd.DataFrame({"a": [1.0] * 40, "b": [1.0] * 40, "item_id": range(40)})
    row = ag.krippendorff_alpha(df, ["a", "b"], level="interval", n_boot=50).iloc[0]
    assert row["estimate"] is None and "undefined" in row["reason"]
    assert math.isnan(ag.krippendorff_alpha_score([[1, 1, 1], [1, 1, np.nan]], "nominal"))


# tidy functions -----------------------------------------------------------------------


def _clustered_labels(n_items=60, per=5, seed=0, p_agree=0.7):
    rng = np.random.default_rng(seed)
    item = np.repeat(np.arange(n_items), per)
    truth = rng.integers(0, 3, n_items)[item]
    a = np.where(rng.random(item.size) < p_agree, truth, rng.integers(0, 3, item.size))
    b = np.where(rng.random(item.size) < p_agree, truth, rng.integers(0, 3, item.size))
    lab = np.array(["A", "B", "tie"])
    return pd.DataFrame({"item_id": item, "judge": lab[a], "human": lab[b]})


def test_tidy_kappa_estimate_ci_and_bootstrap_equal_sklearn_loop():
    df = _clustered_labels()
    df.loc[[3, 17], "human"] = None
    out = ag.cohen_kappa(df, "judge", "human", n_boot=200, seed=3)
    assert list(out.columns[: len(FINDING_COLUMNS)]) == FINDING_COLUMNS
    r = out.iloc[0]
    ok = df.dropna()
    assert abs(r["estimate"] - metrics.cohen_kappa_score(ok["judge"], ok["human"])) < TOL
    assert r["ci_low"] < r["estimate"] < r["ci_high"]
    assert (r["n"], r["n_excluded"], r["n_items"]) == (len(ok), 2, 60)
    assert "bca" in r["method"] and "unweighted" in r["method"]
    # The vectorised distribution equals a per-resample scikit-learn loop over the same
    # item draws (items in order of first appearance, as confusion_counts numbers them).
    cc = ag.confusion_counts(ok["judge"], ok["human"], ok["item_id"])
    res = cluster_bootstrap(cc.per_item, lambda t: ag.kappa_from_totals(t, 3), n_boot=40, seed=5)
    W = bootstrap_weights(len(cc.items), 40, 5)
    groups = [ok.index[ok["item_id"] == it] for it in cc.items]
    for r_, w in enumerate(W):
        idx = np.concatenate([np.repeat(groups[j], w[j]) for j in range(len(groups))])
        ref = metrics.cohen_kappa_score(ok.loc[idx, "judge"], ok.loc[idx, "human"])
        assert abs(res.distribution[r_] - ref) < TOL


def test_tidy_functions_return_findings_and_match_plain():
    df = _clustered_labels(seed=1)
    df["x"] = pd.Categorical(df["judge"], ["A", "tie", "B"]).codes.astype(float)
    df["y"] = pd.Categorical(df["human"], ["A", "tie", "B"]).codes + np.random.default_rng(
        2
    ).normal(0, 0.3, len(df))
    cases = [
        (
            ag.percent_agreement(df, "judge", "human", n_boot=100),
            ag.percent_agreement_score(df.judge, df.human),
        ),
        (ag.accuracy(df, "human", "judge", n_boot=100), ag.accuracy_score(df.human, df.judge)),
        (ag.macro_f1(df, "human", "judge", n_boot=100), ag.macro_f1_score(df.human, df.judge)),
        (
            ag.cohen_kappa(df, "judge", "human", weights="linear", n_boot=100),
            ag.cohen_kappa_score(df.judge, df.human, "linear"),
        ),
        (ag.pearson(df, "x", "y", n_boot=100), ag.pearson_score(df.x, df.y)),
        (ag.spearman(df, "x", "y", n_boot=60), ag.spearman_score(df.x, df.y)),
        (ag.kendall_tau(df, "x", "y", n_boot=60), ag.kendall_tau_score(df.x, df.y)),
        (
            ag.fleiss_kappa(df, ["judge", "human"], n_boot=100),
            ag.fleiss_kappa_score(ratings=df[["judge", "human"]]),
        ),
    ]
    for out, plain in cases:
        r = out.iloc[0]
        assert abs(r["estimate"] - plain) < TOL, r["id"]
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"], r["id"]
        assert r["n_items"] == 60 and r["reason"] is None
    f1 = ag.f1_per_class(df, "human", "judge", n_boot=100)
    assert list(f1["label"]) == ["A", "B", "tie"]
    ref = metrics.f1_score(df.human, df.judge, average=None, labels=["A", "B", "tie"])
    assert np.allclose(f1["estimate"].to_numpy(float), ref, atol=TOL)


def test_constant_raters_give_null_with_reason_not_crash():
    df = pd.DataFrame({"item_id": np.repeat(np.arange(40), 3), "a": "A", "b": "A"})
    r = ag.cohen_kappa(df, "a", "b", n_boot=50).iloc[0]
    assert r["estimate"] is None and "chance agreement" in r["reason"]
    df["x"], df["y"] = 1.0, np.arange(len(df), dtype=float)
    for fn in (ag.pearson, ag.spearman, ag.kendall_tau):
        r = fn(df, "x", "y", n_boot=20).iloc[0]
        assert r["estimate"] is None and "constant" in r["reason"]
    assert ag.cohen_kappa(df.iloc[:0], "a", "b", n_boot=20).iloc[0]["estimate"] is None


def test_small_slices_keep_estimate_without_ci():
    df = _clustered_labels(n_items=12)
    r = ag.cohen_kappa(df, "judge", "human", n_boot=100).iloc[0]
    assert r["estimate"] is not None and r["ci_low"] is None and "12 items" in r["reason"]


def test_bad_input_is_a_data_error_naming_the_column():
    df = _clustered_labels()
    with pytest.raises(DataError, match="human2"):
        ag.cohen_kappa(df, "judge", "human2")
    df.loc[5, "item_id"] = None
    with pytest.raises(DataError, match=r"item_id.*\[5\]"):
        ag.cohen_kappa(df, "judge", "human")


# ties and orders ----------------------------------------------------------------------


def test_tie_policies():
    with pytest.raises(ValueError, match="half"):
        ag.check_tie_policy("half", "kappa")
    with pytest.raises(ValueError, match="half"):
        ag.check_tie_policy("half", "macro_f1")
    with pytest.raises(ValueError):
        ag.check_tie_policy("coin", "win_rate")
    assert ag.check_tie_policy("half", "win_rate") == "half"
    w = ["r1", "r2", "tie", None]
    assert np.allclose(ag.win_score(w, "r1", "class"), [1, 0, 0, np.nan], equal_nan=True)
    assert np.allclose(ag.win_score(w, "r1", "half"), [1, 0, 0.5, np.nan], equal_nan=True)
    assert np.allclose(ag.win_score(w, "r1", "drop"), [1, 0, np.nan, np.nan], equal_nan=True)
    df = pd.DataFrame({"winner": ["r1", "tie", "r2"], "ref": ["r1", "r1", "tie"]})
    out, n = ag.apply_tie_policy(df, "drop", ["winner", "ref"], "kappa")
    assert n == 2 and list(out["winner"]) == ["r1"]
    out, n = ag.apply_tie_policy(df, "class", ["winner"], "kappa")
    assert n == 0 and len(out) == 3


def _verdicts():
    rows = []
    # pair p1: consistent (r1 both orders); p2: inconsistent; p3: only ab parsed;
    # p4: repeats in ab split 2:1 for r7, ba r7.
    spec = [
        ("i1", "r1", "r2", "ab", 0, "r1"),
        ("i1", "r1", "r2", "ba", 0, "r1"),
        ("i1", "r3", "r4", "ab", 0, "r3"),
        ("i1", "r3", "r4", "ba", 0, "r4"),
        ("i2", "r5", "r6", "ab", 0, "r5"),
        ("i2", "r5", "r6", "ba", 0, None),
        ("i2", "r7", "r8", "ab", 0, "r7"),
        ("i2", "r7", "r8", "ab", 1, "r8"),
        ("i2", "r7", "r8", "ab", 2, "r7"),
        ("i2", "r7", "r8", "ba", 0, "r7"),
    ]
    for item, a, b, order, sample, winner in spec:
        rows.append(
            dict(model="m", backend="direct", judge_version="v1", item_id=item, response_a=a,
                 response_b=b, order=order, sample=sample, winner=winner, parse_ok=winner is not None)
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_aggregate_orders():
    v = _verdicts()
    per = ag.aggregate_orders(v, "per_call")
    assert len(per) == 9 and per.attrs["n_unparsed"] == 1
    first = ag.aggregate_orders(v, "first_order")
    assert set(first["order"]) == {"ab"} and len(first) == 6
    cons = ag.aggregate_orders(v, "consistent_only").set_index("response_a")
    assert cons.loc["r1", "winner"] == "r1" and cons.loc["r1", "choice"] == "A"
    assert cons.loc["r3", "winner"] == "tie"
    assert cons.loc["r7", "winner"] == "r7"  # ab repeats: r7 twice, r8 once
    assert "r5" not in cons.index
    assert cons.attrs["n_excluded"] == 2  # one unparsed row + one pair lacking an order
    with pytest.raises(ValueError):
        ag.aggregate_orders(v, "both")


# ---------------------------------------------------------------------------------------
# vectorised forms the family-entanglement bootstrap and the ensembles use (formerly the
# private entanglement._kappa, _alpha_nominal, _alpha_interval and ensembles._kappa_codes)
# ---------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 80))
def test_kappa_from_totals_weight_matrix_and_leading_dims_match_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, (3, n))
    b = np.where(rng.random((3, n)) < 0.6, a, rng.integers(0, 4, (3, n)))
    tables = np.stack([np.bincount(a[k] * 4 + b[k], minlength=16) for k in range(3)])
    stacked = np.stack([tables, tables[::-1]])  # (2, 3, 16): leading dims kept
    for weights, sk in ((None, None), ("quadratic", "quadratic")):
        got = ag.kappa_from_totals(stacked, 4, weights)
        assert got.shape == (2, 3)
        for k in range(3):
            ref = metrics.cohen_kappa_score(a[k], b[k], weights=sk, labels=[0, 1, 2, 3])
            assert got[0, k] == pytest.approx(ref, abs=1e-12, nan_ok=True)
    # an explicit matrix on score values: (v_i - v_j)^2 with unequal gaps
    values = np.array([1.0, 2.0, 4.0, 5.0])
    w = (values[:, None] - values[None, :]) ** 2
    obs = tables[0].reshape(4, 4) / n
    exp = np.outer(obs.sum(1), obs.sum(0))
    expected = 1 - (w * obs).sum() / (w * exp).sum() if (w * exp).sum() > 0 else np.nan
    assert ag.kappa_from_totals(tables[0], 4, w)[0] == pytest.approx(expected, nan_ok=True)


def test_kappa_from_codes_drops_missing_and_matches_sklearn():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, 200).astype(float)
    y = np.where(rng.random(200) < 0.7, x, rng.integers(0, 3, 200)).astype(float)
    x[[3, 9]] = np.nan
    y[[9, 50]] = np.nan
    ok = ~(np.isnan(x) | np.isnan(y))
    ref = metrics.cohen_kappa_score(x[ok], y[ok])
    assert ag.kappa_from_codes(x, y, 3) == pytest.approx(ref, abs=1e-12)
    assert math.isnan(ag.kappa_from_codes(x[:2] * np.nan, y[:2], 3))
    assert math.isnan(ag.kappa_from_codes(np.zeros(5), np.zeros(5), 3))  # p_e = 1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 60))
def test_two_coder_alpha_forms_match_the_krippendorff_package(seed, n):
    import krippendorff

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, n).astype(float)
    y = np.where(rng.random(n) < 0.6, x, rng.integers(0, 3, n)).astype(float)
    joint = np.bincount((x * 3 + y).astype(int), minlength=9)
    data = np.vstack([x, y])
    ref_nom = (
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        if len(np.unique(data)) > 1
        else np.nan
    )
    got = ag.alpha_nominal_from_joint(np.stack([joint, joint]), 3)
    assert got.shape == (2,)
    assert got[0] == pytest.approx(ref_nom, abs=1e-9, nan_ok=True)
    # interval, real-valued scores with a missing value
    s = rng.normal(3, 1, n)
    t = s + rng.normal(0, 0.5, n)
    t[0] = np.nan
    ref_int = krippendorff.alpha(
        reliability_data=np.vstack([s, t]), level_of_measurement="interval"
    )
    moments = ag.interval_moments(s, t).sum(axis=0)
    assert ag.alpha_interval_from_moments(moments) == pytest.approx(ref_int, abs=1e-9)


def test_plurality_and_mode_winner_share_the_split_rule():
    from judgelab.stats import votes

    totals = np.array([[2, 1, 0], [1, 1, 0], [0, 0, 0], [0.5, 0.5 + 1e-12, 0]])
    got = votes.plurality(totals)
    assert got[:2].tolist() == [0.0, 2.0] and np.isnan(got[2]) and got[3] == 2.0
    assert np.isnan(votes.plurality(totals, split=np.nan)[1])
    df = pd.DataFrame({"pair": [1, 1, 1, 2, 2], "winner": ["x", "x", "y", "x", "y"]})
    assert votes.mode_winner(df, ["pair"])["winner"].tolist() == ["x", "tie"]


def test_rank_correlations_of_item_resamples_equal_scipy_on_the_expanded_resample():
    """The closed forms in the item multiplicities equal scipy on the explicitly expanded
    resample (formerly calibration._kendall_matrices / _rank_matrices / _kendall_b_weighted
    / _spearman_weighted, same reference values)."""
    rng = np.random.default_rng(3)
    n_items = 12
    sizes = rng.integers(1, 5, n_items)
    codes = np.repeat(np.arange(n_items), sizes)
    x = rng.integers(1, 6, len(codes)).astype(float)
    y = (x + rng.integers(-2, 3, len(codes))).astype(float)
    S, TX, TY, sz = ag.kendall_sums(x, y, codes, n_items)
    LX, EX = ag.rank_sums(x, codes, n_items)
    LY, EY = ag.rank_sums(y, codes, n_items)
    W = rng.multinomial(n_items, np.ones(n_items) / n_items, size=20).astype(float)
    tau = ag.kendall_tau_b_from_weights(W, S, TX, TY, sz)
    rho = ag.spearman_from_weights(W, LX, EX, LY, EY, codes)
    for r in range(len(W)):
        rows = np.concatenate(
            [np.repeat(np.flatnonzero(codes == i), int(W[r, i])) for i in range(n_items)]
        )
        assert tau[r] == pytest.approx(stats.kendalltau(x[rows], y[rows]).statistic, abs=1e-9)
        assert rho[r] == pytest.approx(stats.spearmanr(x[rows], y[rows]).statistic, abs=1e-9)


def test_tidy_rank_correlations_equal_the_generic_row_bootstrap():
    """Same seed, same item resamples: the tidy Spearman / Kendall (closed forms) give the
    distribution that cluster_bootstrap_rows gets by calling scipy on every resample."""
    from judgelab.stats.resampling import cluster_bootstrap_rows

    rng = np.random.default_rng(4)
    n_items = 35
    codes = np.repeat(np.arange(n_items), rng.integers(1, 4, n_items))
    x = rng.integers(1, 8, len(codes)).astype(float)
    y = (x + rng.integers(-3, 4, len(codes))).astype(float)
    df = pd.DataFrame({"item_id": [f"i{c:02d}" for c in codes], "x": x, "y": y})
    for tidy, fn in ((ag.spearman, stats.spearmanr), (ag.kendall_tau, stats.kendalltau)):
        got = tidy(df, "x", "y", n_boot=60, seed=9).iloc[0]
        ref = cluster_bootstrap_rows(
            df["item_id"], lambda rows, fn=fn: fn(x[rows], y[rows]).statistic, n_boot=60, seed=9
        )
        assert got["estimate"] == pytest.approx(ref.estimate, abs=1e-9)
        assert got["ci_low"] == pytest.approx(ref.ci_low, abs=1e-9)
        assert got["ci_high"] == pytest.approx(ref.ci_high, abs=1e-9)
