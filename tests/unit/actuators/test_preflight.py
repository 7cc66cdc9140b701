"""Pre-flight checks of the EC2, Lambda and ECS actuators against moto: what AWS would refuse or what
would not run on the target is refused (422, the reason, machine-readable extra) by a dry run and by
the apply, before anything changes; what would run is applied."""


from __future__ import annotations

import sys

import pytest


def test_elf_machine_reads_this_interpreters_own_binary():
    from costopt.actuators.preflight import elf_machine

    if not sys.platform.startswith("linux"):
        pytest.skip("ELF binaries are Linux's")
    import platform

    expected = {"x86_64": "x86-64", "aarch64": "aarch64"}.get(platform.machine())
    with open(sys.executable, "rb") as f:
        assert elf_machine(f.read(20)) == expected
    assert elf_machine(b"#!/usr/bin/env python3\n") is None


@pytest.fixture
def s3_like():
    """A loopback server answering like S3 for a presigned URL: 200 with the bytes, or 403 once expired."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    objects = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = objects.get(self.path)
            status = 200 if body is not None else 403
            body = body if body is not None else b"<Error><Code>AccessDenied</Code>" \
                                                 b"<Message>Request has expired</Message></Error>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield objects, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_download_gets_the_package_and_refuses_errors_and_oversize(s3_like):
    from costopt.actuators.lambda_function import PackageUnavailable, http_download

    objects, base = s3_like
    package = bytes(range(256)) * 1024
    objects["/snapshots/123456789012/fn-1a2b?versionId=3&X-Amz-Signature=abc"] = package
    url = f"{base}/snapshots/123456789012/fn-1a2b?versionId=3&X-Amz-Signature=abc"
    assert http_download(url, len(package)) == package
    with pytest.raises(PackageUnavailable, match="larger than"):
        http_download(url, len(package) - 1)
    with pytest.raises(PackageUnavailable, match="HTTP 403"):
        http_download(f"{base}/snapshots/expired", 1 << 20)
    with pytest.raises(PackageUnavailable, match="ConnectError"):
        http_download("http://127.0.0.1:9/closed", 1 << 20)
