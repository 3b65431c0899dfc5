"""Optimize page: choose a target and a budget, run the planner with progress and cancel, pick a candidate."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from edgekit.errors import EdgekitError
from edgekit.types import CandidateStatus
from edgekit_gui import _busy, settings
from edgekit_gui.errors import for_gui
from edgekit_gui.optimize.results import PlanResults
from edgekit_gui.optimize.settings_form import DEMO_DATA, FOLDER_DATA, PlanSettings
from edgekit_gui.optimize.speedups import BUSY_LOAD, eager_sentence, machine_load
from edgekit_gui.optimize.target_cards import TargetCards, load_all_targets, load_target_file
from edgekit_gui.pages.base import Page
from edgekit_gui.widgets.data_picker import data_hint
from edgekit_gui.widgets.flow import FlowLayout
from edgekit_gui.widgets.resize import WidthWatcher


def run_plan(model: Any, target: Any, config: Any, progress: Any, cancel: Any) -> Any:
    """Worker: run ``config`` (a :class:`edgekit.planner.PlanConfig`) with its progress events and cancel.

    Models on disk are planned in a child process owned by the SDK
    (:func:`edgekit.planner.process.run_plan_process`: its own process group, stopped
    when the plan ends, is cancelled or the window closes, and exiting if the app dies),
    so the window stays responsive; an in-memory PyTorch module is planned on this worker thread.
    """
    if model.path is not None:
        from edgekit.planner.process import CHILD_NICE, run_plan_process

        return run_plan_process(config, model=model, progress=progress, cancel=cancel, nice=CHILD_NICE)
    from edgekit.planner import plan

    return plan(model, target=target, config=config, progress=progress, cancel=cancel)


def target_location(target: Any) -> str:
    """What a PlanConfig names a target by: its YAML path when it came from a file, else its name."""
    return str(target.path) if getattr(target, "path", None) is not None else target.name


def accuracy_floor(candidates: list[Any], max_drop: float) -> float | None:
    """FP32 reference accuracy minus the allowed drop (for the plot's budget line)."""
    ref = [c.accuracy for c in candidates if c.method == "fp32" and c.accuracy is not None]
    return None if not ref else max(ref) - max_drop


class OptimizePage(Page):
    """Runs :func:`edgekit.planner.plan` for the current model and shows its :class:`Report`."""

    title = "Optimize"
    scrolls = False

    def __init__(self, state, runner, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, parent)
        self.report: Any = None
        self.config: Any = None  # the PlanConfig of the last run started
        self.load_at_start: float | None = None  # load average per core when it started
        self._targets_loaded = False
        left = QWidget()
        self.left = QVBoxLayout(left)
        self.left.setContentsMargins(0, 0, 4, 0)
        heading = QLabel("<b>Target</b> (measured on <i>local</i> and on devices over SSH, estimated elsewhere)")
        heading.setWordWrap(True)
        self.left.addWidget(heading)
        buttons = QWidget()
        header = FlowLayout(buttons)  # the file buttons wrap in a narrow column (1024-px screens)
        self.open_target = QPushButton("Open target YAML…")
        header.addWidget(self.open_target)
        self.add_device = QPushButton("Add device…")
        self.add_device.setToolTip("A Raspberry Pi, Jetson or NUC reached over SSH: plans there are measured there")
        self.add_device.clicked.connect(self.ask_device)
        header.addWidget(self.add_device)
        self.load_settings = QPushButton("Open plan.yaml…")
        self.load_settings.setToolTip("Fill the form (and pick the model and target) from a saved PlanConfig YAML")
        header.addWidget(self.load_settings)
        self.save_settings = QPushButton("Save as plan.yaml…")
        self.save_settings.setToolTip("Write these settings as the PlanConfig YAML `edgekit run plan.yaml` replays")
        header.addWidget(self.save_settings)
        self.left.addWidget(buttons)
        self.cards = TargetCards()
        self.left.addWidget(self.cards)
        self.form = PlanSettings()
        self.left.addWidget(self.form)
        self.left.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(320)  # target cards go to one column when narrow (no fixed 600 px: 1024-px screens)
        self._watch = WidthWatcher(scroll.viewport(), lambda w: self.cards.fit_width(w - 8))
        right = QWidget()
        right.setMinimumWidth(420)  # the results table and scatter stay readable; the splitter gives the rest
        column = QVBoxLayout(right)
        column.setContentsMargins(4, 0, 0, 0)
        self.steps = QListWidget()
        self.steps.setMaximumHeight(90)
        # shown while a plan runs (and after one stopped short); a finished plan's decision log says
        # all of it, and gets the height (at 1280x720 it showed 3-4 lines under an emptied list)
        self.progress_box = QWidget()
        box = QVBoxLayout(self.progress_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(QLabel("<b>Progress</b>"))
        box.addWidget(self.steps)
        self.progress_box.setVisible(False)
        column.addWidget(self.progress_box)
        self.results = PlanResults()
        column.addWidget(self.results, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([610, 830])
        self.content.addWidget(split, 1)
        self._build_run_row()  # below both columns, outside their scroll areas: always in view
        self.cards.chosen.connect(self._target_chosen)
        self.open_target.clicked.connect(self._ask_target)
        self.save_settings.clicked.connect(self._ask_save)
        self.load_settings.clicked.connect(self._ask_load)
        state.model_changed.connect(lambda *_: self._sync())
        self._sync()

    def _build_run_row(self) -> None:
        """Run / Cancel / Use, the progress bar and the status line, under the two columns: on a
        1280x720 screen they sat below the settings column's fold, out of sight during a plan."""
        row = QHBoxLayout()
        self.run_button, self.cancel_button = QPushButton("Run plan"), QPushButton("Cancel")
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Carry the selected (or chosen) candidate to Deploy and Live demo")
        self.progress = QProgressBar()
        self.status = QLabel("")  # one line, never wrapped: a wrapping label outside the columns' scroll
        # areas made the page size itself by its preferred height (805 px in 680: Run/Cancel out of view)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.run_button, self.cancel_button, self.use_button):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        self.content.addLayout(row)
        self.content.addWidget(self.status)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self.use_selected)
        self.cancel_button.setEnabled(False)
        self.use_button.setEnabled(False)

    def _sync(self) -> None:
        model = self.state.model
        if model is not None and getattr(model, "validation", None) is None \
                and self.form.data_kind.currentText() == DEMO_DATA:
            # a model whose card names no validation data (any model not ours): the bundled digits fit
            # only the demo models, and "Run plan" stopped on a banner asking for the user's images
            self.form.data_kind.setCurrentText(FOLDER_DATA)
        hint = data_hint(model)
        self.form.data_folder.setPlaceholderText(hint)
        self.form.data_folder.setToolTip(hint)  # the narrow field cuts it short
        self.run_button.setEnabled(model is not None and self.job is None and self.cards.current() is not None)
        if self.job is None:
            self.status.setText("Load a model on the Model page first." if model is None else f"Plan {model.name}.")

    # ---- targets -------------------------------------------------------------------------------
    def on_shown(self) -> None:
        """Load the target cards the first time the page is shown."""
        if not self._targets_loaded:
            self._targets_loaded = True
            self.start_job(load_all_targets, on_result=self._show_targets, on_error=self.banner.show_error)

    def _show_targets(self, targets: list[Any]) -> None:
        for t in targets:
            self.cards.add_target(t)
        last = settings.get("targets/last", "local")
        if not self.cards.select(last):
            self.cards.select("local")

    def ask_device(self) -> Any:
        """Open the "Add device…" dialog; a saved device appears as a target card, selected."""
        from edgekit_gui.optimize.device_dialog import AddDeviceDialog
        from edgekit_gui.optimize.target_cards import device_targets

        dialog = AddDeviceDialog(sorted(self._bundled()), self)
        self.device_dialog = dialog  # tests drive it
        dialog.finished.connect(lambda _code: self._device_added(dialog, device_targets))
        dialog.open()
        return dialog

    def _device_added(self, dialog: Any, device_targets: Any) -> None:
        if dialog.device is None:
            return
        for target in device_targets():
            if target.name == dialog.device.name:
                self.cards.add_target(target, select=True)
        self.banner.show_success(f"Device {dialog.device.name} saved ({dialog.device.url}); plans on it are measured "
                                 "there.")

    def _ask_target(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Target", "", "Target (*.yaml *.yml)")
        if path:
            self.open_target_file(path)

    def open_target_file(self, path: str) -> None:
        """Load a target YAML in a worker; a malformed one shows the SDK's sentence."""
        self.start_job(load_target_file, path, on_result=lambda t: self.cards.add_target(t, select=True),
                          on_error=self.banner.show_error)

    def _target_chosen(self, target: Any) -> None:
        name = str(target.path) if target.path is not None and target.name not in self._bundled() else target.name
        self.state.set_target(name)
        settings.put("targets/last", name)
        if self.banner.kind == "error":
            self.banner.clear_message()
        self._sync()

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plan settings", "plan.yaml", "Plan (*.yaml *.yml)")
        if path:
            self.save_config(path)

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open plan settings", "", "Plan (*.yaml *.yml)")
        if path:
            self.open_config(path)

    def open_config(self, path: str) -> Any:
        """Fill the form from a saved :class:`PlanConfig`; select its target and load its model when they differ."""
        from edgekit.planner import PlanConfig

        try:
            config = PlanConfig.load(path)
        except EdgekitError as exc:
            self.banner.show_error(exc)
            return None
        self.form.set_config(config)
        if not self.cards.select(config.target):
            self.open_target_file(config.target)
        model = self.state.model
        if model is None or config.model not in (str(model.path), model.name) or config.card_flags:
            from edgekit_gui.pages.model import load_in_worker

            self.start_job(load_in_worker, config.model, flags=config.card_flags, on_result=self.state.set_model,
                              on_error=self.banner.show_error)
        self.banner.show_info(f"Settings from {path}; press Run plan to replay it.")
        return config

    def save_config(self, path: str) -> Any:
        """Write the form as a :class:`PlanConfig` YAML (the dialog already asked before replacing a file),
        with the preprocessing set in the app as card flags (:func:`edgekit_gui.card_flags.save_config`:
        ``None`` when they are checked in a worker first)."""
        from edgekit_gui.card_flags import save_config

        model, target = self.state.model, self.cards.current()
        if model is None or target is None:
            self.banner.show_error("load a model and choose a target first")
            return None
        try:
            config = self.form.config(str(model.path or model.name), target_location(target))
        except EdgekitError as exc:
            self.banner.show_error(exc)
            return None
        return save_config(self, config, model, path)

    def _bundled(self) -> set[str]:
        from edgekit.targets import list_targets

        return set(list_targets())

    # ---- running --------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the planner in a worker."""
        model, target = self.state.model, self.cards.current()
        if model is None or target is None or self.job is not None:
            return
        try:
            config = self.form.config(str(model.path or model.name), target_location(target))
        except EdgekitError as exc:
            self.banner.show_error(exc)
            return
        if not config.methods:
            self.banner.show_error("choose at least one method to try (fp32 is the reference)")
            return
        self.config = config
        self.load_at_start = machine_load()  # other work competing with the measurement (speed-up badges)
        self.banner.clear_message()
        self.steps.clear()
        self.progress_box.setVisible(True)
        self.results.clear()  # the last plan's table is not this run's: it comes back if this one is cancelled
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.use_button.setEnabled(False)
        _busy.hold()
        self.job = self.start_job(run_plan, model, target, config, on_progress=self._progress,
                                     on_result=self.show_report, on_error=self._failed, on_done=self._done)
        self.job.signals.cancelled.connect(self._cancelled)

    def _cancelled(self) -> None:
        """Nothing changed: the app's plan is still the last finished one, shown again if there is one."""
        if self.report is None:
            self._show_cancelled("Plan cancelled; nothing was changed.")
            return
        self._render(self.report)
        self._show_cancelled(f"Plan cancelled; nothing was changed: the last finished plan ({self.report.model}) "
                             "is shown again.")

    def _progress(self, event: Any) -> None:
        """The bar and the status line follow every event; the step list gets one line per step
        (sub-steps with counts -- images, samples -- only update the status line)."""
        super()._progress(event)
        if event.done is None:
            self.steps.addItem(f"{event.fraction or 0.0:4.0%}  {event.stage}: {event.message}")
            self.steps.scrollToBottom()

    def _done(self) -> None:
        self.job = None
        _busy.release()
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(self.state.model is not None and self.cards.current() is not None)

    def _failed(self, exc: BaseException) -> None:
        """The error in the banner; the candidates that came closest when there are some, else the
        last finished plan again (it still stands)."""
        self.banner.show_error(exc)
        self.status.setText("The plan stopped: the message above says why.")
        self.progress.setValue(0)
        if self.steps.count() <= 1:  # stopped at its first step: a lone stale "0%  loading" line says nothing
            self.progress_box.setVisible(False)
        closest = getattr(exc, "closest", None)
        if closest and self.config is not None:
            self.results.show_candidates(closest, [str(exc)], self.config.latency_budget_ms, None)
        elif self.report is not None:
            self._render(self.report)

    def show_report(self, report: Any) -> None:
        """Show a finished plan and make it the app's current report."""
        self.report = report
        self.progress_box.setVisible(False)
        busy, load = self._render(report)
        best = report.best
        metric = getattr(report, "metric", "top-1")  # a detector's plan scores mAP@0.5:0.95
        self.banner.show_success(f"Chosen: {best.key} at {best.latency_text()}"
                                 + ("" if best.accuracy is None else
                                    f", {'accuracy' if metric == 'top-1' else metric} {best.accuracy:.1%}")
                                 + eager_sentence(report, busy)
                                 + (f" (the machine was busy: load {load:.1f} per core)" if busy else "")
                                 + (" (from the cache)" if report.cache_hit else "") + ".")
        self.status.setText(f"Plan of {report.model} finished.")
        self.state.set_report(report)

    def _render(self, report: Any) -> tuple[bool, float | None]:
        """The plan's table, chart and log; ``(busy, load)``: whether the machine was busy when it ran."""
        cands = list(report.candidates)
        ran = report.config  # the settings the plan ran with (never the form, which may have changed since)
        floor = accuracy_floor(cands, ran.get("max_accuracy_drop", 0.0))
        load = None if report.cache_hit else self.load_at_start
        busy = load is not None and load > BUSY_LOAD
        self.results.busy = busy
        log = [for_gui(line, "OptimizePage") for line in report.log]  # "(--seconds)" -> "(“Benchmark time”)"
        self.results.set_metric(getattr(report, "metric", "top-1"))  # a detector's plan is in mAP
        self.results.show_candidates(cands, log, ran.get("latency_budget_ms"), floor)
        self.use_button.setEnabled(True)
        return busy, load

    def use_selected(self) -> None:
        """Carry the selected candidate (or the chosen one) to Deploy and Live demo."""
        if self.report is None:
            return
        cand = self.results.selected() or self.report.best
        if cand.status == CandidateStatus.FAILED or not cand.model:
            self.banner.show_error(f"{cand.key} failed and cannot be used: {'; '.join(cand.reasons)}")
            return
        self.state.set_choice(cand)
        self.banner.show_success(f"{cand.key} will be deployed and shown in the live demo.")
