"""Findings: the tidy finding rows of a study, their adjustment, their file and their display.

A study's analysis returns finding rows (:func:`judgelab.stats._tidy.finding`, columns
:data:`FINDING_COLUMNS`). :func:`save_findings` is the one place that turns them into a
result: multiple testing is applied once (Holm over the primary tests, Benjamini-Hochberg
over the exploratory ones, :func:`judgelab.stats.multitest.adjust_findings`), the study's
conclusions are rendered from the adjusted structured fields
(:func:`render_conclusions`), and ``findings.json``, ``run_summary.json`` and the run
record (:mod:`judgelab.run_record`) are written. :class:`FindingsTable` shows findings in
notebooks and HTML reports.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from judgelab import config
from judgelab.identity import short_labels
from judgelab.stats._tidy import FINDING_COLUMNS, finding, findings_frame

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.studies import StudyContext

__all__ = [
    "FINDING_COLUMNS",
    "FINDINGS_TABLE_CLASS",
    "FindingsTable",
    "adjust",
    "adjusted_findings",
    "decision_margins",
    "as_findings_frame",
    "conclusions",
    "conclusions_markdown",
    "decision_text",
    "caveats",
    "caveats_markdown",
    "answers",
    "answer_rows",
    "legend",
    "shorten",
    "credential_values",
    "is_credential_name",
    "redact_credentials",
    "scrub_text",
    "finding",
    "findings_document",
    "findings_frame",
    "jsonable",
    "output_dir",
    "render_conclusions",
    "save_findings",
    "write_findings",
]

#: CSS class of the findings table in notebooks and HTML reports (the browser test counts its rows).
FINDINGS_TABLE_CLASS = "judgelab-findings"


def output_dir(study: str | None = None) -> Path:
    """Where a study writes findings.json and figures: ``$JUDGELAB_OUT`` (set by the CLI), else
    ``reports/<study>`` in the project directory (:func:`judgelab.config.output_dir`)."""
    return config.output_dir(study)


def judge_record(j) -> dict:
    """JSON-safe description of a Judge for recorded parameters (never the api_key)."""
    if dataclasses.is_dataclass(j):
        d = {f.name: getattr(j, f.name) for f in dataclasses.fields(j) if f.name != "api_key"}
    else:
        d = {"model": getattr(j, "model", str(j))}
    d["judge_version"] = getattr(j, "version", None)
    return jsonable(d)


def as_findings_frame(findings) -> pd.DataFrame:
    """A findings frame (a DataFrame or a list of finding rows) with the finding columns first."""
    if isinstance(findings, pd.DataFrame):
        return findings_frame(findings.to_dict("records"))
    return findings_frame(list(findings))


class FindingsTable:
    """HTML rendering of a findings frame (see :meth:`StudyContext.findings_table`)."""

    def __init__(
        self, findings: pd.DataFrame, judges: list[dict] | None = None, max_conclusion=None
    ):
        self.findings = findings
        self.max_conclusion = max_conclusion
        # The run's short labels (identity.short_labels); findings.json keeps full identities.
        self._short = _labels(findings, judges)

    def frame(self) -> pd.DataFrame:
        """Display frame: judge, slice, finding, estimate [CI], decision (where a row has one),
        p, p adjusted, n, conclusion."""
        f = self.findings.copy()
        order = np.argsort(~f["primary"].fillna(False).astype(bool).to_numpy(), kind="stable")
        f = f.iloc[order]
        out = pd.DataFrame(
            {
                "finding": f["id"].astype(str)
                + np.where(f["primary"].fillna(False).astype(bool), " (primary)", ""),
                "judge": f["judge"].map(
                    lambda j: (
                        "all"
                        if j is None or (isinstance(j, float) and math.isnan(j))
                        else self._short.get(j, j)
                    )
                ),
                "slice": f["slice"].map(lambda s: _slice_text(s, self._short)),
                "estimate [CI]": [
                    _estimate_text(r.estimate, r.ci_low, r.ci_high, r.ci_level)
                    for r in f.itertuples()
                ],
                "p": f["p_value"].map(_p_text),
                "p adj.": f["p_adjusted"].map(_p_text),
                "n": f["n"].map(
                    lambda x: (
                        "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(int(x))
                    )
                ),
                "conclusion / reason": [
                    _conclusion_text(
                        shorten(r.conclusion, self._short),
                        shorten(r.reason, self._short),
                        self.max_conclusion,
                    )
                    for r in f.itertuples()
                ],
            }
        )
        if "decision" in f.columns and f["decision"].notna().any():
            # the decisive verdict beside the estimate (judgelab.stats.decision)
            out.insert(4, "decision", [decision_text(r) for r in f.to_dict("records")])
        return out.reset_index(drop=True)

    def _repr_html_(self) -> str:
        return self.frame().to_html(
            index=False, classes=FINDINGS_TABLE_CLASS, escape=True, border=0
        )

    def __repr__(self) -> str:
        return self.frame().to_string(index=False)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _slice_text(s, short: Mapping | None = None) -> str:
    """``family=aurora``; identity strings inside a slice (judge pairs) shown by ``short`` names."""
    if _missing(s) or s == {}:
        return ""
    short = short or {}

    def name(v):
        if isinstance(v, (list, tuple)):
            return " vs ".join(name(x) for x in v)
        return str(short.get(v, v)) if isinstance(v, str) else str(v)

    if isinstance(s, Mapping):
        return ", ".join(f"{k}={name(v)}" for k, v in s.items())
    return name(s)


def _fmt(x) -> str:
    if _missing(x):
        return "?"
    x = float(x)
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _estimate_text(est, lo, hi, level) -> str:
    if _missing(est):
        return "undefined"
    s = _fmt(est)
    if not _missing(lo) and not _missing(hi):
        lvl = "" if _missing(level) or float(level) == 0.95 else f" {float(level):.0%}"
        s += f" [{_fmt(lo)}, {_fmt(hi)}]{lvl}"
    return s


def _p_text(p) -> str:
    if _missing(p):
        return ""
    p = float(p)
    return "<0.0001" if p < 1e-4 else f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def _conclusion_text(conclusion, reason, limit) -> str:
    parts = [str(x) for x in (conclusion, reason) if not _missing(x) and str(x)]
    text = " ".join(parts)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# ------------------------------------------------------------ credentials
#: Words of a mapping key that mark its value as a credential (``api_key``, ``apiKey``,
#: ``access_token``, ``client_secret``, an ``Authorization`` header, ...). Whole words only:
#: ``max_tokens`` is a decoding setting, not a token.
CREDENTIAL_WORDS = frozenset(
    {"key", "apikey", "token", "secret", "password", "passwd", "authorization", "credentials"}
)
#: What a written file holds instead of a credential.
REDACTED = "<redacted>"


def is_credential_name(name) -> bool:
    """True for a mapping key naming a credential (one of :data:`CREDENTIAL_WORDS` among its
    snake_case, kebab-case or camelCase words)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name)).lower()
    return any(w in CREDENTIAL_WORDS for w in re.split(r"[^a-z0-9]+", words))


