"""What every benchmark reports: a figure, the baseline measured in the same run, their ratio and the target."""
import os
from dataclasses import dataclass

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))


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
