"""Pre-flight checks of the EC2, Lambda and ECS actuators against moto: what AWS would refuse or what: the tests
that need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/actuators/test_preflight.py``."""


from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import boto3
import pytest

from costopt.actuators.registry import actuator_for
from costopt.errors import Unprocessable
from costopt.store.recommendations import RecommendationRepository
from tests.integration.aws.api.test_apply_api import apply_body, history
from tests.support.aws_fixtures import (
    ARM64_AMI,
    EM_AARCH64,
    EM_X86_64,
    NOW,
    PARAVIRTUAL_AMI,
    REGION,
    X86_AMI,
    describe_instances_adds,
    ec2_instance,
    ecr_image,
    ecs_service,
    elf_shared_object,
    lambda_function,
    lambda_layer,
    make_service,
    recommendation,
    register,
)


@pytest.fixture
def apply_call(tables, lambda_context):
    import json

    from functions.apply.app import lambda_handler
    from local.events import http_event

    def _call(body):
        resp = lambda_handler(http_event("POST", "/v1/config/apply", body=body), lambda_context)
        return resp["statusCode"], json.loads(resp["body"])

    return _call


def ec2_live(instance_id):
    return boto3.client("ec2", region_name=REGION).describe_instances(
        InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def refusal(kind, service, resource_id, current, target):
    act = actuator_for(kind)
    with pytest.raises(Unprocessable) as info:
        act.check(service, service.resource(resource_id), act.parse(current), act.parse(target))
    assert info.value.status == 422 and "recommend-only" in info.value.detail
    return info.value


def failed_checks(exc):
    return [f["preflight"] for f in exc.extra["preflight_failures"]]


def test_graviton_resize_of_an_x86_64_ami_is_refused_by_dry_run_and_apply(apply_call):
    """The issue: m5 -> m6g SUCCEEDED on an x86_64 AMI. In AWS that is stop, failed modify, outage."""
    instance = ec2_instance("m5.xlarge", image_id=X86_AMI)
    register("batch", [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                        "config": {"instance_type": "m5.xlarge"}}], allow_disruptive=True)
    rec = recommendation("batch", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m5.xlarge"},
                         {"instance_type": "m6g.xlarge"}, cost_now=140.16, cost_proposed=112.42)
    for dry_run in (True, False):
        status, body = apply_call(apply_body(rec, dry_run=dry_run))
        assert status == 422, body
        assert body["preflight"] == "ami_architecture" and body["ami_architecture"] == "x86_64"
        assert body["target_architectures"] == ["arm64"] and body["image_id"] == X86_AMI
        assert f"AMI {X86_AMI} is x86_64 but m6g.xlarge runs arm64 only" in body["detail"]
        assert [f["preflight"] for f in body["preflight_failures"]] == ["ami_architecture"]
    live = ec2_live(instance)
    assert (live["InstanceType"], live["State"]["Name"]) == ("m5.xlarge", "running")  # never stopped
    assert history("batch") == []
    assert RecommendationRepository().get("batch", rec.recommendation_id).etag == rec.etag  # not claimed


def test_an_arm64_ami_moves_between_graviton_types_but_not_to_x86(apply_call, run_actuations):
    instance = ec2_instance("m6g.xlarge", image_id=ARM64_AMI)
    register("batch", [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                        "config": {"instance_type": "m6g.xlarge"}}], allow_disruptive=True)
    to_x86 = recommendation("batch", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m6g.xlarge"},
                            {"instance_type": "m5.large"}, cost_now=112.42, cost_proposed=70.08)
    status, body = apply_call(apply_body(to_x86, dry_run=True))
    assert status == 422 and body["ami_architecture"] == "arm64" and body["target_architectures"] == ["x86_64"]

    rec = recommendation("batch", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m6g.xlarge"},
                         {"instance_type": "m7g.large"}, cost_now=112.42, cost_proposed=59.57)
    status, body = apply_call(apply_body(rec, dry_run=True))
    assert status == 200 and body["status"] == "PLANNED" and any("stopped" in w for w in body["warnings"])
    status, body = apply_call(apply_body(rec))
    assert status == 202 and body["status"] == "IN_PROGRESS" and body["after"]["instance_type"] == "m7g.large"
    [report] = run_actuations()  # the stop/modify/start, by the actuation worker (the pre-flight again first)
    assert report["batchItemFailures"] == [] and ec2_live(instance)["InstanceType"] == "m7g.large"


