"""Self-preference: does a judge favour its own model / family beyond answer quality?

Definitions follow STATISTICS.md "Self-preference". A judge J and a response's generator
G stand in one relation (:func:`judgelab.families.relation`): ``self`` (same model),
``family`` (same provider family, other model), ``lineage`` (declared derivation) or
``other``. The judge's family is the verdict frame's ``judge_family``; the response's
family is the dataset's ``responses.family`` (else resolved by judgelab.families).

A raw own-family win rate is confounded with quality (a better family deserves to win
more often), so the **primary** estimate compares judges *on the same pairs*: a
conditional logit pooled over the panel, stratified by pair, one row per parsed non-tie
judgment, with a = the pair's first response (ids sorted, so that every judge of the
panel shares the stratum)::

    logit P(J picks a) = alpha_pair + b_pos,J (2 first_a - 1) + b_self,J (self_a - self_b)
                         + b_fam,J (fam_a - fam_b) + b_lin,J (lin_a - lin_b)
                         + b_len,J (words_a - words_b) / 100

alpha_pair absorbs the quality of the pair as the panel sees it, so b_self,J is J's
preference for its own answers *relative to the panel* (log-odds). Columns that are
constant (e.g. no self pairs) or collinear with the strata (one judge's length term: the
sum over judges of the length columns is constant within a pair) are dropped, with a
reason. SEs are cluster-robust by item (judgelab.stats.models.conditional_logit:
sandwich with the per-pair scores summed by item). References: Chamberlain (1980),
"Analysis of covariance with qualitative data", REStud 47; Panickssery et al. (2024),
"LLM evaluators recognize and favor their own generations".

Descriptive companions (with their caveats): ``harmful_self_preference`` (Chen et al.
2025), ``own_family_win_rate_excess``, ``conditional_self_bias`` (Wataoka et al. 2024),
``length_bias`` and, for the single-score protocol, ``score_difference``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.data import DataError, identity_string
from judgelab.families import family_of, relation
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.multitest import adjust_findings

__all__ = [
    "SELF_PREFERENCE_IDS",
    "judgment_table",
    "human_pair_table",
    "logit_design",
    "fit_self_preference_logit",
    "logit_findings",
    "harmful_self_preference",
    "own_family_win_rate_excess",
    "conditional_self_bias",
    "length_bias",
    "score_difference",
    "family_preference_matrix",
    "panel_families",
    "self_preference_findings",
]

SELF_PREFERENCE_IDS = (
    "self_preference_logit",
    "family_preference_logit",
    "lineage_preference_logit",
    "harmful_self_preference",
    "own_family_win_rate_excess",
    "conditional_self_bias",
    "length_bias",
    "score_difference",
)
TERMS = ("pos", "self", "fam", "lin", "len", "qual", "qpref")
_TERM_ID = {
    "self": "self_preference_logit",
    "fam": "family_preference_logit",
    "lin": "lineage_preference_logit",
}
_TERM_NAME = {
    "pos": "first position",
    "self": "own model",
    "fam": "own family (other model)",
    "lin": "lineage",
    "len": "length (per 100 words)",
    "qual": "sensitivity to the human score gap",
    "qpref": "sensitivity to the human vote share",
}
SINGLE_FAMILY_REASON = (
    "every judge of the panel belongs to one family: a judge's preference for its family "
    "cannot be separated from the quality of that family's answers (no judge of another "
    "family judges the same pairs)"
)
_MIN_ITEMS_FOR_CI = 30
#: |log-odds| beyond which a non-converged coefficient is treated as diverging (separation)
_DIVERGED = 15.0
_CHOICE = {"a": "A", "b": "B", "tie": "C", "c": "C"}


# --------------------------------------------------------------------------- inputs
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


def judgment_table(verdicts: pd.DataFrame, dataset) -> pd.DataFrame:
    """One row per pairwise call, with the pair in canonical orientation (ids sorted).

    Columns: judge, model, judge_family, item_id, ra, rb (canonical first / second), first_a
    (ra shown first), pick_a (1 = ra won, 0 = rb won, NaN = tie or unparsed), tie, parsed,
    gen_a/gen_b, fam_a/fam_b, rel_a/rel_b (relation of the judge to each generator), words_a,
    words_b, correct_a, correct_b."""
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
        v = v[(v["protocol"].astype(object) == "pairwise").to_numpy()]
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
    ra0 = v["response_a"].astype(str).to_numpy(dtype=object)
    rb0 = v["response_b"].astype(str).to_numpy(dtype=object)
    known = pd.Index(resp.index)
    unknown = ~(pd.Index(ra0).isin(known) & pd.Index(rb0).isin(known))
    if unknown.any():
        raise DataError(
            "verdicts",
            "response_a",
            "verdict on a response that is not in the dataset's responses",
            np.flatnonzero(unknown).tolist(),
        )
    order = v["order"].astype(object).to_numpy()
    bad = ~pd.Index(order).isin(["ab", "ba"])
    if bad.any():
        raise DataError(
            "verdicts",
            "order",
            "order must be 'ab' or 'ba' for pairwise verdicts",
            np.flatnonzero(bad).tolist(),
        )
    swap = ra0 > rb0
    out = pd.DataFrame(
        {
            "model": v["model"].astype(str).to_numpy(dtype=object),
            "item_id": v["item_id"].astype(str).to_numpy(),
            "ra": np.where(swap, rb0, ra0),
            "rb": np.where(swap, ra0, rb0),
        }
    )
    backend = v["backend"] if "backend" in v.columns else pd.Series([None] * len(v))
    version = v["judge_version"] if "judge_version" in v.columns else pd.Series([None] * len(v))
    out["judge"] = [
        identity_string(m, b, j)
        for m, b, j in zip(
            v["model"].to_numpy(dtype=object),
            backend.to_numpy(dtype=object),
            version.to_numpy(dtype=object),
        )
    ]
    jf = v["judge_family"] if "judge_family" in v.columns else pd.Series([None] * len(v))
    jf = jf.astype(object).where(jf.notna(), None).to_numpy()
    fam_cache: dict[str, str | None] = {}
    out["judge_family"] = [
        f if f is not None else fam_cache.setdefault(m, family_of(m))
        for f, m in zip(jf, out["model"].to_numpy(dtype=object))
    ]
    # stored response_a shown first in order ab; canonical a shown first when (ab and not swapped) or (ba and swapped)
    out["first_a"] = ((order == "ab") != swap).astype(int)
    ch = (
        v["choice"]
        .astype(object)
        .map(lambda x: _CHOICE.get(str(x).strip().lower()) if isinstance(x, str) else None)
        .to_numpy()
    )
    parsed = pd.notna(ch)
    if "parse_ok" in v.columns:
        parsed &= (
            v["parse_ok"]
            .astype(object)
            .map(lambda x: bool(x) if x is not None and x == x else False)
            .to_numpy()
        )
    out["parsed"] = parsed
    out["tie"] = parsed & (ch == "C")
    shown_first_won = ch == "A"
    a_won = np.where(out["first_a"].to_numpy() == 1, shown_first_won, ch == "B")
    out["pick_a"] = np.where(parsed & (ch != "C"), a_won.astype(float), np.nan)
    for side, col in (("a", "ra"), ("b", "rb")):
        ids = out[col]
        out[f"gen_{side}"] = ids.map(resp["generator"]).astype(str).to_numpy(dtype=object)
        out[f"fam_{side}"] = ids.map(resp["family"]).to_numpy(dtype=object)
        out[f"words_{side}"] = ids.map(resp["n_words"]).astype(float).to_numpy()
        out[f"correct_{side}"] = ids.map(resp["correct"]).astype(float).to_numpy()
    out["hgap"], out["pgap"] = _human_gap(out, dataset)
    # relation of each (judge model, judge family, generator, generator family), computed once per combination
    rel_cache: dict[tuple, str] = {}
    # A dataset may name its judges differently from the same models as generators (LLMBar's
    # judge ChatGPT wrote MT-Bench's gpt-3.5-turbo answers): its meta maps judge -> generator.
    meta = getattr(dataset, "meta", None) or {}
    aliases = dict(meta.get("judge_generator_aliases") or {}) if isinstance(meta, dict) else {}

    def rel(m, jfam, g, gfam):
        k = (m, jfam, g, gfam)
        if k not in rel_cache:
            rel_cache[k] = relation(
                aliases.get(m, m),
                g,
                judge_family=jfam,
                generator_family=gfam if isinstance(gfam, str) else None,
            )
        return rel_cache[k]

    for side in ("a", "b"):
        cols4 = [
            out[c].to_numpy(dtype=object)
            for c in ("model", "judge_family", f"gen_{side}", f"fam_{side}")
        ]
        out[f"rel_{side}"] = np.array(
            [rel(m, f, g, gf) for m, f, g, gf in zip(*cols4)], dtype=object
        )
    return out


def _human_gap(jt: pd.DataFrame, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Signed human quality gaps of each row's pair (a minus b): the difference of mean human
    scores (scale points; NaN without scores) and 2 x human preference share of a - 1 (NaN
    for pairs humans did not compare)."""
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
    hp = human_pair_table(dataset)
    if len(hp):
        m = jt[["item_id", "ra", "rb"]].merge(
            hp[["item_id", "ra", "rb", "share_a"]], on=["item_id", "ra", "rb"], how="left"
        )
        pgap = 2 * m["share_a"].to_numpy(dtype=float) - 1
    return sgap, pgap


