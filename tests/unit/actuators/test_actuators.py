"""Each actuator against moto: the live config really changes, and applying `before` restores it."""


from __future__ import annotations

import pytest

from costopt.actuators.base import ActuationFailed
from costopt.actuators.registry import actuator_for


def test_failed_read_back_is_partial():
    act = actuator_for("lambda_function")
    with pytest.raises(ActuationFailed) as info:
        act.confirm(act.parse({"memory_mb": 512}), act.parse({"memory_mb": 1024}))
    assert info.value.partial and info.value.status == 503