def test_a_type_not_offered_in_the_instances_zone_and_ena_nvme_needs_are_each_named(tables):
    # us-east-1e offers neither m5 nor other Nitro types (moto's DescribeInstanceTypeOfferings data, as AWS)
    instance = ec2_instance("m4.large", az="us-east-1e")
    service = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                             "config": {"instance_type": "m4.large"}}], allow_disruptive=True)
    exc = refusal("ec2_instance", service, "box", {"instance_type": "m4.large"}, {"instance_type": "m5.large"})
    assert failed_checks(exc) == ["instance_type_offering", "ena_support", "nvme"]
    assert exc.extra["preflight"] == "instance_type_offering" and exc.extra["availability_zone"] == "us-east-1e"
    assert exc.extra["instance_type"] == "m5.large"
    assert "m5.large is not offered in us-east-1e" in exc.detail
    assert "--ena-support" in exc.detail and "NVMe" in exc.detail and "/etc/fstab" in exc.detail
    # t2.micro is offered there and needs neither ENA nor NVMe
    assert actuator_for("ec2_instance").check(service, service.resource("box"),
                                              actuator_for("ec2_instance").parse({"instance_type": "m4.large"}),
                                              actuator_for("ec2_instance").parse({"instance_type": "t2.micro"}))


def test_ena_required_by_the_target_must_be_enabled_on_the_instance(tables):
    # i3 supports ENA and NVMe, r5 requires both: only ENA is in question
    instance = ec2_instance("i3.large")
    service = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                             "config": {"instance_type": "i3.large"}}], allow_disruptive=True)
    current, target = {"instance_type": "i3.large"}, {"instance_type": "r5.large"}
    exc = refusal("ec2_instance", service, "box", current, target)
    assert failed_checks(exc) == ["ena_support"] and exc.extra["instance_ena_support"] is False
    with describe_instances_adds(instance, EnaSupport=True):  # as AWS describes an ENA-enabled instance
        act = actuator_for("ec2_instance")
        assert act.check(service, service.resource("box"), act.parse(current), act.parse(target))


def test_nvme_required_by_the_target_when_the_current_type_has_none_is_refused(tables):
    instance = ec2_instance("r4.large")  # ENA supported, EBS not NVMe
    service = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                             "config": {"instance_type": "r4.large"}}], allow_disruptive=True)
    with describe_instances_adds(instance, EnaSupport=True):
        exc = refusal("ec2_instance", service, "box", {"instance_type": "r4.large"}, {"instance_type": "r5.large"})
    assert failed_checks(exc) == ["nvme"]
    assert (exc.extra["target_nvme_support"], exc.extra["current_nvme_support"]) == ("required", "unsupported")


def test_a_paravirtual_ami_cannot_move_to_an_hvm_only_type(tables):
    instance = ec2_instance("m3.large", image_id=PARAVIRTUAL_AMI)
    service = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                             "config": {"instance_type": "m3.large"}}], allow_disruptive=True)
    exc = refusal("ec2_instance", service, "box", {"instance_type": "m3.large"}, {"instance_type": "m5.large"})
    assert "virtualization_type" in failed_checks(exc)
    pv = next(f for f in exc.extra["preflight_failures"] if f["preflight"] == "virtualization_type")
    assert pv["virtualization_type"] == "paravirtual" and pv["target_virtualization_types"] == ["hvm"]


def test_the_ami_architecture_falls_back_to_describe_images_and_unknown_is_refused(tables):
    instance = ec2_instance("m5.xlarge", image_id=X86_AMI)
    service = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                             "config": {"instance_type": "m5.xlarge"}}], allow_disruptive=True)
    current, target = {"instance_type": "m5.xlarge"}, {"instance_type": "m6g.xlarge"}
    with describe_instances_adds(instance, Architecture=None):
        exc = refusal("ec2_instance", service, "box", current, target)
        assert exc.extra["ami_architecture"] == "x86_64"  # read from DescribeImages
        with describe_instances_adds(instance, Architecture=None, ImageId="ami-0000000000000dead"):
            exc = refusal("ec2_instance", service, "box", current, target)  # an AMI deregistered since launch
    assert exc.extra["preflight"] == "ami_architecture" and exc.extra["ami_architecture"] is None
    assert "cannot be read" in exc.detail


