"""The self-preference conditional logit: design (per-judge terms, constant and collinear
columns dropped with a reason), the pooled fit stratified by pair, and its finding rows
(model and references in :mod:`judgelab.stats.self_preference`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from judgelab.stats._tidy import finding
from judgelab.stats.resampling import single_thread_blas
from judgelab.stats.self_preference_judgments import panel_families

__all__ = [
    "TERMS",
    "COMPARISONS",
    "DEFAULT_COMPARISON",
    "sharpness_bands",
    "SINGLE_FAMILY_REASON",
    "logit_design",
    "fit_self_preference_logit",
    "logit_findings",
    "SHARP_CONSISTENCY",
    "sharpness_table",
]

TERMS = ("pos", "self", "fam", "lin", "len", "qual", "qpref")
#: Whom a judge is compared with on the same pair: ``panel`` = every judge of the panel (one
#: stratum per pair); ``sharpness`` = the judges of its sharpness band (one stratum per pair and
#: band: sharp judges, order consistency >= SHARP_CONSISTENCY, with each other, the others with
#: each other). A sharp judge follows the part of the quality gap that human votes miss more
#: steeply than the panel average the pair stratum absorbs; compared with the whole panel, that
#: residual reads as self-preference (negative when its own family is the worse one: flagged
#: below 0 in 7% of null-panel replicates, docs/statistics.md#sharp-judges); judges of the same
#: sharpness respond to it alike, so their shared stratum absorbs it.
COMPARISONS = ("panel", "sharpness")
DEFAULT_COMPARISON = "sharpness"
_TERM_ID = {
    "self": "self_preference_logit",
    "fam": "family_preference_logit",
    "lin": "lineage_preference_logit",
}
SINGLE_FAMILY_REASON = (
    "every judge of the panel belongs to one family: a judge's preference for its family "
    "cannot be separated from the quality of that family's answers (no judge of another "
    "family judges the same pairs)"
)
#: Order consistency (same verdict in both orders) at or above which a judge's self term is
#: flagged: in validation/self_preference_coverage.py the demo's flagship judges (noise 0.12,
#: consistency 0.87-0.92 on the demo pairs) under-cover a planted self-preference of 1 logit
#: (docs/statistics.md#sharp-judges), the mid and small tiers (0.60-0.78) do not.
SHARP_CONSISTENCY = 0.85
#: |log-odds| beyond which a non-converged coefficient is treated as diverging (separation)
_DIVERGED = 15.0


def sharpness_bands(sharp: pd.DataFrame, comparison: str = DEFAULT_COMPARISON):
    """(band per judge, note): the comparison group of each judge of :func:`sharpness_table`
    ``sharp`` under ``comparison`` (COMPARISONS), and None or the reason the panel stays one
    group.

    ``sharpness``: ``sharp`` (order consistency >= SHARP_CONSISTENCY) or ``other`` (below, or
    not judged in both orders); when a non-empty band holds judges of fewer than two families
    its judges' self and family terms could not be compared with anyone, so every judge stays
    in one band (``panel``) and the note says why."""
    if comparison not in COMPARISONS:
        raise ValueError(f"unknown comparison {comparison!r}; choose one of {list(COMPARISONS)}")
    judges = sharp["judge"].tolist()
    one = dict.fromkeys(judges, "panel")
    if comparison == "panel":
        return one, None
    c = sharp["consistency"].to_numpy(dtype=float)
    band = dict(zip(judges, np.where(c >= SHARP_CONSISTENCY, "sharp", "other"), strict=True))
    fams = sharp.set_index("judge")["family"] if "family" in sharp.columns else None
    for b in sorted(set(band.values())):
        members = [j for j in judges if band[j] == b]
        known = {fams[j] for j in members if fams is not None and isinstance(fams[j], str)}
        if len(known) < 2 and len(set(band.values())) > 1:
            return one, (
                f"judges compared with the whole panel, not within sharpness bands: the "
                f"{b} band (order consistency {'>=' if b == 'sharp' else '<'} "
                f"{SHARP_CONSISTENCY}) holds judges of fewer than two known families"
            )
    return band, None


def logit_design(
    jt: pd.DataFrame, bands: dict | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows used by the conditional logit and the design matrix.

    ``bands`` (judge -> comparison band, :func:`sharpness_bands`; None: one band) adds the band
    to the strata. Returns (frame, dropped): frame has y, strata (pair and band), cluster
    (item), judge and one column
    ``<term>|<judge>`` per judge and term (TERMS), after removing constant columns and columns
    collinear with the strata or earlier columns; ``dropped`` maps removed column -> reason."""
    frame, design, dropped, items = _design(jt, bands)
    if frame is None:
        return pd.DataFrame(), {}
    # the kept columns only, in one block: <term>|<judge> is the term on the judge's rows, else 0
    frame = frame.assign(
        cluster=items[frame["cluster"].to_numpy()],
        judge=np.asarray(design.judges, dtype=object)[frame["judge"].to_numpy()],
    )
    X = pd.DataFrame(design[slice(None)], columns=design.column_names, copy=False)
    return pd.concat([frame, X], axis=1), dropped


