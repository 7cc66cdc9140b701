"""What every command shares: the Typer apps, the connection options, the error guard and progress.

Every command takes ``--url``, ``--token``, ``--profile`` (see :mod:`costopt_cli.config`) and ``--output``
(see :mod:`costopt_cli.output`). A :class:`~costopt_cli.client.CliError` raised by a command is printed
to stderr (title, detail, then each field error) and ends it with the error's exit code.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from costopt_cli.client import EXIT_DECLINED, EXIT_USAGE, Client, CliError
from costopt_cli.config import ConfigError, resolve
from costopt_cli.output import Output, console

app = typer.Typer(name="costopt", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
services_app = typer.Typer(no_args_is_help=True, help="Register, read, replace and delete services.")
app.add_typer(services_app, name="services")

UrlOpt = Annotated[str | None, typer.Option(
    "--url", show_default=False,
    help="API base URL [env COSTOPT_URL; else the profile's; else http://127.0.0.1:3000]")]
TokenOpt = Annotated[str | None, typer.Option(
    "--token", show_default=False, help="Bearer token [env COSTOPT_TOKEN; else the profile's]")]
ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", show_default=False, help="Saved profile (costopt login) [env COSTOPT_PROFILE; else 'default']")]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="table, json or csv")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")]

P = ParamSpec("P")
R = TypeVar("R")


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command; a CliError becomes its message on stderr and the error's exit code."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            fail(CliError(str(exc), EXIT_USAGE))
        except CliError as exc:
            fail(exc)

    return run


def fail(exc: CliError) -> NoReturn:
    err = console(stderr=True)
    err.print(f"error: {exc.message}", markup=False, highlight=False)
    for line in exc.lines:
        err.print(line, markup=False, highlight=False)
    raise typer.Exit(exc.exit_code)


def note(message: str) -> None:
    """A message for the person at the terminal (stderr: never mixed into json/csv)."""
    console(stderr=True).print(message, markup=False, highlight=False)


@contextmanager
def connect(url: str | None, token: str | None, profile: str | None) -> Iterator[Client]:
    settings = resolve(os.environ, url=url, token=token, profile=profile)
    if not settings.token:
        raise CliError(f"no token for {settings.url}: pass --token, set COSTOPT_TOKEN or run "
                       "`costopt login --url URL --token TOKEN`", EXIT_USAGE)
    client = Client(settings.url, settings.token)
    try:
        yield client
    finally:
        client.close()


def confirm(question: str, yes: bool) -> None:
    """Ask (on stderr); no answer or "no" ends the command with exit code 4. ``--yes`` skips the question."""
    if yes:
        return
    try:
        confirmed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # end of input: nobody said yes
        confirmed = False
    if not confirmed:
        raise CliError("not confirmed: nothing was changed (--yes skips the question)", EXIT_DECLINED)


def read_json_file(path: Path) -> Any:
    """A JSON document from ``path`` (``-``: stdin); a missing or invalid file is a usage error."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
        return json.loads(text)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from exc
    except ValueError as exc:
        raise CliError(f"{path} is not JSON: {exc}", EXIT_USAGE) from exc


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it is JSON (``3``, ``true``, ``[1,2]``), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CliError(f"--param wants key=value, not {text!r}", EXIT_USAGE)
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def progress(transient: bool = True) -> Progress:
    """A progress display on stderr (nothing is drawn when stderr is not a terminal)."""
    err = console(stderr=True)
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=err, transient=transient,
                    disable=not err.is_terminal)


def poll(read: Callable[[], Mapping[str, Any]], done: Callable[[Mapping[str, Any]], bool], *, timeout_s: float,
         interval_s: float = 2.0, on_update: Callable[[Mapping[str, Any]], None] | None = None) -> Mapping[str, Any]:
    """``read()`` every ``interval_s`` until ``done`` says so or ``timeout_s`` passed; the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = read()
        if on_update is not None:
            on_update(state)
        if done(state) or time.monotonic() >= deadline:
            return state
        time.sleep(interval_s)
