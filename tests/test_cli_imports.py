"""What the ``judgelab`` command imports: jsonschema's IRI grammars only when used."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from judgelab.cli import defer_module


@pytest.fixture
def slow_module(tmp_path, monkeypatch):
    """A module that counts its imports in ``sys`` (a stand-in for rfc3987_syntax)."""
    name = "judgelab_test_slow_module"
    (tmp_path / f"{name}.py").write_text(
        "import sys\n"
        "sys.judgelab_test_imports = getattr(sys, 'judgelab_test_imports', 0) + 1\n"
        "def is_valid(term, value):\n"
        "    return (term, value.upper())\n"
        "CONSTANT = 5\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "judgelab_test_imports", 0, raising=False)
    yield name
    sys.modules.pop(name, None)


def test_deferred_module_runs_on_first_call_and_answers_as_the_real_one(slow_module):
    assert defer_module(slow_module, ("is_valid",))
    namespace: dict = {}
    exec(f"from {slow_module} import is_valid", namespace)  # as jsonschema imports it
    assert sys.judgelab_test_imports == 0
    assert namespace["is_valid"]("iri", "ab") == ("iri", "AB")
    assert sys.judgelab_test_imports == 1
    assert namespace["is_valid"]("iri", "c") == ("iri", "C")
    assert sys.judgelab_test_imports == 1  # imported once
    real = sys.modules[slow_module]
    assert real.CONSTANT == 5 and real.is_valid("x", "y") == ("x", "Y")


def test_other_attributes_import_the_real_module(slow_module):
    assert defer_module(slow_module, ("is_valid",))
    assert not hasattr(sys.modules[slow_module], "__path__")  # import machinery: no import
    assert sys.judgelab_test_imports == 0
    assert sys.modules[slow_module].CONSTANT == 5
    assert sys.judgelab_test_imports == 1


def test_nothing_deferred_when_imported_already_or_missing(slow_module):
    importlib.import_module(slow_module)
    assert not defer_module(slow_module, ("is_valid",))
    assert not defer_module("judgelab_no_such_module_anywhere", ("f",))


@pytest.mark.skipif(
    importlib.util.find_spec("rfc3987_syntax") is None, reason="rfc3987_syntax not installed"
)
def test_cli_imports_the_notebook_tools_without_building_the_iri_grammars():
    code = (
        "import sys, judgelab.cli, papermill, nbconvert\n"
        "from jsonschema import FormatChecker\n"
        "print('rfc3987_syntax.syntax_helpers' in sys.modules)\n"
        "print(FormatChecker().conforms('a b', 'iri'), FormatChecker().conforms('http://x.org/a', 'iri'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_cli_checks_import_neither_scipy_stats_nor_statsmodels():
    # the modules the command's checks before the kernel starts use; scipy.stats and
    # statsmodels (about 1.5 s CPU) are the kernel's
    code = (
        "import sys, judgelab, judgelab.cli, judgelab.data, judgelab.inputs, judgelab.studies\n"
        "import judgelab.study, judgelab.verdict_schema, judgelab.identity, judgelab.report\n"
        "import judgelab.stats.decision\n"
        "print(sorted(m for m in ('scipy.stats', 'statsmodels', 'judgelab.stats.resampling')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_package_names_resolve_as_before():
    import judgelab
    import judgelab.stats as stats
    from judgelab.data import Dataset
    from judgelab.stats import cluster_bootstrap, holm, power
    from judgelab.stats.multitest import holm as holm_home
    from judgelab.stats.resampling import cluster_bootstrap as cb_home

    assert cluster_bootstrap is cb_home and holm is holm_home
    assert stats.power is power and stats.resampling.wilson_ci is stats.wilson_ci
    assert judgelab.Dataset is Dataset and judgelab.stats is stats
    assert judgelab.ensembles.__name__ == "judgelab.ensembles"
    assert set(judgelab.__all__) <= set(dir(judgelab))
    assert set(stats.__all__) <= set(dir(stats))
    for name in judgelab.__all__ + [f"stats.{n}" for n in stats.__all__]:
        obj = judgelab
        for part in name.split("."):
            obj = getattr(obj, part)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        judgelab.stats.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        judgelab.nope  # noqa: B018
