"""Importers on small synthetic files written in each tool's format (no shared data needed):
every record is accounted for, identities come from the files' metadata, variants the real files
do not show (unparsed verdicts, missing order information, partial grades, two epochs, named
graders, crashed logs, Arena-Hard v2) are handled, and the dataset directory loads."""

from __future__ import annotations

import json
import warnings
import zipfile

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import judgelab as jl
from judgelab.importers import ImportFormatError, ImportWarning, import_verdicts
from judgelab.importers.cli import import_command


def accounted(report: dict) -> None:
    """imported + skipped = records read, per file and in total."""
    for f in report["files"]:
        assert f["imported"] + sum(f["skipped"].values()) == f["records_read"], f
    assert report["imported"] + sum(report["skipped"].values()) == report["records_read"]


def vals(series) -> list:
    """Values with missing ones as None (CSV round trips turn None into NaN)."""
    return [None if pd.isna(x) else x for x in series]


def load(out):
    ds = jl.load_dataset(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.validate()
    return ds


# ---------------------------------------------------------------- AlpacaEval
def alpaca_record(i, pref, annotator="alpaca_eval_cot_gpt4_turbo_fn", first="output_1", **kw):
    rec = {
        "instruction": f"instruction {i}",
        "output_1": f"baseline answer {i}",
        "generator_1": "gpt4_1106_preview",
        "dataset": "helpful_base",
        "output_2": f"model answer {i}",
        "generator_2": "alpaca-7b",
        "annotator": annotator,
        "preference": pref,
        "price_per_example": 0.01,
        "time_per_example": 1.0,
        "raw_completion": {"concise_explanation": "x", "ordered_models": []},
        "referenced_models": {"m": first, "M": "output_2" if first == "output_1" else "output_1"},
    }
    rec.update(kw)
    return rec


def weighted_raw(token):
    other = "M" if token == "m" else "m"
    return {
        "logprobs": {
            "content": [
                {
                    "token": token,
                    "logprob": -0.1,
                    "top_logprobs": [
                        {"token": token, "logprob": -0.1},
                        {"token": other, "logprob": -2.4},
                    ],
                }
            ]
        }
    }


def test_alpaca_eval_counts_orders_and_skips(tmp_path):
    recs = [
        alpaca_record(0, 1.0, first="output_1"),  # A shown first and chosen
        alpaca_record(1, 2.0, first="output_1"),  # output_2 chosen, shown second: B
        alpaca_record(2, 2.0, first="output_2"),  # output_2 chosen, shown first: A
        alpaca_record(3, -1),  # unparsed
        alpaca_record(4, float("nan")),  # unparsed
        alpaca_record(5, 1.0, referenced_models=None),  # no referenced_models: order unknown
        alpaca_record(6, 1.5, output_2="baseline answer 6", raw_completion=None),  # identical
        alpaca_record(7, 0, output_2="baseline answer 7"),  # identical, older file (0)
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(recs))
    report = import_verdicts("alpaca_eval", path, tmp_path / "out")
    accounted(report)
    assert report["records_read"] == 8 and report["imported"] == 6
    assert report["skipped"] == {"identical outputs, not judged": 2}
    v = load(tmp_path / "out").verdicts.sort_values("source_record").reset_index(drop=True)
    assert v["order"].tolist() == ["ab", "ab", "ba", "ab", "ab", "unknown"]
    assert v["choice"].tolist()[:3] == ["A", "B", "A"]
    assert v["parse_ok"].tolist() == [True, True, True, False, False, True]
    assert v.loc[5, "winner"] == v.loc[5, "response_a"] and pd.isna(v.loc[5, "choice"])
    assert set(v["model"]) == {"gpt-4-1106-preview"}
    assert set(v["judge_version"]) == {"alpaca_eval_cot_gpt4_turbo_fn"}
    assert report["judge_generator_aliases"] == {"gpt-4-1106-preview": "gpt4_1106_preview"}
    meta = jl.load_dataset(tmp_path / "out").meta
    assert meta["judge_generator_aliases"] == {"gpt-4-1106-preview": "gpt4_1106_preview"}


def test_alpaca_eval_weighted_probability_and_order(tmp_path):
    # preference 1 + P(output_2); the top token m = the answer shown first won
    recs = [
        alpaca_record(0, 1.1, "weighted_alpaca_eval_gpt4_turbo", raw_completion=weighted_raw("m")),
        alpaca_record(1, 1.1, "weighted_alpaca_eval_gpt4_turbo", raw_completion=weighted_raw("M")),
        alpaca_record(2, 1.8, "weighted_alpaca_eval_gpt4_turbo", raw_completion=weighted_raw("m")),
    ]
    for r in recs:
        r.pop("referenced_models")
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(recs))
    accounted(import_verdicts("alpaca_eval", path, tmp_path / "out"))
    v = load(tmp_path / "out").verdicts.sort_values("source_record").reset_index(drop=True)
    assert v["order"].tolist() == ["ab", "ba", "ba"]  # output_1 won & m; output_1 won & M; ...
    assert v["choice"].tolist() == ["A", "B", "A"]
    # p_a is the probability of the answer shown first
    assert v["p_a"].tolist() == pytest.approx([0.9, 0.1, 0.8])
    # the judge's probability that output_2 is better is recovered from p_a / p_b and the order
    p2 = v["p_b"].where(v["order"] == "ab", v["p_a"])
    assert p2.tolist() == pytest.approx([0.1, 0.1, 0.8])