def human_pair_table(dataset) -> pd.DataFrame:
    """Human preferences per canonical pair (ids sorted): item_id, ra, rb, votes, votes_a, votes_b,
    ties, share_a (ties count half), majority ('a' | 'b' | None when no strict majority)."""
    cols = ["item_id", "ra", "rb", "votes", "votes_a", "votes_b", "ties", "share_a", "majority"]
    p = getattr(dataset, "preferences", None)
    if p is None or len(p) == 0:
        return pd.DataFrame(columns=cols)
    a, b = p["response_a"].astype(str).to_numpy(), p["response_b"].astype(str).to_numpy()
    swap = a > b
    pref = p["preference"].astype(str).to_numpy()
    va = np.where(swap, pref == "b", pref == "a").astype(float)
    vb = np.where(swap, pref == "a", pref == "b").astype(float)
    t = (pref == "tie").astype(float)
    df = pd.DataFrame(
        {
            "item_id": p["item_id"].astype(str).to_numpy(),
            "ra": np.where(swap, b, a),
            "rb": np.where(swap, a, b),
            "va": va,
            "vb": vb,
            "t": t,
        }
    )
    g = (
        df.groupby(["item_id", "ra", "rb"], sort=False)
        .agg(votes_a=("va", "sum"), votes_b=("vb", "sum"), ties=("t", "sum"))
        .reset_index()
    )
    g["votes"] = g["votes_a"] + g["votes_b"] + g["ties"]
    g["share_a"] = (g["votes_a"] + 0.5 * g["ties"]) / g["votes"]
    g["majority"] = np.where(
        g["votes_a"] > g["votes"] / 2, "a", np.where(g["votes_b"] > g["votes"] / 2, "b", None)
    )
    return g[cols]


