"""One direction of imports: the import-linter contracts of pyproject.toml, one test each.

The contracts (``[tool.importlinter]``) read the source files, not the running modules, so a
lazy import inside a function counts like one at the top. ``lint-imports`` in the checkout
prints the same report with the offending import chains.
"""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli")

import judgelab  # noqa: E402

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
CONTRACTS = {
    c["id"]: c for c in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
}

#: Contracts broken on main when they were written, with the branch that mends them. Strict:
#: once mended the test fails as XPASS, and the entry is removed.
BROKEN_ON_MAIN: dict[str, str] = {}


def _contract_params():
    for cid in CONTRACTS:
        marks = []
        if cid in BROKEN_ON_MAIN:
            marks.append(pytest.mark.xfail(strict=True, reason=BROKEN_ON_MAIN[cid]))
        yield pytest.param(cid, marks=marks, id=cid)


@pytest.mark.parametrize("contract", list(_contract_params()))
def test_import_contract_is_kept(contract, capsys):
    exit_code = importlinter_cli.lint_imports(
        config_filename=str(PYPROJECT),
        limit_to_contracts=(contract,),
        no_cache=True,  # nothing written into the checkout
        no_logo=True,
    )
    report = capsys.readouterr().out
    assert exit_code == 0, f"contract {contract!r} broken:\n{report}"


def test_contracts_name_every_module_of_the_package():
    """A new top-level module must be placed in the layers (or ignored there explicitly) and
    be covered by the contract that keeps report and cli on top."""
    modules = {m.name for m in pkgutil.iter_modules(judgelab.__path__)}
    layers = CONTRACTS["layers"]
    layered = {
        name.strip().strip("()")
        for layer in layers["layers"]
        for name in layer.replace("|", ":").split(":")
    }
    assert modules - layered - set(layers["exhaustive_ignores"]) == set()
    below_report = {
        m.removeprefix("judgelab.") for m in CONTRACTS["report-and-cli-on-top"]["source_modules"]
    }
    assert below_report == modules - {"cli", "report", "__main__"}