def test_alpaca_eval_unknown_annotator_needs_judge_model(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps([alpaca_record(0, 1.0, annotator="my_annotator")]))
    with pytest.raises(ImportFormatError, match="--judge-model"):
        import_verdicts("alpaca_eval", path, tmp_path / "out")
    report = import_verdicts("alpaca_eval", path, tmp_path / "out2", judge_model="my-judge")
    assert report["identities"][0]["model"] == "my-judge"
    assert report["identities"][0]["judge_version"] == "my_annotator"


# ---------------------------------------------------------------- FastChat
def fastchat_pair(qid, g1, g2, prompt="pair-v2", label1=None, label2=None):
    def judgment(label):
        return f"Some reasoning. [[{label}]]" if label else "no verdict"

    to_label = {"model_1": None, "model_2": None, "tie": "C", "error": None}
    # game 1: model_1 is A; game 2: model_2 is A
    l1 = label1 or {**to_label, "model_1": "A", "model_2": "B"}[g1]
    l2 = label2 or {**to_label, "model_1": "B", "model_2": "A"}[g2]
    user = (
        f"[User Question]\nquestion {qid}\n\n[The Start of Assistant A's Answer]\nanswer of {{a}}"
        "\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\nanswer of {b}"
        "\n[The End of Assistant B's Answer]"
    )
    return {
        "question_id": qid,
        "model_1": "m1",
        "model_2": "m2",
        "g1_winner": g1,
        "g2_winner": g2,
        "judge": ["gpt-4", prompt],
        "g1_user_prompt": user.replace("{a}", "m1").replace("{b}", "m2"),
        "g1_judgment": judgment(l1),
        "g2_user_prompt": user.replace("{a}", "m2").replace("{b}", "m1"),
        "g2_judgment": judgment(l2),
        "turn": 1,
        "tstamp": 0,
    }