def panel_families(jt: pd.DataFrame) -> list:
    """Distinct known families of the judges in a judgment table."""
    return sorted({f for f in jt.drop_duplicates("judge")["judge_family"] if isinstance(f, str)})


# --------------------------------------------------------------------- conditional logit
def logit_design(jt: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows used by the conditional logit and the design matrix.

    Returns (frame, dropped): frame has y, strata (pair), cluster (item), judge and one column
    ``<term>|<judge>`` per judge and term (TERMS), after removing constant columns and columns
    collinear with the strata or earlier columns; ``dropped`` maps removed column -> reason."""
    d = jt[jt["pick_a"].notna()].reset_index(drop=True)
    if d.empty:
        return pd.DataFrame(), {}
    judges = sorted(d["judge"].unique())
    rel_a, rel_b = d["rel_a"].to_numpy(), d["rel_b"].to_numpy()
    base = {
        "pos": 2.0 * d["first_a"].to_numpy(dtype=float) - 1.0,
        "self": (rel_a == "self").astype(float) - (rel_b == "self").astype(float),
        "fam": (rel_a == "family").astype(float) - (rel_b == "family").astype(float),
        "lin": (rel_a == "lineage").astype(float) - (rel_b == "lineage").astype(float),
        "len": (d["words_a"].to_numpy(dtype=float) - d["words_b"].to_numpy(dtype=float)) / 100.0,
        "qual": d["hgap"].to_numpy(dtype=float) if "hgap" in d.columns else np.full(len(d), np.nan),
        "qpref": d["pgap"].to_numpy(dtype=float)
        if "pgap" in d.columns
        else np.full(len(d), np.nan),
    }
    dropped: dict[str, str] = {}
    if not np.all(np.isfinite(base["len"])):
        base.pop("len")
        for j in judges:
            dropped[f"len|{j}"] = "word counts unknown for some responses: no length term"
    for t, what in (("qual", "human scores"), ("qpref", "human preferences")):
        if not np.all(np.isfinite(base[t])):
            base.pop(t)
            for j in judges:
                dropped[f"{t}|{j}"] = (
                    f"no {what} for every judged pair: no quality-sensitivity term on them"
                )
    cols: dict[str, np.ndarray] = {}
    jud = d["judge"].to_numpy()
    for t in TERMS:
        if t not in base:
            continue
        for j in judges:
            x = np.where(jud == j, base[t], 0.0)
            name = f"{t}|{j}"
            if not np.any(x != 0):
                why = {
                    "self": "the judge never saw its own model's answers",
                    "fam": "the judge never saw answers of other models of its family",
                    "lin": "no answer of a declared lineage relation",
                    "pos": "no variation in the order shown",
                    "len": "no length difference",
                    "qual": "no human quality difference",
                    "qpref": "no human preference difference",
                }[t]
                dropped[name] = f"constant column ({why})"
            else:
                cols[name] = x
    strata = pd.factorize(d["item_id"].astype(str) + "\x1f" + d["ra"] + "\x1f" + d["rb"])[0]
    keep = _independent_columns(cols, strata, dropped)
    frame = pd.DataFrame(
        {
            "y": d["pick_a"].to_numpy(dtype=float),
            "strata": strata,
            "cluster": d["item_id"].to_numpy(),
            "judge": jud,
        }
    )
    for name in keep:
        frame[name] = cols[name]
    return frame, dropped


def _independent_columns(
    cols: dict[str, np.ndarray], strata: np.ndarray, dropped: dict[str, str]
) -> list[str]:
    """Greedy: keep a column when its within-stratum variation is not spanned by kept ones."""
    if not cols:
        return []
    names = list(cols)
    X = np.column_stack([cols[n] for n in names])
    # demean within strata: what alpha_pair cannot absorb
    counts = np.bincount(strata)
    sums = np.zeros((len(counts), X.shape[1]))
    np.add.at(sums, strata, X)
    Xd = X - (sums / counts[:, None])[strata]
    # Gram matrix once; a column is kept when its residual sum of squares after projecting on
    # the kept columns is a non-negligible share of its own (Gram-Schmidt on the Gram matrix)
    G = Xd.T @ Xd
    keep: list[int] = []
    for k in range(X.shape[1]):
        gkk = G[k, k]
        if keep:
            GK = G[np.ix_(keep, keep)]
            gk = G[keep, k]
            resid = gkk - gk @ np.linalg.solve(GK, gk)
        else:
            resid = gkk
        if gkk <= 1e-12 or resid <= 1e-9 * gkk:
            dropped[names[k]] = (
                "collinear with the pair strata (alpha_pair) or earlier terms: the sum over judges "
                "of this term is constant within a pair, so it is estimated relative to the other judges"
                if names[k].startswith(("len|", "qual|", "qpref|"))
                else "collinear with the pair strata or earlier terms (not identifiable on these pairs)"
            )
        else:
            keep.append(k)
    return [names[k] for k in keep]


def _clogit(frame: pd.DataFrame, names: list[str]):
    """Fit through judgelab.stats.models.conditional_logit (cluster-robust by item);
    returns (params, se, pvalues, converged, reason) aligned with ``names``."""
    from judgelab.stats.models import conditional_logit

    res = conditional_logit(
        frame["y"].to_numpy(dtype=float),
        frame[names],
        frame["strata"].to_numpy(),
        frame["cluster"].to_numpy(),
    )
    params = res.params.reindex(names).to_numpy(dtype=float)
    se = res.bse.reindex(names).to_numpy(dtype=float)
    pv = res.pvalues.reindex(names).to_numpy(dtype=float)
    reasons = {k: v for k, v in (res.dropped or {}).items()}
    return params, se, pv, bool(res.converged), res.reason, reasons


def fit_self_preference_logit(jt: pd.DataFrame) -> pd.DataFrame:
    """Fit the pooled conditional logit; one row per (judge, term): estimate, se, z, p_value,
    ci_low, ci_high (95%), n (rows of that judge), reason (dropped terms), single_family."""
    rows = []
    fams = panel_families(jt)
    frame, dropped = logit_design(jt)
    judges = sorted(jt["judge"].unique())
    n_by_judge = frame["judge"].value_counts() if len(frame) else pd.Series(dtype=int)
    names = [c for c in frame.columns if "|" in c] if len(frame) else []
    params = se = pv = None
    fit_reason = None
    if len(frame) == 0:
        fit_reason = "no parsed non-tie pairwise judgments"
    elif len(names) == 0:
        fit_reason = "no identifiable term"
    else:
        try:
            params, se, pv, conv, why, model_dropped = _clogit(frame, names)
            dropped.update(model_dropped)
            if not conv:
                # Separation (e.g. a judge that picks its own answer in every informative pair)
                # sends that coefficient to infinity while the others converge to their
                # conditional optimum: report the finite ones, null the diverging ones.
                diverged = (
                    ~np.isfinite(params)
                    | ~np.isfinite(se)
                    | (np.abs(params) > _DIVERGED)
                    | (se > 100)
                )
                if diverged.all():
                    fit_reason, params = why or "conditional logit did not converge", None
                else:
                    for k in np.flatnonzero(diverged):
                        dropped[names[k]] = (
                            "separation: the estimate diverges (the judge decides every informative pair "
                            "of this kind the same way); no finite estimate or Wald test"
                        )
        except (
            Exception
        ) as exc:  # separation or a singular information matrix: undefined, not an error
            fit_reason = f"conditional logit failed: {exc}"
    from scipy.stats import norm

    z95 = norm.ppf(0.975)
    for j in judges:
        for t in TERMS:
            name = f"{t}|{j}"
            row = {
                "judge": j,
                "term": t,
                "estimate": None,
                "se": None,
                "z": None,
                "p_value": None,
                "ci_low": None,
                "ci_high": None,
                "n": int(n_by_judge.get(j, 0)),
                "reason": None,
            }
            if t in ("self", "fam", "lin") and len(fams) < 2:
                row["reason"] = SINGLE_FAMILY_REASON
            elif name in dropped:
                row["reason"] = dropped[name]
            elif params is None or name not in names:
                row["reason"] = fit_reason or "not in the model"
            else:
                k = names.index(name)
                b, s = float(params[k]), float(se[k])
                if not (np.isfinite(b) and np.isfinite(s)) or s <= 0:
                    row["reason"] = "not estimable (separation or no information)"
                else:
                    row.update(
                        estimate=b,
                        se=s,
                        z=b / s,
                        p_value=float(pv[k]),
                        ci_low=b - z95 * s,
                        ci_high=b + z95 * s,
                    )
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["single_family"] = len(fams) < 2
    out.attrs["n_rows"] = len(frame)
    return out


def _mde_logit(se: float | None, alpha=0.05, power=0.8) -> float | None:
    """Minimum detectable |beta| (log-odds) for a Wald test with standard error ``se``:
    (z_{1-alpha/2} + z_{power}) se (judgelab.stats.power when it offers it)."""
    if se is None or not np.isfinite(se):
        return None
    try:
        from judgelab.stats import power as pw

        return float(pw.mde_wald(se=se, alpha=alpha, power=power))
    except Exception:
        from scipy.stats import norm

        return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se)


def logit_findings(coefs: pd.DataFrame, judge_info: dict) -> list[dict]:
    """Finding rows for the self / family / lineage terms; primary = self term, or family term
    for a judge without self pairs. Extra column ``term_position`` / ``term_length`` carry the
    nuisance terms for the forest plot."""
    rows = []
    for j, g in coefs.groupby("judge", sort=True):
        t = g.set_index("term")
        # the self term is primary unless the judge never saw its own model's answers
        no_self = str(t.loc["self", "reason"] or "").startswith("constant column")
        primary_term = "fam" if no_self else "self"
        for term in ("self", "fam", "lin"):
            r = t.loc[term]
            est = r["estimate"] if pd.notna(r["estimate"]) else None
            method = (
                "pooled conditional logit stratified by pair (Chamberlain 1980), one row per parsed non-tie judgment, "
                "per-judge position/self/family/lineage/length terms; log-odds relative to the panel; "
                "cluster-robust (sandwich, by item) SE; Wald z"
            )
            rows.append(
                finding(
                    _TERM_ID[term],
                    est,
                    judge=j,
                    ci_low=r["ci_low"],
                    ci_high=r["ci_high"],
                    ci_level=0.95,
                    method=method,
                    statistic=r["z"],
                    p_value=r["p_value"],
                    primary=term == primary_term,
                    n=int(r["n"]),
                    reason=r["reason"],
                    se=r["se"],
                    **judge_info.get(j, {}),
                )
            )
    return rows


# --------------------------------------------------------------- descriptive statistics
def _boot_diff(per_item: np.ndarray, n_boot: int, seed: int, ci_level: float):
    """Cluster bootstrap of a0/a1 - b0/b1 over per-item sums [a0, a1, b0, b1]; returns (est, lo, hi, p, reason)."""
    from judgelab.stats.resampling import cluster_bootstrap

    def stat(t):
        t = np.atleast_2d(t)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                (t[:, 1] > 0) & (t[:, 3] > 0),
                t[:, 0] / np.where(t[:, 1] > 0, t[:, 1], 1)
                - t[:, 2] / np.where(t[:, 3] > 0, t[:, 3], 1),
                np.nan,
            )

    res = cluster_bootstrap(per_item, stat, n_boot=n_boot, seed=seed, ci_level=ci_level)
    if res.estimate is None:
        return None, None, None, None, res.reason
    return res.estimate, res.ci_low, res.ci_high, res.p_value(0.0), res.reason


def _sums_by_item(items, cols: list[np.ndarray]) -> np.ndarray:
    df = pd.DataFrame({f"c{k}": c for k, c in enumerate(cols)})
    df["item"] = np.asarray(items)
    return df.groupby("item", sort=True).sum().to_numpy(dtype=float)


def harmful_self_preference(
    jt: pd.DataFrame, judge: str, n_boot=2000, seed=0, ci_level=0.95, info=None
) -> dict:
    """P(J picks the wrong answer | the wrong one is from J's family) - P(J picks the wrong answer
    | the wrong one is from another family), over pairs where exactly one answer is correct
    (truth); ties dropped; item-cluster bootstrap CI and p (after Chen et al. 2025, harmful
    vs legitimate self-preference). Exploratory."""
    fid = "harmful_self_preference"
    info = info or {}
    d = jt[(jt["judge"] == judge)]
    if d[["correct_a", "correct_b"]].isna().all().all():
        return finding(
            fid, None, judge=judge, reason="correctness unknown (no truth table)", n=0, **info
        )
    one = (d["correct_a"] + d["correct_b"] == 1) & d["pick_a"].notna()
    e = d[one]
    ex = int((d["correct_a"] + d["correct_b"] == 1).sum() - len(e))
    if e.empty:
        return finding(
            fid, None, judge=judge, reason="no pair with exactly one correct answer", n=0, **info
        )
    wrong_is_a = e["correct_a"].to_numpy() == 0
    rel_wrong = np.where(wrong_is_a, e["rel_a"], e["rel_b"])
    own = np.isin(rel_wrong, ["self", "family"])
    picked_wrong = np.where(wrong_is_a, e["pick_a"] == 1, e["pick_a"] == 0).astype(float)
    per = _sums_by_item(
        e["item_id"],
        [picked_wrong * own, own.astype(float), picked_wrong * ~own, (~own).astype(float)],
    )
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = None
    if est is not None:
        concl = (
            "When the wrong answer comes from its own family the judge picks it about as often as when it comes from another family"
            if abs(est) < 0.005
            else f"When the wrong answer comes from its own family the judge picks it {abs(est) * 100:.0f} percentage points "
            f"{'more' if est > 0 else 'less'} often than when it comes from another family"
        ) + (
            " (CI excludes 0)."
            if lo is not None and (lo > 0 or hi < 0)
            else " (CI includes 0: no clear harmful self-preference)."
        )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method="difference of P(picks wrong) by the wrong answer's family (own = self or family relation), pairs with exactly one correct answer (truth), ties dropped; item-cluster bootstrap CI and p; exploratory",
        p_value=p,
        n=len(e),
        n_excluded=ex,
        reason=why if est is None or lo is None else None,
        conclusion=concl,
        **info,
    )


def _human_join(jt: pd.DataFrame, hp: pd.DataFrame) -> pd.DataFrame:
    return jt.merge(hp, on=["item_id", "ra", "rb"], how="inner")


def own_family_win_rate_excess(
    jt, hp, judge, n_boot=2000, seed=0, ci_level=0.95, tie_policy="half", info=None
) -> dict:
    """(J's win rate for its family's answers - human win rate on the same pairs) minus the same
    difference for judges of other families on the same pairs (pairs with exactly one answer
    of J's family). Descriptive: the human terms cancel when the pairs coincide, leaving J's
    win rate minus other-family judges' win rate; differences in judge noise still enter."""
    fid = "own_family_win_rate_excess"
    info = info or {}
    d = jt[jt["judge"] == judge]
    fam = d["judge_family"].iloc[0] if len(d) else None
    method = f"(judge - human) minus (other-family judges - human) win rate of the judge's family's answers on the same pairs (ties: {tie_policy}); item-cluster bootstrap CI; descriptive"
    if fam is None or hp.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="judge family unknown or no human preferences",
            n=0,
            method=method,
            **info,
        )
    x = _human_join(jt[jt["parsed"]], hp)
    fa, fb = (x["fam_a"] == fam).to_numpy(), (x["fam_b"] == fam).to_numpy()
    x = x[fa != fb]
    fa = (x["fam_a"] == fam).to_numpy()
    win = _win(x, fa, tie_policy)
    keep = ~np.isnan(win)
    x, win, fa = x[keep], win[keep], fa[keep]
    mine = (x["judge"] == judge).to_numpy()
    other = (x["judge_family"] != fam).to_numpy() & x["judge_family"].notna().to_numpy()
    pairs_j = set(map(tuple, x.loc[mine, ["item_id", "ra", "rb"]].to_numpy()))
    on_j = (
        np.array([tuple(k) in pairs_j for k in x[["item_id", "ra", "rb"]].to_numpy()])
        if len(x)
        else np.zeros(0, bool)
    )
    o = other & on_j
    if mine.sum() == 0 or o.sum() == 0:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no pairs of own-family vs other-family answers judged by this judge and by a judge of another family",
            n=int(mine.sum()),
            method=method,
            **info,
        )
    per = _sums_by_item(x["item_id"], [win * mine, mine.astype(float), win * o, o.astype(float)])
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = (
        None
        if est is None
        else f"Descriptive: this judge gives its family's answers a win rate {abs(est) * 100:.0f} percentage points {'higher' if est > 0 else 'lower'} than judges of other families do on the same pairs; unequal judge noise can produce such a gap without bias."
    )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        n=int(mine.sum()),
        reason=why if lo is None else None,
        conclusion=concl,
        **info,
    )


