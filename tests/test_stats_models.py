"""judgelab.stats.models against statsmodels / scipy, plus null (500 replicates, <= 40
rejections) and power checks by simulation (STATISTICS.md, validation)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

from judgelab.stats.models import conditional_logit, logistic_gee, wilcoxon_signed_rank


def _clogit_data(seed, n_strata=50):
    r = np.random.default_rng(seed)
    size = r.integers(2, 9, n_strata)  # strata of 2..8 rows, any number of ones
    strata = np.repeat(np.arange(n_strata), size)
    n = strata.size
    X = np.column_stack([r.normal(size=n), r.integers(0, 2, n), r.choice([-1.0, 1.0], n)])
    eta = 1.5 * r.normal(size=n_strata)[strata] + X @ [0.6, -0.8, 0.3]
    y = (r.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, X, strata, strata // 3  # clusters: 3 strata per item


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conditional_logit_matches_statsmodels_and_sandwich(seed):
    y, X, strata, clusters = _clogit_data(seed)
    res = conditional_logit(y, pd.DataFrame(X, columns=["x", "d", "pos"]), strata, clusters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ConditionalLogit(y, X, groups=strata)
        ref = model.fit(method="newton", maxiter=100, tol=1e-12, disp=False)
    assert res.converged
    assert np.max(np.abs(res.params.to_numpy() - ref.params)) < 1e-6
    assert abs(res.llf - ref.llf) < 1e-8
    # Model-based SEs: statsmodels uses a numerical Hessian.
    assert np.allclose(np.sqrt(np.diag(res.model_cov)), ref.bse, rtol=1e-4)
    # Cluster-robust sandwich rebuilt from statsmodels' per-stratum scores and covariance.
    groups = np.unique(strata)
    info = [g for g in groups if 0 < y[strata == g].sum() < (strata == g).sum()]
    item_of = {g: clusters[strata == g][0] for g in info}
    U = {}
    # statsmodels keeps the informative strata in order of first appearance.
    for i, g in enumerate(info):
        U.setdefault(item_of[g], 0)
        U[item_of[g]] = U[item_of[g]] + model.score_grp(i, ref.params)
    Um = np.array(list(U.values()))
    G = len(Um)
    bread = np.asarray(ref.cov_params())
    V = bread @ (Um.T @ Um) @ bread * G / (G - 1)
    assert np.allclose(res.cov.to_numpy(), V, rtol=1e-4, atol=1e-10)
    assert res.n_clusters == G and res.df == G - 1
    t = res.table()
    assert list(t["term"]) == ["x", "d", "pos"] and t["reason"].isna().all()
    assert np.allclose(t["p_value"], 2 * stats.t.sf(np.abs(t["z"]), G - 1))


def test_conditional_logit_drops_unidentified_columns_with_reasons():
    y, X, strata, clusters = _clogit_data(3)
    stratum_level = np.random.default_rng(0).normal(size=strata.max() + 1)[strata]
    Xd = pd.DataFrame(
        {"x": X[:, 0], "pair_level": stratum_level, "x_twice": 2 * X[:, 0], "d": X[:, 1]}
    )
    res = conditional_logit(y, Xd, strata, clusters)
    assert set(res.dropped) == {"pair_level", "x_twice"}
    assert "absorbed" in res.dropped["pair_level"] and "dependent" in res.dropped["x_twice"]
    ref = conditional_logit(y, Xd[["x", "d"]], strata, clusters)
    assert np.allclose(res.params[["x", "d"]], ref.params, atol=1e-12)
    assert np.isnan(res.params["pair_level"])
    assert res.table().set_index("term").loc["x_twice", "reason"].startswith("linearly")
    none = conditional_logit(np.zeros(6), np.ones((6, 1)), [0, 0, 1, 1, 2, 2])
    assert none.reason and np.isnan(none.params).all()
    with pytest.raises(ValueError, match="cluster"):
        conditional_logit(y, X, strata, np.arange(len(y)))


def _gee_data(seed, slope, n_items=40, per=5):
    r = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_items), per)
    x = np.abs(r.normal(size=n_items)[g] + 0.5 * r.normal(size=g.size))
    eta = -0.5 + slope * x + r.normal(size=n_items)[g]
    return (r.random(g.size) < 1 / (1 + np.exp(-eta))).astype(float), x, g


def test_logistic_gee_matches_statsmodels_bias_reduced():
    y, x, g = _gee_data(1, 0.7)
    x2 = np.random.default_rng(2).integers(0, 2, y.size)
    X = pd.DataFrame({"gap": x, "flag": x2})
    res = logistic_gee(y, X, g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GEE(
            y,
            sm.add_constant(X),
            groups=g,
            family=sm.families.Binomial(),
            cov_struct=sm.cov_struct.Independence(),
        ).fit(cov_type="bias_reduced")
    assert np.max(np.abs(res.params.to_numpy() - ref.params.to_numpy())) < 1e-6
    assert np.max(np.abs(res.cov.to_numpy() - ref.cov_params().to_numpy())) < 1e-8
    assert list(res.params.index) == ["const", "gap", "flag"]
    ex = logistic_gee(y, X, g, cov_struct="exchangeable")  # statsmodels path
    assert ex.converged and np.isfinite(ex.bse).all()
    const = logistic_gee(y, X.assign(c=1.0), g)
    assert "constant" in const.dropped["c"] and np.isnan(const.params["c"])
    single = logistic_gee(np.ones_like(y), X, g)
    assert single.reason and np.isnan(single.params).all()


def test_wilcoxon_matches_scipy():
    r = np.random.default_rng(4)
    a, b = r.normal(size=30), r.normal(0.3, size=30)
    res = wilcoxon_signed_rank(a, b)
    ref = stats.wilcoxon(a - b)
    assert res.statistic == ref.statistic and abs(res.p_value - ref.pvalue) < 1e-12 and res.n == 30
    zero = wilcoxon_signed_rank([1, 2], [1, 2])
    assert zero.p_value is None and "zero" in zero.reason


# --- simulation: null and power -------------------------------------------------------


def _panel(seed, beta_self, n_items=120, n_judges=3):
    """Pairwise judgments: 3 responses per item (3 pairs), each judged by n_judges judges
    in both orders. Judge 0's own-family responses are worse (quality confound, absorbed by
    the pair strata); judges have idiosyncratic tastes per response (shared across the
    pairs of an item: clustering); position bias 0.4; self-preference beta_self."""
    r = np.random.default_rng(seed)
    own = r.random((n_items, 3)) < 1 / 3
    quality = r.normal(size=(n_items, 3)) - 0.5 * own
    taste = r.normal(scale=0.8, size=(n_judges, n_items, 3))
    pa, pb = np.array([0, 0, 1]), np.array([1, 2, 2])
    reps = n_judges * 2
    item = np.repeat(np.arange(n_items), 3 * reps)
    pair = np.repeat(np.arange(n_items * 3), reps)
    a = np.tile(np.repeat(pa, reps), n_items)
    b = np.tile(np.repeat(pb, reps), n_items)
    judge = np.tile(np.repeat(np.arange(n_judges), 2), n_items * 3)
    first_a = np.tile([1.0, -1.0], n_items * 3 * n_judges)
    self_d = np.where(judge == 0, own[item, a].astype(float) - own[item, b], 0.0)
    eta = (
        quality[item, a] - quality[item, b] + taste[judge, item, a] - taste[judge, item, b]
        + 0.4 * first_a + beta_self * self_d
    )  # fmt: skip
    y = (r.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, np.column_stack([first_a, self_d]), pair, item


@pytest.mark.slow
def test_conditional_logit_null_and_power():
    p_null = np.array([conditional_logit(*_panel(s, 0.0)).pvalues.iloc[1] for s in range(500)])
    assert (p_null < 0.05).sum() <= 40, (p_null < 0.05).sum()
    p_alt = np.array(
        [conditional_logit(*_panel(10_000 + s, 0.8)).pvalues.iloc[1] for s in range(60)]
    )
    assert (p_alt < 0.05).mean() >= 0.8


@pytest.mark.slow
def test_logistic_gee_null_and_power():
    def p(seed, slope):
        y, x, g = _gee_data(seed, slope)
        return logistic_gee(y, x[:, None], g).pvalues.iloc[1]

    p_null = np.array([p(s, 0.0) for s in range(500)])
    assert (p_null < 0.05).sum() <= 40, (p_null < 0.05).sum()
    p_alt = np.array([p(10_000 + s, 1.2) for s in range(100)])
    assert (p_alt < 0.05).mean() >= 0.8
