"""The corrected_estimate study (issue 15 item 1): units built from verdicts (pointwise at a
threshold, pairwise oriented win rates with ties dropped and counted), the post-stratified
estimator and the labelled-vs-unlabelled check, the correction sentence, and one
`judgelab run corrected_estimate` in-process on stored verdicts of the simulated panel."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import judgelab as jl
from judgelab.data import DataError
from judgelab.stats.corrected import corrected_rates
from judgelab.stats.corrected.targets import (
    STUDY_IDS,
    corrected_findings,
    post_stratified,
    stratified_design,
)
from judgelab.stats.corrected.units import CorrectedUnits, corrected_units, pass_threshold
from judgelab.study.conclusions import render_correction_shift


# ------------------------------------------------------------------ units
class _DS:
    """A minimal dataset: responses with generators, human preferences or scores."""

    def __init__(self, responses, preferences=None, labels=None, scale=None, grades=None):
        self.name = "mini"
        self.responses = responses
        self.items = pd.DataFrame({"item_id": responses["item_id"].unique(), "prompt": "p"})
        self.preferences, self.labels = preferences, labels
        self.scale, self.grades, self.judge_scales = scale, grades, None

    def response_info(self):
        return self.responses.assign(family=self.responses["generator"].str[0])


def _pair_verdicts(rows):
    """rows: (item, a, b, order, winner) -> tidy pairwise verdicts of one judge."""
    return pd.DataFrame(
        [
            dict(
                judge="j|csv|v1",
                model="j",
                backend="csv",
                judge_version="v1",
                protocol="pairwise",
                item_id=i,
                response_a=a,
                response_b=b,
                order=o,
                sample=0,
                winner=w,
                choice="tie" if w == "tie" else ("A" if (w == a) == (o == "ab") else "B"),
                parse_ok=True,
            )
            for i, a, b, o, w in rows
        ]
    )


def test_pairwise_units_aggregate_orders_orient_to_each_answer_and_drop_ties():
    resp = pd.DataFrame(
        {
            "response_id": ["x1", "y1", "x2", "y2", "x3", "y3"],
            "item_id": ["i1", "i1", "i2", "i2", "i3", "i3"],
            "generator": ["xa", "yb"] * 3,
        }
    )
    prefs = pd.DataFrame(
        {
            "item_id": ["i1", "i1", "i1", "i2", "i3", "i3"],
            "response_a": ["x1", "y1", "x1", "x2", "x3", "x3"],
            "response_b": ["y1", "x1", "y1", "y2", "y3", "y3"],
            "rater_id": ["r1", "r2", "r3", "r1", "r1", "r2"],
            "preference": ["a", "b", "b", "tie", "a", "b"],  # i1: x1 2-1; i2, i3: human ties
        }
    )
    v = _pair_verdicts(
        [
            ("i1", "x1", "y1", "ab", "x1"),
            ("i1", "x1", "y1", "ba", "x1"),  # both orders: x1
            ("i2", "x2", "y2", "ab", "x2"),
            ("i2", "x2", "y2", "ba", "y2"),  # orders disagree: a judge tie
            ("i3", "x3", "y3", "ab", "y3"),
            ("i3", "x3", "y3", "ba", "y3"),  # decided by the judge, tied by the humans
        ]
    )
    cu = corrected_units(v, _DS(resp, preferences=prefs))
    # Rogan-Gladen's binary units: ties dropped and counted
    b = cu.binary_units.set_index("generator")
    assert cu.protocol == "pairwise" and len(b) == 2  # only i1 is left, once per answer
    assert b.loc["xa", ["judge_pass", "human_pass"]].tolist() == [1.0, 1.0]
    assert b.loc["yb", ["judge_pass", "human_pass"]].tolist() == [0.0, 0.0]
    assert b.loc["xa", "opp_generator"] == "yb"
    ex = cu.excluded["j|csv|v1"]
    assert ex["judge_tie_pairs"] == 1 and ex["human_tie_pairs"] == 1
    # the primary units: vote shares of every judged pair, both orders averaged, a tie 1/2
    u = cu.units.set_index(["item_id", "generator"])
    assert len(u) == 6 and u.loc[("i1", "xa"), "opp_generator"] == "yb"
    assert u.loc[("i1", "xa"), ["judge_pass", "human_pass"]].tolist() == [1.0, 2 / 3]
    assert u.loc[("i2", "xa"), ["judge_pass", "human_pass"]].tolist() == [0.5, 0.5]
    assert u.loc[("i3", "yb"), ["judge_pass", "human_pass"]].tolist() == [1.0, 0.5]
    assert (u["judge_pass"].groupby(level="item_id").sum() == 1).all()  # one share per pair


def _scores(judge_scores, human_scores):
    n = len(judge_scores)
    resp = pd.DataFrame(
        {
            "response_id": [f"r{k}" for k in range(n)],
            "item_id": [f"i{k // 2}" for k in range(n)],
            "generator": ["ga", "gb"] * (n // 2),
        }
    )
    v = pd.DataFrame(
        {
            "judge": "j|csv|v1",
            "model": "j",
            "judge_version": "v1",
            "protocol": "single",
            "item_id": resp["item_id"],
            "response_id": resp["response_id"],
            "score": judge_scores,
            "parse_ok": True,
        }
    )
    lab = pd.DataFrame({"response_id": resp["response_id"], "rater_id": "h", "score": human_scores})
    return v, resp, lab.dropna()


def test_pointwise_threshold_is_the_scale_midpoint_given_or_refused_when_ambiguous():
    v, resp, lab = _scores([1, 5, 3, 2], [2, 4, 3, np.nan])
    cu = corrected_units(v, _DS(resp, labels=lab, scale=(1, 5)))
    assert cu.threshold == 3.0 and "midpoint" in cu.threshold_basis
    assert cu.units["judge_pass"].tolist() == [0, 1, 1, 0]
    assert cu.units["human_pass"].tolist()[:3] == [0, 1, 1] and np.isnan(cu.units["human_pass"][3])
    assert corrected_units(v, _DS(resp, labels=lab), threshold=4).threshold == 4.0
    with pytest.raises(DataError, match=r"-p threshold T"):
        corrected_units(v, _DS(resp, labels=lab))  # no scale, scores not 0/1
    binary, resp2, lab2 = _scores([0, 1, 1, 0], [0, 1, 0, 1])
    assert pass_threshold(_DS(resp2, labels=lab2), None, binary["score"])[0] == 0.5
    graded = _DS(resp2, labels=lab2, grades={"I": 0, "P": 0.5, "C": 1})
    assert pass_threshold(graded, None, [0, 0.5, 1])[0] == 0.5


# ---------------------------------------------- stratified labelled sets, the check
def _population(n=4000, seed=0, stratified=False):
    """Units with a human truth (rate 0.4), a judge with TPR 0.85 / TNR 0.75, and a labelled
    set drawn at random or by the judge's verdict (60% of its passes, 10% of its fails)."""
    rng = np.random.default_rng(seed)
    h = (rng.random(n) < 0.4).astype(float)
    j = np.where(h == 1, rng.random(n) < 0.85, rng.random(n) < 0.25).astype(float)
    share = np.where(j == 1, 0.6, 0.1) if stratified else np.full(n, 0.25)
    lab = rng.random(n) < share
    units = pd.DataFrame(
        {
            "judge": "j",
            "item_id": np.arange(n).astype(str),
            "unit": np.arange(n).astype(str),
            "generator": "g",
            "family": "f",
            "category": None,
            "opp_generator": None,
            "opp_family": None,
            "judge_pass": j,
            "human_pass": np.where(lab, h, np.nan),
        }
    )
    return CorrectedUnits(units, "single", 0.5, "given", {}), float(h.mean())


