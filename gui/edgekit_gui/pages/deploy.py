"""Deploy page: package the chosen plan candidate (or the current model) as a verified bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from edgekit.backends import backends_for
from edgekit_gui.pages.base import Page, describe_event
from edgekit_gui.widgets.cards import Card
from edgekit_gui.widgets.data_picker import DEMO, FOLDER, DataPicker, data_argument, data_hint, is_detector
from edgekit_gui.widgets.tables import fill_table, make_table

FROM_CHOICE = "as the plan chose"


def deploy_in_worker(source: Any, target: str, out: str, overrides: dict, data: str | None, samples: int | None,
                     force: bool, progress: Any) -> Any:
    """Worker: ``edgekit.deployment.deploy`` then the bundle's own validation report."""
    from edgekit.deployment import deploy
    from edgekit.deployment.bundle import read_report
    from edgekit.devices.planning import deploy_target

    bundle = deploy(source, target=deploy_target(target), out=out, data=data, samples=samples,
                    force=force, progress=progress, **overrides)
    return bundle, read_report(bundle)


def copy_in_worker(bundle: str, device: str, progress: Any, cancel: Any) -> dict:
    """Worker: copy a written bundle to a device added with ``edgekit device add`` and verify it
    there (``edgekit deploy --to DEVICE``): ``edgekit.devices.planning.deploy_to_device``."""
    from edgekit.devices.planning import deploy_to_device

    return deploy_to_device(bundle, device, progress=progress, cancel=cancel)


def device_of(target: str | None) -> str | None:
    """``target`` when it names a device added with ``edgekit device add`` (a plan ran there), else ``None``."""
    from edgekit.devices.store import find_device
    from edgekit.errors import EdgekitError

    try:
        return target if target and find_device(target) is not None else None
    except EdgekitError:  # an unreadable devices.json: no device to copy to
        return None


def _digits_fit(model: Any) -> bool:
    """The bundled handwritten digits can validate ``model``: a classifier of the ten digits."""
    labels = getattr(model, "labels", None)
    return labels is not None and [str(x) for x in labels] == [str(i) for i in range(10)]


