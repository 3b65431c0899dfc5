"""Benchmark results as table rows: one row per distinct thing measured, its notes beside it.

Why: asking fp32 and int8 of an INT8 model measures the same int8 graph twice (a runtime
that runs a model as stored says so in a note); the table showed two identical-looking
"onnxruntime cpu int8" rows with an empty note column, where ``edgekit bench`` prints the
note as a footnote. Here the rows measuring the same thing are merged into the first one,
and every note (the runtime's, the unavailable reason, which precisions were asked) is
written beside its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BenchRow:
    """One row: the result shown, the precisions asked for it, and the notes beside it."""

    result: Any
    asked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        """The note column: what was merged, then the runtime's notes (or the unavailable reason)."""
        r = self.result
        merged = []
        if len(self.asked) > 1:
            merged.append(f"asked {' and '.join(self.asked)}: the same {r.precision} model, shown once")
        return "; ".join(merged + self.notes)


def _key(result: Any) -> tuple:
    """What a result measured: backend, device, precision in force and mode (only measured ones merge)."""
    return (result.backend, result.device, str(result.precision), result.mode) if result.ok else (id(result),)


def bench_rows(results: list[Any], asked: list[str] | None = None) -> list[BenchRow]:
    """``results`` (each with the precision asked for it in ``asked``, same order) as rows.

    Rows keep the order of ``results``; a result measuring what an earlier one measured
    joins that row (its precision asked and its notes are added)."""
    rows: dict[tuple, BenchRow] = {}
    for i, r in enumerate(results):
        row = rows.setdefault(_key(r), BenchRow(r))
        wanted = asked[i] if asked is not None and i < len(asked) else str(r.precision)
        if wanted not in row.asked:
            row.asked.append(wanted)
        texts = list(r.info.get("notes", ())) if r.ok else [r.reason]
        row.notes += [t for t in texts if t and t not in row.notes]
    return list(rows.values())
