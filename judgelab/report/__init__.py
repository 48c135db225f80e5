"""Running studies: papermill execution, findings.json, manifest, HTML report, index, export, diff.

For notebook authors
--------------------
Show every figure with :func:`show`::

    fig = jl.plots.consistency(...)
    jl.report.show(fig, "consistency")

It displays the figure in the notebook (one image per figure, which the browser test
counts) and saves ``figures/<name>.svg`` and ``figures/<name>.pdf`` into the output
directory (``$JUDGELAB_OUT``, set by ``judgelab run``; else the working directory) so that
``judgelab export`` can hand them to a paper. Do not also call ``plt.show()`` on it.

End with ``findings = ctx.save_findings(findings)`` then ``ctx.findings_table(findings)``:
the table is the last output of the report and has one row per finding.

For everyone else
-----------------
:func:`run_study` executes ``judgelab/notebooks/<study>.ipynb`` with papermill in a
kernel of ``sys.executable`` (a temporary kernelspec named ``judgelab-<hash>`` on
``JUPYTER_PATH``, so a user's own ``python3`` kernel cannot shadow it) with cwd = the
output directory, then writes ``<study>.ipynb`` (executed), ``<study>.html``
(self-contained: images embedded, no script or stylesheet fetched from the internet,
code hidden unless ``show_code``), ``findings.json`` (written by the notebook through
:meth:`judgelab.studies.StudyContext.save_findings`) and ``manifest.json``.

The modules, by concept: :mod:`~judgelab.report.figures` (:func:`show`),
:mod:`~judgelab.report.parameters` (``-p`` values and their checks),
:mod:`~judgelab.report.execution` (kernel, papermill, manifest),
:mod:`~judgelab.report.html` (the HTML report and ``index.html``),
:mod:`~judgelab.report.export` (findings files: read, export, diff; store summary),
:mod:`~judgelab.report.demo_runs` (``judgelab demo`` and the real-data runs), and
:mod:`~judgelab.report.results` (what a run returns or raises). Paths and environment
variables are in :mod:`judgelab.config`.
"""

from __future__ import annotations

from judgelab.report.demo_runs import (
    REAL_STUDIES_DIR,
    demo_check,
    real_data_dir,
    real_studies,
    run_demo,
    run_real_studies,
)
from judgelab.report.execution import (
    PACKAGES,
    Kernel,
    check_out_dir,
    run_study,
    temporary_kernel,
)
from judgelab.report.export import (
    DIFF_FIELDS,
    diff_runs,
    export_run,
    findings_frame,
    read_findings,
    verdicts_summary,
)
from judgelab.report.figures import SavedFigures, show
from judgelab.report.html import (
    external_references,
    notebook_to_html,
    report_counts,
    write_index,
)
from judgelab.report.parameters import (
    check_parameters,
    effective_parameters,
    notebook_defaults,
    parse_parameters,
    parse_value,
    typed_parameters,
)
from judgelab.report.results import OUTPUT_FILES, CellError, RunResult, StudyError

__all__ = [
    "show",
    "StudyError",
    "CellError",
    "RunResult",
    "parse_value",
    "parse_parameters",
    "check_parameters",
    "typed_parameters",
    "temporary_kernel",
    "run_study",
    "check_out_dir",
    "run_demo",
    "real_data_dir",
    "real_studies",
    "run_real_studies",
    "notebook_to_html",
    "report_counts",
    "external_references",
    "write_index",
    "export_run",
    "diff_runs",
    "read_findings",
    "findings_frame",
    "verdicts_summary",
    "OUTPUT_FILES",
    # used by the CLI and tests
    "demo_check",
    "effective_parameters",
    "notebook_defaults",
    "REAL_STUDIES_DIR",
    "DIFF_FIELDS",
    "PACKAGES",
    "Kernel",
    "SavedFigures",
]
