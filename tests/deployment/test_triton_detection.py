"""The Triton python-backend export of a detector declares the tensors every engine answers for an image.

``edgekit serve``, KServe and Triton answer the v2 ``image`` input with the same four tensors; the
Triton config must declare them (Triton refuses a request for an output its config lacks). The servers
themselves answer in tests/serve/test_v2_detection.py.
"""

from __future__ import annotations

import re
import warnings


def test_python_export_of_a_detector_declares_image_and_the_box_tensors_with_labels(tmp_path):
    from edgekit.deployment import deploy
    from edgekit.deployment.triton import export_triton

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bundle = deploy("demo:digits-det", out=tmp_path / "det", samples=8)
    config = (export_triton(bundle.path, tmp_path / "repo", backend="python") / "config.pbtxt").read_text()
    declared = dict(re.findall(r'name: "([^"]+)"\s+data_type: (TYPE_\w+)', config))
    assert declared["image"] == "TYPE_UINT8"  # the file as a UINT8 vector: the stub mis-reads BYTES inputs
    assert {n: declared[n] for n in ("boxes", "scores", "classes", "labels")} == {
        "boxes": "TYPE_FP32", "scores": "TYPE_FP32", "classes": "TYPE_INT32", "labels": "TYPE_STRING"}
    labels = (tmp_path / "repo" / bundle.manifest.serve_name / "labels.txt").read_text().split()
    assert labels == [str(d) for d in range(10)]  # the names the labels tensor carries
    native = (export_triton(bundle.path, tmp_path / "native") / "config.pbtxt").read_text()
    assert "labels" not in re.findall(r'name: "([^"]+)"', native)  # the native backends run the head alone
