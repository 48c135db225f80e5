"""The verdict schema: what a verdict row may hold, checked and normalised in one place.

Every source of verdicts passes through :func:`check_verdicts`: the dataset's ``verdicts``
table (:meth:`judgelab.data.Dataset.validate`, which importers call on what they write) and
a verdict file or store given to a study (:func:`judgelab.studies.load_verdicts`). The rules
are documented in docs/verdicts.md; in short:

- ``protocol`` is ``pairwise``, ``single`` or ``rubric`` (any case);
- pairwise ``order`` is ``ab``, ``ba``, ``unknown`` (display order not recorded) or ``both`` (a
  verdict already aggregated over the two orders, optional ``order_consistent`` flag);
- ``choice`` is ``A`` / ``B`` / ``tie`` (any case) and is stored as exactly that; ``winner``
  is a response id of the pair or ``tie``; where ``order`` is ``ab`` or ``ba`` either one is
  derived from the other (:func:`judgelab.stats.units.winner_of`, the one rule) and a
  contradiction is an error;
- optional ``p_a``, ``p_b``, ``p_tie``, ``confidence`` in [0, 1], ``confidence_source`` text, ``strength``
  a number >= 0;
- ``single`` scores are numbers within the judge_version's declared scale, else the
  dataset's, or one of a declared grade set (``grades``);
- ``parse_ok`` is derived where absent: a pairwise row with a choice or winner, a single row
  with a score, a rubric row with a verdict is parsed;
- rows repeating one (judge, run_id, item, pair or response, order, sample) must agree:
  identical repeats are dropped with a :class:`DataWarning`, different ones are an error.

Every error is a :class:`DataError` naming the table, the column, up to ten rows (0-based
positions in the table as given) and the fix. Work is vectorised: each distinct value of a
text column is read once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from judgelab.stats.errors import DataError, DataWarning

# ORDERS / DISPLAY_ORDERS live beside winner_of, the rule that reads a choice through them
from judgelab.stats.units import DISPLAY_ORDERS, ORDERS, choice_ints, choice_slots, parsed_mask

__all__ = [
    "PROTOCOLS",
    "ORDERS",
    "DISPLAY_ORDERS",
    "CHOICES",
    "PREFERENCES",
    "REQUIRED",
    "VERDICT_COLUMNS",
    "PROBABILITY_COLUMNS",
    "SCHEMA_CHECKED",
    "parse_grades",
    "require_columns",
    "normalise_preferences",
    "check_verdicts",
]

PROTOCOLS = ("pairwise", "single", "rubric")
CHOICES = ("A", "B", "tie")
PREFERENCES = ("a", "b", "tie")
REQUIRED = ("model", "backend", "judge_version", "protocol", "item_id")
#: The tidy verdict table (docs/design.md); analyses rely on these names.
VERDICT_COLUMNS = (
    "model",
    "backend",
    "judge_version",
    "judge_family",
    "protocol",
    "item_id",
    "response_a",
    "response_b",
    "response_id",
    "order",
    "sample",
    "raw_output",
    "choice",
    "winner",
    "score",
    "parse_ok",
)
PROBABILITY_COLUMNS = ("p_a", "p_b", "p_tie")
#: what a verdict says: two rows with one key must agree on these
_VERDICT_VALUES = ("choice", "winner", "score", "parse_ok", "grade", "verdict")
_KEY = (
    "model",
    "backend",
    "judge_version",
    "run_id",
    "item_id",
    "response_a",
    "response_b",
    "response_id",
    "order",
    "sample",
)
#: frame.attrs key set on a checked frame, so that a table validated at load is not checked
#: again when a study normalises it (attrs follow copies and row selections)
SCHEMA_CHECKED = "judgelab_verdict_schema"
_CODE_TO_CHOICE = {"A": "A", "B": "B", "C": "tie"}
_TRUE_FALSE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _rows(mask) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def _examples(values, mask, n: int = 5) -> list:
    return pd.unique(pd.Series(np.asarray(values, dtype=object)[np.asarray(mask, dtype=bool)]))[
        :n
    ].tolist()


def _refuse(table: str, column: str, values, bad, problem: str, fix: str | None = None):
    """The DataError of rows ``bad`` whose ``values`` break a rule: ``<problem>, e.g.
    <examples>[: <fix>]``, naming the rows."""
    message = f"{problem}, e.g. {_examples(values, bad)}" + (f": {fix}" if fix else "")
    return DataError(table, column, message, _rows(bad))


def _factorized(col: pd.Series) -> tuple[np.ndarray, list]:
    """Codes and distinct values; a text column is factorised as it is stored (an Arrow
    string column turned into Python objects first costs seconds on a million rows)."""
    codes, distinct = pd.factorize(col)
    return codes, list(distinct)


def _lower(col: pd.Series) -> np.ndarray:
    """Stripped lower-case text of each value (None where missing), read per distinct value."""
    codes, distinct = _factorized(col)
    vocab = [str(x).strip().lower() for x in distinct]
    return np.array([*vocab, None], dtype=object)[codes]


def _present(col: pd.Series) -> np.ndarray:
    """Not missing and not blank text."""
    if col.dtype.kind in "iufbmM":
        return col.notna().to_numpy()
    if isinstance(col.dtype, pd.StringDtype):  # vectorised text ops beat a factorisation
        return (col.notna() & col.str.strip().ne("")).to_numpy(dtype=bool, na_value=False)
    codes, distinct = _factorized(col)
    ok = [not (isinstance(x, str) and not x.strip()) for x in distinct]
    return np.array([*ok, False], dtype=bool)[codes]


def parse_grades(spec) -> dict[str, float] | None:
    """A declared grade set as ``{label: score}``.

    ``spec`` is a mapping ``{label: score}`` (e.g. ``{C: 1, P: 0.5, I: 0}``) or a list of
    labels from the lowest to the highest grade, scored 0, 1, 2 ... (``[fail, pass]``,
    ``[0, 1]`` for binary). Labels are compared as stripped text."""
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        out = {}
        for k, s in spec.items():
            try:
                out[str(k).strip()] = float(s)
            except (TypeError, ValueError):
                raise DataError(
                    "dataset.yaml",
                    "grades",
                    f"grade {k!r} has score {s!r}, not a number (write grades as "
                    "{label: score} or a list from the lowest grade to the highest)",
                ) from None
        return out
    if isinstance(spec, (list, tuple)) and spec:
        return {str(k).strip(): float(i) for i, k in enumerate(spec)}
    raise DataError(
        "dataset.yaml",
        "grades",
        f"grades must be a mapping {{label: score}} or a list of labels, not {spec!r}",
    )


def require_columns(table: str, df: pd.DataFrame, required, why: str = "") -> None:
    """Raise one :class:`DataError` naming every required column ``df`` lacks."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise DataError(
            table,
            ", ".join(missing),
            f"missing required column{s}{why}: add {', '.join(missing)} "
            f"(columns present: {list(df.columns)})",
        )


