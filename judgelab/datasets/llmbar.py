"""``llmbar``: LLMBar instances with gold / human labels and six judges' verdicts under
up to 15 prompting strategies, each in both answer orders.

Source: princeton-nlp/LLMBar (Zeng et al., "Evaluating Large Language Models at
Evaluating Instruction Following", ICLR 2024), commit 900616bf, MIT licence. Local
folder ``llmbar_judges/``: ``instances.jsonl``, ``verdicts.csv``, ``judges.csv`` and the
derived ``processed_mtbench_model_links.csv``.

Mapping into judgelab's tables:

* items: ``item_id`` = ``"<subset>#<idx>"`` (``"LLMBar/Natural#0"``); ``prompt`` = input;
  ``category`` = the subset; extra ``subset_group`` (LLMBar | CaseStudy | Processed),
  ``label_source`` (gold | human) and ``mtbench_question_id`` (Processed/MT-Bench only).
* responses: ``"<item_id>#1"`` and ``"<item_id>#2"`` (output_1, output_2) with their text;
  ``generator`` is the MT-Bench model for Processed/MT-Bench where the link file names one
  model (``exact_unique``, ``exact_restricted_to_study_models``, ``inferred_*``), else
  empty (LLMBar does not say who wrote its outputs); extra ``generator_link`` (the link's
  match kind) and ``generator_candidates`` (the link's model string, ``a|b`` when ambiguous).
* preferences: one row per instance with the label, ``response_a`` = output_1.
  Gold and human labels are kept apart: ``rater_id`` = ``gold`` with ``rater_type`` =
  ``gold`` for the LLMBar and CaseStudy subsets (objective labels curated by the authors),
  ``rater_id`` = ``human_majority`` with ``rater_type`` = ``human`` for the Processed
  subsets (FairEval's / LLMEval^2's human labels, MT-Bench's expert majority). With
  ``mtbench_votes=True`` the linked Processed/MT-Bench instances carry the individual
  MT-Bench votes instead (``rater_type`` ``human_vote``; see :func:`read`).
* verdicts: each upstream row (instance, judge, strategy) becomes two rows, order ``ab``
  (output_1 shown first) and ``ba`` (output_2 shown first). The stored pair is
  (output_1, output_2). ``model`` = the judge name as LLMBar names it (``GPT-4``,
  ``ChatGPT``, ``ChatGPT-0301``, ``LLaMA2``, ``PaLM2``, ``Falcon``; the concrete model id is
  in the extra column ``model_id``), ``backend`` = ``published``, ``judge_version`` =
  ``llmbar-<strategy>`` (e.g. ``llmbar-Vanilla``), ``judge_family`` = the provider from
  ``judges.csv``, ``choice`` = the displayed slot (A | B; LLMBar has no ties), ``winner`` =
  the response id, ``parse_ok`` False where LLMBar's parser found no answer (kept, with
  empty choice and winner). ``Rating*`` strategies score each output once (extra columns
  ``score_a``, ``score_b`` on both rows); there the two orders differ only in how equal
  scores were broken (the second-shown output wins a tie of scores). ``run_id`` =
  ``llmbar-<subset>`` (e.g. ``llmbar-LLMBar/Natural``): one upstream result file per
  subset, judge and strategy, so ``select`` can pick subsets.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab import config
from judgelab.data import VERDICT_COLUMNS, DataError, Dataset
from judgelab.datasets import _base

NAME = "llmbar"
FOLDER = "llmbar_judges"
REQUIRED = ("instances.jsonl", "verdicts.csv", "judges.csv")
LINKS_FILE = "processed_mtbench_model_links.csv"
LICENCE = (
    "MIT (princeton-nlp/LLMBar); instances drawn from AlpacaFarm, LLMEval^2, FairEval and "
    "MT-Bench human judgments (CC BY 4.0): cite those too"
)
DESCRIPTION = (
    "LLMBar: 1,200 pairwise instances with gold/human labels; 6 judges x up to 15 prompting "
    "strategies, both answer orders"
)
COMMIT = "900616bff90b6c6c8e1681f7d079250637c55992"
UPSTREAM = f"github.com/princeton-nlp/LLMBar at {COMMIT}"
BACKEND = "published"

# Link kinds that name one model; ambiguous / unresolved links leave the generator empty.
SINGLE_MODEL_LINKS = (
    "exact_unique",
    "exact_restricted_to_study_models",
    "inferred_no_match",
    "inferred_matches_vicuna_v1.3_text",
)

JUDGE_GENERATOR_ALIASES = {
    "GPT-4": "gpt-4",
    "ChatGPT": "gpt-3.5-turbo",
    "ChatGPT-0301": "gpt-3.5-turbo",
}

# The judges of judges.csv, for a download (which cannot produce the derived link file).
JUDGES_CSV = """judge,model_id,provider,base_model_family,decoding
GPT-4,gpt-4 (0613 snapshot via Azure OpenAI),openai,gpt,temperature 0
ChatGPT,gpt-35-turbo-0613,openai,gpt,temperature 0
ChatGPT-0301,gpt-35-turbo-0301,openai,gpt,temperature 0
LLaMA2,meta-llama/Llama-2-70b-chat-hf,meta,llama,see upstream config
PaLM2,models/text-bison-001,google,palm,temperature 0
Falcon,tiiuae/falcon-180B-chat,tii,falcon,see upstream config
"""


def _item_ids(subset: pd.Series, idx: pd.Series) -> pd.Series:
    return subset.astype(str) + "#" + idx.astype(int).astype(str)


def _choice_and_winner(won: pd.Series, first_is_1: bool, rid1: np.ndarray, rid2: np.ndarray):
    """Map a winner in the ORIGINAL numbering ('1'/'2'/'') to displayed slot and response id."""
    w = won.fillna("").astype(str).str.strip().to_numpy()
    is1, is2 = w == "1", w == "2"
    first, second = ("A", "B") if first_is_1 else ("B", "A")
    choice = np.where(is1, first, np.where(is2, second, None))
    winner = np.where(is1, rid1, np.where(is2, rid2, None))
    return choice, winner, is1 | is2


VOTES_FOLDER = "mt_bench_human_judgments_turn1"
VOTES_FILE = "human_judgments_turn1.jsonl"


def _votes_folder(directory: Path, given=True) -> Path | None:
    """The MT-Bench expert votes for ``mtbench_votes``: a given folder or file, else the
    ``mt_bench_human`` folder beside this one, under $JUDGELAB_DATA or in the cache."""
    if given is not True:
        p = Path(given).expanduser()
        p = p.parent if p.is_file() else p
        return p if (p / VOTES_FILE).is_file() else None
    places = [directory.parent / VOTES_FOLDER]
    env = config.data_env_dir()
    if env is not None:
        places.append(env / VOTES_FOLDER)
    places.append(_base.default_cache_root() / "mt_bench_human")
    return next((p.resolve() for p in places if (p / VOTES_FILE).is_file()), None)


def depends(directory: Path) -> list[Path]:
    """The votes folder an ``mtbench_votes=True`` load reads (part of the memory-cache key)."""
    p = _votes_folder(Path(directory))
    return [p] if p is not None else []


def read(directory: Path, mtbench_votes: bool | str | Path = False) -> Dataset:
    """``mtbench_votes``: False (default) keeps LLMBar's label as the only reference. True
    (or the votes folder) replaces, for the Processed/MT-Bench instances whose two outputs
    link to one model each, the ``human_majority`` row by the individual MT-Bench expert
    and author votes on that question and model pair (``rater_type`` ``human_vote``,
    ``rater_id`` the annotator, ``response_a`` the output of the model shown first to the
    human); instances without votes keep ``human_majority``. LLMBar's label stays in
    ``items.label_response`` either way."""
    directory = Path(directory)
    inst, raw, judges, links, files = _read_files(directory)
    _label_item_ids(inst)
    items = _items(inst)
    responses = _responses(inst)
    if links is not None:
        _link_generators(links, inst, items, responses)
    else:
        items["mtbench_question_id"] = pd.array([pd.NA] * len(items), dtype="Int64")
    preferences = _label_preferences(inst)

    n_votes = 0
    if mtbench_votes is not False and mtbench_votes is not None:
        folder = _votes_folder(directory, mtbench_votes)
        if folder is None:
            raise DataError(
                NAME,
                None,
                f"mtbench_votes: no {VOTES_FILE} found (looked beside {directory}, under ${_base.ENV_DATA} and in "
                f"the cache); pass mtbench_votes=<folder of the mt_bench_human dataset>",
            )
        preferences, n_votes = _with_votes(preferences, items, responses, folder / VOTES_FILE)
        files.append(folder / VOTES_FILE)

    verdicts = _verdicts(raw, inst, judges)
    return Dataset(
        name=NAME,
        items=items,
        responses=responses,
        preferences=preferences,
        verdicts=verdicts,
        scale=(1, 10),
        description=DESCRIPTION,
        licence=LICENCE,
        path=directory,
        meta=_meta(judges, links, raw, n_votes),
        sha256=_base.sha256_of_files(files),
    )


def _read_files(directory: Path):
    """instances, verdicts, judges (required) and the MT-Bench links (optional), checked for
    their columns; and the files read (the dataset's sha256)."""
    inst = pd.read_json(directory / "instances.jsonl", lines=True, dtype=False)
    _base.require_columns(
        inst, ("subset", "idx", "input", "output_1", "output_2", "label"), "instances.jsonl"
    )
    raw = pd.read_csv(directory / "verdicts.csv", dtype=str, keep_default_na=False)
    _base.require_columns(
        raw,
        ("subset", "idx", "judge", "strategy", "winner_original_order", "winner_swapped_order"),
        "verdicts.csv",
    )
    judges = pd.read_csv(directory / "judges.csv", dtype=str, keep_default_na=False)
    _base.require_columns(judges, ("judge", "model_id", "provider"), "judges.csv")
    files = [directory / f for f in REQUIRED]
    links = None
    if (directory / LINKS_FILE).is_file():
        links = pd.read_csv(directory / LINKS_FILE, dtype=str, keep_default_na=False)
        files.append(directory / LINKS_FILE)
    return inst, raw, judges, links, files


def _label_item_ids(inst: pd.DataFrame) -> None:
    """LLMBar's label (1 | 2, checked) and the item ids ``<subset>/<idx>``, in place."""
    inst["label"] = inst["label"].astype(str).str.strip()
    bad = ~inst["label"].isin(["1", "2"])
    if bad.any():
        raise DataError(
            "instances.jsonl", "label", "label not in {1, 2}", [int(i) for i in np.flatnonzero(bad)]
        )
    inst["item_id"] = _item_ids(inst["subset"], inst["idx"])


def _items(inst: pd.DataFrame) -> pd.DataFrame:
    """One item per instance; ``label_response`` is LLMBar's preferred output."""
    group = inst["subset"].str.split("/").str[0]
    items = pd.DataFrame(
        {
            "item_id": inst["item_id"],
            "prompt": inst["input"],
            "category": inst["subset"],
            "subset_group": group,
            "label_source": np.where(group == "Processed", "human", "gold"),
            "label_response": np.where(
                inst["label"] == "1", inst["item_id"] + "#1", inst["item_id"] + "#2"
            ),
        }
    )
    return items


def _responses(inst: pd.DataFrame) -> pd.DataFrame:
    """The two outputs of each instance as responses ``<item>#1`` and ``<item>#2``."""
    rid1 = (inst["item_id"] + "#1").to_numpy()
    rid2 = (inst["item_id"] + "#2").to_numpy()
    responses = pd.DataFrame(
        {
            "response_id": np.concatenate([rid1, rid2]),
            "item_id": np.concatenate([inst["item_id"], inst["item_id"]]),
            "generator": None,
            "text": np.concatenate([inst["output_1"].to_numpy(), inst["output_2"].to_numpy()]),
            "generator_link": None,
            "generator_candidates": None,
        }
    )
    return responses


def _link_generators(links, inst, items, responses) -> None:
    """MT-Bench question ids on the items, and a response's generator where the link names
    one model (:data:`SINGLE_MODEL_LINKS`), in place."""
    _base.require_columns(
        links,
        (
            "subset",
            "idx",
            "mtbench_question_id",
            "model_output_1",
            "match_output_1",
            "model_output_2",
        ),
        LINKS_FILE,
    )
    links["item_id"] = _item_ids(links["subset"], links["idx"])
    unknown = ~links["item_id"].isin(set(inst["item_id"]))
    if unknown.any():
        raise DataError(
            LINKS_FILE,
            "idx",
            "link of an unknown instance",
            [int(i) for i in np.flatnonzero(unknown)],
        )
    qid = links.set_index("item_id")["mtbench_question_id"]
    items["mtbench_question_id"] = pd.to_numeric(items["item_id"].map(qid), errors="coerce").astype(
        "Int64"
    )
    rows = []
    for k in ("1", "2"):
        rows.append(
            pd.DataFrame(
                {
                    "response_id": links["item_id"] + "#" + k,
                    "cand": links[f"model_output_{k}"],
                    "link": links[f"match_output_{k}"],
                }
            )
        )
    lk = pd.concat(rows).set_index("response_id")
    cand = responses["response_id"].map(lk["cand"])
    link = responses["response_id"].map(lk["link"])
    responses["generator_candidates"] = cand.where(cand.notna() & (cand != ""), None)
    responses["generator_link"] = link
    single = (
        link.isin(SINGLE_MODEL_LINKS)
        & cand.notna()
        & (cand != "")
        & ~cand.fillna("").str.contains("|", regex=False)
    )
    responses["generator"] = cand.where(single, None)


def _label_preferences(inst: pd.DataFrame) -> pd.DataFrame:
    """LLMBar's label as one preference per instance: ``human_majority`` (Processed/*) or
    ``gold``."""
    group = inst["subset"].str.split("/").str[0]
    rid1 = (inst["item_id"] + "#1").to_numpy()
    rid2 = (inst["item_id"] + "#2").to_numpy()
    human = (group == "Processed").to_numpy()
    preferences = pd.DataFrame(
        {
            "item_id": inst["item_id"],
            "response_a": rid1,
            "response_b": rid2,
            "rater_id": np.where(human, "human_majority", "gold"),
            "preference": np.where(inst["label"] == "1", "a", "b"),
            "rater_type": np.where(human, "human", "gold"),
        }
    )
    return preferences


def _meta(judges, links, raw, n_votes: int) -> dict:
    return {
        "upstream": UPSTREAM,
        "judges": judges,
        "mtbench_links": links,
        "families": dict(zip(judges["judge"], judges["provider"], strict=True)),
        # LLMBar's judge names vs the MT-Bench answer models of the same product line
        # (snapshots may differ: GPT-4 judged as 0613, MT-Bench's gpt-4 answers are 0314),
        # for self-preference, where model-name equality alone misses ChatGPT = gpt-3.5-turbo.
        "judge_generator_aliases": dict(JUDGE_GENERATOR_ALIASES),
        "strategies": sorted(raw["strategy"].unique()),
        "reference": "preferences: rater_type 'gold' (LLMBar, CaseStudy) or 'human' (Processed/*)"
        + (f"; {n_votes} MT-Bench votes as rater_type 'human_vote'" if n_votes else ""),
    }


def _with_votes(preferences, items, responses, votes_path: Path) -> tuple[pd.DataFrame, int]:
    votes = pd.read_json(votes_path, lines=True, dtype=False)
    _base.require_columns(
        votes, ("question_id", "judge", "model_a", "model_b", "winner"), VOTES_FILE
    )
    mt = items[items["mtbench_question_id"].notna()][["item_id", "mtbench_question_id"]]
    gen = responses.set_index("response_id")["generator"]
    g1 = (mt["item_id"] + "#1").map(gen)
    g2 = (mt["item_id"] + "#2").map(gen)
    linked = mt[(g1.notna() & g2.notna() & (g1 != g2)).to_numpy()].assign(g1=g1, g2=g2)
    # one vote joins an instance when the question and the unordered model pair agree
    rows = []
    for how in (("g1", "g2"), ("g2", "g1")):
        m = linked.merge(
            votes.assign(mtbench_question_id=votes["question_id"].astype(int)),
            left_on=["mtbench_question_id", how[0], how[1]],
            right_on=["mtbench_question_id", "model_a", "model_b"],
        )
        first_is_1 = how[0] == "g1"
        a = m["item_id"] + ("#1" if first_is_1 else "#2")
        b = m["item_id"] + ("#2" if first_is_1 else "#1")
        rows.append(
            pd.DataFrame(
                {
                    "item_id": m["item_id"],
                    "response_a": a,
                    "response_b": b,
                    "rater_id": m["judge"].astype(str),
                    "preference": m["winner"].map({"model_a": "a", "model_b": "b", "tie": "tie"}),
                    "rater_type": "human_vote",
                }
            )
        )
    add = pd.concat(rows, ignore_index=True)
    bad = add["preference"].isna()
    if bad.any():
        raise DataError(
            VOTES_FILE,
            "winner",
            "winner not in {model_a, model_b, tie}",
            [int(i) for i in np.flatnonzero(bad)],
        )
    voted = set(add["item_id"])
    keep = preferences[
        ~(preferences["item_id"].isin(voted) & (preferences["rater_id"] == "human_majority"))
    ]
    out = pd.concat([keep, add], ignore_index=True)
    return out, len(add)


def _verdicts(raw: pd.DataFrame, inst: pd.DataFrame, judges: pd.DataFrame) -> pd.DataFrame:
    item_id = _item_ids(raw["subset"], raw["idx"])
    unknown = ~item_id.isin(set(inst["item_id"]))
    if unknown.any():
        raise DataError(
            "verdicts.csv",
            "idx",
            "verdict of an unknown instance",
            [int(i) for i in np.flatnonzero(unknown)],
        )
    unknown = ~raw["judge"].isin(set(judges["judge"]))
    if unknown.any():
        raise DataError(
            "verdicts.csv",
            "judge",
            "judge missing from judges.csv",
            [int(i) for i in np.flatnonzero(unknown)],
        )
    rid1 = (item_id + "#1").to_numpy()
    rid2 = (item_id + "#2").to_numpy()
    family = raw["judge"].map(dict(zip(judges["judge"], judges["provider"], strict=True)))
    model_id = raw["judge"].map(dict(zip(judges["judge"], judges["model_id"], strict=True)))

    def scores(col):
        return pd.to_numeric(raw[col], errors="coerce").to_numpy() if col in raw.columns else np.nan

    base = {
        "model": raw["judge"].to_numpy(),
        "backend": BACKEND,
        "judge_version": ("llmbar-" + raw["strategy"]).to_numpy(),
        "judge_family": family.to_numpy(),
        "protocol": "pairwise",
        "item_id": item_id.to_numpy(),
        "response_a": rid1,
        "response_b": rid2,
        "response_id": None,
        "sample": 0,
        "raw_output": None,  # LLMBar's rationales were not kept in the offline copy
        "score": np.nan,
        "score_a": scores("score_1"),
        "score_b": scores("score_2"),
        "model_id": model_id.to_numpy(),
        "strategy": raw["strategy"].to_numpy(),
        # one upstream result.json per (subset, judge, strategy): the subset names the run, so
        # select={"run_id": [...]} restricts a study to subsets (e.g. the LLMBar subsets of
        # the paper's headline figures) without a new selection key
        "run_id": ("llmbar-" + raw["subset"].astype(str)).to_numpy(),
    }
    frames = []
    for order, col, first_is_1 in (
        ("ab", "winner_original_order", True),
        ("ba", "winner_swapped_order", False),
    ):
        choice, winner, ok = _choice_and_winner(raw[col], first_is_1, rid1, rid2)
        frames.append(
            pd.DataFrame(
                {**base, "order": order, "choice": choice, "winner": winner, "parse_ok": ok}
            )
        )
    v = pd.concat(frames, ignore_index=True)
    # one pair's two orders next to each other: easier to read, stable for hashing
    v["_row"] = np.concatenate([np.arange(len(raw)), np.arange(len(raw))])
    v = v.sort_values(["_row", "order"], kind="stable").drop(columns="_row").reset_index(drop=True)
    cols = [
        *VERDICT_COLUMNS,
        "score_a",
        "score_b",
        "model_id",
        "strategy",
        "run_id",
    ]
    return v[cols]


# ---------------------------------------------------------------- download
GITHUB_TREE = f"https://api.github.com/repos/princeton-nlp/LLMBar/git/trees/{COMMIT}?recursive=1"
GITHUB_RAW = f"https://raw.githubusercontent.com/princeton-nlp/LLMBar/{COMMIT}/"


def download(target: Path) -> None:
    """Rebuild instances.jsonl, verdicts.csv and judges.csv from upstream LLMBar: every
    ``Dataset/**/dataset.json`` and ``Dataset/**/evaluators/<judge>/<strategy>/result.json``.
    The derived MT-Bench link file cannot be rebuilt this way (the generators stay empty)."""
    tree = json.loads(_base.http_get(GITHUB_TREE))
    paths = [t["path"] for t in tree.get("tree", []) if t.get("type") == "blob"]
    datasets = sorted(p for p in paths if p.startswith("Dataset/") and p.endswith("/dataset.json"))
    results = sorted(
        p
        for p in paths
        if p.startswith("Dataset/") and p.endswith("/result.json") and "/evaluators/" in p
    )
    if not datasets:
        raise ValueError(f"no Dataset/**/dataset.json in {GITHUB_TREE}")
    inst_rows, verdict_rows = [], []
    for p in datasets:
        subset = p[len("Dataset/") : -len("/dataset.json")]
        for idx, rec in enumerate(json.loads(_base.http_get(GITHUB_RAW + p))):
            inst_rows.append(
                {
                    "subset": subset,
                    "idx": idx,
                    "input": rec["input"],
                    "output_1": rec["output_1"],
                    "output_2": rec["output_2"],
                    "label": rec["label"],
                }
            )
    for p in results:
        head, rest = p[len("Dataset/") :].split("/evaluators/", 1)
        judge, strategy = rest.split("/")[:2]
        for idx, rec in enumerate(json.loads(_base.http_get(GITHUB_RAW + p))):
            verdict_rows.append(parse_result_record(head, idx, judge, strategy, rec))
    pd.DataFrame(inst_rows).to_json(
        Path(target) / "instances.jsonl", orient="records", lines=True, force_ascii=False
    )
    pd.DataFrame(verdict_rows).to_csv(Path(target) / "verdicts.csv", index=False)
    (Path(target) / "judges.csv").write_text(JUDGES_CSV)


def parse_result_record(subset: str, idx: int, judge: str, strategy: str, rec: dict) -> dict:
    """One upstream result.json entry -> one verdicts.csv row (winners in the original
    numbering, empty when LLMBar's own parser found none)."""
    res = (rec.get("results") or [{}])[0]

    def winner(key):
        w = str((res.get(key) or {}).get("winner", "")).strip()
        return w if w in ("1", "2") else ""

    def score(key):
        s = res.get(key)
        return s[0] if isinstance(s, list) and s else ""

    return {
        "subset": subset,
        "idx": idx,
        "judge": judge,
        "strategy": strategy,
        "label": rec.get("label", ""),
        "winner_original_order": winner("swap = False"),
        "winner_swapped_order": winner("swap = True"),
        "score_1": score("score_1"),
        "score_2": score("score_2"),
    }
