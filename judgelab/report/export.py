"""Findings files of a run: read them, export them (CSV, LaTeX, figures), diff two runs, and
summarise a verdict store."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pandas as pd

from judgelab.identity import JudgeIdentity
from judgelab.report.results import StudyError

__all__ = [
    "read_findings",
    "findings_frame",
    "export_run",
    "diff_runs",
    "DIFF_FIELDS",
    "verdicts_summary",
]


# --------------------------------------------------------------- findings io
def read_findings(run_dir_or_file: str | os.PathLike) -> dict:
    """findings.json of a run directory (or the file itself)."""
    p = Path(run_dir_or_file)
    if p.is_dir():
        p = p / "findings.json"
    if not p.exists():
        raise StudyError(f"no findings.json in {p.parent}")
    return json.loads(p.read_text())


def findings_frame(doc: dict) -> pd.DataFrame:
    """findings.json findings as a DataFrame (slice kept as a mapping)."""
    from judgelab.stats._tidy import FINDING_COLUMNS

    f = pd.DataFrame(doc.get("findings") or [])
    for c in FINDING_COLUMNS:
        if c not in f.columns:
            f[c] = None
    f["primary"] = f["primary"].fillna(False).astype(bool)
    return f


def _slice_key(s) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return ""
    return json.dumps(s, sort_keys=True) if isinstance(s, (dict, list)) else str(s)


# ------------------------------------------------------------------- export
def export_run(run_dir: str | os.PathLike, to: str | os.PathLike) -> dict[str, list[Path]]:
    """Findings as ``findings.csv`` and ``findings.tex`` (LaTeX table, booktabs), figures as
    SVG and PDF (those saved by :func:`show`; images found only in the executed notebook
    are written as PNG). Returns the written paths by kind."""
    run = Path(run_dir)
    doc = read_findings(run)
    dest = Path(to)
    dest.mkdir(parents=True, exist_ok=True)
    f = findings_frame(doc)
    flat = f.copy()
    flat["slice"] = flat["slice"].map(_slice_key)
    csv = dest / "findings.csv"
    flat.to_csv(csv, index=False)
    tex = dest / "findings.tex"
    tex.write_text(_latex_table(doc, f))
    written: dict[str, list[Path]] = {"tables": [csv, tex], "figures": []}
    fig_src = run / "figures"
    fig_dest = dest / "figures"
    if fig_src.is_dir():
        for p in sorted(fig_src.iterdir()):
            if p.suffix.lower() in (".svg", ".pdf"):
                fig_dest.mkdir(exist_ok=True)
                shutil.copy2(p, fig_dest / p.name)
                written["figures"].append(fig_dest / p.name)
    if not written["figures"]:
        written["figures"] = _extract_notebook_images(run, fig_dest)
    return written


def _extract_notebook_images(run: Path, dest: Path) -> list[Path]:
    import base64

    import nbformat

    nbs = [p for p in run.glob("*.ipynb")]
    out = []
    for nbp in nbs:
        nb = nbformat.read(str(nbp), as_version=4)
        k = 0
        for ci, cell in enumerate(nb.cells):
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                for mime, ext in (
                    ("image/svg+xml", "svg"),
                    ("application/pdf", "pdf"),
                    ("image/png", "png"),
                ):
                    if mime in data:
                        dest.mkdir(parents=True, exist_ok=True)
                        p = dest / f"cell{ci:03d}_{k}.{ext}"
                        payload = data[mime]
                        if ext == "svg":
                            p.write_text(payload if isinstance(payload, str) else "".join(payload))
                        else:
                            p.write_bytes(base64.b64decode(payload))
                        out.append(p)
                        k += 1
                        break
    return out


_LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def _tex(s) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(s))


def _latex_table(doc: dict, f: pd.DataFrame) -> str:
    from judgelab.findings import _estimate_text, _p_text, _slice_text

    judges = doc.get("judges") or []
    models = [j.get("model") for j in judges]
    short = {
        str(JudgeIdentity.from_record(j)): j.get("model")
        for j in judges
        if models.count(j.get("model")) == 1
    }
    lines = [
        "% judgelab findings: "
        + _tex(doc.get("study", ""))
        + f", data {_tex((doc.get('data') or {}).get('name', ''))}",
        "\\begin{table}[ht]",
        "\\centering",
        "\\small",
        "\\begin{tabular}{llllrrr}",
        "\\toprule",
        "Finding & Judge & Slice & Estimate [95\\% CI] & $p$ & $p_{adj}$ & $n$ \\\\",
        "\\midrule",
    ]
    order = f.sort_values("primary", ascending=False, kind="stable")
    for r in order.itertuples():
        judge = (
            "all"
            if r.judge is None or (isinstance(r.judge, float) and math.isnan(r.judge))
            else short.get(r.judge, r.judge)
        )
        fid = _tex(r.id) + ("$^{*}$" if r.primary else "")
        n = "" if r.n is None or (isinstance(r.n, float) and math.isnan(r.n)) else str(int(r.n))
        lines.append(
            " & ".join(
                [
                    fid,
                    _tex(judge),
                    _tex(_slice_text(r.slice, short)),
                    _tex(_estimate_text(r.estimate, r.ci_low, r.ci_high, r.ci_level)),
                    _tex(_p_text(r.p_value)),
                    _tex(_p_text(r.p_adjusted)),
                    n,
                ]
            )
            + " \\\\"
        )
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{{_tex(doc.get('study', '').replace('_', ' '))}: findings. $^{{*}}$ primary test (Holm-adjusted); "
        "other $p$ exploratory (Benjamini-Hochberg). CIs unadjusted.}",
        f"\\label{{tab:{_tex(doc.get('study', 'findings')).replace(chr(92), '')}}}",
        "\\end{table}",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------- diff
DIFF_FIELDS = ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted", "n")


def diff_runs(
    run_a: str | os.PathLike, run_b: str | os.PathLike, alpha: float = 0.05
) -> pd.DataFrame:
    """Findings of two runs side by side, matched on (id, judge, slice).

    Columns: id, judge, slice, primary, then ``<field>_a``, ``<field>_b`` for estimate, CI,
    p, p adjusted and n; ``delta`` = estimate_b − estimate_a; ``significant_a/_b`` (p adjusted
    < alpha) and ``change``: ``only in A``, ``only in B``, ``significance changed``,
    ``estimate changed`` or ``same``."""
    fa, fb = findings_frame(read_findings(run_a)), findings_frame(read_findings(run_b))
    for f in (fa, fb):
        f["_slice"] = f["slice"].map(_slice_key)
        f["_judge"] = f["judge"].map(
            lambda j: "" if j is None or (isinstance(j, float) and math.isnan(j)) else str(j)
        )
    key = ["id", "_judge", "_slice"]
    keep = [*key, "judge", "slice", "primary", *DIFF_FIELDS]
    m = fa[keep].merge(fb[keep], on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    out = pd.DataFrame(
        {
            "id": m["id"],
            "judge": m["judge_a"].combine_first(m["judge_b"]),
            "slice": m["_slice"],
            "primary": m["primary_a"].combine_first(m["primary_b"]),
        }
    )
    for fld in DIFF_FIELDS:
        out[f"{fld}_a"] = pd.to_numeric(m[f"{fld}_a"], errors="coerce")
        out[f"{fld}_b"] = pd.to_numeric(m[f"{fld}_b"], errors="coerce")
    out["delta"] = out["estimate_b"] - out["estimate_a"]
    out["significant_a"] = out["p_adjusted_a"] < alpha
    out["significant_b"] = out["p_adjusted_b"] < alpha
    change = []
    for r, ind in zip(out.itertuples(), m["_merge"], strict=False):
        if ind == "left_only":
            change.append("only in A")
        elif ind == "right_only":
            change.append("only in B")
        elif (
            not pd.isna(r.p_adjusted_a) or not pd.isna(r.p_adjusted_b)
        ) and r.significant_a != r.significant_b:
            change.append("significance changed")
        elif (
            not _same(r.estimate_a, r.estimate_b)
            or not _same(r.ci_low_a, r.ci_low_b)
            or not _same(r.ci_high_a, r.ci_high_b)
        ):
            change.append("estimate changed")
        else:
            change.append("same")
    out["change"] = change
    out["primary"] = out["primary"].fillna(False).astype(bool)
    return out.sort_values(
        ["primary", "id", "judge", "slice"],
        ascending=[False, True, True, True],
        kind="stable",
        na_position="first",
    ).reset_index(drop=True)


def _same(a, b, tol: float = 1e-12) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(a)))


# ----------------------------------------------------------------- verdicts
def verdicts_summary(store_path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(identities of a store: model, backend, judge_version, family, protocol, verdict, parsed,
    failed and call counts and cost of distinct calls; the tidy verdict frame)."""
    from judgelab.store import VerdictStore

    path = Path(store_path)
    if not path.is_file():
        raise StudyError(f"no verdict store at {path}")
    store = VerdictStore(path)
    try:
        ids = store.identities()
        frame = store.to_frame()
    finally:
        store.close()
    return ids, frame