def normalise_preferences(p: pd.DataFrame, table: str = "preferences") -> pd.DataFrame:
    """Human ``preference`` as ``a`` / ``b`` / ``tie`` (read in any case, blanks ignored)."""
    pref = _lower(p["preference"])
    bad = ~pd.Series(pref).isin(PREFERENCES).to_numpy()
    if bad.any():
        raise _refuse(
            table,
            "preference",
            p["preference"],
            bad,
            "preference not in {a, b, tie} (any case)",
            "recode it (a = response_a preferred, b = response_b, tie)",
        )
    if (pref == p["preference"].to_numpy(dtype=object)).all():
        return p
    return p.assign(preference=pref)


def check_verdicts(
    v: pd.DataFrame,
    *,
    responses: pd.DataFrame | None = None,
    scale: tuple[float, float] | None = None,
    grades: Mapping[str, float] | None = None,
    judge_scales: Mapping[str, tuple[float, float]] | None = None,
    table: str = "verdicts",
    warn: bool = True,
) -> pd.DataFrame:
    """Check a verdict table against the schema (module docstring) and return it normalised.

    Parameters
    ----------
    v : DataFrame
        Verdict rows as given (file, store export, dataset table).
    responses : DataFrame, optional
        ``response_id, item_id`` of the dataset: named responses must exist and a pair's two
        responses must answer its item.
    scale : (min, max), optional
        The dataset's score scale; ``judge_scales`` (judge_version -> (min, max)) overrides it
        per judge_version.
    grades : mapping, optional
        A declared grade set ``{label: score}`` (:func:`parse_grades`): single scores must be
        one of its scores, a ``grade`` column one of its labels.
    table : str
        The table name errors give.
    warn : bool
        Warn (:class:`DataWarning`) when identical duplicate rows are dropped.

    Returns
    -------
    DataFrame
        ``protocol`` and ``order`` lower-case; ``choice`` ``A`` / ``B`` / ``tie``; ``winner``
        and ``choice`` derived from each other where the order is ab or ba; ``parse_ok``
        boolean (derived where missing); identical duplicate rows dropped. The input frame
        is not modified.

    Raises
    ------
    DataError
        On the first rule broken, naming table, column, up to 10 rows and the fix.
    """
    require_columns(table, v, REQUIRED)
    out = v.copy(deep=False)
    protocol = _lower(out["protocol"])
    bad = ~pd.Series(protocol).isin(PROTOCOLS).to_numpy()
    if bad.any():
        raise _refuse(
            table,
            "protocol",
            out["protocol"],
            bad,
            f"protocol not one of {', '.join(PROTOCOLS)}",
            "set it per row",
        )
    if not (out["protocol"].dtype == "str" and _canonical(out["protocol"], PROTOCOLS)):
        out["protocol"] = protocol  # lower-case text (as stored when it already is)
    pw = protocol == "pairwise"
    pointwise = ~pw
    if pw.any():
        _check_pairwise(out, pw, table)
    if pointwise.any():
        require_columns(table, out, ("response_id",), " (single and rubric verdicts name one)")
        miss = pointwise & ~_present(out["response_id"])
        if miss.any():
            raise DataError(
                table,
                "response_id",
                "single or rubric verdict without response_id: name the response judged",
                _rows(miss),
            )
    _check_optional(out, table)
    if (protocol == "single").any():
        _check_scores(out, protocol == "single", scale, grades, judge_scales, table)
    out["parse_ok"] = _parse_ok(out, protocol)
    if responses is not None:
        _check_responses(out, pw, responses, table)
    out = _drop_duplicates(out, table, warn)
    out.attrs[SCHEMA_CHECKED] = True
    return out


