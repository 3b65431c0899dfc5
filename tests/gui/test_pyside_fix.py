"""A busy app emits signals thousands of times: that must not crash the interpreter (PySide6 6.12 bug)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import edgekit_gui  # applies the workaround
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Beacon(QObject):
    ping = Signal(object)
beacon = Beacon()
got = []
beacon.ping.connect(got.append)
for i in range(20000):
    beacon.ping.emit(i)
print(len(got))
"""


def test_twenty_thousand_emits_do_not_abort_the_interpreter():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "20000"
