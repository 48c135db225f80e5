"""A judge identity: the (model, backend, judge_version) triple that names who produced a verdict.

Findings, reports and the verdict store name a judge by its identity string
``model|backend|judge_version`` (docs/design.md "Judge identity"); :class:`JudgeIdentity` is that
triple as a value, so that parsing, printing and display labels are written once.
:func:`identity_string` is the one rule that writes the string (``None`` parts print as
``None``); ``str(JudgeIdentity(m, b, v))`` and :func:`identity_strings` (the ``judge``
column of a verdict frame) call it, so identity strings of stored calls and findings do not
change. This module imports nothing from judgelab: the statistics read it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "IDENTITY_COLUMNS",
    "identity_string",
    "identity_strings",
    "JudgeIdentity",
    "model_of",
    "short_labels",
    "identities_table",
    "SIM_PREFIX",
]

#: The verdict columns that make up an identity, in identity-string order.
IDENTITY_COLUMNS = ("model", "backend", "judge_version")
#: Model prefix of the simulated judges; display labels drop it.
SIM_PREFIX = "judgelab-sim/"
SEPARATOR = "|"


def identity_string(model, backend, judge_version) -> str:
    """The identity string ``model|backend|judge_version`` (docs/design.md "Judge identity").

    Each part is written as an f-string writes it, so a missing part reads ``None`` (or
    ``nan``, ``<NA>``: as the value prints). Every identity string of the package is written
    here.
    """
    return f"{model}{SEPARATOR}{backend}{SEPARATOR}{judge_version}"


def identity_strings(frame: pd.DataFrame) -> pd.Series:
    """:func:`identity_string` of every row of a frame with ``model``, ``backend`` and
    ``judge_version`` columns (an absent column reads None), the ``judge`` column of a
    verdict frame.

    Written once per distinct triple (a million verdicts hold a handful of identities);
    missing values keep their own spelling (None, nan, <NA>).

    Returns
    -------
    pandas.Series
        Object dtype, on the index of ``frame``.
    """
    n = len(frame)
    present = [c for c in IDENTITY_COLUMNS if c in frame.columns]
    if n == 0:
        return pd.Series([], index=frame.index, dtype=object)
    codes = np.zeros(n, dtype=np.int64)
    for col in present:
        values = frame[col]
        c, uniques = pd.factorize(values, use_na_sentinel=True)
        missing = c < 0
        if missing.any():
            # missing values print as they iterate (None, nan, <NA>): one code per spelling
            spelled = pd.factorize(np.array([str(x) for x in values[missing]], dtype=object))[0]
            c[missing] = len(uniques) + spelled
        codes = codes * (int(c.max()) + 1) + c
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    parts = [
        frame[c].iloc[first].tolist() if c in frame.columns else [None] * len(first)
        for c in IDENTITY_COLUMNS
    ]
    names = np.array([identity_string(*t) for t in zip(*parts)], dtype=object)
    return pd.Series(names[inverse.reshape(-1)], index=frame.index, dtype=object)


def _text(x) -> str | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return str(x)


@dataclass(frozen=True, order=True)
class JudgeIdentity:
    """Who produced a verdict: the model, the route that answered and the judge_version hash.

    Two verdicts come from the same judge only when all three agree: a new prompt,
    template, decoding setting or parser changes ``judge_version``, a Router fallback
    changes ``backend``.
    """

    model: str
    backend: str | None = None
    judge_version: str | None = None

    def __str__(self) -> str:
        return identity_string(self.model, self.backend, self.judge_version)

    @classmethod
    def parse(cls, text: str) -> JudgeIdentity:
        """``model|backend|judge_version`` -> identity; ``"None"`` parts read back as None.

        The model is everything before the last two separators, so a model string that
        contains ``|`` still round-trips (backends and judge_versions never contain it).
        """
        if isinstance(text, JudgeIdentity):
            return text
        parts = str(text).rsplit(SEPARATOR, 2)
        if len(parts) != 3:
            raise ValueError(f"not an identity string (model|backend|judge_version): {text!r}")
        model, backend, version = (None if p == "None" else p for p in parts)
        return cls(model, backend, version)

    @classmethod
    def from_record(cls, record: Mapping) -> JudgeIdentity:
        """From a mapping with model, backend and judge_version (findings.json ``judges``)."""
        return cls(*(record.get(c) for c in IDENTITY_COLUMNS))

    @classmethod
    def from_frame(cls, verdicts: pd.DataFrame) -> list[JudgeIdentity]:
        """The distinct identities of a verdict frame, sorted by their identity columns as text
        (the order :func:`identities_table` lists them in)."""
        if verdicts is None or len(verdicts) == 0:
            return []
        cols = {
            c: verdicts[c] if c in verdicts.columns else pd.Series(None, index=verdicts.index)
            for c in IDENTITY_COLUMNS
        }
        triples = pd.DataFrame(cols).drop_duplicates()
        ids = [cls(*(_text(x) if x is not None else None for x in t)) for t in triples.to_numpy()]
        return sorted(set(ids), key=lambda i: tuple(p or "" for p in i.as_tuple()))

    def as_tuple(self) -> tuple:
        return (self.model, self.backend, self.judge_version)

    def as_record(self) -> dict:
        """``{"model", "backend", "judge_version"}`` as findings.json lists judges."""
        return dict(zip(IDENTITY_COLUMNS, self.as_tuple(), strict=True))

    @property
    def display_model(self) -> str:
        """The model without the simulated judges' ``judgelab-sim/`` prefix."""
        m = str(self.model)
        return m.split("/", 1)[1] if m.startswith(SIM_PREFIX) else m