def test_fastchat_pair_and_single(tmp_path):
    pair = tmp_path / "gpt-4_pair.jsonl"
    rows = [
        fastchat_pair(1, "model_1", "model_1"),
        fastchat_pair(2, "model_1", "model_2"),  # A twice
        fastchat_pair(3, "tie", "error", prompt="pair-math-v1"),
    ]
    pair.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    single = tmp_path / "gpt-4_single.jsonl"
    srows = [
        {"question_id": 1, "model": "m1", "judge": ["gpt-4", "single-v1"], "score": 8, "turn": 1},
        {"question_id": 1, "model": "m1", "judge": ["gpt-4", "single-v1"], "score": -1, "turn": 2},
    ]
    single.write_text("\n".join(json.dumps(r) for r in srows))
    report = import_verdicts("fastchat", [pair, single], tmp_path / "out")
    accounted(report)
    assert report["records_read"] == 5 and report["verdict_rows"] == 8
    assert "notes" not in report["files"][0]  # every winner agrees with the judgment's label
    ds = load(tmp_path / "out")
    v = ds.verdicts
    pv = v[v["protocol"] == "pairwise"].sort_values(["item_id", "order"])
    assert vals(pv["choice"]) == ["A", "B", "A", "A", "tie", None]
    assert pv["order"].tolist() == ["ab", "ba"] * 3
    assert pv["parse_ok"].tolist() == [True] * 5 + [False]
    assert {i["judge_version"] for i in report["identities"]} == {
        "pair-v2",
        "pair-math-v1",
        "single-v1",
    }
    sv = v[v["protocol"] == "single"].sort_values("item_id")
    assert sv["item_id"].tolist() == ["1", "1-t2"]
    assert sv["score"].tolist()[0] == 8 and not sv["parse_ok"].tolist()[1]
    assert ds.responses.set_index("response_id").loc["1|m2", "text"] == "answer of m2"


def test_fastchat_label_disagreement_is_reported(tmp_path):
    pair = tmp_path / "p.jsonl"
    pair.write_text(json.dumps(fastchat_pair(1, "model_1", "model_1", label1="B")))
    report = import_verdicts("fastchat", pair, tmp_path / "out")
    assert report["files"][0]["notes"]["winner_vs_judgment_label_disagreements"] == [0]


# ---------------------------------------------------------------- Arena-Hard
def arena_record(qid, s1, s2, judge="judge-x"):
    def prompt(a, b):
        return (
            f"<|User Prompt|>\nquestion {qid}\n\n<|The Start of Assistant A's Answer|>\n{a}\n"
            f"<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n{b}\n"
            "<|The End of Assistant B's Answer|>"
        )

    return {
        "question_id": qid,
        "model": "my-model",
        "judge": judge,
        "games": [
            {"user_prompt": prompt("base", "mine"), "judgment": f"[[{s1}]]", "score": s1},
            {"user_prompt": prompt("mine", "base"), "judgment": f"[[{s2}]]", "score": s2},
        ],
    }


def test_arena_hard_labels_strength_and_baseline(tmp_path):
    folder = tmp_path / "model_judgment" / "judge-folder"
    folder.mkdir(parents=True)
    path = folder / "my-model.jsonl"
    rows = [arena_record("q1", "A>>B", "B>A"), arena_record("q2", "A=B", None)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    report = import_verdicts("arena_hard", path, tmp_path / "out", baseline="base-model")
    accounted(report)
    assert report["files"][0]["notes"]["judge_folder"] == "judge-folder"
    assert report["files"][0]["notes"]["judge_field"] == ["judge-x"]
    ds = load(tmp_path / "out")
    v = ds.verdicts.sort_values(["item_id", "order"])
    assert vals(v["choice"]) == ["A", "B", "tie", None]
    assert v["strength"].tolist()[:2] == [2, 1]  # A>>B, A>B
    assert v["parse_ok"].tolist() == [True, True, True, False]
    # both games of q1 prefer the baseline (game 2 shows the model first)
    assert v["winner"].tolist()[:2] == ["q1|base-model", "q1|base-model"]
    assert set(ds.responses["generator"]) == {"base-model", "my-model"}
    assert ds.responses.set_index("response_id").loc["q1|my-model", "text"] == "mine"


def test_arena_hard_v2_is_refused(tmp_path):
    path = tmp_path / "m.jsonl"
    rec = arena_record("q1", "A>B", "B>A")
    rec = {
        "uid": "q1",
        "baseline": "o3-mini",
        **{k: v for k, v in rec.items() if k != "question_id"},
    }
    path.write_text(json.dumps(rec))
    with pytest.raises(ImportFormatError, match="v2"):
        import_verdicts("arena_hard", path, tmp_path / "out")


# ---------------------------------------------------------------- Inspect
def inspect_sample(sid, value, epoch=1, grader="openai/grader-model", old_style=False):
    if old_style:
        events = [
            {"event": "step", "type": "scorer", "name": "model_graded_qa", "action": "begin"},
            {"event": "model", "model": grader},
            {"event": "step", "type": "scorer", "name": "model_graded_qa", "action": "end"},
        ]
    else:
        events = [
            {"event": "span_begin", "id": "s1", "type": "solver", "name": "generate"},
            {"event": "model", "model": "openai/evaluated"},
            {"event": "span_end", "id": "s1"},
            {"event": "span_begin", "id": "s2", "type": "scorer", "name": "model_graded_qa"},
            {"event": "model", "model": grader},
            {"event": "span_end", "id": "s2"},
        ]
    return {
        "id": sid,
        "epoch": epoch,
        "input": [{"role": "user", "content": f"question {sid}"}],
        "target": "the answer",
        "output": {"choices": [{"message": {"content": f"reply {sid} e{epoch}"}}]},
        "scores": {
            "model_graded_qa": {"value": value, "explanation": f"GRADE: {value}"},
            "match": {"value": "I", "explanation": "no match"},
        },
        "events": [] if grader is None else events,
    }


def inspect_header(model="openai/evaluated", roles=None, scorer_options=None):
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "task": "qa",
            "model": model,
            "model_roles": roles or {},
            "scorers": [{"name": "model_graded_qa", "options": scorer_options or {}}],
        },
        "results": {"scores": [{"name": "model_graded_qa", "metrics": {}}]},
    }


