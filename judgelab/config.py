"""Every path and environment variable judgelab uses, with its default, in one place.

This module imports nothing from judgelab (every layer may read it) and reads the
environment when a function is called, never at import, so a variable set later (by a test,
by ``judgelab run`` for its kernel) is seen.

Paths inside the installed package
----------------------------------
``PACKAGE_DIR`` (``judgelab/``) holds ``NOTEBOOKS_DIR`` (the study notebooks),
``DEMO_DATA_DIR`` (the demo dataset) and ``REAL_STUDIES_DIR`` (parameter files of the
real-data studies). ``CHECKOUT_DIR`` is the directory above it: the source checkout when
judgelab runs from one (its git revision goes into a run's manifest).

The project directory: where runs and reports go
-------------------------------------------------
Every run, from the CLI or from a notebook opened in JupyterLab, writes into one place, the
project directory (:func:`project_dir`):

1. ``$JUDGELAB_HOME`` (:data:`ENV_HOME`) when set;
2. else the working directory, unless it lies inside the installed package: ``judgelab``
   started in a shell writes where it was started;
3. else (a notebook opened in JupyterLab runs with its own folder, ``judgelab/notebooks/``,
   as working directory) the nearest directory above the package that holds
   ``pyproject.toml`` or ``.git`` (:data:`PROJECT_MARKERS`): the source checkout, or the
   project whose virtual environment holds judgelab. Without one, :class:`ProjectDirError`
   asks for ``$JUDGELAB_HOME``: nothing is ever written into the installed package.

Under it: ``DEFAULT_STORE`` (``runs/verdicts.sqlite``, :func:`default_store`), the verdict
store when a study or a ``judge_*`` call names none (a relative ``store`` a notebook or
``prepare`` is given is read from the project directory too), and ``REPORTS_DIR``
(``reports``): ``judgelab run STUDY`` writes to ``reports/<study>``
(:func:`default_study_out`), and so does the same study run interactively
(:func:`output_dir`); ``judgelab demo`` writes to ``DEFAULT_DEMO_OUT`` (``reports/demo``).
``judgelab demo`` and the real-data runs share one store, ``STORE_FILE_NAME``
(``verdicts.sqlite``), in their output directory. ``reports/`` and ``runs/`` are
git-ignored. A path typed on the command line (``--out``, ``-p store``) is relative to the
shell's working directory, as usual.

Environment variables
---------------------
``JUDGELAB_DATA`` (:data:`ENV_DATA`)
    A directory of dataset folders (the offline copies of public datasets). The dataset
    loaders look in ``$JUDGELAB_DATA/<folder>`` and ``$JUDGELAB_DATA`` after an explicit
    ``path`` and before the cache. The real-data studies find their data with
    :func:`real_data_dir`: ``$JUDGELAB_DATA``, else ``../shared/data`` beside the working
    directory, else beside the checkout.
``XDG_CACHE_HOME``
    The dataset download cache is ``$XDG_CACHE_HOME/judgelab``, default
    ``~/.cache/judgelab`` (:func:`dataset_cache_dir`); verdict files checked against the
    verdict schema are kept under it too (:func:`verdict_cache_dir`).
``JUDGELAB_VERDICT_CACHE`` (:data:`ENV_VERDICT_CACHE`)
    Where checked verdict files are kept (:mod:`judgelab.verdict_cache`), default
    ``<dataset cache>/checked-verdicts``; ``off`` keeps none (every run checks again).
``JUDGELAB_NOTEBOOKS`` (:data:`ENV_NOTEBOOKS`)
    Directories (``os.pathsep``-separated) searched for study notebooks before the
    package's own (:func:`extra_notebook_dirs`).
``JUDGELAB_HOME`` (:data:`ENV_HOME`)
    The project directory (above): where ``reports/`` and ``runs/`` go.
``JUDGELAB_OUT`` (:data:`ENV_OUT`)
    Set by ``judgelab run`` for the notebook's kernel: the output directory of the run,
    where figures and findings.json go (:func:`output_dir`); its presence also means
    "running as a report" (no progress bars, :func:`running_as_report`). Unset in an
    interactive session, where a study writes to ``reports/<study>`` of the project
    directory and shows plain-text progress bars (tqdm's widget bars would need ipywidgets,
    which judgelab does not require).
``LITELLM_LOCAL_MODEL_COST_MAP`` (:data:`ENV_LITELLM_COST_MAP`)
    Set to ``True`` unless already set (:func:`use_local_cost_map`) so that litellm reads
    its bundled price map instead of downloading one at import: researchers run offline.
``<PROVIDER>_API_BASE`` / ``<PROVIDER>_BASE_URL``
    The endpoint of a provider when a judge names none (:func:`provider_api_base`).
Variables named like credentials (``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``)
    Their values are redacted from logged text (:func:`credential_values`).
Set for the kernel of a study run (:func:`kernel_environment`)
    ``JUDGELAB_OUT``, ``TQDM_DISABLE``, ``PYTHONWARNINGS`` (extended) and ``MPLBACKEND``;
    ``JUPYTER_PATH`` gets a temporary kernelspec directory first (:data:`ENV_JUPYTER_PATH`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "CHECKOUT_DIR",
    "NOTEBOOKS_DIR",
    "DEMO_DATA_DIR",
    "REAL_STUDIES_DIR",
    "DEFAULT_STORE",
    "REPORTS_DIR",
    "DEFAULT_DEMO_OUT",
    "STORE_FILE_NAME",
    "PROJECT_MARKERS",
    "ENV_HOME",
    "ProjectDirError",
    "project_dir",
    "project_path",
    "default_store",
    "default_demo_out",
    "ENV_DATA",
    "ENV_NOTEBOOKS",
    "ENV_OUT",
    "ENV_XDG_CACHE",
    "ENV_VERDICT_CACHE",
    "VERDICT_CACHE_KEEP",
    "ENV_LITELLM_COST_MAP",
    "ENV_JUPYTER_PATH",
    "SHARED_DATA_BESIDE",
    "REAL_DATA_MARKERS",
    "CREDENTIAL_NAME_PARTS",
    "default_study_out",
    "data_env_dir",
    "dataset_cache_dir",
    "verdict_cache_dir",
    "real_data_dir",
    "real_data_candidates",
    "extra_notebook_dirs",
    "output_dir",
    "running_as_report",
    "use_local_cost_map",
    "provider_api_base",
    "credential_values",
    "kernel_environment",
]

# ------------------------------------------------------------- package paths
#: ``judgelab/``: the installed package (works from a wheel too).
PACKAGE_DIR = Path(__file__).resolve().parent
#: The directory above the package: the source checkout when judgelab runs from one.
CHECKOUT_DIR = PACKAGE_DIR.parent
#: The study notebooks shipped inside the package.
NOTEBOOKS_DIR = PACKAGE_DIR / "notebooks"
#: The demo dataset shipped inside the package.
DEMO_DATA_DIR = PACKAGE_DIR / "demo_data"
#: ``<study>__<dataset>.yaml`` parameter files of the real-data studies.
REAL_STUDIES_DIR = PACKAGE_DIR / "real_studies"

# ---------------------------------------------- paths under the project dir
#: The verdict store when none is named (relative to the project directory).
DEFAULT_STORE = "runs/verdicts.sqlite"
#: Where ``judgelab run`` and ``judgelab demo`` write by default (relative).
REPORTS_DIR = "reports"
#: ``judgelab demo``'s default output directory.
DEFAULT_DEMO_OUT = f"{REPORTS_DIR}/demo"
#: The store shared by the studies of ``judgelab demo`` (and the real-data runs) in their
#: output directory.
STORE_FILE_NAME = "verdicts.sqlite"
#: Files that mark a project directory above the package (:func:`project_dir`).
PROJECT_MARKERS = ("pyproject.toml", ".git")
ENV_HOME = "JUDGELAB_HOME"


class ProjectDirError(RuntimeError):
    """No project directory: judgelab runs inside its installed package with no
    ``$JUDGELAB_HOME`` and no project above it."""


def project_dir(cwd: str | os.PathLike | None = None) -> Path:
    """The directory that holds ``reports/`` and ``runs/`` (the module docstring's rules):
    ``$JUDGELAB_HOME``, else the working directory ``cwd`` unless it is inside
    :data:`PACKAGE_DIR`, else the nearest directory above the package with one of
    :data:`PROJECT_MARKERS`. Raises :class:`ProjectDirError` when none fits."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser().resolve()
    here = Path(cwd or os.getcwd()).resolve()
    if here != PACKAGE_DIR and PACKAGE_DIR not in here.parents:
        return here
    for d in PACKAGE_DIR.parents:
        if any((d / m).exists() for m in PROJECT_MARKERS):
            return d
    raise ProjectDirError(
        f"judgelab runs in its installed package ({here}) and finds no project directory "
        f"above it (none holds {' or '.join(PROJECT_MARKERS)}); set ${ENV_HOME} to the "
        "directory where reports/ and runs/ should go"
    )


def project_path(path: str | os.PathLike) -> Path:
    """``path`` made absolute: a relative one is taken in :func:`project_dir`."""
    p = Path(path).expanduser()
    return (p if p.is_absolute() else project_dir() / p).resolve()


def default_store() -> Path:
    """``runs/verdicts.sqlite`` in :func:`project_dir`: the store when none is named."""
    return project_path(DEFAULT_STORE)


def default_study_out(study: str) -> Path:
    """``reports/<study>`` in :func:`project_dir`: the output directory of ``judgelab run
    STUDY`` without ``--out``, and of the study run interactively (:func:`output_dir`)."""
    return project_path(Path(REPORTS_DIR) / study)


def default_demo_out() -> Path:
    """``reports/demo`` in :func:`project_dir`: ``judgelab demo``'s output directory."""
    return project_path(DEFAULT_DEMO_OUT)


# ------------------------------------------------------- environment: names
ENV_DATA = "JUDGELAB_DATA"
ENV_NOTEBOOKS = "JUDGELAB_NOTEBOOKS"
ENV_OUT = "JUDGELAB_OUT"
ENV_XDG_CACHE = "XDG_CACHE_HOME"
ENV_VERDICT_CACHE = "JUDGELAB_VERDICT_CACHE"
#: checked verdict files kept (the most recently used; about 50 MB per million verdicts)
VERDICT_CACHE_KEEP = 4
ENV_LITELLM_COST_MAP = "LITELLM_LOCAL_MODEL_COST_MAP"
ENV_JUPYTER_PATH = "JUPYTER_PATH"


# ------------------------------------------------------------------- data
def data_env_dir() -> Path | None:
    """``$JUDGELAB_DATA`` (user directory expanded), or None when unset or empty."""
    env = os.environ.get(ENV_DATA)
    return Path(env).expanduser() if env else None


def dataset_cache_dir() -> Path:
    """The dataset download cache: ``$XDG_CACHE_HOME/judgelab``, default ``~/.cache/judgelab``."""
    base = os.environ.get(ENV_XDG_CACHE)
    return (Path(base) if base else Path.home() / ".cache") / "judgelab"


def verdict_cache_dir() -> Path | None:
    """Where checked verdict files are kept: ``$JUDGELAB_VERDICT_CACHE``, default
    ``checked-verdicts`` under :func:`dataset_cache_dir`; None when the variable is ``off``."""
    env = os.environ.get(ENV_VERDICT_CACHE, "").strip()
    if env.lower() == "off":
        return None
    return Path(env).expanduser() if env else dataset_cache_dir() / "checked-verdicts"


#: Where the offline copies of public datasets sit by convention when $JUDGELAB_DATA is
#: unset: a ``shared/data`` directory beside the working directory or the checkout.
SHARED_DATA_BESIDE = "../shared/data"
#: Folders of registered datasets (docs/datasets.md): a data directory holds at least one.
REAL_DATA_MARKERS = (
    "llmbar_judges",
    "position_bias_mtbench_devbench",
    "mt_bench_human_judgments_turn1",
)


def real_data_candidates(cwd: str | os.PathLike | None = None) -> list[Path]:
    """The directories :func:`real_data_dir` tries, in order: ``$JUDGELAB_DATA`` when set,
    ``../shared/data`` relative to the working directory (``cwd``), then relative to the
    checkout (:data:`CHECKOUT_DIR`)."""
    env = data_env_dir()
    here = Path(cwd or os.getcwd())
    beside = Path(SHARED_DATA_BESIDE)
    return [*([env] if env else []), here / beside, CHECKOUT_DIR / beside]


def real_data_dir(cwd: str | os.PathLike | None = None) -> Path | None:
    """The directory of real dataset folders, or None: the first of
    :func:`real_data_candidates` that holds at least one dataset folder
    (:data:`REAL_DATA_MARKERS`)."""
    for c in real_data_candidates(cwd):
        if c.is_dir() and any((c / m).is_dir() for m in REAL_DATA_MARKERS):
            return c.resolve()
    return None


# -------------------------------------------------------------- notebooks
def extra_notebook_dirs() -> list[Path]:
    """Directories in ``$JUDGELAB_NOTEBOOKS`` (``os.pathsep``-separated; a lab's own study
    notebooks, or test notebooks), searched before :data:`NOTEBOOKS_DIR`."""
    return [Path(p).expanduser() for p in os.environ.get(ENV_NOTEBOOKS, "").split(os.pathsep) if p]


def output_dir(study: str | None = None) -> Path:
    """Where a study writes findings.json and figures: ``$JUDGELAB_OUT`` (set by ``judgelab
    run``), else, in an interactive session, ``reports/<study>`` in :func:`project_dir`
    (where ``judgelab run STUDY`` writes), ``reports/`` there for no study."""
    env = os.environ.get(ENV_OUT)
    if env:
        return Path(env)
    return default_study_out(study) if study else project_path(REPORTS_DIR)


def running_as_report() -> bool:
    """True inside the kernel of ``judgelab run`` (``$JUDGELAB_OUT`` set): no progress bars."""
    return bool(os.environ.get(ENV_OUT))


def kernel_environment(out_dir: str | os.PathLike) -> dict[str, str]:
    """Variables set while ``judgelab run`` executes a notebook into ``out_dir``."""
    return {
        ENV_OUT: str(out_dir),
        # reports hold no progress bars, nor tqdm's complaint that ipywidgets is missing
        "TQDM_DISABLE": "1",
        "PYTHONWARNINGS": ",".join(
            x for x in (os.environ.get("PYTHONWARNINGS"), "ignore:IProgress not found") if x
        ),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }


# ---------------------------------------------------------------- litellm
def use_local_cost_map() -> None:
    """``LITELLM_LOCAL_MODEL_COST_MAP=True`` unless set: litellm downloads its price map at
    import otherwise, and researchers run offline. Call before importing litellm."""
    os.environ.setdefault(ENV_LITELLM_COST_MAP, "True")


def provider_api_base(provider: str) -> str | None:
    """``$<PROVIDER>_API_BASE``, else ``$<PROVIDER>_BASE_URL`` (None when neither is set)."""
    p = provider.upper()
    return os.environ.get(f"{p}_API_BASE") or os.environ.get(f"{p}_BASE_URL")


#: Parts of an environment variable's name that mark its value as a credential.
CREDENTIAL_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def credential_values(min_length: int = 8) -> list[str]:
    """Values (at least ``min_length`` characters) of environment variables named like
    credentials (:data:`CREDENTIAL_NAME_PARTS`), to be redacted from logged text."""
    out = []
    for k, v in os.environ.items():
        ku = k.upper()
        if v and len(v) >= min_length and any(s in ku for s in CREDENTIAL_NAME_PARTS):
            out.append(v)
    return out
