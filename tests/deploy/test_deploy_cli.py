"""``edgekit deploy`` from a model file, with an image-folder validation set."""

from __future__ import annotations

import cv2

from edgekit.cli import main
from edgekit.deploy import Bundle


def test_deploy_cli_writes_a_zip_and_refuses_to_overwrite(tiny_model, dataset, tmp_path, capsys):
    for i, (image, label) in enumerate(dataset[:8]):
        folder = tmp_path / "val" / tiny_model.labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), image)
    out = tmp_path / "tiny.zip"
    args = ["deploy", str(tiny_model.path), "--out", str(out), "--data", str(tmp_path / "val"), "--samples", "6"]
    assert main(args) == 0
    assert "bundle written" in capsys.readouterr().out
    manifest = Bundle.open(out).manifest
    assert manifest.validation["samples"] == 6 and manifest.validation["accuracy"] is not None
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--backend", "openvino"]) == 0
    assert Bundle.open(out).manifest.backend == "openvino"
