"""Conclusions and caveats rendered from structured findings: the audit's three answers, the
comparison's can / cannot with its cost share, short labels, and the index's answers."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from judgelab import findings as F
from judgelab import report
from judgelab.report.html import ANSWERS_TABLE_CLASS
from judgelab.stats._tidy import finding
from judgelab.stats.calibration.gate import CANNOT, NOT_ESTABLISHED, STAND_IN, stand_in_verdict
from judgelab.stats.compare import replacement_verdict

A = "judgelab-sim/aurora-max|judgelab-sim:aa|aurora-max-v1"
B = "judgelab-sim/basalt-s|judgelab-sim:bb|basalt-s-v1"
C = "judgelab-sim/cirrus-nano|judgelab-sim:cc|cirrus-nano-v1"
JUDGES = [
    {
        "model": "judgelab-sim/basalt-s",
        "backend": "judgelab-sim:bb",
        "judge_version": "basalt-s-v1",
        "family": "basalt",
    },
    {
        "model": "judgelab-sim/cirrus-nano",
        "backend": "judgelab-sim:cc",
        "judge_version": "cirrus-nano-v1",
        "family": "cirrus",
    },
]


def _gate(judge, verdict_inputs: dict, **fields):
    verdict, required = stand_in_verdict(**verdict_inputs)
    return finding(
        "gate",
        fields.pop("estimate", 1),
        judge=judge,
        verdict=verdict,
        required_level={1: "warn", 2: "pass"}[required],
        pass_kappa=0.75,
        warn_kappa=0.6,
        human_kappa=verdict_inputs.get("human_kappa"),
        **fields,
    )


# ------------------------------------------------------------ the audit's three answers
def test_stand_in_verdict_three_outcomes_and_the_bar_follows_the_human_ceiling():
    common = dict(as_good_as_human=True, aag_ci_high=0.02)
    # humans agree above the pass bar: the bar is pass
    assert stand_in_verdict(gate_at_ci_low=2, kappa_ci_high=0.9, human_kappa=0.8, **common) == (
        STAND_IN,
        2,
    )
    assert stand_in_verdict(gate_at_ci_low=1, kappa_ci_high=0.74, human_kappa=0.8, **common) == (
        CANNOT,
        2,
    )
    assert stand_in_verdict(gate_at_ci_low=1, kappa_ci_high=0.8, human_kappa=0.8, **common) == (
        NOT_ESTABLISHED,
        2,
    )
    # humans agree below pass: warn established and as good as a human annotator
    assert stand_in_verdict(gate_at_ci_low=1, kappa_ci_high=0.8, human_kappa=0.62, **common) == (
        STAND_IN,
        1,
    )
    no_aag = dict(as_good_as_human=False, aag_ci_high=-0.01)
    assert (
        stand_in_verdict(gate_at_ci_low=1, kappa_ci_high=0.8, human_kappa=0.62, **no_aag)[0]
        == NOT_ESTABLISHED
    )
    worse = dict(as_good_as_human=False, aag_ci_high=-0.09)
    assert (
        stand_in_verdict(gate_at_ci_low=1, kappa_ci_high=0.8, human_kappa=0.62, **worse)[0]
        == CANNOT
    )
    # no CI at all: nothing is established, nothing ruled out
    assert (
        stand_in_verdict(
            gate_at_ci_low=None,
            kappa_ci_high=None,
            human_kappa=None,
            as_good_as_human=None,
            aag_ci_high=None,
        )[0]
        == NOT_ESTABLISHED
    )


def _audit_findings():
    aag = dict(as_good_as_human=True, aag_ci_high=0.03)
    return pd.DataFrame(
        [
            _gate(
                A,
                dict(gate_at_ci_low=1, kappa_ci_high=0.8, human_kappa=0.62, **aag),
                kappa=0.76,
                kappa_ci_low=0.70,
                kappa_ci_high=0.8,
                alternative_annotator_gap=0.02,
                as_good_as_human=True,
                gate_label="warn",
                n=400,
            ),
            _gate(
                B,
                dict(
                    gate_at_ci_low=0,
                    kappa_ci_high=0.55,
                    human_kappa=0.62,
                    as_good_as_human=False,
                    aag_ci_high=-0.09,
                ),
                estimate=0,
                kappa=0.5,
                kappa_ci_low=0.45,
                kappa_ci_high=0.55,
                alternative_annotator_gap=-0.12,
                as_good_as_human=False,
                gate_label="fail",
                n=410,
            ),
            _gate(
                C,
                dict(
                    gate_at_ci_low=0,
                    kappa_ci_high=0.68,
                    human_kappa=0.62,
                    as_good_as_human=False,
                    aag_ci_high=0.01,
                ),
                kappa=0.61,
                kappa_ci_low=0.55,
                kappa_ci_high=0.68,
                alternative_annotator_gap=-0.04,
                as_good_as_human=False,
                gate_label="warn",
                n=420,
            ),
            finding(
                "signed_bias",
                0.09,
                judge=B,
                primary=True,
                p_value=0.001,
                slice={"family": "aurora"},
                n=410,
            ),
            finding(
                "signed_bias",
                0.01,
                judge=C,
                primary=True,
                p_value=0.8,
                slice={"family": "aurora"},
                n=420,
            ),
            finding(
                "accuracy",
                None,
                judge=C,
                slice={"family": "x"},
                reason="no pair of family x has a reference",
            ),
        ]
    )


def test_audit_conclusion_per_judge_says_stand_in_cannot_or_not_established_and_why():
    f = F.render_conclusions(F.adjust(_audit_findings()))
    lines = F.conclusions(
        "calibration_audit",
        f,
        [
            {
                "model": "judgelab-sim/aurora-max",
                "backend": "judgelab-sim:aa",
                "judge_version": "aurora-max-v1",
            },
            *JUDGES,
        ],
    )
    assert len(lines) == 4
    bar, a, b, c = lines
    assert "humans agree with each other at kappa 0.62" in bar and "warn (0.6)" in bar
    assert a.startswith("* **aurora-max**: Can stand in for humans on this data")
    assert "as good as a human annotator" in a
    assert b.startswith("* **basalt-s**: Cannot stand in") and "below the warn bar 0.6" in b
    # the significant primary signed bias is named (Holm over 2 tests: p 0.002)
    assert "favours aurora's answers" in b
    assert c.startswith("* **cirrus-nano**: Not established") and "spans the warn bar" in c
    assert "favours" not in c  # not significant: not stated
    for line in lines:
        assert "|" not in line  # short labels, never identity strings
    # the row's own conclusion in findings.json is the rendered sentence
    assert f.loc[f["id"] == "gate", "conclusion"].str.contains("stand in").all()


def test_caveats_give_sample_sizes_undefined_findings_partial_runs_and_the_legend():
    f = F.render_conclusions(F.adjust(_audit_findings()))
    stop = {"by": "max_cost_usd", "not_sent": 12, "calls": 40, "spent_usd": 0.5, "budget_usd": 0.5}
    text = F.caveats_markdown("calibration_audit", f, JUDGES, [{"stopped": [stop]}])
    assert "each answer above rests on 400 to 420 units" in text
    assert "`accuracy` not estimable for cirrus-nano: no pair of family x has a reference." in text
    assert "Partial run: STOPPED by max_cost_usd: 12 of 40 calls not sent" in text
    assert "| basalt-s | judgelab-sim/basalt-s | judgelab-sim:bb | basalt-s-v1 | basalt |" in text
    assert "Kappa depends on the class balance" in text


# ------------------------------------------------------------ the comparison
def _comparison_findings(ci):
    lo, hi = ci
    return pd.DataFrame(
        [
            finding("cost_per_1k_usd", 4.0, judge=A, ci_level=None),
            finding("cost_per_1k_usd", 0.08, judge=B, ci_level=None),
            finding(
                "accuracy_difference",
                (lo + hi) / 2,
                judge=B,
                primary=True,
                ci_low=lo,
                ci_high=hi,
                p_value=0.01,
                margin=0.03,
                verdict=replacement_verdict(lo, hi, 0.03),
                n=300,
            ),
            finding(
                "accuracy_vs_human",
                0.8,
                judge=B,
                method="bootstrap; reference human majority; units per_call",
                n=300,
                n_excluded=12,
            ),
        ]
    )


@pytest.mark.parametrize(
    "ci, words",
    [
        ((-0.02, 0.01), "can replace aurora-max at margin 0.03, at 2.0% of aurora-max's cost"),
        ((-0.09, -0.05), "cannot replace aurora-max at margin 0.03, at 2.0% of aurora-max's cost"),
        ((-0.06, 0.0), "not established whether it can replace aurora-max at margin 0.03, at 2.0%"),
    ],
)
def test_comparison_conclusion_can_or_cannot_replace_at_the_margin_with_cost_share(ci, words):
    f = F.render_conclusions(F.adjust(_comparison_findings(ci)))
    lines = F.conclusions("judge_comparison", f, JUDGES)
    assert lines[0].startswith(f"* **basalt-s** {words}")
    row = f[f["id"] == "accuracy_difference"].iloc[0]
    assert row["conclusion"].startswith(words.split(" aurora-max")[0].capitalize())
    assert "the source" in row["conclusion"]  # the row does not know the source's label


def test_replacement_verdict_reads_both_ends_of_the_ci():
    assert replacement_verdict(-0.02, 0.01, 0.03) == "can_replace"
    assert replacement_verdict(-0.09, -0.031, 0.03) == "cannot_replace"
    assert replacement_verdict(-0.05, -0.01, 0.03) == "not_established"
    assert replacement_verdict(None, None, 0.03) == "not_established"


# ------------------------------------------------------------ wording faults
def test_entanglement_conclusions_name_judges_by_short_label():
    f = pd.DataFrame(
        [
            finding("alpha_gap", 0.1, primary=True, p_value=0.01, conclusion=f"{A} and {B} agree."),
            finding("outlier_rate", 0.3, judge=B),
        ]
    )
    a = {
        "model": "judgelab-sim/aurora-max",
        "backend": "judgelab-sim:aa",
        "judge_version": "aurora-max-v1",
    }
    text = F.conclusions_markdown("family_entanglement", F.adjust(f), [a, *JUDGES])
    assert "aurora-max and basalt-s agree." in text and "lone dissenter is basalt-s" in text
    assert "|" not in text


def test_negative_kendall_tau_is_described_as_reversing_the_ranking():
    from judgelab.stats.calibration.audit import _with_conclusion

    def text(e, lo, hi):
        return _with_conclusion(
            {"id": "ranking_kendall_tau", "estimate": e, "ci_low": lo, "ci_high": hi, "slice": None}
        )["conclusion"]

    assert "reverses the humans' ranking" in text(-1.0, -1.0, -0.6)
    assert "like the humans" in text(0.8, 0.5, 1.0)
    neg = text(-0.2, -0.7, 0.3)
    assert "like the humans" not in neg and "not shown to follow or reverse" in neg


def test_undefined_log_odds_print_no_odds_ratio():
    from judgelab.stats.self_preference_logit import _conclude_logit

    row = {
        "id": "self_preference_logit",
        "estimate": math.nan,
        "p_value": math.nan,
        "p_adjusted": math.nan,
        "primary": True,
        "reason": "the judge never saw its own answers",
    }
    out = _conclude_logit(row, 0.05)
    assert "nan" not in out and "No significant preference" not in out
    assert "never saw its own answers" in out


# ------------------------------------------------------------ the index
def test_index_shows_each_studys_answer_per_judge(tmp_path):
    def run(name, f):
        d = tmp_path / name
        d.mkdir()
        doc = {
            "study": name,
            "judges": JUDGES,
            "findings": [
                {k: F.jsonable(v) for k, v in r.items()}
                for r in F.render_conclusions(F.adjust(f)).to_dict("records")
            ],
        }
        (d / "findings.json").write_text(json.dumps(doc))
        return report.RunResult(
            name, d, "ok", d / "x.ipynb", None, d / "findings.json", d / "m.json", 1.0
        )

    audit = run("calibration_audit", _audit_findings())
    comp = run("judge_comparison", _comparison_findings((-0.09, -0.05)))
    html = report.write_index(
        tmp_path, {"calibration_audit": audit, "judge_comparison": comp}
    ).read_text()
    tables = html.split(f'class="dataframe {ANSWERS_TABLE_CLASS}"')[1:]
    assert len(tables) == 2
    audit_rows = tables[0].split("</table>")[0].split("<tbody>")[1].split("<tr")[1:]
    assert len(audit_rows) == 3  # the gate per judge, not its signed_bias rows
    assert (
        ">stand in<" in audit_rows[0]
        and ">cannot<" in audit_rows[1]
        and ">not established<" in audit_rows[2]
    )
    assert ">cannot replace<" in tables[1]
    assert "judgelab-sim:" not in html.split("<h2")[1]  # short labels in the answers
    assert "<th></th>" not in html  # no index column