def _env_reference(v) -> bool:
    """``os.environ/NAME`` (litellm's convention) names where a key is read, not the key: kept
    so the record says which variable a run used."""
    return isinstance(v, str) and v.startswith("os.environ/")


def redact_credentials(x):
    """A copy of ``x`` (mappings and lists, recursively) with the value of every credential key
    (:func:`is_credential_name`) replaced by :data:`REDACTED`. Parameters, judge settings and
    manifests pass through here before they are written: an ``api_key`` given in a ``judges``
    mapping is used for the calls and never recorded."""
    if isinstance(x, Mapping):
        return {
            k: REDACTED
            if is_credential_name(k) and not _missing(v) and v != "" and not _env_reference(v)
            else redact_credentials(v)
            for k, v in x.items()
        }
    if isinstance(x, (list, tuple)):
        return [redact_credentials(v) for v in x]
    return x


def credential_values(x) -> list[str]:
    """The string values of the credential keys in ``x`` (mappings and lists, recursively):
    what must not appear in a written notebook or command line."""
    out: list[str] = []
    if isinstance(x, Mapping):
        for k, v in x.items():
            if is_credential_name(k) and isinstance(v, str) and v and not _env_reference(v):
                out.append(v)
            else:
                out.extend(credential_values(v))
    elif isinstance(x, (list, tuple)):
        for v in x:
            out.extend(credential_values(v))
    return out


