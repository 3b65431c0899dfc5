"""Deploy page: a real bundle from the current model or a plan's choice; an existing output is refused."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def _deploy(page, qtbot):
    page.deploy_button.click()
    assert page.job is not None
    with qtbot.waitSignal(page.job.signals.finished, timeout=180000):
        pass


def test_deploy_the_current_model_as_a_verified_bundle(window, qtbot, tiny_onnx, tmp_path):
    from edgekit.deployment import Bundle

    window.state.set_model(tiny_onnx)
    page = window.show_page("DeployPage")
    assert "no plan chosen" in page.what.values["Model"].text()
    page.out.setText(str(tmp_path / "tiny.zip"))
    page.data.kind.setCurrentIndex(0)  # bundled held-out digits as the validation sample
    page.samples.setValue(16)
    _deploy(page, qtbot)
    assert page.banner.kind == "success", page.banner.text()
    bundle = Bundle.open(tmp_path / "tiny.zip")
    files = {page.files.item(r, 0).text() for r in range(page.files.rowCount())}
    assert files == set(bundle.manifest.files)
    assert page.result.values["Model"].text().startswith(bundle.manifest.name)
    _deploy(page, qtbot)  # again: the existing zip is not overwritten
    assert page.banner.kind == "error" and "tiny.zip" in page.banner.text()
    # in the app's words: the checkbox that replaces it, never the CLI's "--force"
    assert "--force" not in page.banner.text() and page.force.text() in page.banner.text(), page.banner.text()
    page.force.setChecked(True)
    _deploy(page, qtbot)
    assert page.banner.kind == "success"


def test_nothing_to_deploy_without_a_model(window):
    page = window.show_page("DeployPage")
    assert not page.deploy_button.isEnabled()
    assert "Model page" in page.what.values["Nothing yet"].text()


def test_the_validation_data_suits_the_model(window, tiny_onnx):
    """The bundled digits validate a digits classifier only: for any other model the picker asks for
    the user's images instead of failing the first build on a class mismatch."""
    from edgekit_gui.widgets.data_picker import DEMO, FOLDER

    page = window.show_page("DeployPage")
    window.state.set_model(tiny_onnx)  # labels "0".."9": the digits fit
    assert page.data.kind.currentText() == DEMO
    window.state.set_model(tiny_onnx.replace(labels=tuple(f"class {i}" for i in range(10)), name="tiny-objects"))
    assert page.data.kind.currentText() == FOLDER and page.data.folder.isEnabled()


def test_a_finished_plan_says_how_its_choice_reaches_this_page(window, tiny_onnx):
    """After a plan the page read "no plan chosen yet" beside it: its choice comes here by "Use this
    model", and the page now says so."""
    from edgekit.planner.report import Candidate, Report
    from edgekit.types import CandidateStatus, Method

    window.state.set_model(tiny_onnx)
    page = window.show_page("DeployPage")
    assert "Run plan" in page.what.values["Model"].text()
    # with no plan, the default Backend/Precision keep the model as it is ("as chosen" beside "no plan chosen")
    assert page.backend.itemText(0).startswith("as the model is") and page.precision.itemText(0) == "as the model is"
    chosen = Candidate("openvino/cpu/int8", "openvino", "cpu", "int8", Method.INT8, {}, p50_ms=2.2,
                       status=CandidateStatus.CHOSEN)
    window.state.set_report(Report(model=tiny_onnx.name, model_sha256=tiny_onnx.sha256, target="local",
                                   estimated=False, candidates=(chosen,), best_key=chosen.key, log=()))
    text = page.what.values["Model"].text()
    assert "openvino/cpu/int8" in text and "Use this model" in text
    window.state.set_choice(chosen)  # what "Use this model" does
    assert page.what.values["Plan choice"].text().startswith("openvino/cpu/int8")
    assert page.backend.itemText(0) == page.precision.itemText(0) == "as the plan chose"


