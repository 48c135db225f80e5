"""The self-preference study's inputs: one row per pairwise judgment in canonical pair
orientation (ids sorted) with the judge's relation to each answer's generator, and the
human preferences per canonical pair (docs/statistics.md#self-preference)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.families import relation
from judgelab.stats.errors import DataError
from judgelab.stats.reference import HI, LO, TIE_CODE, coded_votes, reference_labels
from judgelab.stats.units import (
    choice_codes,
    judge_strings,
    parsed_mask,
    require_display_orders,
    sorted_pair,
)

__all__ = ["HUMAN_REFERENCE", "judgment_table", "human_pair_table", "panel_families"]

#: The human reference of a pair (declared; :func:`judgelab.stats.reference.reference_labels`):
#: the strict majority of the raters' votes (a pair whose majority is a tie has none).
HUMAN_REFERENCE = "majority"


def _response_table(dataset) -> pd.DataFrame:
    """response_id -> generator, family, n_words (text word count, else truth.n_words)."""
    if dataset is None or getattr(dataset, "responses", None) is None:
        raise DataError(
            "responses",
            None,
            "self-preference needs the dataset's responses (generator of each answer)",
        )
    r = dataset.response_info()[["response_id", "item_id", "generator", "family", "n_words"]].copy()
    truth = getattr(dataset, "truth", None)
    if truth is not None and "n_words" in truth.columns:
        tw = truth.set_index(truth["response_id"].astype(str))["n_words"]
        r["n_words"] = r["n_words"].astype(float)
        miss = r["n_words"].isna().to_numpy()
        if miss.any():
            r.loc[miss, "n_words"] = (
                r.loc[miss, "response_id"].astype(str).map(tw).astype(float).to_numpy()
            )
    if truth is not None and "correct" in truth.columns:
        r["correct"] = (
            r["response_id"]
            .astype(str)
            .map(truth.set_index(truth["response_id"].astype(str))["correct"])
        )
    else:
        r["correct"] = np.nan
    return r.set_index(r["response_id"].astype(str))


def judgment_table(
    verdicts: pd.DataFrame, dataset, human_pairs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per pairwise call, with the pair in canonical orientation (ids sorted).

    Columns: judge, model, judge_family, item_id, ra, rb (canonical first / second), first_a
    (ra shown first), pick_a (1 = ra won, 0 = rb won, NaN = tie or unparsed), tie, parsed,
    gen_a/gen_b, fam_a/fam_b, rel_a/rel_b (relation of the judge to each generator), words_a,
    words_b, correct_a, correct_b, hgap, pgap (the pair's human quality gaps).
    ``human_pairs``: :func:`human_pair_table` of ``dataset`` when the caller has it (the
    study's statistics read it too), so that it is not built again."""
    need = ["model", "item_id", "response_a", "response_b", "order", "choice"]
    for col in need:
        if col not in verdicts.columns:
            raise DataError(
                "verdicts",
                col,
                f"missing required column (columns present: {list(verdicts.columns)})",
            )
    v = verdicts
    if "protocol" in v.columns:
        pairwise = (v["protocol"] == "pairwise").to_numpy(dtype=bool, na_value=False)
        v = v if pairwise.all() else v[pairwise]  # compared as stored; no copy when all are
    v = v.reset_index(drop=True)
    resp = _response_table(dataset)
    cols = [
        "judge",
        "model",
        "judge_family",
        "item_id",
        "ra",
        "rb",
        "first_a",
        "pick_a",
        "tie",
        "parsed",
    ]
    if v.empty:
        return pd.DataFrame(columns=cols)
    # the response ids hashed once (as stored): every lookup below works on their codes, and
    # the text columns are built from the distinct values by Arrow (no Python string per row)
    n = len(v)
    ids = pd.concat([v["response_a"].astype(str), v["response_b"].astype(str)], ignore_index=True)
    id_codes, distinct_ids = pd.factorize(ids)
    distinct_ids = np.asarray(distinct_ids, dtype=object)
    resp_row = pd.Index(resp.index).get_indexer(distinct_ids)
    unknown = (resp_row[id_codes] < 0).reshape(2, -1).any(axis=0)
    if unknown.any():
        raise DataError(
            "verdicts",
            "response_a",
            "verdict on a response that is not in the dataset's responses",
            np.flatnonzero(unknown).tolist(),
        )
    order = v["order"].astype(object).to_numpy()
    require_display_orders(order, "self-preference")
    ca, cb = id_codes[:n].astype(np.int64), id_codes[n:].astype(np.int64)
    # canonical orientation (sorted_pair) of each distinct stored (response_a, response_b)
    m = len(distinct_ids)
    pair, stored = pd.factorize(ca * m + cb)
    first_of_pair = distinct_ids[stored // m]
    lo, _ = sorted_pair(first_of_pair, distinct_ids[stored % m])
    swap = (lo != first_of_pair)[pair]
    item = v["item_id"].astype(str)
    out = pd.DataFrame(
        {
            "model": _text_of(v["model"].astype(str)),
            "item_id": _text_of(item),
            "ra": _text(distinct_ids, np.where(swap, cb, ca)),
            "rb": _text(distinct_ids, np.where(swap, ca, cb)),
        }
    )
    out["judge"] = _text_of(judge_strings(v))
    out["judge_family"] = _text_of(_judge_families(v))
    # stored response_a shown first in order ab; canonical a shown first when (ab and not swapped) or (ba and swapped)
    out["first_a"] = ((order == "ab") != swap).astype(int)
    ch = choice_codes(v["choice"])
    parsed = pd.notna(ch) & parsed_mask(v)
    out["parsed"] = parsed
    out["tie"] = parsed & (ch == "C")
    shown_first_won = ch == "A"
    a_won = np.where(out["first_a"].to_numpy() == 1, shown_first_won, ch == "B")
    out["pick_a"] = np.where(parsed & (ch != "C"), a_won.astype(float), np.nan)
    stored_row = resp_row[id_codes]  # row of resp for response_a (first n) and response_b
    row_of = {"a": np.where(swap, stored_row[n:], stored_row[:n])}
    row_of["b"] = np.where(swap, stored_row[:n], stored_row[n:])
    generator = resp["generator"].astype(str).to_numpy(dtype=object)
    family = resp["family"].to_numpy(dtype=object)
    words = resp["n_words"].astype(float).to_numpy()
    correct = resp["correct"].astype(float).to_numpy()
    for side in ("a", "b"):
        out[f"gen_{side}"] = _text(generator, row_of[side])
        out[f"fam_{side}"] = _text(family, row_of[side])
        out[f"words_{side}"] = words[row_of[side]]
        out[f"correct_{side}"] = correct[row_of[side]]
    # the rows' (item, stored pair): rows with one key share their (item_id, ra, rb)
    key = pd.factorize(pd.factorize(item)[0].astype(np.int64) * (len(stored) + 1) + pair)[0]
    out["hgap"], out["pgap"] = _human_gap(out, dataset, human_pairs, key)
    # A dataset may name its judges differently from the same models as generators (LLMBar's
    # judge ChatGPT wrote MT-Bench's gpt-3.5-turbo answers): its meta maps judge -> generator.
    meta = getattr(dataset, "meta", None) or {}
    aliases = dict(meta.get("judge_generator_aliases") or {}) if isinstance(meta, dict) else {}
    # the relation is a function of (model, judge family, generator, generator family): coded
    # once per verdict column and once per response, not per side and row
    judge_cols = [(*_codes(out[c]), out[c]) for c in ("model", "judge_family")]
    (gen, n_gen), (fam, n_fam) = _codes(generator), _codes(family)
    for side in ("a", "b"):
        rows = row_of[side]
        out[f"rel_{side}"] = _relations(
            [
                *judge_cols,
                (gen[rows], n_gen, generator[rows]),
                (fam[rows], n_fam, family[rows]),
            ],
            aliases,
        )
    return out


def _codes(values) -> tuple[np.ndarray, int]:
    """(code per row, number of codes): a missing value (None or NaN) is one value; a column
    is coded as stored."""
    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object)
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return codes, len(distinct)


