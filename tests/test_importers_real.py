"""Importers on the real tool outputs in ``tool_outputs/`` ($JUDGELAB_DATA/tool_outputs, else
../shared/data/tool_outputs beside the checkout; skipped when absent): every record accounted
for, the figure each tool reports (SOURCE.md) reproduced from the imported tables, variants
written (in tmp, never committed) from the real files, and one study run through the CLI.

Nothing here is a fixture cut from these files: the AlpacaEval data is CC BY-NC."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

import judgelab as jl
from judgelab.families import relation
from judgelab.importers import import_verdicts


def _tool_outputs() -> Path:
    base = os.environ.get("JUDGELAB_DATA")
    root = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "tool_outputs"


TOOLS = _tool_outputs()
pytestmark = pytest.mark.skipif(
    not TOOLS.is_dir(),
    reason=f"real tool outputs not found at {TOOLS} (set JUDGELAB_DATA to the directory that "
    "holds tool_outputs/)",
)

AE = TOOLS / "alpaca_eval" / "results" / "alpaca-7b"
AE_COT = AE / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json"
AE_WEIGHTED = AE / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json"
FC = TOOLS / "fastchat_mt_bench" / "data" / "mt_bench" / "model_judgment"
AH = (
    TOOLS
    / "arena_hard_auto/data/arena-hard-v0.1/model_judgment/gemini-1.5-pro-api-0514"
    / "phi-3-medium-4k-instruct.jsonl"
)
INSPECT = TOOLS / "inspect_ai" / "logs"
PF = TOOLS / "promptfoo"


def accounted(report: dict) -> None:
    for f in report["files"]:
        assert f["imported"] + sum(f["skipped"].values()) == f["records_read"], f
    assert report["imported"] + sum(report["skipped"].values()) == report["records_read"]


def records_in(path: Path) -> int:
    text = path.read_text()
    return len(json.loads(text)) if path.suffix == ".json" else len(text.splitlines())


def load(out):
    ds = jl.load_dataset(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.validate()
    return ds


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Each tool's real files imported once: format -> (report, dataset)."""
    root = tmp_path_factory.mktemp("imported")
    jobs = {
        "alpaca_eval": [AE_COT, AE_WEIGHTED],
        "fastchat": [FC / "gpt-4_pair.jsonl", FC / "gpt-4_single.jsonl"],
        "arena_hard": [AH],
        "inspect": sorted(INSPECT.glob("*.eval")) + sorted(INSPECT.glob("*.json")),
        "promptfoo_rubric": [PF / "french-greeting-test_output.json"],
        "promptfoo_redteam": [PF / "promptfoo-action_output.json"],
    }
    out = {}
    for name, paths in jobs.items():
        fmt = name.split("_")[0] if name.startswith("promptfoo") else name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = import_verdicts(fmt, paths, root / name)
        out[name] = (report, load(root / name), root / name)
    return out


# ---------------------------------------------------------------- AlpacaEval
def test_alpaca_eval_counts_and_aliases(imported):
    report, ds, _ = imported["alpaca_eval"]
    accounted(report)
    for f, path in zip(report["files"], [AE_COT, AE_WEIGHTED], strict=True):
        assert f["records_read"] == records_in(path) == 805
        assert f["skipped"] == {"identical outputs, not judged": 3}
    assert len(ds.items) == 805
    assert report["judge_generator_aliases"] == {"gpt-4-1106-preview": "gpt4_1106_preview"}
    v = ds.verdicts
    judge = v["model"].iloc[0]
    alias = ds.meta["judge_generator_aliases"].get(judge, judge)
    gens = ds.responses.set_index("response_id")["generator"]
    assert relation(alias, gens[v["response_a"].iloc[0]]) == "self"


def win_rate_percent(v: pd.DataFrame, n_identical: int, continuous: bool) -> float:
    """AlpacaEval's win rate of output_2 (response_b), identical outputs counted as draws."""
    if continuous:
        p2 = v["p_b"].where(v["order"] == "ab", v["p_a"])  # P(output_2 better)
    else:
        p2 = (v["winner"] == v["response_b"]) + 0.5 * (v["winner"] == "tie")
    return 100 * (p2.sum() + 0.5 * n_identical) / (len(v) + n_identical)


