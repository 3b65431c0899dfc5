"""Benchmark page: pick backends × devices × precisions, measure with progress and cancel, compare."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QWidget,
)

from edgekit.backends import capabilities
from edgekit.progress import emit
from edgekit_gui.bench_rows import bench_rows
from edgekit_gui.pages.base import Page
from edgekit_gui.widgets.flow import clear_layout
from edgekit_gui.widgets.plots import colour, make_plot
from edgekit_gui.widgets.tables import fill_table, make_table

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "int8-dynamic")
COLUMNS = ["backend", "device", "precision", "status", "p50 ms", "p90 ms", "p99 ms", "±CI %", "images/s", "runs",
           "compile ms", "GFLOP/s", "note"]
# percentile points drawn as the latency distribution (an empirical CDF)
CDF_POINTS = (("min", 0), ("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("max", 100))


def discover(progress: Any, cancel: Any) -> list[tuple[str, bool, str, list[tuple[str, bool, str]]]]:
    """Worker: every backend with its availability and devices, found in a child process
    (:mod:`edgekit_gui.child_call`): importing torch and OpenVINO in this process held the GIL
    and froze the window for 1.4 s on the first opening of this page."""
    from edgekit_gui.child_call import call_in_child

    emit(progress, "discovering", "backends")
    return call_in_child("edgekit_gui.probes:discover_backends", cancel=cancel)


def run_bench(model: Any, backends: list[str], devices: list[str], precisions: list[str], mode: str,
              seconds: float, progress: Any, cancel: Any) -> tuple[list[Any], list[str]]:
    """Worker: ``edgekit.evaluation.benchmark`` with its progress events and the job's cancel token;
    returns the results and the precision asked for each (a result carries the one in force)."""
    from edgekit.evaluation import bench

    combos = [(b, d, p) for b in backends for d in devices for p in precisions]
    results = bench(model, combos=combos, mode=mode, seconds=seconds, warmup=min(2.0, seconds),
                    progress=progress, cancel=cancel)
    return results, [p for _, _, p in combos]


def result_row(row: Any) -> list[Any]:
    """One table row for a :class:`~edgekit_gui.bench_rows.BenchRow` (its notes in the last column)."""
    r = row.result
    lat = r.latency_ms
    ci = None if r.ci_rel is None or not math.isfinite(r.ci_rel) else 100 * r.ci_rel
    return [r.backend, r.device, r.precision, r.status, lat.get("p50"), lat.get("p90"), lat.get("p99"), ci,
            r.throughput_fps, r.runs or None, r.compile_ms, r.gflops, row.note]


class BenchmarkPage(Page):
    """Measures the current model with :func:`edgekit.evaluation.benchmark`."""

    title = "Benchmark"

    def __init__(self, state, runner, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, parent)
        self.results: list[Any] = []
        self.rows: list[Any] = []  # BenchRows shown (results measuring the same thing merged)
        self.backend_boxes: dict[str, QCheckBox] = {}
        self.device_boxes: dict[str, QCheckBox] = {}
        self._build_choices()
        self._build_run_row()
        self.table = make_table(COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.setMinimumHeight(120)
        self.plot = make_plot("Latency distribution (batch 1): min, p50, p90, p95, p99, max",
                              "latency (ms, log scale)", "runs at or below (%)", log_x=True)
        self.plot.setLogMode(x=True, y=False)
        # table and plot share the height (a 720-high screen showed half a plot below a fixed-size table)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.table)
        self.split.addWidget(self.plot)
        self.split.setChildrenCollapsible(False)
        self.split.setSizes([300, 300])
        self.content.addWidget(self.split, 1)
        state.model_changed.connect(self._model_changed)
        self._model_changed(state.model)
        self._discovered = False

    def _build_choices(self) -> None:
        box = QGroupBox("What to measure")
        grid = QGridLayout(box)
        self.backends_row, self.devices_row, precisions = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        self.backends_row.addWidget(QLabel("finding backends…"))
        self.precision_boxes = {p: QCheckBox(p) for p in PRECISIONS}
        self.precision_boxes["fp32"].setChecked(True)
        for b in self.precision_boxes.values():
            precisions.addWidget(b)
        for row, (label, layout) in enumerate((("Backends:", self.backends_row), ("Devices:", self.devices_row),
                                               ("Precisions:", precisions))):
            grid.addWidget(QLabel(label), row, 0)
            layout.addStretch(1)
            grid.addLayout(layout, row, 1)
        self.content.addWidget(box)

    def _build_run_row(self) -> None:
        row = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.addItems(["latency", "throughput"])
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(0.2, 120.0)
        self.seconds.setValue(3.0)
        self.seconds.setSuffix(" s each")
        self.run_button, self.cancel_button = QPushButton("Run benchmark"), QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)  # shown while a benchmark runs: idle, it read as an empty text field
        self.status = QLabel("")
        self.status.setWordWrap(True)  # a long status must not widen the page past a 1024-px screen
        for w in (QLabel("Mode:"), self.mode, QLabel("Time:"), self.seconds, self.run_button, self.cancel_button,
                  self.progress):
            row.addWidget(w)
        row.addWidget(self.status, 1)
        self.content.addLayout(row)
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)

    def on_shown(self) -> None:
        """Find the backends the first time the page is shown."""
        if not self._discovered:
            self._discovered = True
            self.start_job(discover, on_result=self._show_backends, on_error=self.banner.show_error)

    def _show_backends(self, found: list) -> None:
        clear_layout(self.backends_row, keep=1)  # keep the trailing stretch
        clear_layout(self.devices_row, keep=1)
        devices: dict[str, str] = {}  # lower-cased device -> why unavailable ("" = available somewhere)
        for name, ok, reason, devs in found:
            box = QCheckBox(name)
            box.setEnabled(ok)
            box.setChecked(ok and self._runs(name, self.state.model))
            box.setToolTip(reason or f"{name} is available")
            self.backend_boxes[name] = box
            self.backends_row.insertWidget(self.backends_row.count() - 1, box)
            for dev, dev_ok, why in devs:
                key = dev.lower()
                if dev_ok or key not in devices:
                    devices[key] = "" if dev_ok else f"{name}: {why}"
        missing = [f"{d} ({why})" for d, why in devices.items() if why]
        for dev in (d for d, why in devices.items() if not why):
            box = QCheckBox(dev)
            box.setChecked(dev == "cpu")
            self.device_boxes[dev] = box
            self.devices_row.insertWidget(self.devices_row.count() - 1, box)
        if missing:
            note = QLabel(f"{len(missing)} more not available here")
            note.setStyleSheet("color: gray;")
            note.setToolTip("\n".join(missing))
            self.devices_row.insertWidget(self.devices_row.count() - 1, note)

    def _runs(self, backend: str, model: Any) -> bool:
        """Ticked by default: a backend that runs files, or one that needs a PyTorch module where the model
        has one (its own, a TorchScript file, or a checkpoint beside it: the eager baseline the planner uses)."""
        if not capabilities(backend).needs_module:
            return True
        from edgekit.models.twin import runs_in_torch

        return model is not None and runs_in_torch(model)

    def _model_changed(self, model: Any) -> None:
        for name, box in self.backend_boxes.items():
            if box.isEnabled() and capabilities(name).needs_module:
                box.setChecked(self._runs(name, model))
        self.run_button.setEnabled(model is not None and self.job is None)
        if model is None:
            self.status.setText("Load a model on the Model page first.")
        else:
            self.status.setText(f"Ready to measure {model.name}.")

    def selection(self) -> tuple[list[str], list[str], list[str]]:
        """Checked backends, devices and precisions."""
        pick = lambda boxes: [n for n, b in boxes.items() if b.isChecked() and b.isEnabled()]
        return pick(self.backend_boxes), pick(self.device_boxes), pick(self.precision_boxes)

    def start(self) -> None:
        """Run the benchmark in a worker."""
        model = self.state.model
        backends, devices, precisions = self.selection()
        if model is None or self.job is not None:
            return
        if not (backends and devices and precisions):
            self.banner.show_error("choose at least one backend, one device and one precision")
            return
        self.banner.clear_message()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.start_job(
            run_bench, model, backends, devices, precisions, self.mode.currentText(), self.seconds.value(),
            on_progress=self._progress, on_result=lambda out: self.show_results(*out), on_error=self.banner.show_error,
            on_done=self._done,
        )
        self.job.signals.cancelled.connect(lambda: self._show_cancelled("Benchmark cancelled."))

    def _say_fastest(self, best: Any, ok: list[Any]) -> None:
        """Name the fastest, or -- when its median is within noise of others' (the planner's rule:
        within 2 %, or overlapping 95 % intervals) -- say that no order was measured.

        Why: "Fastest here: openvino, median 9.53 ms" was shown beside onnxruntime at 9.69 ms with
        intervals of +-11 % and +-6 %: a winner the measurement did not pick."""
        from edgekit.planner.rules import tied

        def named(r: Any) -> str:
            spread = "" if r.ci_rel is None else f" +-{100 * r.ci_rel:.0f}%"
            return f"{r.backend} on {r.device} at {r.precision} ({r.p50_ms:.2f} ms{spread})"

        level = [r for r in ok if r is not best and tied(best, r)]
        if not level:
            self.banner.show_success(f"Fastest here: {best.backend} on {best.device} at {best.precision}, "
                                     f"median {best.p50_ms:.2f} ms.")
            return
        self.banner.show_info(f"No clear winner: {', '.join(named(r) for r in (best, *level))} are within measurement "
                              "noise of each other; a longer Time per combination may separate them.")

    def _done(self) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(self.state.model is not None)

    def show_results(self, results: list[Any], asked: list[str] | None = None) -> None:
        """Fill the table (one row per distinct thing measured, notes beside it, as ``edgekit bench``
        footnotes them) and the latency distribution plot; ``asked``: the precision asked per result."""
        rows = sorted(bench_rows(results, asked), key=lambda row: (not row.result.ok, row.result.p50_ms or 0.0))
        self.rows = rows  # measured, fastest first
        self.results = [row.result for row in rows]
        self.table.setSortingEnabled(False)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        fill_table(self.table, [result_row(row) for row in rows])
        self.table.setSortingEnabled(True)
        self.plot.clear()
        for i, r in enumerate(r for r in self.results if r.ok):
            xs = [r.latency_ms[k] for k, _ in CDF_POINTS if k in r.latency_ms]
            ys = [q for k, q in CDF_POINTS if k in r.latency_ms]
            self.plot.plot(xs, ys, pen=colour(i), symbol="o", symbolSize=6, symbolBrush=colour(i),
                           name=f"{r.backend}/{r.device}/{r.precision}")
        ok = [r for r in self.results if r.ok]
        if ok:
            best = min(ok, key=lambda r: r.p50_ms)
            self._say_fastest(best, ok)
            self.state.set_backend(best.backend)
        merged = len(results) - len(rows)
        self.status.setText(f"{len(ok)} of {len(self.results)} combinations measured"
                            + (f" ({merged} asked twice: the same model, one row)." if merged else "."))
