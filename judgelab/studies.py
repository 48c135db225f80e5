"""Study inputs shared by every notebook: ``prepare(study, **parameters) -> StudyContext``.

Every study notebook (``judgelab/notebooks/<study>.ipynb``) starts with a
``parameters`` cell and then calls::

    ctx = jl.studies.prepare("position_bias", **{name: value for every parameter})

``prepare`` does what every study needs before its statistics (docs/design.md#studies):

1. loads the dataset (``"demo"``, a registered name or a directory) and validates it;
2. resolves ``judges`` (:mod:`judgelab.judge_specs`): a list of model strings, mappings of
   :class:`judgelab.judges.Judge` fields (``sim`` for simulated judges), Judge objects, or
   ``"panel:demo"`` / ``"panel:null"`` (:func:`judgelab.sim.panel`);
3. obtains verdicts: ``"call"`` judges now through :mod:`judgelab.run` (pairwise by
   default, or ``protocol="single" | "rubric"``) against the verdict store;
   ``"dataset"`` / ``"published"`` takes the dataset's stored verdicts; any other value
   is a path to a verdict store (``.sqlite``/``.db``) or a CSV / JSONL / Parquet verdict
   export. Otherwise ``judges`` filters on ``model`` (its default keeps every identity);
4. applies ``select`` (mapping of ``model, backend, judge_version, run_id``; values may
   be lists);
5. refuses a *mixed* selection unless ``allow_mixed``: a study expects one identity per
   judge, so a model whose verdicts come from more than one (backend, judge_version)
   identity (two prompt versions of the same model, or a Router fallback that answered
   some calls) is mixed; the error lists every identity with its verdict count. Unfiltered
   stored verdicts are never mixed: each identity is its own judge.

The context then offers ``ctx.call(...)`` (judge more: judge_comparison judges a missing
source and the candidates with it), ``ctx.save_findings(df)`` (the save step of
:mod:`judgelab.findings`: multiple-testing adjustment once, conclusions, ``findings.json``
and the run record of :mod:`judgelab.run_record`), ``ctx.conclusions(df)`` and
``ctx.findings_table(df)`` (display). Each study's parameters, figures and analysis are
declared in :mod:`judgelab.study`; judge identities are :class:`judgelab.identity.JudgeIdentity`.

Figures: use :func:`judgelab.report.show` so that they appear in the notebook *and* are
saved as SVG and PDF for ``judgelab export``.
"""

from __future__ import annotations

import html as _html
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from judgelab import config
from judgelab.data import DataError, Dataset, read_table
from judgelab.datasets import load_dataset
from judgelab.findings import (
    FindingsTable,
    as_findings_frame,
    jsonable,
    output_dir,
    redact_credentials,
)
from judgelab.identity import (
    IDENTITY_COLUMNS,
    JudgeIdentity,
    identities_table,
    identity_strings,
)
from judgelab.judge_specs import as_list, filter_models, resolve_judges
from judgelab.verdict_schema import PROTOCOLS

__all__ = [
    "STUDIES",
    "SHARED_DEFAULTS",
    "StudyContext",
    "MixedIdentitiesError",
    "prepare",
    "notebooks_dir",
    "notebook_dirs",
    "available_studies",
    "notebook_path",
    "study_parameters",
    "current_study",
    "resolve_judges",  # its home is judgelab.judge_specs
    "load_verdicts",
    "apply_select",
    "check_identities",
]

#: The studies of docs/design.md, in the order reports and the demo index show them.
STUDIES = (
    "position_bias",
    "self_preference",
    "family_entanglement",
    "calibration_audit",
    "judge_comparison",
    "corrected_estimate",
)

#: Defaults of the parameters every study shares (docs/design.md#studies). A notebook's own
#: parameters cell states its defaults; these fill in what a caller left out.
SHARED_DEFAULTS: dict[str, Any] = {
    "dataset": "demo",
    "judges": "panel:demo",
    "verdicts": "call",
    "select": None,
    "pairs": "human",
    "n_pairs": None,
    "store": config.DEFAULT_STORE,
    "tie_policy": "class",
    "order_aggregation": "per_call",
    "allow_mixed": False,
    "seed": 0,
    "n_boot": 2000,
    "concurrency": 8,
    "max_cost_usd": None,
    "dry_run": False,
}

