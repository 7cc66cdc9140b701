"""Lambda: memory via UpdateFunctionConfiguration (then wait for LastUpdateStatus Successful),
provisioned concurrency, and the architecture (x86_64 <-> arm64) when pre-flight shows the same
code runs on the target.

Switching the architecture re-uploads the function's own deployment package with
UpdateFunctionCode(ZipFile=<the same bytes>, Architectures=[target], RevisionId=<as read>), so
nothing but the architecture changes. Pre-flight (``check`` and ``apply`` both run it) refuses,
with the reason, when that would not work: a container image function (its image is built for one
architecture; Lambda does not run multi-architecture images), a runtime that does not exist on the
target (python3.7, java8, go1.x...), a layer that does not declare the target in
CompatibleArchitectures (an arm64 target needs the declaration; none means x86_64 only), a
package over the 50 MB direct-upload limit, a package that cannot be downloaded or does not match
its CodeSha256, or one holding native ELF binaries built for another machine (an x86-64 ``.so`` in
an arm64 function).
"""

from __future__ import annotations

import base64
import hashlib
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from costopt.actuators.aws import ActuationFailed, aws_errors, client, region_of, waiter_config
from costopt.actuators.base import Actuation, Actuator, Progress, as_kind
from costopt.actuators.preflight import foreign_binaries, native_binaries, refuse
from costopt.config import settings
from costopt.domain.common import Model
from costopt.domain.resources import LambdaConfig, LambdaFunction, Resource, ResourceKind
from costopt.domain.service import Service
from costopt.errors import Unprocessable

KIND = ResourceKind.LAMBDA_FUNCTION

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "lambda:GetFunctionConfiguration",  # read, and the wait for LastUpdateStatus after a memory change
    "lambda:UpdateFunctionConfiguration",
    "lambda:ListProvisionedConcurrencyConfigs",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig",
    "lambda:GetFunction",  # pre-flight of an architecture switch: the package's Code.Location and CodeSha256
    "lambda:GetLayerVersion",  # pre-flight: the layers' CompatibleArchitectures
    "lambda:UpdateFunctionCode",  # the architecture switch (the same package, Architectures=[target])
})

# UpdateFunctionCode takes at most 50 MB as a direct upload (ZipFile); a bigger package came from S3.
MAX_ZIP_UPLOAD_BYTES = 50 * 1024 * 1024
# runtimes that exist for x86_64 only (every runtime released since 2021 also runs on arm64)
X86_ONLY_RUNTIMES = frozenset({
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "python2.7", "python3.6",
    "python3.7", "java8", "go1.x", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "ruby2.5", "provided",
})
MAX_LISTED_BINARIES = 10


class PackageUnavailable(Exception):
    """The deployment package could not be downloaded."""


def http_download(url: str, max_bytes: int) -> bytes:
    """GET a presigned Code.Location (at most ``max_bytes``)."""
    import httpx

    timeout = httpx.Timeout(settings.actuator_read_timeout_s, connect=settings.actuator_connect_timeout_s)
    try:
        with httpx.stream("GET", url, timeout=timeout) as resp:
            if resp.status_code != 200:
                raise PackageUnavailable(f"HTTP {resp.status_code}")
            data = bytearray()
            for chunk in resp.iter_bytes():
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise PackageUnavailable(f"larger than {max_bytes} bytes")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise PackageUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _layer_version(arn: str) -> tuple[str, int]:
    """(layer ARN, version) of a layer version ARN ``arn:aws:lambda:<region>:<account>:layer:<name>:<n>``."""
    layer, _, version = arn.rpartition(":")
    return layer, int(version)


