"""One implementation per statistic (issue 11 item 3): an AST check of the package source.

A function that computes Cohen's / weighted kappa, Krippendorff's alpha, Kendall's tau or
Spearman's rho, a majority / plurality / modal vote, a minimum detectable effect or the
low-margin rule may be DEFINED only in the home module of that statistic (:data:`HOMES`);
everywhere else the home function is called. The check reads every ``judgelab/**/*.py``
without importing it, and flags a function (methods and nested functions included) when

1. its **name** names the statistic (:data:`NAME_PATTERNS`, whole ``_``-separated words, e.g.
   ``_kappa_codes``, ``human_majority``, ``bootstrap_mde``, ``low_margin``), or
2. its **body** contains a primitive of the statistic (:func:`_body_concepts`): a library
   implementation (``scipy.stats.kendalltau`` / ``spearmanr``, ``sklearn`` ``cohen_kappa_score``,
   ``krippendorff.alpha``, ``Counter.most_common``, ``Series.mode()``,
   ``value_counts().idxmax()``, ``solve_power``), the chance correction ``(p_o - p_e) / (1 - p_e)``,
   the pairwise concordance signs ``sign(x[:, None] - x[None, :])``, or a normal quantile of
   the ``power`` (``ndtri(power)``, ``norm.ppf(power)``).

The rule for wrappers: a **findings builder** (a name ending in ``_row``, ``_rows``,
``_finding`` or ``_findings``, e.g. ``pairwise_kappa_rows``) formats rows of a statistic that
it gets from the home module, so its name is not flagged; its body still is (rule 2), so a
builder that computes the statistic inline fails. Any other function whose name matches but
that only delegates to the home function is listed in :data:`ALLOWED` with the reason.
:data:`KNOWN` holds the leftovers in modules another branch is rewriting; the coordinator
empties it after merging. Entries of both lists that no longer match fail the test, so the
lists cannot rot.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "judgelab"

#: statistic -> the one module allowed to define it (paths relative to the repository).
HOMES = {
    "kappa": "judgelab/stats/agreement/kappa.py",
    "alpha": "judgelab/stats/agreement/alpha.py",
    "rank correlation": "judgelab/stats/agreement/correlation.py",
    "vote": "judgelab/stats/votes.py",
    "mde": "judgelab/stats/power.py",
    "low margin": "judgelab/stats/queue.py",
}

#: statistic -> pattern on the lower-cased function name (whole words between underscores).
NAME_PATTERNS = {
    "kappa": re.compile(r"(^|_)kappa(_|$)"),
    "alpha": re.compile(r"(^|_)alpha(_|$)"),
    "rank correlation": re.compile(r"(^|_)(kendall|spearman|tau)(_|$)|rank_corr"),
    "vote": re.compile(r"(^|_)(majority|plurality|modal)(_|$)|mode_winner"),
    "mde": re.compile(r"(^|_)mde(_|$)|minimum_detectable"),
    "low margin": re.compile(r"low_margin"),
}

#: Findings builders: they format a statistic of the home module (body still checked).
BUILDER = re.compile(r"_(row|rows|finding|findings)$")

#: Library implementations: call name -> statistic.
LIBRARY_CALLS = {
    "cohen_kappa_score": "kappa",
    "fleiss_kappa": "kappa",
    "kendalltau": "rank correlation",
    "spearmanr": "rank correlation",
    "weightedtau": "rank correlation",
    "most_common": "vote",
    "solve_power": "mde",
}

#: "path:qualname" -> why this function may carry the name outside the home module.
ALLOWED = {
    # the label-budget planner: the kappa variance is agreement.kappa_unit_variance
    "judgelab/stats/planning.py:labels_for_kappa": "delegates to agreement.kappa_unit_variance",
    # accessors and tables of the pair statistics: they call kappa_from_totals /
    # alpha_*_from_* of the home modules on the per-pair sums, nothing else
    "judgelab/stats/judge_pairs.py:PairStats.kappa": "delegates to agreement.kappa_from_totals",
    "judgelab/stats/judge_pairs.py:PairStats.alpha": "delegates to agreement alpha_*_from_*",
    "judgelab/stats/judge_pairs.py:PairStats.alpha_per_item": "the per-item sums alpha reads",
    "judgelab/stats/judge_pairs.py:kappa_matrix": "reshapes pair_table into a square matrix",
    "judgelab/stats/entanglement.py:EntanglementPanel.alpha_kind": "a method label string",
    "judgelab/stats/entanglement.py:EntanglementPanel.alpha_point": "PairStats.alpha of the data",
    "judgelab/stats/entanglement.py:_alpha_mean": "bootstrap of PairStats.alpha (a builder)",
    # the audit chooses the kappa weights; it does not compute kappa
    "judgelab/stats/calibration/_common.py:kappa_weights_for": "picks weights by protocol",
    # the panel's pseudo-judge frame: the vote itself is votes.vote_share
    "judgelab/stats/calibration/panel.py:majority_verdicts": "frame of votes.vote_share",
    "judgelab/stats/calibration/panel.py:_pairwise_majority": "orients votes.vote_share",
    # the closure handed to the bootstrap: agreement.kendall_tau_b_rows of the win rates
    "judgelab/stats/calibration/ranking.py:ranking.tau": "calls agreement.kendall_tau_b_rows",
    # label codes <-> votes.mode_winner labels, the modal rule itself is votes'
    # the reference rule 'majority' (a strict majority of human raters, STATISTICS.md
    # "Reference labels"): a different rule from the plurality vote, and the reference
    # module is its home (issue 11 item 2)
}

#: Leftovers in modules another branch (unitsref) rewrites in parallel. The coordinator
#: empties this set after merging; an entry that no longer matches fails the test.
KNOWN = {
    "judgelab/ensembles.py:_kappa_or_none",  # wrapper of kappa_from_codes: call it directly
    "judgelab/ensembles.py:_mean_pairwise_kappa",  # the mean pairwise kappa: judge_pairs
    "judgelab/stats/position_pairs.py:_classify_calls.modal",  # argmax mode: votes.plurality
}


def _dump(node) -> str:
    return ast.dump(node, annotate_fields=False)


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _broadcast_index(node) -> bool:
    """``x[:, None]`` / ``x[None, :]``: a subscript with a ``None`` axis."""
    if not isinstance(node, ast.Subscript):
        return False
    sl = node.slice
    elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
    return any(isinstance(e, ast.Constant) and e.value is None for e in elts)


def _names_in(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _own_nodes(fn):
    """The nodes of a function body, not descending into nested functions or classes."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                stack.append(child)


