"""What the pages share: the current model, target, backend and chosen plan candidate."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class AppState(QObject):
    """Holds the user's current choices; pages listen to its signals instead of to each other."""

    model_changed = Signal(object)  # edgekit.models.Model | None
    target_changed = Signal(str)
    backend_changed = Signal(str)
    report_changed = Signal(object)  # edgekit.planner Report
    choice_changed = Signal(object)  # the Candidate chosen with "Use this model"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model: Any = None
        self.target: str = "local"
        self.backend: str = "auto"
        self.report: Any = None
        self.choice: Any = None
        self._choice_for = ""  # sha256 of the model the choice was planned for

    def set_model(self, model: Any) -> None:
        """Make ``model`` the current model (clears a choice made for another model)."""
        self.model = model
        self.model_changed.emit(model)
        if self.choice is not None and getattr(model, "sha256", "") != self._choice_for:
            self.choice = None
            self.choice_changed.emit(None)

    def set_target(self, name: str) -> None:
        """Remember the chosen target by name or path."""
        if name != self.target:
            self.target = name
            self.target_changed.emit(name)

    def set_backend(self, name: str) -> None:
        """Remember the backend last used or chosen."""
        if name != self.backend:
            self.backend = name
            self.backend_changed.emit(name)

    def set_report(self, report: Any) -> None:
        """Keep the last finished plan."""
        self.report = report
        self.report_changed.emit(report)

    def set_choice(self, candidate: Any) -> None:
        """Carry a plan candidate to the Deploy and Live demo pages."""
        self.choice = candidate
        self._choice_for = getattr(self.model, "sha256", "")
        if getattr(candidate, "backend", None):
            self.set_backend(str(candidate.backend))
        self.choice_changed.emit(candidate)