def write_eval(path, header, samples):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("header.json", json.dumps(header))
        for s in samples:
            z.writestr(f"samples/{s['id']}_epoch_{s['epoch']}.json", json.dumps(s))


def test_inspect_grades_epochs_and_grader(tmp_path):
    samples = [
        inspect_sample(1, "C"),
        inspect_sample(1, "P", epoch=2),
        inspect_sample(2, "I", old_style=True),
        inspect_sample(3, "N"),
    ]
    write_eval(
        tmp_path / "log.eval", inspect_header(scorer_options={"partial_credit": True}), samples
    )
    report = import_verdicts("inspect", tmp_path / "log.eval", tmp_path / "out")
    accounted(report)
    assert report["skipped"] == {"deterministic scorer (no grader model call)": 4}
    ds = load(tmp_path / "out")
    v = ds.verdicts.sort_values("source_record").reset_index(drop=True)
    assert v["grade"].tolist() == ["C", "P", "I", "N"]
    assert v["score"].tolist()[:3] == [1.0, 0.5, 0.0] and pd.isna(v.loc[3, "score"])
    assert v["parse_ok"].tolist() == [True, True, True, False]
    assert v["sample"].tolist() == [0, 1, 0, 0]
    assert set(v["model"]) == {"openai/grader-model"}
    assert v["judge_version"].str.startswith("model_graded_qa-").all()
    assert v.loc[1, "response_id"] == "qa/1|openai/evaluated|e2"
    assert ds.responses.set_index("response_id").loc["qa/1|openai/evaluated|e2", "text"] == (
        "reply 1 e2"
    )
    assert ds.items.set_index("item_id").loc["qa/1", "reference"] == "the answer"


def test_inspect_grader_role_then_self_grading_warning(tmp_path):
    log = {**inspect_header(roles={"grader": {"model": "anthropic/claude-x"}})}
    log["samples"] = [inspect_sample(1, "C", grader=None)]
    (tmp_path / "a.json").write_text(json.dumps(log))
    report = import_verdicts("inspect", tmp_path / "a.json", tmp_path / "out")
    assert report["identities"][0]["model"] == "anthropic/claude-x"
    log = {**inspect_header(), "samples": [inspect_sample(1, "C", grader=None)]}
    (tmp_path / "b.json").write_text(json.dumps(log))
    with pytest.warns(ImportWarning, match="self-grading"):
        report = import_verdicts("inspect", tmp_path / "b.json", tmp_path / "out2")
    assert report["identities"][0]["model"] == "openai/evaluated"


