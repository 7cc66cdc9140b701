"""The local stack's demo services as domain objects, for engine tests (live ids replaced by fixed ones)."""

from __future__ import annotations

from datetime import timedelta

from costopt import clock
from costopt.domain.service import Service
from local import demo

FAKE_IDS = {"ec2_instance": {"instance_id": "i-0123456789abcdef0"},
            "ebs_volume": {"volume_id": "vol-0123456789abcdef0"}}


def demo_service(service_id: str) -> Service:
    spec = demo.demo_spec(service_id)
    now = clock.now()
    for res in spec["resources"]:
        res.update(FAKE_IDS.get(res["kind"], {}))
    return Service.model_validate({**spec, "service_id": service_id, "version": 1,
                                   "created_at": now - timedelta(days=1), "updated_at": now})
