"""`python -m local ...` as a developer runs it: subprocesses from the repository root with no PYTHONPATH
and none of the COSTOPT_* port variables unless a test sets them, each test in its own local directory
(COSTOPT_LOCAL_DIR: keys, stack records, generated events), so a developer's own `make run` is never
touched nor seen."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.template import ROOT

PORT_VARIABLES = ("COSTOPT_DDB_PORT", "COSTOPT_SANDBOX_PORT", "COSTOPT_PORT")
READY_LINE = "Ctrl-C stops everything."


def clean_env(local_dir: Path, **extra: str) -> dict[str, str]:
    """This session's environment as a fresh shell would have it: no PYTHONPATH, no COSTOPT_* ports."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and k not in PORT_VARIABLES}
    return {**env, "COSTOPT_LOCAL_DIR": str(local_dir), **extra}


def session_ddb_port() -> str:
    """The port of this session's DynamoDB (Local), which a stack under test reuses."""
    return str(urlsplit(os.environ["AWS_ENDPOINT_URL_DYNAMODB"]).port)


def local_cli(local_dir: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
              timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`.venv/bin/python -m local <args>` from the repository root."""
    return subprocess.run([sys.executable, "-m", "local", *args], cwd=ROOT, env=clean_env(local_dir, **(env or {})),
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def bash(script: str, local_dir: Path, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``script`` pasted into bash at the repository root (errexit, pipefail; curl fails on an HTTP error
    and still prints the error body)."""
    prelude = "set -eo pipefail\ncurl() { command curl --fail-with-body \"$@\"; }\n"
    return subprocess.run(["bash", "-c", prelude + script], cwd=ROOT, env=clean_env(local_dir, **(env or {})),
                          capture_output=True, text=True, timeout=timeout)


class StackProcess:
    """`python -m local run` in the background, its output collected line by line."""

    def __init__(self, local_dir: Path, *args: str, ports: dict[str, str], env: dict[str, str] | None = None) -> None:
        self.local_dir = local_dir
        self.ports = ports
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen([sys.executable, "-m", "local", "run", *args], cwd=ROOT,
                                     env=clean_env(local_dir, **ports, **(env or {})), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY_LINE:
                self.ready.set()
        self.ready.set()  # it exited: whoever waits should look at the output

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['COSTOPT_PORT']}"

    def wait_ready(self, timeout: float = 300) -> bool:
        """True once the API serves (the banner is out); False when it exited or took too long."""
        return self.ready.wait(timeout) and self.proc.poll() is None and READY_LINE in self.lines

    def wait_exit(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def stop(self) -> int:
        """Ctrl-C, as a developer stops it; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.wait_exit()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait_exit()


@contextlib.contextmanager
def seeded_stack(dynamodb: Any, local_dir: Path) -> Iterator[StackProcess]:
    """A full `python -m local run` (seed and jobs) on free ports, reusing this session's DynamoDB (emptied
    before and after); it must stop cleanly (exit 0, its record removed)."""
    from local.ddb import free_port
    from local.tables import clear_tables

    clear_tables(dynamodb)
    ports = {"COSTOPT_DDB_PORT": session_ddb_port(), "COSTOPT_SANDBOX_PORT": str(free_port()),
             "COSTOPT_PORT": str(free_port())}
    process = StackProcess(local_dir, ports=ports)
    try:
        assert process.wait_ready(), process.output
        yield process
    finally:
        code = process.stop()
        clear_tables(dynamodb)
    assert code == 0, process.output
    assert "stopped: everything this run started is down." in process.output
    assert not (local_dir / "stacks" / f"{ports['COSTOPT_PORT']}.json").exists()
