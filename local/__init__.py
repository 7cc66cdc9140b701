"""The local stack: DynamoDB Local, the AWS sandbox, a local HTTP API gateway and invoke.

``python -m local`` works from a checkout without PYTHONPATH: .venv finds the costopt package
through a .pth file written by ``make setup``, and when costopt is still not importable (another
interpreter, a venv made by hand) the repository's ``layers/core`` is added to ``sys.path`` here.
Only the package's location is looked up; costopt itself is not imported (it reads the
environment at import time, which local.env sets first).
"""

import importlib.util
import sys
from pathlib import Path

LAYER_DIR = Path(__file__).resolve().parent.parent / "layers" / "core"

if importlib.util.find_spec("costopt") is None and (LAYER_DIR / "costopt").is_dir():
    sys.path.append(str(LAYER_DIR))
