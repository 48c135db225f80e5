"""Studies declared once: name, version, notebook, parameters, figures, analysis, conclusions.

A :class:`Study` says everything a caller needs to know about a study without opening its
notebook: its parameters (the shared ones of docs/design.md "Studies" plus its own, each
with a type, allowed values or range, default and help), its figures (the plotting
functions the notebook shows and saves), one analysis entry point with the same verb for
every study, :meth:`Study.analyse` (``ctx -> findings``, not yet adjusted: the save step
adjusts, :func:`judgelab.findings.save_findings`), and the renderers of its conclusion
sentences (finding id -> ``row -> text``, run by the save step after the adjustment).

The notebook's ``parameters`` cell must match the declaration (names, defaults and help;
``tests/test_study_declarations.py``; :func:`parameters_cell` writes it), so ``judgelab
studies`` can print from here (:func:`parameter_lines`). :func:`check` / :func:`coerce`
validate a parameter mapping against the declaration; :func:`typed` does both, and is
called before anything is judged: by ``judgelab run`` / ``judgelab demo`` (before the kernel
starts, ``--dry-run`` included) and by :func:`judgelab.studies.prepare` (interactive runs).

A lab adds a study without editing the package (docs/new_study.md): a notebook
``<name>.ipynb`` and a declaration module ``<name>.py`` beside it, in a directory on
``$JUDGELAB_NOTEBOOKS``. The module calls :func:`register`; :func:`declaration` loads it
the first time the study is asked for.
"""

from __future__ import annotations

from judgelab.study.analyses import (
    analyse_calibration_audit,
    analyse_family_entanglement,
    analyse_judge_comparison,
    analyse_position_bias,
    analyse_self_preference,
)
from judgelab.study.builtin import (
    CALIBRATION_AUDIT,
    CORRECTED_ESTIMATE,
    FAMILY_ENTANGLEMENT,
    JUDGE_COMPARISON,
    ORDER_AGGREGATIONS,
    POSITION_BIAS,
    SELF_PREFERENCE,
    SHARED_PARAMETERS,
    TIE_POLICIES,
    shared_parameters,
)
from judgelab.study.registry import (
    BUILTIN_STUDIES,
    STUDY_DECLARATIONS,
    analyse,
    check,
    coerce,
    declaration,
    declaration_module,
    declared_studies,
    listing,
    parameter_lines,
    parameter_spec,
    parameters_cell,
    register,
    typed,
    unknown_parameter,
)
from judgelab.study.spec import (
    TYPES,
    Figure,
    Parameter,
    Study,
    StudyDeclarationError,
    StudyParameterError,
)

__all__ = [
    "Parameter",
    "Figure",
    "Study",
    "StudyParameterError",
    "StudyDeclarationError",
    "SHARED_PARAMETERS",
    "STUDY_DECLARATIONS",
    "BUILTIN_STUDIES",
    "declaration",
    "declaration_module",
    "declared_studies",
    "parameter_spec",
    "register",
    "shared_parameters",
    "parameters_cell",
    "check",
    "coerce",
    "typed",
    "unknown_parameter",
    "parameter_lines",
    "listing",
    "analyse",
    "TYPES",
    "ORDER_AGGREGATIONS",
    "TIE_POLICIES",
    "POSITION_BIAS",
    "SELF_PREFERENCE",
    "FAMILY_ENTANGLEMENT",
    "CALIBRATION_AUDIT",
    "JUDGE_COMPARISON",
    "CORRECTED_ESTIMATE",
    "analyse_position_bias",
    "analyse_self_preference",
    "analyse_family_entanglement",
    "analyse_calibration_audit",
    "analyse_judge_comparison",
]
