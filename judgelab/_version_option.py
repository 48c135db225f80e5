"""``judgelab --version``: an eager root option that prints the package version and exits.

Registered on the command line's Typer app with::

    from judgelab._version_option import root_callback
    app.callback()(root_callback)
"""

from __future__ import annotations

import typer


def print_version(value: bool) -> None:
    """Print ``judgelab <version>`` and stop, when ``--version`` was given."""
    if not value:
        return
    from judgelab import __version__

    typer.echo(f"judgelab {__version__}")
    raise typer.Exit()


def root_callback(
    version: bool = typer.Option(
        False,
        "--version",
        callback=print_version,
        is_eager=True,  # before any command is resolved, so `judgelab --version` needs none
        help="Print the judgelab version and exit.",
    ),
) -> None:
    """Measure LLM judges like instruments: run parameterized bias and calibration studies."""