def test_a_judge_verdict_stratified_labelled_set_is_detected_and_post_stratified():
    cu, truth = _population(stratified=True)
    f = corrected_findings(cu, n_boot=200, seed=1)
    overall = f[f["slice"].isna()].set_index("id")
    ps = overall.loc["post_stratified_rate"]
    assert ps["ci_low"] <= truth <= ps["ci_high"]
    # the human-only rate is biased upwards: the judge's passes are over-sampled
    assert overall.loc["human_only_rate", "ci_low"] > truth
    for fid in ("rogan_gladen_rate", "ppi_rate"):
        assert pd.isna(overall.loc[fid, "estimate"])
        assert "stratified by judge verdict (detected" in overall.loc[fid, "reason"]
    assert overall.loc["correction_shift", "estimator"] == "post_stratified_rate"
    gap = overall.loc["labelled_judge_rate_gap"]
    assert gap["ci_low"] > 0 and gap["design"] == "stratified"


def test_a_random_labelled_set_is_not_called_stratified_and_the_gap_covers_zero():
    cu, truth = _population(stratified=False, seed=2)
    f = corrected_findings(cu, n_boot=200, seed=1)
    overall = f[f["slice"].isna()].set_index("id")
    assert "post_stratified_rate" not in overall.index
    assert set(overall.index) == set(STUDY_IDS) - {"post_stratified_rate"}
    gap = overall.loc["labelled_judge_rate_gap"]
    assert gap["ci_low"] <= 0 <= gap["ci_high"] and gap["design"] == "random"
    for fid in ("rogan_gladen_rate", "ppi_rate"):
        assert overall.loc[fid, "ci_low"] <= truth <= overall.loc[fid, "ci_high"]
    # the study's four estimators are corrected_rates' own (one home)
    rates = corrected_rates(cu.units, verdict="judge_pass", human="human_pass", n_boot=10)
    for fid in ("naive_rate", "human_only_rate", "rogan_gladen_rate", "ppi_rate"):
        want = rates.loc[rates["id"] == fid, "estimate"].iloc[0]
        assert overall.loc[fid, "estimate"] == pytest.approx(want)
    shift = overall.loc["correction_shift"]
    assert shift["estimator"] == "ppi_rate"
    assert shift["estimate"] == pytest.approx(
        overall.loc["ppi_rate", "estimate"] - overall.loc["naive_rate", "estimate"]
    )