class DeployPage(Page):
    """Exports what "Use this model" chose on the Optimize page (or the current model)."""

    title = "Deploy"

    def __init__(self, state, runner, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, parent)
        self.bundle: Any = None
        self.what = Card("What will be deployed")
        self.content.addWidget(self.what)
        self._build_form()
        self.result = Card("Bundle")
        self.files = make_table(["file", "bytes", "sha256"])
        self.files.setMinimumHeight(220)
        self.result.body.addWidget(self.files)
        self.content.addWidget(self.result)
        self.content.addStretch(1)
        state.model_changed.connect(lambda *_: self._describe())
        state.choice_changed.connect(lambda *_: self._describe())
        state.target_changed.connect(lambda *_: self._describe())
        state.report_changed.connect(lambda *_: self._describe())
        state.model_changed.connect(lambda *_: self._suggest_data())
        state.choice_changed.connect(lambda *_: self._suggest_data())
        self._describe()

    def _build_form(self) -> None:
        box = QGroupBox("Bundle settings")
        form = QFormLayout(box)
        self.out = QLineEdit(str(Path.home() / "edgekit" / "bundles" / "model-bundle.zip"))
        browse = QPushButton("Save as…")
        row = QHBoxLayout()
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        form.addRow("Output (folder or .zip):", row)
        self.backend, self.precision = QComboBox(), QComboBox()
        self.backend.addItems([FROM_CHOICE, *backends_for(bundle=True)])
        self.precision.addItems([FROM_CHOICE, "fp32", "fp16", "int8", "int8-dynamic"])
        form.addRow("Backend:", self.backend)
        form.addRow("Precision:", self.precision)
        self.data = DataPicker(allow_none=True)
        form.addRow("Validation sample from:", self.data)
        self.samples = QSpinBox()
        self.samples.setRange(0, 10000)
        self.samples.setSpecialValueText("auto (64, fewer for large tensors)")  # 0: edgekit deploy's default
        self.samples.setValue(0)
        form.addRow("Samples packaged:", self.samples)
        self.force = QCheckBox("Replace an existing bundle at that path")
        form.addRow("", self.force)
        self.deploy_button = QPushButton("Build bundle")
        # a bundle for a device added with `edgekit device add`: copied there and verified there (deploy --to)
        self.copy_button = QPushButton("Copy to device and verify there")
        self.copy_button.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons = QHBoxLayout()
        for button in (self.deploy_button, self.copy_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        form.addRow("", buttons)
        self.content.addWidget(box)
        browse.clicked.connect(self._ask_out)
        self.deploy_button.clicked.connect(self.start)
        self.copy_button.clicked.connect(self.copy_to_device)
        self.cancel_button.clicked.connect(self.cancel_job)

    def _suggest_data(self) -> None:
        """Validation data that fits what is deployed: the images its plan was measured on, else, for
        a model the bundled digits do not fit, the user's own (the digits stayed the default for any
        model, and an ImageNet model's first "Build bundle" failed on the class mismatch)."""
        hint = data_hint(self.state.model)
        self.data.folder.setPlaceholderText(hint)
        self.data.folder.setToolTip(hint)  # the narrow field cuts it short
        report, choice = self.state.report, self.state.choice
        used = (getattr(report, "config", None) or {}).get("data") if choice is not None else None
        if used and not str(used).startswith("demo") and Path(used).exists():
            self.data.set_folder(used)
            return
        model = self.state.model
        if model is not None and not _digits_fit(model) and self.data.kind.currentText() == DEMO:
            self.data.kind.setCurrentText(FOLDER)

    def source(self) -> Any:
        """The plan choice when there is one for the current model, else the current model."""
        return self.state.choice if self.state.choice is not None else self.state.model

    def _with_its_plan(self, src: Any) -> Any:
        """The plan's report with ``src`` as its choice, when ``src`` is one of its candidates, else ``src``.

        Why: a candidate alone does not say what the plan measured beside it, and the bundle's
        fallback must not be a backend the plan rejected for accuracy on this very file (the
        realdata ShuffleNet INT8 on OpenVINO without VNNI); ``deploy`` reads that from the report."""
        import dataclasses

        report = self.state.report
        if src is None or src is not self.state.choice or report is None:
            return src
        if not any(c is src or (c.key == src.key and c.model == src.model) for c in report.candidates):
            return src
        return dataclasses.replace(report, best_key=src.key)

    def _describe(self) -> None:
        src = self.source()
        self.what.clear_rows()
        if src is None:
            self.what.add_row("Nothing yet", "load a model on the Model page, or run a plan and click “Use this model”")
            self.deploy_button.setEnabled(False)
            return
        self.deploy_button.setEnabled(True)
        # the first choice of Backend/Precision says what it keeps: "as chosen" read as a plan's choice
        # beside "no plan chosen yet"
        planned = src is self.state.choice
        self.backend.setItemText(0, FROM_CHOICE if planned else "as the model is (edgekit picks the backend)")
        self.precision.setItemText(0, FROM_CHOICE if planned else "as the model is")
        if planned:  # a plan Candidate: its model is a Model.to_dict()
            name, fmt = src.model.get("name", src.key), src.model.get("format", "?")
            stored = src.model.get("precision", src.precision)  # an INT8 QDQ model's "fp32" method keeps it INT8
            self.what.add_row("Model", f"{name} ({fmt}, {stored})")
            self.what.add_row("Plan choice", f"{src.key}: {src.backend} / {src.device} / {src.precision}, "
                                             f"{src.latency_text()}")
        else:
            name = src.name
            report = self.state.report
            planned = report is not None and report.model_sha256 == getattr(src, "sha256", None)
            # a plan of this model finished, but its choice is carried here only by "Use this model": say so,
            # rather than "no plan chosen yet" beside a finished plan
            self.what.add_row("Model", f"{name} ({src.format}, {src.precision}) — " + (
                f"its plan chose {report.best.key}: click “Use this model” on the Optimize page to deploy that"
                if planned else "no plan chosen yet (Optimize: “Run plan”, then “Use this model”)"))
        self.what.add_row("Target", self.state.target)
        self._offer_copy()
        stem = name.replace(":", "-").replace("/", "-")
        self.out.setText(str(Path(self.out.text()).with_name(f"{stem}-bundle.zip")))

    def _ask_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Bundle", self.out.text(), "Zip (*.zip);;Folder (*)")
        if path:
            self.out.setText(path)

    def start(self) -> None:
        """Build the bundle in a worker."""
        src = self.source()
        if src is None or self.job is not None:
            return
        kind, folder = self.data.spec()
        if kind == FOLDER and not folder:  # an empty field reached deploy as "." ("'.' is not detection data")
            self.banner.show_error("no validation images chosen: pick a folder or a list under “Validation sample "
                                   "from” (Folder… or List…), or choose “None” to check agreement on noise "
                                   "images only")
            return
        overrides = {k: w.currentText() for k, w in (("backend", self.backend), ("precision", self.precision))
                     if w.currentIndex() > 0}  # the first: the plan's choice, or the model as it is
        self._run(self.show_bundle, deploy_in_worker, self._with_its_plan(src), self.state.target, self.out.text(), overrides,
                  data_argument(self.data.spec(), is_detector(self.state.model)), self.samples.value() or None,
                  self.force.isChecked())

    def _run(self, on_result: Any, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` (the build or the copy) as the page's one job: its steps in the banner,
        the build and copy buttons off and Cancel on until it ends."""
        self.deploy_button.setEnabled(False)
        self.copy_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.start_job(
            fn, *args, on_progress=lambda event: self.banner.show_info(describe_event(event) + "…"),
            on_result=on_result, on_error=self.banner.show_error, on_done=self._done,
        )
        self.job.signals.cancelled.connect(lambda: self.banner.show_info("Cancelled."))

    def _done(self) -> None:
        self.job = None
        self.deploy_button.setEnabled(self.source() is not None)
        self.cancel_button.setEnabled(False)
        self._offer_copy()

    def cancel_job(self) -> None:
        """Stop the build or the copy at its next step (a copy stops mid-file, a verify there is stopped there)."""
        if self.job is not None:
            self.job.cancel()

    def _offer_copy(self) -> None:
        """The copy button, for a written bundle whose target is a device added with `edgekit device add`."""
        device = device_of(self.state.target)
        self.copy_button.setVisible(device is not None)
        if device is not None:
            self.copy_button.setText(f"Copy to {device} and verify there")
        self.copy_button.setEnabled(device is not None and self.bundle is not None and self.job is None)

    def copy_to_device(self) -> None:
        """Copy the bundle just built to the target device and run ``edgekit verify`` there, in a worker."""
        device = device_of(self.state.target)
        if device is None or self.bundle is None or self.job is not None:
            return
        self._run(self.show_device_result, copy_in_worker, str(self.bundle.path), device)

    def show_device_result(self, result: dict) -> None:
        """What the device said: where the bundle is there, what was sent, and its own verify."""
        ship, report, device = result["shipment"], result["report"], result["device"]
        n = len(ship["sent"])
        sent = f"{n} file{'' if n == 1 else 's'} sent, {len(ship['kept'])} already there, {ship['bytes_sent']} bytes"
        self.result.add_row("On device", f"{device}: {result['path']} ({sent})")
        from edgekit.deployment.verify import VerifyReport

        checks = "; ".join(f"{c.name}: {c.measured:.4g} ({c.limit}) {_verdict(c.ok)}" if c.measured is not None
                           else f"{c.name}: {_verdict(c.ok)}" for c in VerifyReport.from_dict(report).checks)
        self.result.add_row("Verified there", checks)
        if result["passed"]:
            self.banner.show_success(f"Verified on {device}: every promise held ({result['path']})")
        else:
            self.banner.show_error(f"The bundle does not keep its promises on {device}: {checks}")

    def show_bundle(self, result: tuple[Any, dict]) -> None:
        """Show the manifest and the files of the finished bundle."""
        bundle, report = result
        self.bundle = bundle
        m = bundle.manifest
        self.banner.show_success(f"Bundle written and verified: {bundle.path}")
        self.result.clear_rows()
        for label, value in (
            ("Path", str(bundle.path)), ("Model", f"{m.name} ({m.format}, {m.precision})"),
            ("Runs on", ", ".join(f"{b.get('backend', '?')} {b.get('precision', '')}".strip() for b in m.backends)
             + f" (device {m.device})"),
            ("Target", m.target),
            ("Accuracy", "– (no plan; the sample's is below)" if m.accuracy is None else f"{m.accuracy:.2%} (the plan's)"),
            ("Sample", _sample(m.validation, report)),
        ):
            self.result.add_row(label, value)
        rows = [(name, info.get("bytes", info.get("size")), info.get("sha256", "")[:16] + "…")
                for name, info in sorted(m.files.items())]
        fill_table(self.files, rows)
        self._offer_copy()


def _verdict(ok: bool | None) -> str:
    return "ok" if ok else "FAILED" if ok is False else "reported"


def _sample(validation: dict, report: dict) -> str:
    """The packaged validation sample in words, as ``edgekit deploy`` says it (it read "data = validation
    data" from the report's raw fields)."""
    acc, p50, map50 = validation.get("accuracy"), validation.get("latency_ms"), validation.get("map50")
    scored = "accuracy n/a (unlabelled)" if acc is None else f"accuracy {acc:.2%}"
    if map50 is not None:  # a detector's sample with boxes, as `edgekit deploy` prints it
        scored = f"mAP@0.5 {map50:.2%}, mAP@0.5:0.95 {validation.get('map', 0.0):.2%}"
    timed = "" if p50 is None else f", p50 {p50:.3f} ms"
    data = report.get("data") if isinstance(report.get("data"), str) else None
    boxes = "labelled detection images from "  # the report's words for a detector's data ("64 images from labelled...")
    source = "" if data is None else f" with boxes, from {data[len(boxes):]}" if data.startswith(boxes) else f" from {data}"
    return f"{validation.get('samples', '?')} images{source}: {scored}{timed} (re-measured by edgekit verify)"
