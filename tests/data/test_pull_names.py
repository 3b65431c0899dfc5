"""``edgekit pull`` reads names as ``load_model`` does: ``hub:NAME`` is the catalogue's NAME, and a
bundled ``demo:NAME`` is reported as bundled (nothing to download), not as unknown."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from edgekit.cli import main
from edgekit.zoo import catalog, hub

PAYLOAD = b"not really onnx, but the checksum matches"


def test_hub_prefix_pulls_the_catalogue_name(monkeypatch, tmp_path, capsys):
    entry = replace(catalog.CATALOG["squeezenet"], name="testnet", path="models/testnet.onnx",
                    sha256=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD))
    monkeypatch.setitem(catalog.CATALOG, "testnet", entry)
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    (tmp_path / "testnet.onnx").write_bytes(PAYLOAD)  # cached and verified: no network needed
    assert main(["pull", "hub:testnet", "--base-url", "http://127.0.0.1:9/"]) == 0
    out = capsys.readouterr().out
    assert "testnet.onnx" in out and "hub:testnet" in out and "hub:hub:" not in out
    assert hub.resolve("hub:testnet") == tmp_path / "testnet.onnx"


def test_demo_model_is_bundled_and_needs_no_download(capsys):
    assert main(["pull", "demo:digits-mnv2"]) == 0
    out = capsys.readouterr().out
    assert "bundled" in out and "no download needed" in out and str(hub.resolve("demo:digits-mnv2")) in out


def test_demo_name_without_prefix_points_at_the_demo_model(capsys):
    assert main(["pull", "digits-mnv2"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "bundled" in err and "demo:digits-mnv2" in err


def test_unknown_demo_model_is_an_error_with_a_suggestion(capsys):
    assert main(["pull", "demo:digitz"]) == 2
    assert "did you mean demo:digits?" in capsys.readouterr().err