def test_post_stratified_and_design_test_from_totals():
    # labelled: 10 judge passes (8 human passes), 10 judge fails (2 human passes); p = 0.5
    T = np.array([[20, 10, 10, 10, 10, 8, 80, 40, 40]], dtype=float)
    assert post_stratified(T)[0] == pytest.approx(0.5 * 0.8 + 0.5 * 0.2)
    assert stratified_design(T[0])[0] is False
    T2 = np.array([60, 30, 50, 30, 50, 28, 40, 0, 0], dtype=float)  # labels only on passes...
    assert stratified_design(T2)[0] is True


# ---------------------------------------------------------------- conclusions
def test_the_correction_sentence_reads_the_shift_row():
    row = dict(
        id="correction_shift",
        estimate=-0.0712,
        ci_low=-0.11,
        ci_high=-0.032,
        naive_estimate=0.81,
        corrected_estimate=0.7388,
        estimator="ppi_rate",
        slice={"generator": "gpt-x"},
        protocol="pairwise",
    )
    text = render_correction_shift(row)
    assert text == (
        "For gpt-x's win rate, correcting for the judge's errors moves the estimate by -0.071 "
        "(95% CI -0.110 to -0.032): from the judge's 0.810 to 0.739 (PPI++); the judge's rate "
        "is off beyond noise."
    )
    overall = {**row, "slice": None, "protocol": "single", "ci_low": -0.2, "ci_high": 0.05}
    assert render_correction_shift(overall).startswith("For the pass rate, correcting")
    assert "beyond noise" not in render_correction_shift(overall)
    assert render_correction_shift({**row, "estimate": None}) is None


# ------------------------------------------------------------------ the study
@pytest.fixture(scope="module")
def sim_verdicts(tmp_path_factory):
    """Three simulated judges on the demo's 480 human pairs, sampled without litellm."""
    from judgelab import sim

    ds = jl.load_dataset("demo")
    pairs = ds.pairs("human")
    judges = [sim.judge("aurora-lite"), sim.judge("basalt-s"), sim.judge("cirrus-nano")]
    v = sim.sample_verdicts(pairs, sim.responses_frame(ds), judges, render=True)
    path = tmp_path_factory.mktemp("corrected") / "verdicts.parquet"
    v.to_parquet(path)
    return path


