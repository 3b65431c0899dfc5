"""``PlanConfig``: the one settings object the CLI, the GUI and ``edgekit run plan.yaml`` all build.

Saved as YAML so a plan can be replayed exactly (``edgekit run plan.yaml``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from edgekit._config_files import check_card_flags, relocate
from edgekit._io import write_text_atomic
from edgekit.errors import ConfigError, DataError
from edgekit.planner.config_schema import MAX_SECONDS, check
from edgekit.types import Method

OBJECTIVES = ("latency", "size", "accuracy", "efficiency")
# what --methods may name (plain strings: the config is saved as YAML)
METHODS = tuple(m.value for m in (Method.FP32, Method.FP16, Method.BF16, Method.INT8, Method.INT8_QOP,
                                  Method.INT8_DYNAMIC, Method.PRUNE))
# bf16 is planned only where a target lists it (the local target: a CPU with BF16 arithmetic, see
# edgekit.backends.openvino.OpenVINOBackend.support); elsewhere it adds no candidate
DEFAULT_METHODS = tuple(m.value for m in (Method.FP32, Method.FP16, Method.BF16, Method.INT8, Method.INT8_DYNAMIC))
_INPUTS, _OUTPUTS = ("model", "target", "data", "calibration"), ("out",)  # the fields that may be paths


@dataclass(frozen=True)
class PlanConfig:
    """What to plan, for where, under which budget.

    Attributes:
        model: a model path or name (``"demo:digits-mnv2"``).
        target: target name or YAML path (``"local"`` measures this machine).
        data: labelled image folder (one sub-folder per class); ``None`` = the
            demo set for demo models. Half is used for calibration, half for validation.
        max_accuracy_drop: largest top-1 drop allowed vs FP32 (0.01 = 1 point).
        latency_budget_ms: p50 limit (``None``: the target's default budget).
        max_model_mb: size limit (``None``: the target's default budget).
        objective: "latency", "size", "accuracy" or "efficiency" (accuracy per ms).
        methods: compression methods to try (see ``METHODS``).
        seconds: timed benchmark budget per candidate. Short by default: the candidates whose
            intervals overlap the fastest's are measured again at 2x and 4x (``edgekit.planner.adapt``),
            so the time goes where the ranking is in doubt instead of to every candidate.
        calibration_samples: most images used to calibrate INT8; the planner takes 10 per class,
            at least 100 (statistics settle long before 300 on a 10-class model; one calibration
            set is prepared once and read by every INT8 build).
        verify: re-measure the top three to confirm their order.
        cache: reuse a stored result for the same model, hardware, versions and settings.
        out: folder for the report (JSON, Markdown, PNG) and the candidate models.
        calibration: images to calibrate INT8 on (a folder or manifest, disjoint from
            ``data``); then every image of ``data`` validates. ``None``: a split of ``data``.
        card_flags: the card flags given for ``model`` (``{"mean": [...], "size": 224, "labels": "names.txt"}``,
            as ``--mean/--std/--scale/--bgr/--size/--resize/--labels/--card...`` say; ``None``: none): a
            replay applies them as the command did (:mod:`edgekit._config_files`).
    """

    model: str
    target: str = "local"
    data: str | None = None
    max_accuracy_drop: float = 0.01
    latency_budget_ms: float | None = None
    max_model_mb: float | None = None
    objective: str = "latency"
    methods: tuple[str, ...] = DEFAULT_METHODS
    seconds: float = 1.0
    calibration_samples: int = 300
    verify: bool = False
    cache: bool = True
    out: str | None = None
    calibration: str | None = None
    card_flags: dict | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        self._check_types()
        object.__setattr__(self, "card_flags", check_card_flags(self.card_flags))
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective {self.objective!r} unknown; choose one of {', '.join(OBJECTIVES)}")
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ConfigError(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
        if not 0.0 <= self.max_accuracy_drop < 1.0:
            raise DataError(f"max_accuracy_drop is a fraction (0.01 = 1 point), not {self.max_accuracy_drop}")
        positive = {"seconds": self.seconds, "calibration_samples": self.calibration_samples,
                    "latency_budget_ms": self.latency_budget_ms, "max_model_mb": self.max_model_mb}
        for name, value in positive.items():
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be greater than 0, not {value}; give a positive number or leave it out")
        object.__setattr__(self, "methods", tuple(self.methods))

    def _check_types(self) -> None:
        """Types and finiteness before ranges: `--seconds inf` would never end, `methods="fp32"`
        would be read letter by letter, and a message must never format a huge value."""
        import math

        if isinstance(self.methods, str):
            object.__setattr__(self, "methods", tuple(m.strip() for m in self.methods.split(",") if m.strip()))
        if not isinstance(self.methods, (tuple, list)) or not all(isinstance(m, str) for m in self.methods):
            raise ConfigError(f"methods must be a list of names ({', '.join(METHODS)}), not {type(self.methods).__name__}")
        for name in ("max_accuracy_drop", "latency_budget_ms", "max_model_mb", "seconds", "calibration_samples"):
            value = getattr(self, name)
            if value is None and name in ("latency_budget_ms", "max_model_mb"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                shown = repr(value)[:40] if isinstance(value, (int, float, str)) else type(value).__name__
                raise ConfigError(f"{name} must be a finite number, not {shown}; give a number such as "
                                  f"{getattr(PlanConfig, name, None) or 1}")
        if self.seconds > MAX_SECONDS:
            raise ConfigError(f"seconds must be at most {MAX_SECONDS:.0f} per candidate, not {self.seconds:g}; "
                              "give a shorter benchmark time")
        for name in ("model", "target", "objective"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be text, not {type(getattr(self, name)).__name__}")

    def replace(self, **changes) -> PlanConfig:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def key_settings(self) -> dict:
        """The settings that change the result (cache key): not where it is written."""
        data = self.to_dict()
        for k in ("out", "cache", "model"):
            data.pop(k)
        if data["card_flags"] is None:
            data.pop("card_flags")  # the key of a plan with no card flags stays as it was
        return data

    def to_dict(self) -> dict:
        """Plain dict (lists, not tuples) for YAML/JSON."""
        data = asdict(self)
        data["methods"] = list(self.methods)
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = "plan config") -> PlanConfig:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: unknown keys or a missing ``model``.
        """

        data = check(data, where)  # types, ranges, enums; `methods: fp32` becomes ("fp32",)
        return cls(**{**data, "methods": tuple(data.get("methods", DEFAULT_METHODS))})

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write as YAML (atomic; never over an existing file unless ``force``); relative paths are written
        relative to the YAML's folder when they lie under it, else absolute."""
        data = relocate(self.to_dict(), Path(path).parent, _INPUTS, _OUTPUTS, saving=True)
        return write_text_atomic(path, yaml.safe_dump({"plan": data}, sort_keys=False), force)

    @classmethod
    def load(cls, path: str | Path) -> PlanConfig:
        """Read a YAML written by :meth:`save` (``plan:`` mapping at the top); a relative path means the YAML's folder.

        Raises:
            ConfigError: unreadable file or bad keys, naming the file.
        """
        from edgekit.safeyaml import read_section

        section = read_section(path, "plan", what="plan file", written_by="edgekit plan ... --save-config")
        return cls.from_dict(relocate(section, Path(path).parent, _INPUTS, _OUTPUTS, saving=False), where=str(path))