def test_inspect_crashed_log_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "crashed.eval", "w") as z:
        z.writestr("_journal/start.json", "{}")
    with pytest.raises(ImportFormatError, match="crashed"):
        import_verdicts("inspect", tmp_path / "crashed.eval", tmp_path / "out")


# ---------------------------------------------------------------- promptfoo
def promptfoo_doc(grader_config=None, with_assertion=True):
    rubric = {"type": "llm-rubric", "value": "Is polite.", "metric": "Tone"}
    rows = []
    for t, passed in enumerate([True, False]):
        comps = [
            {"pass": True, "score": 1, "reason": "ok", "assertion": {"type": "contains", "value": "x"}},
            {"pass": passed, "score": float(passed), "reason": f"grader says {passed}",
             **({"assertion": rubric} if with_assertion else {})},
            {"pass": True, "score": 1, "reason": "set", "componentResults": [
                {"pass": True, "score": 1, "reason": "cheap", "assertion": {"type": "cost"}},
                {"pass": passed, "score": 0.7, "reason": "nested rubric",
                 "assertion": {"type": "model-graded-closedqa", "value": "c"}},
            ]},
        ]  # fmt: skip
        rows.append(
            {
                "testIdx": t,
                "promptIdx": 0,
                "prompt": {"raw": f"say hi {t}"},
                "provider": {"id": "openai:gpt-4o-mini"},
                "response": {"output": f"hi {t}"},
                "success": passed,
                "namedScores": {"Tone": float(passed)},
                "testCase": {"assert": [{"type": "contains"}, rubric]},
                "gradingResult": {"pass": passed, "score": 1, "componentResults": comps},
            }
        )
    rows.append({"testIdx": 2, "promptIdx": 0, "error": "timeout", "failureReason": 2})
    return {
        "evalId": "eval-1",
        "results": {"version": 3, "results": rows, "stats": {"successes": 1, "failures": 1}},
        "config": {"defaultTest": {"options": {"provider": grader_config}}}
        if grader_config
        else {},
    }


def test_promptfoo_model_graded_only(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(promptfoo_doc()))
    report = import_verdicts("promptfoo", path, tmp_path / "out")
    accounted(report)
    # per row: contains, rubric, assert-set, nested closedqa (nested cost is new too)
    assert report["skipped"] == {
        "deterministic assertion (not graded by a model)": 4,
        "assert-set aggregate (its assertions are counted one by one)": 2,
        "row errored before grading (no gradingResult)": 1,
    }
    assert report["imported"] == 4
    v = load(tmp_path / "out").verdicts
    assert set(v["model"]) == {"unknown"}
    assert set(v["assertion_type"]) == {"llm-rubric", "model-graded-closedqa"}
    assert v["pass_means"].notna().all()


def test_promptfoo_grader_sources(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(promptfoo_doc(grader_config={"id": "openai:gpt-4.1"})))
    report = import_verdicts("promptfoo", path, tmp_path / "out")
    assert {i["model"] for i in report["identities"]} == {"openai:gpt-4.1"}
    path.write_text(json.dumps(promptfoo_doc()))
    report = import_verdicts("promptfoo", path, tmp_path / "out2", grader_model="my-grader")
    assert {i["model"] for i in report["identities"]} == {"my-grader"}


def test_promptfoo_type_from_test_case_not_position(tmp_path):
    doc = promptfoo_doc(with_assertion=False)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    report = import_verdicts("promptfoo", path, tmp_path / "out")
    accounted(report)
    v = load(tmp_path / "out").verdicts
    # the rubric component had no assertion: recovered from the named score's metric
    assert (v["assertion_type"] == "llm-rubric").sum() == 2


def test_promptfoo_old_version_is_refused(tmp_path):
    doc = promptfoo_doc()
    doc["results"]["version"] = 2
    (tmp_path / "r.json").write_text(json.dumps(doc))
    with pytest.raises(ImportFormatError, match="version 2"):
        import_verdicts("promptfoo", tmp_path / "r.json", tmp_path / "out")