def test_study_runs_through_the_cli_on_stored_verdicts(sim_verdicts, tmp_path):
    from typer.testing import CliRunner

    from judgelab.cli import app

    out = tmp_path / "corrected"
    args = ["run", "corrected_estimate", "-p", "verdicts", str(sim_verdicts)]
    args += ["-p", "label_share", "0.3", "-p", "n_boot", "200", "-p", "target_rate", "0.3"]
    args += ["--out", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "findings.json").read_text())
    f = pd.DataFrame(doc["findings"])
    assert set(f["id"]) == set(STUDY_IDS) - {"post_stratified_rate"}
    assert f["judge"].nunique() == 3
    # the naive win rate of a generator equals the judge's share computed from the units
    ctx = jl.studies.prepare("corrected_estimate", verdicts=str(sim_verdicts), label_share=0.3)
    cu = corrected_units(ctx.verdicts, ctx.dataset, label_share=0.3)
    judge = sorted(cu.units["judge"].unique())[0]
    u = cu.units[(cu.units["judge"] == judge) & (cu.units["generator"] == "aurora-max")]
    u = u[u["opp_generator"] != "aurora-max"]
    row = f[
        (f["id"] == "naive_rate")
        & (f["judge"] == judge)
        & f["slice"].map(lambda s: s == {"generator": "aurora-max"})
    ].iloc[0]
    assert row["estimate"] == pytest.approx(u["judge_pass"].mean())
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    # a random 30% of the human pairs labelled: PPI++ is defined, with lambda and n_eff
    ppi = f[(f["id"] == "ppi_rate") & f["estimate"].notna()]
    assert len(ppi) > 0 and ppi["lambda"].between(0, 1).all()
    assert (ppi["n_eff"].dropna() >= 0).all() and ppi["n_eff"].notna().mean() > 0.5
    share = u["human_pass"].notna().mean()
    assert 0.2 < share < 0.4
    # every defined rate is decided against the target rate the run gave, by the CI's bounds
    rates = f[f["id"].isin(["naive_rate", "human_only_rate", "rogan_gladen_rate", "ppi_rate"])]
    assert (rates["target_rate"] == 0.3).all()
    defined = rates[rates["ci_low"].notna()]
    assert defined["decision"].notna().all()
    want = np.where(
        defined["ci_low"] >= 0.3,
        "established",
        np.where(defined["ci_high"] < 0.3, "refuted", "inconclusive"),
    )
    assert (defined["decision"] == want).all()
    # the primary shifts (each generator's win rate) are tested against 0
    prim = f[(f["id"] == "correction_shift") & f["primary"].fillna(False).astype(bool)]
    assert len(prim) > 0 and prim.loc[prim["ci_low"].notna(), "decision"].notna().all()
    # the sentences, the Conclusions and Caveats of the report, the forest plot
    shifts = f[f["id"] == "correction_shift"]
    assert (
        shifts["conclusion"]
        .dropna()
        .str.contains(
            r"correcting for the judge's errors moves the estimate by [+-]\d\.\d{3} \(95% CI"
        )
        .all()
    )
    html = (out / "corrected_estimate.html").read_text()
    assert "Conclusions per judge" in html and "Assumption check" in html
    assert re.search(r"PPI\+\+</strong> assumes the labelled units are a random sample", html)
    assert (out / "figures" / "corrected_forest.svg").is_file()
    record = json.loads((out / "run_record.json").read_text())
    assert record["study"]["name"] == "corrected_estimate"
    assert record["parameters"]["effective"]["label_share"] == 0.3


