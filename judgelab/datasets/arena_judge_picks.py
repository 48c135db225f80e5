"""``arena_judge_picks_2025``: 877 LMArena battles (May-July 2025) with the human winner
and the picks of two LLM judges, GPT-5.2 and GPT-4o-mini.

Source: yiqunchen/debias-llm-as-a-judge (R package ``debiasLLMReporting``), commit
4b4879ac, ``data/``; repository MIT. The battles are LMArena's
(``arena-human-preference-140k`` schema): user prompts CC BY 4.0, **model outputs under
the terms of their providers** (the conversation texts cannot be relicensed as a whole).
Local folder ``arena_judge_picks_2025/``: ``judge_results/<subset>_<judge>.json`` (and one
``.parquet`` repeat run) and ``arena_subsets/<subset>.parquet`` (conversations; the
gemini-2.5-flash subset's file is not in the offline copy).

Mapping into judgelab's tables:

* items: one per battle, ``item_id`` = the LMArena battle id; ``prompt`` = the first user
  message (where the conversations are present, else empty); ``category`` = the subset
  (``claude-opus-4-20250514_vs_gemini-2.5-pro`` ...); extra ``subset``, ``language``,
  ``is_code``, ``n_turns``, ``timestamp``.
* responses: ``"<battle id>:<model>"`` for ``model_a`` and ``model_b``; ``generator`` = the
  arena model, ``family`` from judgelab.families (anthropic, google, qwen); ``text`` = the
  first assistant reply (what the judges were shown, before their 8,000-character cut);
  empty for the flash subset.
* preferences: the human winner, one row per battle, ``response_a`` = ``model_a``,
  ``rater_id`` = ``arena-voter:<battle id>`` (one anonymous vote per battle: no human
  ceiling can be computed), ``preference`` a | b (upstream kept decisive battles only),
  ``rater_type`` human.
* verdicts: one row per (battle, judge run): ``model`` = ``gpt-5.2`` | ``gpt-4o-mini``,
  ``backend`` ``published``, ``judge_version`` ``debias-llm-judge-v1`` (upstream's
  ``llm_judge_eval.py`` prompt, temperature 0, via OpenRouter), ``judge_family`` openai,
  ``protocol`` pairwise, **single order**: ``order`` ``ab`` with A = the arena's
  ``model_a``; ``choice`` A | B, ``winner`` the response id; ``parse_ok`` False where the
  pick is null (``error`` kept in the extra column ``error``). ``run_id`` =
  ``picks-<subset>`` for the JSON files; the GPT-4o-mini parquet (same 275 qwen battles,
  another run whose picks differ on 21) is ``sample`` 1 with ``run_id``
  ``picks-<subset>-repeat``: select the ``picks-*`` runs without ``-repeat`` to reproduce
  upstream's figures, or keep it to study repeat consistency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from judgelab import families
from judgelab.data import VERDICT_COLUMNS, DataError, Dataset
from judgelab.datasets import _base

NAME = "arena_judge_picks_2025"
FOLDER = "arena_judge_picks_2025"
CLAUDE = "claude-opus-4-20250514"
SUBSETS = (
    f"{CLAUDE}_vs_gemini-2.5-flash",
    f"{CLAUDE}_vs_gemini-2.5-pro",
    f"{CLAUDE}_vs_qwen3-235b-a22b-no-thinking",
)
JUDGES = ("gpt-4o-mini", "gpt-5.2")
REPEAT_FILE = f"judge_results/{SUBSETS[2]}_gpt-4o-mini.parquet"
REQUIRED = tuple(f"judge_results/{s}_{j}.json" for s in SUBSETS for j in JUDGES)
LICENCE = (
    "MIT (yiqunchen/debias-llm-as-a-judge: judge picks); LMArena battles: user prompts "
    "CC BY 4.0 (attribute LMArena), model outputs under the terms of their providers"
)
DESCRIPTION = (
    "877 LMArena battles (Claude Opus 4 vs Gemini 2.5 Flash / Pro, Qwen3-235B) with the human "
    "winner and the single-order picks of GPT-5.2 and GPT-4o-mini (+1 repeat run of 275)"
)
COMMIT = "4b4879ac7ae25fbe41b34ea1e0199d6986763167"
UPSTREAM = f"github.com/yiqunchen/debias-llm-as-a-judge at {COMMIT}"
BACKEND = "published"
JUDGE_VERSION = "debias-llm-judge-v1"
HUMAN_TO_PREFERENCE = {"model_a": "a", "model_b": "b"}


def _read_picks(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_json(path, dtype=False)
    _base.require_columns(df, ("id", "model_a", "model_b", "human_winner", "judge_pick"), path.name)
    if "error" not in df.columns:
        df["error"] = None
    bad = ~df["human_winner"].isin(list(HUMAN_TO_PREFERENCE))
    if bad.any():
        raise DataError(path.name, "human_winner", "not in {model_a, model_b}", np.flatnonzero(bad))
    pick = df["judge_pick"]
    bad = pick.notna() & ~pick.isin(["A", "B"])
    if bad.any():
        raise DataError(path.name, "judge_pick", "not in {A, B, null}", np.flatnonzero(bad))
    return df


def read_picks(directory: Path, repeat: bool = True) -> pd.DataFrame:
    """Every judge file stacked with ``subset``, ``judge``, ``sample`` and ``run_id``."""
    frames = []
    for subset in SUBSETS:
        for judge in JUDGES:
            df = _read_picks(Path(directory) / f"judge_results/{subset}_{judge}.json")
            frames.append(df.assign(subset=subset, judge=judge, sample=0, run_id=f"picks-{subset}"))
    if repeat and (Path(directory) / REPEAT_FILE).is_file():
        df = _read_picks(Path(directory) / REPEAT_FILE)
        frames.append(
            df.assign(
                subset=SUBSETS[2],
                judge="gpt-4o-mini",
                sample=1,
                run_id=f"picks-{SUBSETS[2]}-repeat",
            )
        )
    return pd.concat(frames, ignore_index=True)


def _text(content) -> str | None:
    """Text parts of one message's content (images are skipped)."""
    if content is None:
        return None
    parts = [c.get("text") for c in content if isinstance(c, dict) and c.get("text")]
    return "\n".join(parts) if parts else None


