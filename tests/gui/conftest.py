"""GUI test fixtures: offscreen Qt, settings in a temp ini, and no thread-pool work left behind."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QThreadPool


def export_head(module, size: int, path, output: str) -> str:
    """A torch detection head exported to ONNX at ``path`` (input ``images`` [1, 3, size, size])."""
    import warnings

    import torch

    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module.eval(), (torch.zeros(1, 3, size, size),), str(path), dynamo=False,
                          opset_version=13, input_names=["images"], output_names=[output])
    return path


def open_model(page, qtbot, source) -> None:
    """Open ``source`` on the Model page the way "Open model file…" does, and wait for its worker."""
    page.open_model(source)
    with qtbot.waitSignal(page.job.signals.finished, timeout=60000):
        pass


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path, monkeypatch):
    """Every test gets its own settings file, never the user's."""
    monkeypatch.setenv("EDGEKIT_GUI_SETTINGS", str(tmp_path / "edgekit-gui.ini"))


@pytest.fixture(autouse=True)
def _no_leftover_workers(qapp):
    """Fail a test that leaves work running on the global QThreadPool (after stopping it); then give
    Python's automatic garbage collection back to the tests that follow (``create_app`` turned it off
    for the GUI's sake, :mod:`edgekit_gui.main_thread_gc`), once no worker runs."""
    from edgekit_gui import main_thread_gc

    yield
    pool = QThreadPool.globalInstance()
    finished = pool.waitForDone(3000)
    if not finished:
        from edgekit_gui.jobs import cancel_all_jobs

        cancel_all_jobs(5000)
    main_thread_gc.stop()
    if not finished:
        pytest.fail(f"test left {pool.activeThreadCount()} thread-pool job(s) running", pytrace=False)


@pytest.fixture()
def window(qtbot):
    """The main window, shown offscreen; closed (stopping its workers) at the end."""
    from edgekit_gui.app import create_app
    from edgekit_gui.main_window import MainWindow

    create_app([])
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture(scope="session")
def digits_model():
    """The bundled demo model, loaded once through the SDK (skips if the demo asset is missing)."""
    from edgekit.errors import EdgekitError
    from edgekit.models import load_model

    try:
        return load_model("demo:digits")
    except EdgekitError as exc:
        pytest.skip(f"demo:digits is not available yet: {exc}")


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory):
    """A 32x32 ten-class CNN exported to ONNX through the SDK, loaded as a Model."""
    from edgekit.models import Preprocess, convert, load_model
    from edgekit.zoo import create_model

    module = create_model("tinycnn", num_classes=10)
    source = load_model(module.eval(), input_shape=(1, 3, 32, 32), name="tiny",
                        labels=[str(i) for i in range(10)], preprocess=Preprocess(size=(32, 32)))
    model, _ = convert(source, to="onnx", out=tmp_path_factory.mktemp("tiny") / "tiny.onnx")
    return model


class JobRecorder:
    """Appends ``(signal name, payload)`` for every signal a job emits."""

    def __init__(self, job) -> None:
        self.events: list[tuple[str, object]] = []
        s = job.signals
        for name in ("started", "progress", "returned", "errored", "cancelled", "finished"):
            getattr(s, name).connect(lambda *args, name=name: self.events.append((name, args[0] if args else None)))

    @property
    def names(self) -> list[str]:
        """Signal names in emission order, runs of progress collapsed to one."""
        out: list[str] = []
        for name, _ in self.events:
            if not (name == "progress" and out and out[-1] == "progress"):
                out.append(name)
        return out

    def payloads(self, name: str) -> list[object]:
        """Payloads of one signal, in order."""
        return [p for n, p in self.events if n == name]


@pytest.fixture()
def recorder():
    """``recorder(job)`` -> a :class:`JobRecorder` attached to the job's signals."""
    return JobRecorder


@pytest.fixture()
def cancel_mid_run(qtbot):
    """``cancel_mid_run(page)``: start the page's job, press Cancel after its first progress event and
    wait until it ended cancelled (``cancelled`` then ``finished``); returns the job."""

    def run(page, timeout: int = 60000):
        page.start()
        job = page.job
        assert job is not None, page.banner.text()
        with qtbot.waitSignal(job.signals.progress, timeout=timeout):
            pass
        # Clicked inside the block, so the blocker listens before the worker can answer (see test_jobs.py).
        with qtbot.waitSignals([job.signals.cancelled, job.signals.finished], order="strict", timeout=timeout):
            page.cancel_button.click()
        assert page.job is None and page.run_button.isEnabled() and not page.cancel_button.isEnabled()
        assert "cancelled" in page.banner.text()
        assert "cancelled" in page.status.text() and page.progress.value() == 0  # not "Cancelling…" at 77 %
        return job

    return run


@pytest.fixture(autouse=True)
def _edgekit_cache_in_tmp(tmp_path, monkeypatch):
    """Plans and pulled models are cached under the test's tmp folder, not the user's cache."""
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory):
    """An image folder (one sub-folder per class) of real held-out handwritten digits, 8 per class."""
    import cv2

    from edgekit.data import demo_digits

    root = tmp_path_factory.mktemp("digits")
    counts: dict[str, int] = {}
    for image, label in demo_digits("test"):
        name = str(label)
        if counts.get(name, 0) >= 8:
            continue
        counts[name] = counts.get(name, 0) + 1
        (root / name).mkdir(exist_ok=True)
        cv2.imwrite(str(root / name / f"{counts[name]}.png"), image)
    return root
