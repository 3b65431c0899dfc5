"""The "Add device…" dialog: the same fields as ``edgekit device add``, saved the same way.

It only saves the device (``edgekit.devices.store.add_device``); nothing connects until a plan runs
there, so the dialog never waits on the network. Errors (a bad name, a name that is a bundled target,
a key file that does not exist) stay in the dialog, in the SDK's words.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)


class AddDeviceDialog(QDialog):
    """Name, ``ssh://user@host[:port]``, key file (optional) and the bundled target it is."""

    def __init__(self, targets: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a device reached over SSH")
        form = QFormLayout(self)
        self.name, self.url, self.key = QLineEdit(), QLineEdit(), QLineEdit()
        self.name.setPlaceholderText("pi5")
        self.url.setPlaceholderText("ssh://pi@192.0.2.10[:22]")
        self.key.setPlaceholderText("SSH agent / ~/.ssh/id_* (leave empty)")
        self.target = QComboBox()
        self.target.addItems(["(not said)", *targets])
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        key_row.addWidget(browse)
        form.addRow("Name:", self.name)
        form.addRow("Address:", self.url)
        form.addRow("Key file:", key_row)
        form.addRow("It is a:", self.target)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        form.addRow(self.error)
        note = QLabel("Nothing connects now: the host key is checked on the first plan "
                      "(or run `edgekit device check NAME`). Passwords are never stored.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.device: Any = None

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Private key", "", "All files (*)")
        if path:
            self.key.setText(path)

    def save(self) -> bool:
        """Save the device; on an error show the SDK's sentence and stay open."""
        from edgekit.devices.store import Device, add_device, parse_url
        from edgekit.errors import EdgekitError

        try:
            user, host, port = parse_url(self.url.text().strip())
            target = self.target.currentText() if self.target.currentIndex() > 0 else ""
            device = Device(self.name.text().strip(), host, user, port, self.key.text().strip() or None, target)
            add_device(device)
        except EdgekitError as exc:
            self.error.setText(str(exc))
            return False
        self.device = device
        self.accept()
        return True