def test_alpaca_eval_leaderboard_win_rates(imported):
    report, ds, _ = imported["alpaca_eval"]
    v = ds.verdicts
    cot = v[v["judge_version"] == "alpaca_eval_cot_gpt4_turbo_fn"]
    w = v[v["judge_version"] == "weighted_alpaca_eval_gpt4_turbo"]
    assert (cot["winner"] == cot["response_b"]).sum() == 18
    assert (cot["winner"] == cot["response_a"]).sum() == 784
    assert win_rate_percent(cot, 3, continuous=False) == pytest.approx(2.422360, abs=1e-6)
    assert win_rate_percent(w, 3, continuous=True) == pytest.approx(2.591451, abs=1e-6)
    # discrete_win_rate: preference > 1.5 a win, == 1.5 a draw
    assert win_rate_percent(w, 3, continuous=False) == pytest.approx(2.2981, abs=1e-4)


def test_alpaca_eval_two_order_rules_agree(imported):
    _, ds, _ = imported["alpaca_eval"]
    v = ds.verdicts
    cot = v[v["judge_version"] == "alpaca_eval_cot_gpt4_turbo_fn"].set_index("item_id")
    w = v[v["judge_version"] == "weighted_alpaca_eval_gpt4_turbo"].set_index("item_id")
    assert len(cot) == len(w) == 802
    assert (cot["order"] == w.loc[cot.index, "order"]).all()  # referenced_models vs top token
    assert cot["order"].value_counts().to_dict() == {"ba": 403, "ab": 399}


def test_alpaca_eval_variants(tmp_path):
    """An unparsed preference and a CoT file without referenced_models."""
    recs = json.loads(AE_COT.read_text())
    variant = copy.deepcopy(recs[:40])
    variant[0]["preference"] = -1
    variant[1]["preference"] = None
    for r in variant[2:]:
        r.pop("referenced_models", None)
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(variant))
    report = import_verdicts("alpaca_eval", path, tmp_path / "out")
    accounted(report)
    v = load(tmp_path / "out").verdicts.sort_values("source_record")
    assert report["unparsed_verdicts"] == 2
    assert (v["order"].iloc[2:] == "unknown").all()
    assert v["winner"].iloc[2:].notna().all()  # the winner is known without the order


# ---------------------------------------------------------------- FastChat
def test_fastchat_counts_and_identities(imported):
    report, ds, _ = imported["fastchat"]
    accounted(report)
    assert [f["records_read"] for f in report["files"]] == [75, 160]
    assert "notes" not in report["files"][0]  # g*_winner agrees with [[A]]/[[B]]/[[C]]: 75/75
    versions = {i["judge_version"]: i["verdicts"] for i in report["identities"]}
    assert versions["pair-v2"] == 100 and versions["pair-math-v1"] == 50
    assert {i["model"] for i in report["identities"]} == {"gpt-4"}


def test_fastchat_pairwise_counts_and_mean_score(imported):
    _, ds, _ = imported["fastchat"]
    v = ds.verdicts
    pv = v[v["protocol"] == "pairwise"]
    g = pv.pivot_table(index="item_id", columns="order", values="source_label", aggfunc="first")
    assert len(g) == 75
    errors = (g == "error").any(axis=1)
    assert errors.sum() == 2
    ok = g[~errors]
    consistent = ok["ab"] == ok["ba"]
    assert consistent.sum() == 46
    assert ((ok["ab"] == "model_1") & (ok["ba"] == "model_2")).sum() == 16  # A twice
    # FastChat's show_result.py: an inconsistent pair is a tie
    winner = ok["ab"].where(consistent, "tie")
    assert winner.value_counts().to_dict() == {"tie": 35, "model_2": 20, "model_1": 18}
    sv = v[v["protocol"] == "single"]
    assert len(sv) == 160 and sv["parse_ok"].all()
    assert sv["score"].mean() == pytest.approx(8.20)
    turn2 = sv["item_id"].str.endswith("-t2")
    assert sv.loc[~turn2, "score"].mean() == pytest.approx(8.3625)
    assert sv.loc[turn2, "score"].mean() == pytest.approx(8.0375)