def _judge_families(v: pd.DataFrame) -> np.ndarray:
    """The stored judge family (filled at load; None where missing)."""
    if "judge_family" not in v.columns:
        return np.full(len(v), None, dtype=object)
    jf = v["judge_family"]
    return jf.astype(object).where(jf.notna(), None).to_numpy(copy=True)


def _relations(cols: list, aliases: dict):
    """judgelab.families.relation per row of (model, judge family, generator, generator
    family), each given as (code per row, number of codes, the values per row) (:func:`_codes`),
    computed once per distinct combination on the values of its first row (a missing family,
    None or NaN, is one code: relation() reads both as unknown)."""
    combo = np.zeros(len(cols[0][0]), dtype=np.int64)
    for codes, n, _ in cols:
        combo = pd.factorize(combo * (n + 1) + codes)[0]
    _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
    values = [(v.iloc[first] if isinstance(v, pd.Series) else v[first]).tolist() for *_, v in cols]
    rel = [
        relation(
            aliases.get(m, m),
            g,
            judge_family=jfam,
            generator_family=gfam if isinstance(gfam, str) else None,
        )
        for m, jfam, g, gfam in zip(*values, strict=True)
    ]
    return _text(np.array(rel, dtype=object), inverse.reshape(-1))


def _text_of(values):
    """Per-row ``values`` as a column: text (missing values allowed) as :func:`_text` takes
    it from the distinct values; anything else (no text at all, say every value missing) as
    the values themselves, for pandas to store as it reads them."""
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return np.asarray(values, dtype=object)
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return _text(np.asarray(distinct, dtype=object), codes)


