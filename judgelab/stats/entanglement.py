"""Family entanglement: do judges of one provider family share blind spots?

Definitions follow STATISTICS.md "Family entanglement". For every judge pair (i, j),
over the units both judged and parsed:

- ``pairwise_kappa``: Cohen's kappa of their verdicts, kappa = (p_o - p_e) / (1 - p_e)
  with p_o the observed agreement and p_e = sum_c r_c c_c / N^2 (Cohen 1960). Pairwise
  verdicts are nominal (``a`` / ``b`` / ``tie``; tie a class under ``tie_policy="class"``).
  Scores use quadratic weights on the score values (Cohen 1968):
  kappa_w = 1 - sum w o / sum w e, w_cd = (v_c - v_d)^2.
- alpha_ij: Krippendorff's alpha for two coders without missing values in a unit
  (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"): with N units,
  n = 2N pairable values, D disagreeing units and n_c the number of values c,
  nominal alpha = 1 - (n - 1) * 2D / (n^2 - sum_c n_c^2); interval alpha =
  1 - (n - 1) * sum_u (x_u - y_u)^2 / (n sum v^2 - (sum v)^2). Both are computed
  from per-item sums, so the item-cluster bootstrap is one matrix product.
  ``alpha_within_family`` (per family) is the mean alpha_ij over pairs inside a family,
  ``alpha_across_families`` the mean over pairs of different families, ``alpha_gap``
  the mean over *all* within pairs minus the across mean.
- errors: e_i = 1 when judge i's verdict differs from the reference label
  (:func:`reference_labels`); ``error_correlation_within`` / ``_across`` are the mean
  phi coefficients of (e_i, e_j) over within- / across-family pairs, phi =
  (n s_ij - s_i s_j) / sqrt(s_i (n - s_i) s_j (n - s_j)) (the Pearson correlation of
  two 0/1 vectors); phi is undefined (null with a reason) for a judge without errors
  (or without correct verdicts) on the shared units. ``error_correlation_gap`` =
  within - across.
- ``effective_independent_judges`` = m / (1 + (m - 1) rho_bar), rho_bar the mean
  pairwise error correlation (Kish's design effect applied to a panel of m judges;
  Kish 1965, *Survey Sampling*, sec. 8.2).

Primary tests: ``alpha_gap`` and ``error_correlation_gap`` get an item-cluster
bootstrap CI (percentile) and a two-sided p-value from the bootstrap distribution
(:func:`judgelab.stats.resampling.bootstrap_p_value`). Exploratory: a permutation of
the family labels over judges (family sizes kept) with the number of distinct
assignments; with few judges this test is coarse (6 judges in 3 families of 2 have
only 15 assignments, so p >= 1/15).

**Unit of analysis.** ``order_aggregation`` (STATISTICS.md "Orders") decides it:
``per_call`` (default): a unit is a (pair, order), i.e. a pair as displayed with a given
answer first; two judges agree on a unit when they pick the same *response* (verdicts
are mapped back to response ids, so both orders of a pair are separate units that
share the item cluster). ``first_order``: a unit is a pair, only its ``ab`` order.
``consistent_only``: a unit is a pair judged in both orders; an order-inconsistent
pair counts as a tie (FastChat's convention). Repeats (``sample``) are aggregated
within (judge, pair, order) first: the modal verdict (a tie between modes is a tie),
or the mean score. The item is always the resampling cluster.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from judgelab import families as families_mod
from judgelab.data import DataError
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.resampling import cluster_bootstrap

__all__ = [
    "CLASSES",
    "UnitMatrix",
    "unit_matrix",
    "reference_labels",
    "human_majority",
    "error_matrix",
    "pair_table",
    "kappa_matrix",
    "family_label_assignments",
    "entanglement_findings",
    "identity_of",
]

#: Pairwise verdict classes, relative to the canonical pair (response_a < response_b).
CLASSES = ("a", "b", "tie")
ORDER_AGGREGATIONS = ("per_call", "first_order", "consistent_only")
TIE_POLICIES = ("class", "drop")
REFERENCES = ("auto", "truth", "human")
#: More distinct family-label assignments than this: sample them instead of enumerating.
MAX_ENUMERATE = 20_000


def identity_of(model, backend, judge_version) -> str:
    """The identity string ``model|backend|judge_version`` (DESIGN.md)."""
    return f"{model}|{backend}|{judge_version}"


# ---------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------


@dataclass
class UnitMatrix:
    """Verdicts of m judges on n units, one column per judge identity.

    ``values`` is ``(n_units, m)`` float: class codes 0 (``a`` = response_a wins),
    1 (``b``), 2 (tie) for pairwise verdicts (``kind="nominal"``), or scores
    (``kind="interval"``); nan = not judged, not parsed, or dropped by the tie policy.
    ``units`` holds ``item_id`` and the unit key (``response_a``, ``response_b`` sorted,
    ``shown_first`` under ``per_call``; ``response_id`` for scores). ``item_index`` maps
    each unit to its item (the bootstrap cluster).
    """

    units: pd.DataFrame
    values: np.ndarray
    judges: list[str]
    families: list[str | None]
    kind: str
    order_aggregation: str
    tie_policy: str
    protocol: str
    n_excluded: dict[str, int] = field(default_factory=dict)

    @property
    def items(self) -> np.ndarray:
        return np.asarray(pd.unique(self.units["item_id"]))

    @property
    def item_index(self) -> np.ndarray:
        codes, _ = pd.factorize(self.units["item_id"], sort=False)
        return codes.astype(np.int64)

    @property
    def n_items(self) -> int:
        return int(self.units["item_id"].nunique())

    def frame(self, labels: bool = True) -> pd.DataFrame:
        """Wide frame: the unit columns then one column per judge (class labels or scores)."""
        vals = pd.DataFrame(self.values, columns=self.judges)
        if labels and self.kind == "nominal":
            vals = vals.apply(lambda c: c.map(lambda v: None if np.isnan(v) else CLASSES[int(v)]))
        return pd.concat([self.units.reset_index(drop=True), vals], axis=1)

    def subset(self, judges: list[str]) -> UnitMatrix:
        idx = [self.judges.index(j) for j in judges]
        return UnitMatrix(
            self.units,
            self.values[:, idx],
            [self.judges[i] for i in idx],
            [self.families[i] for i in idx],
            self.kind,
            self.order_aggregation,
            self.tie_policy,
            self.protocol,
            dict(self.n_excluded),
        )


def _check_settings(order_aggregation: str, tie_policy: str) -> None:
    if order_aggregation not in ORDER_AGGREGATIONS:
        raise ValueError(
            f"order_aggregation must be one of {ORDER_AGGREGATIONS}, not {order_aggregation!r}"
        )
    if tie_policy not in TIE_POLICIES:
        raise ValueError(
            f"tie_policy must be 'class' or 'drop' for kappa, alpha and error rates "
            f"(STATISTICS.md 'Ties'), not {tie_policy!r}"
        )


def _modal_code(counts: np.ndarray, tie_code: int = 2) -> np.ndarray:
    """Modal class per row of a (n, K) count matrix; a tie between modes gives ``tie_code``."""
    mx = counts.max(axis=1)
    n_modes = (counts == mx[:, None]).sum(axis=1)
    out = counts.argmax(axis=1).astype(float)
    out[n_modes > 1] = tie_code
    out[mx == 0] = np.nan
    return out


def _identity_families(v: pd.DataFrame, families: dict | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    fam_col = (
        v["judge_family"]
        if "judge_family" in v.columns
        else pd.Series([None] * len(v), index=v.index)
    )
    for ident, model, fam in zip(v["_judge"], v["model"], fam_col, strict=True):
        if ident in out and out[ident] is not None:
            continue
        f = fam if isinstance(fam, str) and fam else None
        if families and (ident in families or model in families):
            f = families.get(ident, families.get(model))
        out[ident] = f if f is not None else families_mod.family_of(model)
    return out


def unit_matrix(
    verdicts: pd.DataFrame,
    *,
    protocol: str | None = None,
    order_aggregation: str = "per_call",
    tie_policy: str = "class",
    families: dict[str, str] | None = None,
    judges: list[str] | None = None,
) -> UnitMatrix:
    """Tidy verdicts -> a :class:`UnitMatrix` (units x judge identities).

    Only parsed verdicts (``parse_ok``) enter; repeats are aggregated within
    (judge, unit); ``order_aggregation`` defines the unit (module docstring);
    ``tie_policy="drop"`` removes a judge's tie verdicts (after aggregation).
    ``families`` overrides a judge's family (keys: identity strings or models);
    otherwise the ``judge_family`` column, else :func:`judgelab.families.family_of`.
    ``judges`` fixes the column order (identity strings).
    """
    _check_settings(order_aggregation, tie_policy)
    need = ["model", "backend", "judge_version", "protocol", "item_id"]
    missing = [c for c in need if c not in verdicts.columns]
    if missing:
        raise DataError("verdicts", missing[0], f"missing column(s) {missing}")
    v = verdicts.copy()
    protos = sorted(v["protocol"].dropna().unique())
    if protocol is None:
        protocol = "pairwise" if "pairwise" in protos else (protos[0] if protos else "pairwise")
    if protocol not in ("pairwise", "single"):
        raise ValueError(
            f"family entanglement analyses pairwise or single verdicts, not {protocol!r}"
        )
    v = v[v["protocol"] == protocol]
    if v.empty:
        raise DataError("verdicts", "protocol", f"no {protocol} verdicts to analyse")
    v["_judge"] = [
        identity_of(*t) for t in zip(v["model"], v["backend"], v["judge_version"], strict=True)
    ]
    fam_map = _identity_families(v, families)
    n_total = len(v)
    ok = (
        v["parse_ok"].fillna(False).astype(bool)
        if "parse_ok" in v.columns
        else pd.Series(True, index=v.index)
    )
    v = v[ok.to_numpy()]
    excluded = {"unparsed_rows": int(n_total - len(v))}
    if "sample" not in v.columns:
        v["sample"] = 0

    if protocol == "pairwise":
        units, wide = _pairwise_units(v, order_aggregation, excluded)
        kind = "nominal"
    else:
        units, wide = _single_units(v)
        kind = "interval"

    all_judges = list(wide.columns)
    if judges is None:
        judges = sorted(all_judges, key=lambda j: (str(fam_map.get(j)), j))
    else:
        unknown = [j for j in judges if j not in all_judges]
        if unknown:
            raise ValueError(f"judges without parsed {protocol} verdicts: {unknown}")
    values = wide[judges].to_numpy(dtype=float)
    if kind == "nominal" and tie_policy == "drop":
        excluded["dropped_ties"] = int(np.sum(values == 2))
        values = np.where(values == 2, np.nan, values)
    keep = ~np.all(np.isnan(values), axis=1)
    units = units[keep].reset_index(drop=True)
    values = values[keep]
    return UnitMatrix(
        units=units,
        values=values,
        judges=list(judges),
        families=[fam_map.get(j) for j in judges],
        kind=kind,
        order_aggregation=order_aggregation,
        tie_policy=tie_policy,
        protocol=protocol,
        n_excluded=excluded,
    )


def _pairwise_units(
    v: pd.DataFrame, order_aggregation: str, excluded: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    for c in ("response_a", "response_b"):
        if c not in v.columns:
            raise DataError("verdicts", c, "pairwise verdicts need response_a and response_b")
    ra = v["response_a"].astype(str).to_numpy()
    rb = v["response_b"].astype(str).to_numpy()
    order = (
        v["order"].fillna("ab").astype(str).to_numpy()
        if "order" in v.columns
        else np.full(len(v), "ab")
    )
    bad_order = ~np.isin(order, ["ab", "ba"])
    if bad_order.any():
        raise DataError(
            "verdicts", "order", "order must be 'ab' or 'ba'", np.flatnonzero(bad_order)
        )
    lo = np.where(ra <= rb, ra, rb)
    hi = np.where(ra <= rb, rb, ra)
    first = np.where(order == "ab", ra, rb)
    # The winner as a response id: the stored winner when present, else from the displayed
    # choice and the order (A is the answer shown first).
    win = (
        v["winner"].to_numpy(dtype=object)
        if "winner" in v.columns
        else np.full(len(v), None, dtype=object)
    )
    choice = (
        v["choice"].to_numpy(dtype=object)
        if "choice" in v.columns
        else np.full(len(v), None, dtype=object)
    )
    second = np.where(order == "ab", rb, ra)
    # vectorised: object arrays of strings, compared element-wise
    has_win = np.array([isinstance(w, str) and w != "" for w in win], dtype=bool)
    ch = np.array([c if isinstance(c, str) else "" for c in choice], dtype=object)
    from_choice = np.where(
        ch == "A",
        first,
        np.where(ch == "B", second, np.where(np.isin(ch, ["tie", "C"]), "tie", "")),
    )
    w = np.where(
        has_win, np.array([x if isinstance(x, str) else "" for x in win], dtype=object), from_choice
    )
    w = w.astype(str)
    code = np.full(len(v), np.nan)
    code[w == "tie"] = 2.0
    code[(w == lo) & (w != "tie")] = 0.0
    code[(w == hi) & (w != "tie")] = 1.0
    bad = (w != "") & np.isnan(code)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            "verdicts",
            "winner",
            f"winner {w[rows[0]]!r} is neither response of its pair nor 'tie'",
            [int(i) for i in v.index[rows]],  # row labels of the verdict table as given
        )
    d = pd.DataFrame(
        {
            "judge": v["_judge"].to_numpy(),
            "item_id": v["item_id"].astype(str).to_numpy(),
            "response_a": lo,
            "response_b": hi,
            "shown_first": first,
            "order": order,
            "code": code,
        }
    )
    excluded["no_verdict_rows"] = int(np.isnan(code).sum())
    d = d[~np.isnan(code)]
    if order_aggregation == "first_order":
        d = d[d["order"] == "ab"]
    key = ["item_id", "response_a", "response_b", "shown_first"]
    # repeats -> modal verdict per (judge, pair, order)
    counts = (
        d.assign(c=d["code"].astype(int))
        .groupby(["judge", *key, "c"], sort=False)
        .size()
        .unstack("c", fill_value=0)
        .reindex(columns=[0, 1, 2], fill_value=0)
    )
    per_order = pd.Series(
        _modal_code(counts.to_numpy()), index=counts.index, name="code"
    ).reset_index()
    if order_aggregation == "consistent_only":
        g = per_order.groupby(["judge", "item_id", "response_a", "response_b"], sort=False)["code"]
        n_orders = g.transform("size")
        excluded["single_order_pairs"] = int(
            per_order[n_orders < 2]
            .groupby(["judge", "item_id", "response_a", "response_b"])
            .ngroups
        )
        both = per_order[n_orders >= 2]
        agg = both.groupby(["judge", "item_id", "response_a", "response_b"], sort=False)[
            "code"
        ].agg(lambda s: s.iloc[0] if s.nunique() == 1 else 2.0)
        per_order = agg.reset_index()
        key = ["item_id", "response_a", "response_b"]
    elif order_aggregation == "first_order":
        per_order = per_order.drop(columns="shown_first")
        key = ["item_id", "response_a", "response_b"]
    wide = per_order.pivot_table(
        index=key, columns="judge", values="code", aggfunc="first", sort=False
    )
    wide.columns.name = None
    units = wide.index.to_frame(index=False)
    return units, wide.reset_index(drop=True)


def _single_units(v: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    if "response_id" not in v.columns or "score" not in v.columns:
        raise DataError("verdicts", "score", "single-score verdicts need response_id and score")
    d = pd.DataFrame(
        {
            "judge": v["_judge"].to_numpy(),
            "item_id": v["item_id"].astype(str).to_numpy(),
            "response_id": v["response_id"].astype(str).to_numpy(),
            "score": pd.to_numeric(v["score"], errors="coerce").to_numpy(),
        }
    ).dropna(subset=["score"])
    wide = d.pivot_table(
        index=["item_id", "response_id"],
        columns="judge",
        values="score",
        aggfunc="mean",
        sort=False,
    )
    wide.columns.name = None
    return wide.index.to_frame(index=False), wide.reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# reference labels
# ---------------------------------------------------------------------------------------


def _canonical_prefs(preferences: pd.DataFrame) -> pd.DataFrame:
    p = preferences.copy()
    ra, rb = p["response_a"].astype(str), p["response_b"].astype(str)
    swap = (ra > rb).to_numpy()
    pref = p["preference"].astype(str).str.lower().to_numpy()
    bad = ~np.isin(pref, ["a", "b", "tie"])
    if bad.any():
        raise DataError(
            "preferences", "preference", "preference must be a, b or tie", np.flatnonzero(bad)
        )
    code = np.where(pref == "tie", 2, np.where((pref == "a") ^ swap, 0, 1)).astype(float)
    return pd.DataFrame(
        {
            "item_id": p["item_id"].astype(str).to_numpy(),
            "response_a": np.where(swap, rb, ra),
            "response_b": np.where(swap, ra, rb),
            "rater_id": p["rater_id"].astype(str).to_numpy(),
            "code": code,
        }
    )


def human_majority(dataset, *, unanimous: bool = False, min_raters: int = 1) -> pd.DataFrame:
    """Per canonical pair (``response_a < response_b``): the human label code.

    ``unanimous=False``: the majority (more than half of the votes; pairs without one are
    excluded, STATISTICS.md "Reference labels"). ``unanimous=True``: only pairs where all
    raters agree and at least ``min_raters`` rated. Columns ``item_id, response_a,
    response_b, code, n_raters``.
    """
    prefs = getattr(dataset, "preferences", None)
    cols = ["item_id", "response_a", "response_b", "code", "n_raters"]
    if prefs is None or len(prefs) == 0:
        return pd.DataFrame(columns=cols)
    c = _canonical_prefs(prefs)
    key = ["item_id", "response_a", "response_b"]
    counts = (
        c.groupby([*key, "code"])
        .size()
        .unstack("code", fill_value=0)
        .reindex(columns=[0.0, 1.0, 2.0], fill_value=0)
    )
    arr = counts.to_numpy()
    n = arr.sum(axis=1)
    mx = arr.max(axis=1)
    ok = (mx == n) & (n >= min_raters) if unanimous else (mx * 2 > n)
    out = counts.index.to_frame(index=False)
    out["code"] = arr.argmax(axis=1).astype(float)
    out["n_raters"] = n
    return out[ok].reset_index(drop=True)[cols]


def reference_labels(
    um: UnitMatrix,
    dataset,
    reference: str = "auto",
    *,
    min_raters: int = 2,
    score_tolerance: float = 1.0,
) -> tuple[np.ndarray, str]:
    """Reference label per unit (nan = no reference) and its source.

    Pairwise:
    - ``truth`` (where the dataset has ``truth.quality``, e.g. the demo): the response
      with the higher true quality is the correct winner (equal quality: a tie). In the
      demo, quality = 1.5 (2 correct - 1) + presentation, so a correct answer beats a wrong
      one unless presentation differs by more than 3 logits; the quality order is also
      what the simulated judges perceive, so an error is a real misjudgment.
    - ``human``: the human label on pairs where every rater agrees (at least
      ``min_raters`` raters).
    - ``auto``: truth when every unit's responses have a truth row, else human.

    Scores: the median human score per response (truth is not on the score scale);
    an error there is ``|score - reference| > score_tolerance`` (:func:`error_matrix`).
    Under ``tie_policy="drop"`` reference ties are excluded too.
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, not {reference!r}")
    u = um.units
    if um.kind == "interval":
        labels = getattr(dataset, "labels", None)
        if labels is None or len(labels) == 0:
            return np.full(len(u), np.nan), "none: the dataset has no human scores"
        med = (
            labels.assign(response_id=labels["response_id"].astype(str))
            .groupby("response_id")["score"]
            .median()
        )
        return u["response_id"].map(med).to_numpy(dtype=float), "median human score"
    truth = getattr(dataset, "truth", None)
    has_truth = truth is not None and len(truth) and "quality" in truth.columns
    if reference == "truth" and not has_truth:
        raise DataError("truth", "quality", "reference='truth' but the dataset has no truth table")
    if has_truth and reference in ("auto", "truth"):
        q = dict(zip(truth["response_id"].astype(str), truth["quality"].astype(float), strict=True))
        qa = u["response_a"].map(q).to_numpy(dtype=float)
        qb = u["response_b"].map(q).to_numpy(dtype=float)
        if reference == "truth" or not (np.isnan(qa).any() or np.isnan(qb).any()):
            ref = np.where(qa > qb, 0.0, np.where(qb > qa, 1.0, 2.0))
            ref[np.isnan(qa) | np.isnan(qb)] = np.nan
            src = "truth (higher true quality wins)"
            return _drop_ref_ties(ref, um), src
    hm = human_majority(dataset, unanimous=True, min_raters=min_raters)
    key = ["item_id", "response_a", "response_b"]
    m = u[key].merge(hm, on=key, how="left")
    ref = m["code"].to_numpy(dtype=float)
    return _drop_ref_ties(
        ref, um
    ), f"human label on pairs where all raters agree (>= {min_raters} raters)"


