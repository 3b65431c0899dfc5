"""Target devices: what a deployment must fit, and what runs there.

``targets/*.yaml`` (bundled) describe boards and laptops with published
reference figures; ``local`` is this machine, built from its hardware profile.

Example:
    >>> from edgekit.targets import load_target, list_targets
    >>> pi5 = load_target("raspberry-pi-5")                       # doctest: +SKIP
    >>> estimate_latency(pi5, flops=6e8, precision="fp32")         # doctest: +SKIP
"""

from edgekit.targets.estimate import Estimate, Fit, check_fit, estimate_latency
from edgekit.targets.loader import (
    LOCAL,
    list_targets,
    load_target,
    load_target_file,
    local_target,
    target_dirs,
)
from edgekit.targets.model import Accelerator, Budgets, Figure, ReferenceLatency, Target

__all__ = [
    "LOCAL",
    "Accelerator",
    "Budgets",
    "Estimate",
    "Figure",
    "Fit",
    "ReferenceLatency",
    "Target",
    "check_fit",
    "estimate_latency",
    "list_targets",
    "load_target",
    "load_target_file",
    "local_target",
    "target_dirs",
]