class LambdaActuator(Actuator):
    kind = KIND
    config_model = LambdaConfig
    managed_fields = ("memory_mb", "architecture", "provisioned_concurrency")

    def __init__(self, download: Callable[[str, int], bytes] | None = None) -> None:
        # how the presigned Code.Location of GetFunction is fetched (a sandbox without S3 injects its own)
        self.download = download or http_download

    def _reads_provisioned(self, resource: LambdaFunction, target: LambdaConfig | None = None) -> bool:
        # Provisioned concurrency is read when the service registers some or a change targets it.
        return resource.config.provisioned_concurrency > 0 or bool(target and target.provisioned_concurrency)

    def _provisioned(self, lam: Any, function_name: str) -> list[dict[str, Any]]:
        configs: list[dict[str, Any]] = []
        with aws_errors(KIND, "ListProvisionedConcurrencyConfigs"):
            for page in lam.get_paginator("list_provisioned_concurrency_configs").paginate(
                    FunctionName=function_name):
                configs.extend(page.get("ProvisionedConcurrencyConfigs", []))
        return configs

    def read(self, service: Service, resource: Resource) -> Model:
        fn = as_kind(resource, LambdaFunction)
        lam = client("lambda", region_of(service, fn), fn.account_id)
        with aws_errors(KIND, "GetFunctionConfiguration"):
            cfg = lam.get_function_configuration(FunctionName=fn.function_name)
        live: dict[str, Any] = {
            "memory_mb": int(cfg["MemorySize"]),
            "architecture": (cfg.get("Architectures") or ["x86_64"])[0],
        }
        if self._reads_provisioned(fn):
            live["provisioned_concurrency"] = sum(
                int(c.get("RequestedProvisionedConcurrentExecutions", 0))
                for c in self._provisioned(lam, fn.function_name))
        return self.merge_live(fn, live)

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        b, t = self.parse_as(before, LambdaConfig), self.parse_as(target, LambdaConfig)
        warnings: list[str] = []
        if b.architecture != t.architecture:
            fn = as_kind(resource, LambdaFunction)
            self._architecture_preflight(client("lambda", region_of(service, fn), fn.account_id), fn.function_name,
                                         t.architecture)
            warnings.append(f"the function's deployment package is uploaded again unchanged with Architectures "
                            f"[{t.architecture}]: the next invocations start cold on {t.architecture}; its "
                            "performance is assumed equal, so benchmark it (pre-flight found no native code or "
                            f"layer built for another architecture)")
        if t.provisioned_concurrency > 0 and b.provisioned_concurrency == 0:
            raise Unprocessable(
                "adding provisioned concurrency needs a published version or alias; configure it in your "
                "deployment", extra={"actuator": KIND, "field": "provisioned_concurrency"})
        if b.provisioned_concurrency > 0 and t.provisioned_concurrency == 0:
            warnings.append("dropping provisioned concurrency deletes its configuration: a rollback cannot "
                            "recreate it (re-add it in your deployment)")
        return warnings

    # ------------------------------------------------------------------ architecture pre-flight

    def _architecture_preflight(self, lam: Any, function_name: str, architecture: str) -> tuple[bytes, str | None]:
        """Refuse (422) unless the function's code runs on ``architecture``; returns its package and
        RevisionId (for the UpdateFunctionCode that re-uploads it)."""
        with aws_errors(KIND, "GetFunction"):
            got = lam.get_function(FunctionName=function_name)
        cfg, code = got.get("Configuration", {}), got.get("Code", {})
        if cfg.get("PackageType", "Zip") == "Image":
            raise refuse(KIND, [{
                "preflight": "package_type", "package_type": "Image", "target_architecture": architecture,
                "reason": f"{function_name} is a container image function: an image is built for one architecture "
                          "and Lambda does not run multi-architecture images. Build and push an "
                          f"{architecture} image, then deploy it with UpdateFunctionCode (ImageUri, Architectures "
                          f"[{architecture}]) in your pipeline.",
            }])
        failures: list[dict[str, Any]] = []
        runtime = cfg.get("Runtime")
        if architecture == "arm64" and runtime in X86_ONLY_RUNTIMES:
            failures.append({
                "preflight": "runtime", "runtime": runtime, "target_architecture": architecture,
                "reason": f"the {runtime} runtime exists for x86_64 only: move the function to a current runtime "
                          "first.",
            })
        failures.extend(self._layer_failures(lam, cfg.get("Layers") or [], architecture))
        size = int(cfg.get("CodeSize") or 0)
        if size > MAX_ZIP_UPLOAD_BYTES:
            failures.append({
                "preflight": "package_size", "code_size": size, "max_bytes": MAX_ZIP_UPLOAD_BYTES,
                "reason": f"the deployment package is {size} bytes, over the {MAX_ZIP_UPLOAD_BYTES}-byte limit of "
                          "UpdateFunctionCode's direct upload (it was deployed from S3): deploy it for "
                          f"{architecture} in your pipeline.",
            })
            raise refuse(KIND, failures)
        package, failure = self._package(code.get("Location"), cfg.get("CodeSha256"))
        if failure:
            raise refuse(KIND, [*failures, failure])
        assert package is not None
        try:
            binaries = native_binaries(package)
        except zipfile.BadZipFile:
            raise refuse(KIND, [*failures, {
                "preflight": "package_download", "reason": "the downloaded deployment package is not a zip file."}]
            ) from None
        foreign = foreign_binaries(binaries, architecture)
        if foreign:
            failures.append({
                "preflight": "native_code", "target_architecture": architecture,
                "binaries": [{"path": b.path, "machine": b.machine} for b in foreign[:MAX_LISTED_BINARIES]],
                "binary_count": len(foreign),
                "reason": f"the deployment package holds {len(foreign)} native binar"
                          f"{'y' if len(foreign) == 1 else 'ies'} built for another machine than {architecture} "
                          f"({', '.join(f'{b.path} ({b.machine})' for b in foreign[:3])}"
                          f"{', ...' if len(foreign) > 3 else ''}): build the dependencies for {architecture} "
                          "(e.g. pip install --platform manylinux2014_aarch64 --only-binary=:all:) and deploy them.",
            })
        if failures:
            raise refuse(KIND, failures)
        return package, cfg.get("RevisionId")

    def _layer_failures(self, lam: Any, layers: list[dict[str, Any]], architecture: str) -> list[dict[str, Any]]:
        failures: list[dict[str, Any]] = []
        for layer in layers:
            arn = str(layer.get("Arn", ""))
            try:
                layer_arn, version = _layer_version(arn)
                declared = lam.get_layer_version(LayerName=layer_arn, VersionNumber=version).get(
                    "CompatibleArchitectures") or []
            except (ClientError, BotoCoreError, ValueError) as exc:
                code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
                failures.append({
                    "preflight": "layer_architecture", "layer": arn, "compatible_architectures": None,
                    "target_architecture": architecture,
                    "reason": f"layer {arn} could not be read ({code}), so whether it runs on {architecture} is "
                              "unknown.",
                })
                continue
            # a layer that declares nothing predates arm64 support: it is x86_64 only
            if architecture not in (declared or ["x86_64"]):
                failures.append({
                    "preflight": "layer_architecture", "layer": arn, "compatible_architectures": declared,
                    "target_architecture": architecture,
                    "reason": f"layer {arn} declares CompatibleArchitectures {declared or 'none'}"
                              f"{'' if declared else ' (built before arm64, so unknown)'}, not {architecture}: "
                              f"publish a layer version built for {architecture} and use it.",
                })
        return failures

    def _package(self, location: str | None, code_sha256: str | None) -> tuple[bytes | None, dict[str, Any] | None]:
        """The deployment package from Code.Location, checked against CodeSha256, or why not."""
        if not location:
            return None, {"preflight": "package_download",
                          "reason": "GetFunction returned no Code.Location to download the deployment package from."}
        try:
            package = self.download(location, MAX_ZIP_UPLOAD_BYTES)
        except Exception as exc:  # any failure means the package cannot be verified
            return None, {"preflight": "package_download",
                          "reason": f"the deployment package could not be downloaded ({exc}), so its native code "
                                    "cannot be checked."}
        digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
        if code_sha256 and digest != code_sha256:
            return None, {"preflight": "package_download",
                          "reason": "the downloaded deployment package does not match the function's CodeSha256 "
                                    "(it changed meanwhile?): try again."}
        return package, None

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        fn = as_kind(resource, LambdaFunction)
        b, t = self.parse_as(before, LambdaConfig), self.parse_as(target, LambdaConfig)
        lam = client("lambda", region_of(service, fn), fn.account_id)
        changed = False
        if t.architecture != b.architecture:
            # never rely on the caller having called check(): refused here before anything changes
            package, revision = self._architecture_preflight(lam, fn.function_name, t.architecture)
            self._set_architecture(lam, fn.function_name, package, revision, t.architecture)
            changed = True
        if t.memory_mb != b.memory_mb:
            with aws_errors(KIND, "UpdateFunctionConfiguration", partial=changed):
                lam.update_function_configuration(FunctionName=fn.function_name, MemorySize=t.memory_mb)
            changed = True
            with aws_errors(KIND, "waiting for LastUpdateStatus Successful", partial=True):
                # function_updated polls GetFunctionConfiguration (function_updated_v2 polls GetFunction,
                # which also hands out the code's download URL: a permission costopt does not need)
                lam.get_waiter("function_updated").wait(FunctionName=fn.function_name, WaiterConfig=waiter_config())
        if t.provisioned_concurrency != b.provisioned_concurrency:
            self._set_provisioned(lam, fn.function_name, t.provisioned_concurrency, partial=changed)
        with aws_errors(KIND, "read-back", partial=True):
            after = self.read(service, fn)
        self.confirm(t, after)
        return Actuation(after=after)

    def _set_architecture(self, lam: Any, function_name: str, package: bytes, revision: str | None,
                          architecture: str) -> None:
        """UpdateFunctionCode with the same package and the new architecture (RevisionId: refused by
        Lambda if the function was deployed since it was read), then wait for it."""
        expected = base64.b64encode(hashlib.sha256(package).digest()).decode()
        args: dict[str, Any] = {"FunctionName": function_name, "ZipFile": package, "Architectures": [architecture]}
        if revision:
            args["RevisionId"] = revision
        with aws_errors(KIND, "UpdateFunctionCode"):
            updated = lam.update_function_code(**args)
        with aws_errors(KIND, "waiting for LastUpdateStatus Successful", partial=True):
            lam.get_waiter("function_updated_v2").wait(FunctionName=function_name, WaiterConfig=waiter_config())
        if updated.get("CodeSha256") not in (None, expected):
            raise ActuationFailed(KIND, f"UpdateFunctionCode stored a package with CodeSha256 "
                                  f"{updated.get('CodeSha256')}, not the one read ({expected})", partial=True)

    def _set_provisioned(self, lam: Any, function_name: str, value: int, *, partial: bool) -> None:
        configs = self._provisioned(lam, function_name)
        qualifiers = [c["FunctionArn"].rsplit(":", 1)[-1] for c in configs]
        if value == 0:
            for i, qualifier in enumerate(qualifiers):
                with aws_errors(KIND, f"DeleteProvisionedConcurrencyConfig {qualifier}", partial=partial or i > 0):
                    lam.delete_provisioned_concurrency_config(FunctionName=function_name, Qualifier=qualifier)
            return
        if len(qualifiers) != 1:
            raise ActuationFailed(KIND, f"provisioned concurrency is set on {len(qualifiers)} qualifiers; "
                                  "costopt changes it only when there is exactly one", partial=partial)
        qualifier = qualifiers[0]
        with aws_errors(KIND, "PutProvisionedConcurrencyConfig", partial=partial):
            lam.put_provisioned_concurrency_config(FunctionName=function_name, Qualifier=qualifier,
                                                   ProvisionedConcurrentExecutions=value)
        for _ in range(settings.actuator_wait_max_attempts):
            with aws_errors(KIND, "GetProvisionedConcurrencyConfig", partial=True):
                status = lam.get_provisioned_concurrency_config(FunctionName=function_name,
                                                                Qualifier=qualifier).get("Status")
            if status == "READY":
                return
            if status == "FAILED":
                raise ActuationFailed(KIND, "provisioned concurrency allocation FAILED", partial=True)
            time.sleep(settings.actuator_wait_delay_s)
        raise ActuationFailed(KIND, "provisioned concurrency did not become READY in time", partial=True)