def _drop_ref_ties(ref: np.ndarray, um: UnitMatrix) -> np.ndarray:
    if um.tie_policy == "drop":
        ref = np.where(ref == 2, np.nan, ref)
    return ref


def error_matrix(um: UnitMatrix, ref: np.ndarray, score_tolerance: float = 1.0) -> np.ndarray:
    """``(n_units, m)`` 0/1 errors (nan where the judge or the reference is missing)."""
    vals = um.values
    if um.kind == "interval":
        err = (np.abs(vals - ref[:, None]) > score_tolerance).astype(float)
    else:
        err = (vals != ref[:, None]).astype(float)
    err[np.isnan(vals) | np.isnan(ref)[:, None]] = np.nan
    return err


# ---------------------------------------------------------------------------------------
# per-item sufficient statistics and vectorised statistics
# ---------------------------------------------------------------------------------------


def _item_sum(item_index: np.ndarray, n_items: int, X: np.ndarray) -> np.ndarray:
    """Sum the rows of X (n_units, k) by item -> (n_items, k), one sparse product."""
    G = sparse.csr_matrix(
        (np.ones(len(item_index)), (item_index, np.arange(len(item_index)))),
        shape=(n_items, len(item_index)),
    )
    return np.asarray(G @ X)


def _categories(um: UnitMatrix) -> np.ndarray:
    if um.kind == "nominal":
        return np.arange(len(CLASSES), dtype=float)
    v = um.values[~np.isnan(um.values)]
    return np.unique(np.round(v))


