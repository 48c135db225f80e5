"""The truth registry: what a simulated judge knows about the answers it reads (true quality,
correctness, word count, generator), keyed by the normalised question and answer text."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from judgelab.sim.model import (
    NEUTRAL_QUALITY,
)

# ---------------------------------------------------------------- truth registry


@dataclass(frozen=True)
class TruthRecord:
    """What a simulated judge knows about an answer it reads."""

    response_id: str | None
    item_id: str | None
    generator: str | None
    family: str | None
    quality: float
    correct: float | None
    n_words: int
    key: str  # the randomness key: "rid:<response_id>" or "txt:<sha256>"
    sections: tuple[
        tuple[str, float], ...
    ] = ()  # true rubric section metrics (truth "section:<title>")


_REG_LOCK = threading.Lock()
_BY_QA: dict[str, TruthRecord] = {}
_BY_A: dict[str, TruthRecord | None] = {}  # None: the text occurs under several questions
_REGISTERED: dict[str, int] = {}  # dataset sha256 -> responses registered
_DEMO_LOADED = False


def _norm(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split())


def _text_key(question: Any, answer: Any) -> str:
    return hashlib.sha256((_norm(question) + "\x1f" + _norm(answer)).encode("utf-8")).hexdigest()


def _answer_key(answer: Any) -> str:
    return hashlib.sha256(_norm(answer).encode("utf-8")).hexdigest()


def _n_words(text: Any) -> int:
    return len(str(text).split()) if isinstance(text, str) else 0


def responses_frame(ds) -> pd.DataFrame:
    """The ``responses`` input of :func:`sample_verdicts` from a Dataset: response_id,
    item_id, generator, family, quality, correct, n_words (+ text, prompt).

    Quality and correctness come from ``ds.truth`` (neutral quality / None without it);
    ``n_words`` from truth where given, else counted from the text."""
    r = ds.response_info()
    r = r.merge(ds.items[["item_id", "prompt"]], on="item_id", how="left")
    section_cols: list[str] = []
    if ds.truth is not None:
        section_cols = [c for c in ds.truth.columns if str(c).startswith("section:")]
        cols = [
            c for c in ("response_id", "quality", "correct", "n_words") if c in ds.truth.columns
        ] + section_cols
        t = ds.truth[cols].rename(columns={"n_words": "_truth_words"})
        r = r.merge(t, on="response_id", how="left")
    if "quality" not in r.columns:
        r["quality"] = np.nan
    if "correct" not in r.columns:
        r["correct"] = np.nan
    r["quality"] = (
        pd.to_numeric(r["quality"], errors="coerce").fillna(NEUTRAL_QUALITY).astype(float)
    )
    if "_truth_words" in r.columns:
        tw = pd.to_numeric(r["_truth_words"], errors="coerce")
        r["n_words"] = tw.fillna(r["n_words"]).fillna(0).astype(int)
        r = r.drop(columns="_truth_words")
    else:
        r["n_words"] = r["n_words"].fillna(0).astype(int)
    for c in section_cols:
        r[c] = pd.to_numeric(r[c], errors="coerce")
    cols = [
        "response_id",
        "item_id",
        "generator",
        "family",
        "quality",
        "correct",
        "n_words",
        "text",
        "prompt",
        *section_cols,
    ]
    return r[cols].reset_index(drop=True)


def register_dataset(ds) -> int:
    """Fill the truth registry from a Dataset (or a dataset name / directory).

    Each response text is keyed by sha256 of its normalised question and answer (and,
    where the answer text is unique, by the answer alone), mapping to its response_id,
    generator, family, true quality, correctness and word count. Returns the number of
    responses registered. Responses without text are skipped (a judge cannot read them)."""
    from judgelab.datasets import load_dataset

    ds = load_dataset(ds)
    if ds.sha256 is not None and ds.sha256 in _REGISTERED:
        return _REGISTERED[ds.sha256]  # every run registers its dataset: do the work once
    frame = responses_frame(ds)
    section_cols = [c for c in frame.columns if c.startswith("section:")]
    n = 0
    with _REG_LOCK:
        for row, sec_values in zip(
            frame.itertuples(index=False), frame[section_cols].to_numpy(), strict=True
        ):
            if not isinstance(row.text, str) or not row.text.strip():
                continue
            sections = tuple(
                (c.split(":", 1)[1], float(x))
                for c, x in zip(section_cols, sec_values, strict=True)
                if pd.notna(x)
            )
            correct = None if row.correct is None or pd.isna(row.correct) else float(row.correct)
            rec = TruthRecord(
                response_id=str(row.response_id),
                item_id=str(row.item_id),
                generator=None if pd.isna(row.generator) else str(row.generator),
                family=None if row.family is None or pd.isna(row.family) else str(row.family),
                quality=float(row.quality),
                correct=correct,
                n_words=int(row.n_words),
                key="rid:" + str(row.response_id),
                sections=sections,
            )
            _BY_QA[_text_key(row.prompt, row.text)] = rec
            ak = _answer_key(row.text)
            prev = _BY_A.get(ak, rec)
            _BY_A[ak] = rec if prev is not None and prev.response_id == rec.response_id else None
            n += 1
        if ds.sha256 is not None:
            _REGISTERED[ds.sha256] = n
    return n


def clear_registry() -> None:
    """Forget every registered answer (the demo is registered again lazily when needed)."""
    global _DEMO_LOADED
    with _REG_LOCK:
        _BY_QA.clear()
        _BY_A.clear()
        _REGISTERED.clear()
        _DEMO_LOADED = False


_DEMO_LOCK = threading.Lock()


def _ensure_demo() -> None:
    """Register the demo benchmark once, lazily, so demo prompts resolve in any process.

    Concurrent first lookups wait for the registration (none sees a half-filled registry)."""
    global _DEMO_LOADED
    if _DEMO_LOADED:
        return
    with _DEMO_LOCK:
        if _DEMO_LOADED:
            return
        from judgelab.data import demo_data_dir

        d = demo_data_dir()
        if (d / "dataset.yaml").exists() and any(d.glob("truth.*")):
            try:
                register_dataset(str(d))
            except Exception:  # a broken demo directory must not break judging other data
                pass
        _DEMO_LOADED = True


def lookup(question: Any, answer: Any) -> TruthRecord:
    """The registry record of an answer, or a neutral record keyed by the text's hash."""
    qa = _text_key(question, answer)
    for attempt in range(2):
        rec = _BY_QA.get(qa)
        if rec is None:
            rec = _BY_A.get(_answer_key(answer))
        if rec is not None:
            return rec
        if attempt == 0 and not _DEMO_LOADED:
            _ensure_demo()
        else:
            break
    return TruthRecord(None, None, None, None, NEUTRAL_QUALITY, None, _n_words(answer), "txt:" + qa)