def _factorized(jt: pd.DataFrame) -> dict:
    """``pd.factorize`` (a missing value one code) of the text columns :func:`sharpness_table`
    and the design read: factorized once per fit, not once by each."""
    return {c: pd.factorize(jt[c], use_na_sentinel=False) for c in ("judge", "item_id", "ra", "rb")}


def _design(jt: pd.DataFrame, bands: dict | None, factorized: dict | None = None):
    """(frame of y, strata, cluster and judge, the design as :class:`_TermDesign`, dropped,
    items) of :func:`logit_design`; (None, None, {}, None) without a decided judgment. The
    frame's cluster and judge are integer codes into ``items`` and the design's ``judges``
    (sorted): a million text values would be built, then read back as codes by the fit."""
    # the decided judgments' values of the columns read below, gathered one column at a time;
    # text columns as integer codes (factorized as stored) and their distinct values
    rows = np.flatnonzero(jt["pick_a"].notna().to_numpy())
    if rows.size == 0:
        return None, None, {}, None

    def num(c):
        return jt[c].to_numpy(dtype=float)[rows]

    factorized = _factorized(jt) if factorized is None else factorized

    def coded(c):
        codes, distinct = factorized[c]
        return codes[rows], np.asarray(distinct, dtype=object)

    text = {c: coded(c) for c in ("judge", "item_id", "ra", "rb")}
    judges = sorted(set(text["judge"][1][np.unique(text["judge"][0])]))
    # judges are sorted: code = column order (looked up once per distinct judge, not per row)
    jcode = pd.Index(judges).get_indexer(text["judge"][1])[text["judge"][0]]

    def rel(side, r):
        return (jt[f"rel_{side}"] == r).to_numpy(dtype=bool)[rows].astype(float)

    n = rows.size
    base = {
        "pos": 2.0 * num("first_a") - 1.0,
        "self": rel("a", "self") - rel("b", "self"),
        "fam": rel("a", "family") - rel("b", "family"),
        "lin": rel("a", "lineage") - rel("b", "lineage"),
        "len": (num("words_a") - num("words_b")) / 100.0,
        "qual": num("hgap") if "hgap" in jt.columns else np.full(n, np.nan),
        "qpref": num("pgap") if "pgap" in jt.columns else np.full(n, np.nan),
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
    names: list[tuple[str, int]] = []  # (term, judge code) of the non-constant columns
    mine = [jcode == k for k in range(len(judges))]  # each judge's rows, once per judge
    for t in TERMS:
        if t not in base:
            continue
        for k, j in enumerate(judges):
            name = f"{t}|{j}"
            if not np.any(base[t][mine[k]] != 0):
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
                names.append((t, k))
    strata = _pair_codes(text, bands)
    keep = _independent_columns(base, jcode, names, judges, strata, dropped, mine)
    frame = pd.DataFrame(
        {"y": num("pick_a"), "strata": strata, "cluster": text["item_id"][0], "judge": jcode}
    )
    return frame, _TermDesign(base, jcode, keep, judges), dropped, text["item_id"][1]


class _TermDesign:
    """The kept ``<term>|<judge>`` columns of :func:`logit_design` as
    :func:`judgelab.stats.models.conditional_logit` reads them: rows (``design[rows]``) and
    columns of rows (``design[rows, c]``) computed where they are read from the terms and
    the judge codes, so that the fit never holds the n x p design (0.26 GB at a million
    judgments, held through the whole fit beside its padded strata array).

    A row's values are its own judge's terms (the other columns 0): a block of rows is
    written one term at a time into the columns of the rows' judges, not one column at a
    time over every row. The terms and judge codes of the last rows read column by column
    are kept until rows are read in blocks (the fit reads each column of the same rows
    twice before it builds its padded array), so that they are gathered once, not per column."""

    def __init__(self, base: dict, jcode: np.ndarray, keep: list, judges: list):
        self.base, self.jcode, self.keep, self.judges = base, jcode, keep, judges
        self.column_names = [f"{t}|{judges[k]}" for t, k in keep]
        self.shape = (len(jcode), len(keep))
        # per term: the design column of each judge code's term, -1 where it is not kept
        self._col = {t: np.full(len(judges), -1, dtype=np.int64) for t, _ in keep}
        for c, (t, k) in enumerate(keep):
            self._col[t][k] = c
        self._gathered: tuple | None = None  # (rows, jcode[rows], {term: base[term][rows]})

    def __len__(self) -> int:
        return self.shape[0]

    def column(self, c: int, rows=slice(None)) -> np.ndarray:
        t, k = self.keep[c]
        if isinstance(rows, slice):
            return _column(self.base, self.jcode, t, k, rows)
        g = self._gathered
        if g is None or g[0] is not rows:
            terms = {t: self.base[t][rows] for t in self._col}
            g = self._gathered = (rows, self.jcode[rows], terms)
        return _column(g[2], g[1], t, k)

    def all_finite(self) -> bool:
        """Every value finite (those outside a judge's rows are 0)."""
        return all(bool(np.isfinite(self.base[t][self.jcode == k]).all()) for t, k in self.keep)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, tuple):
            rows, c = key
            return self.column(c, rows)
        self._gathered = None  # blocks of rows from here on: the kept gathers are not read
        return _term_block(self.base, self.jcode, self._col, key, self.shape[1])