def test_margin_parameters_change_verdicts_and_bad_ones_are_refused(sim_verdicts, tmp_path):
    """Issue 15: a margin is a study parameter (-p shift_margin), recorded in the run record,
    applied by the save step; a margin outside (0, 1) is refused before the kernel starts."""
    from typer.testing import CliRunner

    from judgelab.cli import app
    from judgelab.stats.decision import CLAIMS, decide

    base = ["run", "corrected_estimate", "-p", "verdicts", str(sim_verdicts)]
    base += ["-p", "label_share", "0.3", "-p", "n_boot", "200"]
    for bad, accepts in [("-0.05", "in (0, 1)"), ("1", "in (0, 1)"), ("0", "in (0, 1)")]:
        out = tmp_path / f"bad{bad}"
        res = CliRunner().invoke(app, [*base, "-p", "shift_margin", bad, "--out", str(out)])
        assert res.exit_code == 1, res.output
        assert f"shift_margin: got {float(bad)!r} (float); accepts a number {accepts}" in (
            res.output
        )
        assert "Traceback" not in res.output and not out.exists()
    out = tmp_path / "wide"
    res = CliRunner().invoke(app, [*base, "-p", "shift_margin", "0.25", "--out", str(out)])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "run_record.json").read_text())
    assert record["parameters"]["effective"]["shift_margin"] == 0.25
    assert record["parameters"]["effective"]["rate_margin"] == CLAIMS["ppi_rate"].margin
    rows = [
        r
        for r in json.loads((out / "findings.json").read_text())["findings"]
        if r["id"] == "correction_shift" and r.get("primary") and r.get("ci_low") is not None
    ]
    assert rows and all(r["decision_margin"] == 0.25 for r in rows)
    default = CLAIMS["correction_shift"]
    changed = 0
    for r in rows:
        was = decide(r["estimate"], r["ci_low"], r["ci_high"], default, n=r["n"])["decision"]
        assert r["decision"] in ("established", "refuted", "inconclusive")
        # a CI inside +/- 0.25 refutes at the wider margin what +/- 0.05 left open
        if was == "inconclusive" and -0.25 < r["ci_low"] and r["ci_high"] < 0.25:
            assert r["decision"] == "refuted"
            changed += 1
        else:
            assert r["decision"] == was
    assert changed > 0