def scrub_text(text: str, secrets) -> str:
    """``text`` with every value of ``secrets`` (and its JSON-escaped form) replaced by
    :data:`REDACTED`."""
    for s in sorted({str(s) for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, REDACTED)
        escaped = json.dumps(s)[1:-1]
        if escaped != s:
            text = text.replace(escaped, REDACTED)
    return text


# ------------------------------------------------------------ findings.json
def jsonable(x):
    """Recursively JSON-safe: numpy scalars -> Python, nan -> None, paths -> str, Judges -> dict."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (pd.Timestamp, _dt.datetime, _dt.date)):
        return x.isoformat()
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    if x is pd.NA or x is pd.NaT:
        return None
    if hasattr(x, "model") and hasattr(x, "version"):
        return judge_record(x)
    return str(x)


# ------------------------------------------------------------ findings.json
def findings_document(ctx: StudyContext, findings: pd.DataFrame) -> dict:
    """The findings.json document (docs/design.md "findings.json"): study, created_at,
    judgelab_version, parameters, data {name, sha256}, judges, findings."""
    import judgelab

    rows = []
    for rec in as_findings_frame(findings).to_dict("records"):
        row = {c: jsonable(rec.get(c)) for c in FINDING_COLUMNS}
        # Study-specific columns (mde, margin, n_assignments, ...) follow the standard ones
        # where they have a value for this row.
        for c, v in rec.items():
            if c not in row and not c.startswith("_"):
                v = jsonable(v)
                if v is not None:
                    row[c] = v
        row["primary"] = bool(row["primary"]) if row["primary"] is not None else False
        if isinstance(row["slice"], str):  # slices read back from CSV
            try:
                row["slice"] = json.loads(row["slice"])
            except ValueError:
                pass
        rows.append(row)
    return {
        "study": ctx.study,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "judgelab_version": judgelab.__version__,
        "parameters": redact_credentials(jsonable(ctx.parameters)),
        "data": {"name": ctx.dataset.name, "sha256": ctx.dataset.sha256},
        "judges": redact_credentials(jsonable(ctx.judges)),
        "findings": rows,
    }


def write_findings(ctx: StudyContext, findings: pd.DataFrame, out_dir: Path | None = None) -> Path:
    """Write findings.json, run_summary.json and the run record into ``out_dir``
    (default :func:`output_dir`); returns the path of findings.json."""
    from judgelab import run_record

    out = Path(out_dir) if out_dir is not None else output_dir(ctx.study)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "findings.json"
    doc = findings_document(ctx, findings)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    # How the verdicts were obtained (calls made / cached, cost): the CLI puts it in manifest.json.
    (out / "run_summary.json").write_text(
        json.dumps(redact_credentials(jsonable(ctx.summaries)), indent=2) + "\n"
    )
    try:
        lines = conclusions(ctx.study, findings, ctx.judges)
    except Exception as exc:  # a conclusion must never cost the findings already computed
        warnings.warn(f"conclusions of {ctx.study} not rendered: {exc!r}", stacklevel=2)
        lines = None
    run_record.write_run_record(
        run_record.build_run_record(ctx, findings_path=path, conclusions=lines), out
    )
    return path


# ------------------------------------------------------------ adjustment
def adjust(findings) -> pd.DataFrame:
    """Holm over primary findings, Benjamini-Hochberg over exploratory ones
    (:func:`judgelab.stats.multitest.adjust_findings`); a copy with ``p_adjusted`` and
    ``adjustment`` filled, and ``mde`` kept only beside a primary finding that is not
    significant after the adjustment (:func:`judgelab.stats.power.withhold_mde`)."""
    from judgelab.stats.multitest import ALPHA, adjust_findings
    from judgelab.stats.power import withhold_mde

    return withhold_mde(adjust_findings(as_findings_frame(findings)), ALPHA)


def adjusted_findings(
    findings, adjust_p: bool = True, margins: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """What the save step writes, without writing it: p-values adjusted once (:func:`adjust`,
    unless ``adjust_p=False``), then the conclusions rendered from the adjusted rows
    (:func:`render_conclusions`), then the decisive verdicts with ``margins`` (finding id ->
    margin; None: the documented defaults). Tests and interactive sessions that call a
    study's statistics directly read its final rows from here."""
    from judgelab.stats.decision import apply_decisions

    df = adjust(findings) if adjust_p else as_findings_frame(findings)
    # the decisive verdicts (established / refuted / inconclusive) and the estimand sentence
    return apply_decisions(render_conclusions(df), margins)


def decision_margins(ctx: StudyContext) -> dict[str, float]:
    """Finding id -> margin of its decisive verdict from the study's margin parameters in
    ``ctx.parameters`` (:meth:`judgelab.study.Study.decision_margins`); empty for a study
    without a declaration (the documented defaults apply)."""
    from judgelab import study

    try:
        decl = study.declaration(ctx.study)
    except (KeyError, ValueError):
        return {}
    return decl.decision_margins(ctx.parameters)


def save_findings(ctx: StudyContext, findings, adjust_p: bool = True) -> pd.DataFrame:
    """The save step of every study: :func:`adjusted_findings` (adjust p-values once unless
    ``adjust_p=False``, render the conclusions from the adjusted rows, decide with the
    study's margin parameters, :func:`decision_margins`), then findings.json and the run
    record written into :func:`output_dir`; returns the adjusted findings frame."""
    df = adjusted_findings(findings, adjust_p, decision_margins(ctx))
    write_findings(ctx, df)
    return df


# ------------------------------------------------------------ conclusions
#: Finding id -> function(row) -> conclusion text (or None to keep the row's own). Rendered
#: after the adjustment so a conclusion can read ``p_adjusted``; a statistic that still writes
#: its sentence itself registers nothing and keeps it.
CONCLUSION_RENDERERS: dict[str, Callable[[Mapping], str | None]] = {}


def render_conclusions(findings: pd.DataFrame) -> pd.DataFrame:
    """Fill ``conclusion`` of the rows whose id has a renderer in :data:`CONCLUSION_RENDERERS`
    from their structured (adjusted) fields; other rows keep theirs. Returns a copy."""
    import judgelab.study  # noqa: F401  (installs the package's studies' renderers)

    f = findings.copy()
    if not CONCLUSION_RENDERERS or f.empty:
        return f
    texts = f["conclusion"].astype(object).tolist()
    for i, rec in enumerate(f.to_dict("records")):
        render = CONCLUSION_RENDERERS.get(rec.get("id"))
        if render is not None:
            text = render(rec)
            if text is not None:
                texts[i] = text
    f["conclusion"] = pd.Series(texts, index=f.index, dtype=object)
    return f


def _labels(findings: pd.DataFrame, judges) -> dict[str, str]:
    """Short labels of the judges named in ``judges`` (records or identity strings) and of
    the judges of the findings."""
    ids = list(judges or [])
    # judges the findings name beyond the run's (the comparison's source) get labels too
    ids += findings["judge"].dropna().unique().tolist() if "judge" in findings.columns else []
    return short_labels(ids)


def _position_bias_conclusions(f: pd.DataFrame, labels: Mapping) -> list[str]:
    lines = []
    for judge, g in f.groupby("judge", sort=True):
        by = g.set_index("id")
        name = labels.get(judge, judge)
        parts = [
            by.at[k, "conclusion"]
            for k in ("first_slot_share", "position_consistency")
            if k in by.index and by.at[k, "conclusion"]
        ]
        lines.append(f"* **{name}**: " + " ".join(parts))
    return lines


def _self_preference_conclusions(f: pd.DataFrame, labels: Mapping, families: Mapping) -> list[str]:
    lines = []
    for judge, g in f[f["judge"].notna()].groupby("judge", sort=True):
        prim = g[g["primary"].astype(bool)]
        name = labels.get(judge, judge)
        text = " ".join(c for c in prim["conclusion"].dropna())
        harm = g[g["id"] == "harmful_self_preference"]["conclusion"].dropna()
        if len(harm):
            text += " " + harm.iloc[0]
        lines.append(f"* **{name}** ({families.get(judge)}): {text}")
    return lines


def conclusions(study: str, findings, judges=None) -> list[str]:
    """The study's plain-language conclusions (Markdown list items) from saved findings.

    The sentences are those the study notebooks printed after the findings table; they read
    the structured fields (``conclusion``, ``p_adjusted``, ``estimate``) of the adjusted rows.
    A study that declares a ``summary`` (:class:`judgelab.study.Study`) gets its items.
    ``judges``: the run's judges (findings.json ``judges`` records, with ``family``) for the
    short labels; default the judges of the findings. A registered study: the sentences of
    the renderers it declares (``Study.conclusions``); other studies -> [].
    """
    f = as_findings_frame(findings)
    if f.empty:
        return []
    labels = _labels(f, judges)
    summary = _section(study, "summary")
    if summary is not None:
        return [shorten(line, labels) for line in summary(f, labels)]
    if study == "position_bias":
        return _position_bias_conclusions(f, labels)
    if study == "self_preference":
        families = {
            str(_identity(j)): j.get("family") for j in judges or [] if isinstance(j, Mapping)
        }
        if not families and "judge_family" in f.columns:
            families = dict(f.dropna(subset=["judge"]).groupby("judge")["judge_family"].first())
        return _self_preference_conclusions(f, labels, families)
    return _declared_conclusions(study, f)


def _section(study: str, which: str):
    """The declared ``summary`` / ``caveats`` function of ``study`` (None when it has none)."""
    from judgelab.study import STUDY_DECLARATIONS

    decl = STUDY_DECLARATIONS.get(study)
    return decl.section(which) if decl is not None else None


def _declared_conclusions(study: str, f: pd.DataFrame) -> list[str]:
    """A registered study without a section of its own (a lab's, docs/new_study.md): one item
    per row whose id its declaration renders (``Study.conclusions``), in row order."""
    from judgelab.study import STUDY_DECLARATIONS

    decl = STUDY_DECLARATIONS.get(study)
    if decl is None or not decl.conclusions:
        return []
    rendered = f["id"].isin(list(decl.conclusions)) & f["conclusion"].notna()
    return [f"* {text}" for text in f.loc[rendered, "conclusion"] if str(text)]


def _identity(record: Mapping):
    from judgelab.identity import JudgeIdentity

    return JudgeIdentity.from_record(record)


def conclusions_markdown(study: str, findings, judges=None) -> str:
    """:func:`conclusions` joined as one Markdown block (what a notebook displays)."""
    return "\n".join(conclusions(study, findings, judges))


# ------------------------------------------------------------ caveats, answers, legend
def shorten(text, labels: Mapping) -> str:
    """``text`` with every full identity string of ``labels`` replaced by its short label
    (longest first, so an identity that contains another is replaced whole)."""
    if _missing(text):
        return text
    text = str(text)
    for ident in sorted(labels, key=len, reverse=True):
        if "|" in ident and ident in text:
            text = text.replace(ident, str(labels[ident]))
    return text


def answer_rows(findings) -> pd.DataFrame:
    """The rows that answer a study's question per judge: those carrying a ``verdict`` (the
    audit's ``gate``, the comparison's ``accuracy_difference``), else the primary tests."""
    f = as_findings_frame(findings)
    if "verdict" in f.columns and f["verdict"].notna().any():
        return f[f["verdict"].notna()]
    return f[f["primary"].fillna(False).astype(bool)]


def decision_text(row: Mapping) -> str:
    """The decisive verdict of a row in words (:mod:`judgelab.stats.decision`):
    ``established``, ``refuted``, ``inconclusive (about N more pairs would decide it)``, or
    "" for a row without one."""
    d = row.get("decision")
    if _missing(d):
        return ""
    more = row.get("more_units")
    if d == "inconclusive" and not _missing(more) and int(more) > 0:
        return f"inconclusive (about {int(more)} more {row.get('more_units_of') or 'units'} would decide it)"
    return str(d)


def answers(findings, judges=None) -> pd.DataFrame:
    """One row per answer row (:func:`answer_rows`): ``judge`` (short label, "all" for a
    study-wide test), ``answer`` (the verdict, else significant / not significant after the
    adjustment), ``decision`` (:func:`decision_text`: established / refuted / inconclusive)
    and ``conclusion`` (identities shortened). What the index page shows."""
    f = answer_rows(findings)
    if f.empty:
        return pd.DataFrame(columns=["judge", "answer", "decision", "conclusion"])
    labels = _labels(as_findings_frame(findings), judges)

    def answer(r) -> str:
        if "verdict" in r and not _missing(r.get("verdict")):
            return str(r["verdict"]).replace("_", " ")
        p = r.get("p_adjusted")
        p = r.get("p_value") if _missing(p) else p
        if _missing(r.get("estimate")):
            return "not estimable"
        if _missing(p):
            return "no test"
        return "significant" if float(p) < 0.05 else "not significant"

    def who(r) -> str:
        if not _missing(r.get("judge")):
            return str(labels.get(r["judge"], r["judge"]))
        sl = r.get("slice")
        if isinstance(sl, Mapping) and "ensemble" in sl:
            return "panel majority"
        return _slice_text(sl, labels) or "all" if not _missing(sl) else "all"

    recs = f.to_dict("records")
    return pd.DataFrame(
        {
            "judge": [who(r) for r in recs],
            "answer": [answer(r) for r in recs],
            "decision": [decision_text(r) for r in recs],
            "conclusion": [
                shorten(_conclusion_text(r.get("conclusion"), r.get("reason"), None), labels)
                for r in recs
            ],
        }
    )


def legend(judges) -> pd.DataFrame:
    """The run's judges: short label beside the full identity (model, backend, judge_version)
    and family; the table conclusions and figures refer to."""
    recs = [j for j in judges or [] if isinstance(j, Mapping)]
    if not recs:
        return pd.DataFrame(columns=["label", "model", "backend", "judge_version", "family"])
    from judgelab.identity import JudgeIdentity

    labels = short_labels(recs)
    rows = []
    for j in recs:
        ident = JudgeIdentity.from_record(j)
        rows.append(
            {
                "label": labels.get(str(ident), str(ident)),
                **ident.as_record(),
                "family": j.get("family"),
            }
        )
    return pd.DataFrame(rows)


def caveats(study: str, findings, judges=None, summaries=None) -> list[str]:
    """The study's caveats (Markdown list items) from its findings and run: the sample size of
    its answers, findings that could not be estimated and why, calls a partial run did not
    send (``summaries``: the run summaries, ``ctx.summaries``), then the study's declared
    caveats (``Study.caveats``: its reference rule and method limits)."""
    f = as_findings_frame(findings)
    labels = _labels(f, judges) if not f.empty else {}
    out: list[str] = []
    if not f.empty:
        ans = answer_rows(f)
        n = pd.to_numeric(ans["n"], errors="coerce").dropna()
        if len(n):
            span = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())} to {int(n.max())}"
            out.append(
                f"* Sample size: each answer above rests on {span} units "
                "(a unit is a judged pair or response, several per item; CIs resample items)."
            )
        undefined = f[f["estimate"].isna() & f["reason"].notna()]
        for (fid, reason), g in undefined.groupby(["id", "reason"], sort=False):
            who = sorted({str(labels.get(j, j)) for j in g["judge"].dropna()})
            out.append(
                f"* `{fid}` not estimable"
                + (
                    f" for {', '.join(who[:6])}{' and others' if len(who) > 6 else ''}"
                    if who
                    else ""
                )
                + f": {shorten(reason, labels)}."
            )
        out += _inconclusive_caveats(f, labels)
    from judgelab.engine import stop_line

    for s in summaries or []:
        for stop in (s.get("stopped") or []) if isinstance(s, Mapping) else []:
            out.append(
                f"* Partial run: {shorten(stop_line(stop), labels)}; findings use the verdicts obtained."
            )
    declared = _section(study, "caveats")
    if declared is not None and not f.empty:
        out += [shorten(line, labels) for line in declared(f, labels)]
    return out


