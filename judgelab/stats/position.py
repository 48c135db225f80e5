"""Position bias: does a pairwise verdict depend on which answer is shown first?

Definitions follow STATISTICS.md "Position bias" (after Shi et al. 2024, *Judging the
Judges: A Systematic Investigation of Position Bias in Pairwise Comparative
Assessments by LLMs*; code: Slimshilin/Position-Bias-Analyzer).

Each pair judged in both orders is classified by its displayed choices (A = first slot,
B = second slot, C = tie) in order ``ab`` then ``ba``:

* consistent = {AB, BA, CC} (the same response wins, or a tie both times);
* primacy    = {AA, AC, CA} (the first slot wins at least once, never the second);
* recency    = {BB, BC, CB}.

With repeats (``sample`` > 0) the repeats are averaged within (pair, order) first:
with p_o(c) the share of parsed repeats of order o that chose c, a pair contributes the
fractional counts ``w_consistent = p_ab(A) p_ba(B) + p_ab(B) p_ba(A) + p_ab(C) p_ba(C)``
and likewise for primacy and recency (the three sum to 1; with one repeat they are the
0/1 classification above).

Statistics per judge identity (model | backend | judge_version):

* ``position_consistency`` PC = n_cons / (n_cons + n_pri + n_rec);
* ``first_slot_share`` = n_pri / (n_pri + n_rec) (**primary**: H0 = 0.5, item-level
  sign-flip permutation of the per-item (primacy - recency) counts);
* ``preference_fairness`` = (n_rec - n_pri) / (n_cons + n_pri + n_rec)
  = (1 - PC)(1 - 2 first_slot_share) (pooled; Shi et al.'s code averages per model
  and task, which differs);
* ``repetition_stability`` = mean over (pair, order) with r >= 2 parsed repeats of
  sum_c n_c (n_c - 1) / (r (r - 1)): the chance that two repeats agree;
* ``flip_vs_gap_slope``: logistic GEE (independence working correlation, clustered by item) of
  "inconsistent" on the pair's absolute quality gap.

CIs come from an item-cluster bootstrap (judgelab.stats.resampling.cluster_bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from judgelab.data import DataError, identity_string
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.multitest import adjust_findings

__all__ = [
    "classify_pairs",
    "position_counts",
    "position_consistency",
    "pair_quality_gap",
    "flip_vs_gap",
    "flip_vs_gap_curves",
    "position_findings",
    "POSITION_IDS",
]

POSITION_IDS = (
    "position_consistency",
    "first_slot_share",
    "preference_fairness",
    "repetition_stability",
    "flip_vs_gap_slope",
)

_CHOICE_MAP = {"a": "A", "b": "B", "tie": "C", "c": "C"}
_PAIR = ["judge", "item_id", "response_a", "response_b"]
_IDENTITY = ["model", "backend", "judge_version", "judge_family"]
_MIN_ITEMS_FOR_CI = 30


# ----------------------------------------------------------------------------- input
def _pairwise_calls(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Validated pairwise rows with a ``judge`` identity and a normalised ``c`` (A|B|C|None)."""
    if verdicts is None or len(verdicts) == 0:
        raise DataError("verdicts", None, "no verdicts to analyse")
    v = verdicts
    need = ["model", "item_id", "response_a", "response_b", "order", "choice"]
    for col in need:
        if col not in v.columns:
            raise DataError(
                "verdicts", col, f"missing required column (columns present: {list(v.columns)})"
            )
    if "protocol" in v.columns:
        v = v[(v["protocol"].astype(object) == "pairwise").to_numpy()]
    else:
        v = v[(v["response_a"].notna() & v["response_b"].notna()).to_numpy()]
    v = v.reset_index(drop=True).copy()
    if v.empty:
        return v.assign(judge=pd.Series(dtype=object), c=pd.Series(dtype=object))
    for col in ("backend", "judge_version"):
        if col not in v.columns:
            v[col] = None
    if "judge_family" not in v.columns:
        v["judge_family"] = None
    miss = v["judge_family"].isna().to_numpy()
    if miss.any():
        from judgelab.families import family_of

        # resolve once per distinct model, not per row
        models = v.loc[miss, "model"].astype(object)
        fam = {m: family_of(m) for m in pd.unique(models)}
        v.loc[miss, "judge_family"] = models.map(fam).to_numpy(dtype=object)
    if "sample" not in v.columns:
        v["sample"] = 0
    bad = v["response_a"].isna() | v["response_b"].isna() | v["item_id"].isna()
    if bad.any():
        raise DataError(
            "verdicts",
            "response_b",
            "pairwise verdict without item_id, response_a or response_b",
            np.flatnonzero(bad.to_numpy()).tolist(),
        )
    order = v["order"].astype(object)
    bad = ~order.isin(["ab", "ba"])
    if bad.any():
        raise DataError(
            "verdicts",
            "order",
            "order must be 'ab' or 'ba' for pairwise verdicts",
            np.flatnonzero(bad.to_numpy()).tolist(),
        )
    raw = v["choice"].astype(object)
    # map each distinct value once (verdict frames are large, their vocabularies tiny)
    vocab = {u: _CHOICE_MAP.get(u.strip().lower()) for u in pd.unique(raw) if isinstance(u, str)}
    ch = raw.map(lambda x: vocab.get(x) if isinstance(x, str) else None)
    parsed = ch.notna()
    if "parse_ok" in v.columns:
        ok = pd.Series(_as_bool_array(v["parse_ok"]), index=v.index)
        bad = ok & ~parsed & v["choice"].notna()
        if bad.any():
            raise DataError(
                "verdicts",
                "choice",
                "parsed verdict with a choice other than A, B or tie",
                np.flatnonzero(bad.to_numpy()).tolist(),
            )
        parsed = parsed & ok
    else:
        bad = v["choice"].notna() & ~parsed
        if bad.any():
            raise DataError(
                "verdicts",
                "choice",
                "choice other than A, B or tie",
                np.flatnonzero(bad.to_numpy()).tolist(),
            )
    v["c"] = ch.where(parsed, None)
    ident = v[["model", "backend", "judge_version"]].astype(object)
    keys = list(zip(*(ident[c].to_numpy(dtype=object) for c in ident.columns)))
    cache = {k: identity_string(*k) for k in set(keys)}
    v["judge"] = np.array([cache[k] for k in keys], dtype=object)
    return v


