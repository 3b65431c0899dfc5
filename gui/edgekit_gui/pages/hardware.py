"""Hardware page: this machine's profile as a card, ISA badges, devices, versions; Measure; copy JSON."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QPushButton, QWidget

from edgekit_gui.pages.base import Page
from edgekit_gui.widgets.cards import Card, badge
from edgekit_gui.widgets.flow import FlowLayout, clear_layout

GIB = 2**30


def run_profile(bench: bool, progress: Any) -> Any:
    """Worker: ``profile_hardware`` with its progress events forwarded."""
    from edgekit.hardware import profile_hardware

    return profile_hardware(bench=bench, progress=progress)


def _gib(value: int | None) -> str:
    return "unknown" if value is None else f"{value / GIB:.1f} GiB"


class HardwarePage(Page):
    """Shows :class:`edgekit.hardware.HardwareProfile` for this machine."""

    title = "Hardware"

    def __init__(self, state, runner, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, parent)
        self.profile: Any = None
        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.measure_button = QPushButton("Measure (GFLOP/s, bandwidth)")
        self.copy_button = QPushButton("Copy as JSON")
        self.cancel_button = QPushButton("Cancel")  # a measurement runs ~20 s on 2 cores, longer on a Pi
        self.cancel_button.setEnabled(False)
        for button in (self.refresh_button, self.measure_button, self.cancel_button, self.copy_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.content.addLayout(buttons)
        self.refresh_button.clicked.connect(lambda: self.start(bench=False))
        self.measure_button.clicked.connect(lambda: self.start(bench=True))
        self.copy_button.clicked.connect(self.copy_json)
        self.cancel_button.clicked.connect(self.cancel)
        self.copy_button.setEnabled(False)
        self._build_cards()

    def _build_cards(self) -> None:
        grid = QGridLayout()
        self.cpu_card, self.memory_card = Card("CPU"), Card("Memory and speed")
        self.isa_card, self.devices_card = Card("Instruction sets"), Card("Accelerators and runtimes")
        self.versions_card, self.notes_card = Card("Versions"), Card("Probe notes")
        self.badges = QWidget()
        self.badge_layout = FlowLayout(self.badges)
        self.isa_card.body.addWidget(self.badges)
        cards = (self.cpu_card, self.memory_card, self.isa_card, self.devices_card, self.versions_card, self.notes_card)
        for i, card in enumerate(cards):
            grid.addWidget(card, i // 2, i % 2)
        self.content.addLayout(grid)
        self.content.addStretch(1)

    def on_shown(self) -> None:
        """Profile the machine the first time the page is shown."""
        if self.profile is None and self.job is None:
            self.start(bench=False)

    def start(self, bench: bool) -> None:
        """Run ``profile_hardware(bench=...)`` in a worker."""
        if self.job is not None:
            return
        self.banner.show_info("Measuring peak GFLOP/s and memory bandwidth…" if bench else "Profiling this machine…")
        self.refresh_button.setEnabled(False)
        self.measure_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.start_job(
            run_profile, bench, on_progress=self._progress, on_result=self.show_profile,
            on_error=self.banner.show_error, on_done=self._done,
        )
        kept = "the figures shown are unchanged" if self.profile is not None else "nothing was profiled"
        self.job.signals.cancelled.connect(lambda: self.banner.show_info(f"Cancelled; {kept}."))

    def cancel(self) -> None:
        """Stop the measurement at its next progress report (the profile shown stays as it was)."""
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.banner.show_info("Cancelling…")

    def _progress(self, event: Any) -> None:
        self.banner.show_info(f"Measuring {event.message}… {event.fraction or 0.0:.0%}")

    def _done(self) -> None:
        self.job = None
        self.refresh_button.setEnabled(True)
        self.measure_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def show_profile(self, profile: Any) -> None:
        """Fill every card from ``profile``."""
        self.profile = profile
        self.banner.clear_message()
        self.copy_button.setEnabled(True)
        cores = f"{profile.physical_cores or '?'} physical, {profile.logical_cores} logical, {profile.usable_cores} usable"
        for label, value in (("Name", profile.cpu_name), ("Architecture", profile.arch), ("Cores", cores),
                             ("OS", profile.os_release), ("Board", profile.board or "–")):
            self.cpu_card.add_row(label, value)
        gflops = "not measured (click Measure)" if profile.peak_gflops is None else f"{profile.peak_gflops:.1f} GFLOP/s"
        bandwidth = "not measured" if profile.mem_bandwidth_gbs is None else f"{profile.mem_bandwidth_gbs:.1f} GB/s"
        for label, value in (("Total", _gib(profile.memory_total)), ("Available", _gib(profile.memory_available)),
                             ("Peak FP32", gflops), ("Memory bandwidth", bandwidth)):
            self.memory_card.add_row(label, value)
        self._fill_badges(profile)
        self._fill_devices(profile)
        self.versions_card.clear_rows()
        for name, version in sorted(profile.versions.items()):
            self.versions_card.add_row(name, version or "not installed")
        self.notes_card.clear_rows()
        for name, note in sorted(profile.probe_notes.items()):
            self.notes_card.add_row(name, note)
        if not profile.probe_notes:
            self.notes_card.add_row("all probes", "answered")

    def _fill_badges(self, profile: Any) -> None:
        clear_layout(self.badge_layout)
        for flag in profile.isa_keys:
            self.badge_layout.addWidget(badge(flag, profile.has(flag)))
        self.badges.updateGeometry()

    def _fill_devices(self, profile: Any) -> None:
        self.devices_card.clear_rows()
        gpus = "; ".join(
            f"cuda:{d.index} {d.name}" + (f" ({_gib(d.memory_bytes)})" if d.memory_bytes else "")
            for d in profile.cuda_devices
        )
        self.devices_card.add_row("CUDA GPUs", gpus or profile.probe_notes.get("cuda", "none"))
        ov = "; ".join(f"{d.name}: {d.full_name}" for d in profile.openvino_devices)
        self.devices_card.add_row("OpenVINO devices", ov or profile.probe_notes.get("openvino", "none"))
        self.devices_card.add_row("onnxruntime providers", ", ".join(profile.ort_providers) or "none")
        self.devices_card.add_row("Fingerprint", profile.fingerprint)

    def copy_json(self) -> None:
        """Put the profile's JSON on the clipboard."""
        if self.profile is not None:
            QApplication.clipboard().setText(self.profile.to_json())
            self.banner.show_success("Profile copied to the clipboard as JSON.")