def _win(x: pd.DataFrame, a_is_target: np.ndarray, tie_policy: str) -> np.ndarray:
    """1 when the target side won, 0 when it lost; ties by policy (class -> 0, half -> 0.5, drop -> NaN)."""
    pa = x["pick_a"].to_numpy(dtype=float)
    w = np.where(a_is_target, pa, 1 - pa)
    tie = x["tie"].to_numpy(dtype=bool)
    tv = {"class": 0.0, "half": 0.5, "drop": np.nan}.get(tie_policy)
    if tie_policy not in ("class", "half", "drop"):
        raise ValueError(f"tie_policy must be class, drop or half, not {tie_policy!r}")
    return np.where(tie, tv, w)


def conditional_self_bias(jt, hp, judge, n_boot=2000, seed=0, ci_level=0.95, info=None) -> dict:
    """P(J picks own | humans pick own) - P(J picks other | humans pick other) on pairs with exactly
    one own-family answer (self or family relation) and a strict human majority; ties dropped
    (Wataoka et al. 2024, equal opportunity). Descriptive: a judge of a better family, or a
    sharper judge, differs here without bias."""
    fid = "conditional_self_bias"
    info = info or {}
    x = _human_join(jt[(jt["judge"] == judge) & jt["pick_a"].notna()], hp)
    method = "P(judge picks own | human majority own) - P(judge picks other | human majority other); own = self or family relation; ties and pairs without a human majority dropped; item-cluster bootstrap CI; descriptive (Wataoka et al. 2024)"
    if x.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no judged pair with human preferences",
            n=0,
            method=method,
            **info,
        )
    own_a = x["rel_a"].isin(["self", "family"]).to_numpy()
    own_b = x["rel_b"].isin(["self", "family"]).to_numpy()
    x = x[(own_a != own_b) & x["majority"].notna().to_numpy()]
    own_a = x["rel_a"].isin(["self", "family"]).to_numpy()
    if x.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no own-vs-other pair with a human majority",
            n=0,
            method=method,
            **info,
        )
    picks_own = np.where(own_a, x["pick_a"] == 1, x["pick_a"] == 0).astype(float)
    h_own = np.where(own_a, x["majority"] == "a", x["majority"] == "b")
    per = _sums_by_item(
        x["item_id"],
        [picks_own * h_own, h_own.astype(float), (1 - picks_own) * ~h_own, (~h_own).astype(float)],
    )
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = (
        None
        if est is None
        else f"Descriptive: when humans prefer its own family's answer the judge agrees {'more' if est > 0 else 'less'} often ({abs(est) * 100:.0f} percentage points) than when humans prefer the other answer."
    )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        n=len(x),
        reason=why if lo is None else None,
        conclusion=concl,
        **info,
    )


