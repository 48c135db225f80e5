"""``judging_the_judges``: Shi et al.'s swapped-order pairwise verdicts on MT-Bench and
DevBench (OpenAI, Anthropic and Google judges), with the source's model/family table.

Source: Slimshilin/Position-Bias-Analyzer (Lin Shi et al., "Judging the Judges: A
Systematic Study of Position Bias in LLM-as-a-Judge", arXiv:2406.07791), commit 9f8b7e8e,
MIT licence; MT-Bench questions/answers from lm-sys/FastChat (Apache-2.0). Local folder
``position_bias_mtbench_devbench/``.

Mapping into judgelab's tables:

* items: ``item_id`` = ``"<benchmark>:<question_id>"`` (``"MTBench:81"``,
  ``"DevBench:idcenter_uml_class-complexity"``); extra ``benchmark``. MT-Bench pairs were
  judged on the second turn: ``prompt`` = the turn-2 question, ``prompt_turn1`` the turn-1
  question, ``reference`` the turn-2 reference (math/reasoning/coding). DevBench:
  ``prompt`` = the task, ``reference`` = the reference answer, extra ``evaluating_guidance``.
  ``category`` = the MT-Bench category or the DevBench task-criterion.
* responses: ``"<item_id>:<model>"``, ``generator`` = the answer model (DevBench's
  ``human`` is the human-written reference solution), ``family`` = the provider in the
  source's ``models.csv`` (``lmsys`` for vicuna, ``human`` for the human answer ...),
  ``text`` = the turn-2 answer (MT-Bench; turn 1 in ``text_turn1``) or the DevBench answer.
* verdicts: one row per judgment. The stored pair is (reference model, compared model):
  ``response_a`` = the baseline (vicuna-13b-v1.3 or human), so order ``ab`` =
  ``reference_first``. ``model`` = the judge id as the source names it (``gpt-4-0613``),
  ``backend`` = ``published``, ``judge_version`` = ``jtj-MTBench`` or ``jtj-DevBench`` (the
  two benchmarks use different prompts: MT-Bench allows a tie, DevBench does not),
  ``judge_family`` = the source's judge_family, ``sample`` = 0 for the full run and 1, 2, 3
  for the three repetition runs, ``run_id`` = ``jtj-<benchmark>-<source>`` (select a run to
  reproduce the upstream per-run numbers), ``choice`` A | B | tie (the displayed slot;
  C = tie), ``winner`` the response id or ``tie``, ``parse_ok`` False for the 67 judgments
  the upstream parser could not read (kept, empty choice/winner).

``meta``: ``models`` (models.csv), ``families`` (model -> provider, pass as ``families=``
to judgelab.families), ``upstream_consistency`` (upstream_consistency_summary.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab.data import DataError, Dataset
from judgelab.datasets import _base

NAME = "judging_the_judges"
FOLDER = "position_bias_mtbench_devbench"
REQUIRED = (
    "verdicts.csv",
    "models.csv",
    "mtbench_questions.jsonl",
    "mtbench_answers.jsonl",
    "devbench_questions_answers.jsonl",
)
SUMMARY_FILE = "upstream_consistency_summary.csv"
LICENCE = (
    "MIT (Slimshilin/Position-Bias-Analyzer); MT-Bench questions/answers Apache-2.0 (lm-sys/FastChat); "
    "DevBench tasks from the DevBench benchmark"
)
DESCRIPTION = (
    "Judging the Judges (Shi et al. 2024): pairwise verdicts in both orders, MT-Bench (3 judges x 30 models "
    "vs vicuna-13b-v1.3) and DevBench (5 judges x 10 models vs a human answer), plus 9 judges x 3 repetitions"
)
COMMIT = "9f8b7e8e83862cf1ffd9dd2c33f589262efc66ee"
UPSTREAM = f"github.com/Slimshilin/Position-Bias-Analyzer at {COMMIT}"
BACKEND = "published"
VERDICT_TO_CHOICE = {"A": "A", "B": "B", "C": "tie"}
SAMPLE_OF_SOURCE = {"full": 0, "repetition1": 1, "repetition2": 2, "repetition3": 3}


def read(directory: Path) -> Dataset:
    directory = Path(directory)
    raw = pd.read_csv(directory / "verdicts.csv", dtype=str, keep_default_na=False)
    _base.require_columns(
        raw,
        (
            "benchmark",
            "source",
            "judge",
            "judge_family",
            "question_id",
            "reference_model",
            "compared_model",
            "position_1_model",
            "position_2_model",
            "order",
            "verdict",
            "winner",
        ),
        "verdicts.csv",
    )
    models = pd.read_csv(directory / "models.csv", dtype=str, keep_default_na=False)
    _base.require_columns(models, ("model", "provider", "base_model_family"), "models.csv")
    mq = pd.read_json(directory / "mtbench_questions.jsonl", lines=True, dtype=False)
    _base.require_columns(
        mq, ("question_id", "task", "question_1", "question_2"), "mtbench_questions.jsonl"
    )
    ma = pd.read_json(directory / "mtbench_answers.jsonl", lines=True, dtype=False)
    _base.require_columns(
        ma, ("question_id", "model", "answer_1", "answer_2"), "mtbench_answers.jsonl"
    )
    dq = pd.read_json(directory / "devbench_questions_answers.jsonl", lines=True, dtype=False)
    _base.require_columns(
        dq, ("question_id", "task", "question", "answers"), "devbench_questions_answers.jsonl"
    )
    files = [directory / f for f in REQUIRED]
    summary = None
    if (directory / SUMMARY_FILE).is_file():
        summary = pd.read_csv(directory / SUMMARY_FILE)
        files.append(directory / SUMMARY_FILE)

    # items
    mt_items = pd.DataFrame(
        {
            "item_id": "MTBench:" + mq["question_id"].astype(int).astype(str),
            "prompt": mq["question_2"],
            "prompt_turn1": mq["question_1"],
            "reference": mq["reference_answer_2"] if "reference_answer_2" in mq.columns else None,
            "category": mq["task"],
            "benchmark": "MTBench",
            "evaluating_guidance": None,
        }
    )
    dev_items = pd.DataFrame(
        {
            "item_id": "DevBench:" + dq["question_id"].astype(str),
            "prompt": dq["question"],
            "prompt_turn1": None,
            "reference": dq["reference_answer"] if "reference_answer" in dq.columns else None,
            "category": dq["task"],
            "benchmark": "DevBench",
            "evaluating_guidance": dq["evaluating_guidance"]
            if "evaluating_guidance" in dq.columns
            else None,
        }
    )
    items = pd.concat([mt_items, dev_items], ignore_index=True)

    # responses
    mt_resp = pd.DataFrame(
        {
            "item_id": "MTBench:" + ma["question_id"].astype(int).astype(str),
            "generator": ma["model"].astype(str),
            "text": ma["answer_2"],
            "text_turn1": ma["answer_1"],
        }
    )
    dev_rows = []
    for qid, answers in zip(dq["question_id"].astype(str), dq["answers"], strict=True):
        if isinstance(answers, str):  # tolerate a JSON-encoded dict
            answers = json.loads(answers)
        for model, text in (answers or {}).items():
            dev_rows.append(
                {
                    "item_id": "DevBench:" + qid,
                    "generator": str(model),
                    "text": text,
                    "text_turn1": None,
                }
            )
    responses = pd.concat([mt_resp, pd.DataFrame(dev_rows)], ignore_index=True)
    items, responses = _fill_missing(raw, items, responses, dq)
    responses.insert(0, "response_id", responses["item_id"] + ":" + responses["generator"])
    family = dict(zip(models["model"], models["provider"], strict=True))
    responses["family"] = responses["generator"].map(family)
    responses["base_model_family"] = responses["generator"].map(
        dict(zip(models["model"], models["base_model_family"], strict=True))
    )
    responses = responses[
        ["response_id", "item_id", "generator", "family", "text", "text_turn1", "base_model_family"]
    ]

    verdicts = _verdicts(raw, set(responses["response_id"]))
    return Dataset(
        name=NAME,
        items=items,
        responses=responses,
        verdicts=verdicts,
        description=DESCRIPTION,
        licence=LICENCE,
        path=directory,
        meta={
            "upstream": UPSTREAM,
            "models": models,
            "families": {**family, **dict(zip(raw["judge"], raw["judge_family"], strict=False))},
            "upstream_consistency": summary,
            "runs": sorted(("jtj-" + raw["benchmark"] + "-" + raw["source"]).unique()),
        },
        sha256=_base.sha256_of_files(files),
    )


def _fill_missing(
    raw: pd.DataFrame, items: pd.DataFrame, responses: pd.DataFrame, dq: pd.DataFrame
):
    """Items and answers that verdicts refer to but the answer files lack.

    The DevBench repetition runs judge a ``<project>_<task>-general`` criterion that the
    answer file does not list; DevBench's question and answers depend on (project, task)
    only (the criterion changes the guidance), so they are taken from a sibling criterion
    of the same project and task (``items.text_origin`` says so). Anything still missing
    becomes an item / response without text, so that no verdict is dropped."""
    items = items.assign(text_origin="source")
    need = pd.DataFrame(
        {
            "item_id": pd.concat(
                [raw["benchmark"] + ":" + raw["question_id"]] * 2, ignore_index=True
            ),
            "generator": pd.concat(
                [raw["reference_model"], raw["compared_model"]], ignore_index=True
            ),
            "benchmark": pd.concat([raw["benchmark"]] * 2, ignore_index=True),
            "category": pd.concat(
                [raw["task"] if "task" in raw.columns else raw["question_id"]] * 2,
                ignore_index=True,
            ),
        }
    ).drop_duplicates(["item_id", "generator"])
    known_items = set(items["item_id"])
    new_items = need[~need["item_id"].isin(known_items)].drop_duplicates("item_id")
    if len(new_items):
        dq = dq.assign(project_task=dq["question_id"].astype(str).str.rsplit("-", n=1).str[0])
        sibling = dq.drop_duplicates("project_task").set_index("project_task")
        add_items, add_resp = [], []
        for row in new_items.itertuples(index=False):
            qid = row.item_id.split(":", 1)[1]
            pt = qid.rsplit("-", 1)[0]
            sib = sibling.loc[pt] if row.benchmark == "DevBench" and pt in sibling.index else None
            add_items.append(
                {
                    "item_id": row.item_id,
                    "prompt": None if sib is None else sib["question"],
                    "prompt_turn1": None,
                    "reference": None if sib is None else sib.get("reference_answer"),
                    "category": row.category,
                    "benchmark": row.benchmark,
                    "evaluating_guidance": None,
                    "text_origin": "missing" if sib is None else f"sibling:{sib['question_id']}",
                }
            )
            if sib is not None:
                answers = sib["answers"]
                if isinstance(answers, str):
                    answers = json.loads(answers)
                for model, text in (answers or {}).items():
                    add_resp.append(
                        {
                            "item_id": row.item_id,
                            "generator": str(model),
                            "text": text,
                            "text_turn1": None,
                        }
                    )
        items = pd.concat([items, pd.DataFrame(add_items)], ignore_index=True)
        responses = pd.concat([responses, pd.DataFrame(add_resp)], ignore_index=True)
    have = set(zip(responses["item_id"], responses["generator"], strict=True))
    missing = need[
        [(i, g) not in have for i, g in zip(need["item_id"], need["generator"], strict=True)]
    ]
    if len(missing):
        filler = missing[["item_id", "generator"]].assign(text=None, text_turn1=None)
        responses = pd.concat([responses, filler], ignore_index=True)
    return items, responses


def _verdicts(raw: pd.DataFrame, response_ids: set) -> pd.DataFrame:
    bench, qid = raw["benchmark"], raw["question_id"]
    item_id = bench + ":" + qid
    ref = item_id + ":" + raw["reference_model"]
    cmp_ = item_id + ":" + raw["compared_model"]
    for col, rid in (("reference_model", ref), ("compared_model", cmp_)):
        unknown = ~rid.isin(response_ids)
        if unknown.any():
            raise DataError(
                "verdicts.csv",
                col,
                "verdict on an answer missing from the answer files",
                [int(i) for i in np.flatnonzero(unknown)],
            )
    bad_src = ~raw["source"].isin(list(SAMPLE_OF_SOURCE))
    if bad_src.any():
        raise DataError(
            "verdicts.csv",
            "source",
            "unknown run (expected full or repetition1-3)",
            [int(i) for i in np.flatnonzero(bad_src)],
        )
    order = raw["order"].map({"reference_first": "ab", "reference_second": "ba"})
    if order.isna().any():
        raise DataError(
            "verdicts.csv",
            "order",
            "order not in {reference_first, reference_second}",
            [int(i) for i in np.flatnonzero(order.isna())],
        )
    # the displayed order must agree with `order`: a mismatch would silently flip choices
    shown_first = np.where(order == "ab", raw["reference_model"], raw["compared_model"])
    wrong = raw["position_1_model"].to_numpy() != shown_first
    if wrong.any():
        raise DataError(
            "verdicts.csv",
            "position_1_model",
            "first-shown model contradicts 'order'",
            [int(i) for i in np.flatnonzero(wrong)],
        )

    verdict = raw["verdict"].str.strip()
    choice = verdict.map(VERDICT_TO_CHOICE)
    bad = choice.isna() & (verdict != "")
    if bad.any():
        raise DataError(
            "verdicts.csv",
            "verdict",
            "verdict not in {A, B, C, ''}",
            [int(i) for i in np.flatnonzero(bad)],
        )
    ok = choice.notna().to_numpy()
    first = np.where(order == "ab", ref, cmp_)
    second = np.where(order == "ab", cmp_, ref)
    winner = np.select(
        [choice == "A", choice == "B", choice == "tie"], [first, second, "tie"], default=None
    )
    winner = np.where(ok, winner, None)
    # the source's own winner column must say the same thing (guards against a remapping slip)
    src_w = raw["winner"].str.strip()
    expect = np.select(
        [choice == "A", choice == "B", choice == "tie"],
        [raw["position_1_model"], raw["position_2_model"], "tie"],
        default="",
    )
    mismatch = ok & (src_w.to_numpy() != expect)
    if mismatch.any():
        raise DataError(
            "verdicts.csv",
            "winner",
            "winner disagrees with verdict and shown order",
            [int(i) for i in np.flatnonzero(mismatch)],
        )

    return pd.DataFrame(
        {
            "model": raw["judge"],
            "backend": BACKEND,
            "judge_version": "jtj-" + bench,
            "judge_family": raw["judge_family"],
            "protocol": "pairwise",
            "item_id": item_id,
            "response_a": ref,
            "response_b": cmp_,
            "response_id": None,
            "order": order,
            "sample": raw["source"].map(SAMPLE_OF_SOURCE).astype(int),
            "raw_output": None,  # rationales were not kept in the offline copy
            "choice": np.where(ok, choice, None),
            "winner": winner,
            "score": np.nan,
            "parse_ok": ok,
            "run_id": "jtj-" + bench + "-" + raw["source"],
            "benchmark": bench,
        }
    )


def upstream_consistency(
    verdicts: pd.DataFrame, by=("model", "judge_version", "run_id")
) -> pd.DataFrame:
    """Position consistency exactly as Shi et al.'s ``log.txt`` counts it.

    Per group: ``extracted`` = parsed judgments; ``consistent`` = 2 x (pairs whose two
    parsed orders agree: AB, BA or tie-tie in displayed slots) + (pairs with exactly one
    order parsed: upstream counts that single parsed judgment as consistent);
    ``consistency_rate = consistent / extracted``. This differs from judgelab's
    ``position_consistency`` (docs/statistics.md: pairs with both orders parsed only) when
    verdicts are unparsed. Reproduces upstream_consistency_summary.csv exactly.
    """
    v = verdicts[verdicts["protocol"] == "pairwise"]
    keys = [*by, "item_id", "response_a", "response_b", "sample"]
    # unparsed judgments carry an explicit marker so that groupby/unstack keep the pair
    c = v["choice"].where(v["parse_ok"].astype(bool), "").fillna("")
    wide = c.groupby([v[k] for k in keys] + [v["order"]], sort=False).first().unstack("order")
    wide = wide.reindex(columns=["ab", "ba"]).fillna("")
    ab, ba = wide["ab"].replace("", np.nan), wide["ba"].replace("", np.nan)
    both = ab.notna() & ba.notna()
    cons = both & (
        ((ab == "A") & (ba == "B")) | ((ab == "B") & (ba == "A")) | ((ab == "tie") & (ba == "tie"))
    )
    one = ab.notna() ^ ba.notna()
    per = (
        pd.DataFrame({"cons": cons.astype(int), "one": one.astype(int)})
        .groupby(level=list(by))
        .sum()
    )
    parsed = v[v["parse_ok"].astype(bool)].groupby(list(by)).size().rename("extracted")
    out = per.join(parsed, how="outer").fillna(0)
    out["consistent"] = 2 * out["cons"] + out["one"]
    out["consistency_rate"] = out["consistent"] / out["extracted"].where(out["extracted"] > 0)
    return out[["extracted", "consistent", "consistency_rate"]].reset_index()


# No download: the upstream raw judgments are Python pickles and xlsx workbooks that need a
# restricted unpickler and the upstream answer parser to rebuild verdicts.csv; the registry
# says so when the folder is missing.
download = None