def _onehot(um: UnitMatrix, cats: np.ndarray) -> np.ndarray:
    vals = um.values if um.kind == "nominal" else np.round(um.values)
    return (vals[:, :, None] == cats[None, None, :]).astype(float)


def _pairs(m: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(m), 2))


@dataclass
class _Stats:
    """Per-item sufficient statistics of every judge pair (columns grouped by pair)."""

    pairs: list[tuple[int, int]]
    K: int
    cats: np.ndarray
    joint: np.ndarray  # (n_items, P, K*K) joint verdict counts
    interval: np.ndarray | None  # (n_items, P, 4): N, sum d^2, sum v, sum v^2
    err: np.ndarray | None  # (n_items, P, 4): n, s_i, s_j, s_ij


def _sufficient(um: UnitMatrix, err: np.ndarray | None) -> _Stats:
    m = len(um.judges)
    pairs = _pairs(m)
    cats = _categories(um)
    K = len(cats)
    oh = _onehot(um, cats)
    idx, n_items = um.item_index, um.n_items
    joint = (
        np.stack(
            [(oh[:, i, :, None] * oh[:, j, None, :]).reshape(len(oh), K * K) for i, j in pairs],
            axis=1,
        )
        if pairs
        else np.zeros((len(oh), 0, K * K))
    )
    J = _item_sum(idx, n_items, joint.reshape(len(oh), -1)).reshape(n_items, len(pairs), K * K)
    inter = None
    if um.kind == "interval":
        x = um.values
        cols = []
        for i, j in pairs:
            both = ~(np.isnan(x[:, i]) | np.isnan(x[:, j]))
            a = np.where(both, x[:, i], 0.0)
            b = np.where(both, x[:, j], 0.0)
            cols.append(np.stack([both.astype(float), (a - b) ** 2, a + b, a * a + b * b], axis=1))
        inter = _item_sum(idx, n_items, np.concatenate(cols, axis=1)).reshape(
            n_items, len(pairs), 4
        )
    E = None
    if err is not None:
        cols = []
        for i, j in pairs:
            both = ~(np.isnan(err[:, i]) | np.isnan(err[:, j]))
            a = np.where(both, err[:, i], 0.0)
            b = np.where(both, err[:, j], 0.0)
            cols.append(np.stack([both.astype(float), a, b, a * b], axis=1))
        E = _item_sum(idx, n_items, np.concatenate(cols, axis=1)).reshape(n_items, len(pairs), 4)
    return _Stats(pairs, K, cats, J, inter, E)