# ------------------------------------------------------------------ pairwise
def _parsed(out: pd.DataFrame) -> np.ndarray:
    """parse_ok as bool (:func:`judgelab.stats.units.parsed_mask`; a bool column as it is)."""
    if "parse_ok" in out.columns and out["parse_ok"].dtype == bool:
        return out["parse_ok"].to_numpy()
    return parsed_mask(out)


def _canonical(col: pd.Series, allowed) -> bool:
    """Every present value of ``col`` already one of ``allowed`` (nothing to rewrite)."""
    _, distinct = _factorized(col)
    return set(distinct) <= set(allowed)


def _set(out: pd.DataFrame, col: str, values: np.ndarray) -> None:
    """Write a normalised text column, missing values as None."""
    out[col] = pd.Series(values, index=out.index, dtype=object)


def _check_pairwise(out: pd.DataFrame, pw: np.ndarray, table: str) -> None:
    """Pair, order, choice and winner of pairwise rows; fills the derived choice / winner."""
    require_columns(table, out, ("response_a", "response_b", "order"), " (pairwise verdicts)")
    if "choice" not in out.columns and "winner" not in out.columns:
        raise DataError(
            table,
            "choice, winner",
            "pairwise verdicts need choice (A, B, tie as displayed) or winner (a response id "
            f"or tie): add one (columns present: {list(out.columns)})",
        )
    for col in ("response_a", "response_b"):
        miss = pw & ~_present(out[col])
        if miss.any():
            raise DataError(table, col, f"pairwise verdict without {col}", _rows(miss))
    n = len(out)
    if not _canonical(out["order"], ORDERS):
        order = _lower(out["order"])
        bad = pw & ~pd.Series(order, dtype=object).isin(ORDERS).to_numpy()
        if bad.any():
            raise _refuse(
                table,
                "order",
                out["order"],
                bad,
                f"order not one of {', '.join(ORDERS)}",
                "use ab (response_a shown first), ba (response_b first), unknown (not recorded) "
                "or both (a verdict aggregated over the two orders)",
            )
        _set(out, "order", np.where(pw, order, out["order"].to_numpy(dtype=object)))
    if "order_consistent" in out.columns:
        _check_order_consistent(out, pw, out["order"].to_numpy(dtype=object), table)

    parse_given = out["parse_ok"].notna().to_numpy() if "parse_ok" in out.columns else None
    unparsed = parse_given & ~_parsed(out) if parse_given is not None else np.zeros(n, bool)
    # choices as integer codes and winners through vectorised comparisons with the pair's
    # columns as stored: no text column becomes Python objects unless a value is rewritten
    if "choice" in out.columns:
        code = choice_ints(out["choice"])
        given = _present(out["choice"])
        bad = pw & given & (code < 0) & ~unparsed
        if bad.any():
            raise _refuse(
                table,
                "choice",
                out["choice"],
                bad,
                "choice not in {A, B, tie} (any case)",
                "recode it (A = the answer shown first) or mark the row parse_ok = false",
            )
        code = np.where(pw, code, -1)
        choice_rewritten = not _canonical(out["choice"], CHOICES) or bool((~pw & given).any())
    else:
        code = np.full(n, -1, dtype=np.int8)
        choice_rewritten = True
    has_choice = code >= 0

    ra, rb = out["response_a"], out["response_b"]
    if "winner" in out.columns:
        winner = out["winner"]
        has_winner = pw & _present(winner)
        is_a, is_b = _equal(winner, ra), _equal(winner, rb)
        winner_rewritten = False
        if not _canonical(winner[~has_winner | ~(is_a | is_b)], ["tie"]):
            low = _lower(winner)
            winner = pd.Series(
                np.where(has_winner & (low == "tie"), "tie", winner.to_numpy(dtype=object)),
                index=out.index,
                dtype=object,
            )
            winner_rewritten = True
        is_tie = _equal(winner, "tie")
        wins = has_winner & ~is_a & ~is_b & ~is_tie
        if wins.any():
            raise DataError(
                table,
                "winner",
                "winner is neither response_a, response_b nor tie (unknown response), e.g. "
                f"{_examples(winner, wins)}: give the id of one of the pair's responses",
                _rows(wins),
            )
    else:
        winner = None
        is_a = is_b = is_tie = has_winner = np.zeros(n, dtype=bool)
        winner_rewritten = True

    ba = _equal(out["order"], "ba")
    shown = pw & (ba | _equal(out["order"], "ab"))
    # the one rule (stats.units.choice_slots, as winner_of reads it): the response of the pair
    # a given choice names must be the given winner
    slot = choice_slots(code, out["order"])
    names = np.select([slot == 0, slot == 1, slot == 2], [is_a, is_b, is_tie], False)
    clash = shown & has_choice & has_winner & ~names
    if clash.any():
        raise DataError(
            table,
            "winner",
            "choice and winner disagree (the choice read through the order names another "
            "response): correct one of them, or leave winner empty to derive it",
            _rows(clash),
        )
    blind = pw & has_choice & ~has_winner & ~shown
    if blind.any():
        raise DataError(
            table,
            "choice",
            "choice without winner where order is unknown or both: a displayed choice cannot "
            "be read back to a response without the display order; give winner (a response id "
            "or tie) instead",
            _rows(blind),
        )
    need_choice = shown & ~has_choice & has_winner
    if need_choice.any():
        # the displayed choice naming the given winner: A when it was shown first
        first = np.where(ba, is_b, is_a)
        code = np.where(need_choice, np.where(is_tie, 2, np.where(first, 0, 1)), code)
        choice_rewritten = True
    need_winner = shown & has_choice & ~has_winner
    if choice_rewritten:
        _set(out, "choice", np.array([*CHOICES, None], dtype=object)[code])
    if need_winner.any() or winner_rewritten:
        kept = (
            np.full(n, None, dtype=object)
            if winner is None
            else np.where(has_winner, winner.to_numpy(dtype=object), None)
        )
        if need_winner.any():
            a, b = ra.to_numpy(dtype=object), rb.to_numpy(dtype=object)
            named = np.where(slot == 0, a, np.where(slot == 1, b, "tie"))
            kept = np.where(need_winner, named, kept)
        _set(out, "winner", kept)