# ---------------------------------------------------------------- CSV
def my_table(tmp_path):
    df = pd.DataFrame(
        {
            "judge": ["j1"] * 4,
            "q": ["q1", "q1", "q2", None],
            "first": ["r1", "r1", "r3", "r5"],
            "second": ["r2", "r2", "r4", "r6"],
            "shown": ["ab", "ba", "ab", "ab"],
            "pick": ["a", "A", "garbled", "B"],
            "gen1": ["g1", "g1", "g1", "g1"],
            "gen2": ["g2", "g2", "g2", "g2"],
        }
    )
    path = tmp_path / "mine.csv"
    df.to_csv(path, index=False)
    return path


def test_csv_unmapped_required_columns_listed_at_once(tmp_path):
    path = my_table(tmp_path)
    with pytest.raises(ImportFormatError) as err:
        import_verdicts("csv", path, tmp_path / "out", mapping={"model": "judge"})
    msg = str(err.value)
    for col in ("backend", "judge_version", "protocol", "item_id"):
        assert col in msg
    with pytest.raises(ImportFormatError) as err:
        import_verdicts(
            "csv",
            path,
            tmp_path / "out",
            mapping={"model": "judge", "item_id": "q"},
            constants={"backend": "mine", "judge_version": "v1", "protocol": "pairwise"},
        )
    for col in ("response_a", "response_b", "order", "choice"):
        assert col in str(err.value)


def test_csv_mapped_import(tmp_path):
    path = my_table(tmp_path)
    report = import_verdicts(
        "csv",
        path,
        tmp_path / "out",
        mapping="model=judge,item_id=q,response_a=first,response_b=second,order=shown,"
        "choice=pick,generator_a=gen1,generator_b=gen2",
        constants="backend=mine,judge_version=v1,protocol=pairwise",
    )
    accounted(report)
    assert report["skipped"] == {"missing item_id": 1}
    v = load(tmp_path / "out").verdicts
    assert vals(v["choice"]) == ["A", "A", None]
    assert vals(v["winner"]) == ["r1", "r2", None]
    assert v["parse_ok"].tolist() == [True, True, False]


def test_cli_import_command(tmp_path):
    app = typer.Typer()
    app.command("import")(import_command)
    app.command("noop")(lambda: None)  # a second command keeps "import" as a subcommand
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps([alpaca_record(i, 1.0) for i in range(3)]))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["import", "alpaca_eval", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "3 records, 3 imported" in res.output
    assert json.loads((out / "import_report.json").read_text())["imported"] == 3
    res = CliRunner().invoke(
        app, ["import", "fastchat", str(path), "--out", str(tmp_path / "o2"), "--baseline", "x"]
    )
    assert res.exit_code == 1 and "--baseline applies to arena_hard" in res.output
    res = CliRunner().invoke(app, ["import", "alpaca_eval", str(path), "--out", str(out)])
    assert res.exit_code == 1 and "not empty" in res.output


def test_directory_expands_to_the_format_files_and_fastchat_scale(tmp_path):
    folder = tmp_path / "model_judgment"
    folder.mkdir()
    (folder / "gpt-4_pair.jsonl").write_text(json.dumps(fastchat_pair(1, "model_1", "tie")))
    single = {"question_id": 1, "model": "m1", "judge": ["gpt-4", "single-v1"], "score": 7}
    (folder / "gpt-4_single.jsonl").write_text(json.dumps(single))
    (folder / "notes.txt").write_text("not a judgment file")
    report = import_verdicts("fastchat", folder, tmp_path / "out")
    assert [f["path"].rsplit("/", 1)[-1] for f in report["files"]] == [
        "gpt-4_pair.jsonl",
        "gpt-4_single.jsonl",
    ]
    assert load(tmp_path / "out").scale == (1.0, 10.0)
    with pytest.raises(FileNotFoundError, match="no inspect files"):
        import_verdicts("inspect", folder, tmp_path / "out2")
