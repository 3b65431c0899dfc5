"""``Candidate`` and ``Report``: the planner's results as data (JSON + Markdown + PNG plot)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit._io import write_text_atomic
from edgekit.targets.estimate import Estimate
from edgekit.types import CandidateStatus as Status
from edgekit.types import Method


@dataclass(frozen=True)
class Candidate:
    """One way to deploy the model: backend x device x precision/compression.

    Attributes:
        key: "backend/device/method" (unique in a report).
        method: a :class:`~edgekit.types.Method`: "fp32", "fp16", "int8", "int8-dynamic", "int8-ac"
            (accuracy controlled), "pruned", "eager".
        model: the candidate's model as a dict (``Model.to_dict()``); ``model_obj`` is the live ``Model``.
        p50_ms / p90_ms / ci_rel: measured latency (None when estimated or failed).
        estimate: latency estimate for a target that is not this machine.
        accuracy / accuracy_ci / n: top-1 on the validation data and its 95 % interval.
        drop / drop_ci: accuracy drop vs the FP32 reference, paired on the same images.
        size_mb: model files on disk.
        speedup: vs the FP32 candidate of the same backend (>1 = faster); ``speedup_ci`` its ~95 %
            interval from both medians' intervals (a speed-up whose interval holds 1.0 is a tie).
        status: a :class:`~edgekit.types.CandidateStatus`: "chosen", "valid", "rejected" or "failed".
        reasons: why rejected/failed, in plain words; notes: caveats.
    """

    key: str
    backend: str
    device: str
    precision: str
    method: Method
    model: dict = field(repr=False)  # the whole Model.to_dict(): 4 kB of a printed candidate's 5
    p50_ms: float | None = None
    p90_ms: float | None = None
    ci_rel: float | None = None
    estimate: Estimate | None = None
    accuracy: float | None = None
    accuracy_ci: tuple[float, float] | None = None
    n: int = 0
    drop: float | None = None
    drop_ci: tuple[float, float] | None = None
    size_mb: float = 0.0
    speedup: float | None = None
    speedup_ci: tuple[float, float] | None = None
    status: Status = Status.VALID
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    model_obj: Any = field(default=None, compare=False, repr=False)

    @property
    def latency_ms(self) -> float | None:
        """Measured p50, else the estimate's centre."""
        if self.p50_ms is not None:
            return self.p50_ms
        return None if self.estimate is None else self.estimate.latency_ms

    @property
    def is_estimate(self) -> bool:
        return self.p50_ms is None and self.estimate is not None

    def latency_text(self) -> str:
        if self.p50_ms is not None:
            return f"{self.p50_ms:.3g} ms"
        return str(self.estimate) if self.estimate else "-"

    def speedup_text(self) -> str:
        """"1.16x", or "~1x (noise)" when the speed-up's interval holds 1.0: never a speed-up that
        the measurement cannot tell from none; "~2.5x (est.)" between two estimates (a target not
        measured): it printed "2.51x" like a measured figure, though it is the factor assumed for
        INT8 on a CPU with dot-product instructions (:func:`edgekit.targets.estimate.precision_factor`)."""
        if self.speedup is None:
            return "-"
        if self.is_estimate:  # the factor assumed for the target, or a ratio timed here (see _ratio_here)
            return f"~{self.speedup:.2g}x (est.)"
        if self.speedup_ci is not None and self.speedup_ci[0] <= 1.0 <= self.speedup_ci[1]:
            return "~1x (noise)"
        return f"{self.speedup:.2f}x"

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", Method.parse(self.method, "method"))  # "int8" -> Method.INT8
        object.__setattr__(self, "status", Status.parse(self.status, "candidate status"))

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("model_obj")
        data["method"], data["status"] = str(self.method), str(self.status)
        data["estimate"] = None if self.estimate is None else self.estimate.to_dict()
        data["reasons"], data["notes"] = list(self.reasons), list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Candidate:
        data = dict(data)
        data["estimate"] = None if data.get("estimate") is None else Estimate.from_dict(data["estimate"])
        for key in ("accuracy_ci", "drop_ci", "speedup_ci"):
            data[key] = None if data.get(key) is None else tuple(data[key])
        data["reasons"], data["notes"] = tuple(data.get("reasons", ())), tuple(data.get("notes", ()))
        return cls(**data)


