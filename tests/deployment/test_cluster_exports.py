"""``edgekit export --format kserve | mender | triton --triton-backend python``: what a cluster or a fleet gets.

KServe manifests are read back into KServe's own classes; the Mender artifact is read back by
``mender-artifact read``. KServe is validated in a child process: kserve and tritonclient.grpc
register the same protobuf package and cannot share one interpreter.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import posixpath
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from edgekit.cli import main
from edgekit.errors import BackendUnavailable, BundleError, OutputExists

HAS_KSERVE = importlib.util.find_spec("kserve") is not None
needs_kserve = pytest.mark.skipif(not HAS_KSERVE, reason="kserve is not installed (pip install 'edgekit[kserve]')")


def _validate_in_child(folder: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from edgekit.deployment.kserve import validate_manifests; "
            "r = validate_manifests(sys.argv[1]); print(sorted((k, type(v).__name__) for k, v in r.items()))")
    return subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120,
                          check=False)


@needs_kserve
def test_kserve_export_writes_manifests_that_kserves_own_classes_accept(bundle_zip, tmp_path):
    out = tmp_path / "ks"
    assert main(["export", str(bundle_zip), "--format", "kserve", "--out", str(out), "--image", "reg.example/tiny:1",
                 "--namespace", "vision"]) == 0
    done = _validate_in_child(out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "V1beta1InferenceService" in done.stdout and "V1alpha1ServingRuntime" in done.stdout
    isvc = yaml.safe_load((out / "inferenceservice.yaml").read_text())
    runtime = yaml.safe_load((out / "servingruntime.yaml").read_text())
    assert isvc["metadata"] == {"name": "tiny", "namespace": "vision"}
    assert isvc["spec"]["predictor"]["model"]["runtime"] == runtime["metadata"]["name"]
    assert runtime["spec"]["containers"][0]["image"] == "reg.example/tiny:1"
    assert {"v2", "grpc-v2"} <= set(runtime["spec"]["protocolVersions"])


@needs_kserve
def test_a_misspelt_manifest_key_is_refused_by_name(bundle_zip, tmp_path):
    from edgekit.deployment.kserve import export_kserve

    out = export_kserve(bundle_zip, tmp_path / "ks")
    text = (out / "inferenceservice.yaml").read_text().replace("minReplicas", "minReplica")
    (out / "inferenceservice.yaml").write_text(text)
    done = _validate_in_child(out)
    assert done.returncode != 0
    assert "minReplica" in done.stderr and "does not know" in done.stderr
    from edgekit.deployment.kserve import validate_in_child

    with pytest.raises(BundleError, match="minReplica"):
        validate_in_child(out)


def test_kserve_build_context_installs_only_the_bundles_runtime(bundle_zip, tmp_path):
    from edgekit.deployment import Predictor
    from edgekit.deployment.kserve import export_kserve

    out = export_kserve(bundle_zip, tmp_path / "ks")
    install = next(line for line in (out / "Dockerfile").read_text().splitlines() if line.startswith("RUN pip install"))
    assert "requirements.txt" in install and "kserve" in install
    assert "torch" not in install.lower() and "pyside" not in install.lower() and "[" not in install  # no extras
    requirements = (out / "bundle" / "requirements.txt").read_text()
    assert "onnxruntime" in requirements and "openvino" not in requirements and "torch" not in requirements
    assert "--engine kserve" in (out / "entrypoint.sh").read_text()
    readme = (out / "README.md").read_text()
    assert "kubectl apply" in readme and "docker build" in readme
    # the README's wheel (a path in the build context) is where pip looks for it inside the image:
    # it named wheels/x.whl while pip ran in / and the wheels were copied to /tmp/wheels
    spec = re.search(r'EDGEKIT_SPEC="\$\(ls ([^ ]+)\*\.whl', readme).group(1)
    lines = (out / "Dockerfile").read_text().splitlines()
    run = next(i for i, line in enumerate(lines) if line.startswith("RUN pip install"))
    workdir = ([line.split()[1] for line in lines[:run] if line.startswith("WORKDIR ")] or ["/"])[-1]
    copied = {line.split()[1]: line.split()[2] for line in lines if line.startswith("COPY ")}
    assert posixpath.normpath(posixpath.join(workdir, spec)) == copied["wheels/"].rstrip("/"), (spec, workdir)
    with Predictor.open(out / "bundle") as predictor:  # the baked-in bundle still verifies
        assert predictor.labels == ("ant", "bee", "cat", "dog")


def test_kserve_export_refuses_a_tampered_bundle_and_an_existing_folder(bundle_copy, tmp_path):
    from edgekit.deployment.kserve import export_kserve

    export_kserve(bundle_copy, tmp_path / "ks")
    with pytest.raises(OutputExists):
        export_kserve(bundle_copy, tmp_path / "ks")
    export_kserve(bundle_copy, tmp_path / "ks", force=True)  # only its own files there: replaced
    (tmp_path / "ks" / "values-prod.yaml").write_text("mine")
    with pytest.raises(OutputExists, match="values-prod.yaml"):
        export_kserve(bundle_copy, tmp_path / "ks", force=True)
    assert (tmp_path / "ks" / "values-prod.yaml").read_text() == "mine"
    model = next((bundle_copy / "model").iterdir())
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    with pytest.raises(BundleError):
        export_kserve(bundle_copy, tmp_path / "ks2")


def test_triton_python_variant_carries_the_bundle_and_model_py(bundle_zip, tmp_path):
    from edgekit.deployment import Predictor, export_triton

    folder = export_triton(bundle_zip, tmp_path / "repo", backend="python")
    config = (folder / "config.pbtxt").read_text()
    assert 'backend: "python"' in config and 'name: "logits"' in config and "label_filename" in config
    model_py = (folder / "1" / "model.py").read_text()
    assert "class TritonPythonModel" in model_py and "BundleModel" in model_py
    with Predictor.open(folder / "1" / "bundle") as predictor:
        assert predictor.manifest.serve_name == "tiny"
    with pytest.raises(BundleError, match="native or python"):
        export_triton(bundle_zip, tmp_path / "repo2", backend="tensorrt")


needs_mender = pytest.mark.skipif(
    __import__("shutil").which("mender-artifact") is None,
    reason="mender-artifact is not installed (apt-get install mender-artifact; .ci/run installs it)")


@needs_mender
def test_mender_artifact_is_read_back_with_device_type_and_payload_checksums(bundle_zip, tmp_path, capsys):
    from edgekit.deployment import Bundle
    from edgekit.deployment.mender import VERIFY_SCRIPT, read_artifact

    out = tmp_path / "x.mender"
    assert main(["export", str(bundle_zip), "--format", "mender", "--device-type", "raspberrypi4",
                 "--device-type", "beaglebone", "--dest", "/data/models/tiny", "--out", str(out)]) == 0
    said = " ".join(capsys.readouterr().out.split())  # where it lands on the device, and what checks it there
    assert "installs into /data/models/tiny on the device" in said and "edgekit verify /data/models/tiny" in said
    artifact = read_artifact(out)  # what `mender-artifact read` says
    assert artifact.device_types == ("raspberrypi4", "beaglebone")
    assert artifact.payload_type == "directory" and artifact.scripts == (VERIFY_SCRIPT,)
    assert artifact.name.startswith("tiny-")
    payload, dest = _payload_of(out)
    assert dest == b"/data/models/tiny"
    assert artifact.files["update.tar"] == hashlib.sha256(payload).hexdigest()
    assert artifact.files["dest_dir"] == hashlib.sha256(dest).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:  # the bundle, its own checksums inside
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    opened = Bundle.open(bundle_zip)
    assert names == {"manifest.json", "manifest.sha256", *opened.manifest.files}
    assert manifest["files"] == opened.manifest.files


def _payload_of(artifact: Path) -> tuple[bytes, bytes]:
    """``update.tar`` and ``dest_dir`` from the artifact (a tar holding data/0000.tar[.gz])."""
    with tarfile.open(artifact) as outer:
        member = next(m for m in outer.getmembers() if m.name.startswith("data/0000"))
        inner = outer.extractfile(member).read()
    with tarfile.open(fileobj=io.BytesIO(inner)) as data:
        return data.extractfile("update.tar").read(), data.extractfile("dest_dir").read()


@needs_mender
def test_mender_export_refuses_bad_destinations_and_existing_files(bundle_zip, tmp_path):
    from edgekit.deployment.mender import export_mender

    with pytest.raises(BundleError, match="absolute"):
        export_mender(bundle_zip, tmp_path / "a.mender", dest="relative/path")
    with pytest.raises(BundleError, match="device type"):
        export_mender(bundle_zip, tmp_path / "a.mender", device_types=("rpi 4; rm -rf /",))
    (tmp_path / "b.mender").write_bytes(b"x")
    with pytest.raises(OutputExists):
        export_mender(bundle_zip, tmp_path / "b.mender", device_types=("raspberrypi4",))
    with pytest.raises(BundleError, match="not a readable Mender artifact"):
        from edgekit.deployment.mender import read_artifact

        read_artifact(tmp_path / "b.mender")


def test_mender_missing_tool_is_one_clear_error(bundle_zip, tmp_path, monkeypatch):
    from edgekit.deployment import mender

    monkeypatch.setattr(mender.shutil, "which", lambda _name: None)
    with pytest.raises(BackendUnavailable, match="apt-get install mender-artifact"):
        mender.export_mender(bundle_zip, tmp_path / "x.mender")


@needs_mender
def test_a_mender_artifact_installs_on_the_devices_the_bundle_was_built_for(tiny_model, bundle_zip, tmp_path, capsys):
    """The device type defaulted to raspberrypi4 whatever the bundle's target: a bundle built and measured
    for this x86 machine was offered to a fleet of Pi 4s."""
    from edgekit.deployment import Tolerance, deploy

    assert main(["export", str(bundle_zip), "--format", "mender", "--out", str(tmp_path / "local.mender")]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "no Mender device type edgekit knows" in said and "--device-type NAME" in said
    assert not (tmp_path / "local.mender").exists()
    pi5 = deploy(tiny_model, target="raspberry-pi-5", out=tmp_path / "pi5.zip",
                 tolerance=Tolerance(latency_slack_ms=1000.0)).path
    assert main(["export", str(pi5), "--format", "mender", "--out", str(tmp_path / "pi5.mender")]) == 0
    assert "devices raspberrypi5," in " ".join(capsys.readouterr().out.split())