def _equal(col: pd.Series, other) -> np.ndarray:
    """Per row: ``col`` equals ``other`` (a value or a column); a missing value equals
    nothing. Columns of one dtype compare as stored; others (an Arrow text column and numbers,
    categories) as Python objects."""
    column = isinstance(other, pd.Series)
    if isinstance(col.dtype, pd.CategoricalDtype) or (column and col.dtype != other.dtype):
        a = pd.Series(col.to_numpy(dtype=object), dtype=object)
        b = pd.Series(other.to_numpy(dtype=object), dtype=object) if column else other
        return (a == b).to_numpy(dtype=bool, na_value=False) & a.notna().to_numpy()
    return (col == other).to_numpy(dtype=bool, na_value=False)


def _check_order_consistent(out, pw, order, table) -> None:
    oc = out["order_consistent"]
    given = _present(oc)
    text = _lower(oc)
    flag = pd.Series(text).map(_TRUE_FALSE).to_numpy(dtype=object)
    bad = given & pd.isna(flag)
    if bad.any():
        raise _refuse(table, "order_consistent", oc, bad, "order_consistent not true or false")
    stray = given & ~(pw & (order == "both"))
    if stray.any():
        raise DataError(
            table,
            "order_consistent",
            "order_consistent is given on a row whose order is not 'both' (it says whether a "
            "verdict aggregated over both orders agreed in each): leave it empty there",
            _rows(stray),
        )
    # a nullable boolean: `~` and sums work on it as on a bool column
    out["order_consistent"] = pd.array(np.where(given, flag, None), dtype="boolean")