def length_bias(jt, hp, judge, n_boot=2000, seed=0, ci_level=0.95, info=None) -> dict:
    """J's P(prefer the longer answer) minus the humans' on the same pairs whose word counts
    differ by more than 10% (|w_a - w_b| > 0.1 min(w_a, w_b)); ties dropped; item-cluster
    bootstrap CI and p. Exploratory."""
    fid = "length_bias"
    info = info or {}
    d = jt[(jt["judge"] == judge) & jt["pick_a"].notna()]
    wa, wb = d["words_a"].to_numpy(dtype=float), d["words_b"].to_numpy(dtype=float)
    method = "P(judge prefers the longer answer) - P(humans prefer it) on the same pairs (word counts differ > 10%), ties dropped; item-cluster bootstrap CI and p; exploratory"
    if not np.isfinite(wa).any() or hp.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="word counts or human preferences unknown",
            n=0,
            method=method,
            **info,
        )
    d = d[np.abs(wa - wb) > 0.1 * np.minimum(wa, wb)]
    x = _human_join(d, hp)
    if x.empty:
        return finding(
            fid,
            None,
            judge=judge,
            reason="no judged pair with a length difference > 10% and human preferences",
            n=0,
            method=method,
            **info,
        )
    a_longer = (x["words_a"] > x["words_b"]).to_numpy()
    j_long = np.where(a_longer, x["pick_a"] == 1, x["pick_a"] == 0).astype(float)
    # humans: votes for the longer answer among non-tie votes, once per pair (not per judge call)
    hpairs = x.drop_duplicates(["item_id", "ra", "rb"])
    al = (hpairs["words_a"] > hpairs["words_b"]).to_numpy()
    h_long = np.where(al, hpairs["votes_a"], hpairs["votes_b"]).astype(float)
    h_n = (hpairs["votes_a"] + hpairs["votes_b"]).to_numpy(dtype=float)
    jj = pd.DataFrame({"item": x["item_id"], "a": j_long, "b": 1.0}).groupby("item").sum()
    hh = pd.DataFrame({"item": hpairs["item_id"], "c": h_long, "d": h_n}).groupby("item").sum()
    per = jj.join(hh, how="left").fillna(0.0).to_numpy(dtype=float)
    est, lo, hi, p, why = _boot_diff(per, n_boot, seed, ci_level)
    concl = (
        None
        if est is None
        else f"The judge prefers the longer answer {abs(est) * 100:.0f} percentage points {'more' if est > 0 else 'less'} often than humans on the same pairs"
        + (" (CI excludes 0)." if lo is not None and (lo > 0 or hi < 0) else " (CI includes 0).")
    )
    return finding(
        fid,
        est,
        judge=judge,
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        method=method,
        p_value=p,
        n=len(x),
        reason=why if lo is None else None,
        conclusion=concl,
        **info,
    )