IDENTITY = list(IDENTITY_COLUMNS)
SELECT_KEYS = ("model", "backend", "judge_version", "run_id")


class MixedIdentitiesError(ValueError):
    """A selection spans several judge identities where the study expects one per judge."""

    def __init__(self, message: str, identities: pd.DataFrame):
        self.identities = identities
        super().__init__(message)


# ----------------------------------------------------------------- notebooks
def notebooks_dir() -> Path:
    """The study notebooks shipped inside the package (works from a wheel too)."""
    return config.NOTEBOOKS_DIR


def notebook_dirs() -> list[Path]:
    """Where studies are looked up: directories in ``$JUDGELAB_NOTEBOOKS`` (os.pathsep-separated;
    a lab's own study notebooks, or test notebooks) before the package's notebooks."""
    return [*config.extra_notebook_dirs(), notebooks_dir()]


def _notebook_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in notebook_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.ipynb")):
                if not p.name.startswith(".") and not p.stem.endswith("-checkpoint"):
                    found.setdefault(p.stem, p)
    return found


def available_studies() -> list[str]:
    """Studies whose notebook exists, known studies first in docs/design.md order."""
    present = set(_notebook_files())
    known = [s for s in STUDIES if s in present]
    return known + sorted(present - set(STUDIES))


def notebook_path(study: str) -> Path:
    """Path of a study's notebook; unknown studies raise a ValueError listing the valid ones."""
    files = _notebook_files()
    if study not in files:
        valid = available_studies()
        raise ValueError(
            f"unknown study '{study}'; valid studies: "
            + (
                ", ".join(valid)
                if valid
                else f"(no study notebooks installed in {notebooks_dir()})"
            )
        )
    return files[study]


def study_parameters(study: str) -> dict[str, dict[str, Any]]:
    """The notebook's parameters as papermill reads them: name -> {name, inferred_type_name,
    default, help} (default is the source text of the default value)."""
    import ast

    from papermill import inspect_notebook

    spec = {k: dict(v) for k, v in inspect_notebook(str(notebook_path(study))).items()}
    for p in spec.values():
        # papermill infers types from annotations only; an unannotated literal default still says its type
        if p.get("inferred_type_name") in (None, "None"):
            try:
                value = ast.literal_eval(str(p.get("default")))
            except (ValueError, SyntaxError):
                continue
            if value is not None:
                p["inferred_type_name"] = type(value).__name__
    return spec


# --------------------------------------------------------------- identities
def check_identities(
    verdicts: pd.DataFrame, allow_mixed: bool = False, what: str = "the selected verdicts"
) -> pd.DataFrame:
    """Refuse a selection in which one judge (model) has several identities.

    A study compares judges; pooling verdicts of one model that were produced under two
    judge_versions (prompt, template, decoding or parser changed) or by two backends
    (e.g. a Router fallback) measures neither. So a model with more than one distinct
    (backend, judge_version) is *mixed*; with ``allow_mixed`` the identities are kept
    apart (analyses group by identity) and nothing is raised.

    Returns the identities table; raises :class:`MixedIdentitiesError` listing every
    identity of the mixed models with its verdict count.
    """
    ids = identities_table(verdicts)
    if allow_mixed or ids.empty:
        return ids
    per_model = ids.groupby(ids["model"].astype(str))["judge"].transform("count")
    mixed = ids[per_model.to_numpy() > 1]
    if mixed.empty:
        return ids
    lines = [f"  {r.judge}  ({r.n} verdicts)" for r in mixed.itertuples()]
    if len(lines) > 40:  # published datasets can hold dozens of prompt versions
        versions = sorted(mixed["judge_version"].astype(str).unique())
        lines = lines[:40] + [
            f"  ... and {len(lines) - 40} more; judge_versions present: {', '.join(versions)}"
        ]
    models = sorted(mixed["model"].astype(str).unique())
    msg = (
        f"{what} span {len(mixed)} identities (model, backend, judge_version) for "
        f"{len(models)} judge(s) {models}; a study expects one identity per judge:\n"
        + "\n".join(lines)
        + "\nNarrow the selection with select={'judge_version': ..., 'backend': ...} "
        "or set allow_mixed=True to analyse each identity separately."
    )
    raise MixedIdentitiesError(msg, mixed.reset_index(drop=True))