def _as_bool_array(s: pd.Series) -> np.ndarray:
    """parse_ok as bool (missing -> False; accepts bool, 0/1 and 'true'/'false' text)."""
    vals = s.astype(object).to_numpy()
    out = np.zeros(len(vals), dtype=bool)
    for k, x in enumerate(vals):
        if isinstance(x, str):
            out[k] = x.strip().lower() in ("true", "1", "yes")
        elif x is not None and x == x:
            out[k] = bool(x)
    return out


# ------------------------------------------------------------------- classification
def classify_pairs(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per (judge identity, pair): its position class.

    Columns: ``judge, model, backend, judge_version, judge_family, item_id, response_a,
    response_b, n_ab, n_ba`` (parsed repeats per order), ``choices`` (e.g. ``"AB"``;
    with repeats the modal choice per order), ``w_consistent, w_primacy, w_recency``
    (fractional counts, see the module docstring; NaN when excluded), ``cls``
    (``consistent|primacy|recency``, the class with the largest weight; ``None`` when
    excluded) and ``reason`` (why a pair is excluded: an order missing or unparsed).
    Position statistics treat a tie as a class (STATISTICS.md "Ties")."""
    return _classify_calls(_pairwise_calls(verdicts))


def _classify_calls(v: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "judge",
        *_IDENTITY,
        "item_id",
        "response_a",
        "response_b",
        "n_ab",
        "n_ba",
        "choices",
        "w_consistent",
        "w_primacy",
        "w_recency",
        "cls",
        "reason",
    ]
    if v.empty:
        return pd.DataFrame(columns=cols)
    v["one"] = 1
    counts = (
        v[v["c"].notna()]
        .pivot_table(
            index=[*_PAIR, "order"], columns="c", values="one", aggfunc="sum", fill_value=0
        )
        .reindex(columns=["A", "B", "C"], fill_value=0)
    )
    pairs = v.groupby(_PAIR, sort=False, dropna=False)[_IDENTITY].first().reset_index()
    out = pairs
    for o in ("ab", "ba"):
        if len(counts):
            co = (
                counts.xs(o, level="order")
                if o in counts.index.get_level_values("order")
                else counts.iloc[:0].droplevel("order")
            )
        else:
            co = pd.DataFrame(columns=["A", "B", "C"])
        co = co.rename(columns=lambda c, o=o: f"{c}_{o}").reset_index()
        out = (
            out.merge(co, on=_PAIR, how="left")
            if len(co)
            else out.assign(**{f"{c}_{o}": np.nan for c in "ABC"})
        )
    for o in ("ab", "ba"):
        cnt = out[[f"{c}_{o}" for c in "ABC"]].to_numpy(dtype=float)
        cnt = np.nan_to_num(cnt)
        n = cnt.sum(axis=1)
        out[f"n_{o}"] = n.astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = cnt / n[:, None]
        for k, c in enumerate("ABC"):
            out[f"p{c}_{o}"] = p[:, k]
    a_, b_, c_ = (out[f"p{x}_ab"].to_numpy() for x in "ABC")
    A_, B_, C_ = (out[f"p{x}_ba"].to_numpy() for x in "ABC")
    out["w_consistent"] = a_ * B_ + b_ * A_ + c_ * C_
    out["w_primacy"] = a_ * A_ + a_ * C_ + c_ * A_
    out["w_recency"] = b_ * B_ + b_ * C_ + c_ * B_
    ok = (out["n_ab"] > 0) & (out["n_ba"] > 0)
    w = out[["w_consistent", "w_primacy", "w_recency"]].to_numpy()
    cls = np.array(["consistent", "primacy", "recency"], dtype=object)[
        np.nan_to_num(w, nan=-1).argmax(axis=1)
    ]
    out["cls"] = np.where(ok, cls, None)

    def modal(o):
        cnt = np.nan_to_num(out[[f"{c}_{o}" for c in "ABC"]].to_numpy(dtype=float))
        m = np.array(list("ABC"), dtype=object)[cnt.argmax(axis=1)]
        return np.where(cnt.sum(axis=1) > 0, m, "-")

    out["choices"] = np.char.add(modal("ab").astype(str), modal("ba").astype(str))
    out["choices"] = out["choices"].where(ok, None)
    reason = np.where(out["n_ab"] == 0, "order ab missing or unparsed", "")
    reason = np.where(
        out["n_ba"] == 0,
        np.where(reason == "", "order ba missing or unparsed", "both orders missing or unparsed"),
        reason,
    )
    out["reason"] = np.where(ok, None, reason)
    return out[cols].reset_index(drop=True)


@dataclass
class _JudgeCounts:
    judge: str
    items: np.ndarray  # item ids, one per cluster
    per_item: np.ndarray  # (n_items, 3): consistent, primacy, recency sums
    n_pairs: int
    n_excluded: int
    info: dict


def _judge_counts(classified: pd.DataFrame) -> dict[str, _JudgeCounts]:
    res = {}
    for judge, g in classified.groupby("judge", sort=True):
        ok = g["cls"].notna().to_numpy()
        gg = g[ok]
        per = gg.groupby("item_id", sort=True)[["w_consistent", "w_primacy", "w_recency"]].sum()
        res[judge] = _JudgeCounts(
            judge=judge,
            items=per.index.to_numpy(),
            per_item=per.to_numpy(dtype=float),
            n_pairs=int(ok.sum()),
            n_excluded=int((~ok).sum()),
            info={k: g[k].iloc[0] for k in _IDENTITY},
        )
    return res


def position_counts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per judge identity: n_pairs (both orders parsed), n_consistent, n_primacy, n_recency
    (fractional with repeats), n_excluded, and the point estimates of position_consistency,
    first_slot_share and preference_fairness (NaN where undefined)."""
    classified = classify_pairs(verdicts)
    rows = []
    for judge, jc in _judge_counts(classified).items():
        c, p, r = jc.per_item.sum(axis=0) if len(jc.per_item) else (0.0, 0.0, 0.0)
        tot = c + p + r
        rows.append(
            {
                "judge": judge,
                **jc.info,
                "n_pairs": jc.n_pairs,
                "n_items": len(jc.items),
                "n_consistent": c,
                "n_primacy": p,
                "n_recency": r,
                "n_excluded": jc.n_excluded,
                "position_consistency": c / tot if tot > 0 else np.nan,
                "first_slot_share": p / (p + r) if p + r > 0 else np.nan,
                "preference_fairness": (r - p) / tot if tot > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def position_consistency(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Simple per-judge table (for reproducing published figures on real data).

    Columns: judge, model, backend, judge_version, judge_family, n_pairs (pairs with both
    orders parsed: the denominator), n_consistent, n_primacy, n_recency, n_excluded,
    position_consistency, first_slot_share, preference_fairness. Point estimates only;
    :func:`position_findings` adds CIs and tests."""
    return position_counts(verdicts)


# ------------------------------------------------------------------- quality gap
def pair_quality_gap(pairs: pd.DataFrame, dataset) -> tuple[pd.Series, str | None, str | None]:
    """Absolute quality gap per pair from human data, aligned with ``pairs``' rows.

    Scores (preferred): |mean human score(a) - mean human score(b)| in scale points.
    Preferences only: |2 share - 1|, share = (votes for a + tie/2) / votes on that pair.
    Returns (gap, method, reason); gap is NaN for pairs without human data."""
    nan = pd.Series(np.nan, index=pairs.index)
    if dataset is None:
        return nan, None, "no dataset given: the quality gap needs human scores or preferences"
    labels = getattr(dataset, "labels", None)
    if labels is not None and len(labels):
        mean = (
            pd.to_numeric(labels["score"], errors="coerce")
            .groupby(labels["response_id"].astype(str))
            .mean()
        )
        gap = (
            pairs["response_a"].astype(str).map(mean) - pairs["response_b"].astype(str).map(mean)
        ).abs()
        if gap.notna().any():
            return gap.astype(float), "|difference of mean human scores| (scale points)", None
    prefs = getattr(dataset, "preferences", None)
    if prefs is not None and len(prefs):
        p = prefs.copy()
        a, b = p["response_a"].astype(str), p["response_b"].astype(str)
        first = np.where(a < b, a, b)
        # vote for the lexicographically first response of the unordered pair
        pref = p["preference"].astype(str).to_numpy()
        win_first = np.where(
            pref == "tie", 0.5, np.where((pref == "a") == (a.to_numpy() == first), 1.0, 0.0)
        )
        key = pd.Series(list(zip(first, np.where(a < b, b, a))))
        share = pd.Series(win_first).groupby(key).mean()
        pa, pb = pairs["response_a"].astype(str), pairs["response_b"].astype(str)
        keys = list(zip(np.where(pa < pb, pa, pb), np.where(pa < pb, pb, pa)))
        s = pd.Series([share.get(k, np.nan) for k in keys], index=pairs.index, dtype=float)
        if s.notna().any():
            return (2 * s - 1).abs(), "|2 x human preference share - 1|", None
    return nan, None, "the dataset has no human scores or preferences for these pairs"


def _gee_fit(y, x, groups):
    """Logistic GEE of y on [1, x] clustered by item (independence working correlation,
    bias-reduced sandwich of Mancl & DeRouen 2001). Returns (params, cov) or raises.

    0/1 outcomes go through judgelab.stats.models.logistic_gee. With repeats, y is the
    fractional inconsistency of a pair (repeats averaged within pair and order); that
    quasi-likelihood fit is done by statsmodels' GEE directly, which accepts y in [0, 1]."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    groups = np.asarray(groups)
    if np.all((y == 0) | (y == 1)):
        from judgelab.stats.models import logistic_gee

        res = logistic_gee(y, pd.DataFrame({"gap": x}), groups, cov_struct="independence")
        params = res.params[["const", "gap"]].to_numpy(dtype=float)
        cov = res.cov.loc[["const", "gap"], ["const", "gap"]].to_numpy(dtype=float)
        if res.reason or not np.all(np.isfinite(params)) or not np.all(np.isfinite(cov)):
            raise FloatingPointError(res.reason or "GEE did not converge")
        return params, cov
    import warnings

    import statsmodels.api as sm

    g = pd.factorize(pd.Series(groups, dtype=object))[0]
    order = np.argsort(g, kind="stable")  # GEE wants the rows of a cluster together
    model = sm.GEE(
        y[order],
        sm.add_constant(x[order], has_constant="add"),
        groups=g[order],
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(cov_type="bias_reduced")
    params, cov = np.asarray(fit.params, dtype=float), np.asarray(fit.cov_params(), dtype=float)
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(cov)):
        raise FloatingPointError("GEE did not converge")
    return params, cov


def flip_vs_gap(
    verdicts: pd.DataFrame, dataset=None, classified: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per pair: judge, item_id, inconsistent (1 - w_consistent) and the human quality gap."""
    c = classify_pairs(verdicts) if classified is None else classified
    c = c[c["cls"].notna()].reset_index(drop=True)
    gap, method, reason = pair_quality_gap(c, dataset)
    out = c[["judge", "item_id", "response_a", "response_b"]].copy()
    out["inconsistent"] = 1.0 - c["w_consistent"].astype(float)
    out["gap"] = gap.to_numpy()
    out.attrs["method"], out.attrs["reason"] = method, reason
    return out


def flip_vs_gap_curves(
    verdicts: pd.DataFrame, dataset=None, grid: int = 50, ci_level: float = 0.95, classified=None
) -> pd.DataFrame:
    """Fitted P(inconsistent | gap) per judge with a pointwise CI band (delta method on the
    GEE robust covariance, computed on the logit scale): judge, gap, p, ci_low, ci_high."""
    from scipy.stats import norm

    fg = flip_vs_gap(verdicts, dataset, classified)
    z = norm.ppf(0.5 + ci_level / 2)
    rows = []
    fg = fg[fg["gap"].notna()]
    if fg.empty:
        return pd.DataFrame(columns=["judge", "gap", "p", "ci_low", "ci_high"])
    xs = np.linspace(0, float(fg["gap"].max()), grid)
    for judge, g in fg.groupby("judge", sort=True):
        try:
            params, cov = _gee_fit(g["inconsistent"], g["gap"], g["item_id"])
        except Exception:
            continue
        X = np.column_stack([np.ones_like(xs), xs])
        eta = X @ params
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, cov, X))
        expit = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
        rows.append(
            pd.DataFrame(
                {
                    "judge": judge,
                    "gap": xs,
                    "p": expit(eta),
                    "ci_low": expit(eta - z * se),
                    "ci_high": expit(eta + z * se),
                }
            )
        )
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["judge", "gap", "p", "ci_low", "ci_high"])
    )


# ------------------------------------------------------------------- findings
def _ratio(num_idx, den_idx, sign=None):
    """statistic over (m, 3) totals [cons, pri, rec] -> (m,) ratio; nan where den = 0."""

    def f(t):
        t = np.atleast_2d(t)
        num = (
            t[:, num_idx].sum(axis=1)
            if sign is None
            else (t[:, num_idx] * np.asarray(sign)).sum(axis=1)
        )
        den = t[:, den_idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    return f


_PC = _ratio([0], [0, 1, 2])
_FSS = _ratio([1], [1, 2])
_FAIR = _ratio([2, 1], [0, 1, 2], sign=[1, -1])


def _boot(per_item, stat, n_boot, seed, ci_level):
    from judgelab.stats.resampling import cluster_bootstrap

    return cluster_bootstrap(
        per_item, stat, n_boot=n_boot, seed=seed, ci_level=ci_level, method="percentile"
    )


def _ci(res, n_items):
    """(ci_low, ci_high, reason) honouring STATISTICS.md's degenerate-case rule."""
    if n_items < _MIN_ITEMS_FOR_CI:
        return None, None, f"CI withheld: only {n_items} items (< {_MIN_ITEMS_FOR_CI})"
    if getattr(res, "reason", None):
        return None, None, res.reason
    if res.n_degenerate and res.n_degenerate > 0.01 * res.n_boot:
        return (
            None,
            None,
            f"CI withheld: statistic undefined in {res.n_degenerate} of {res.n_boot} resamples (> 1%)",
        )
    return res.ci_low, res.ci_high, None


def _fmt(x, nd=2):
    return "NA" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def _mde_first_slot(
    n_incons: float, boot=None, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Minimum detectable |first_slot_share - 0.5| for the data at hand (80% power, two-sided
    alpha): judgelab.stats.power.minimum_detectable_effect for a one-sample proportion
    against 0.5 (arcsine power), with the inconsistent pairs divided by a design effect
    = item-cluster bootstrap variance / binomial variance (at least 1), since pairs of one
    item are correlated."""
    if n_incons <= 0:
        return None
    from judgelab.stats.power import minimum_detectable_effect

    deff = 1.0
    if boot is not None and boot.estimate is not None:
        d = np.asarray(boot.distribution, dtype=float)
        d = d[np.isfinite(d)]
        p = float(boot.estimate)
        binom = p * (1 - p) / n_incons
        if d.size > 1 and binom > 0:
            deff = max(1.0, float(np.var(d, ddof=1)) / binom)
    m = minimum_detectable_effect(n=n_incons, p0=0.5, alpha=alpha, power=power, design_effect=deff)
    return None if m is None or not np.isfinite(m) else float(m)


def position_findings(
    verdicts: pd.DataFrame,
    dataset=None,
    *,
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    ci_level: float = 0.95,
    alpha: float = 0.05,
    adjust: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """The position-bias findings frame (one row per judge identity and finding id).

    ``dataset`` supplies human scores / preferences for ``flip_vs_gap_slope``. The primary
    test per judge is ``first_slot_share`` (H0 = 0.5, item-level sign-flip permutation with
    ``n_perm`` permutations); when ``adjust`` the primary p-values are Holm-adjusted across
    judges here (judgelab.stats.multitest) so that conclusions and the minimum detectable
    effect (column ``mde``) refer to the adjusted p-value. Extra columns: ``primacy``,
    ``recency``, ``consistent`` counts on the primary rows for the figures."""
    from judgelab.stats.resampling import sign_flip_test

    calls = _pairwise_calls(verdicts)
    classified = _classify_calls(calls)
    counts = _judge_counts(classified)
    fg = flip_vs_gap(verdicts, dataset, classified)
    gap_method, gap_reason = fg.attrs.get("method"), fg.attrs.get("reason")
    rows: list[dict] = []
    it = counts.items()
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(list(it), desc="position bias")
    for k, (judge, jc) in enumerate(it):
        s = seed + 7919 * k  # a distinct, reproducible stream per judge
        n_items = len(jc.items)
        ex = jc.n_excluded
        info = {"judge_family": jc.info.get("judge_family"), "model": jc.info.get("model")}
        if jc.n_pairs == 0:
            for fid in POSITION_IDS:
                rows.append(
                    finding(
                        fid,
                        None,
                        judge=judge,
                        n=0,
                        n_excluded=ex,
                        reason="no pair with both orders parsed",
                        primary=fid == "first_slot_share",
                        conclusion="Not estimable: no pair was judged and parsed in both orders.",
                        **info,
                    )
                )
            continue
        tot = jc.per_item.sum(axis=0)
        c, p, r = (float(x) for x in tot)
        n_inc = p + r

        # position consistency
        res = _boot(jc.per_item, _PC, n_boot, s, ci_level)
        lo, hi, why = _ci(res, n_items)
        pc = c / (c + p + r)
        rows.append(
            finding(
                "position_consistency",
                pc,
                judge=judge,
                ci_low=lo,
                ci_high=hi,
                ci_level=ci_level,
                method=f"n_consistent / n_pairs over pairs with both orders parsed; item-cluster percentile bootstrap (B={n_boot})",
                n=jc.n_pairs,
                n_excluded=ex,
                reason=why,
                conclusion=f"The verdict stays the same when the answers are swapped in {100 * pc:.0f}% of pairs"
                + (f" (95% CI {100 * lo:.0f}-{100 * hi:.0f}%)." if lo is not None else "."),
                consistent=c,
                primacy=p,
                recency=r,
                **info,
            )
        )

        # first-slot share: primary
        if n_inc <= 0:
            rows.append(
                finding(
                    "first_slot_share",
                    None,
                    judge=judge,
                    primary=True,
                    n=0,
                    n_excluded=ex,
                    method="sign-flip permutation of per-item (primacy - recency)",
                    reason="no pair is order-inconsistent: the first-slot share is undefined",
                    conclusion="No order-inconsistent pair, so there is no position preference to measure.",
                    consistent=c,
                    primacy=p,
                    recency=r,
                    **info,
                )
            )
        else:
            res = _boot(jc.per_item, _FSS, n_boot, s + 1, ci_level)
            lo, hi, why = _ci(res, n_items)
            diff = jc.per_item[:, 1] - jc.per_item[:, 2]
            stat, pval = sign_flip_test(diff, n_perm=n_perm, seed=s + 2)
            fss = p / n_inc
            rows.append(
                finding(
                    "first_slot_share",
                    fss,
                    judge=judge,
                    ci_low=lo,
                    ci_high=hi,
                    ci_level=ci_level,
                    method=f"n_primacy / (n_primacy + n_recency); H0 = 0.5 by item-level sign-flip permutation of (primacy - recency) counts (B={n_perm}); item-cluster percentile bootstrap CI (B={n_boot})",
                    statistic=stat,
                    p_value=pval,
                    primary=True,
                    n=int(round(n_inc)),
                    n_excluded=ex,
                    reason=why,
                    mde=_mde_first_slot(n_inc, res, alpha),
                    consistent=c,
                    primacy=p,
                    recency=r,
                    **info,
                )
            )

        # preference fairness (descriptive)
        res = _boot(jc.per_item, _FAIR, n_boot, s + 3, ci_level)
        lo, hi, why = _ci(res, n_items)
        fair = (r - p) / (c + p + r)
        rows.append(
            finding(
                "preference_fairness",
                fair,
                judge=judge,
                ci_low=lo,
                ci_high=hi,
                ci_level=ci_level,
                method="(n_recency - n_primacy) / n_pairs, pooled over all pairs (Shi et al.'s code averages per model and task, which differs); descriptive, no test; item-cluster percentile bootstrap CI",
                n=jc.n_pairs,
                n_excluded=ex,
                reason=why,
                conclusion=(
                    "Balanced: no net lean to either slot."
                    if abs(fair) < 0.02
                    else f"Net lean to the {'second' if fair > 0 else 'first'} slot of {abs(fair):.2f} (share of pairs, recency minus primacy)."
                ),
                **info,
            )
        )

        rows.append(_repetition_row(calls, judge, n_boot, s + 4, ci_level, info))
        rows.append(
            _slope_row(fg[fg["judge"] == judge], judge, gap_method, gap_reason, ci_level, ex, info)
        )

    df = findings_frame(rows)
    if adjust and len(df):
        df = adjust_findings(df)
    df["conclusion"] = [
        _conclude(r, alpha)
        if r["id"] == "first_slot_share" and r["estimate"] is not None
        else r["conclusion"]
        for _, r in df.iterrows()
    ]
    if "mde" in df.columns:
        # the minimum detectable effect belongs beside a primary finding that is not significant
        sig = df.apply(lambda r: _p_of(r) is not None and _p_of(r) < alpha, axis=1)
        df["mde"] = df["mde"].astype(object).where(~sig & df["mde"].notna(), None)
    return df


def _p_of(r):
    p = r.get("p_adjusted")
    if p is None or p != p:
        p = r.get("p_value")
    return None if p is None or p != p else float(p)


def _conclude(r, alpha) -> str:
    p = _p_of(r)
    est = r["estimate"]
    lo, hi = r["ci_low"], r["ci_high"]
    ci = f" (95% CI {_fmt(lo)}-{_fmt(hi)})" if lo is not None and lo == lo else ""
    n = r["n"]
    if p is not None and p < alpha:
        slot = "first (primacy)" if est > 0.5 else "second (recency)"
        return f"Position bias: when its verdict flips with the order, this judge favours the {slot} slot in {100 * est:.0f}% of the {n} inconsistent pairs{ci}; Holm-adjusted p = {p:.3g}."
    mde = r.get("mde")
    mde_s = (
        f"; with {n} inconsistent pairs only a share beyond 0.5 ± {mde:.2f} would be detected with 80% power"
        if mde is not None and mde == mde
        else ""
    )
    return f"No significant slot preference among the {n} inconsistent pairs (first-slot share {est:.2f}{ci}, Holm-adjusted p = {_fmt(p, 3)}){mde_s}."


def _repetition_row(calls, judge, n_boot, seed, ci_level, info) -> dict:
    v = calls[(calls["judge"] == judge) & calls["c"].notna()]
    fid = "repetition_stability"
    method = "mean over (pair, order) with r >= 2 parsed repeats of sum_c n_c (n_c - 1) / (r (r - 1)); item-cluster percentile bootstrap CI"
    if v.empty:
        return finding(
            fid, None, judge=judge, method=method, n=0, reason="no parsed verdicts", **info
        )
    cnt = v.assign(one=1).pivot_table(
        index=["item_id", "response_a", "response_b", "order"],
        columns="c",
        values="one",
        aggfunc="sum",
        fill_value=0,
    )
    nc = cnt.to_numpy(dtype=float)
    r = nc.sum(axis=1)
    keep = r >= 2
    if not keep.any():
        return finding(
            fid,
            None,
            judge=judge,
            method=method,
            n=0,
            reason="fewer than 2 repeats per (pair, order): run with repeats >= 2",
            conclusion="Not measured: each pair and order was judged once.",
            **info,
        )
    stab = (nc * (nc - 1)).sum(axis=1)[keep] / (r[keep] * (r[keep] - 1))
    items = cnt.index.get_level_values("item_id")[keep]
    per = (
        pd.DataFrame({"item": items, "s": stab, "n": 1.0})
        .groupby("item")[["s", "n"]]
        .sum()
        .to_numpy()
    )
    res = _boot(
        per, lambda t: np.atleast_2d(t)[:, 0] / np.atleast_2d(t)[:, 1], n_boot, seed, ci_level
    )
    lo, hi, why = _ci(res, len(per))
    est = float(stab.mean())
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        n=int(keep.sum()),
        n_excluded=int((~keep).sum()),
        reason=why,
        conclusion=f"Two repeats of the same prompt agree {100 * est:.0f}% of the time.",
        **info,
    )


def _slope_row(fg, judge, gap_method, gap_reason, ci_level, n_excluded, info) -> dict:
    from scipy.stats import norm

    fid = "flip_vs_gap_slope"
    if gap_method is None:
        return finding(
            fid,
            None,
            judge=judge,
            reason=gap_reason,
            n=0,
            n_excluded=n_excluded,
            conclusion="Not estimated: no human quality information.",
            **info,
        )
    g = fg[fg["gap"].notna()]
    ex = n_excluded + int(fg["gap"].isna().sum())
    method = f"logistic GEE (independence working correlation, clustered by item, bias-reduced sandwich SE) of order-inconsistent on the quality gap = {gap_method}; slope in log-odds per unit gap; exploratory"
    if len(g) < 10 or g["gap"].nunique() < 2 or g["inconsistent"].nunique() < 2:
        return finding(
            fid,
            None,
            judge=judge,
            method=method,
            n=len(g),
            n_excluded=ex,
            reason="too few pairs with a quality gap, or no variation in the gap or in consistency",
            conclusion="Not estimated on this data.",
            **info,
        )
    try:
        params, cov = _gee_fit(g["inconsistent"], g["gap"], g["item_id"])
    except Exception as exc:  # separation, non-convergence: undefined, not an error
        return finding(
            fid,
            None,
            judge=judge,
            method=method,
            n=len(g),
            n_excluded=ex,
            reason=f"GEE fit failed: {exc}",
            **info,
        )
    b, se = params[1], float(np.sqrt(cov[1, 1]))
    z = norm.ppf(0.5 + ci_level / 2)
    zstat = b / se if se > 0 else np.nan
    p = float(2 * norm.sf(abs(zstat))) if np.isfinite(zstat) else None
    concl = (
        f"Flips {'become rarer' if b < 0 else 'become more frequent'} as the quality gap grows (odds x{np.exp(b):.2f} per unit gap)."
        if p is not None and p < 0.05
        else "No clear relation between the quality gap and order flips on this data."
    )
    n_items = g["item_id"].nunique()
    lo, hi = (b - z * se, b + z * se) if n_items >= _MIN_ITEMS_FOR_CI else (None, None)
    return finding(
        fid,
        b,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        statistic=zstat,
        p_value=p,
        n=len(g),
        n_excluded=ex,
        reason=None if lo is not None else f"CI withheld: only {n_items} items",
        conclusion=concl,
        intercept=params[0],
        **info,
    )