def test_an_unknown_instance_type_is_a_422(tables):
    instance = ec2_instance("m5.xlarge")
    service = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                             "config": {"instance_type": "m5.xlarge"}}], allow_disruptive=True)
    act = actuator_for("ec2_instance")
    with pytest.raises(Unprocessable) as info:
        act.check(service, service.resource("box"), act.parse({"instance_type": "m5.xlarge"}),
                  act.parse({"instance_type": "m5.colossal"}))
    assert info.value.extra["preflight"] == "instance_type" and "m5.colossal" in info.value.detail


def lambda_service(name):
    return make_service([{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                          "config": {"memory_mb": 1024}}])


def live_function(name):
    return boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName=name)


def test_a_pure_python_function_switches_to_arm64_with_the_same_package_and_back(lambda_code):
    name = lambda_function("pf-pure", layers=[lambda_layer("pf-both", ["x86_64", "arm64"])])
    service, act = lambda_service(name), lambda_code
    sha = live_function(name)["CodeSha256"]
    before = act.read(service, service.resource("api"))
    target = act.parse({"memory_mb": 1024, "architecture": "arm64"})
    warnings = act.check(service, service.resource("api"), before, target)
    assert any("uploaded again unchanged" in w for w in warnings)
    done = act.apply(service, service.resource("api"), before, target, change_id="c", now=NOW)
    assert done.after.architecture == "arm64"
    cfg = live_function(name)
    assert cfg["Architectures"] == ["arm64"] and cfg["CodeSha256"] == sha and cfg["LastUpdateStatus"] == "Successful"
    # the rollback: pre-flight for x86_64 passes (the layer declares both), the same package again
    act.check(service, service.resource("api"), done.after, before)
    act.apply(service, service.resource("api"), done.after, before, change_id="c-rb", now=NOW)
    cfg = live_function(name)
    assert cfg["Architectures"] == ["x86_64"] and cfg["CodeSha256"] == sha


def test_an_x86_64_native_library_keeps_arm64_recommend_only_in_dry_run_and_apply(apply_call, lambda_code):
    so = "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so"
    name = lambda_function("apply-api-fn", files={so: elf_shared_object(EM_X86_64), "numpy/__init__.py": b""})
    register("checkout", [{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                           "config": {"memory_mb": 1024}}])
    rec = recommendation("checkout", "api", "lambda_function", "lambda_arm64", {"memory_mb": 1024},
                         {"memory_mb": 1024, "architecture": "arm64"}, cost_now=22.0, cost_proposed=17.6)
    for dry_run in (True, False):
        status, body = apply_call(apply_body(rec, dry_run=dry_run))
        assert status == 422, body
        assert body["preflight"] == "native_code" and body["target_architecture"] == "arm64"
        assert body["binaries"] == [{"path": so, "machine": "x86-64"}] and body["binary_count"] == 1
        assert so in body["detail"] and "recommend-only" in body["detail"]
    assert live_function(name)["Architectures"] == ["x86_64"] and history() == []


def test_lambda_arm64_through_dry_run_apply_and_rollback(apply_call, lambda_code):
    from costopt.jobs.apply import rollback_recommendation

    name = lambda_function("apply-api-fn", layers=[lambda_layer("pf-api-deps", ["x86_64", "arm64"])])
    register("checkout", [{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                           "config": {"memory_mb": 1024}}])
    rec = recommendation("checkout", "api", "lambda_function", "lambda_arm64", {"memory_mb": 1024},
                         {"memory_mb": 1024, "architecture": "arm64"}, cost_now=22.0, cost_proposed=17.6)
    status, body = apply_call(apply_body(rec, dry_run=True))
    assert status == 200 and body["status"] == "PLANNED" and body["after"]["architecture"] == "arm64", body
    assert any("uploaded again unchanged" in w for w in body["warnings"])
    assert live_function(name)["Architectures"] == ["x86_64"]
    status, body = apply_call(apply_body(rec))
    assert status == 200 and body["status"] == "SUCCEEDED" and body["after"]["architecture"] == "arm64", body
    assert live_function(name)["Architectures"] == ["arm64"]
    result = rollback_recommendation("checkout", rec.recommendation_id, actor="ops", reason="p99 regressed")
    assert result.status == "SUCCEEDED" and result.after["architecture"] == "x86_64"
    assert live_function(name)["Architectures"] == ["x86_64"]
    assert [c.type for c in history()] == ["ROLLBACK", "APPLY"]