def apply_select(verdicts: pd.DataFrame, select: Mapping | None) -> pd.DataFrame:
    """Keep rows matching ``select`` (keys among model, backend, judge_version, run_id;
    a value or a list of values; None means any)."""
    if not select:
        return verdicts
    if not isinstance(select, Mapping):
        raise ValueError(f"select must be a mapping of {', '.join(SELECT_KEYS)}, not {select!r}")
    unknown = sorted(set(select) - set(SELECT_KEYS))
    if unknown:
        raise ValueError(f"select: unknown key(s) {unknown}; valid keys: {', '.join(SELECT_KEYS)}")
    mask = np.ones(len(verdicts), dtype=bool)
    for key, value in select.items():
        if value is None:
            continue
        if key not in verdicts.columns:
            raise DataError(
                "verdicts", key, f"select on '{key}' but the verdicts have no such column"
            )
        wanted = {str(x) for x in as_list(value)}
        mask &= verdicts[key].astype(str).isin(wanted).to_numpy()
    return verdicts[mask].reset_index(drop=True)


# ------------------------------------------------------------------ verdicts
def load_verdicts(source: str | os.PathLike, dataset: Dataset | None = None) -> pd.DataFrame:
    """Verdicts from a store (``.sqlite``, ``.sqlite3``, ``.db``) or a CSV / JSONL / Parquet
    export, checked against the verdict schema (and ``dataset``) and normalised.

    The checked frame is kept by content (:mod:`judgelab.verdict_cache`): the kernel of
    ``judgelab run`` reads what the CLI's pre-kernel check wrote; any change of the file, the
    dataset or the code checks again."""
    from judgelab import verdict_cache

    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(
            "verdicts",
            None,
            f"verdicts='{source}': no such file (give 'call', 'dataset' or a path)",
        )
    if path.is_dir():
        return _read_verdicts(path, source, dataset)  # refused there, with the message
    parts = {
        "what": "verdicts",
        "source": verdict_cache.file_digest(path),
        "suffix": path.suffix.lower(),
        "dataset": None if dataset is None else dataset.sha256,
    }
    return verdict_cache.cached_frame(parts, lambda: _read_verdicts(path, source, dataset))


def _validate_dataset(dataset: Dataset, read_from_files: bool = False) -> None:
    """``dataset.validate()``; for a dataset just read from its files, kept by content like a
    verdict file (:mod:`judgelab.verdict_cache`).

    The kernel of ``judgelab run`` then takes the normalised preferences the CLI's pre-kernel
    check kept instead of validating again (1.2 s CPU for the 13,889 items and 166,668 votes of
    a million verdicts' dataset); the warnings the check gave are given again. Addressed by
    the sha256 of the dataset's files (:attr:`Dataset.sha256`: the tables and dataset.yaml),
    its name, scale, grades and judge scales, and the code. A dataset built or changed in
    memory (``read_from_files`` false: its sha256 may describe other tables), or one with
    stored verdicts (which validation checks and normalises), is validated in full."""
    from judgelab import verdict_cache

    if not read_from_files or dataset.verdicts is not None or not dataset.sha256:
        dataset.validate()
        return
    parts = {
        "what": "validated dataset",
        "dataset": dataset.sha256,
        "name": dataset.name,
        "scales": repr((dataset.scale, dataset.grades, dataset.judge_scales)),
    }

    def validated_preferences() -> pd.DataFrame:
        dataset.validate()
        return pd.DataFrame() if dataset.preferences is None else dataset.preferences

    preferences = verdict_cache.cached_frame(parts, validated_preferences)
    if dataset.preferences is not None:
        dataset.preferences = preferences  # the kept normalised table (validate() assigns it)