def _first(conversation, role: str) -> str | None:
    for message in conversation if conversation is not None else []:
        if message.get("role") == role:
            return _text(message.get("content"))
    return None


def read_conversations(directory: Path) -> pd.DataFrame:
    """Per battle with a conversation file: first prompt, each side's first reply, metadata."""
    rows = []
    for subset in SUBSETS:
        path = Path(directory) / f"arena_subsets/{subset}.parquet"
        if not path.is_file():
            continue
        df = pd.read_parquet(path)
        _base.require_columns(df, ("id", "conversation_a", "conversation_b"), path.name)
        for r in df.itertuples(index=False):
            rows.append(
                {
                    "id": r.id,
                    "prompt": _first(r.conversation_a, "user"),
                    "text_a": _first(r.conversation_a, "assistant"),
                    "text_b": _first(r.conversation_b, "assistant"),
                    "language": getattr(r, "language", None),
                    "is_code": getattr(r, "is_code", None),
                    "n_turns": int(sum(m.get("role") == "user" for m in r.conversation_a)),
                    "timestamp": str(getattr(r, "timestamp", "")) or None,
                }
            )
    cols = ["id", "prompt", "text_a", "text_b", "language", "is_code", "n_turns", "timestamp"]
    return pd.DataFrame(rows, columns=cols)


