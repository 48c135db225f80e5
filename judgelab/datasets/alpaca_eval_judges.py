"""``alpaca_eval_judges``: AlpacaEval's judge leaderboards, a reference table.

Source: tatsu-lab/alpaca_eval, commit cd543a14 (``src/alpaca_eval/leaderboards/``). Code
Apache-2.0; **data CC BY-NC 4.0: non-commercial use only**. Local folder
``alpaca_eval_judge_leaderboards/``.

These are aggregates (no items, no per-item verdicts), so this is not a
:class:`judgelab.data.Dataset`: :func:`judgelab.datasets.load_reference` returns a
:class:`judgelab.datasets.Reference` with two tables:

* ``evaluators``: one row per judge configuration (``judge`` = the upstream row key, plus
  ``humans`` and ``longest``), the upstream columns verbatim (``Human agreement`` in %,
  ``Proba. prefer 1`` = position bias, ``Proba. prefer longer`` ...), and ``judge_family``
  (judgelab.families of the judge's model, see ``ANNOTATOR_MODELS``). The row
  ``weighted_alpaca_eval_gpt-4o-mini-2024-07-18`` has ``Human agreement`` 0.337, apparently
  a fraction, kept as upstream.
* ``leaderboards``: the nine per-judge model leaderboards stacked, one row per (annotator,
  evaluated model): ``benchmark`` (AlpacaEval | AlpacaEval_2), ``annotator`` (file name
  key), ``judge_model``, ``judge_family``, ``model``, ``generator_family``, then the
  upstream columns (win_rate, standard_error, n_wins, ..., length_controlled_winrate).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from judgelab import families
from judgelab.datasets import _base

NAME = "alpaca_eval_judges"
FOLDER = "alpaca_eval_judge_leaderboards"
COMMIT = "cd543a149df89434d8a54582c0151c0b945c3d20"
UPSTREAM = f"github.com/tatsu-lab/alpaca_eval at {COMMIT} (src/alpaca_eval/leaderboards/)"
LICENCE = "CC BY-NC 4.0 (data; non-commercial use only), code Apache-2.0 (tatsu-lab/alpaca_eval)"
DESCRIPTION = (
    "AlpacaEval per-judge aggregate statistics and per-judge model leaderboards (reference values)"
)

EVALUATORS_FILE = "evaluators__evaluators_leaderboard.csv"
LEADERBOARD_FILES = {
    ("AlpacaEval", "alpaca_eval_gpt4"): "data_AlpacaEval__alpaca_eval_gpt4_leaderboard.csv",
    ("AlpacaEval", "chatgpt_fn"): "data_AlpacaEval__chatgpt_fn_leaderboard.csv",
    ("AlpacaEval", "claude"): "data_AlpacaEval__claude_leaderboard.csv",
    ("AlpacaEval", "text_davinci_003"): "data_AlpacaEval__text_davinci_003_leaderboard.csv",
    (
        "AlpacaEval_2",
        "weighted_alpaca_eval_gpt4_turbo",
    ): "data_AlpacaEval_2__weighted_alpaca_eval_gpt4_turbo_leaderboard.csv",
    (
        "AlpacaEval_2",
        "alpaca_eval_gpt4_turbo_fn",
    ): "data_AlpacaEval_2__alpaca_eval_gpt4_turbo_fn_leaderboard.csv",
    (
        "AlpacaEval_2",
        "alpaca_eval_cot_gpt4_turbo_fn",
    ): "data_AlpacaEval_2__alpaca_eval_cot_gpt4_turbo_fn_leaderboard.csv",
    (
        "AlpacaEval_2",
        "claude_3_opus_ranking",
    ): "data_AlpacaEval_2__claude_3_opus_ranking_leaderboard.csv",
    (
        "AlpacaEval_2",
        "mistral-large-2402_ranking",
    ): "data_AlpacaEval_2__mistral-large-2402_ranking_leaderboard.csv",
}
REQUIRED = (EVALUATORS_FILE, *LEADERBOARD_FILES.values())

# Annotator configuration -> the judge model it calls (from the configuration names; the
# upstream evaluators_configs folder documents each). Used for judge_family only.
ANNOTATOR_MODELS = {
    "alpaca_eval_gpt4": "gpt-4",
    "chatgpt_fn": "gpt-3.5-turbo",
    "claude": "claude",
    "text_davinci_003": "text-davinci-003",
    "weighted_alpaca_eval_gpt4_turbo": "gpt-4-turbo",
    "alpaca_eval_gpt4_turbo_fn": "gpt-4-turbo",
    "alpaca_eval_cot_gpt4_turbo_fn": "gpt-4-turbo",
    "claude_3_opus_ranking": "claude-3-opus",
    "mistral-large-2402_ranking": "mistral-large-2402",
}
# Evaluator rows whose name does not start with the model name.
_EVALUATOR_FAMILY_HINTS = (
    ("humans", "human"),
    ("longest", None),
    ("guanaco", "meta"),
    ("cohere", "cohere"),
    ("self-taught-llama", "meta"),
    ("llama3", "meta"),
    ("gpt-4o", "openai"),
    ("gpt4", "openai"),
    ("chatgpt", "openai"),
    ("text_davinci", "openai"),
    ("claude", "anthropic"),
)


def _evaluator_family(name: str) -> str | None:
    low = name.lower()
    for key, fam in _EVALUATOR_FAMILY_HINTS:
        if key in low:
            return fam
    return families.family_of(name)


def read(directory: Path) -> _base.Reference:
    directory = Path(directory)
    ev = pd.read_csv(directory / EVALUATORS_FILE)
    ev = ev.rename(columns={ev.columns[0]: "judge"})
    ev.insert(1, "judge_family", ev["judge"].map(_evaluator_family))
    frames = []
    for (bench, annotator), fname in LEADERBOARD_FILES.items():
        df = pd.read_csv(directory / fname)
        df = df.rename(columns={df.columns[0]: "model"})
        judge_model = ANNOTATOR_MODELS[annotator]
        df.insert(0, "benchmark", bench)
        df.insert(1, "annotator", annotator)
        df.insert(2, "judge_model", judge_model)
        df.insert(3, "judge_family", families.family_of(judge_model))
        df.insert(5, "generator_family", df["model"].map(families.family_of))
        frames.append(df)
    lb = pd.concat(frames, ignore_index=True)
    return _base.Reference(
        name=NAME,
        tables={"evaluators": ev, "leaderboards": lb},
        description=DESCRIPTION,
        licence=LICENCE,
        path=directory,
        meta={"upstream": UPSTREAM, "annotator_models": dict(ANNOTATOR_MODELS)},
        sha256=_base.sha256_of_files([directory / f for f in REQUIRED]),
    )


RAW = f"https://raw.githubusercontent.com/tatsu-lab/alpaca_eval/{COMMIT}/src/alpaca_eval/leaderboards/"


def download(target: Path) -> None:
    """Fetch the ten CSVs verbatim (file name = upstream path with '/' -> '__')."""
    for fname in REQUIRED:
        upstream_path = fname.replace("__", "/")
        (Path(target) / fname).write_bytes(_base.http_get(RAW + upstream_path))
