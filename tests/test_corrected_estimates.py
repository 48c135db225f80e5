"""Validation of the corrected estimators (issue 15 part 1): equality with ppi_py, Rogan-Gladen
by hand and its undefined case, and coverage / width simulations at the function level.

Simulations are vectorised over replicates: an iid dataset is drawn as its sufficient sums
(multinomial cells of the labelled units, a binomial count of the judge-only units), so 1,000
datasets with 50,000 units cost a few milliseconds. Acceptance bands: 925-975 of 1,000 is
the 95% interval's coverage +- 3.6 binomial standard deviations (sd = sqrt(1000 * .95 * .05)
= 6.9); with fewer replicates the band is the same +- 3.6 sd of that binomial.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from judgelab.stats.corrected import (
    corrected_bootstrap,
    corrected_rates,
    lee_adjusted_wald_ci,
    per_item_sums,
    ppi_mean,
    ppi_mean_from_sums,
    rogan_gladen,
)
from judgelab.stats.errors import DataError
from judgelab.stats.resampling import wilson_ci


def _band(reps: int, level: float = 0.95, k: float = 3.6) -> tuple[float, float]:
    sd = math.sqrt(reps * level * (1 - level))
    return reps * level - k * sd, reps * level + k * sd


def _iid_sums(rng, reps, theta, tpr, tnr, n_lab, n_unl):
    """Sums of ``reps`` iid datasets: labelled cells (y, yh) and judge-only passes."""
    cells = [theta * tpr, theta * (1 - tpr), (1 - theta) * (1 - tnr), (1 - theta) * tnr]
    c = rng.multinomial(n_lab, cells, size=reps).astype(float)  # (1,1) (1,0) (0,1) (0,0)
    sy, sh, syh = c[:, 0] + c[:, 1], c[:, 0] + c[:, 2], c[:, 0]
    su = rng.binomial(n_unl, theta * tpr + (1 - theta) * (1 - tnr), size=reps).astype(float)
    return dict(n=np.full(reps, float(n_lab)), sy=sy, sh=sh, syh=syh, nu=float(n_unl), su=su)


def _ppi_from(s, **kw):
    # binary: Y^2 = Y, Yh^2 = Yh
    return ppi_mean_from_sums(s["n"], s["sy"], s["sh"], s["sy"], s["sh"], s["syh"], s["nu"],
                              s["su"], s["su"], **kw)  # fmt: skip


def _rg_ci_from(s, ci_level=0.95):
    n_all = s["n"] + s["nu"]
    p = (s["sh"] + s["su"]) / n_all
    m1, m0 = s["sy"], s["n"] - s["sy"]
    tpr, tnr = s["syh"] / m1, (m0 - s["sh"] + s["syh"]) / m0
    return rogan_gladen(p, tpr, tnr), lee_adjusted_wald_ci(p, tpr, tnr, n_all, m0, m1, ci_level)


# ------------------------------------------------------------------ PPI++ against ppi_py


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.1, 0.05])
def test_ppi_mean_equals_ppi_py(seed, alpha):
    ppi_py = pytest.importorskip(
        "ppi_py", reason="ppi-python (the independent PPI++ reference) is not installed: "
        "pip install -e '.[test]'"
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    n, N = 200 + 100 * seed, 3000
    y = rng.binomial(1, 0.55, n)
    agree = 0.95 - 0.2 * seed  # includes a weak judge (lambda near 0)
    yh = np.where(rng.random(n) < agree, y, 1 - y)
    yu = rng.binomial(1, 0.5, N)
    ours = ppi_mean(y, yh, yu, ci_level=1 - alpha)
    lo, hi = ppi_py.ppi_mean_ci(y, yh, yu, alpha=alpha)
    pe = ppi_py.ppi_mean_pointestimate(y, yh, yu)
    assert abs(float(ours.estimate) - float(np.squeeze(pe))) < 1e-9
    assert abs(float(ours.ci_low) - float(np.squeeze(lo))) < 1e-9
    assert abs(float(ours.ci_high) - float(np.squeeze(hi))) < 1e-9
    if alpha == 0.1:  # ppi_py's default alpha is 0.1: a 90% interval
        lo_d, hi_d = ppi_py.ppi_mean_ci(y, yh, yu)
        assert abs(float(ours.ci_low) - float(np.squeeze(lo_d))) < 1e-9
    assert 0.0 <= float(ours.lam) <= 1.0


def test_ppi_lambda_clipped_and_effective_labels():
    rng = np.random.default_rng(5)
    y = rng.binomial(1, 0.5, 400)
    anti = 1 - y  # a judge that is always wrong: cov < 0, lambda clipped to 0
    r = ppi_mean(y, anti, rng.binomial(1, 0.5, 4000))
    assert float(r.lam) == 0.0
    assert float(r.estimate) == pytest.approx(y.mean())
    assert float(r.n_eff) == pytest.approx(400.0)  # var0(Y)/se^2 = n when lambda = 0
    good = ppi_mean(y, y, rng.binomial(1, 0.5, 40_000))  # a perfect judge
    assert float(good.n_eff) > 400 * 5


# ------------------------------------------------------------------ Rogan-Gladen


def test_rogan_gladen_by_hand():
    # p = 0.7, TPR = 0.9, TNR = 0.8: theta = (0.7 + 0.8 - 1) / (0.9 + 0.8 - 1) = 0.5 / 0.7
    assert float(rogan_gladen(0.7, 0.9, 0.8)) == pytest.approx(5 / 7, abs=1e-12)
    assert float(rogan_gladen(0.99, 0.9, 0.8)) == 1.0  # clipped
    # Lee et al.'s interval by hand: n = 1000, m0 = 100, m1 = 100, z = 1.959964
    z = 1.959963984540054
    pa = (1000 * 0.7 + z * z / 2) / (1000 + z * z)
    q0, q1 = (100 * 0.8 + 1) / 102, (100 * 0.9 + 1) / 102
    th = (pa + q0 - 1) / (q0 + q1 - 1)
    d = 2 * z * z * (-(1 - th) * q0 * (1 - q0) / 102 + th * q1 * (1 - q1) / 102)
    se = math.sqrt(
        pa * (1 - pa) / (1000 + z * z) + (1 - th) ** 2 * q0 * (1 - q0) / 102
        + th**2 * q1 * (1 - q1) / 102
    ) / (q0 + q1 - 1)  # fmt: skip
    lo, hi = lee_adjusted_wald_ci(0.7, 0.9, 0.8, 1000, 100, 100)
    assert float(lo) == pytest.approx(th + d - z * se, abs=1e-12)
    assert float(hi) == pytest.approx(th + d + z * se, abs=1e-12)
    assert 0.55 < float(lo) < 5 / 7 < float(hi) < 0.9


def test_rogan_gladen_null_when_judge_no_better_than_chance():
    assert math.isnan(float(rogan_gladen(0.5, 0.5, 0.4)))
    lo, hi = lee_adjusted_wald_ci(0.5, 0.5, 0.4, 1000, 100, 100)
    assert math.isnan(float(lo)) and math.isnan(float(hi))  # Lee's code inverts it
    # raw TPR + TNR slightly above 1 but the adjusted one not: still null
    lo, hi = lee_adjusted_wald_ci(0.5, 1.0, 0.3, 1000, 100, 1)  # q0~ + q1~ = 0.97
    assert math.isnan(float(lo))
    rng = np.random.default_rng(0)
    n = 600
    y = rng.binomial(1, 0.5, n).astype(float)
    units = pd.DataFrame(
        {"item_id": np.arange(n), "judge_pass": 1 - y,  # always wrong: TPR = TNR = 0
         "human_pass": np.where(np.arange(n) < 200, y, np.nan)}
    )  # fmt: skip
    out = corrected_rates(units).set_index("id")
    rg = out.loc["rogan_gladen_rate"]
    assert rg["estimate"] is None or pd.isna(rg["estimate"])
    assert "no better than chance" in rg["reason"]
    assert pd.isna(rg["ci_low"]) and pd.isna(rg["ci_high"])


def test_corrected_rates_slices_estimate_rates_within_the_slice():
    # The judge is lenient on generator "a" only: pooled TPR/TNR would be biased per slice.
    rng = np.random.default_rng(3)
    n = 4000
    gen = np.where(np.arange(n) % 2 == 0, "a", "b")
    y = rng.binomial(1, 0.5, n)
    fp = np.where(gen == "a", 0.4, 0.05)
    jp = np.where(y == 1, rng.random(n) < 0.9, rng.random(n) < fp).astype(int)
    units = pd.DataFrame({"item_id": np.arange(n), "judge_pass": jp, "generator": gen,
                          "human_pass": np.where(rng.random(n) < 0.3, y, np.nan)})  # fmt: skip
    out = corrected_rates(units, by=["generator"])
    assert list(out["id"][:4]) == ["naive_rate", "human_only_rate", "rogan_gladen_rate", "ppi_rate"]
    for g in ("a", "b"):
        rows = out[out["slice"].apply(lambda s, g=g: s == {"generator": g})].set_index("id")
        truth = y[gen == g].mean()
        rg = rows.loc["rogan_gladen_rate"]
        assert rg["ci_low"] <= truth <= rg["ci_high"]
        lab = units[(gen == g) & units.human_pass.notna()]
        assert rg["tnr"] == pytest.approx(((lab.human_pass == 0) & (lab.judge_pass == 0)).sum()
                                          / (lab.human_pass == 0).sum())  # fmt: skip
        if g == "a":  # the lenient slice: the naive rate is far above the truth
            assert rows.loc["naive_rate", "estimate"] > truth + 0.05
        assert rows.loc["ppi_rate", "lambda"] > 0.3
        assert "(iid)" in rows.loc["ppi_rate", "method"]  # one unit per item: closed form


def test_corrected_rates_refuses_non_binary_verdicts():
    units = pd.DataFrame({"item_id": [1, 2, 3], "judge_pass": [0, 2, 1],
                          "human_pass": [1, None, 0]})  # fmt: skip
    with pytest.raises(DataError, match="judge_pass.*0/1"):
        corrected_rates(units)


# ------------------------------------------------------------------ simulations (iid)


def test_iid_coverage_of_corrected_intervals():
    reps, theta = 1000, 0.6
    s = _iid_sums(np.random.default_rng(20261201), reps, theta, 0.9, 0.8, 500, 4500)
    lo_b, hi_b = _band(reps)
    r = _ppi_from(s)
    ppi_cov = int(np.sum((r.ci_low <= theta) & (theta <= r.ci_high)))
    _, (lo, hi) = _rg_ci_from(s)
    rg_cov = int(np.sum((lo <= theta) & (theta <= hi)))
    wil = np.array([wilson_ci(k, 500) for k in s["sy"]])
    human_cov = int(np.sum((wil[:, 0] <= theta) & (theta <= wil[:, 1])))
    naive = np.array([wilson_ci(k, 5000) for k in s["sh"] + s["su"]])
    naive_cov = int(np.sum((naive[:, 0] <= theta) & (theta <= naive[:, 1])))
    assert lo_b <= ppi_cov <= hi_b, ppi_cov
    assert lo_b <= rg_cov <= hi_b, rg_cov
    assert lo_b <= human_cov <= hi_b, human_cov
    assert naive_cov < 500, naive_cov  # biased judge (rate 0.62 vs 0.60): the naive CI misses


@pytest.mark.parametrize(
    ("acc", "band"), [(0.9, (0.58, 0.66)), (0.5, (0.97, 1.03))], ids=["corr0.8", "corr0"]
)
def test_ppi_width_relative_to_human_only(acc, band):
    # theta = 0.5 and TPR = TNR = acc: judge-human correlation 2 acc - 1 (0.8, then 0)
    s = _iid_sums(np.random.default_rng(7), 1000, 0.5, acc, acc, 500, 50_000)
    r = _ppi_from(s)
    ratio = float(np.mean(r.se / r.se_human_only))
    assert band[0] <= ratio <= band[1], ratio
    if acc == 0.5:  # plain PPI (lambda = 1) is much wider: the test catches broken tuning
        plain = _ppi_from(s, lam=1.0)
        assert float(np.mean(plain.se / plain.se_human_only)) > 1.35


# ------------------------------------------------------------------ simulations (clustered)


def _clustered_units(rng, n_items=300, per_item=6, label_share=0.3, conc=0.8):
    """Units of items with a strong item effect on the human label (ICC 1/3) and on the
    judge's errors (per-item TPR ~ Beta(mean 0.9), FPR ~ Beta(mean 0.2), concentration
    ``conc``); the humans label every unit of a random 30% of items. True human rate 0.6."""
    item = np.repeat(np.arange(n_items), per_item)
    pi = rng.beta(1.2, 0.8, n_items)[item]
    tpr = rng.beta(0.9 * conc, 0.1 * conc, n_items)[item]
    fpr = rng.beta(0.2 * conc, 0.8 * conc, n_items)[item]
    y = (rng.random(item.size) < pi).astype(float)
    jp = np.where(y == 1, rng.random(item.size) < tpr, rng.random(item.size) < fpr)
    labelled = (rng.random(n_items) < label_share)[item]
    return item, jp.astype(float), np.where(labelled, y, np.nan)


def test_clustered_bootstrap_covers_where_iid_undercovers():
    # about 7 s for 1,000 datasets of 1,800 units with 500 resamples each (measured
    # 939 / 949 for the bootstrap, 849 / 743 for the closed forms): not marked slow
    reps, theta, n_boot = 1000, 0.6, 500
    rng = np.random.default_rng(15)
    boot_cov = np.zeros(2, int)
    iid_cov = np.zeros(2, int)
    for _ in range(reps):
        S, _ = per_item_sums(*_clustered_units(rng))
        T = S.sum(axis=0)
        res = corrected_bootstrap(S, n_boot=n_boot, seed=rng)
        for k, b in enumerate(res[2:]):  # Rogan-Gladen, PPI++
            boot_cov[k] += b.ci_low is not None and b.ci_low <= theta <= b.ci_high
        s = dict(n=T[0], sy=T[1], sh=T[2], syh=T[5], nu=T[6], su=T[7])
        _, (lo, hi) = _rg_ci_from(s)
        r = _ppi_from(s)
        iid_cov += [lo <= theta <= hi, r.ci_low <= theta <= r.ci_high]
    assert (920 <= boot_cov).all() and (boot_cov <= 975).all(), boot_cov
    assert (iid_cov < 900).all(), iid_cov


def test_corrected_rates_clustered_units_use_the_cluster_bootstrap():
    rng = np.random.default_rng(4)
    item, jp, human = _clustered_units(rng)
    units = pd.DataFrame({"item_id": item, "judge_pass": jp, "human_pass": human,
                          "judge": np.where(rng.random(item.size) < 0.5, "j1", "j2")})  # fmt: skip
    out = corrected_rates(units, judge="judge", n_boot=300)
    assert sorted(out["judge"].unique()) == ["j1", "j2"]
    for _, r in out.iterrows():
        assert "cluster bootstrap over items" in r["method"] or "Clopper-Pearson" in r["method"]
        assert "(iid)" in r["iid_method"]
    ppi = out[out["id"] == "ppi_rate"].iloc[0]
    assert "lambda re-estimated" in ppi["method"]
    # the cluster interval is wider than the iid one under this clustering
    assert ppi["ci_high"] - ppi["ci_low"] > ppi["iid_ci_high"] - ppi["iid_ci_low"]


def test_ppi_null_with_reason_when_every_unit_is_labelled():
    units = pd.DataFrame({"item_id": range(50), "judge_pass": [0, 1] * 25,
                          "human_pass": [0, 1, 1, 0, 1] * 10})  # fmt: skip
    ppi = corrected_rates(units).set_index("id").loc["ppi_rate"]
    assert pd.isna(ppi["estimate"]) and "every unit is labelled" in ppi["reason"]
