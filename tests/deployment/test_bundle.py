"""deploy() writes a complete bundle; Bundle/Predictor read it back and predict correctly."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from edgekit.deployment import Bundle, Manifest, Predictor, deploy
from edgekit.deployment.manifest import SCHEMA_VERSION
from edgekit.errors import BundleError, OutputExists


def test_bundle_holds_model_manifest_sample_report_requirements_readme(bundle_dir):
    names = sorted(p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file())
    assert names == ["README.md", "labels.txt", "manifest.json", "manifest.sha256", "model/tiny.onnx",
                     "requirements.txt", "validation/report.json", "validation/sample.npz"]
    m = Manifest.read(bundle_dir)
    assert m.schema_version == SCHEMA_VERSION and m.name == "tiny" and m.labels == ("ant", "bee", "cat", "dog")
    assert m.backends[0] == {"backend": "onnxruntime", "precision": "fp32"}
    assert [b["backend"] for b in m.backends] == ["onnxruntime", "openvino"]
    assert set(m.files) == set(names) - {"manifest.json", "manifest.sha256"}
    assert m.validation["samples"] == 24 and 0.0 <= m.validation["accuracy"] <= 1.0
    assert m.figures["source"] == "measured" and m.figures["latency_ms"] > 0
    assert Manifest.from_dict(json.loads(m.to_json())) == m


def test_requirements_name_only_the_runtime_needed(bundle_dir, tiny_model, dataset, tmp_path):
    reqs = (bundle_dir / "requirements.txt").read_text()
    packages = [line.split(">=")[0] for line in reqs.splitlines() if line and not line.startswith("#")]
    assert packages == ["edgekit", "onnxruntime"]
    ov = deploy(tiny_model, out=tmp_path / "ov", data=dataset[:4], backend="openvino")
    ov_reqs = (ov.path / "requirements.txt").read_text()
    assert [ln.split(">=")[0] for ln in ov_reqs.splitlines() if ln and not ln.startswith("#")] == \
        ["edgekit", "onnxruntime", "openvino"]
    assert "torch" not in reqs + ov_reqs
    assert ov.manifest.backend == "openvino"


def test_existing_output_is_never_overwritten_without_force(tiny_model, dataset, tmp_path):
    out = tmp_path / "b.zip"
    out.write_bytes(b"user data")
    with pytest.raises(OutputExists, match="--force"):
        deploy(tiny_model, out=out, data=dataset[:4])
    assert out.read_bytes() == b"user data"
    with pytest.raises(OutputExists, match="not an edgekit bundle zip"):  # --force replaces only a bundle
        deploy(tiny_model, out=out, data=dataset[:4], force=True)
    assert out.read_bytes() == b"user data"
    out.unlink()
    deploy(tiny_model, out=out, data=dataset[:4])
    bundle = deploy(tiny_model, out=out, data=dataset[:4], force=True)
    assert Bundle.open(out).manifest == bundle.manifest


def test_predictor_matches_onnxruntime_run_directly(bundle_zip, tiny_model, dataset):
    predictor = Predictor.open(bundle_zip)
    direct = ort.InferenceSession(str(tiny_model.path), providers=["CPUExecutionProvider"])
    for image, _ in dataset[:5]:
        logits = direct.run(None, {"input": tiny_model.preprocess(image)})[0][0]
        pred = predictor.predict(image, k=3)
        assert pred.index == int(np.argmax(logits)) and pred.label == tiny_model.labels[pred.index]
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert pred.score == pytest.approx(float(probs.max()), rel=1e-4)
        assert len(pred.topk) == 3 and pred.topk[0][1] == pred.index and pred.latency_ms > 0
    batch = predictor.predict_batch([img for img, _ in dataset[:5]])
    assert [p.index for p in batch] == [predictor.predict(img).index for img, _ in dataset[:5]]
    predictor.close()


def test_predict_rejects_non_images(bundle_dir):
    from edgekit.errors import InputMismatch

    with Predictor.open(bundle_dir) as predictor, pytest.raises(InputMismatch, match="images"):
        predictor.predict(np.zeros((2, 2, 2, 2)))


def test_newer_schema_is_refused_with_upgrade_hint(bundle_copy):
    from edgekit.deployment.integrity import manifest_digest

    data = json.loads((bundle_copy / "manifest.json").read_text())
    data["schema_version"] = SCHEMA_VERSION + 1
    text = json.dumps(data).encode()
    (bundle_copy / "manifest.json").write_bytes(text)
    (bundle_copy / "manifest.sha256").write_text(manifest_digest(text) + "  manifest.json\n")
    with pytest.raises(BundleError, match="newer than this edgekit .* upgrade edgekit"):
        Predictor.open(bundle_copy)


def test_a_plan_report_and_its_saved_json_deploy_its_best_candidate(tiny_model, dataset, tmp_path):
    import cv2

    from edgekit.planner import plan

    for i, (image, label) in enumerate(dataset):
        folder = tmp_path / "val" / tiny_model.labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), image)
    report = plan(tiny_model, target="local", data=str(tmp_path / "val"), methods=("fp32",), seconds=0.2,
                  cache=False, max_accuracy_drop=0.5)
    bundle = deploy(report, out=tmp_path / "plan-bundle")
    m, best = bundle.manifest, report.best
    assert m.backend == best.backend and m.precision == best.precision and m.target == "local"
    assert m.figures["latency_ms"] == best.p50_ms and m.figures["source"] == "measured"
    assert m.accuracy == best.accuracy and m.validation["accuracy"] is not None  # the plan's data was packaged
    saved = tmp_path / "plan.json"
    saved.write_text(report.to_json())
    again = deploy(saved, out=tmp_path / "from-json.zip")
    assert again.manifest.figures == m.figures and again.manifest.files["model/tiny.onnx"] == m.files["model/tiny.onnx"]


def test_dataset_classes_are_mapped_to_model_labels_by_name(tiny_model, dataset, tmp_path):
    from edgekit.data import ArrayDataset
    from edgekit.errors import DataError

    images = [img for img, _ in dataset[:4]]
    bundle = deploy(tiny_model, out=tmp_path / "b", data=ArrayDataset(images, [0, 1, 0, 1], classes=["dog", "ant"]))
    assert bundle.sample()["labels"].tolist() == [3, 0, 3, 0]
    with pytest.raises(DataError, match="'wolf'"):
        deploy(tiny_model, out=tmp_path / "c", data=ArrayDataset(images, [0, 1, 0, 1], classes=["dog", "wolf"]))
    assert not (tmp_path / "c").exists()


def test_without_data_the_sample_checks_agreement_only(tiny_model, tmp_path):
    from edgekit.deployment import Tolerance, verify_bundle

    bundle = deploy(tiny_model, out=tmp_path / "noise", tolerance=Tolerance(latency_slack_ms=1000.0))
    assert bundle.manifest.tolerance.latency_slack_ms == 1000.0
    assert bundle.manifest.validation["accuracy"] is None and bundle.sample()["labels"].tolist() == [-1] * 16
    report = verify_bundle(bundle.path)
    assert report.passed and "sample accuracy" not in {c.name for c in report.checks}


def test_the_default_sample_is_fewer_images_when_the_models_tensors_are_large(tiny_model, dataset, tmp_path,
                                                                              monkeypatch):
    """64 images of YOLOX-Nano's tensors (3.3 MB an image) made an 87 MB bundle of a 4 MB model."""
    from edgekit.deployment import sample as sample_mod
    from edgekit.models.spec import TensorSpec

    yolox = tiny_model.replace(inputs=(TensorSpec("images", (1, 3, 416, 416)),),
                               outputs=(TensorSpec("output", (1, 3549, 85)),))
    assert sample_mod.sample_count(yolox, None) == 15  # 48 MiB / 3.28 MB an image
    assert sample_mod.sample_count(yolox, 64) == 64  # asked for: kept
    assert sample_mod.sample_count(tiny_model, None) == 64  # small tensors: the full default
    dynamic = tiny_model.replace(inputs=(TensorSpec("x", (1, 3, "h", "w")),))
    assert sample_mod.sample_count(dynamic, None) == 64  # a shape known only at run time counts as nothing
    per_image = 4 * (3 * 32 * 32 + 10)  # the tiny model's input and logits
    monkeypatch.setattr(sample_mod, "MAX_SAMPLE_BYTES", 6 * per_image)
    bundle = deploy(tiny_model, out=tmp_path / "capped", data=dataset)
    assert bundle.manifest.validation["samples"] == len(bundle.sample()["inputs"]) == 6
    bundle = deploy(tiny_model, out=tmp_path / "asked", data=dataset, samples=9)
    assert bundle.manifest.validation["samples"] == 9