def score_difference(
    verdicts: pd.DataFrame, dataset, n_boot=2000, seed=0, ci_level=0.95
) -> list[dict]:
    """Single-score protocol: mean(judge score - median human score) per judge and relation
    (self / family / lineage / other) with an item-cluster bootstrap CI; slice
    ``{"subset": "relation=<r>"}``. Empty when there are no single-score verdicts."""
    from judgelab.stats.resampling import cluster_bootstrap

    if verdicts is None or "protocol" not in verdicts.columns:
        return []
    v = verdicts[(verdicts["protocol"].astype(object) == "single").to_numpy()]
    if v.empty:
        return []
    labels = getattr(dataset, "labels", None)
    rows = []
    if labels is None or labels.empty:
        for j in v.drop_duplicates(["model", "backend", "judge_version"]).itertuples():
            rows.append(
                finding(
                    "score_difference",
                    None,
                    judge=identity_string(j.model, j.backend, j.judge_version),
                    reason="no human scores in the dataset",
                    n=0,
                )
            )
        return rows
    med = (
        pd.to_numeric(labels["score"], errors="coerce")
        .groupby(labels["response_id"].astype(str))
        .median()
    )
    resp = _response_table(dataset)
    v = v.copy()
    ok = v["parse_ok"].astype(bool) if "parse_ok" in v.columns else pd.Series(True, index=v.index)
    v = v[ok.to_numpy() & v["score"].notna().to_numpy()]
    v["rid"] = v["response_id"].astype(str)
    v["diff"] = pd.to_numeric(v["score"], errors="coerce") - v["rid"].map(med)
    v = v[v["diff"].notna()]
    v["judge"] = [
        identity_string(m, b, j) for m, b, j in zip(v["model"], v["backend"], v["judge_version"])
    ]
    jf = (
        v["judge_family"]
        if "judge_family" in v.columns
        else pd.Series([None] * len(v), index=v.index)
    )
    v["rel"] = [
        relation(
            m,
            resp.at[r, "generator"],
            judge_family=f if isinstance(f, str) else None,
            generator_family=resp.at[r, "family"]
            if isinstance(resp.at[r, "family"], str)
            else None,
        )
        for m, f, r in zip(v["model"], jf, v["rid"])
    ]
    for k, ((judge, rel), g) in enumerate(v.groupby(["judge", "rel"], sort=True)):
        per = _sums_by_item(
            g["item_id"].astype(str), [g["diff"].to_numpy(dtype=float), np.ones(len(g))]
        )
        res = cluster_bootstrap(
            per,
            lambda t: np.atleast_2d(t)[:, 0] / np.atleast_2d(t)[:, 1],
            n_boot=n_boot,
            seed=seed + k,
            ci_level=ci_level,
        )
        rows.append(
            finding(
                "score_difference",
                res.estimate,
                judge=judge,
                slice={"subset": f"relation={rel}"},
                ci_low=res.ci_low,
                ci_high=res.ci_high,
                ci_level=ci_level,
                method="mean(judge score - median human score) over the responses of this relation; item-cluster bootstrap CI; descriptive",
                n=len(g),
                reason=res.reason if res.ci_low is None else None,
                conclusion=None
                if res.estimate is None
                else f"On answers of relation '{rel}' the judge scores {abs(res.estimate):.2f} points {'above' if res.estimate > 0 else 'below'} the human median.",
            )
        )
    return rows