@dataclass(frozen=True)
class Report:
    """What the planner measured and decided.

    Attributes:
        model / model_sha256 / target: what was planned for where.
        estimated: True when latencies are estimates (target is not this machine).
        candidates: every candidate, chosen one included.
        best_key: the chosen candidate's key.
        log: the plain-language decision log.
        regret_ms / regret_pct: chosen vs fastest valid measured candidate.
        verified: ``--verify`` re-measurements: key -> p50 ms (empty when not run).
        eager_ms / speedup_vs_eager: PyTorch eager FP32 p50 and the chosen one's speed-up over it.
        config: the :class:`PlanConfig` it ran with, as a dict (budgets left to the target's
            defaults filled in, so a plot or a replay needs nothing else); :attr:`plan_config` rebuilds it.
        hardware: fingerprint + summary; seconds: wall time.
        cache_hit: this report came from the cache.
    """

    model: str
    model_sha256: str
    target: str
    estimated: bool
    candidates: tuple[Candidate, ...]
    best_key: str
    log: tuple[str, ...] = field(repr=False)  # print("\n".join(report.log)): 5 kB in a repr
    regret_ms: float = 0.0
    regret_pct: float = 0.0
    verified: dict = field(default_factory=dict)
    eager_ms: float | None = None
    speedup_vs_eager: float | None = None
    config: dict = field(default_factory=dict, repr=False)
    hardware: dict = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    cache_hit: bool = False
    metric: str = "top-1"  # what accuracy/drop measure: "top-1", or "mAP@0.5:0.95" for a detector

    @property
    def plan_config(self) -> Any:
        """``config`` as a :class:`~edgekit.planner.config.PlanConfig` (what ``edgekit run`` replays)."""
        from edgekit.planner.config import PlanConfig

        return PlanConfig.from_dict(self.config)

    @property
    def best(self) -> Candidate:
        """The chosen candidate (its ``model_obj`` is the live ``Model``, loaded lazily from disk)."""
        cand = next(c for c in self.candidates if c.key == self.best_key)
        if cand.model_obj is None and cand.model.get("path"):
            from edgekit.models import Model

            object.__setattr__(cand, "model_obj", Model.from_dict(cand.model))
        return cand

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["candidates"] = [c.to_dict() for c in self.candidates]
        data["log"] = list(self.log)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        data = dict(data)
        data["candidates"] = tuple(Candidate.from_dict(c) for c in data["candidates"])
        data["log"] = tuple(data["log"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_markdown(self) -> str:
        """A table of every candidate and the decision log."""
        kind = "estimated on" if self.estimated else "measured on"
        lines = [f"# Plan: {self.model} -> {self.target}", "",
                 f"Latency {kind} {self.target}; accuracy measured here. Chosen: **{self.best_key}**.", "",
                 (f"| candidate | status | latency p50 | speed-up vs FP32 | {self.metric} (95% CI) | drop (95% CI) "
                  "| size MB | why |"),
                 "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in self.candidates:
            lines.append(f"| {c.key} | {c.status} | {c.latency_text()} | {c.speedup_text()} | {_acc(c)} | {_drop(c)} "
                         f"| {c.size_mb:.2f} | {'; '.join(c.reasons) or '-'} |")
        lines += _estimates_section(self.candidates)
        lines += ["", "## Decision log", ""] + [f"- {line}" for line in self.log]
        return "\n".join(lines) + "\n"

    def save(self, out: str | Path, force: bool = True) -> dict[str, Path]:
        """Write ``report.json``, ``report.md`` and ``plot.png`` into folder ``out``."""
        from edgekit.planner.plot import save_plot

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        saved = json.dumps(relative_to(self.to_dict(), out), indent=2, default=str)
        paths = {"json": write_text_atomic(out / "report.json", saved, force),
                 "markdown": write_text_atomic(out / "report.md", self.to_markdown(), force)}
        paths["plot"] = save_plot(self, out / "plot.png", force=force)
        return paths


def relative_to(data: dict, folder: Path | None) -> dict:
    """``data`` (a report dict) with each candidate's model path and files relative to ``folder``
    (``None``: absolute, as the plan cache keeps them).

    Why: a saved plan is moved, copied to another machine or deployed from another folder;
    paths relative to the working directory of the run that made it would break all three.
    Readers resolve them against the report's folder (:func:`edgekit.deployment.source`).
    """
    base = None if folder is None else os.path.abspath(folder)

    def fix(p: Any) -> Any:
        if p is None:
            return p
        full = os.path.abspath(p)
        return Path(full if base is None else os.path.relpath(full, base)).as_posix()

    out = dict(data)
    out["candidates"] = [{**c, "model": {**c["model"], "path": fix(c["model"].get("path")),
                                         "files": [fix(f) for f in c["model"].get("files") or []]}}
                         if isinstance(c.get("model"), dict) and c["model"].get("path") else c
                         for c in data["candidates"]]
    return out


def _estimates_section(cands: tuple[Candidate, ...] | list[Candidate]) -> list[str]:
    """"## How the latencies were estimated": the figures every estimate shares (with their sources)
    once, then what is particular to each candidate. Why: the report showed "~4.55 ms (est.)" and
    "~1.5x (est.)" with nothing to say from what; the basis was only in report.json."""
    estimated = [c for c in cands if c.estimate is not None and c.estimate.basis]
    if not estimated:
        return []
    shared = [b for b in estimated[0].estimate.basis if all(b in c.estimate.basis for c in estimated)]
    lines = ["", "## How the latencies were estimated", ""]
    lines += [f"- Every estimate: {b}" for b in shared]
    for c in estimated:
        own = [b for b in c.estimate.basis if b not in shared]
        if own:
            lines.append(f"- {c.key}: {'; '.join(own)}")
    return lines


def _acc(c: Candidate) -> str:
    if c.accuracy is None:
        return "-"
    lo, hi = c.accuracy_ci or (c.accuracy, c.accuracy)
    return f"{100 * c.accuracy:.2f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def _drop(c: Candidate) -> str:
    if c.drop is None:
        return "-"
    lo, hi = c.drop_ci or (c.drop, c.drop)
    return f"{100 * c.drop:+.2f} pt ({100 * lo:+.2f}..{100 * hi:+.2f})"
