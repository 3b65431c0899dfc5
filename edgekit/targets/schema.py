"""The schema of a target YAML (``targets/*.yaml``), checked by the shared pydantic helper.

Why the same helper as manifests, plan.yaml and device lists: one library gives every
file its types, ranges and enums, and every failure reads the same way. What a
hand-written YAML adds is the line: the file is composed into a node tree first
(:func:`edgekit.safeyaml.compose_yaml`: no tags, aliases bounded),
:func:`edgekit.safeyaml.key_lines` records the line of each key (and refuses a key
given twice), and :func:`edgekit._schema.validate` maps the failing field path back
to it: ``pi.yaml, line 20: field budgets.latency_ms must be greater than 0 (got -5); <fix>``.

Unknown keys are refused here, not warned about as in a manifest: a target is written
by hand, and a misspelt ``budgets.latncy_ms`` would otherwise plan without the budget.
Imported lazily by :func:`edgekit.targets.loader.load_target_file` (pydantic costs ~0.1 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from edgekit._schema import Strict, validate
from edgekit.backends.registry import list_backends
from edgekit.errors import TargetError
from edgekit.safeyaml import compose_yaml, construct, key_lines, read_text
from edgekit.types import DeviceKind, Precision

FIX = "fix that line (a bundled target such as raspberry-pi-5.yaml shows every field)"
PRECISIONS = (*(p.value for p in Precision), "fp64")  # fp64: how a Linpack peak is published
DEVICES = tuple(d.value for d in DeviceKind if d is not DeviceKind.AUTO)


def _registered(name: str) -> str:
    """The registry decides which backends a target may list (a plugin registered later counts)."""
    if name not in list_backends():
        raise ValueError(f"is not a registered backend; choose from: {', '.join(list_backends())}")
    return name


Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Note = Annotated[str, StringConstraints(max_length=4096)]
Positive = Annotated[float, Field(gt=0.0, le=1e12)]
Prec = Literal[PRECISIONS]  # type: ignore[valid-type]
Device = Literal[DEVICES]  # type: ignore[valid-type]
Backend = Annotated[str, StringConstraints(max_length=64), AfterValidator(_registered)]


class Closed(Strict):
    """A target mapping: unknown keys are errors (see the module doc)."""

    model_config = ConfigDict(extra="forbid")


class CpuSchema(Closed):
    arch: Text
    model: Note = ""
    cores: Annotated[int, Field(ge=1, le=65536)]
    freq_ghz: Annotated[float, Field(gt=0.0, le=100.0)] | None = None
    isa: Annotated[list[Text], Field(max_length=512)] = ()


class AcceleratorSchema(Closed):
    name: Text
    kind: Device
    source: Text
    peak_tops: Positive | None = None
    precision: Annotated[str, StringConstraints(max_length=32)] = ""
    approximate: bool = False
    note: Note = ""


class SupportSchema(Closed):
    devices: Annotated[list[Device], Field(max_length=16)]
    precisions: Annotated[list[Prec], Field(max_length=16)]


class BudgetsSchema(Closed):
    latency_ms: Positive | None = None
    model_mb: Positive | None = None
    memory_mb: Positive | None = None


class FigureSchema(Closed):
    value: Positive
    source: Text
    precision: Prec | Literal[""] = ""
    approximate: bool = False
    note: Note = ""


class ReferenceSchema(Closed):
    model: Text
    flops: Annotated[int, Field(ge=1, le=10**18)]
    latency_ms: Positive
    precision: Prec
    runtime: Text
    device: Device
    source: Text
    approximate: bool = False
    note: Note = ""


class TargetSchema(Closed):
    name: Text
    description: Note = ""
    cpu: CpuSchema
    memory_mb: Annotated[int, Field(ge=1, le=1 << 40)]
    accelerators: Annotated[list[AcceleratorSchema], Field(max_length=64)] = ()
    backends: Annotated[dict[Backend, SupportSchema], Field(max_length=64)]
    budgets: BudgetsSchema = BudgetsSchema()
    peak_gflops: FigureSchema | None = None
    mem_bandwidth_gbs: FigureSchema | None = None
    references: Annotated[list[ReferenceSchema], Field(max_length=1024)] = ()


def read_target(path: Path) -> dict:
    """Read and check one target YAML; return its plain data (``cpu:`` still nested).

    Raises:
        TargetError: naming the file, the line, the field path and the fix.
    """
    text = read_text(path, TargetError, what="target file")
    node = compose_yaml(text, path=path, error=TargetError)  # safe: no tags, aliases bounded
    if node is None:
        raise TargetError(f"{path} is empty; a target needs at least `name`, `cpu`, `memory_mb` and `backends`",
                          path=path)
    lines = key_lines(node, path=path, error=TargetError)
    data = construct(node, path=path, error=TargetError)
    validate(TargetSchema, data, where=path, error=TargetError, fix=FIX, path=path, lines=lines)
    return data