def family_preference_matrix(
    jt: pd.DataFrame, hp: pd.DataFrame, tie_policy: str = "half"
) -> pd.DataFrame:
    """For each judge family x generator family: the judges' win rate for that generator family's
    answers, the humans' on the same pairs (where known), and the excess (judge - human).
    Pairs of two answers of one family are skipped (no preference between families)."""
    x = jt[jt["parsed"]]
    x = x[x["fam_a"] != x["fam_b"]]
    if x.empty:
        return pd.DataFrame(
            columns=[
                "judge_family",
                "generator_family",
                "judge_win_rate",
                "human_win_rate",
                "excess",
                "n",
            ]
        )
    rows = []
    hx = _human_join(x, hp) if not hp.empty else None
    for side in ("a", "b"):
        target_a = np.full(len(x), side == "a")
        w = _win(x, target_a, tie_policy)
        rows.append(
            pd.DataFrame(
                {
                    "judge_family": x["judge_family"].to_numpy(),
                    "generator_family": x[f"fam_{side}"].to_numpy(),
                    "w": w,
                }
            )
        )
    long = pd.concat(rows, ignore_index=True).dropna(subset=["w"])
    out = (
        long.groupby(["judge_family", "generator_family"])
        .agg(judge_win_rate=("w", "mean"), n=("w", "size"))
        .reset_index()
    )
    if hx is not None and len(hx):
        hr = []
        for side in ("a", "b"):
            share = hx["share_a"].to_numpy(dtype=float)
            hr.append(
                pd.DataFrame(
                    {
                        "judge_family": hx["judge_family"].to_numpy(),
                        "generator_family": hx[f"fam_{side}"].to_numpy(),
                        "h": share if side == "a" else 1 - share,
                    }
                )
            )
        h = (
            pd.concat(hr, ignore_index=True)
            .groupby(["judge_family", "generator_family"])["h"]
            .mean()
            .rename("human_win_rate")
            .reset_index()
        )
        jx = []
        for side in ("a", "b"):
            jx.append(
                pd.DataFrame(
                    {
                        "judge_family": hx["judge_family"].to_numpy(),
                        "generator_family": hx[f"fam_{side}"].to_numpy(),
                        "w": _win(hx, np.full(len(hx), side == "a"), tie_policy),
                    }
                )
            )
        jh = (
            pd.concat(jx, ignore_index=True)
            .dropna()
            .groupby(["judge_family", "generator_family"])["w"]
            .mean()
            .rename("judge_win_rate_on_human_pairs")
            .reset_index()
        )
        out = out.merge(h, on=["judge_family", "generator_family"], how="left").merge(
            jh, on=["judge_family", "generator_family"], how="left"
        )
        out["excess"] = out["judge_win_rate_on_human_pairs"] - out["human_win_rate"]
    else:
        out["human_win_rate"] = np.nan
        out["excess"] = np.nan
    return out