#: Between a model and the part of its identity that tells two judges of that model apart.
LABEL_SEPARATOR = " · "
# characters at which a shared prefix of judge_versions or backends is cut ("llmbar-")
_BREAKS = "-_:/.|@ "
# a hash fragment is cut to the shortest unique prefix, but no shorter than git's 7
_MIN_HASH = 7


def short_labels(identities: Iterable, drop_sim_prefix: bool = True) -> dict[str, str]:
    """Display label of each identity: the shortest label that stays unambiguous among the
    identities shown together.

    An identity whose model no other identity shares is labelled by its model. Identities
    that share a model (LLMBar's prompting strategies of one model; a prompt revision; a
    Router fallback) are labelled ``model · part``, where ``part`` is the backend or the
    judge_version (whichever alone tells them apart with the shorter text; both, joined by
    the same separator, when neither does), without the prefix the group shares (cut at a
    ``-``, ``_``, ``:`` ...) and with hashes cut to their shortest unique prefix (at least 7
    characters): ``GPT-4 · CoT``, ``GPT-4 · Vanilla_NoRules``, ``aurora-mini · 0123abc``.
    The full identity stays in the legend table (:func:`identities_table`) and findings.json.

    Parameters
    ----------
    identities : iterable of JudgeIdentity, identity strings or identity mappings
        The identities shown together (a run's judges).
    drop_sim_prefix : bool
        Drop ``judgelab-sim/`` from the model label (figures do; the findings table does not).

    Returns
    -------
    dict
        identity string -> label.
    """
    # an identity listed twice (a frame's judge column) is still one judge
    keyed = dict(_keyed_identity(i) for i in identities)
    base = {k: (i.display_model if drop_sim_prefix else str(i.model)) for k, i in keyed.items()}
    # two models that print alike once the prefix is dropped keep their full model names
    for group in _groups(base).values():
        if len({str(keyed[k].model) for k in group}) > 1:
            base.update({k: str(keyed[k].model) for k in group})
    out = dict(base)
    for label, group in _groups(base).items():
        if len(group) > 1:
            parts = _distinguishing([keyed[k] for k in group])
            out.update(
                {k: f"{label}{LABEL_SEPARATOR}{p}" for k, p in zip(group, parts, strict=True)}
            )
    if len(set(out.values())) < len(out):  # cannot happen for distinct identities; never guess
        return {k: k for k in out}
    return out


def model_of(text) -> str:
    """The model of an identity string, or ``text`` itself when it is a bare model string
    (as tables that name a judge by its model hold)."""
    return str(_keyed_identity(str(text))[1].model)


