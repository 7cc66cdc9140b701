"""The simulate function through its real handler, with HttpApi v2 events (moto DynamoDB): a demo
service with synthetic telemetry folded into the Observations table, results stored with a TTL."""


from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_functions_that_do_not_simulate_never_import_numpy() -> None:
    root = Path(__file__).resolve().parents[3]
    code = (
        "import sys; import functions.services.app as s; import costopt.api.simulate, costopt.jobs.simulate, "
        "costopt.engine.simulation.templates, costopt.engine.simulation.build, costopt.store.simulations; "
        "s.app.include_router(costopt.api.simulate.router); "
        "from costopt.api.openapi import openapi_document; openapi_document(); "
        "print('numpy' in sys.modules)"
    )
    env = {"PYTHONPATH": f"{root / 'layers' / 'core'}:{root}", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