def _kappa(J: np.ndarray, K: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Cohen's kappa from joint counts ``(..., K*K)``; nan when p_e = 1 or no units.

    Unweighted: (p_o - p_e) / (1 - p_e). Weighted: 1 - sum w o / sum w e (Cohen 1968)."""
    J = J.reshape(*J.shape[:-1], K, K)
    N = J.sum(axis=(-1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = J.sum(axis=-1) / N[..., None]
        c = J.sum(axis=-2) / N[..., None]
        o = J / N[..., None, None]
        e = r[..., :, None] * c[..., None, :]
        if weights is None:
            po = np.trace(o, axis1=-2, axis2=-1)
            pe = np.trace(e, axis1=-2, axis2=-1)
            k = (po - pe) / (1.0 - pe)
            k = np.where(np.isclose(pe, 1.0) | (N == 0), np.nan, k)
        else:
            num = (weights * o).sum(axis=(-1, -2))
            den = (weights * e).sum(axis=(-1, -2))
            k = 1.0 - num / den
            k = np.where(np.isclose(den, 0.0) | (N == 0), np.nan, k)
    return k


def _alpha_nominal(J: np.ndarray, K: int) -> np.ndarray:
    """Krippendorff's nominal alpha of two coders from joint counts ``(..., K*K)``."""
    J = J.reshape(*J.shape[:-1], K, K)
    N = J.sum(axis=(-1, -2))
    D = N - np.trace(J, axis1=-2, axis2=-1)
    nc = J.sum(axis=-1) + J.sum(axis=-2)
    n = 2.0 * N
    den = n * n - (nc * nc).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = 1.0 - (n - 1.0) * 2.0 * D / den
    return np.where((den <= 0) | (N < 1), np.nan, a)


def _alpha_interval(S: np.ndarray) -> np.ndarray:
    """Krippendorff's interval alpha of two coders from (N, sum d^2, sum v, sum v^2)."""
    N, sd, sv, sv2 = S[..., 0], S[..., 1], S[..., 2], S[..., 3]
    n = 2.0 * N
    den = n * sv2 - sv * sv
    with np.errstate(invalid="ignore", divide="ignore"):
        a = 1.0 - (n - 1.0) * sd / den
    return np.where((den <= 1e-12 * np.maximum(1.0, n * sv2)) | (N < 1), np.nan, a)


def _phi(E: np.ndarray) -> np.ndarray:
    """phi of two 0/1 vectors from (n, s_i, s_j, s_ij); nan when either is constant."""
    n, si, sj, sij = E[..., 0], E[..., 1], E[..., 2], E[..., 3]
    den = si * (n - si) * sj * (n - sj)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (n * sij - si * sj) / np.sqrt(den)
    return np.where(den > 0, p, np.nan)


def _weights_matrix(um: UnitMatrix, cats: np.ndarray) -> np.ndarray | None:
    if um.kind == "nominal":
        return None
    return (cats[:, None] - cats[None, :]) ** 2


# ---------------------------------------------------------------------------------------
# pair table
# ---------------------------------------------------------------------------------------


def _relation(fi, fj) -> str:
    return "within" if (fi is not None and fi == fj) else "across"


def pair_table(um: UnitMatrix, err: np.ndarray | None = None) -> pd.DataFrame:
    """One row per judge pair: families, relation (within/across), shared units,
    kappa, alpha and (with ``err``) the error phi, with reasons where undefined."""
    st = _sufficient(um, err)
    tot_j = st.joint.sum(axis=0)
    w = _weights_matrix(um, st.cats)
    kap = _kappa(tot_j, st.K, w)
    alp = (
        _alpha_interval(st.interval.sum(axis=0))
        if um.kind == "interval"
        else _alpha_nominal(tot_j, st.K)
    )
    rows = []
    for p, (i, j) in enumerate(st.pairs):
        n = int(tot_j[p].sum())
        row = {
            "judge_i": um.judges[i],
            "judge_j": um.judges[j],
            "family_i": um.families[i],
            "family_j": um.families[j],
            "relation": _relation(um.families[i], um.families[j]),
            "n_units": n,
            "kappa": None if np.isnan(kap[p]) else float(kap[p]),
            "alpha": None if np.isnan(alp[p]) else float(alp[p]),
        }
        if st.err is not None:
            e = st.err[:, p, :].sum(axis=0)
            ph = _phi(e)
            row["n_error_units"] = int(e[0])
            row["errors_i"] = int(e[1])
            row["errors_j"] = int(e[2])
            row["error_phi"] = None if np.isnan(ph) else float(ph)
            row["error_phi_reason"] = _phi_reason(e, um.judges[i], um.judges[j])
        rows.append(row)
    return pd.DataFrame(rows)


def _phi_reason(e: np.ndarray, ji: str, jj: str) -> str | None:
    n, si, sj = e[0], e[1], e[2]
    if n == 0:
        return "no units with a reference that both judges parsed"
    for s, name in ((si, ji), (sj, jj)):
        if s == 0:
            return f"judge {name} made no errors on the shared units (phi undefined)"
        if s == n:
            return f"judge {name} erred on every shared unit (phi undefined)"
    return None


def kappa_matrix(
    um: UnitMatrix, statistic: str = "kappa", err: np.ndarray | None = None
) -> pd.DataFrame:
    """Square judges x judges matrix of ``kappa``, ``alpha`` or ``error_phi`` (diagonal 1),
    ordered by family then identity (the order of ``um.judges``)."""
    pt = pair_table(um, err)
    M = pd.DataFrame(np.eye(len(um.judges)), index=um.judges, columns=um.judges)
    for r in pt.itertuples():
        val = getattr(r, statistic)
        val = np.nan if val is None else val
        M.loc[r.judge_i, r.judge_j] = val
        M.loc[r.judge_j, r.judge_i] = val
    return M


# ---------------------------------------------------------------------------------------
# family-label permutation
# ---------------------------------------------------------------------------------------


def _n_assignments(sizes: list[int]) -> int:
    """Distinct partitions of sum(sizes) judges into unlabelled blocks of these sizes:
    m! / (prod s! * prod over equal sizes of k!)."""
    m = sum(sizes)
    den = 1
    for s in sizes:
        den *= math.factorial(s)
    for k in Counter(sizes).values():
        den *= math.factorial(k)
    return math.factorial(m) // den


def family_label_assignments(
    labels: list, max_enumerate: int = MAX_ENUMERATE, n_sample: int = 9999, seed: int = 0
):
    """Distinct assignments of family labels to judges with the family sizes kept.

    Returns ``(assignments, n_distinct, enumerated)``: an array ``(A, m)`` of block
    numbers. Only the partition matters for within/across, so assignments that merely
    rename equally sized families are one assignment (6 judges in 3 families of 2: 15).
    With more than ``max_enumerate`` distinct assignments, ``n_sample`` random ones are
    drawn (seeded) and ``enumerated`` is False.
    Unknown families (None) are singleton blocks.
    """
    lab = [f"__unknown_{k}" if x is None else x for k, x in enumerate(labels)]
    sizes = sorted(Counter(lab).values(), reverse=True)
    m = len(lab)
    total = _n_assignments(sizes)
    if total > max_enumerate:
        rng = np.random.default_rng(seed)
        base = np.repeat(np.arange(len(sizes)), sizes)
        out = np.stack([rng.permutation(base) for _ in range(n_sample)])
        return out, total, False
    out: list[list[int]] = []

    def rec(assign: list[int], remaining: list[int], block: int):
        try:
            first = assign.index(-1)
        except ValueError:
            out.append(list(assign))
            return
        free = [k for k in range(first + 1, m) if assign[k] == -1]
        for s in sorted(set(remaining)):
            rest = list(remaining)
            rest.remove(s)
            for comb in itertools.combinations(free, s - 1):
                a = list(assign)
                a[first] = block
                for k in comb:
                    a[k] = block
                rec(a, rest, block + 1)

    rec([-1] * m, sizes, 0)
    arr = np.array(out, dtype=int)
    assert len(arr) == total, (len(arr), total)
    return arr, total, True


def _gap_for_assignments(pairs, values: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """within-mean minus across-mean of per-pair values for each assignment (nan pairs skipped)."""
    ii = np.array([p[0] for p in pairs])
    jj = np.array([p[1] for p in pairs])
    within = assignments[:, ii] == assignments[:, jj]  # (A, P)
    ok = ~np.isnan(values)
    v = np.where(ok, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        wm = (within * ok * v).sum(1) / (within * ok).sum(1)
        am = (~within * ok * v).sum(1) / (~within * ok).sum(1)
    return wm - am


# ---------------------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------------------


def _mean_over(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """nan-mean over the pairs in ``mask`` of ``values (B, P)``; nan when none defined."""
    v = values[:, mask]
    with np.errstate(invalid="ignore"):
        cnt = np.sum(~np.isnan(v), axis=1)
        s = np.nansum(v, axis=1)
        return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)


def _mde(
    res, alpha: float = 0.05, power: float = 0.8, alternative: str = "two-sided"
) -> float | None:
    """Minimum detectable effect (80% power at level ``alpha``) of a Wald test with the
    bootstrap standard error: (z_{1-alpha/2} + z_power) SE, or z_{1-alpha} one-sided
    (:func:`judgelab.stats.power.minimum_detectable_effect` with ``se``)."""
    from judgelab.stats.power import minimum_detectable_effect

    d = np.asarray(res.distribution, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return None
    m = minimum_detectable_effect(
        se=float(d.std(ddof=1)), alpha=alpha, power=power, alternative=alternative
    )
    return float(m) if np.isfinite(m) else None


def entanglement_findings(
    verdicts: pd.DataFrame | UnitMatrix,
    dataset=None,
    *,
    tie_policy: str = "class",
    order_aggregation: str = "per_call",
    reference: str = "auto",
    families: dict[str, str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    n_perm: int = 9999,
    min_raters: int = 2,
    score_tolerance: float = 1.0,
    alpha: float = 0.05,
    primary_only: bool = False,
) -> pd.DataFrame:
    """Findings of the family-entanglement study (agreement and error correlation).

    Rows: ``pairwise_kappa`` per judge pair (slice ``{"judge_pair": [i, j]}``, extra
    columns ``alpha_ij``, ``error_phi``, ``relation``); ``alpha_within_family`` per family
    and pooled; ``alpha_across_families``; ``alpha_gap`` (primary: cluster bootstrap,
    and an exploratory family-label permutation row); ``error_correlation_within`` (per
    family and pooled), ``error_correlation_across``, ``error_correlation_gap``
    (primary + permutation row); ``effective_independent_judges``.
    See the module docstring for formulas; ``dataset`` supplies the reference labels
    (truth or humans) and may be None (then no error statistics).
    ``primary_only=True`` returns just the two primary gap rows (no per-pair, per-family,
    permutation or effective-judges rows): the fast path for simulation studies.
    """
    um = (
        verdicts
        if isinstance(verdicts, UnitMatrix)
        else unit_matrix(
            verdicts, order_aggregation=order_aggregation, tie_policy=tie_policy, families=families
        )
    )
    m = len(um.judges)
    pairs = _pairs(m)
    unit_desc = (
        {
            "per_call": "unit = (pair, order)",
            "first_order": "unit = pair (ab order only)",
            "consistent_only": "unit = pair (both orders; inconsistent = tie)",
        }[um.order_aggregation]
        if um.kind == "nominal"
        else "unit = response"
    )
    settings = f"{unit_desc}; tie_policy={um.tie_policy}; clusters = items"
    rows: list[dict] = []
    if m < 2:
        rows.append(finding("pairwise_kappa", None, reason="fewer than 2 judges", method=settings))
        return findings_frame(rows)

    ref, ref_src = (None, None)
    err = None
    if dataset is not None:
        ref, ref_src = reference_labels(
            um, dataset, reference, min_raters=min_raters, score_tolerance=score_tolerance
        )
        err = error_matrix(um, ref, score_tolerance)
    st = _sufficient(um, err)
    n_items = um.n_items
    P = len(pairs)
    K = st.K
    w = _weights_matrix(um, st.cats)
    within = np.array([_relation(um.families[i], um.families[j]) == "within" for i, j in pairs])
    fam_names = sorted({f for f in um.families if f is not None})
    boot = {"n_boot": n_boot, "seed": seed, "ci_level": ci_level}

    # per-item columns: joint (or interval) stats, then error stats, one block per pair
    if um.kind == "interval":
        A = st.interval  # (n_items, P, 4)

        def alpha_of(T):  # T: (B, P*4)
            return _alpha_interval(T.reshape(len(T), P, 4))
    else:
        A = st.joint

        def alpha_of(T):
            return _alpha_nominal(T.reshape(len(T), P, K * K), K)

    a_flat = A.reshape(n_items, -1)
    alpha_point = alpha_of(a_flat.sum(0)[None, :])[0]
    kappa_kind = (
        "Cohen's kappa (tie a class)"
        if um.kind == "nominal"
        else "Cohen's kappa, quadratic weights on scores"
    )
    alpha_kind = (
        "Krippendorff alpha (nominal)" if um.kind == "nominal" else "Krippendorff alpha (interval)"
    )

    phi_point = None
    if st.err is not None:
        e_flat = st.err.reshape(n_items, -1)
        phi_point = _phi(st.err.sum(0))

    # ---- pairwise kappa per pair
    for p, (i, j) in enumerate([] if primary_only else pairs):
        Jp = st.joint[:, p, :]
        n_units = int(Jp.sum())
        res = cluster_bootstrap(
            Jp[Jp.sum(1) > 0] if n_units else Jp, lambda T: _kappa(T, K, w), method="bca", **boot
        )
        fi, fj = um.families[i], um.families[j]
        rel = _relation(fi, fj)
        extra = {
            "family_i": fi,
            "family_j": fj,
            "relation": rel,
            "alpha_ij": None if np.isnan(alpha_point[p]) else float(alpha_point[p]),
        }
        if phi_point is not None:
            extra["error_phi"] = None if np.isnan(phi_point[p]) else float(phi_point[p])
            extra["error_phi_reason"] = _phi_reason(
                st.err[:, p, :].sum(0), um.judges[i], um.judges[j]
            )
        est = res.estimate
        concl = (
            f"{um.judges[i]} and {um.judges[j]} ({rel} family) agree at kappa {est:.2f}."
            if est is not None
            else "kappa undefined on these units."
        )
        rows.append(
            finding(
                "pairwise_kappa",
                slice={"judge_pair": [um.judges[i], um.judges[j]]},
                n=n_units,
                n_excluded=None,
                conclusion=concl,
                **{**res.finding_kwargs(), "method": f"{kappa_kind}; {settings}; {res.method}"},
                **extra,
            )
        )

    # ---- alpha within / across / gap
    def mean_stat(vals_fn, mask):
        def f(T):
            return _mean_over(vals_fn(T), mask)

        return f

    def alpha_block(mask, fam=None, id_="alpha_within_family", method="bca"):
        res = cluster_bootstrap(a_flat, mean_stat(alpha_of, mask), method=method, **boot)
        return res

    n_units_all = int(np.sum(np.sum(~np.isnan(um.values), axis=1) >= 2))
    for f in [] if primary_only else fam_names:
        fmask = np.array([um.families[i] == f and um.families[j] == f for i, j in pairs])
        if not fmask.any():
            rows.append(
                finding(
                    "alpha_within_family",
                    None,
                    slice={"family": f},
                    reason=f"family {f} has a single judge: no within-family pair",
                    method=alpha_kind,
                )
            )
            continue
        res = alpha_block(fmask)
        rows.append(
            finding(
                "alpha_within_family",
                slice={"family": f},
                n=n_units_all,
                n_excluded=None,
                conclusion=_fmt_conclusion(
                    res, f"Judges of family {f} agree with each other at alpha"
                ),
                n_judge_pairs=int(fmask.sum()),
                **{
                    **res.finding_kwargs(),
                    "method": f"mean {alpha_kind} over within-family pairs; {settings}; {res.method}",
                },
            )
        )
    if within.any() and not primary_only:
        res = alpha_block(within)
        rows.append(
            finding(
                "alpha_within_family",
                n=n_units_all,
                n_excluded=None,
                n_judge_pairs=int(within.sum()),
                conclusion=_fmt_conclusion(
                    res, "Over all within-family pairs, judges agree at alpha"
                ),
                **{
                    **res.finding_kwargs(),
                    "method": f"mean {alpha_kind} over all within-family pairs; {settings}; {res.method}",
                },
            )
        )
    if primary_only:
        pass
    elif (~within).any():
        res = alpha_block(~within)
        rows.append(
            finding(
                "alpha_across_families",
                n=n_units_all,
                n_excluded=None,
                n_judge_pairs=int((~within).sum()),
                conclusion=_fmt_conclusion(res, "Judges of different families agree at alpha"),
                **{
                    **res.finding_kwargs(),
                    "method": f"mean {alpha_kind} over across-family pairs; {settings}; {res.method}",
                },
            )
        )
    else:
        rows.append(
            finding("alpha_across_families", None, reason="every judge pair is within one family")
        )

    def gap_fn(vals_fn):
        def f(T):
            v = vals_fn(T)
            return _mean_over(v, within) - _mean_over(v, ~within)

        return f

    assignments = None
    if within.any() and (~within).any() and not primary_only:
        assignments, n_distinct, enumerated = family_label_assignments(
            um.families, n_sample=n_perm, seed=seed
        )
    rows += _gap_rows(
        "alpha_gap",
        a_flat,
        gap_fn(alpha_of),
        alpha_point,
        within,
        assignments,
        pairs,
        boot,
        alpha,
        n_units_all,
        what="agreement (alpha)",
        settings=settings,
        enumerated=None if assignments is None else (n_distinct, enumerated),
    )

    # ---- error correlations
    if st.err is None:
        rows.append(
            finding(
                "error_correlation_gap",
                None,
                reason="no dataset given: no reference labels for errors",
                primary=True,
            )
        )
        return findings_frame(rows)
    n_err_units = int(np.sum(np.sum(~np.isnan(err), axis=1) >= 2))
    n_no_ref = int(np.isnan(ref).sum())
    ref_note = f"errors against {ref_src}; {settings}"

    def phi_of(T):
        return _phi(T.reshape(len(T), P, 4))

    defined = ~np.isnan(phi_point)
    zero_err = [
        um.judges[k] for k in range(m) if np.nansum(err[:, k]) == 0 and np.any(~np.isnan(err[:, k]))
    ]
    undefined_note = (
        f"phi undefined (excluded) for {int((~defined).sum())} judge pairs"
        + (f"; judges without errors: {zero_err}" if zero_err else "")
        if (~defined).any()
        else None
    )
    for f in [] if primary_only else fam_names:
        fmask = np.array([um.families[i] == f and um.families[j] == f for i, j in pairs]) & defined
        if not fmask.any():
            rows.append(
                finding(
                    "error_correlation_within",
                    None,
                    slice={"family": f},
                    reason=f"no within-family pair of family {f} with a defined phi"
                    + (f" ({undefined_note})" if undefined_note else ""),
                )
            )
            continue
        res = cluster_bootstrap(e_flat, mean_stat(phi_of, fmask), method="percentile", **boot)
        rows.append(
            finding(
                "error_correlation_within",
                slice={"family": f},
                n=n_err_units,
                n_excluded=n_no_ref,
                n_judge_pairs=int(fmask.sum()),
                conclusion=_fmt_conclusion(res, f"Errors of family {f}'s judges correlate at phi"),
                **{
                    **res.finding_kwargs(),
                    "method": f"mean phi over within-family pairs; {ref_note}; {res.method}",
                },
            )
        )
    w_def, a_def = within & defined, (~within) & defined
    for id_, mask, text in (
        ()
        if primary_only
        else (
            ("error_correlation_within", w_def, "Errors of same-family judges correlate at phi"),
            (
                "error_correlation_across",
                a_def,
                "Errors of judges from different families correlate at phi",
            ),
        )
    ):
        if not mask.any():
            rows.append(finding(id_, None, reason="no judge pair of this kind with a defined phi"))
            continue
        res = cluster_bootstrap(e_flat, mean_stat(phi_of, mask), method="percentile", **boot)
        reason = (
            res.reason
            if not undefined_note
            else "; ".join(x for x in (res.reason, undefined_note) if x)
        )
        kw = res.finding_kwargs()
        kw["reason"] = reason
        kw["method"] = (
            f"mean phi over {'within' if id_.endswith('within') else 'across'}-family pairs; {ref_note}; {res.method}"
        )
        rows.append(
            finding(
                id_,
                n=n_err_units,
                n_excluded=n_no_ref,
                n_judge_pairs=int(mask.sum()),
                conclusion=_fmt_conclusion(res, text),
                **kw,
            )
        )

    def gap_phi(T):
        v = phi_of(T)
        return _mean_over(v, w_def) - _mean_over(v, a_def)

    rows += _gap_rows(
        "error_correlation_gap",
        e_flat,
        gap_phi,
        np.where(defined, phi_point, np.nan),
        within,
        assignments,
        pairs,
        boot,
        alpha,
        n_err_units,
        what="error correlation (phi)",
        settings=ref_note,
        enumerated=None if assignments is None else (n_distinct, enumerated),
        n_excluded=n_no_ref,
        extra_reason=undefined_note,
    )

    # ---- effective number of independent judges
    def eff(T):
        rho = _mean_over(phi_of(T), defined)
        return m / (1.0 + (m - 1) * rho)

    if primary_only:
        pass
    elif defined.any():
        res = cluster_bootstrap(e_flat, eff, method="percentile", **boot)
        rho_bar = float(np.nanmean(phi_point[defined]))
        rows.append(
            finding(
                "effective_independent_judges",
                n=n_err_units,
                n_excluded=n_no_ref,
                n_judges=m,
                rho_bar=rho_bar,
                conclusion=(
                    f"The {m} judges carry the information of about {res.estimate:.1f} independent judges "
                    f"(mean error correlation {rho_bar:.2f})."
                ),
                **{
                    **res.finding_kwargs(),
                    "method": f"m / (1 + (m - 1) mean phi); {ref_note}; {res.method}",
                },
            )
        )
    else:
        rows.append(
            finding(
                "effective_independent_judges",
                None,
                reason="no judge pair with a defined error correlation",
            )
        )
    return findings_frame(rows)


def _fmt_conclusion(res, text: str) -> str:
    if res.estimate is None:
        return f"Undefined: {res.reason}."
    ci = (
        f" (95% CI {res.ci_low:.2f} to {res.ci_high:.2f})"
        if res.ci_low is not None
        else " (no CI: " + str(res.reason) + ")"
    )
    return f"{text} {res.estimate:.2f}{ci}."


def _gap_rows(
    id_,
    per_item,
    stat,
    point_values,
    within,
    assignments,
    pairs,
    boot,
    alpha,
    n,
    *,
    what,
    settings,
    enumerated,
    n_excluded=None,
    extra_reason=None,
) -> list[dict]:
    rows = []
    res = cluster_bootstrap(per_item, stat, method="percentile", **boot)
    if res.estimate is None:
        rows.append(
            finding(
                id_,
                None,
                primary=True,
                reason=res.reason or "no within- or no across-family pairs",
                method=settings,
            )
        )
        return rows
    p = _one_sided_p(res.distribution)
    sig = p is not None and p < alpha and res.ci_low is not None
    kw = res.finding_kwargs()
    kw["method"] = (
        f"within - across mean {what}; {settings}; {res.method}; one-sided p (H1: gap > 0) "
        "from the bootstrap distribution"
    )
    if extra_reason:
        kw["reason"] = "; ".join(x for x in (kw["reason"], extra_reason) if x)
    extra = {}
    if sig and res.ci_low > 0:
        head = (
            "Same-family judges make the same mistakes more often than judges of different families "
            "(shared blind spots)"
            if id_ == "error_correlation_gap"
            else "Same-family judges agree with each other more than judges of different families do"
        )
        concl = (
            f"{head}: {what} gap {res.estimate:.3f} (95% CI {res.ci_low:.3f} to {res.ci_high:.3f}). "
            "Their agreement partly reflects shared priors, so a same-family panel overstates how sure it is."
        )
    else:
        mde = _mde(res, alpha, alternative="larger")  # the gap test is one-sided
        extra["mde"] = mde
        concl = (
            f"No evidence that same-family judges share more {what}: gap {res.estimate:.3f}"
            + (
                f" (95% CI {res.ci_low:.3f} to {res.ci_high:.3f})"
                if res.ci_low is not None
                else f" ({res.reason})"
            )
            + (
                f"; the data could detect a gap of about {mde:.3f} with 80% power."
                if mde is not None
                else "."
            )
        )
        if res.ci_high is not None and res.ci_high < 0:
            concl += (
                " The gap is negative, which is not entanglement: when every family mixes strong and weak "
                "judges, within-family pairs join unequal judges and agree less on average than "
                "across-family pairs."
            )
    rows.append(
        finding(
            id_,
            statistic=res.estimate,
            p_value=p,
            primary=True,
            n=n,
            n_excluded=n_excluded,
            conclusion=concl,
            **kw,
            **extra,
        )
    )
    if assignments is not None:
        gaps = _gap_for_assignments(pairs, np.asarray(point_values, dtype=float), assignments)
        obs = _gap_for_assignments(
            pairs, np.asarray(point_values, dtype=float), _observed_assignment(within, pairs)
        )[0]
        n_distinct, full = enumerated
        g = gaps[np.isfinite(gaps)]
        k = int(np.sum(g >= obs - 1e-12))
        # enumeration includes the observed assignment itself; sampling adds it (Phipson & Smyth 2010)
        pval = k / len(g) if full else (k + 1) / (len(g) + 1)
        rows.append(
            finding(
                id_,
                res.estimate,
                ci_level=None,
                statistic=obs,
                p_value=pval,
                primary=False,
                n=n,
                n_excluded=n_excluded,
                n_assignments=int(n_distinct),
                method=(
                    f"exploratory: permutation of family labels over judges (family sizes kept), one-sided "
                    f"(within > across); {n_distinct} distinct assignments"
                    + (" enumerated" if full else f", {len(g)} sampled")
                    + f"; smallest possible p = {1 / n_distinct if full else 1 / (len(g) + 1):.4g}"
                ),
                conclusion=(
                    f"Relabelling families at random gives a gap at least this large in {k} of {len(g)} assignments "
                    f"(p = {pval:.3g}, exploratory)."
                ),
            )
        )
    return rows


def _one_sided_p(distribution) -> float | None:
    """One-sided bootstrap p of H1: gap > 0: (1 + #{t* <= 0}) / (B + 1) over the B defined
    resamples (the +1 as for permutation tests; Phipson & Smyth 2010). Entanglement is a
    directional hypothesis (same-family judges agree / err together *more*)."""
    d = np.asarray(distribution, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return None
    return float((1 + np.count_nonzero(d <= 0)) / (d.size + 1))


def _observed_assignment(within: np.ndarray, pairs) -> np.ndarray:
    """Block labels reproducing the observed within/across pattern (union-find over within pairs)."""
    m = max(max(p) for p in pairs) + 1
    parent = list(range(m))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (i, j), wv in zip(pairs, within, strict=True):
        if wv:
            parent[find(i)] = find(j)
    return np.array([[find(k) for k in range(m)]])