def _term_block(base: dict, jcode: np.ndarray, col: dict, rows, width: int) -> np.ndarray:
    """Rows ``rows`` of a design whose column ``col[term][judge code]`` (-1: none) holds the
    term on that judge's rows, 0 elsewhere: each term written into its judges' columns."""
    jc = jcode[rows]
    out = np.zeros((len(jc), width))
    for t, cols in col.items():
        c = cols[jc]
        r = np.flatnonzero(c >= 0)
        out[r, c[r]] = base[t][rows][r]
    return out


def _pair_codes(text: dict, bands: dict | None = None) -> np.ndarray:
    """The stratum code of each row: (item_id, ra, rb), and the judge's comparison band when
    ``bands`` is given, numbered in order of first appearance, from the integer codes of each
    column (``text``: column -> (codes, distinct values); no per-row string key)."""
    cols = [text["item_id"], text["ra"], text["rb"]]
    if bands:
        # the band of each distinct judge (a judge without one is in the whole panel's)
        jcodes, judges = text["judge"]
        band = pd.Series(judges).map(bands).fillna("panel").astype(str)
        codes, distinct = pd.factorize(band, use_na_sentinel=False)
        cols.append((codes[jcodes], distinct))
    key = np.zeros(len(text["item_id"][0]), dtype=np.int64)
    for codes, distinct in cols:
        key = pd.factorize(key * (len(distinct) + 1) + codes)[0].astype(np.int64)
    return key


