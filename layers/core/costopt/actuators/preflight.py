"""Pre-flight checks: what an actuator verifies on the live resource before it changes anything.

``check()`` runs them for a dry run and for the real apply (jobs.apply), so a change AWS would reject
or that would break the workload (an x86_64 AMI on a Graviton type, an x86-64 native library in an
arm64 Lambda, an amd64-only image on ARM64 Fargate) is refused up front with the reason, never
half-done. A refusal is a 422 whose extra names the first failed check (``preflight`` plus its
fields) and lists every failed check under ``preflight_failures``.

The pure parts live here: the refusal, ELF machine detection in a zip, and ECR image references
and manifests.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from costopt.errors import Unprocessable


def refuse(kind: str, failures: list[dict[str, Any]]) -> Unprocessable:
    """One 422 for every failed check (each ``{"preflight": code, "reason": text, **fields}``)."""
    first = {k: v for k, v in failures[0].items() if k != "reason"}
    detail = "pre-flight check failed, so this change is recommend-only: " + " ".join(f["reason"] for f in failures)
    return Unprocessable(detail, extra={"actuator": kind, **first, "preflight_failures": failures})


# --------------------------------------------------------------------------- ELF (native code)

ELF_MAGIC = b"\x7fELF"
# e_machine values (System V ABI) and the Lambda architecture that runs them
ELF_MACHINES = {0x03: "i386", 0x3E: "x86-64", 0xB7: "aarch64", 0x28: "arm"}
RUNS_ON = {"x86_64": "x86-64", "arm64": "aarch64"}
NESTED_ARCHIVES = (".jar", ".zip", ".whl", ".egg")
MAX_NESTED_BYTES = 64 * 1024 * 1024


def elf_machine(head: bytes) -> str | None:
    """The machine of an ELF header (its first 20 bytes), or None when it is not ELF."""
    if len(head) < 20 or not head.startswith(ELF_MAGIC):
        return None
    # EI_DATA: 1 = little-endian, 2 = big-endian
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    return ELF_MACHINES.get(machine, f"e_machine 0x{machine:x}")


@dataclass
class NativeBinary:
    path: str
    machine: str


def native_binaries(package: bytes) -> list[NativeBinary]:
    """Every ELF file in a zip (and one level into the jars/wheels/zips it holds), with its machine.

    Raises ``zipfile.BadZipFile`` when ``package`` is not a zip."""
    found: list[NativeBinary] = []
    _scan(zipfile.ZipFile(io.BytesIO(package)), "", found, nested=True)
    return found


def _scan(zf: zipfile.ZipFile, prefix: str, found: list[NativeBinary], *, nested: bool) -> None:
    for info in zf.infolist():
        if info.is_dir() or info.file_size < 20:
            continue
        with zf.open(info) as f:
            head = f.read(20)
        machine = elf_machine(head)
        if machine:
            found.append(NativeBinary(prefix + info.filename, machine))
        elif nested and info.filename.lower().endswith(NESTED_ARCHIVES) and info.file_size <= MAX_NESTED_BYTES:
            try:
                inner = zipfile.ZipFile(io.BytesIO(zf.read(info)))
            except zipfile.BadZipFile:
                continue
            _scan(inner, f"{prefix}{info.filename}!/", found, nested=False)


def foreign_binaries(binaries: list[NativeBinary], architecture: str) -> list[NativeBinary]:
    """The binaries ``architecture`` cannot run. A nested archive (a jar) that also carries builds
    for ``architecture`` is multi-platform (JNI loaders pick by ``os.arch``): its others are fine."""
    wanted = RUNS_ON[architecture]
    multi = {b.path.split("!/", 1)[0] for b in binaries if "!/" in b.path and b.machine == wanted}
    return [b for b in binaries if b.machine != wanted and not ("!/" in b.path and b.path.split("!/", 1)[0] in multi)]


# --------------------------------------------------------------------------- container images

ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")
# every manifest shape BatchGetImage may return: lists/indexes name their platforms
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
ACCEPTED_MEDIA_TYPES = [MANIFEST_LIST, OCI_INDEX, DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_MANIFEST_V1]
# ECS cpuArchitecture -> the OCI platform architecture its tasks pull
OCI_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class EcrImage:
    registry: str
    region: str
    repository: str
    tag: str | None
    digest: str | None

    def image_id(self) -> dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or "latest"}


def parse_ecr_image(image: str) -> EcrImage | None:
    """A private Amazon ECR image reference, or None for any other registry (Docker Hub, ECR Public...)."""
    m = ECR_IMAGE.match(image.strip())
    if not m:
        return None
    return EcrImage(m["registry"], m["region"], m["repository"], m["tag"], m["digest"])


def manifest_platforms(manifest_json: str, media_type: str | None) -> list[str] | None:
    """``os/architecture`` of every platform a manifest list / OCI index names (attestation entries,
    ``unknown/unknown``, left out), or None when the manifest does not say (a single-platform v2/OCI
    manifest records its architecture in the config blob)."""
    manifest = json.loads(manifest_json)
    media_type = media_type or manifest.get("mediaType")
    if manifest.get("schemaVersion") == 1 and manifest.get("architecture"):
        return [f"linux/{manifest['architecture']}"]
    if media_type in (MANIFEST_LIST, OCI_INDEX) or "manifests" in manifest:
        platforms = []
        for entry in manifest.get("manifests", []):
            p = entry.get("platform") or {}
            if p.get("os") and p.get("architecture") and "unknown" not in (p["os"], p["architecture"]):
                platforms.append(f"{p['os']}/{p['architecture']}")
        return sorted(set(platforms))
    return None