# ------------------------------------------------------------------ optional columns
def _numeric(out: pd.DataFrame, col: str, table: str, what: str) -> np.ndarray:
    raw = out[col]
    if raw.dtype.kind in "iuf":
        return raw.to_numpy(dtype=float)
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    given = _present(raw)
    if raw.dtype.kind == "b":
        isbool = given
    else:
        codes, distinct = _factorized(raw)
        kinds = [isinstance(x, (bool, np.bool_)) for x in distinct]
        isbool = np.array([*kinds, False], dtype=bool)[codes]
    bad = given & (np.isnan(num) | isbool)
    if bad.any():
        raise _refuse(table, col, raw, bad, f"{col} is not a number", what)
    return num


def _check_optional(out: pd.DataFrame, table: str) -> None:
    # confidence: the probability of the chosen verdict (judgelab.stats.confidence)
    for col in (*PROBABILITY_COLUMNS, "confidence"):
        if col in out.columns:
            p = _numeric(out, col, table, "give the judge's probability of that slot, 0 to 1")
            off = (p < 0) | (p > 1)
            if off.any():
                raise DataError(
                    table,
                    col,
                    f"{col} outside [0, 1], e.g. {_examples(p, off)}: give a probability "
                    "(not a percentage or a log-probability)",
                    _rows(off),
                )
            out[col] = p
    if "strength" in out.columns:
        s = _numeric(out, "strength", table, "give a number (e.g. 2 for A>>B)")
        neg = s < 0
        if neg.any():
            raise DataError(
                table,
                "strength",
                "strength below 0: give how strongly the winner was preferred (1, 2 ...)",
                _rows(neg),
            )
        out["strength"] = s
    if "confidence_source" in out.columns:
        cs = out["confidence_source"]
        bad = cs.notna().to_numpy() & ~cs.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
        if bad.any():
            raise DataError(
                table,
                "confidence_source",
                "confidence_source is not text: name where confidence / p_a / p_b come from "
                "(logprob, self_consistency, order_agreement, ensemble)",
                _rows(bad),
            )