def _body_concepts(fn) -> set[str]:
    """The statistics whose primitive formula or library implementation the body contains."""
    found = set()
    for node in _own_nodes(fn):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in LIBRARY_CALLS:
                found.add(LIBRARY_CALLS[name])
            f = node.func
            if (
                name == "alpha"
                and isinstance(f, ast.Attribute)
                and isinstance(f.value, ast.Name)
                and f.value.id == "krippendorff"
            ):
                found.add("alpha")
            if name == "mode" and isinstance(f, ast.Attribute) and not node.args:
                found.add("vote")  # pandas Series.mode()
            if (
                name == "idxmax"
                and isinstance(f, ast.Attribute)
                and isinstance(f.value, ast.Call)
                and _call_name(f.value) == "value_counts"
            ):
                found.add("vote")
            if name in ("ndtri", "ppf") and any("power" in _names_in(a) for a in node.args):
                found.add("mde")  # z_power: the power equation of an MDE
            if (
                name == "sign"
                and node.args
                and isinstance(node.args[0], ast.BinOp)
                and isinstance(node.args[0].op, ast.Sub)
                and _broadcast_index(node.args[0].left)
                and _broadcast_index(node.args[0].right)
            ):
                found.add("rank correlation")  # concordance signs of all unit pairs
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.left, ast.BinOp)
            and isinstance(node.left.op, ast.Sub)
            and isinstance(node.right, ast.BinOp)
            and isinstance(node.right.op, ast.Sub)
            and isinstance(node.right.left, ast.Constant)
            and node.right.left.value == 1
            and _dump(node.left.right) == _dump(node.right.right)
        ):
            found.add("kappa")  # (p_o - p_e) / (1 - p_e): chance-corrected agreement
    return found