def test_a_dataset_without_human_labels_is_refused_before_the_kernel(tmp_path):
    from typer.testing import CliRunner

    from judgelab.cli import app

    demo = jl.load_dataset("demo")
    data = tmp_path / "nolabels"
    data.mkdir()
    (data / "dataset.yaml").write_text("name: nolabels\nlicence: CC0\n")
    demo.items.to_csv(data / "items.csv", index=False)
    demo.responses.to_csv(data / "responses.csv", index=False)
    v = _pair_verdicts([("i", "a", "b", "ab", "a")]).drop(columns="judge")
    pairs = demo.pairs("human", n_pairs=5, seed=0)
    v = pd.concat(
        [
            v.assign(
                item_id=r.item_id,
                response_a=r.response_a,
                response_b=r.response_b,
                winner=r.response_a,
                choice="A",
            )
            for r in pairs.itertuples()
        ]
    )
    v["judge_family"] = "x"
    v.to_csv(tmp_path / "v.csv", index=False)
    res = CliRunner().invoke(
        app,
        ["run", "corrected_estimate", "-p", "dataset", str(data), "-p", "verdicts",
         str(tmp_path / "v.csv"), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "has no human preferences between two answers (table preferences)" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "out" / "findings.json").exists()


def test_corrected_rates_without_a_target_rate_say_how_to_give_one():
    from judgelab.stats.decision import apply_decisions

    cu, _ = _population(seed=3)
    f = corrected_findings(cu, n_boot=50, seed=1).assign(target_rate=None)
    out = apply_decisions(f).set_index("id")
    ppi = out.loc["ppi_rate"]
    ppi = ppi[ppi["slice"].isna()].iloc[0] if isinstance(ppi, pd.DataFrame) else ppi
    assert ppi["decision"] is None and "-p target_rate" in ppi["decision_reason"]


def test_the_rogan_gladen_undefined_reason_is_one_text_with_the_rates_in_columns():
    from judgelab.stats.corrected.estimates import corrected_rate_rows, per_item_sums

    reasons = set()
    for flip in (0.55, 0.7):  # two judges worse than chance, with different TPR / TNR
        rng = np.random.default_rng(int(flip * 100))
        h = (rng.random(400) < 0.5).astype(float)
        j = np.where(rng.random(400) < flip, 1 - h, h)
        S, _ = per_item_sums(np.arange(400), j, np.where(rng.random(400) < 0.5, h, np.nan))
        rg = next(r for r in corrected_rate_rows(S) if r["id"] == "rogan_gladen_rate")
        assert rg["estimate"] is None and rg["tpr"] + rg["tnr"] <= 1
        reasons.add(rg["reason"])
    assert len(reasons) == 1 and "TPR + TNR <= 1" in reasons.pop()


# ------------------------------------------------------------- few labelled items
def test_with_few_labelled_items_the_corrected_intervals_contain_the_exact_human_one():
    """PPI++'s Wald interval covers about 0.85 with 12 labelled items (its variance rests on
    those labels); widened to contain the labels' Clopper-Pearson interval it covers >= 0.93.
    With 30 or more labelled items nothing is widened."""
    from judgelab.stats.corrected.estimates import corrected_rate_rows, per_item_sums
    from judgelab.stats.intervals import MIN_CONTRIBUTING_ITEMS, clopper_pearson

    def rows(n_lab, seed):
        rng = np.random.default_rng(seed)
        h = (rng.random(1000) < 0.6).astype(float)
        j = np.where(rng.random(1000) < 0.85, h, 1 - h)
        lab = np.zeros(1000, bool)
        lab[rng.choice(1000, n_lab, replace=False)] = True
        S, _ = per_item_sums(np.arange(1000), j, np.where(lab, h, np.nan))
        return {r["id"]: r for r in corrected_rate_rows(S)}, h[lab].sum()

    hits = 0
    for seed in range(300):
        r, k = rows(12, seed)
        ppi = r["ppi_rate"]
        assert ppi["few_labels_floor"] and "widened to contain" in ppi["method"]
        lo, hi = clopper_pearson(k, 12)
        assert ppi["ci_low"] <= lo + 1e-12 and ppi["ci_high"] >= hi - 1e-12
        hits += ppi["ci_low"] <= 0.6 <= ppi["ci_high"]
    assert hits / 300 >= 0.93
    r, _ = rows(MIN_CONTRIBUTING_ITEMS, 0)
    assert not r["ppi_rate"]["few_labels_floor"] and not r["rogan_gladen_rate"]["few_labels_floor"]
    assert (r["ppi_rate"]["ci_low"], r["ppi_rate"]["ci_high"]) == (
        r["ppi_rate"]["iid_ci_low"],
        r["ppi_rate"]["iid_ci_high"],
    )


# ------------------------------------------------------------------ rubric verdicts
def test_rubric_verdicts_are_analysed_after_the_stated_level():
    resp = pd.DataFrame(
        {
            "response_id": [f"r{k}" for k in range(6)],
            "item_id": [f"i{k // 2}" for k in range(6)],
            "generator": ["ga", "gb"] * 3,
        }
    )
    judge = ["pass", "warn", "fail", "pass", "warn", "PASS"]
    v = pd.DataFrame(
        {
            "judge": "j|csv|v1",
            "model": "j",
            "judge_version": "v1",
            "protocol": "rubric",
            "item_id": resp["item_id"],
            "response_id": resp["response_id"],
            "verdict": judge,
            "parse_ok": True,
        }
    )
    labels = pd.DataFrame(
        {
            "response_id": ["r0", "r1", "r2", "r3", "r3"],
            "rater_id": ["h1"] * 4 + ["h2"],
            "section": ["overall"] * 5,
            "label": ["pass", "pass", "warn", "fail", "fail"],
        }
    )
    ds = _DS(resp)
    ds.rubric_labels = labels
    strict = corrected_units(v, ds).units.set_index("unit")  # the one protocol held: rubric
    assert strict["judge_pass"].tolist() == [1, 0, 0, 1, 0, 1]
    assert strict["human_pass"].iloc[:4].tolist() == [1, 1, 0, 0]
    assert strict["human_pass"].iloc[4:].isna().all()
    lenient = corrected_units(v, ds, rubric_pass="warn")
    assert lenient.units["judge_pass"].tolist() == [1, 1, 0, 1, 1, 1]
    assert lenient.units["human_pass"].iloc[:4].tolist() == [1, 1, 1, 0]
    assert "pass or warn vs fail" in lenient.threshold_basis
    f = corrected_findings(lenient, n_boot=20).set_index("id")
    naive = f.loc["naive_rate"]
    overall = naive[naive["slice"].isna()].iloc[0]
    assert overall["estimate"] == pytest.approx(5 / 6) and overall["protocol"] == "rubric"
    with pytest.raises(DataError, match="rubric_pass must be pass"):
        corrected_units(v, ds, rubric_pass="fail")