# ------------------------------------------------------------------ pointwise scores
def _check_scores(out, single, scale, grades, judge_scales, table) -> None:
    unparsed = (
        out["parse_ok"].notna().to_numpy() & ~_parsed(out)
        if "parse_ok" in out.columns
        else np.zeros(len(out), bool)
    )
    raw = out["score"] if "score" in out.columns else pd.Series(None, index=out.index)
    score = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    if grades is not None and "grade" in out.columns:
        label = out["grade"].map(lambda x: None if pd.isna(x) else str(x).strip())
        known = label.isin(list(grades)).to_numpy()
        given = single & label.notna().to_numpy()
        bad = given & ~known & ~unparsed
        if bad.any():
            raise _refuse(
                table,
                "grade",
                label,
                bad,
                f"grade not one of the declared grades {list(grades)}",
                "recode it, declare it in dataset.yaml's grades, or mark the row parse_ok = false",
            )
        graded = label.map(grades).to_numpy(dtype=float)
        clash = given & known & ~np.isnan(score) & (score != graded)
        if clash.any():
            raise DataError(
                table,
                "score",
                "score differs from the score its grade declares: correct one of them",
                _rows(clash),
            )
        score = np.where(given & known & np.isnan(score), graded, score)
    nonnum = single & _present(raw) & np.isnan(score) & ~unparsed
    if "grade" in out.columns and grades is not None:
        nonnum &= ~out["grade"].notna().to_numpy()
    if nonnum.any():
        raise DataError(
            table,
            "score",
            f"score is not a number, e.g. {_examples(raw, nonnum)}: give a number, declare "
            "grades in dataset.yaml, or mark the row parse_ok = false",
            _rows(nonnum),
        )
    check = single & ~np.isnan(score) & ~unparsed
    if grades is not None:
        bad = check & ~np.isin(score, np.array(list(grades.values()), dtype=float))
        if bad.any():
            raise _refuse(
                table,
                "score",
                score,
                bad,
                f"score not one of the declared grades' scores {sorted(set(grades.values()))}",
                "recode it or mark the row parse_ok = false",
            )
    lo = np.full(len(out), -np.inf)
    hi = np.full(len(out), np.inf)
    if scale is not None:
        lo[:], hi[:] = float(scale[0]), float(scale[1])
    if judge_scales:
        jv = out["judge_version"].astype(object)
        for version, (a, b) in judge_scales.items():
            mine = (jv == version).to_numpy()
            lo[mine], hi[mine] = float(a), float(b)
    off = check & ((score < lo) | (score > hi))
    if off.any():
        first = int(np.flatnonzero(off)[0])
        raise DataError(
            table,
            "score",
            f"score off the declared scale [{lo[first]:g}, {hi[first]:g}], e.g. "
            f"{_examples(score, off)}: correct the scores, declare the judge's scale "
            "(dataset.yaml scale or judge_scales), or mark the rows parse_ok = false",
            _rows(off),
        )
    if "score" in out.columns or grades is not None:
        out["score"] = np.where(single, score, pd.to_numeric(raw, errors="coerce"))


# ------------------------------------------------------------------ parse_ok
def _parse_ok(out: pd.DataFrame, protocol: np.ndarray) -> np.ndarray:
    """Given ``parse_ok`` as bool; where missing, derived: a verdict is parsed when it says
    something (pairwise: choice or winner; single: a score; rubric: a verdict)."""
    n = len(out)
    given = out["parse_ok"].notna().to_numpy() if "parse_ok" in out.columns else np.zeros(n, bool)
    if given.all():
        return _parsed(out)
    says = np.zeros(n, dtype=bool)
    for col, proto in (
        ("choice", "pairwise"),
        ("winner", "pairwise"),
        ("score", "single"),
        ("verdict", "rubric"),
        ("score", "rubric"),
    ):
        if col in out.columns:
            says |= (protocol == proto) & _present(out[col])
    if not given.any():
        return says
    return np.where(given, parsed_mask(out), says)


