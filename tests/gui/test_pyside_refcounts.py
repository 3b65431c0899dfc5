"""A busy app emits signals and sets label texts thousands of times: that must not abort the
interpreter. PySide6 6.12.0 drops a reference to True per emit and to None per void call, so
pyproject excludes it and constraints.txt pins 6.11.3; this test fails if a broken one returns."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
class Beacon(QObject):
    ping = Signal(object)
beacon = Beacon()
got = []
beacon.ping.connect(got.append)
for i in range(20000):
    beacon.ping.emit(i)
    label.setText(str(i))
    label.update()
print(len(got), label.text())
"""


def test_twenty_thousand_emits_and_void_calls_do_not_abort_the_interpreter():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "20000 19999"