def _column(base: dict, jcode: np.ndarray, term: str, k: int, rows=slice(None)) -> np.ndarray:
    """Design column ``<term>|<judge k>`` on ``rows``: the term where the row is judge k's."""
    return np.where(jcode[rows] == k, base[term][rows], 0.0)


def _independent_columns(
    base: dict,
    jcode: np.ndarray,
    names: list,
    judges: list,
    strata: np.ndarray,
    dropped: dict,
    mine: list | None = None,
) -> list[tuple[str, int]]:
    """Greedy: keep a column (term, judge code) when its within-stratum variation is not
    spanned by kept ones.

    The stratum-demeaned Gram matrix is accumulated over blocks of rows, so that no
    rows x columns matrix is held (9 judges x 7 terms at a million judgments: 0.5 GB per
    copy)."""
    if not names:
        return []
    n_strata = int(strata.max()) + 1
    counts = np.bincount(strata, minlength=n_strata)
    means = np.empty((n_strata, len(names)))
    if mine is None:
        mine = [jcode == k for k in range(len(judges))]
    for c, (t, k) in enumerate(names):
        means[:, c] = np.bincount(strata[mine[k]], weights=base[t][mine[k]], minlength=n_strata)
    means /= counts[:, None]
    # Gram matrix of the columns demeaned within strata (what alpha_pair cannot absorb); a
    # column is kept when its residual sum of squares after projecting on the kept columns is
    # a non-negligible share of its own (Gram-Schmidt on the Gram matrix)
    G = np.zeros((len(names), len(names)))
    step = max(1, 4_000_000 // len(names))
    col = {t: np.full(len(judges), -1, dtype=np.int64) for t, _ in names}
    for c, (t, k) in enumerate(names):
        col[t][k] = c
    with single_thread_blas():  # tall-and-thin products: threads only thrash on a busy machine
        for r in range(0, len(strata), step):
            rows = slice(r, r + step)
            Xd = _term_block(base, jcode, col, rows, len(names))
            Xd -= means[strata[rows]]
            G += Xd.T @ Xd
    keep: list[int] = []
    for c in range(len(names)):
        gkk = G[c, c]
        if keep:
            GK = G[np.ix_(keep, keep)]
            gk = G[keep, c]
            resid = gkk - gk @ np.linalg.solve(GK, gk)
        else:
            resid = gkk
        if gkk <= 1e-12 or resid <= 1e-9 * gkk:
            t, k = names[c]
            dropped[f"{t}|{judges[k]}"] = (
                "collinear with the pair strata (alpha_pair) or earlier terms: the sum over judges "
                "of this term is constant within a pair, so it is estimated relative to the other judges"
                if t in ("len", "qual", "qpref")
                else "collinear with the pair strata or earlier terms (not identifiable on these pairs)"
            )
        else:
            keep.append(c)
    return [names[c] for c in keep]


def _clogit(frame: pd.DataFrame, design: _TermDesign):
    """Fit through judgelab.stats.models.conditional_logit (cluster-robust by item);
    returns (params, se, pvalues, converged, reason) aligned with the design's columns."""
    from judgelab.stats.models import conditional_logit

    names = design.column_names
    res = conditional_logit(
        frame["y"].to_numpy(dtype=float),
        design,
        frame["strata"].to_numpy(),
        frame["cluster"].to_numpy(),  # item codes: numbered as the items are, in order of rows
    )
    params = res.params.reindex(names).to_numpy(dtype=float)
    se = res.bse.reindex(names).to_numpy(dtype=float)
    pv = res.pvalues.reindex(names).to_numpy(dtype=float)
    reasons = {k: v for k, v in (res.dropped or {}).items()}
    return params, se, pv, bool(res.converged), res.reason, reasons


def fit_self_preference_logit(
    jt: pd.DataFrame, comparison: str = DEFAULT_COMPARISON
) -> pd.DataFrame:
    """Fit the pooled conditional logit; one row per (judge, term): estimate, se, z, p_value,
    ci_low, ci_high (95%), n (rows of that judge), reason (dropped terms). ``comparison``
    (COMPARISONS) chooses whom each judge is compared with on a pair. attrs: single_family,
    sharpness (:func:`sharpness_table`, with the judge's ``band``), comparison,
    comparison_note (why the bands were not used, or None), banded (more than one band was
    used: with every judge in one band the fit is the whole-panel one), n_rows."""
    rows = []
    fams = panel_families(jt)
    factorized = _factorized(jt)
    sharp = sharpness_table(jt, factorized)
    if len(sharp):
        jf = jt.drop_duplicates("judge").set_index("judge")["judge_family"]
        sharp["family"] = sharp["judge"].map(jf)
    bands, note = sharpness_bands(sharp, comparison)
    sharp["band"] = sharp["judge"].map(bands)
    banded = len(set(bands.values())) > 1
    frame, design, dropped, _ = _design(jt, bands if banded else None, factorized)
    judges = sorted(jt["judge"].unique())
    n_by_judge = (
        dict(zip(design.judges, np.bincount(frame["judge"], minlength=len(design.judges))))
        if frame is not None
        else {}
    )
    names = design.column_names if frame is not None else []
    params = se = pv = None
    fit_reason = None
    if frame is None:
        fit_reason = "no parsed non-tie pairwise judgments"
    elif len(names) == 0:
        fit_reason = "no identifiable term"
    else:
        try:
            params, se, pv, conv, why, model_dropped = _clogit(frame, design)
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
    out.attrs["sharpness"] = sharp
    out.attrs["comparison"] = comparison
    out.attrs["comparison_note"] = note
    out.attrs["banded"] = banded
    out.attrs["n_rows"] = 0 if frame is None else len(frame)
    return out


def logit_findings(coefs: pd.DataFrame, judge_info: dict) -> list[dict]:
    """Finding rows for the self / family / lineage terms; primary = self term, or family term
    for a judge without self pairs. Extra column ``term_position`` / ``term_length`` carry the
    nuisance terms for the forest plot."""
    rows = []
    within = (
        f"stratified by pair and sharpness band (judges of order consistency >= {SHARP_CONSISTENCY} "
        "compared with each other, the others with each other)"
        if coefs.attrs.get("banded")
        else "stratified by pair"
        + (f" ({coefs.attrs['comparison_note']})" if coefs.attrs.get("comparison_note") else "")
    )
    sharp = coefs.attrs.get("sharpness")
    sharp = {} if sharp is None else {r["judge"]: r for r in sharp.to_dict("records")}
    for j, g in coefs.groupby("judge", sort=True):
        t = g.set_index("term")
        # the self term is primary unless the judge never saw its own model's answers
        no_self = str(t.loc["self", "reason"] or "").startswith("constant column")
        primary_term = "fam" if no_self else "self"
        for term in ("self", "fam", "lin"):
            r = t.loc[term]
            est = r["estimate"] if pd.notna(r["estimate"]) else None
            method = (
                f"pooled conditional logit {within} (Chamberlain 1980), one row per parsed non-tie "
                "judgment, per-judge position/self/family/lineage/length terms and slopes on the "
                "human quality gap; log-odds relative to the judges compared; "
                "cluster-robust (sandwich, by item) SE; Wald z"
            )
            extra = {}
            band = sharp.get(j, {}).get("band")
            if coefs.attrs.get("banded") and band in _BAND_GROUP:
                # whom the log-odds compare this judge with, for the conclusion's wording
                extra["compared_with"] = _BAND_GROUP[band]
            if term == "self" and term == primary_term and est is not None:
                caveat = _sharpness_caveat(sharp.get(j, {}))
                if caveat:
                    extra["identifiability"] = caveat
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
                    **extra,
                    **judge_info.get(j, {}),
                )
            )
    return rows


