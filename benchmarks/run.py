"""`make bench`: run every benchmark in this folder in one process and print one table of ratios measured in this run.

Each bench_*.py module has run(infrastructure) -> list[Row]. BENCH_SCALE (default 1.0) scales the workload (how long
each measurement runs); BENCH_LOAD (default 1.0) the offered load (see benchmarks/scaling.py).
"""
import importlib
import json
import os
import pkgutil
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row  # noqa: E402
from kernel.testing import Infrastructure  # noqa: E402


def main(names: list[str]) -> int:
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if names:
        modules = [m for m in modules if any(n in m for n in names)]
    infrastructure = Infrastructure()
    rows: list[Row] = []
    failed: list[str] = []
    try:
        for name in modules:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            try:
                rows.extend(importlib.import_module(name).run(infrastructure))
            except Exception as exc:  # noqa: BLE001 - one failed benchmark is reported, the others still run
                failed.append(f"| {name} | failed: {str(exc)[:200]} | | | | |")
    finally:
        infrastructure.close()
    if os.environ.get("BENCH_JSON"):  # benchmarks/scaling.py reads the rows back
        print(json.dumps([row.__dict__ for row in rows]))
        return 0
    print(f"\nBenchmarks, {date.today().isoformat()}, {platform.machine()} {platform.processor() or ''} "
          f"({__import__('os').cpu_count()} cores), Python {platform.python_version()}\n")
    print("| benchmark | measured | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())
    for line in failed:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