def _read_from_files(spec) -> bool:
    """``load_dataset(spec)`` reads the tables from files anew (``demo`` or a directory), so
    the dataset's sha256 is that of what it holds."""
    from judgelab.datasets import registered

    if not isinstance(spec, (str, os.PathLike)):
        return False  # a Dataset object or a mapping of reader options
    key = str(spec)
    return key == "demo" or (key not in registered() and Path(key).expanduser().is_dir())


def _read_verdicts(path: Path, source, dataset: Dataset | None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".sqlite", ".sqlite3", ".db"):
        from judgelab.store import VerdictStore

        store = VerdictStore(path)
        try:
            frame = store.to_frame()
        finally:
            close = getattr(store, "close", None)
            if close:
                close()
    elif suffix in (".csv", ".jsonl", ".ndjson", ".parquet"):
        frame = read_table(path, "verdicts")
    else:
        raise DataError(
            "verdicts",
            None,
            f"verdicts='{source}': unsupported file type (use .sqlite, .csv, .jsonl or .parquet)",
        )
    return _normalise_verdicts(frame, dataset)


def _normalise_verdicts(frame: pd.DataFrame, dataset: Dataset | None = None) -> pd.DataFrame:
    """Tidy verdict frame with identity and judge columns, checked against the verdict schema
    (:func:`judgelab.verdict_schema.check_verdicts`; with ``dataset``, against its responses,
    scale and grades too). A frame :meth:`Dataset.validate` already checked is not checked
    twice."""
    from judgelab import families
    from judgelab.data import VERDICT_COLUMNS
    from judgelab.verdict_schema import SCHEMA_CHECKED, check_verdicts

    if frame.attrs.get(SCHEMA_CHECKED):
        v = frame.copy()
    elif dataset is None:
        v = check_verdicts(frame)
    else:
        v = check_verdicts(
            frame,
            responses=dataset.responses[["response_id", "item_id"]],
            scale=dataset.scale,
            grades=dataset.grades,
            judge_scales=dataset.judge_scales,
        )
    for col in VERDICT_COLUMNS:
        if col not in v.columns:
            v[col] = None
    fam = v["judge_family"]
    missing = fam.isna() | (fam.astype(str) == "")
    if missing.any():
        v.loc[missing, "judge_family"] = v.loc[missing, "model"].map(
            lambda m: families.family_of(str(m))
        )
    if "sample" in v.columns:
        v["sample"] = pd.to_numeric(v["sample"], errors="coerce").fillna(0).astype(int)
    if v["parse_ok"].dtype != bool:
        v["parse_ok"] = v["parse_ok"].map(_as_bool)
    v["judge"] = identity_strings(v).to_numpy(dtype=object)
    return v.reset_index(drop=True)


def _as_bool(x) -> bool:
    if isinstance(x, str):
        return x.strip().lower() in ("true", "1", "yes")
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return False
    return bool(x)