def _groups(labels: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, label in labels.items():
        out.setdefault(label, []).append(key)
    return out


def _distinguishing(idents: list[JudgeIdentity]) -> list[str]:
    """What tells identities of one model apart, one short text each (same order)."""
    columns = [[str(i.backend) for i in idents], [str(i.judge_version) for i in idents]]
    alone = [_fragments(c) for c in columns if len(set(c)) == len(c)]
    if alone:
        return min(alone, key=lambda frags: sum(map(len, frags)))
    # neither part alone: each part that varies, joined
    varying = [_fragments(c) for c in columns if len(set(c)) > 1]
    return [LABEL_SEPARATOR.join(p) for p in zip(*varying, strict=True)]


def _fragments(values: list[str]) -> list[str]:
    """Each value without the prefix all share (cut after a break character), hashes cut to
    their shortest unique prefix; distinct values stay distinct."""
    common = _common_prefix(values)
    cut = max((common.rfind(c) for c in _BREAKS), default=-1) + 1
    rest = [v[cut:] or v for v in values]
    if len(set(rest)) < len(set(values)):  # a value that was all prefix met another's rest
        rest = list(values)
    hashes = {r for r in rest if _is_hash(r)}
    if not hashes:
        return rest
    n = _MIN_HASH
    while len({h[:n] for h in hashes} | (set(rest) - hashes)) < len(set(rest)):
        n += 1
    return [r[:n] if r in hashes else r for r in rest]


def _common_prefix(values: list[str]) -> str:
    first, last = min(values), max(values)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def _is_hash(text: str) -> bool:
    return len(text) > _MIN_HASH + 1 and all(c in "0123456789abcdef" for c in text.lower())


def _as_identity(x) -> JudgeIdentity:
    if isinstance(x, JudgeIdentity):
        return x
    if isinstance(x, Mapping):
        return JudgeIdentity.from_record(x)
    return JudgeIdentity.parse(str(x))


def _keyed_identity(x) -> tuple[str, JudgeIdentity]:
    """(the key :func:`short_labels` files the label under, the identity). A string is its own
    key; one that is not an identity string (a bare model, as some tables hold) is a model."""
    if isinstance(x, str):
        try:
            return x, JudgeIdentity.parse(x)
        except ValueError:
            return x, JudgeIdentity(x)
    ident = _as_identity(x)
    return str(ident), ident


IDENTITY_TABLE_COLUMNS = [
    "model",
    "backend",
    "judge_version",
    "judge_family",
    "judge",
    "n",
    "n_parsed",
    "cost_usd",
]


def identities_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per identity (model, backend, judge_version) with its family and counts:
    ``judge`` (identity string), ``n`` (verdict rows), ``n_parsed``, ``cost_usd`` (when the
    frame has costs). Sorted by the identity columns as text."""
    if verdicts is None or len(verdicts) == 0:
        return pd.DataFrame(columns=IDENTITY_TABLE_COLUMNS)
    # each row's identity as text ("" when missing), one code per distinct text: written per
    # distinct value, not per row, and no grouping (which sorted and copied a million rows)
    columns, group = _identity_texts(verdicts)
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    texts = [tuple(distinct[codes[i]] for distinct, codes in columns) for i in first]
    order = sorted(range(len(first)), key=lambda g: texts[g])
    parsed = (
        verdicts["parse_ok"].fillna(False).astype(bool).to_numpy()
        if "parse_ok" in verdicts.columns
        else np.ones(len(verdicts), dtype=bool)
    )
    cost = pd.to_numeric(verdicts["cost_usd"], errors="coerce") if "cost_usd" in verdicts else None
    fam = verdicts["judge_family"] if "judge_family" in verdicts.columns else None
    fam_given = fam.notna().to_numpy() if fam is not None else None
    rows = []
    for g in order:
        rows_g = np.flatnonzero(inverse == g)  # the identity's rows in frame order
        model, backend, version = (
            verdicts[c].iloc[first[g]] if c in verdicts.columns else None for c in IDENTITY_COLUMNS
        )
        named = rows_g[fam_given[rows_g]] if fam is not None else rows_g[:0]
        costs = cost.iloc[rows_g] if cost is not None else None
        rows.append(
            {
                "model": model,
                "backend": backend,
                "judge_version": version,
                "judge_family": fam.iloc[named[0]] if len(named) else None,
                "judge": str(JudgeIdentity(model, backend, version)),
                "n": len(rows_g),
                "n_parsed": int(parsed[rows_g].sum()),
                "cost_usd": float(costs.sum())
                if costs is not None and costs.notna().any()
                else None,
            }
        )
    return pd.DataFrame(rows, columns=IDENTITY_TABLE_COLUMNS)


def _identity_texts(verdicts: pd.DataFrame) -> tuple[list, np.ndarray]:
    """Each identity column as text (``str``, "" when missing or absent: values that read the
    same are one identity) as (distinct texts, each row's code); and per row, one code of
    its three texts."""
    n = len(verdicts)
    group = np.zeros(n, dtype=np.int64)
    columns = []
    for c in IDENTITY_COLUMNS:
        if c not in verdicts.columns:
            columns.append(([""], np.zeros(n, dtype=np.int64)))
            continue
        codes, uniques = pd.factorize(verdicts[c], use_na_sentinel=True)
        spelled = [*pd.Series(uniques).astype(str).tolist(), ""]  # code -1 (missing) -> ""
        text_codes, distinct = pd.factorize(np.array(spelled, dtype=object))
        row_codes = text_codes[codes]  # -1 reads the last entry: ""
        columns.append((list(distinct), row_codes))
        group = group * len(distinct) + row_codes
    return columns, group
