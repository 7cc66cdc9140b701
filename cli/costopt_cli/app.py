"""The ``costopt`` console script: the Typer app with every command registered, and ``main``."""

from __future__ import annotations

from typing import Annotated

import typer

from costopt_cli import __version__, changes, discover, recommend, services, simulate
from costopt_cli.common import app

COMMAND_MODULES = (changes, discover, recommend, services, simulate)  # importing them registers their commands


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"costopt {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                               help="Print the version and exit")] = False) -> None:
    """costopt from the command line: every command calls the HTTP API (local stack or deployed).

    Exit codes: 0 done; 1 the API refused the request (4xx) or a change failed; 2 usage error;
    3 the API could not be reached or answer (network, timeout, 5xx, 503 after retries); 4 not confirmed.
    """


def main() -> None:
    app()