# ------------------------------------------------------------------ context
@dataclass
class StudyContext:
    """Everything a study notebook needs after :func:`prepare`.

    ``verdicts`` is the tidy verdict frame (docs/design.md) with an extra ``judge``
    column (identity string); ``judges`` lists the identities analysed as dicts
    (model, backend, judge_version, family); ``identities`` has their verdict counts;
    ``run_summary`` describes how the verdicts were obtained (calls made, cached, cost).
    """

    study: str
    parameters: dict[str, Any]
    dataset: Dataset
    verdicts: pd.DataFrame
    judges: list[dict]
    identities: pd.DataFrame
    store: Path | None
    run_summary: dict[str, Any]
    judge_specs: list = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    summaries: list[dict] = field(default_factory=list)
    #: the parameters the caller gave (the run record's ``parameters.given``)
    given: dict[str, Any] = field(default_factory=dict)

    # -- convenience views
    @property
    def seed(self) -> int:
        return int(self.parameters.get("seed") or 0)

    @property
    def n_boot(self) -> int:
        return int(self.parameters.get("n_boot") or SHARED_DEFAULTS["n_boot"])

    @property
    def dry_run(self) -> bool:
        return bool(self.parameters.get("dry_run"))

    @property
    def out_dir(self) -> Path:
        return output_dir(self.study)

    def identity(self, judge: str) -> dict:
        """The identity dict of an identity string."""
        for j in self.judges:
            if str(JudgeIdentity.from_record(j)) == judge:
                return j
        raise KeyError(judge)

    def pairs(self, how=None, n_pairs=None) -> pd.DataFrame:
        """The pairs this study judges (``pairs`` / ``n_pairs`` / ``seed`` parameters)."""
        p = self.parameters
        return self.dataset.pairs(
            how if how is not None else (p.get("pairs") or "human"),
            n_pairs=n_pairs if n_pairs is not None else p.get("n_pairs"),
            seed=self.seed,
        )

    # -- judging more
    def call(
        self,
        judges,
        protocol: str = "pairwise",
        pairs=None,
        responses=None,
        repeats: int | None = None,
        **kwargs,
    ) -> pd.DataFrame:
        """Judge now with ``judges`` (same forms as the ``judges`` parameter) through
        :mod:`judgelab.run` and this study's store; returns the tidy verdict frame.

        ``pairs``: None (the study's ``pairs``/``n_pairs``), a pairs spec or a DataFrame;
        ``responses``: response ids for single / rubric (default: the responses of the
        pairs). Other keyword arguments go to the run function."""
        specs = resolve_judges(judges)
        frame, summary = _judge_now(
            self.dataset,
            specs,
            self.parameters,
            protocol=protocol,
            pairs=pairs,
            responses=responses,
            repeats=repeats,
            **kwargs,
        )
        self.summaries.append(summary)
        return frame

    # -- findings
    def adjust(self, findings: pd.DataFrame) -> pd.DataFrame:
        """Holm over primary findings, Benjamini-Hochberg over exploratory ones
        (:func:`judgelab.findings.adjust`)."""
        from judgelab import findings as _findings

        return _findings.adjust(findings)

    def save_findings(self, findings: pd.DataFrame, adjust: bool = True) -> pd.DataFrame:
        """The save step (:func:`judgelab.findings.save_findings`): adjust p-values once
        (unless ``adjust=False``), render conclusions, write ``findings.json`` and the run
        record into :func:`output_dir`; returns the adjusted findings frame."""
        from judgelab import findings as _findings

        return _findings.save_findings(self, findings, adjust_p=adjust)

    def conclusions(self, findings: pd.DataFrame) -> str:
        """The study's conclusions as Markdown (:func:`judgelab.findings.conclusions_markdown`)."""
        from judgelab import findings as _findings

        return _findings.conclusions_markdown(self.study, findings, self.judges)

    def caveats(self, findings: pd.DataFrame) -> str:
        """The study's caveats as Markdown, with the legend of the judges' short labels
        (:func:`judgelab.findings.caveats_markdown`; partial-run stops from this run)."""
        from judgelab import findings as _findings

        return _findings.caveats_markdown(self.study, findings, self.judges, self.summaries)

    def findings_table(self, findings: pd.DataFrame, max_conclusion: int | None = None):
        """The findings as an HTML table for the notebook and the report (one row per finding,
        primary first; CSS class ``judgelab-findings``)."""
        return FindingsTable(
            as_findings_frame(findings), judges=self.judges, max_conclusion=max_conclusion
        )

    def describe(self) -> str:
        """Short text: dataset, verdict source, identities analysed."""
        d = self.dataset
        lines = [
            f"study {self.study}: dataset '{d.name}' (sha256 {str(d.sha256)[:12]}), "
            f"verdicts: {self.parameters.get('verdicts')}, {len(self.verdicts)} verdict rows",
        ]
        for r in self.identities.itertuples():
            lines.append(f"  {r.judge} [{r.judge_family}]: {r.n} verdicts, {r.n_parsed} parsed")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = _html.escape(self.describe().splitlines()[0])
        return f"<p>{head}</p>" + self.identities.drop(columns=["judge"], errors="ignore").to_html(
            index=False
        )


