"""Stop scoring a candidate that is clearly far slower than its baseline.

Why: the accuracy of every candidate is measured on every validation image;
on a 2-core machine dynamic INT8 (10x slower than FP32 there) and PyTorch
eager took most of a plan's time, only to be rejected for speed at the end.
While the FP32 of each backend is scored, its time per image is recorded;
a candidate running :data:`FACTOR` times slower per image than that (after
its first batch) is stopped and rejected with both figures. Its latency is
still benchmarked with the rest, so the table shows how much slower it is.
"""

from __future__ import annotations

FACTOR = 3.0  # far outside the noise of two timings on a busy machine: a real, large gap. Not 4: PyTorch
# eager ran 3.7-4.3x the FP32 reference here, so half the plans scored it in full (4 s) for nothing
ANY = "*"


class Pace:
    """Seconds per image of each backend's FP32 (``ANY``: the FP32 reference) while scoring."""

    def __init__(self, factor: float = FACTOR) -> None:
        self.factor = factor
        self.base: dict[str, float] = {}

    def record(self, backend: str, timing: dict, reference: bool = False) -> None:
        """Remember an FP32 run's time per image (``timing`` from ``evaluate_prepared``)."""
        per = timing.get("per_image_s")
        if per:
            self.base[backend] = per
            if reference:
                self.base.setdefault(ANY, per)

    def limit(self, backend: str) -> float | None:
        """The most seconds per image a candidate on ``backend`` may take before it is stopped."""
        base = self.base.get(backend) or self.base.get(ANY)
        return None if base is None else self.factor * base

    def reason(self, backend: str, per_image_s: float) -> str:
        """The rejection, with both figures."""
        base = self.base.get(backend) or self.base.get(ANY) or per_image_s
        whose = "its backend's FP32" if backend in self.base else "the FP32 reference"
        return (f"ran {per_image_s / base:.1f}x slower per image than {whose} while its accuracy was scored "
                f"({1e3 * per_image_s:.3g} ms vs {1e3 * base:.3g} ms per image), so scoring stopped early; "
                "its latency is measured below")