#: The comparison group of a judge in each sharpness band (finding field ``compared_with``,
#: set only when the fit used more than one band).
_BAND_GROUP = {
    "sharp": f"the other sharp judges (order consistency >= {SHARP_CONSISTENCY})",
    "other": f"the other judges of order consistency below {SHARP_CONSISTENCY}",
}


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
    if est is None or not np.isfinite(est):
        # an undefined log-odds has no odds ratio to print ("odds xnan")
        return f"Not estimated: {r.get('reason') or 'the term is undefined on this data'}."
    caveat = r.get("identifiability")
    tail = f" {caveat}" if isinstance(caveat, str) and caveat else ""
    return _conclude_estimate(r, est, p, what, alpha) + tail


def _conclude_estimate(r: dict, est: float, p, what: str, alpha: float) -> str:
    odds = np.exp(est)
    padj = "Holm-adjusted p" if r["primary"] else "p"
    group = r.get("compared_with") or "the rest of the panel"
    if p is not None and p < alpha:
        return f"Compared with {group} on the same pairs, this judge {'favours' if est > 0 else 'disfavours'} {what} (odds x{odds:.2f}, {padj} = {p:.3g})."
    mde = r.get("mde")
    tail = (
        f"; with this data only |log-odds| >= {mde:.2f} (odds x{np.exp(mde):.2f}) would be detected with 80% power"
        if r["primary"] and mde is not None and mde == mde
        else ""
    )
    group = r.get("compared_with") or "the panel"
    return f"No significant preference for {what} relative to {group} (odds x{odds:.2f}, {padj} = {_fmt_p(p)}){tail}."