def _text(values: np.ndarray, codes: np.ndarray):
    """``values[codes]`` as a column: pandas' text dtype (missing values NaN) taken by Arrow
    from the distinct values, as pandas would store the Python strings (a table of a million
    judgments has a dozen such columns); other values (not text) as the object array."""
    import pyarrow as pa

    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return values[codes]  # not text, or no text at all: as pandas reads such a column
    taken = pa.array(values, type=pa.large_string(), from_pandas=True).take(pa.array(codes))
    return pd.array(taken, dtype="str")


def _human_gap(jt: pd.DataFrame, dataset, hp=None, key=None) -> tuple[np.ndarray, np.ndarray]:
    """Signed human quality gaps of each row's pair (a minus b): the difference of mean human
    scores (scale points; NaN without scores) and 2 x human preference share of a - 1 (NaN
    for pairs humans did not compare). ``key``: codes 0..K-1 in order of first appearance,
    equal on rows of one (item_id, ra, rb), so that the human table is joined with the first
    row of each code (a tenth of a million judgments), not with every row."""
    nan = np.full(len(jt), np.nan)
    sgap, pgap = nan, nan.copy()
    labels = getattr(dataset, "labels", None)
    if labels is not None and len(labels):
        mean = (
            pd.to_numeric(labels["score"], errors="coerce")
            .groupby(labels["response_id"].astype(str))
            .mean()
        )
        sgap = (
            jt["ra"].map(mean).astype(float).to_numpy()
            - jt["rb"].map(mean).astype(float).to_numpy()
        )
    hp = human_pair_table(dataset) if hp is None else hp
    if len(hp):
        keys = jt[["item_id", "ra", "rb"]]
        if key is not None:
            keys = keys.take(np.unique(key, return_index=True)[1])
        m = keys.merge(
            hp[["item_id", "ra", "rb", "share_a"]], on=["item_id", "ra", "rb"], how="left"
        )
        share = m["share_a"].to_numpy(dtype=float)
        pgap = 2 * (share if key is None else share[key]) - 1
    return sgap, pgap


def human_pair_table(dataset) -> pd.DataFrame:
    """Human preferences per canonical pair (ids sorted): item_id, ra, rb, votes, votes_a,
    votes_b, ties, share_a (ties count half), majority (``a`` | ``b``: the
    :data:`HUMAN_REFERENCE` label; None when no strict majority or a tie majority)."""
    cols = ["item_id", "ra", "rb", "votes", "votes_a", "votes_b", "ties", "share_a", "majority"]
    p = getattr(dataset, "preferences", None)
    if p is None or len(p) == 0:
        return pd.DataFrame(columns=cols)
    votes = coded_votes(p)
    key = ["item_id", "lo", "hi"]
    label = votes["label"].to_numpy()
    g = (
        votes[key]
        .assign(va=(label == LO) * 1.0, vb=(label == HI) * 1.0, t=(label == TIE_CODE) * 1.0)
        .groupby(key, sort=False)
        .agg(votes_a=("va", "sum"), votes_b=("vb", "sum"), ties=("t", "sum"))
        .reset_index()
    )
    g["votes"] = g["votes_a"] + g["votes_b"] + g["ties"]
    g["share_a"] = (g["votes_a"] + 0.5 * g["ties"]) / g["votes"]
    ref, _, _ = reference_labels(votes, rule=HUMAN_REFERENCE)
    code = g[key].merge(ref[[*key, "ref"]], on=key, how="left")["ref"].to_numpy()
    g["majority"] = np.where(code == LO, "a", np.where(code == HI, "b", None))
    return g.rename(columns={"lo": "ra", "hi": "rb"})[cols]


def panel_families(jt: pd.DataFrame) -> list:
    """Distinct known families of the judges in a judgment table."""
    return sorted({f for f in jt.drop_duplicates("judge")["judge_family"] if isinstance(f, str)})
