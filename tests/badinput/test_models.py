"""Broken, hostile and oversized model files and model cards, through ``load_model``.

Each case: ``ModelLoadError`` (or ``TypeError`` for a wrong argument type) with one sentence
naming the file; no payload runs; a file that must not be read is refused before it is.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from edgekit.errors import ModelLoadError
from edgekit.models import load_model

from .conftest import assert_sentence


@pytest.fixture(scope="module")
def digits_onnx() -> Path:
    from edgekit.zoo.hub import resolve

    return resolve("demo:digits")


def _copy(src: Path, tmp: Path, name: str = "model.onnx") -> Path:
    return Path(shutil.copy(src, tmp / name))


FILES = {
    "missing": lambda tmp, src: tmp / "nowhere" / "model.onnx",
    "empty": lambda tmp, src: _write(tmp / "empty.onnx", b""),
    "text": lambda tmp, src: _write(tmp / "notes.onnx", b"this is not a model\n"),
    "pdf": lambda tmp, src: _write(tmp / "paper.onnx", b"%PDF-1.7\n" + b"\0" * 100),
    "random-bytes": lambda tmp, src: _write(tmp / "noise.onnx", os.urandom(4096)),
    "truncated": lambda tmp, src: _write(tmp / "cut.onnx", src.read_bytes()[: src.stat().st_size // 3]),
    "folder": lambda tmp, src: _mkdir(tmp / "dir.onnx"),
    "json-as-model": lambda tmp, src: _write(tmp / "card.onnx", b'{"labels": ["a"]}'),
    "zip-as-onnx": lambda tmp, src: _write(tmp / "z.onnx", b"PK\x03\x04" + b"\0" * 60),
    "unknown-suffix": lambda tmp, src: _write(tmp / "model.tflite", b"TFL3" + b"\0" * 60),
    "xml-without-bin": lambda tmp, src: _write(tmp / "ir.xml", b"<?xml version='1.0'?><net name='x'></net>"),
    "pt-random": lambda tmp, src: _write(tmp / "w.pt", os.urandom(2048)),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_broken_model_file_is_one_sentence_naming_it(tmp_path, digits_onnx, case):
    path = FILES[case](tmp_path, digits_onnx)
    with pytest.raises(ModelLoadError) as info:
        load_model(path)
    assert_sentence(str(info.value), path.name)


def test_a_two_gib_onnx_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.onnx"
    with open(path, "wb") as fh:  # sparse: costs no disk
        fh.write(b"\x08\x07")
        fh.truncate((2 << 30) + 10)
    start = time.perf_counter()
    with pytest.raises(ModelLoadError) as info:
        load_model(path)
    assert time.perf_counter() - start < 5, "the file was read"
    assert_sentence(str(info.value), "huge.onnx", "2 GiB", "external data")


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path, marker):
    torch = pytest.importorskip("torch")

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"state_dict": Payload()}, path)
    with pytest.raises(ModelLoadError) as info:
        load_model(path, arch="tinycnn")
    assert_sentence(str(info.value), "evil.pt", "pickled")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script/save: still how TorchScript is made
def test_a_torchscript_whose_forward_never_returns_is_bounded(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")

    class Forever(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            while bool(x.sum() >= 0):
                x = x + 1
            return x

    path = tmp_path / "forever.pt"
    torch.jit.save(torch.jit.script(Forever()), str(path))
    monkeypatch.setenv("EDGEKIT_INSPECT_TIMEOUT_S", "8")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError) as info:
        load_model(path, input_shape=(1, 3, 8, 8))
    assert time.perf_counter() - start < 30
    assert_sentence(str(info.value), "forever.pt", "did not finish")


CARDS = {
    "nesting-bomb": ("[" * 50_000 + "]" * 50_000, "model.json"),
    "size-0x0": (json.dumps({"preprocess": {"size": [0, 0]}}), "preprocess.size"),
    "size-text": (json.dumps({"preprocess": {"size": "abc"}}), "preprocess.size"),
    "nan-literal": ('{"preprocess": {"scale": NaN}}', "model.json"),
    "std-zero": (json.dumps({"preprocess": {"std": [0, 0, 0]}}), "preprocess.std"),
    "labels-ints": (json.dumps({"labels": [1, 2, 3]}), "labels"),
    "labels-text": (json.dumps({"labels": "abc"}), "labels"),
    "resize-unknown": (json.dumps({"preprocess": {"resize": "squash"}}), "preprocess.resize"),
    "task-unknown": (json.dumps({"task": "segmentation-of-everything"}), "task"),
    "not-an-object": ("[1, 2]", "model.json"),
    "not-json": ("{labels: [a]}", "model.json"),
    "input-shape-text": (json.dumps({"input_shape": "1,3,64,64"}), "input_shape"),
}


@pytest.mark.parametrize("case", sorted(CARDS))
def test_a_broken_model_card_is_one_sentence_naming_it(tmp_path, digits_onnx, case):
    text, named = CARDS[case]
    model = _copy(digits_onnx, tmp_path)
    (tmp_path / "model.json").write_text(text)
    with pytest.raises(ModelLoadError) as info:
        load_model(model)
    assert_sentence(str(info.value), named)


def test_a_huge_model_card_is_refused_without_parsing(tmp_path, digits_onnx):
    model = _copy(digits_onnx, tmp_path)
    with open(tmp_path / "model.json", "wb") as fh:
        fh.truncate(64 << 20)
    with pytest.raises(ModelLoadError) as info:
        load_model(model)
    assert_sentence(str(info.value), "model.json", "bytes")


@pytest.mark.parametrize("value", [None, 3, b"model.onnx", ["a.onnx"]], ids=["None", "int", "bytes", "list"])
def test_load_model_with_a_wrong_type_names_what_to_pass(value):
    with pytest.raises((TypeError, ModelLoadError)) as info:
        load_model(value)
    assert_sentence(str(info.value))
