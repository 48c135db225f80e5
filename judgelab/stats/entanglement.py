"""Family entanglement: do judges of one provider family share blind spots?

Definitions follow docs/statistics.md#family-entanglement. For every judge pair (i, j),
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

**Unit of analysis.** ``order_aggregation`` (docs/statistics.md#orders-and-repeats) decides it:
``per_call`` (default): a unit is a (pair, order), i.e. a pair as displayed with a given
answer first; two judges agree on a unit when they pick the same *response* (verdicts
are mapped back to response ids, so both orders of a pair are separate units that
share the item cluster). ``first_order``: a unit is a pair, only its ``ab`` order.
``consistent_only``: a unit is a pair judged in both orders; an order-inconsistent
pair counts as a tie (FastChat's convention). Repeats (``sample``) are aggregated
within (judge, pair, order) first: the modal verdict (a tie between modes is a tie),
or the mean score. The item is always the resampling cluster.

**Where things live.** Units: :mod:`judgelab.stats.units`; per-pair sufficient statistics,
the pair table and matrices: :mod:`judgelab.stats.judge_pairs`; kappa and alpha:
:mod:`judgelab.stats.agreement`; gap tests and family-label permutations:
:mod:`judgelab.stats.family_gap`. This module holds the reference labels and one function
per finding id (``pairwise_kappa_rows``, ``alpha_gap_rows``, ...), composed by
:func:`entanglement_findings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from judgelab.stats import reference as refs
from judgelab.stats._tidy import finding, findings_frame
from judgelab.stats.errors import DataError
from judgelab.stats.family_gap import (
    family_label_assignments,
    gap_rows,
    mean_over,
)
from judgelab.stats.judge_pairs import (
    PairStats,
    error_matrix,
    pair_stats,
    phi_from_counts,
    phi_reason,
    relation,
)
from judgelab.stats.resampling import ResampleTotals, cluster_bootstrap
from judgelab.stats.units import UnitMatrix, member_mask, unit_matrix

__all__ = [
    "reference_labels",
    "given_reference",
    "entanglement_findings",
]

REFERENCES = ("auto", "truth", "human")
#: The study's reference (declared; :func:`judgelab.stats.reference.reference_labels`):
#: ``auto`` is the truth where it covers every unit, else the unanimous human label of pairs
#: with at least ``min_raters`` (default :data:`REFERENCE_MIN_RATERS`) raters.
REFERENCE_RULES = ("truth", "unanimous")
REFERENCE_MIN_RATERS = 2


# ---------------------------------------------------------------------------------------
# reference labels
# ---------------------------------------------------------------------------------------


def reference_labels(
    um: UnitMatrix,
    dataset,
    reference: str = "auto",
    *,
    min_raters: int = REFERENCE_MIN_RATERS,
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
    pairs = u[["item_id", "response_a", "response_b"]].set_axis(["item_id", "lo", "hi"], axis=1)
    votes = refs.coded_votes(getattr(dataset, "preferences", None))
    if has_truth and reference in ("auto", "truth"):
        rated = truth["quality"].notna().to_numpy()
        known = truth["response_id"].astype(str).to_numpy()[rated]
        covered = member_mask(pairs["lo"], known).all() and member_mask(pairs["hi"], known).all()
        if reference == "truth" or covered:
            ref, _, _ = refs.reference_labels(votes, rule="truth", truth=truth, pairs=pairs)
            return _drop_ref_ties(_on_units(pairs, ref), um), "truth (higher true quality wins)"
    ref, _, _ = refs.reference_labels(votes, rule="unanimous", min_raters=min_raters)
    return (
        _drop_ref_ties(_on_units(pairs, ref), um),
        f"human label on pairs where all raters agree (>= {min_raters} raters)",
    )


def given_reference(um: UnitMatrix, ref: tuple[np.ndarray, str] | None):
    """``ref`` (labels, source) as :func:`reference_labels` returns them for ``um``, checked
    to have one label per unit; None when not given."""
    if ref is None:
        return None
    labels, source = ref
    labels = np.asarray(labels, dtype=float)
    if labels.shape != (len(um.units),):
        raise ValueError(
            f"ref holds {labels.shape[0] if labels.ndim else 0} labels for {len(um.units)} "
            "units: pass reference_labels() of this unit matrix, or leave ref at None"
        )
    return labels, source


def _on_units(pairs: pd.DataFrame, ref: pd.DataFrame) -> np.ndarray:
    """Reference code per unit (nan: none) from coded reference labels."""
    key = ["item_id", "lo", "hi"]
    m = pairs.merge(ref[[*key, "ref"]].astype({"ref": float}), on=key, how="left")
    return m["ref"].to_numpy(dtype=float)


def _drop_ref_ties(ref: np.ndarray, um: UnitMatrix) -> np.ndarray:
    if um.tie_policy == "drop":
        ref = np.where(ref == 2, np.nan, ref)
    return ref


# ---------------------------------------------------------------------------------------
# findings: one function per finding id, composed by entanglement_findings
# ---------------------------------------------------------------------------------------


_UNIT_DESCRIPTIONS = {
    "per_call": "unit = (pair, order)",
    "first_order": "unit = pair (ab order only)",
    "consistent_only": "unit = pair (both orders; inconsistent = tie)",
}


@dataclass
class EntanglementPanel:
    """What every entanglement finding reads: the units, the judge pairs with their
    per-item statistics, the family relation of each pair, errors against the reference
    and the bootstrap / permutation settings."""

    um: UnitMatrix
    st: PairStats
    within: np.ndarray  # (P,) bool: pair inside one family
    boot: dict
    settings: str
    alpha: float
    ref: np.ndarray | None = None
    ref_src: str | None = None
    err: np.ndarray | None = None
    assignments: np.ndarray | None = None  # family-label permutation (None: no test)
    enumerated: tuple[int, bool] | None = None  # (distinct assignments, enumerated?)
    _resamples: dict = field(default_factory=dict, repr=False)

    def resamples(self, table: str) -> ResampleTotals:
        """The item-cluster resamples of one per-item table, summed once and read by every
        statistic bootstrapped on it (``boot``'s n_boot and seed): ``joint`` (the pairs'
        joint verdict counts, kappa), ``alpha`` (:meth:`PairStats.alpha_per_item`: the joint
        counts again for nominal verdicts) or ``errors`` (:attr:`err_per_item`, phi)."""
        if table == "alpha" and self.st.interval is None:
            table = "joint"  # alpha_per_item is the joint counts
        if table not in self._resamples:
            per_item = {
                "joint": lambda: self.st.joint.reshape(len(self.st.joint), -1),
                "alpha": self.st.alpha_per_item,
                "errors": lambda: self.err_per_item,
            }[table]()
            self._resamples[table] = ResampleTotals(
                per_item, n_boot=self.boot["n_boot"], seed=self.boot["seed"]
            )
        return self._resamples[table]

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return self.st.pairs

    @property
    def families(self) -> list[str]:
        return sorted({f for f in self.um.families if f is not None})

    def family_mask(self, family: str) -> np.ndarray:
        fam = self.um.families
        return np.array([fam[i] == family and fam[j] == family for i, j in self.pairs])

    @property
    def alpha_kind(self) -> str:
        return (
            "Krippendorff alpha (nominal)"
            if self.um.kind == "nominal"
            else "Krippendorff alpha (interval)"
        )

    @property
    def alpha_point(self) -> np.ndarray:
        return self.st.alpha(self.st.alpha_per_item().sum(0)[None, :])[0]

    @property
    def n_units(self) -> int:
        """Units at least two judges parsed."""
        return int(np.sum(np.sum(~np.isnan(self.um.values), axis=1) >= 2))

    # errors
    @property
    def phi_point(self) -> np.ndarray | None:
        return None if self.st.err is None else phi_from_counts(self.st.err.sum(0))

    def phi_of(self, T: np.ndarray) -> np.ndarray:
        return phi_from_counts(T.reshape(len(T), len(self.pairs), 4))

    @property
    def err_per_item(self) -> np.ndarray:
        return self.st.err.reshape(len(self.st.err), -1)

    @property
    def n_err_units(self) -> int:
        return int(np.sum(np.sum(~np.isnan(self.err), axis=1) >= 2))

    @property
    def n_no_ref(self) -> int:
        return int(np.isnan(self.ref).sum())

    @property
    def ref_note(self) -> str:
        return f"errors against {self.ref_src}; {self.settings}"

    @property
    def phi_defined(self) -> np.ndarray:
        return ~np.isnan(self.phi_point)

    @property
    def undefined_phi_note(self) -> str | None:
        defined, err, um = self.phi_defined, self.err, self.um
        if defined.all():
            return None
        zero_err = [
            um.judges[k]
            for k in range(len(um.judges))
            if np.nansum(err[:, k]) == 0 and np.any(~np.isnan(err[:, k]))
        ]
        return f"phi undefined (excluded) for {int((~defined).sum())} judge pairs" + (
            f"; judges without errors: {zero_err}" if zero_err else ""
        )


def entanglement_panel(
    um: UnitMatrix,
    dataset=None,
    *,
    reference: str = "auto",
    n_boot: int = 2000,
    seed: int = 0,
    ci_level: float = 0.95,
    n_perm: int = 9999,
    min_raters: int = REFERENCE_MIN_RATERS,
    score_tolerance: float = 1.0,
    alpha: float = 0.05,
    permutation: bool = True,
    ref: tuple[np.ndarray, str] | None = None,
) -> EntanglementPanel:
    """Prepare an :class:`EntanglementPanel` (see :func:`entanglement_findings`)."""
    labels = ref
    unit_desc = (
        _UNIT_DESCRIPTIONS[um.order_aggregation] if um.kind == "nominal" else "unit = response"
    )
    settings = f"{unit_desc}; tie_policy={um.tie_policy}; clusters = items"
    ref = ref_src = err = None
    if dataset is not None:
        ref, ref_src = given_reference(um, labels) or reference_labels(
            um, dataset, reference, min_raters=min_raters, score_tolerance=score_tolerance
        )
        err = error_matrix(um, ref, score_tolerance)
    st = pair_stats(um, err)
    fam = um.families
    within = np.array([relation(fam[i], fam[j]) == "within" for i, j in st.pairs])
    pn = EntanglementPanel(
        um, st, within, {"n_boot": n_boot, "seed": seed, "ci_level": ci_level}, settings, alpha,
        ref, ref_src, err,
    )  # fmt: skip
    if permutation and within.any() and (~within).any():
        pn.assignments, n_distinct, enumerated = family_label_assignments(
            fam, n_sample=n_perm, seed=seed
        )
        pn.enumerated = (n_distinct, enumerated)
    return pn


def _fmt_conclusion(res, text: str) -> str:
    if res.estimate is None:
        return f"Undefined: {res.reason}."
    ci = (
        f" (95% CI {res.ci_low:.2f} to {res.ci_high:.2f})"
        if res.ci_low is not None
        else " (no CI: " + str(res.reason) + ")"
    )
    return f"{text} {res.estimate:.2f}{ci}."


def pairwise_kappa_rows(pn: EntanglementPanel) -> list[dict]:
    """``pairwise_kappa`` per judge pair (BCa item-cluster CI), with the pair's alpha and
    error phi as extra columns."""
    um, st = pn.um, pn.st
    kappa_kind = (
        "Cohen's kappa (tie a class)"
        if um.kind == "nominal"
        else "Cohen's kappa, quadratic weights on scores"
    )
    alpha_point, phi_point = pn.alpha_point, pn.phi_point
    # every pair judged on every item (the usual case): each pair's kappa reads its columns
    # of the panel's resampled joint counts (one product for all pairs, exact on counts)
    shared = bool(np.all(st.joint.sum(axis=2) > 0))
    KK = st.joint.shape[2]
    rows = []
    for p, (i, j) in enumerate(pn.pairs):
        Jp = st.joint[:, p, :]
        n_units = int(Jp.sum())
        if shared:
            res = pn.resamples("joint").bootstrap(
                st.kappa,
                pn.boot["ci_level"],
                method="bca",
                columns=slice(p * KK, (p + 1) * KK),
            )
        else:
            res = cluster_bootstrap(
                Jp[Jp.sum(1) > 0] if n_units else Jp, st.kappa, method="bca", **pn.boot
            )
        fi, fj = um.families[i], um.families[j]
        rel = relation(fi, fj)
        extra = {
            "family_i": fi,
            "family_j": fj,
            "relation": rel,
            "alpha_ij": None if np.isnan(alpha_point[p]) else float(alpha_point[p]),
        }
        if phi_point is not None:
            extra["error_phi"] = None if np.isnan(phi_point[p]) else float(phi_point[p])
            extra["error_phi_reason"] = phi_reason(
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
                **{
                    **res.finding_kwargs(),
                    "method": f"{kappa_kind}; {pn.settings}; {res.method}",
                },
                **extra,
            )
        )
    return rows


def _alpha_mean(pn: EntanglementPanel, mask: np.ndarray):
    """Bootstrap of the mean alpha over the pairs in ``mask`` (BCa)."""
    return pn.resamples("alpha").bootstrap(
        lambda T: mean_over(pn.st.alpha(T), mask), pn.boot["ci_level"], method="bca"
    )


def _with_method(res, method: str) -> dict:
    return {**res.finding_kwargs(), "method": f"{method}; {res.method}"}


def alpha_within_family_rows(pn: EntanglementPanel) -> list[dict]:
    """``alpha_within_family`` per family and pooled over all within-family pairs."""
    rows = []
    for f in pn.families:
        fmask = pn.family_mask(f)
        if not fmask.any():
            rows.append(
                finding(
                    "alpha_within_family",
                    None,
                    slice={"family": f},
                    reason=f"family {f} has a single judge: no within-family pair",
                    method=pn.alpha_kind,
                )
            )
            continue
        res = _alpha_mean(pn, fmask)
        rows.append(
            finding(
                "alpha_within_family",
                slice={"family": f},
                n=pn.n_units,
                n_excluded=None,
                conclusion=_fmt_conclusion(
                    res, f"Judges of family {f} agree with each other at alpha"
                ),
                n_judge_pairs=int(fmask.sum()),
                **_with_method(
                    res, f"mean {pn.alpha_kind} over within-family pairs; {pn.settings}"
                ),
            )
        )
    if pn.within.any():
        res = _alpha_mean(pn, pn.within)
        rows.append(
            finding(
                "alpha_within_family",
                n=pn.n_units,
                n_excluded=None,
                n_judge_pairs=int(pn.within.sum()),
                conclusion=_fmt_conclusion(
                    res, "Over all within-family pairs, judges agree at alpha"
                ),
                **_with_method(
                    res, f"mean {pn.alpha_kind} over all within-family pairs; {pn.settings}"
                ),
            )
        )
    return rows


def alpha_across_families_rows(pn: EntanglementPanel) -> list[dict]:
    """``alpha_across_families``: mean alpha over pairs of different families."""
    across = ~pn.within
    if not across.any():
        return [
            finding("alpha_across_families", None, reason="every judge pair is within one family")
        ]
    res = _alpha_mean(pn, across)
    return [
        finding(
            "alpha_across_families",
            n=pn.n_units,
            n_excluded=None,
            n_judge_pairs=int(across.sum()),
            conclusion=_fmt_conclusion(res, "Judges of different families agree at alpha"),
            **_with_method(res, f"mean {pn.alpha_kind} over across-family pairs; {pn.settings}"),
        )
    ]


def alpha_gap_rows(pn: EntanglementPanel) -> list[dict]:
    """``alpha_gap`` (primary): within minus across mean alpha, plus the permutation row."""
    within = pn.within

    def gap(T):
        v = pn.st.alpha(T)
        return mean_over(v, within) - mean_over(v, ~within)

    return gap_rows(
        pn,
        "alpha_gap",
        pn.resamples("alpha"),
        gap,
        pn.alpha_point,
        pn.n_units,
        what="agreement (alpha)",
        settings=pn.settings,
    )


def _phi_mean_row(pn: EntanglementPanel, id_: str, mask, method: str, text: str, **kw) -> dict:
    res = pn.resamples("errors").bootstrap(
        lambda T: mean_over(pn.phi_of(T), mask), pn.boot["ci_level"], method="percentile"
    )
    fk = _with_method(res, method)
    return finding(
        id_,
        n=pn.n_err_units,
        n_excluded=pn.n_no_ref,
        n_judge_pairs=int(mask.sum()),
        conclusion=_fmt_conclusion(res, text),
        **kw,
        **fk,
    ), res


def error_correlation_within_rows(pn: EntanglementPanel) -> list[dict]:
    """``error_correlation_within`` per family and pooled: mean phi of the errors of
    within-family pairs (pairs with an undefined phi excluded)."""
    rows = []
    note = pn.undefined_phi_note
    for f in pn.families:
        fmask = pn.family_mask(f) & pn.phi_defined
        if not fmask.any():
            rows.append(
                finding(
                    "error_correlation_within",
                    None,
                    slice={"family": f},
                    reason=f"no within-family pair of family {f} with a defined phi"
                    + (f" ({note})" if note else ""),
                )
            )
            continue
        row, _ = _phi_mean_row(
            pn,
            "error_correlation_within",
            fmask,
            f"mean phi over within-family pairs; {pn.ref_note}",
            f"Errors of family {f}'s judges correlate at phi",
            slice={"family": f},
        )
        rows.append(row)
    rows.append(
        _pooled_phi_row(pn, "error_correlation_within", pn.within, "within",
                        "Errors of same-family judges correlate at phi")
    )  # fmt: skip
    return rows


def _pooled_phi_row(pn: EntanglementPanel, id_: str, relation_mask, side: str, text: str):
    mask = relation_mask & pn.phi_defined
    if not mask.any():
        return finding(id_, None, reason="no judge pair of this kind with a defined phi")
    res = pn.resamples("errors").bootstrap(
        lambda T: mean_over(pn.phi_of(T), mask), pn.boot["ci_level"], method="percentile"
    )
    note = pn.undefined_phi_note
    kw = res.finding_kwargs()
    kw["reason"] = res.reason if not note else "; ".join(x for x in (res.reason, note) if x)
    kw["method"] = f"mean phi over {side}-family pairs; {pn.ref_note}; {res.method}"
    return finding(
        id_,
        n=pn.n_err_units,
        n_excluded=pn.n_no_ref,
        n_judge_pairs=int(mask.sum()),
        conclusion=_fmt_conclusion(res, text),
        **kw,
    )


def error_correlation_across_rows(pn: EntanglementPanel) -> list[dict]:
    """``error_correlation_across``: mean error phi over pairs of different families."""
    return [
        _pooled_phi_row(pn, "error_correlation_across", ~pn.within, "across",
                        "Errors of judges from different families correlate at phi")
    ]  # fmt: skip


def error_correlation_gap_rows(pn: EntanglementPanel) -> list[dict]:
    """``error_correlation_gap`` (primary): within minus across mean error phi, plus the
    permutation row."""
    defined = pn.phi_defined
    w_def, a_def = pn.within & defined, (~pn.within) & defined

    def gap(T):
        v = pn.phi_of(T)
        return mean_over(v, w_def) - mean_over(v, a_def)

    return gap_rows(
        pn,
        "error_correlation_gap",
        pn.resamples("errors"),
        gap,
        np.where(defined, pn.phi_point, np.nan),
        pn.n_err_units,
        what="error correlation (phi)",
        settings=pn.ref_note,
        n_excluded=pn.n_no_ref,
        extra_reason=pn.undefined_phi_note,
    )


def effective_independent_judges_rows(pn: EntanglementPanel) -> list[dict]:
    """``effective_independent_judges`` = m / (1 + (m - 1) mean error phi)."""
    m, defined = len(pn.um.judges), pn.phi_defined
    if not defined.any():
        return [
            finding(
                "effective_independent_judges",
                None,
                reason="no judge pair with a defined error correlation",
            )
        ]

    def eff(T):
        rho = mean_over(pn.phi_of(T), defined)
        return m / (1.0 + (m - 1) * rho)

    res = pn.resamples("errors").bootstrap(eff, pn.boot["ci_level"], method="percentile")
    rho_bar = float(np.nanmean(pn.phi_point[defined]))
    return [
        finding(
            "effective_independent_judges",
            n=pn.n_err_units,
            n_excluded=pn.n_no_ref,
            n_judges=m,
            rho_bar=rho_bar,
            conclusion=(
                f"The {m} judges carry the information of about {res.estimate:.1f} independent judges "
                f"(mean error correlation {rho_bar:.2f})."
            ),
            **_with_method(res, f"m / (1 + (m - 1) mean phi); {pn.ref_note}"),
        )
    ]


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
    min_raters: int = REFERENCE_MIN_RATERS,
    score_tolerance: float = 1.0,
    alpha: float = 0.05,
    primary_only: bool = False,
    ref: tuple[np.ndarray, str] | None = None,
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
    permutation or effective-judges rows): the fast path for simulation studies. ``ref``:
    :func:`reference_labels` of (the unit matrix, ``dataset``, ``reference``,
    ``min_raters``, ``score_tolerance``) when the caller has it (the notebook's overview
    reads the same labels), so that it is not built again.
    """
    um = (
        verdicts
        if isinstance(verdicts, UnitMatrix)
        else unit_matrix(
            verdicts, order_aggregation=order_aggregation, tie_policy=tie_policy, families=families
        )
    )
    if len(um.judges) < 2:
        unit_desc = (
            _UNIT_DESCRIPTIONS[um.order_aggregation] if um.kind == "nominal" else "unit = response"
        )
        settings = f"{unit_desc}; tie_policy={um.tie_policy}; clusters = items"
        return findings_frame(
            [finding("pairwise_kappa", None, reason="fewer than 2 judges", method=settings)]
        )
    pn = entanglement_panel(
        um, dataset, reference=reference, n_boot=n_boot, seed=seed, ci_level=ci_level,
        n_perm=n_perm, min_raters=min_raters, score_tolerance=score_tolerance, alpha=alpha,
        permutation=not primary_only, ref=ref,
    )  # fmt: skip
    agreement = (
        [alpha_gap_rows]
        if primary_only
        else [
            pairwise_kappa_rows,
            alpha_within_family_rows,
            alpha_across_families_rows,
            alpha_gap_rows,
        ]
    )
    rows = [r for rows_of in agreement for r in rows_of(pn)]
    if pn.st.err is None:
        rows.append(
            finding(
                "error_correlation_gap",
                None,
                reason="no dataset given: no reference labels for errors",
                primary=True,
            )
        )
        return findings_frame(rows)
    errors = (
        [error_correlation_gap_rows]
        if primary_only
        else [
            error_correlation_within_rows,
            error_correlation_across_rows,
            error_correlation_gap_rows,
            effective_independent_judges_rows,
        ]
    )
    rows += [r for rows_of in errors for r in rows_of(pn)]
    return findings_frame(rows)