def test_the_plans_choice_is_packaged_without_a_fallback_the_plan_rejected_for_accuracy(window, qtbot, tiny_onnx,
                                                                                        tmp_path):
    """The page sent deploy the chosen candidate alone, so the bundle offered OpenVINO as its fallback
    although the plan had run the very file there and rejected it for accuracy."""
    pytest.importorskip("openvino")
    from edgekit.deployment import Bundle
    from edgekit.planner.report import Candidate, Report
    from edgekit.types import CandidateStatus, Method

    window.state.set_model(tiny_onnx)
    page = window.show_page("DeployPage")
    model = tiny_onnx.to_dict()
    chosen = Candidate("onnxruntime/cpu/fp32", "onnxruntime", "cpu", "fp32", Method.FP32, model, p50_ms=1.0,
                       accuracy=0.75, drop=0.0, status=CandidateStatus.CHOSEN)
    lossy = Candidate("openvino/cpu/fp32", "openvino", "cpu", "fp32", Method.FP32, model, p50_ms=0.9,
                      accuracy=0.70, drop=0.05, status=CandidateStatus.REJECTED, reasons=("accuracy drop 5.00 points",))
    window.state.set_report(Report(model=tiny_onnx.name, model_sha256=tiny_onnx.sha256, target="local",
                                   estimated=False, candidates=(chosen, lossy), best_key=chosen.key, log=(),
                                   config={"max_accuracy_drop": 0.01}))
    window.state.set_choice(chosen)
    page.out.setText(str(tmp_path / "tiny.zip"))
    page.data.kind.setCurrentIndex(0)
    page.samples.setValue(8)
    _deploy(page, qtbot)
    assert page.banner.kind == "success", page.banner.text()
    assert [b["backend"] for b in Bundle.open(tmp_path / "tiny.zip").manifest.backends] == ["onnxruntime"]
    assert page.result.values["Runs on"].text().startswith("onnxruntime fp32 (")


def test_a_build_can_be_cancelled_and_leaves_no_bundle(window, qtbot, tiny_onnx, tmp_path):
    window.state.set_model(tiny_onnx)
    page = window.show_page("DeployPage")
    page.out.setText(str(tmp_path / "tiny.zip"))
    page.data.kind.setCurrentIndex(0)
    page.deploy_button.click()
    assert page.cancel_button.isEnabled() and not page.deploy_button.isEnabled()
    page.cancel_button.click()  # before the worker's first step: it stops there
    with qtbot.waitSignal(page.job.signals.finished, timeout=60000):
        pass
    assert page.banner.text() == "Cancelled." and not (tmp_path / "tiny.zip").exists()
    assert page.deploy_button.isEnabled() and not page.cancel_button.isEnabled()


def _yolo_folder(root, count: int = 6):
    """The held-out digit scenes written as a user's YOLO folder (images/ + labels/)."""
    import cv2

    from edgekit.data.scenes import TEST_SEED, scene_at

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(count):
        scene = scene_at(TEST_SEED, i)
        h, w = scene.image.shape[:2]
        cv2.imwrite(str(root / "images" / f"{i}.png"), scene.image)
        rows = [f"{c} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
                for (x1, y1, x2, y2), c in zip(scene.boxes.tolist(), scene.class_ids.tolist(), strict=True)]
        (root / "labels" / f"{i}.txt").write_text("\n".join(rows) + "\n")
    return root


def test_a_detectors_bundle_is_validated_on_the_users_boxes(window, qtbot, tmp_path):
    """A YOLO folder picked for a detector reached deploy as class folders ("images", "labels"), which
    a detector cannot use: the bundle was validated on 16 noise images, and the page said so only in
    its Sample row. The folder is opened as boxes, and the sample promises their mAP."""
    import edgekit
    from edgekit.deployment import Bundle

    window.state.set_model(edgekit.load_model("demo:digits-det"))
    page = window.show_page("DeployPage")
    page.out.setText(str(tmp_path / "det.zip"))
    page.data.set_folder(_yolo_folder(tmp_path / "scans"))
    page.samples.setValue(6)
    _deploy(page, qtbot)
    assert page.banner.kind == "success", page.banner.text()
    validation = Bundle.open(tmp_path / "det.zip").manifest.validation
    assert validation["samples"] == 6 and validation["map50"] > 0.5, validation
    sample = page.result.values["Sample"].text()
    assert sample.startswith(f"6 images with boxes, from {tmp_path / 'scans'}: mAP@0.5 "), sample
    page.data.kind.setCurrentText("Bundled handwritten digits (held-out test set)")  # for a detector: the scenes
    page.out.setText(str(tmp_path / "det2.zip"))
    _deploy(page, qtbot)
    assert page.banner.kind == "success", page.banner.text()
    assert Bundle.open(tmp_path / "det2.zip").manifest.validation["map50"] > 0.5


def test_your_images_with_no_path_chosen_is_said_not_sent_as_the_current_folder(window, qtbot, tiny_onnx, tmp_path):
    """The empty field reached deploy as ".", and the banner read ". is not detection data; point --data at ..."."""
    from edgekit_gui.widgets.data_picker import FOLDER

    window.state.set_model(tiny_onnx)
    page = window.show_page("DeployPage")
    page.out.setText(str(tmp_path / "tiny.zip"))
    page.data.kind.setCurrentText(FOLDER)
    page.data.folder.setText("  ")
    page.deploy_button.click()
    assert page.job is None and not (tmp_path / "tiny.zip").exists()
    assert page.banner.kind == "error" and page.banner.text().startswith("no validation images chosen: pick a folder")
