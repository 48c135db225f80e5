"""``hanna_story_ratings``: HANNA, 1,056 stories rated by 3 human raters and scored by 5 LLM
judges under 4 evaluation prompts, on 6 criteria (1-5). Scores only: no story texts.

Source: dig-team/hanna-benchmark-asg, commit 282f2753 (Chhun, Suchanek, Clavel, "Do
Language Models Enjoy Their Own Stories? Prompting Large Language Models for Automatic
Story Evaluation", TACL 2024; HANNA: Chhun et al., COLING 2022), MIT licence. Stories
were generated from WritingPrompts prompts (Fan et al. 2018). Local folder
``hanna_story_ratings/``: ``hanna_metric_scores_llm.csv`` (one row per story-generating
system, each cell a JSON list of 96 values, element i = the system's story for prompt i).

**One criterion per load** (``criterion=``: Relevance (default), Coherence, Empathy,
Surprise, Engagement, Complexity, or the codes RE CH EM SU EG CX); in a study
``dataset: {name: hanna_story_ratings, criterion: Coherence}``.

Mapping into judgelab's tables:

* items: one per WritingPrompts prompt, ``item_id`` = ``"prompt-<i>"`` (i = 0..95);
  ``prompt`` empty (not in the offline copy).
* responses: one per story, ``response_id`` = ``"story-<id>"`` with upstream's story id
  (96 x system row + i); ``generator`` = the system (``Human`` = the WritingPrompts
  reference story written by a person: a generator, **not a human rater**), ``family``
  (``human`` for it, else judgelab.families); no text.
* labels: the raw integer ratings (1-5) of the criterion, ``rater_id`` =
  ``"story-<id>/slot<k>"``: slot k is the k-th mTurk assignment of that story, **not one
  person across stories**, so each rater id rates one story (3,168 labels); extra
  ``slot``, ``criterion``.
* verdicts: ``protocol`` single, one row per (judge, prompt, story): ``model`` = the judge
  as HANNA names it (``Beluga-13B``, ``OrcaPlatypus``, ``Mistral-7B``, ``Llama-13B``,
  ``ChatGPT``), ``backend`` ``published``, ``judge_version`` = ``hanna-eval-prompt-<p>``
  (the paper's Eval-Prompts 1-4: so prompt drift of one model is a judge_version change),
  ``judge_family`` the base-model family (meta for the three Llama-2 models, mistral,
  openai). ``score`` = the **mean of 3 sampled answers** (non-integer, e.g. 3.667);
  values below 1 are HANNA's failure codes (down to -1, all three answers unparsed):
  ``parse_ok`` False and ``score`` empty, the value kept in ``score_source``. A mean of
  1 or more may still include a failed answer (cannot be told without the raw answers).
  ``sample`` 0, extra ``n_answers_averaged`` 3 and ``criterion``. Weighted kappa needs
  integer classes: judgelab rounds the judge's mean (and the median of the three human
  ratings) before it; Spearman and Kendall use the unrounded means.

``meta``: ``criterion``, ``metrics`` (the 72 automatic metrics per story, wide),
``human_mean`` (upstream's per-story mean of the 3 raters for every criterion),
``families`` (judge -> family), ``judge_generator_aliases`` (ChatGPT -> gpt-3.5-turbo).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from judgelab import families
from judgelab.data import VERDICT_COLUMNS, DataError, Dataset
from judgelab.datasets import _base

NAME = "hanna_story_ratings"
FOLDER = "hanna_story_ratings"
SCORES_FILE = "hanna_metric_scores_llm.csv"
REQUIRED = (SCORES_FILE,)
LICENCE = (
    "MIT (dig-team/hanna-benchmark-asg); stories from WritingPrompts prompts (Fan et al. 2018)"
)
DESCRIPTION = (
    "HANNA: 1,056 stories (11 systems x 96 prompts), 3 human ratings x 6 criteria (1-5); "
    "5 LLM judges x 4 prompts (means of 3 answers); scores only, one criterion per load"
)
COMMIT = "282f27536a5d05ad4ce14298abcd70c45668fed2"
UPSTREAM = f"github.com/dig-team/hanna-benchmark-asg at {COMMIT}"
BACKEND = "published"
CRITERIA = {
    "Relevance": "RE",
    "Coherence": "CH",
    "Empathy": "EM",
    "Surprise": "SU",
    "Engagement": "EG",
    "Complexity": "CX",
}
DEFAULT_CRITERION = "Relevance"
JUDGE_FAMILIES = {  # base-model family: Beluga and OrcaPlatypus are Llama-2 fine-tunes
    "Beluga-13B": "meta",
    "OrcaPlatypus": "meta",
    "Mistral-7B": "mistral",
    "Llama-13B": "meta",
    "ChatGPT": "openai",
}
PROMPTS = (1, 2, 3, 4)
N_PROMPTS_PER_SYSTEM = 96
N_ANSWERS_AVERAGED = 3
FAILURE_BELOW = 1.0  # scale 1-5: smaller values are HANNA's codes for unparsed answers
REFERENCE_GENERATOR = "Human"


def criterion_name(criterion: str) -> str:
    """``Relevance`` / ``relevance`` / ``RE`` -> ``Relevance``; unknown names raise."""
    for name, code in CRITERIA.items():
        if str(criterion).strip().lower() in (name.lower(), code.lower()):
            return name
    raise DataError(
        NAME,
        None,
        f"unknown criterion {criterion!r}: one of {', '.join(CRITERIA)} (or {', '.join(CRITERIA.values())})",
    )


def read_source(directory: Path) -> pd.DataFrame:
    """The upstream table, one row per system (index ``Model``), cells still JSON text."""
    raw = pd.read_csv(Path(directory) / SCORES_FILE, dtype=str, keep_default_na=False)
    _base.require_columns(raw, ("Model", *CRITERIA), SCORES_FILE)
    return raw.set_index("Model")


def column(raw: pd.DataFrame, name: str) -> np.ndarray:
    """One score column as a (systems x 96) float array, checked for its shape."""
    if name not in raw.columns:
        raise DataError(SCORES_FILE, name, "missing column in source file")
    values = [json.loads(cell) for cell in raw[name]]
    bad = [i for i, v in enumerate(values) if len(v) != N_PROMPTS_PER_SYSTEM]
    if bad:
        raise DataError(SCORES_FILE, name, f"cell without {N_PROMPTS_PER_SYSTEM} values", bad)
    return np.asarray(values, dtype=float)


def story_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """``story_id, response_id, item_id, generator`` in the order of the flattened arrays."""
    systems = raw.index.to_numpy()
    n = N_PROMPTS_PER_SYSTEM
    row = np.repeat(np.arange(len(systems)), n)
    prompt = np.tile(np.arange(n), len(systems))
    story = n * row + prompt
    return pd.DataFrame(
        {
            "story_id": story,
            "response_id": [f"story-{s}" for s in story],
            "item_id": [f"prompt-{p}" for p in prompt],
            "generator": systems[row],
        }
    )


def read(directory: Path, criterion: str = DEFAULT_CRITERION) -> Dataset:
    """``criterion``: the one criterion loaded (see the module docstring)."""
    directory = Path(directory)
    name = criterion_name(criterion)
    code = CRITERIA[name]
    raw = read_source(directory)
    stories = story_frame(raw)
    items = pd.DataFrame(
        {
            "item_id": [f"prompt-{p}" for p in range(N_PROMPTS_PER_SYSTEM)],
            "prompt": None,
            "prompt_index": np.arange(N_PROMPTS_PER_SYSTEM),
        }
    )
    generator = stories["generator"]
    responses = stories[["response_id", "item_id", "generator"]].assign(
        family=np.where(
            generator == REFERENCE_GENERATOR, "human", generator.map(families.family_of)
        ),
        text=None,
        story_id=stories["story_id"],
    )
    labels = _labels(raw, stories, name, code)
    verdicts = _verdicts(raw, stories, name, code)
    metric_cols = [c for c in raw.columns[len(CRITERIA) :] if not _is_rating_column(c)]
    metrics = stories[["story_id", "response_id", "generator"]].assign(
        **{c: column(raw, c).ravel() for c in metric_cols}
    )
    human_mean = stories[["story_id", "response_id", "generator"]].assign(
        **{c: column(raw, c).ravel() for c in CRITERIA}
    )
    return Dataset(
        name=NAME,
        items=items,
        responses=responses,
        labels=labels,
        verdicts=verdicts,
        scale=(1, 5),
        description=f"{DESCRIPTION}; criterion: {name}",
        licence=LICENCE,
        path=directory,
        meta={
            "upstream": UPSTREAM,
            "criterion": name,
            "metrics": metrics,
            "human_mean": human_mean,
            "families": dict(JUDGE_FAMILIES),
            "judge_generator_aliases": {"ChatGPT": "gpt-3.5-turbo"},
            "reference": "labels: 3 mTurk ratings per story (rater_id = story x slot)",
        },
        sha256=_base.sha256_of_files([directory / SCORES_FILE]),
    )


def _is_rating_column(col: str) -> bool:
    """Human k XX, Human Avg k XX and <Judge> XX|AVG p columns (the rest are metrics)."""
    if col.startswith("Human "):
        return True
    return any(col.startswith(j + " ") for j in JUDGE_FAMILIES)


def _labels(raw: pd.DataFrame, stories: pd.DataFrame, name: str, code: str) -> pd.DataFrame:
    frames = []
    for k in (1, 2, 3):
        score = column(raw, f"Human {k} {code}").ravel()
        bad = ~np.isin(score, [1, 2, 3, 4, 5])
        if bad.any():
            raise DataError(
                SCORES_FILE, f"Human {k} {code}", "rating not an integer 1-5", np.flatnonzero(bad)
            )
        frames.append(
            pd.DataFrame(
                {
                    "response_id": stories["response_id"],
                    "rater_id": stories["response_id"] + f"/slot{k}",
                    "score": score.astype(int),
                    "slot": k,
                    "criterion": name,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _verdicts(raw: pd.DataFrame, stories: pd.DataFrame, name: str, code: str) -> pd.DataFrame:
    frames = []
    for judge, family in JUDGE_FAMILIES.items():
        for p in PROMPTS:
            value = column(raw, f"{judge} {code} {p}").ravel()
            ok = value >= FAILURE_BELOW
            frames.append(
                pd.DataFrame(
                    {
                        "model": judge,
                        "backend": BACKEND,
                        "judge_version": f"hanna-eval-prompt-{p}",
                        "judge_family": family,
                        "protocol": "single",
                        "item_id": stories["item_id"],
                        "response_a": None,
                        "response_b": None,
                        "response_id": stories["response_id"],
                        "order": None,
                        "sample": 0,
                        "raw_output": None,
                        "choice": None,
                        "winner": None,
                        "score": np.where(ok, value, np.nan),
                        "parse_ok": ok,
                        "score_source": value,
                        "n_answers_averaged": N_ANSWERS_AVERAGED,
                        "criterion": name,
                    }
                )
            )
    v = pd.concat(frames, ignore_index=True)
    return v[[*VERDICT_COLUMNS, "score_source", "n_answers_averaged", "criterion"]]