def _fmt_p(p):
    return "NA" if p is None or p != p else f"{p:.3g}"


def sharpness_table(jt: pd.DataFrame, factorized: dict | None = None) -> pd.DataFrame:
    """Per judge, what decides whether its self term can be read (docs/statistics.md#sharp-judges).

    Columns: judge, pairs_both_orders (pairs with a non-tie verdict in both orders),
    consistency (share of them decided the same way in both orders: the judge's sharpness),
    own_pairs (pairs with one answer of the judge's own model), own_pairs_humans_other (of
    them, pairs where the human vote share favours the other answer), picks_own_there
    (share of the judge's non-tie verdicts on those pairs that pick its own answer).
    ``factorized``: the fit's codes of the text columns (``_factorized``), when it has them."""
    cols = [
        "judge",
        "pairs_both_orders",
        "consistency",
        "own_pairs",
        "own_pairs_humans_other",
        "picks_own_there",
    ]
    pick = jt["pick_a"].to_numpy(dtype=float)
    keep = ~np.isnan(pick)
    if not keep.any():
        return pd.DataFrame(columns=cols)
    # integer codes of the judge and the pair (item_id, ra, rb) of each decided judgment: the
    # means, pair counts and distinct pairs below are bincounts and uniques on them
    pick = pick[keep]
    factorized = _factorized(jt) if factorized is None else factorized
    all_codes, all_judges = factorized["judge"]
    jcode, present = pd.factorize(all_codes[keep])
    judges = pd.Index(np.asarray(all_judges, dtype=object)[present])
    pair = np.zeros(int(keep.sum()), dtype=np.int64)
    for c in ("item_id", "ra", "rb"):
        codes, distinct = factorized[c]
        pair = pd.factorize(pair * (len(distinct) + 1) + codes[keep])[0].astype(np.int64)
    # mean pick per (judge, pair, order shown), in both orders: the same verdict or not
    jp, jp_judge = _judge_pair_codes(jcode, pair, len(judges))
    first = jt["first_a"].to_numpy()[keep].astype(np.int64)
    cell = jp * 2 + first
    n = np.bincount(cell, minlength=2 * len(jp_judge)).reshape(-1, 2)
    total = np.bincount(cell, weights=pick, minlength=2 * len(jp_judge)).reshape(-1, 2)
    both = (n > 0).all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total[both] / n[both]
    pairs_both = np.bincount(jp_judge[both], minlength=len(judges))
    same = np.bincount(jp_judge[both], weights=mean[:, 0] == mean[:, 1], minlength=len(judges))
    own_a = (jt["rel_a"] == "self").to_numpy(dtype=bool)[keep]
    own = own_a | (jt["rel_b"] == "self").to_numpy(dtype=bool)[keep]
    own_is_a = own_a[own]
    pgap = (
        jt["pgap"].to_numpy(dtype=float)[keep][own]
        if "pgap" in jt.columns
        else np.full(int(own.sum()), np.nan)
    )
    h_other = np.where(own_is_a, pgap < 0, pgap > 0)
    picks_own = np.where(own_is_a, pick[own] == 1, pick[own] == 0)
    own_judge, own_pair = jcode[own], pair[own]
    rows = []
    for j in sorted(judges):
        k = judges.get_loc(j)
        mine = own_judge == k
        oh = mine & h_other
        rows.append(
            {
                "judge": j,
                "pairs_both_orders": int(pairs_both[k]),
                "consistency": float(same[k] / pairs_both[k]) if pairs_both[k] else np.nan,
                "own_pairs": len(np.unique(own_pair[mine])),
                "own_pairs_humans_other": len(np.unique(own_pair[oh])),
                "picks_own_there": float(picks_own[oh].mean()) if oh.any() else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _judge_pair_codes(jcode: np.ndarray, pair: np.ndarray, n_judges: int):
    """(code of each row's (judge, pair), the judge code of each such code)."""
    code, distinct = pd.factorize(pair * n_judges + jcode)
    return code.astype(np.int64), (distinct % n_judges).astype(np.int64)


def _sharpness_caveat(s: dict) -> str | None:
    """The identifiability statement for a sharp judge's self term, from its own figures
    (:func:`sharpness_table` row), or None when the judge is not sharp or has no own pairs."""
    c = s.get("consistency")
    if c is None or c != c or c < SHARP_CONSISTENCY or not s.get("own_pairs"):
        return None
    there = s.get("picks_own_there")
    picked = (
        f" (it picked its own in {there * 100:.0f}% of its verdicts there)"
        if there is not None and there == there
        else ""
    )
    return (
        f"Caution: this judge is sharp (the same verdict in both orders on {c * 100:.0f}% of "
        f"{s['pairs_both_orders']} pairs), and humans favour the other answer on "
        f"{s['own_pairs_humans_other']} of its {s['own_pairs']} own-answer pairs{picked}. Its "
        "self term rests on the few close pairs, where its choice follows how it perceives those "
        "particular answers (a perception it may share with its family) more than the quality "
        "human votes measure. " + _sharp_reliability(s.get("band") == "sharp")
    )


def _sharp_reliability(banded: bool) -> str:
    """What the simulation says of a sharp judge's interval (docs/statistics.md#sharp-judges,
    validation/self_preference_coverage.py, 200 replicates per figure)."""
    if banded:
        # compared within its band: null flags 4.0% / 1.0%; a planted 1 logit with the
        # family's shared perception covered in 81%, found in 1.5%
        return (
            "Compared with the other sharp judges, its 95% CI flags an absent self-preference "
            "at about the nominal rate, but it can miss a real one (in simulation, with a "
            "perception shared by its family, a planted self-preference of 1 logit was found "
            "in 2% of replicates and its CI missed it in 19%: docs/statistics.md#sharp-judges), "
            "so a small or negative estimate does not show that it has none."
        )
    return (
        "For such a judge, compared with the whole panel, the 95% CI is unreliable in both "
        "directions (in simulation it often misses a real self-preference and flags one that "
        "is absent more often than 5%: docs/statistics.md#sharp-judges), so a small or "
        "negative estimate does not show that it has none, and a significant one needs "
        "confirming on more close pairs."
    )
