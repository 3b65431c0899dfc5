"""The schema of ``manifest.json``: types, ranges, enums and path rules.

Why a schema on top of the checksums: ``manifest.sha256`` is a digest, not a
signature, so anyone can edit the manifest and re-hash it. Everything the
runtime later acts on must therefore be checked as data from a stranger:
every path resolves inside the bundle (after ``realpath``), every number has a
range (``threads`` at most 4x this machine's cores, or a compile would hang),
every name is one of the known values. A failure names the file, the field
path and the fix. Imported lazily, by :meth:`Manifest.from_dict`.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from edgekit._schema import Loose, PreprocessSchema, Strict, validate
from edgekit.errors import BundleError

FIX = "re-create the bundle with edgekit deploy"
MAX_THREADS_PER_CORE = 4


def max_threads() -> int:
    """The largest thread/stream count a manifest may ask for on this machine."""
    return (os.cpu_count() or 1) * MAX_THREADS_PER_CORE


def _relpath(value: str) -> str:
    pure = PurePosixPath(value)
    if (not value or pure.is_absolute() or ".." in pure.parts or "\\" in value or ":" in value
            or "\x00" in value or len(value) > 1024):
        raise ValueError("is an unsafe path: it must be relative and stay inside the bundle (no '..', no absolute path)")
    return value


RelPath = Annotated[str, AfterValidator(_relpath)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0, le=1e9)]
Count = Annotated[int, Field(ge=1, le=4096)]
Dim = int | str | None
DTYPES = ("float32", "float16", "float64", "bfloat16", "int8", "uint8", "int16", "uint16", "int32", "uint32",
          "int64", "uint64", "bool")
PRECISIONS = Literal["fp32", "fp16", "bf16", "int8", "int8-dynamic"]


def _threads(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= max_threads():
        raise ValueError(f"must be between 1 and {max_threads()} (4x this machine's cores)")
    return value


Threads = Annotated[int | None, AfterValidator(_threads)]


class TensorSchema(Strict):
    name: Name
    shape: Annotated[list[Dim], Field(max_length=8)]
    dtype: Literal[DTYPES] = "float32"  # type: ignore[valid-type]
    layout: Annotated[str, StringConstraints(max_length=16)] = ""

    @field_validator("shape")
    @classmethod
    def _dims(cls, shape: list[Dim]) -> list[Dim]:
        for dim in shape:
            if isinstance(dim, int) and not -1 <= dim <= 1 << 20:
                raise ValueError("dimensions must be -1 (dynamic), a name, or between 0 and 1048576")
            if isinstance(dim, str) and len(dim) > 64:
                raise ValueError("a named dimension must be at most 64 characters")
        return shape


def _registered(value: str) -> str:
    """A backend name must be one the registry knows here (a typo or a plugin not installed)."""
    from edgekit.backends.registry import is_backend, list_backends

    if not is_backend(value):
        raise ValueError(f"is not a backend registered here (known: {', '.join(list_backends())})")
    return value


class BackendEntry(Strict):
    backend: Annotated[Name, AfterValidator(_registered)]  # the registry decides, not a fixed list
    precision: PRECISIONS


class RuntimeOptions(Strict):
    threads: Threads = None
    inter_op_threads: Threads = None
    streams: Threads = None
    requests: Threads = None
    hint: Literal["latency", "throughput", "cumulative_throughput"] | None = None
    graph_optimization: Literal["disable", "basic", "extended", "all"] | None = None
    cache: bool | None = None
    cache_dir: RelPath | None = None
    profile_placement: bool | None = None
    device_id: Annotated[int, Field(ge=0, le=64)] | None = None
    parallel_requests: Threads = None
    spin: bool | None = None
    x64_quant_precision: bool | None = None


class Runtime(Loose):
    threads: Threads = None
    streams: Threads = None
    hint: Literal["latency", "throughput", "cumulative_throughput"] | None = None
    options: RuntimeOptions = RuntimeOptions()


class Figures(Loose):
    latency_ms: NonNeg | None = None
    throughput_fps: NonNeg | None = None
    source: Annotated[str, StringConstraints(max_length=64)] | None = None


class Validation(Loose):
    file: RelPath = "validation/sample.npz"
    report: RelPath = "validation/report.json"
    samples: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    accuracy: Fraction | None = None
    latency_ms: NonNeg | None = None


class ToleranceSchema(Strict):
    accuracy: Fraction = 0.02
    agreement: Fraction = 0.02
    latency_factor: Annotated[float, Field(ge=1.0, le=1000.0)] = 2.0
    latency_slack_ms: Annotated[float, Field(ge=0.0, le=1e6)] = 0.5


class FileEntry(Strict):
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0)]


class ManifestSchema(Strict):
    name: Name
    format: Literal["onnx", "openvino"]
    model_file: RelPath
    inputs: Annotated[list[TensorSchema], Field(min_length=1, max_length=64)]
    outputs: Annotated[list[TensorSchema], Field(min_length=1, max_length=64)]
    backends: Annotated[list[BackendEntry], Field(min_length=1, max_length=8)]
    files: dict[RelPath, FileEntry]
    preprocess: PreprocessSchema | None = None
    labels: Annotated[list[Annotated[str, StringConstraints(max_length=512)]], Field(max_length=100_000)] | None = None
    output_kind: Literal["logits", "probabilities"] = "logits"
    task: Literal["classification", "detection"] = "classification"
    detection: dict[str, Any] | None = None  # checked by edgekit.detection.head.DetectorSpec.from_dict on use
    device: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")] = "cpu"
    precision: PRECISIONS = "fp32"
    runtime: Runtime = Runtime()
    figures: Figures = Figures()
    accuracy: Fraction | None = None
    validation: Validation = Validation()
    tolerance: ToleranceSchema = ToleranceSchema()
    target: Annotated[str, StringConstraints(max_length=256)] = "local"
    schema_version: Annotated[int, Field(ge=1)]
    edgekit_version: Annotated[str, StringConstraints(max_length=64)] = ""
    created: Annotated[str, StringConstraints(max_length=64)] = ""

    @model_validator(mode="after")
    def _listed(self) -> ManifestSchema:
        if self.model_file not in self.files:
            raise ValueError(f"model_file {self.model_file[:100]!r} is not one of the bundle's listed files")
        return self


def check(data: Any, where: str | Path = "manifest.json") -> dict:
    """Validate a parsed manifest; return it with unknown top-level keys dropped.

    Raises:
        BundleError: naming the file, the field path and the fix.
    """
    model = validate(ManifestSchema, data, where=where, error=BundleError, fix=FIX)
    known = set(ManifestSchema.model_fields)
    cleaned = {k: v for k, v in data.items() if k in known} if model.model_extra else data
    extra_options = model.runtime.options.model_extra or {}
    if extra_options:  # warned about; a backend would refuse them and fall back to another backend
        options = {k: v for k, v in data["runtime"]["options"].items() if k not in extra_options}
        cleaned = {**cleaned, "runtime": {**data["runtime"], "options": options}}
    return cleaned


def check_inside(manifest: Any, root: str | Path, where: str | Path = "manifest.json") -> None:
    """Every path the manifest names resolves (``realpath``) inside ``root``.

    Raises:
        BundleError: naming the field and the path that leaves the bundle.
    """
    base = os.path.realpath(root)
    fields = {"model_file": manifest.model_file, "validation.file": manifest.validation.get("file"),
              "validation.report": manifest.validation.get("report"),
              "runtime.options.cache_dir": (manifest.runtime.get("options") or {}).get("cache_dir")}
    fields.update({f"files[{rel!r}]": rel for rel in manifest.files})
    for name, rel in fields.items():
        if rel is None:
            continue
        real = os.path.realpath(os.path.join(base, str(rel)))
        if os.path.commonpath([base, real]) != base:
            raise BundleError(f"{where}: field `{name}` = {str(rel)[:100]!r} resolves outside the bundle; {FIX}",
                              path=Path(where))


def resolve_options(options: dict | None, root: Path) -> dict | None:
    """Runtime options with ``cache_dir`` made absolute under ``root`` (already checked inside)."""
    if not options or options.get("cache_dir") is None:
        return options or None
    return {**options, "cache_dir": str(Path(root) / options["cache_dir"])}