# ------------------------------------------------------------------ responses and pairs
def _lookup(index: pd.Index, col: pd.Series) -> np.ndarray:
    """Position of each value of ``col`` in ``index`` (-1: absent), each distinct value
    looked up once."""
    codes, distinct = pd.factorize(col)
    return np.append(index.get_indexer(distinct), -1)[codes]


def _check_responses(out, pw, responses, table) -> None:
    """Named responses exist; a pair's responses differ and answer its item. Items are
    compared as integer codes (object comparisons of a million ids cost seconds)."""
    index = pd.Index(responses["response_id"])
    item_codes, item_names = pd.factorize(responses["item_id"])
    item_of = np.append(item_codes, -2)  # position -1 (unknown response) -> -2
    # the row's item as a code of the same factorisation: -1 missing or not a responses' item
    item = _lookup(pd.Index(item_names), out["item_id"])
    item_given = out["item_id"].notna().to_numpy()

    def response_items(col: str, rows: np.ndarray) -> np.ndarray:
        pos = _lookup(index, out[col])
        unknown = rows & (pos < 0)
        if unknown.any():
            raise DataError(
                table,
                col,
                f"unknown response, e.g. {_examples(out[col], unknown)}: it is not in the "
                "responses table; add it there or correct the id",
                _rows(unknown),
            )
        return item_of[pos]

    if pw.any():
        ia, ib = response_items("response_a", pw), response_items("response_b", pw)
        same = pw & (out["response_a"] == out["response_b"]).to_numpy(dtype=bool, na_value=False)
        if same.any():
            raise DataError(
                table, "response_b", "pair compares a response with itself", _rows(same)
            )
        cross = pw & (ia != ib)
        if cross.any():
            raise DataError(
                table,
                "response_b",
                "the two responses of a pair belong to different items",
                _rows(cross),
            )
        wrong = pw & item_given & (item != ia)
        if wrong.any():
            raise DataError(
                table,
                "item_id",
                "pair's item_id differs from its responses' item: correct item_id",
                _rows(wrong),
            )
    point = ~pw
    if point.any():
        ir = response_items("response_id", point)
        wrong = point & item_given & (item != ir)
        if wrong.any():
            raise DataError(
                table,
                "item_id",
                "verdict's item_id differs from its response's item: correct item_id",
                _rows(wrong),
            )


# ------------------------------------------------------------------ duplicates
def _drop_duplicates(out: pd.DataFrame, table: str, warn: bool) -> pd.DataFrame:
    # an all-missing column (response_id of pairwise rows) separates no rows: left out
    key = [c for c in _KEY if c in out.columns and out[c].notna().any()] or ["model"]
    dup = out[key].duplicated(keep=False).to_numpy()
    if not dup.any():
        return out
    values = [c for c in _VERDICT_VALUES if c in out.columns]
    sub = out.loc[dup, key + values].astype(object)
    sub = sub.where(sub.notna(), None)
    rows = np.flatnonzero(dup)
    group = sub.groupby(key, dropna=False, sort=False).ngroup().to_numpy()
    versions = sub[values].assign(_group=group).drop_duplicates()["_group"].to_numpy()
    conflict = np.bincount(versions, minlength=int(group.max()) + 1)[group] > 1
    if conflict.any():
        raise DataError(
            table,
            ", ".join(values),
            "rows of one judge, item, pair or response, order and sample (and run_id) give "
            "different verdicts: keep one of them, or number repeats in the sample column",
            rows[conflict].tolist(),
        )
    drop = out[key].duplicated().to_numpy()
    if warn:
        warnings.warn(
            f"table '{table}': {int(drop.sum())} identical duplicate verdict row(s) dropped "
            f"(rows {_rows(drop)[:10]})",
            DataWarning,
            stacklevel=3,
        )
    return out[~drop].reset_index(drop=True)