def read(directory: Path, repeat: bool = True) -> Dataset:
    """``repeat``: include the GPT-4o-mini repeat run (``sample`` 1) when its file is there."""
    directory = Path(directory)
    picks = read_picks(directory, repeat=repeat)
    battles = picks.drop_duplicates("id")[["id", "model_a", "model_b", "human_winner", "subset"]]
    # every judge file of a subset must describe the same battles the same way
    check = picks.merge(battles, on="id", suffixes=("", "_first"))
    for col in ("model_a", "model_b", "human_winner"):
        bad = check[col] != check[f"{col}_first"]
        if bad.any():
            raise DataError(
                "judge_results", col, "judge files disagree on a battle", np.flatnonzero(bad)
            )
    conv = read_conversations(directory)
    b = battles.merge(conv, on="id", how="left")
    items = pd.DataFrame(
        {
            "item_id": b["id"],
            "prompt": b["prompt"],
            "category": b["subset"],
            "subset": b["subset"],
            "language": b["language"],
            "is_code": b["is_code"],
            "n_turns": b["n_turns"].astype("Int64"),
            "timestamp": b["timestamp"],
        }
    )
    rid_a = b["id"] + ":" + b["model_a"]
    rid_b = b["id"] + ":" + b["model_b"]
    responses = pd.DataFrame(
        {
            "response_id": pd.concat([rid_a, rid_b], ignore_index=True),
            "item_id": pd.concat([b["id"], b["id"]], ignore_index=True),
            "generator": pd.concat([b["model_a"], b["model_b"]], ignore_index=True),
            "text": pd.concat([b["text_a"], b["text_b"]], ignore_index=True),
        }
    )
    responses["family"] = responses["generator"].map(families.family_of)
    preferences = pd.DataFrame(
        {
            "item_id": b["id"],
            "response_a": rid_a,
            "response_b": rid_b,
            "rater_id": "arena-voter:" + b["id"],
            "preference": b["human_winner"].map(HUMAN_TO_PREFERENCE),
            "rater_type": "human",
        }
    )
    files = [directory / f for f in REQUIRED]
    files += [p for p in (directory / "arena_subsets").glob("*.parquet")]
    if repeat and (directory / REPEAT_FILE).is_file():
        files.append(directory / REPEAT_FILE)
    return Dataset(
        name=NAME,
        items=items,
        responses=responses,
        preferences=preferences,
        verdicts=_verdicts(picks),
        description=DESCRIPTION,
        licence=LICENCE,
        path=directory,
        meta={
            "upstream": UPSTREAM,
            "families": {j: "openai" for j in JUDGES},
            "subsets": list(SUBSETS),
            "runs": sorted(picks["run_id"].unique()),
            "reference": "preferences: one anonymous LMArena vote per battle (no human ceiling)",
        },
        sha256=_base.sha256_of_files(files),
    )


def _verdicts(picks: pd.DataFrame) -> pd.DataFrame:
    rid_a = (picks["id"] + ":" + picks["model_a"]).to_numpy()
    rid_b = (picks["id"] + ":" + picks["model_b"]).to_numpy()
    pick = picks["judge_pick"].to_numpy()
    ok = pd.notna(pick)
    v = pd.DataFrame(
        {
            "model": picks["judge"],
            "backend": BACKEND,
            "judge_version": JUDGE_VERSION,
            "judge_family": "openai",
            "protocol": "pairwise",
            "item_id": picks["id"],
            "response_a": rid_a,
            "response_b": rid_b,
            "response_id": None,
            "order": "ab",  # single order: Response A = the arena's model_a, never swapped
            "sample": picks["sample"],
            "raw_output": None,
            "choice": np.where(ok, pick, None),
            "winner": np.where(pick == "A", rid_a, np.where(pick == "B", rid_b, None)),
            "score": np.nan,
            "parse_ok": ok,
            "run_id": picks["run_id"],
            "error": picks["error"],
        }
    )
    return v[[*VERDICT_COLUMNS, "run_id", "error"]]