def test_an_arm64_native_library_goes_to_arm64_and_is_then_refused_back_to_x86(lambda_code):
    so = "cryptography/hazmat/bindings/_rust.abi3.so"
    name = lambda_function("pf-aarch64", files={so: elf_shared_object(EM_AARCH64)})
    service, act = lambda_service(name), lambda_code
    before = act.read(service, service.resource("api"))
    done = act.apply(service, service.resource("api"), before,
                     act.parse({"memory_mb": 1024, "architecture": "arm64"}), change_id="c", now=NOW)
    assert live_function(name)["Architectures"] == ["arm64"]
    with pytest.raises(Unprocessable) as info:
        act.check(service, service.resource("api"), done.after, before)
    assert info.value.extra["binaries"] == [{"path": so, "machine": "aarch64"}]


def test_native_code_inside_a_jar_counts_unless_the_jar_carries_the_target_too(lambda_code):
    def jar(entries):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for path, data in entries.items():
                zf.writestr(path, data)
        return buf.getvalue()

    x86_only = jar({"META-INF/native/libnetty_transport_native_epoll_x86_64.so": elf_shared_object(EM_X86_64)})
    both = jar({"org/sqlite/native/Linux/x86_64/libsqlitejdbc.so": elf_shared_object(EM_X86_64),
                "org/sqlite/native/Linux/aarch64/libsqlitejdbc.so": elf_shared_object(EM_AARCH64)})
    name = lambda_function("pf-java", runtime="java21",
                           files={"lib/netty-epoll-linux-x86_64.jar": x86_only, "lib/sqlite-jdbc.jar": both})
    exc = refusal("lambda_function", lambda_service(name), "api", {"memory_mb": 1024},
                  {"memory_mb": 1024, "architecture": "arm64"})
    assert exc.extra["binaries"] == [
        {"path": "lib/netty-epoll-linux-x86_64.jar!/META-INF/native/libnetty_transport_native_epoll_x86_64.so",
         "machine": "x86-64"}]


def test_layers_must_declare_arm64_and_one_declaring_nothing_is_unknown(lambda_code):
    both = lambda_layer("pf-powertools", ["x86_64", "arm64"])
    old = lambda_layer("pf-legacy", None)
    x86 = lambda_layer("pf-x86", ["x86_64"])
    name = lambda_function("pf-layers", layers=[both, old, x86])
    exc = refusal("lambda_function", lambda_service(name), "api", {"memory_mb": 1024},
                  {"memory_mb": 1024, "architecture": "arm64"})
    layers = [(f["layer"], f["compatible_architectures"]) for f in exc.extra["preflight_failures"]]
    assert layers == [(old, []), (x86, ["x86_64"])]
    assert "built before arm64, so unknown" in exc.detail


def test_a_layer_that_cannot_be_read_is_unknown(lambda_code):
    gone = lambda_layer("pf-gone", ["x86_64", "arm64"])
    name = lambda_function("pf-gone-layer", layers=[gone])
    boto3.client("lambda", region_name=REGION).delete_layer_version(LayerName="pf-gone", VersionNumber=1)
    exc = refusal("lambda_function", lambda_service(name), "api", {"memory_mb": 1024},
                  {"memory_mb": 1024, "architecture": "arm64"})
    assert exc.extra["preflight"] == "layer_architecture" and exc.extra["compatible_architectures"] is None
    assert "ResourceNotFoundException" in exc.detail