def test_fastchat_variant_error_and_unparsed_score(tmp_path):
    rows = [json.loads(line) for line in (FC / "gpt-4_pair.jsonl").read_text().splitlines()[:5]]
    rows[0]["g1_winner"] = "error"
    (tmp_path / "p.jsonl").write_text("\n".join(map(json.dumps, rows)))
    srows = [json.loads(line) for line in (FC / "gpt-4_single.jsonl").read_text().splitlines()]
    srows = srows[:3]
    srows[0]["score"] = -1
    (tmp_path / "s.jsonl").write_text("\n".join(map(json.dumps, srows)))
    report = import_verdicts(
        "fastchat", [tmp_path / "p.jsonl", tmp_path / "s.jsonl"], tmp_path / "o"
    )
    accounted(report)
    assert report["unparsed_verdicts"] >= 2


# ---------------------------------------------------------------- Arena-Hard
def test_arena_hard_consistency_table(imported):
    report, ds, _ = imported["arena_hard"]
    accounted(report)
    assert report["records_read"] == records_in(AH) == 7
    notes = report["files"][0]["notes"]
    assert notes["judge_folder"] == "gemini-1.5-pro-api-0514"
    assert notes["judge_field"] == ["gemini-1.5-pro-api-preview"]
    v = ds.verdicts
    assert set(v["model"]) == {"gemini-1.5-pro-api-preview"}
    base = v["winner"].str.endswith("|gpt-4-0314")
    v = v.assign(
        w=v["winner"].where(v["winner"] == "tie", base.map({True: "base", False: "model"}))
    )
    g = v.pivot_table(index="item_id", columns="order", values="w", aggfunc="first")
    c = v.pivot_table(index="item_id", columns="order", values="choice", aggfunc="first")
    assert ((g["ab"] == "base") & (g["ba"] == "base")).sum() == 3
    assert ((c["ab"] == "A") & (c["ba"] == "A")).sum() == 1
    assert ((c["ab"] == "B") & (c["ba"] == "B")).sum() == 2
    assert ((g["ab"] == "tie") & (g["ba"] == "base")).sum() == 1
    assert v["strength"].value_counts().to_dict() == {1: 12, 2: 1}  # A>B: 1, A>>B: 2


def test_arena_hard_variant_null_score(tmp_path):
    rows = [json.loads(line) for line in AH.read_text().splitlines()]
    rows[0]["games"][1]["score"] = None
    folder = tmp_path / "model_judgment" / "some-judge"
    folder.mkdir(parents=True)
    (folder / "m.jsonl").write_text("\n".join(map(json.dumps, rows)))
    report = import_verdicts("arena_hard", folder / "m.jsonl", tmp_path / "o", baseline="b")
    accounted(report)
    assert report["unparsed_verdicts"] == 1


# ---------------------------------------------------------------- Inspect
def test_inspect_accuracy_and_self_grading(imported):
    report, ds, _ = imported["inspect"]
    accounted(report)
    assert [f["records_read"] for f in report["files"]] == [1, 3]
    v = ds.verdicts
    for f in report["files"]:
        mine = v[v["source_file"] == f["path"]]
        accuracy = f["notes"]["results"]["model_graded_fact"]["accuracy"]
        assert mine["score"].mean() == pytest.approx(accuracy)  # results ... accuracy
    assert set(v["model"]) == {"openai/gpt-4o-mini"}  # the model event in the scorer block
    gens = ds.responses.set_index("response_id")["generator"]
    assert {relation(m, gens[r]) for m, r in zip(v["model"], v["response_id"], strict=True)} == {
        "self"
    }


