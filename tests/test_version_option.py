"""``judgelab --version`` through typer's CliRunner on a local app (the real app registers
the same callback in judgelab/cli.py)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

import judgelab
from judgelab._version_option import root_callback


def _app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False)
    app.callback()(root_callback)

    @app.command()
    def hello():
        typer.echo("hello")

    return app


def test_version_prints_the_package_version_and_exits_cleanly():
    result = CliRunner().invoke(_app(), ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"judgelab {judgelab.__version__}"


def test_commands_still_run_without_version():
    result = CliRunner().invoke(_app(), ["hello"])
    assert result.exit_code == 0 and result.output.strip() == "hello"


def test_version_matches_pyproject():
    import tomllib
    from pathlib import Path

    py = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert py["project"]["version"] == judgelab.__version__
