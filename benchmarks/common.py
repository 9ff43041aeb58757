"""What every benchmark reports: a figure, the baseline measured in the same run, their ratio and the target."""
import os
from dataclasses import dataclass

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
# The offered load (rate, concurrency, citizens) as a fraction of each benchmark's nominal load; `benchmarks/scaling.py`
# runs every benchmark at 0.1, 0.2, 0.5 and 1.0 of it to show how the figures grow from 1x to 10x load.
LOAD = float(os.environ.get("BENCH_LOAD", "1.0"))


@dataclass
class Row:
    name: str
    measured: float
    baseline: float
    unit: str
    target_ratio: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("nan")

    def met(self) -> str:
        if self.target_ratio is None:
            return "-"
        ok = self.ratio >= self.target_ratio if self.higher_is_better else self.ratio <= self.target_ratio
        return "yes" if ok else "no"

    def markdown(self) -> str:
        target = "-" if self.target_ratio is None else (">=" if self.higher_is_better else "<=") + f" {self.target_ratio:g}"
        return (f"| {self.name} | {self.measured:,.1f} {self.unit} | {self.baseline:,.1f} {self.unit} ({self.note}) | "
                f"{self.ratio:.2f} | {target} | {self.met()} |")


def scaled(n: int) -> int:
    return max(1, int(n * SCALE))


def loaded(n: float) -> int:
    """A nominal load figure (requests per second, concurrency, citizens) at this run's BENCH_LOAD."""
    return max(1, round(n * LOAD))


def start_service(package: str, env: dict, *, timeout: float = 60.0):
    """Start `python -m <package> api` with env on top of ours, wait until /health/ready answers; returns the process."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    process = subprocess.Popen([sys.executable, "-m", package, "api"], env={**os.environ, "LOG_LEVEL": "WARNING", **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{package} exited during start-up")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{package} did not become ready")
