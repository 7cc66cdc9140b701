"""Run every benchmark module and print its figures (timings are reported, never asserted)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    only = set(argv)
    here = Path(__file__).parent
    for path in (here.parent / "layers" / "core", here.parent):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    rows: list[tuple[str, str, float, str]] = []
    for mod in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not mod.name.startswith("bench_"):
            continue
        short = mod.name.removeprefix("bench_")
        if only and short not in only:
            continue
        module = importlib.import_module(f"bench.{mod.name}")
        started = time.perf_counter()
        print(f"== {short}", flush=True)
        for name, value, unit in module.main():
            rows.append((short, name, value, unit))
            print(f"   {name:<58} {value:>12.3f} {unit}", flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
