"""`make bench-scaling`: every benchmark at 1x, 2x, 5x and 10x load (BENCH_LOAD 0.1 to 1.0 of its nominal load), one
subprocess per benchmark and load so each starts clean; prints a table and saves benchmarks/results/scaling.png.

Usage: python benchmarks/scaling.py [name-filter ...]
"""
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOADS = (0.1, 0.2, 0.5, 1.0)  # 1x .. 10x
RESULTS = HERE / "results"


def measure(module: str, load: float) -> list[dict]:
    """Rows of one benchmark module at one load, from a fresh interpreter."""
    env = {**os.environ, "BENCH_LOAD": str(load), "BENCH_JSON": "1"}
    done = subprocess.run([sys.executable, str(HERE / "run.py"), module], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{module} failed at load {load}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def plot(series: dict[str, list[tuple[float, float, str]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no screen here
    import matplotlib.pyplot as plt

    names = sorted(series)
    columns = 2
    rows = (len(names) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(11, 2.6 * rows), squeeze=False)
    for axis, name in zip(axes.flat, names):
        points = series[name]
        axis.plot([10 * load for load, _, _ in points], [value for _, value, _ in points], marker="o")
        axis.set_title(name, fontsize=8)
        axis.set_xlabel("load (x)", fontsize=8)
        axis.set_ylabel(points[0][2], fontsize=8)
        axis.set_xticks([1, 2, 5, 10])
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main(filters: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py") if not filters or any(f in p.stem for f in filters))
    series: dict[str, list[tuple[float, float, str]]] = {}
    names: dict[str, str] = {}
    for module in modules:
        for load in LOADS:
            print(f"{module} at {10 * load:g}x load ...", file=sys.stderr, flush=True)
            for index, row in enumerate(measure(module, load)):
                # A row is the same figure at every load, though its name may state the load offered in that run.
                series.setdefault(f"{module}#{index}", []).append((load, row["measured"], row["unit"]))
                names[f"{module}#{index}"] = row["name"]  # the last load run is the nominal one
    # Rows that share one measurement (the same figure against two baselines) are drawn once.
    seen: set[tuple] = set()
    for key in sorted(series):
        values = tuple(value for _, value, _ in series[key])
        if values in seen:
            del series[key]
        seen.add(values)
    series = {names[key]: points for key, points in series.items()}
    RESULTS.mkdir(exist_ok=True)
    plot(series, RESULTS / "scaling.png")
    print("| benchmark (nominal load = 10x) | " + " | ".join(f"{10 * load:g}x" for load in LOADS) + " |")
    print("|---|" + "---|" * len(LOADS))
    for name, points in sorted(series.items()):
        values = {load: value for load, value, _ in points}
        print(f"| {name} ({points[0][2]}) | " + " | ".join(f"{values[load]:,.1f}" if load in values else "-" for load in LOADS) + " |")
    print(f"\nplot: {RESULTS / 'scaling.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
