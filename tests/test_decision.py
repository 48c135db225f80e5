"""Decisive verdicts (judgelab.stats.decision): the rule, the sample size of an inconclusive
verdict, the gate's agreement with its stand-in verdict, and the columns findings carry."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from judgelab.findings import adjusted_findings, answers
from judgelab.stats._tidy import finding
from judgelab.stats.calibration.gate import stand_in_verdict
from judgelab.stats.decision import (
    CLAIMS,
    Claim,
    apply_decisions,
    decide,
    more_units,
)
from judgelab.stats.estimands import ESTIMANDS

BIAS = Claim("bias", 0.5, 0.05, "two-sided", "pairs")
ONE_SIDED = Claim("bias", 0.0, 0.05, "larger", "units")
GATE = Claim("threshold", 0.75, 0.05, "larger", "labels")


@pytest.mark.parametrize(
    "lo, hi, claim, expected",
    [
        (0.56, 0.70, BIAS, "established"),  # excludes 0.5 above
        (0.30, 0.44, BIAS, "established"),  # two-sided: below counts too
        (0.46, 0.54, BIAS, "refuted"),  # inside 0.45-0.55
        (0.44, 0.54, BIAS, "inconclusive"),
        (-0.10, -0.02, ONE_SIDED, "refuted"),  # below the null: the claim (> 0) is refuted
        (0.01, 0.09, ONE_SIDED, "established"),
        (-0.02, 0.07, ONE_SIDED, "inconclusive"),
        (0.76, 0.90, GATE, "established"),
        (0.60, 0.74, GATE, "refuted"),
        (0.70, 0.80, GATE, "inconclusive"),
    ],
)
def test_rule(lo, hi, claim, expected):
    out = decide((lo + hi) / 2, lo, hi, claim, n=200)
    assert out["decision"] == expected
    assert (out["more_units"] is not None) == (expected == "inconclusive")


def test_undefined_estimate_has_no_decision_and_says_why():
    out = decide(None, None, None, BIAS, n=10)
    assert out["decision"] is None and "nothing to decide" in out["decision_reason"]
    out = decide(0.5, 0.4, 0.6, Claim("threshold", float("nan"), 0.05))
    assert out["decision"] is None and "target" in out["decision_reason"]


def test_more_units_plans_at_the_margin_not_the_observed_effect():
    # the same CI width gives the same answer whatever the point estimate
    a = more_units(100, 0.40, 0.60, BIAS)
    b = more_units(100, 0.48, 0.68, BIAS)
    assert a == b > 0
    # SE 0.1/1.96 -> needed 0.05 / (1.96 + z_0.9): n * (se / needed)^2
    se = 0.1 / 1.959964
    need = 0.05 / (1.959964 + 1.281552)
    assert a == pytest.approx(np.ceil(100 * (se / need) ** 2) - 100, abs=1)
    # a gate plans for one-sided 80% power (z_0.8), so needs fewer than the bias' two bounds
    assert more_units(100, 0.40, 0.60, GATE) < a
    # a wider margin needs fewer units
    assert more_units(100, 0.40, 0.60, Claim("bias", 0.5, 0.1)) < a


def test_more_units_decides_in_simulation():
    """At the planned n a zero bias is refuted about 80% of the time (two one-sided bounds set
    the size) and a bias of the margin's size is established at least that often (about 90%),
    for normal estimates with the SE the planned n implies."""
    n0, lo, hi = 100, 0.40, 0.60
    n_total = n0 + more_units(n0, lo, hi, BIAS)
    se = (hi - lo) / (2 * 1.959964) * np.sqrt(n0 / n_total)
    rng = np.random.default_rng(3)
    est = 0.55 + se * rng.standard_normal(20_000)
    established = np.mean((est - 1.959964 * se > 0.5) | (est + 1.959964 * se < 0.5))
    assert 0.88 <= established <= 0.92
    est0 = 0.5 + se * rng.standard_normal(20_000)
    refuted = np.mean((est0 - 1.959964 * se > 0.45) & (est0 + 1.959964 * se < 0.55))
    assert 0.78 <= refuted <= 0.83


def test_gate_decision_never_disagrees_with_the_stand_in_verdict():
    words = {"stand_in": "established", "cannot": "refuted", "not_established": "inconclusive"}
    grid = itertools.product(
        [None, 0, 1, 2],  # gate at CI low
        [0.5, 0.7, 0.8, 0.95],  # kappa CI high
        [None, 0.5, 0.9],  # human kappa
        [None, True, False],  # as good as human
        [None, -0.2, 0.1],  # aag CI high
    )
    for g_lo, k_hi, hk, good, aag_hi in grid:
        verdict, required = stand_in_verdict(
            gate_at_ci_low=g_lo,
            kappa_ci_high=k_hi,
            human_kappa=hk,
            as_good_as_human=good,
            aag_ci_high=aag_hi,
        )
        bar = 0.75 if required == 2 else 0.60
        # the kappa lower bound consistent with g_lo (above the bar when the gate clears it)
        k_lo = {None: None, 0: 0.3, 1: 0.65, 2: 0.8}[g_lo]
        if k_lo is not None and k_lo > k_hi:
            continue
        row = finding(
            "gate",
            2,
            n=100,
            verdict=verdict,
            required_level={2: "pass", 1: "warn"}[required],
            kappa=None if k_lo is None else (k_lo + k_hi) / 2,
            kappa_ci_low=k_lo,
            kappa_ci_high=k_hi,
            pass_kappa=0.75,
            warn_kappa=0.60,
        )
        out = apply_decisions(pd.DataFrame([row])).iloc[0]
        if k_lo is None and verdict != "cannot":
            assert out["decision"] is None
            continue
        assert out["decision"] == words[verdict], (g_lo, k_hi, hk, good, aag_hi, bar)


def test_only_primary_bias_rows_are_decided_and_estimates_are_kept():
    rows = [
        finding("first_slot_share", 0.7, judge="j", ci_low=0.6, ci_high=0.8, n=50, primary=True),
        finding("first_slot_share", 0.7, judge="k", ci_low=0.6, ci_high=0.8, n=50),
        finding("position_consistency", 0.9, judge="j", ci_low=0.8, ci_high=0.95, n=50),
    ]
    f = adjusted_findings(rows, adjust_p=False)
    assert f["decision"].tolist() == ["established", None, None]
    assert f["estimate"].tolist() == [0.7, 0.7, 0.9]
    assert f["estimand"].notna().all()
    assert "decision" in answers(f).columns


def test_margins_override_and_unknown_ids_are_refused():
    row = finding("first_slot_share", 0.5, ci_low=0.42, ci_high=0.58, n=80, primary=True)
    f = pd.DataFrame([row])
    assert apply_decisions(f)["decision"].iloc[0] == "inconclusive"
    assert apply_decisions(f, margins={"first_slot_share": 0.1})["decision"].iloc[0] == "refuted"
    with pytest.raises(ValueError, match="no decisive claim"):
        apply_decisions(f, margins={"accuracy": 0.1})


def test_every_claim_has_one_margin_parameter_whose_default_is_the_documented_margin():
    from judgelab import study
    from judgelab.stats.decision import CLAIMS, GATE_MARGIN, default_margin

    owners: dict[str, str] = {}
    for decl in study.BUILTIN_STUDIES.values():
        for name, ids in decl.margins.items():
            assert decl.parameter(name).default == default_margin(ids)
            for i in ids:
                assert i not in owners, f"{i}: margin of {owners.get(i)} and {name}"
                owners[i] = name
    assert set(owners) == {*CLAIMS, "gate"}  # each decided id has its parameter
    assert default_margin("gate") == GATE_MARGIN
    with pytest.raises(ValueError, match="different default margins"):
        default_margin(["first_slot_share", "self_preference_logit"])
    # the save step's margins: the parameters given, the declared default for the rest
    ce = study.declaration("corrected_estimate")
    got = ce.decision_margins({"shift_margin": 0.1, "rate_margin": None})
    assert got["correction_shift"] == 0.1 and got["ppi_rate"] == CLAIMS["ppi_rate"].margin
    # a wider gate margin plans fewer more labels for the same inconclusive gate
    gate_row = finding(
        "gate", 0.78, judge="j", n=200, verdict="not_established", required_level="pass",
        kappa=0.78, kappa_ci_low=0.7, kappa_ci_high=0.86, pass_kappa=0.75, warn_kappa=0.6,
    )  # fmt: skip
    gate = pd.DataFrame([gate_row])
    narrow = apply_decisions(gate)["more_units"].iloc[0]
    wide = apply_decisions(gate, margins={"gate": 0.15})["more_units"].iloc[0]
    assert narrow > wide >= 0
    with pytest.raises(ValueError, match="margins must be numbers > 0"):
        apply_decisions(gate, margins={"gate": -0.1})


def test_corrected_rates_are_decided_against_their_target():
    rows = [
        finding("ppi_rate", 0.8, ci_low=0.76, ci_high=0.84, n=300, target_rate=0.7),
        finding("naive_rate", 0.8, ci_low=0.76, ci_high=0.84, n=300),
    ]
    f = apply_decisions(pd.DataFrame(rows))
    assert f["decision"].iloc[0] == "established"
    assert f["decision"].iloc[1] is None and "target" in f["decision_reason"].iloc[1]


def test_every_baseline_finding_id_and_claim_names_its_estimand():
    ids = set(CLAIMS) | {"gate"}
    for path in (Path(__file__).parent / "baselines").glob("*.json"):
        ids |= {r["id"] for r in json.loads(path.read_text())["findings"]}
    missing = sorted(i for i in ids if i not in ESTIMANDS)
    assert not missing, f"finding ids without an estimand sentence: {missing}"


def test_corrected_estimate_rows_of_the_package_get_decisions():
    """The rows stats/corrected builds (naive, human-only, Rogan-Gladen, PPI++) are decided
    by the same rule once they carry a target rate; the estimates are not touched."""
    from judgelab.stats.corrected.estimates import corrected_rate_rows, per_item_sums

    rng = np.random.default_rng(4)
    n = 3000
    human = rng.binomial(1, 0.7, n).astype(float)
    judge = np.where(rng.random(n) < 0.85, human, 1 - human)
    labelled = np.where(rng.random(n) < 0.2, human, np.nan)
    sums, _ = per_item_sums(np.arange(n), judge, labelled)
    rows = corrected_rate_rows(sums, judge="j")
    f = pd.DataFrame([{**r, "target_rate": 0.6} for r in rows])
    out = apply_decisions(f)
    assert set(out["id"]) == {"naive_rate", "human_only_rate", "rogan_gladen_rate", "ppi_rate"}
    assert out["decision"].notna().all() and out["estimand"].notna().all()
    pd.testing.assert_series_equal(out["estimate"], f["estimate"])
    # the corrected estimates clear 0.6 (the human rate is 0.7)
    assert (out.set_index("id").loc[["rogan_gladen_rate", "ppi_rate"], "decision"]
            == "established").all()  # fmt: skip


def test_caveats_say_how_many_more_units_would_decide_an_inconclusive_test():
    from judgelab.findings import caveats

    rows = [
        finding("first_slot_share", 0.5, judge="a|b|c", ci_low=0.42, ci_high=0.58, n=80,
                primary=True),
    ]  # fmt: skip
    f = adjusted_findings(rows, adjust_p=False)
    more = int(f["more_units"].iloc[0])
    lines = [c for c in caveats("position_bias", f) if "inconclusive" in c]
    assert lines == [
        f"* `first_slot_share` is inconclusive for a: about {more} more order-inconsistent "
        "pairs would decide it at the planned margin 0.05."
    ]