def test_a_runtime_without_arm64_is_refused(lambda_code):
    name = lambda_function("pf-py37", runtime="python3.7")
    exc = refusal("lambda_function", lambda_service(name), "api", {"memory_mb": 1024},
                  {"memory_mb": 1024, "architecture": "arm64"})
    assert failed_checks(exc) == ["runtime"] and exc.extra["runtime"] == "python3.7"


def test_a_container_image_function_is_recommend_only(lambda_code):
    lam = boto3.client("lambda", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="pf-image-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    image = ecr_image("pf-fn", "2026.11", ["linux/amd64"])
    lam.create_function(FunctionName="pf-image", Role=role, PackageType="Image", Code={"ImageUri": image},
                        Architectures=["x86_64"])
    exc = refusal("lambda_function", lambda_service("pf-image"), "api", {"memory_mb": 128},
                  {"memory_mb": 128, "architecture": "arm64"})
    assert exc.extra["preflight"] == "package_type" and exc.extra["package_type"] == "Image"
    assert "does not run multi-architecture images" in exc.detail


def test_a_package_over_the_direct_upload_limit_or_not_matching_its_sha_is_refused(lambda_code, monkeypatch):
    from costopt.actuators import lambda_function as module

    name = lambda_function("pf-big", files={"data/model.bin": bytes(range(256)) * 64})
    size = live_function(name)["CodeSize"]
    monkeypatch.setattr(module, "MAX_ZIP_UPLOAD_BYTES", size - 1)
    exc = refusal("lambda_function", lambda_service(name), "api", {"memory_mb": 1024},
                  {"memory_mb": 1024, "architecture": "arm64"})
    assert exc.extra["preflight"] == "package_size" and exc.extra["code_size"] == size
    monkeypatch.undo()

    monkeypatch.setattr(lambda_code, "download", lambda url, max_bytes: b"PK\x05\x06" + bytes(18))
    exc = refusal("lambda_function", lambda_service(name), "api", {"memory_mb": 1024},
                  {"memory_mb": 1024, "architecture": "arm64"})
    assert exc.extra["preflight"] == "package_download" and "CodeSha256" in exc.detail


def test_the_architecture_switch_uploads_the_bytes_it_read_with_their_revision(lambda_code, monkeypatch):
    from costopt.actuators.aws import client

    name = lambda_function("pf-upload")
    service, act = lambda_service(name), lambda_code
    lam = client("lambda", REGION)
    calls = []
    original = lam.update_function_code

    def spy(**kw):
        calls.append(kw)
        return original(**kw)

    def revision(parsed, **_):  # AWS returns the function's RevisionId; moto does not
        parsed["Configuration"]["RevisionId"] = "3b5f6c2e-0d1a-4c8e-9f7a-2e4b6d8f0a1c"

    monkeypatch.setattr(lam, "update_function_code", spy)
    lam.meta.events.register("after-call.lambda.GetFunction", revision)
    try:
        before = act.read(service, service.resource("api"))
        act.apply(service, service.resource("api"), before,
                  act.parse({"memory_mb": 512, "architecture": "arm64"}), change_id="c", now=NOW)
    finally:
        lam.meta.events.unregister("after-call.lambda.GetFunction", revision)
    [call] = calls
    assert call["Architectures"] == ["arm64"] and call["FunctionName"] == name
    assert call["RevisionId"] == "3b5f6c2e-0d1a-4c8e-9f7a-2e4b6d8f0a1c"  # refused by Lambda if deployed since
    assert base64.b64encode(hashlib.sha256(call["ZipFile"]).digest()).decode() == live_function(name)["CodeSha256"]
    assert (live_function(name)["MemorySize"], live_function(name)["Architectures"]) == (512, ["arm64"])


def ecs_setup(cluster, image, os_family="LINUX"):
    """A service named (and with a task definition family named) after its cluster."""
    ecs_service(cluster, cluster, cpu=1024, memory=2048, count=2, image=image, os_family=os_family)
    return make_service([{"resource_id": "web", "kind": "ecs_service", "cluster": cluster, "service_name": cluster,
                          "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2}}])


GRAVITON = {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2, "architecture": "arm64"}
CURRENT = {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2}


def test_ecs_graviton_with_a_multi_platform_ecr_image_is_applied(tables):
    image = ecr_image("pf-web", "3.1.0", ["linux/amd64", "linux/arm64"])
    service = ecs_setup("pf-multi", image)
    act = actuator_for("ecs_service")
    warnings = act.check(service, service.resource("web"), act.parse(CURRENT), act.parse(GRAVITON))
    assert any("linux/arm64 build" in w for w in warnings)
    done = act.apply(service, service.resource("web"), act.read(service, service.resource("web")),
                     act.parse(GRAVITON), change_id="c", now=NOW)
    assert done.after.architecture == "arm64"


@pytest.mark.parametrize(("push", "platforms", "why"), [
    (lambda: "public.ecr.aws/nginx/nginx:1.27", None, "not a private Amazon ECR image"),
    (lambda: "docker.io/library/redis:7.4", None, "not a private Amazon ECR image"),
    (lambda: ecr_image("pf-amd64", "1.0", ["linux/amd64", "windows/amd64"]), ["linux/amd64", "windows/amd64"],
     "has no linux/arm64 build (platforms: linux/amd64, windows/amd64)"),
    (lambda: ecr_image("pf-single", "1.0", None), None, "single-platform manifest"),
    (lambda: ecr_image("pf-missing", "1.0", ["linux/arm64"]).replace(":1.0", ":2.0"), None, "ImageNotFound"),
], ids=["ecr-public", "docker-hub", "amd64-only", "single-manifest", "missing-tag"])
def test_ecs_graviton_is_recommend_only_unless_every_image_has_an_arm64_build(tables, push, platforms, why, request):
    image = push()
    service = ecs_setup(f"pf-{request.node.callspec.id}", image)
    exc = refusal("ecs_service", service, "web", CURRENT, GRAVITON)
    assert exc.extra["preflight"] == "image_architecture" and exc.extra["target_architecture"] == "arm64"
    assert exc.extra["images"] == [{"container": "app", "image": image, "platforms": platforms}]
    assert why in exc.detail and f"container app ({image})" in exc.detail


def test_ecs_graviton_refusal_through_dry_run_and_apply_registers_nothing(apply_call):
    ecs_service("pf-api", "pf-api", cpu=1024, memory=2048, count=2)  # public.ecr.aws image
    register("shop", [{"resource_id": "web", "kind": "ecs_service", "cluster": "pf-api", "service_name": "pf-api",
                       "config": CURRENT}])
    rec = recommendation("shop", "web", "ecs_service", "ecs_graviton", {**CURRENT, "architecture": "x86_64"},
                         GRAVITON, cost_now=72.08, cost_proposed=57.66)
    for dry_run in (True, False):
        status, body = apply_call(apply_body(rec, dry_run=dry_run))
        assert status == 422 and body["preflight"] == "image_architecture", body
    ecs = boto3.client("ecs", region_name=REGION)
    assert len(ecs.list_task_definitions(familyPrefix="pf-api")["taskDefinitionArns"]) == 1
    assert history("shop") == []


def test_ecs_apply_refuses_too_without_check(tables):
    service = ecs_setup("pf-direct", "public.ecr.aws/nginx/nginx:1.27")
    act = actuator_for("ecs_service")
    with pytest.raises(Unprocessable) as info:
        act.apply(service, service.resource("web"), act.read(service, service.resource("web")),
                  act.parse(GRAVITON), change_id="c", now=NOW)
    assert info.value.extra["preflight"] == "image_architecture"
    ecs = boto3.client("ecs", region_name=REGION)
    assert ecs.describe_services(cluster="pf-direct", services=["pf-direct"])["services"][0][
        "taskDefinition"].endswith("pf-direct:1")


def test_ecs_windows_tasks_cannot_run_on_arm64(tables):
    image = ecr_image("pf-win", "ltsc2019", ["windows/amd64", "linux/arm64"])
    service = ecs_setup("pf-win", image, os_family="WINDOWS_SERVER_2019_CORE")
    exc = refusal("ecs_service", service, "web", CURRENT, GRAVITON)
    assert failed_checks(exc) == ["operating_system"]
    assert exc.extra["operating_system_family"] == "WINDOWS_SERVER_2019_CORE"
