"""Render every page with real content to PNG: ``python -m tools.screenshots docs/img/``.

Real content means: this machine's profile (with the micro-benchmarks), the
bundled ``demo:digits`` model, a finished benchmark, a finished plan for the
local machine, a bundle built from its choice, and the live demo running on
the labelled demo stream with an A/B comparison. Each step is started, then
a timer polls until it is done (no ``processEvents`` loops).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

Step = tuple[str, Callable[[], bool]]  # (what we wait for, condition)
SIZE = (1440, 960)


def _script(window, out: Path, work: Path) -> Iterator[Step | Path]:
    """Drive the window page by page; yields conditions to wait for and PNG paths to save."""
    hw = window.show_page("HardwarePage")
    yield "profile", lambda: hw.profile is not None and hw.job is None
    hw.start(bench=True)
    yield "micro-benchmarks", lambda: hw.job is None
    yield out / "hardware.png"

    model_page = window.show_page("ModelPage")
    model_page.open_model("demo:digits")
    yield "demo:digits", lambda: model_page.job is None and window.state.model is not None
    yield out / "model.png"

    bench = window.show_page("BenchmarkPage")
    yield "backends", lambda: "openvino" in bench.backend_boxes
    for box in bench.backend_boxes.values():
        box.setChecked(box.isEnabled())
    for p in ("fp32", "fp16", "int8"):
        bench.precision_boxes[p].setChecked(True)
    bench.seconds.setValue(1.0)
    bench.start()
    yield "benchmark", lambda: bench.job is None
    yield out / "benchmark.png"

    opt = window.show_page("OptimizePage")
    yield "targets", lambda: opt.cards.current() is not None
    opt.form.seconds.setValue(1.0)
    opt.form.cache.setChecked(False)  # a fresh, measured plan
    opt.start()
    yield "plan", lambda: opt.job is None and not opt.results.drawing
    opt.use_selected()
    yield out / "optimize.png"

    deploy = window.show_page("DeployPage")
    deploy.out.setText(str(work / "digits-bundle.zip"))
    deploy.samples.setValue(32)
    deploy.start()
    yield "bundle", lambda: deploy.job is None
    yield out / "deploy.png"

    live = window.show_page("LiveDemoPage")
    live.ab.setChecked(True)
    live.picker_b.model.setCurrentIndex(live.picker_b.model.findText("demo:digits"))
    live.picker_b.backend.setCurrentText("openvino")
    live.start()
    yield "live demo", lambda: live.pipe is not None and live.frames_received > 60
    started = time.monotonic()
    yield "30 FPS for a while", lambda: time.monotonic() - started > 6
    yield out / "live_demo.png"
    live.stop()


def render(out: Path) -> list[Path]:
    """Run the script in a fresh window; returns the PNGs written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    from PySide6.QtCore import QTimer

    from edgekit_gui.app import create_app
    from edgekit_gui.main_window import MainWindow

    app = create_app([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="edgekit-shots-"))
    atexit.register(shutil.rmtree, work, True)  # the app's settings for the shots, not kept
    os.environ.setdefault("EDGEKIT_GUI_SETTINGS", str(work / "settings.ini"))
    window = MainWindow()
    window.resize(*SIZE)
    window.show()
    written: list[Path] = []
    script = _script(window, out, work)
    waiting: list[Step] = []

    def tick() -> None:
        page = window.current_page
        if waiting:
            what, ready = waiting[0]
            if page.banner.kind == "error":
                print(f"error while waiting for {what}: {page.banner.text()}", file=sys.stderr)
            if not ready():
                return
            waiting.clear()
        for step in script:
            if isinstance(step, Path):
                window.grab().save(str(step))
                written.append(step)
                print(f"wrote {step}")
                continue
            waiting.append(step)
            return
        timer.stop()
        window.close()
        app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(100)
    app.exec()
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.screenshots OUT_DIR`` (from the repository root)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/img")
    written = render(out)
    return 0 if len(written) == 6 else 1


if __name__ == "__main__":
    sys.exit(main())