# ------------------------------------------------------------------------- findings
def _conclude_logit(r: dict, alpha: float) -> str:
    what = {
        "self_preference_logit": "its own model's answers",
        "family_preference_logit": "answers of its family's other models",
        "lineage_preference_logit": "answers of its lineage",
    }[r["id"]]
    est, p = (
        r["estimate"],
        r["p_adjusted"]
        if r.get("p_adjusted") is not None and r["p_adjusted"] == r["p_adjusted"]
        else r["p_value"],
    )
    if est is None:
        return f"Not estimated: {r['reason']}."
    odds = np.exp(est)
    padj = "Holm-adjusted p" if r["primary"] else "p"
    if p is not None and p < alpha:
        return f"Compared with the rest of the panel on the same pairs, this judge {'favours' if est > 0 else 'disfavours'} {what} (odds x{odds:.2f}, {padj} = {p:.3g})."
    mde = r.get("mde")
    tail = (
        f"; with this data only |log-odds| >= {mde:.2f} (odds x{np.exp(mde):.2f}) would be detected with 80% power"
        if r["primary"] and mde is not None and mde == mde
        else ""
    )
    return f"No significant preference for {what} relative to the panel (odds x{odds:.2f}, {padj} = {_fmt_p(p)}){tail}."


def _fmt_p(p):
    return "NA" if p is None or p != p else f"{p:.3g}"


def self_preference_findings(
    verdicts: pd.DataFrame,
    dataset,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    alpha: float = 0.05,
    tie_policy: str = "half",
    adjust: bool = True,
) -> pd.DataFrame:
    """Every self-preference finding per judge identity (see the module docstring).

    Primary per judge: the conditional-logit self term, or the family term for a judge
    without self pairs; Holm across judges when ``adjust``. A single-family panel gives the
    logit findings estimate None with the reason that preference cannot be separated from
    quality. Extra columns: ``se``, ``mde`` (primary, not significant), ``judge_family``."""
    if tie_policy == "class":
        tie_policy_w = "class"
    else:
        tie_policy_w = tie_policy
    rows: list[dict] = []
    pw = verdicts
    if "protocol" in verdicts.columns:
        pw = verdicts[(verdicts["protocol"].astype(object) == "pairwise").to_numpy()]
    if len(pw):
        jt = judgment_table(pw, dataset)
        hp = human_pair_table(dataset)
        info = {
            j: {"judge_family": f}
            for j, f in jt.drop_duplicates("judge")[["judge", "judge_family"]].itertuples(
                index=False
            )
        }
        coefs = fit_self_preference_logit(jt)
        rows += logit_findings(coefs, info)
        for k, j in enumerate(sorted(jt["judge"].unique())):
            s = seed + 7919 * k
            rows.append(harmful_self_preference(jt, j, n_boot, s, ci_level, info[j]))
            rows.append(
                own_family_win_rate_excess(
                    jt, hp, j, n_boot, s + 1, ci_level, tie_policy_w, info[j]
                )
            )
            rows.append(conditional_self_bias(jt, hp, j, n_boot, s + 2, ci_level, info[j]))
            rows.append(length_bias(jt, hp, j, n_boot, s + 3, ci_level, info[j]))
    rows += score_difference(verdicts, dataset, n_boot, seed + 99991, ci_level)
    df = findings_frame(rows)
    if df.empty:
        return df
    if "mde" not in df.columns:
        df["mde"] = None
    if adjust:
        df = adjust_findings(df)
    mde, concl = [], []
    for _, r in df.iterrows():
        r = r.to_dict()
        m = None
        if r["id"] in _TERM_ID.values():
            p = r["p_adjusted"] if r["primary"] else r["p_value"]
            if (
                r["primary"]
                and r["estimate"] is not None
                and not (p is not None and p == p and p < alpha)
            ):
                m = _mde_logit(r.get("se"))
            r["mde"] = m
            concl.append(_conclude_logit(r, alpha))
        else:
            concl.append(
                r["conclusion"]
                if r["conclusion"]
                else (f"Not estimated: {r['reason']}." if r["estimate"] is None else None)
            )
        mde.append(m)
    df["mde"] = mde
    df["conclusion"] = concl
    return df