# ------------------------------------------------------------------ prepare
def _judge_now(
    dataset: Dataset,
    specs: list,
    params: Mapping,
    protocol="pairwise",
    pairs=None,
    responses=None,
    repeats=None,
    **kwargs,
) -> tuple[pd.DataFrame, dict]:
    from judgelab import run

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if not specs:
        raise ValueError("judges: no judge given to call")
    seed = int(params.get("seed") or 0)
    if repeats is None:
        repeats = params.get("repeats") or 1
    common = dict(
        store=params.get("store") or SHARED_DEFAULTS["store"],
        seed=seed,
        repeats=int(repeats),
        concurrency=int(params.get("concurrency") or SHARED_DEFAULTS["concurrency"]),
        max_cost_usd=params.get("max_cost_usd"),
        dry_run=bool(params.get("dry_run")),
        # reports hold no progress bars; interactive runs keep run.py's default
        **({"progress": False} if config.running_as_report() else {}),
    )
    common.update(kwargs)
    if protocol == "pairwise":
        if pairs is None or isinstance(pairs, str):
            pair_frame = dataset.pairs(
                pairs or params.get("pairs") or "human", n_pairs=params.get("n_pairs"), seed=seed
            )
        else:
            pair_frame = dataset.pairs(pairs)
        frame = run.judge_pairwise(dataset, specs, pairs=pair_frame, **common)
    else:
        if responses is None and pairs is not None:
            # an explicit pairs spec names the units: the responses in those pairs
            pf = (
                dataset.pairs(pairs, n_pairs=params.get("n_pairs"), seed=seed)
                if isinstance(pairs, str)
                else pairs
            )
            responses = pd.unique(pf[["response_a", "response_b"]].to_numpy().ravel()).tolist()
        if responses is None:
            # run.py's default units (responses with human labels, else all), seeded sample
            common.setdefault("n_responses", params.get("n_responses"))
        fn = run.judge_single if protocol == "single" else run.judge_rubric
        frame = fn(
            dataset, specs, responses=None if responses is None else list(responses), **common
        )
    summary = {
        "protocol": protocol,
        "n_judges": len(specs),
        **jsonable(frame.attrs.get("summary", {})),
    }
    if len(frame) == 0:
        return _empty_verdicts(), summary
    return _normalise_verdicts(frame), summary


def _empty_verdicts() -> pd.DataFrame:
    from judgelab.data import VERDICT_COLUMNS

    return pd.DataFrame(columns=[*VERDICT_COLUMNS, "judge"])


