"""The run record: one versioned JSON document describing how a study's findings were made.

Written by the save step of every study (:func:`judgelab.findings.save_findings`, called
by ``ctx.save_findings`` in the notebook), so a ``judgelab run`` and an interactive
notebook run write the same record, ``run_record.json`` beside ``findings.json``. It holds
what is needed to reproduce or audit the run:

============== ==========================================================================
schema_version version of this document's layout (:data:`SCHEMA_VERSION`)
study          name, version and notebook (with its sha256) of the study
parameters     ``given`` (by the caller) and ``effective`` (after defaults)
dataset        name and sha256 of the dataset analysed
judges         each identity (model, backend, judge_version, family) and, for judges
               called in this run, the ``settings`` its judge_version hashes
code           git revision of the checkout (``git describe``) when available
packages       versions of python and the packages the results depend on
calls          call summary: calls, cached, sent, failed, cost_usd, stopped (budget)
findings       path of findings.json, number of findings, rendered conclusions
============== ==========================================================================

``manifest.json`` (written by the CLI around the kernel: status, timing, outputs, kernel)
is unchanged; the run record is the part both ways of running share.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgelab import config

if TYPE_CHECKING:  # pragma: no cover
    from judgelab.studies import StudyContext

__all__ = [
    "SCHEMA_VERSION",
    "RUN_RECORD_FILE",
    "PARAMETERS_GIVEN_ENV",
    "build_run_record",
    "write_run_record",
    "read_run_record",
    "package_versions",
    "code_revision",
    "call_summary",
]

#: Layout version of run_record.json; bump it when a field changes meaning or goes away.
SCHEMA_VERSION = 1
RUN_RECORD_FILE = "run_record.json"
#: The CLI puts the parameters its caller gave (JSON) here for the kernel's run record.
PARAMETERS_GIVEN_ENV = "JUDGELAB_PARAMETERS_GIVEN"
#: Packages whose versions the results depend on (the manifest's list; litellm has no usable
#: ``__version__``: importlib.metadata is asked for every package).
PACKAGES = (
    "judgelab",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "krippendorff",
    "seaborn",
    "matplotlib",
    "litellm",
    "papermill",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupyter_client",
    "pyarrow",
)


def package_versions(packages=PACKAGES) -> dict[str, str | None]:
    """``{"python": "3.x.y", package: version or None}`` from importlib.metadata."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for pkg in packages:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            # --no-optional-locks: recording a run must not touch the checkout's index
            ["git", "--no-optional-locks", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def code_revision() -> dict | None:
    """``{"describe", "commit", "dirty"}`` of the checkout judgelab runs from
    (:data:`judgelab.config.CHECKOUT_DIR`): ``git describe --always --dirty``, HEAD, and
    whether tracked files differ from it (the manifest's ``git``); None when judgelab is not
    run from a git checkout or git is missing."""
    root = config.CHECKOUT_DIR
    if not (root / ".git").exists():
        return None
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {
        "describe": _git(root, "describe", "--always", "--dirty", "--tags"),
        "commit": commit,
        "dirty": bool(status),
    }


def call_summary(summaries) -> dict[str, Any]:
    """Totals over the run's judge calls (one summary per call batch, see
    :mod:`judgelab.run`): calls, cached, sent, failed, cost_usd, and ``stopped`` (calls left
    unsent because ``max_cost_usd`` was reached)."""
    totals: dict[str, Any] = {
        "batches": 0,
        "calls": 0,
        "cached": 0,
        "sent": 0,
        "failed": 0,
        "cost_usd": 0.0,
        "not_sent_budget": 0,
        "dry_run": False,
    }
    for s in summaries or []:
        if not isinstance(s, Mapping) or s.get("mode") == "stored":
            continue
        totals["batches"] += 1
        for k in ("calls", "cached", "sent", "failed", "not_sent_budget"):
            totals[k] += int(s.get(k) or 0)
        totals["cost_usd"] += float(s.get("cost_usd") or 0.0)
        totals["dry_run"] = totals["dry_run"] or bool(s.get("dry_run"))
    totals["stopped"] = totals["not_sent_budget"] > 0
    totals["source"] = "call" if totals["batches"] else "stored"
    return totals


def _judges(ctx: StudyContext) -> list[dict]:
    """The identities analysed, with the settings hashed into judge_version when this run
    called the judge (stored verdicts carry no settings)."""
    from judgelab.findings import jsonable, redact_credentials
    from judgelab.identity import JudgeIdentity

    settings = {}
    for spec in ctx.judge_specs or []:
        with_settings = getattr(spec, "settings", None)
        version = getattr(spec, "version", None)
        if callable(with_settings) and version is not None:
            settings[str(version)] = with_settings()
    out = []
    for j in ctx.judges:
        rec = dict(j)
        rec["judge"] = str(JudgeIdentity.from_record(j))
        rec["settings"] = settings.get(str(j.get("judge_version")))
        out.append(redact_credentials(jsonable(rec)))
    return out


def _parameters_given(ctx: StudyContext) -> dict:
    given = os.environ.get(PARAMETERS_GIVEN_ENV)
    if given:
        try:
            return json.loads(given)
        except ValueError:
            pass
    return dict(getattr(ctx, "given", None) or {})


def _study(ctx: StudyContext) -> dict:
    from judgelab import study as _study_mod

    decl = _study_mod.STUDY_DECLARATIONS.get(ctx.study)
    out: dict[str, Any] = {
        "name": ctx.study,
        "version": decl.version if decl else None,
        "notebook": None,
        "notebook_sha256": None,
    }
    try:
        from judgelab.studies import notebook_path

        path = notebook_path(ctx.study)
    except ValueError:
        return out
    out["notebook"] = str(path)
    out["notebook_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def build_run_record(
    ctx: StudyContext,
    findings_path: str | os.PathLike | None = None,
    conclusions: list[str] | None = None,
    n_findings: int | None = None,
) -> dict:
    """The run record of a prepared (and analysed) study context; see the module docstring."""
    from judgelab.findings import jsonable, redact_credentials

    if n_findings is None and findings_path is not None and Path(findings_path).exists():
        n_findings = len(json.loads(Path(findings_path).read_text()).get("findings") or [])
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "study": _study(ctx),
        "parameters": {
            "given": redact_credentials(jsonable(_parameters_given(ctx))),
            "effective": redact_credentials(jsonable(ctx.parameters)),
        },
        "dataset": {"name": ctx.dataset.name, "sha256": ctx.dataset.sha256},
        "judges": _judges(ctx),
        "code": code_revision(),
        "packages": package_versions(),
        "calls": call_summary(ctx.summaries),
        "findings": {
            "path": None if findings_path is None else Path(findings_path).name,
            "n": n_findings,
            "conclusions": conclusions,
        },
    }


def write_run_record(record: Mapping, out_dir: str | os.PathLike) -> Path:
    """Write ``run_record.json`` into ``out_dir``; returns its path."""
    path = Path(out_dir) / RUN_RECORD_FILE
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return path


def read_run_record(out_dir: str | os.PathLike) -> dict:
    """The run record of a run directory (or a run_record.json path); a record of a newer
    schema than this judgelab knows raises ValueError."""
    path = Path(out_dir)
    if path.is_dir():
        path = path / RUN_RECORD_FILE
    record = json.loads(path.read_text())
    version = record.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(
            f"{path}: run record schema_version {version!r}; this judgelab reads up to "
            f"{SCHEMA_VERSION}"
        )
    return record