def check_source(source: str, path: str) -> dict[str, set[str]]:
    """``{"path:qualname": {statistic, ...}}`` of the functions of ``source`` (a module at
    ``path``) that define a statistic outside its home module."""
    out: dict[str, set[str]] = {}

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{prefix}{child.name}"
                name = child.name.lower().strip("_")
                by_name = (
                    set()
                    if BUILDER.search(name)
                    else {c for c, pat in NAME_PATTERNS.items() if pat.search(name)}
                )
                concepts = {c for c in by_name | _body_concepts(child) if HOMES[c] != path}
                if concepts:
                    out[f"{path}:{qual}"] = concepts
                visit(child, f"{qual}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return out


def check_package() -> dict[str, set[str]]:
    root = PACKAGE.parent
    out: dict[str, set[str]] = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        out.update(check_source(p.read_text(encoding="utf-8"), p.relative_to(root).as_posix()))
    return out


def test_every_statistic_is_defined_only_in_its_home_module():
    found = check_package()
    unexpected = {k: v for k, v in found.items() if k not in ALLOWED and k not in KNOWN}
    assert not unexpected, (
        "statistics defined outside their home module (call the home function instead; "
        f"homes: {HOMES}):\n" + "\n".join(f"  {k}: {sorted(v)}" for k, v in unexpected.items())
    )


def test_allowed_and_known_entries_still_match():
    """A fixed leftover leaves KNOWN, a removed wrapper leaves ALLOWED (no silent exemptions)."""
    found = check_package()
    stale = sorted((set(ALLOWED) | KNOWN) - set(found))
    assert not stale, f"entries that no longer match, remove them: {stale}"
    assert not set(ALLOWED) & KNOWN


PLANTED = """
import numpy as np
from collections import Counter
from scipy import stats
from scipy.special import ndtri


def _kappa_codes(x, y):
    return 0.0


def agreement_score(po, pe):
    return (po - pe) / (1 - pe)


def concordance(x, y):
    return (np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])).sum()


def rank_agreement(x, y):
    return stats.kendalltau(x, y).statistic


def top_label(s):
    return s.value_counts().idxmax()


def most_voted(labels):
    return Counter(labels).most_common(1)[0][0]


def detectable(se, power=0.8):
    return (ndtri(0.975) + ndtri(power)) * se


def low_margin_cases(v):
    return v


class Panel:
    def majority(self):
        return None


def pairwise_kappa_rows(res):
    return [{"id": "pairwise_kappa", "estimate": res}]


def inline_kappa_row(po, pe):
    return [{"id": "cohen_kappa", "estimate": (po - pe) / (1 - pe)}]
"""


def test_the_check_catches_planted_duplicates():
    got = check_source(PLANTED, "judgelab/stats/planted.py")
    at = "judgelab/stats/planted.py:"
    assert got == {
        at + "_kappa_codes": {"kappa"},
        at + "agreement_score": {"kappa"},
        at + "concordance": {"rank correlation"},
        at + "rank_agreement": {"rank correlation"},
        at + "top_label": {"vote"},
        at + "most_voted": {"vote"},
        at + "detectable": {"mde"},
        at + "low_margin_cases": {"low margin"},
        at + "Panel.majority": {"vote"},
        # a findings builder that computes kappa inline is caught by its body
        at + "inline_kappa_row": {"kappa"},
    }
    # the same source in a home module: that home's statistic is not flagged there
    home = check_source(PLANTED, HOMES["kappa"])
    assert all("kappa" not in v for v in home.values())
    assert "judgelab/stats/agreement/kappa.py:rank_agreement" in home