def test_inspect_variants_partial_grade_epochs_named_grader(tmp_path):
    log = json.loads(next(INSPECT.glob("*.json")).read_text())
    s0 = log["samples"][0]
    s0["scores"]["model_graded_fact"]["value"] = "P"
    second = copy.deepcopy(log["samples"][1])
    second["epoch"] = 2
    log["samples"].append(second)
    for s in log["samples"]:  # no events: the grader comes from the role
        s["events"] = []
    log["eval"]["model_roles"] = {"grader": {"model": "anthropic/claude-3-5-sonnet"}}
    (tmp_path / "log.json").write_text(json.dumps(log))
    report = import_verdicts("inspect", tmp_path / "log.json", tmp_path / "o")
    accounted(report)
    v = load(tmp_path / "o").verdicts
    assert set(v["model"]) == {"anthropic/claude-3-5-sonnet"}
    assert sorted(v["grade"]) == ["C", "C", "C", "P"]
    assert sorted(v["sample"]) == [0, 0, 0, 1]
    assert v["score"].mean() == pytest.approx(3.5 / 4)


# ---------------------------------------------------------------- promptfoo
def test_promptfoo_rubric_file(imported):
    report, ds, _ = imported["promptfoo_rubric"]
    accounted(report)
    doc = json.loads((PF / "french-greeting-test_output.json").read_text())
    metrics = doc["results"]["prompts"][0]["metrics"]
    # records = the assertion results promptfoo counts
    assert report["records_read"] == metrics["assertPassCount"] + metrics["assertFailCount"]
    v = ds.verdicts.set_index("assertion_type")
    assert sorted(v.index) == ["answer-relevance", "llm-rubric"]
    assert bool(v.loc["llm-rubric", "passed"]) and not bool(v.loc["answer-relevance", "passed"])
    assert set(v["model"]) == {"unknown"}
    assert report["files"][0]["notes"]["assertion_types"]["assert-set"] == 1


def test_promptfoo_redteam_stats(imported):
    report, ds, _ = imported["promptfoo_redteam"]
    accounted(report)
    stats = json.loads((PF / "promptfoo-action_output.json").read_text())["results"]["stats"]
    v = ds.verdicts
    assert len(v) == 6
    assert v["passed"].sum() == stats["successes"] == 4
    assert (~v["passed"].astype(bool)).sum() == stats["failures"] == 2
    assert v["pass_means"].str.contains("safe").all()


def test_promptfoo_variant_named_grader(tmp_path):
    doc = json.loads((PF / "french-greeting-test_output.json").read_text())
    doc["config"]["defaultTest"] = {"options": {"provider": "openai:gpt-4.1-mini"}}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    report = import_verdicts("promptfoo", tmp_path / "r.json", tmp_path / "o")
    assert {i["model"] for i in report["identities"]} == {"openai:gpt-4.1-mini"}


# ---------------------------------------------------------------- a study, through the CLI
def test_position_bias_on_fastchat_pairs_through_cli(imported, tmp_path):
    from typer.testing import CliRunner

    from judgelab.cli import app

    _, _, directory = imported["fastchat"]
    out = tmp_path / "pb"
    args = ["run", "position_bias", "-p", "dataset", str(directory), "-p", "verdicts", "dataset"]
    args += ["-p", "judges", "null", "-p", "allow_mixed", "true", "-p", "n_boot", "200"]
    args += ["-p", "n_perm", "199", "-p", "select", "{judge_version: [pair-v2, pair-math-v1]}"]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    findings = json.loads((out / "findings.json").read_text())["findings"]
    consistency = {f["judge"]: f for f in findings if f["id"] == "position_consistency"}
    # one identity per FastChat prompt, never pooled; 30/50 + 16/23 = the 46 consistent rows
    assert consistency["gpt-4|fastchat|pair-v2"]["estimate"] == pytest.approx(30 / 50)
    assert consistency["gpt-4|fastchat|pair-math-v1"]["estimate"] == pytest.approx(16 / 23)
