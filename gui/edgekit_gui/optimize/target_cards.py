"""Target cards: one selectable card per target from ``targets/`` plus ``local`` and any YAML the user opens."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QPushButton, QSizePolicy, QWidget

from edgekit.backends import capabilities, is_backend
from edgekit.progress import emit
from edgekit_gui.theme import ACCENT

COLUMNS = 2
DEVICE_BADGE = "● measured on device (SSH)"
_CARD_STYLE = (
    "QPushButton { text-align: left; padding: 6px 8px; border: 1px solid #9a9aa0; border-radius: 6px; }"
    f"QPushButton:checked {{ border: 2px solid {ACCENT}; background: rgba(47, 125, 225, 40); }}"
)


def load_all_targets(progress: Any) -> list[Any]:
    """Worker: every known target (``local`` profiles this machine, hence a worker)."""
    from edgekit.targets import list_targets, load_target

    targets = []
    for name in list_targets():
        targets.append(load_target(name))
        emit(progress, "loading", name)
    return targets + device_targets()


def device_targets() -> list[Any]:
    """Devices added with ``edgekit device add``, as cards (no connection is made until a plan runs there)."""
    from edgekit.devices.runner import offline_target
    from edgekit.devices.store import load_devices
    from edgekit.errors import EdgekitError

    try:
        return [offline_target(d) for d in load_devices().values()]
    except EdgekitError:  # an unreadable devices.json must not hide the bundled targets
        return []


def load_target_file(path: str, progress: Any) -> Any:
    """Worker: one target YAML (a bad file raises TargetError naming the field and line)."""
    from edgekit.targets import load_target

    return load_target(path)


def card_text(t: Any) -> str:
    """Three short lines: name; CPU, cores, memory, accelerators; backends and latency budget."""
    mem = f"{t.memory_mb / 1024:.0f} GB" if t.memory_mb >= 1024 else f"{t.memory_mb} MB"
    accel = "".join(f" + {a.kind.upper()}" for a in t.accelerators)
    from edgekit.devices.runner import is_device_target

    where = "this machine, measured" if t.is_local else t.cpu_arch
    if is_device_target(t):
        if not t.cores:  # added without --target: nothing is known until a plan connects
            return f"{t.name}\n{DEVICE_BADGE}\nits hardware is read over SSH when a plan runs there"
        where = f"{DEVICE_BADGE} · {t.cpu_arch}"
    budget = f" · {t.budgets.latency_ms:g} ms budget" if t.budgets.latency_ms else ""
    backends = ", ".join(_short(b) for b in t.backends)
    return f"{t.name}\n{where} · {t.cores} cores · {mem}{accel}\n{backends}{budget}"


def _short(backend: str) -> str:
    """The backend's short label from the registry ("ORT"); a name it does not know, as written."""
    return capabilities(backend).short_label if is_backend(backend) else backend


def card_tooltip(t: Any) -> str:
    """The long description: model, frequency, ISA, accelerators."""
    lines = [t.description or t.name, f"CPU: {t.cpu_model or t.cpu_arch}"
             + (f" @ {t.freq_ghz:g} GHz" if t.freq_ghz else ""), f"ISA: {', '.join(t.isa) or '–'}"]
    lines += [f"{a.kind}: {a.name}" for a in t.accelerators]
    return "\n".join(lines)


class TargetCards(QWidget):
    """A grid of checkable cards; ``chosen`` is emitted with the Target picked."""

    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.targets: dict[str, Any] = {}
        self.buttons: dict[str, QPushButton] = {}
        self.columns = COLUMNS  # one when the column is too narrow for two (fit_width)
        self._width: int | None = None

    def add_target(self, target: Any, select: bool = False) -> None:
        """Add (or replace) the card of ``target``."""
        button = self.buttons.get(target.name)
        if button is None:
            button = QPushButton()
            button.setCheckable(True)
            button.setStyleSheet(_CARD_STYLE)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            n, columns = len(self.buttons), self.columns
            self.grid.addWidget(button, n // columns, n % columns)
            self.group.addButton(button)
            self.buttons[target.name] = button
            button.clicked.connect(lambda _=False, name=target.name: self.chosen.emit(self.targets[name]))
        button.setText(card_text(target))
        button.setToolTip(card_tooltip(target))
        if self._width is not None:
            self.fit_width(self._width)
        self.targets[target.name] = target
        if select:
            self.select(target.name)

    def fit_width(self, width: int) -> None:
        """Two columns of cards when ``width`` holds two, else one (a 1024-px screen leaves the
        settings column too narrow for two cards side by side; one never clips them)."""
        self._width = width
        widest = max((b.sizeHint().width() for b in self.buttons.values()), default=0)
        columns = COLUMNS if width >= COLUMNS * widest + (COLUMNS - 1) * self.grid.horizontalSpacing() else 1
        if columns == self.columns:
            return
        self.columns = columns
        for n, button in enumerate(self.buttons.values()):
            self.grid.removeWidget(button)
            self.grid.addWidget(button, n // columns, n % columns)

    def select(self, name: str) -> bool:
        """Check the card ``name``; False when there is none."""
        button = self.buttons.get(name)
        if button is None:
            return False
        button.setChecked(True)
        self.chosen.emit(self.targets[name])
        return True

    def current(self) -> Any:
        """The checked Target, or None."""
        for name, button in self.buttons.items():
            if button.isChecked():
                return self.targets[name]
        return None