def _inconclusive_caveats(f: pd.DataFrame, labels: Mapping) -> list[str]:
    """One line per finding id whose decisive verdict is inconclusive: for whom, and how many
    more units would decide it (judgelab.stats.decision: planned at the margin)."""
    if "decision" not in f.columns:
        return []
    out = []
    inc = f[f["decision"] == "inconclusive"]
    for fid, g in inc.groupby("id", sort=False):
        who = sorted({str(labels.get(j, j)) for j in g["judge"].dropna()})
        more = pd.to_numeric(g.get("more_units"), errors="coerce").dropna()
        unit = g["more_units_of"].dropna().iloc[0] if g["more_units_of"].notna().any() else "units"
        margin = g["decision_margin"].dropna()
        span = (
            ""
            if more.empty
            else f"{int(more.min())}"
            if more.min() == more.max()
            else f"{int(more.min())} to {int(more.max())}"
        )
        out.append(
            f"* `{fid}` is inconclusive"
            + (f" for {', '.join(who[:6])}{' and others' if len(who) > 6 else ''}" if who else "")
            + (
                f": about {span} more {unit} would decide it"
                + (f" at the planned margin {float(margin.iloc[0]):g}" if len(margin) else "")
                if span
                else ""
            )
            + "."
        )
    return out


def caveats_markdown(study: str, findings, judges=None, summaries=None) -> str:
    """:func:`caveats` joined as one Markdown block, then the legend of the judges' labels."""
    lines = caveats(study, findings, judges, summaries)
    leg = legend(judges)
    if len(leg):
        lines += ["", "**Judges** (labels used above and their full identities):", ""]
        lines += ["| label | model | backend | judge_version | family |", "|---|---|---|---|---|"]
        lines += [
            "| " + " | ".join("" if _missing(v) else str(v) for v in r) + " |"
            for r in leg[["label", "model", "backend", "judge_version", "family"]].itertuples(
                index=False
            )
        ]
    return "\n".join(lines)