def prepare(study: str, **parameters) -> StudyContext:
    """Load, judge or read, select and check the verdicts a study analyses.

    ``parameters`` are the notebook's parameters (shared ones of docs/design.md plus
    study-specific ones such as ``protocol``, ``repeats``, ``source``, ``margin``, which
    are recorded as given). Raises :class:`judgelab.data.DataError` for bad data or
    verdict files, :class:`MixedIdentitiesError` for a mixed selection without
    ``allow_mixed`` and ValueError for malformed parameters (checked against the study's
    declaration first, as by ``judgelab run``: :func:`judgelab.study.typed`).
    """
    from judgelab.study import typed

    parameters = typed(study, parameters)  # interactive runs: the CLI's checks, coerced values
    _CURRENT["study"] = study  # where show() saves this study's figures interactively
    params = {**SHARED_DEFAULTS, **parameters}
    extras = {k: v for k, v in parameters.items() if k not in SHARED_DEFAULTS}
    if params.get("store"):  # a relative store is the project's (a notebook's cwd is no guide)
        params["store"] = str(config.project_path(params["store"]))
    params["judges"] = jsonable(params["judges"])  # Judge objects -> records (never api keys)

    dataset = load_dataset(params["dataset"])
    _validate_dataset(dataset, read_from_files=_read_from_files(params["dataset"]))

    mode = params.get("verdicts") or "call"
    specs: list = []
    if mode == "call":
        specs = resolve_judges(parameters.get("judges", params["judges"]))
        if not params.get("dry_run"):
            from judgelab.preflight import check_judges

            check_judges(specs)  # unknown providers, missing keys: before any call
        frame, summary = _judge_now(
            dataset,
            specs,
            params,
            protocol=params.get("protocol") or "pairwise",
            repeats=params.get("repeats"),
        )
        summary = {"mode": "call", **summary}
    else:
        if mode in ("dataset", "published"):
            if dataset.verdicts is None or len(dataset.verdicts) == 0:
                raise DataError(
                    "verdicts",
                    None,
                    f"dataset '{dataset.name}' has no stored verdicts; use verdicts='call' or a verdict file",
                )
            frame = _normalise_verdicts(dataset.verdicts)
            source = f"dataset '{dataset.name}'"
        else:
            frame = load_verdicts(mode, dataset)
            params["verdicts"] = str(Path(mode).expanduser().resolve())
            source = params["verdicts"]
        n_read = len(frame)
        if "judges" not in parameters or not _given(study, {"judges": parameters["judges"]}):
            params["judges"] = None  # left at its default (the demo's panel): every stored identity
        models = filter_models(params["judges"])
        if models:
            known = sorted(frame["model"].astype(str).unique())
            frame = frame[frame["model"].astype(str).isin(models)].reset_index(drop=True)
            if frame.empty:
                raise DataError(
                    "verdicts",
                    "model",
                    f"none of the judges {models} occur in {source}; models present: {known}. "
                    "With stored verdicts `judges` is a filter: name some of these models, or "
                    "leave judges out to analyse every stored identity",
                )
        if study in (decls := _declarations()):  # e.g. position bias on single scores: say so
            decls[study].require_protocols(frame, source)
        summary = {"mode": "stored", "source": source, "rows_read": n_read, "rows_kept": len(frame)}

    select = params.get("select")
    if select:
        before = len(frame)
        frame = apply_select(frame, select)
        summary["select"] = jsonable(select)
        summary["rows_selected"] = len(frame)
        if frame.empty and before and (mode != "call" or not params.get("dry_run")):
            raise DataError(
                "verdicts", None, f"select={select!r} keeps none of the {before} verdicts"
            )

    if mode != "call" or not params.get("dry_run"):  # stored verdicts are there to check
        from judgelab.verdict_checks import require_parsed_verdicts

        require_parsed_verdicts(frame)  # a judge without one parsed verdict: say why
    # stored verdicts unfiltered by `judges`: each identity is its own judge (analyses group by it)
    apart = bool(params.get("allow_mixed")) or (mode != "call" and params["judges"] is None)
    identities = check_identities(frame, allow_mixed=apart)
    judges = [
        {
            "model": r.model,
            "backend": r.backend,
            "judge_version": r.judge_version,
            "family": r.judge_family,
        }
        for r in identities.itertuples()
    ]
    store = Path(params["store"]) if params.get("store") else None
    # what the context records (findings.json, run record) never holds a credential; the
    # calls above used the keys given
    return StudyContext(
        study=study,
        parameters=redact_credentials(jsonable(params)),
        dataset=dataset,
        verdicts=frame,
        judges=jsonable(judges),
        identities=identities,
        store=store,
        run_summary=jsonable(summary),
        judge_specs=specs,
        extras=redact_credentials(jsonable(extras)),
        summaries=[jsonable(summary)],
        given=redact_credentials(jsonable(_given(study, parameters))),
    )


_CURRENT: dict[str, str] = {}  # the study last prepared in this process


def current_study() -> str | None:
    """The study last prepared in this process (one kernel runs one study)."""
    return _CURRENT.get("study")


def _given(study: str, parameters: Mapping) -> dict:
    """The parameters a caller set: a notebook passes every parameter to :func:`prepare`, so
    a value equal to the study's declared default counts as not given."""
    decl = _declarations().get(study)
    if decl is None:
        return dict(parameters)
    defaults = decl.defaults()
    return {k: v for k, v in parameters.items() if k not in defaults or not _equal(defaults[k], v)}


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. a DataFrame given where a value is declared
        return False


def _declarations() -> dict:
    from judgelab.study import STUDY_DECLARATIONS

    return STUDY_DECLARATIONS
