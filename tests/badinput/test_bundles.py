"""Bundles whose manifest was edited and re-hashed (the digest is not a signature), and hostile zips.

Each case: ``Bundle.open`` / ``Predictor.open`` raise ``BundleError`` with one sentence naming
the manifest field (or the zip), nothing is read or written outside the bundle.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from edgekit.deployment import Bundle
from edgekit.deployment.predictor import Predictor
from edgekit.errors import BundleError

from .conftest import assert_sentence, rehash


def _set(data: dict, dotted: str, value) -> None:
    keys = dotted.replace("[", ".").replace("]", "").split(".")
    for key in keys[:-1]:
        data = data[int(key)] if key.isdigit() else data[key]
    last = keys[-1]
    if value is _DELETE:
        del data[last]
    elif last.isdigit():
        data[int(last)] = value
    else:
        data[last] = value


_DELETE = object()
OUTSIDE = "../outside.npz"

# (field, value, words the message must hold)
MUTATIONS = [
    ("model_file", "../outside.onnx", "model_file"),
    ("model_file", "/etc/passwd", "model_file"),
    ("model_file", "model/../../x.onnx", "model_file"),
    ("model_file", "C:/x.onnx", "model_file"),
    ("model_file", "model\\digits.onnx", "model_file"),
    ("model_file", "labels.txt.missing", "model_file"),
    ("model_file", 7, "model_file"),
    ("validation.file", OUTSIDE, "validation.file"),
    ("validation.file", "/tmp/sample.npz", "validation.file"),
    ("validation.report", "../../report.json", "validation.report"),
    ("validation.samples", -1, "validation.samples"),
    ("runtime.options.cache_dir", "/tmp/edgekit-cache", "cache_dir"),
    ("runtime.options.cache_dir", "../cache", "cache_dir"),
    ("runtime.options.threads", 100000, "threads"),
    ("runtime.options.threads", 0, "threads"),
    ("runtime.options.threads", "4", "threads"),
    ("runtime.options.graph_optimization", "turbo", "graph_optimization"),
    ("runtime.threads", -3, "runtime.threads"),
    ("runtime.streams", 10**9, "runtime.streams"),
    ("tolerance.accuracy", "x", "tolerance.accuracy"),
    ("tolerance.accuracy", 5.0, "tolerance.accuracy"),
    ("tolerance.latency_factor", -1, "tolerance.latency_factor"),
    ("tolerance.latency_slack_ms", "fast", "tolerance.latency_slack_ms"),
    ("inputs[0].name", 1, "inputs[0].name"),
    ("inputs", [], "inputs"),
    ("inputs[0].shape", "abc", "inputs[0].shape"),
    ("inputs[0].shape", [1, 3, -5, 64], "inputs[0].shape"),
    ("inputs[0].dtype", "complex512", "inputs[0].dtype"),
    ("outputs", "logits", "outputs"),
    ("preprocess.size", "abc", "preprocess.size"),
    ("preprocess.size", [0, 0], "preprocess.size"),
    ("preprocess.size", [64], "preprocess.size"),
    ("preprocess.std", [0.0, 0.0, 0.0], "preprocess.std"),
    ("preprocess.resize", "squash", "preprocess.resize"),
    ("preprocess.channel_order", "CMYK", "preprocess.channel_order"),
    ("format", "tensorflow", "format"),
    ("backends", [], "backends"),
    ("backends[0].backend", "evil", "backends[0].backend"),
    ("backends[0].precision", "fp8", "backends[0].precision"),
    ("labels", "0123456789", "labels"),
    ("labels", [1, 2, 3], "labels"),
    ("output_kind", "softmax", "output_kind"),
    ("accuracy", 5, "accuracy"),
    ("accuracy", "high", "accuracy"),
    ("name", "", "name"),
    ("device", "cpu; rm -rf /", "device"),
    ("files.labels.txt.sha256", "zz", "sha256"),
    ("schema_version", "1", "schema_version"),
    ("schema_version", 99, "schema version 99"),
    ("schema_version", _DELETE, "schema_version"),
    ("figures.latency_ms", -5, "figures.latency_ms"),
]


def _fresh(digits_bundle: Path, tmp_path: Path) -> tuple[Path, dict]:
    copy_ = Path(shutil.copytree(digits_bundle, tmp_path / "bundle"))
    return copy_, json.loads((copy_ / "manifest.json").read_text())


@pytest.mark.parametrize(("field", "value", "named"), MUTATIONS, ids=[f"{f}={str(v)[:20]}" for f, v, _ in MUTATIONS])
def test_an_edited_and_rehashed_manifest_is_refused_naming_the_field(digits_bundle, tmp_path, field, value, named):
    bundle, data = _fresh(digits_bundle, tmp_path)
    if field.startswith("files.labels.txt"):
        data["files"]["labels.txt"]["sha256"] = value
    else:
        _set(data, field, value)
    rehash(bundle, data)
    with pytest.raises(BundleError) as info:
        Predictor.open(bundle)
    assert_sentence(str(info.value), named)


def test_an_unknown_manifest_key_is_warned_about_not_fatal(digits_bundle, tmp_path):
    from edgekit.errors import EdgekitWarning

    bundle, data = _fresh(digits_bundle, tmp_path)
    data["runtime"]["options"]["thraeds"] = 2
    rehash(bundle, data)
    with pytest.warns(EdgekitWarning, match="thraeds") as record:
        Bundle.open(bundle).close()
    assert_sentence(str(record[0].message), "thraeds")


@pytest.mark.parametrize("text", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"schema_version": 1, "name": NaN}',
    b'{"schema_version": 1e999}',
    b"\xff\xfe not utf-8",
    b"[1, 2, 3]",
    b'{"schema_version": 1',
], ids=["nesting-bomb", "NaN-literal", "huge-number", "not-utf8", "not-an-object", "truncated"])
def test_a_manifest_that_is_not_sane_json_is_one_sentence(digits_bundle, tmp_path, text):
    from edgekit.deployment.integrity import manifest_digest

    bundle, _ = _fresh(digits_bundle, tmp_path)
    (bundle / "manifest.json").write_bytes(text)
    (bundle / "manifest.sha256").write_text(manifest_digest(text) + "  manifest.json\n")
    with pytest.raises(BundleError) as info:
        Bundle.open(bundle)
    assert_sentence(str(info.value), "manifest.json")


def test_a_symlinked_folder_inside_the_bundle_is_refused(digits_bundle, tmp_path, sentinel):
    bundle, _ = _fresh(digits_bundle, tmp_path)
    (bundle / "validation" / "link").symlink_to(sentinel)
    with pytest.raises(BundleError) as info:
        Bundle.open(bundle)
    assert_sentence(str(info.value), "symbolic link")


def test_verify_on_an_absolute_model_file_is_a_bundle_error_not_a_key_error(digits_bundle, tmp_path):
    from edgekit.deployment import verify_bundle

    bundle, data = _fresh(digits_bundle, tmp_path)
    data["model_file"] = str((bundle / "model" / "digits.onnx").resolve())
    rehash(bundle, data)
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle)
    assert_sentence(str(info.value), "model_file")


# --- zips ------------------------------------------------------------------------------------

def _zip_of(folder: Path, out: Path, extra: dict[str, bytes] | None = None, method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out


def _open_zip(path: Path) -> BundleError:
    import tempfile

    before = {p.name for p in Path(tempfile.gettempdir()).glob("edgekit-bundle-*")}
    with pytest.raises(BundleError) as info:
        Bundle.open(path)
    after = {p.name for p in Path(tempfile.gettempdir()).glob("edgekit-bundle-*")}
    assert after <= before, "the private extraction was left behind"
    assert "edgekit-bundle-" not in str(info.value), f"names the temp folder: {info.value}"
    return info.value


def test_many_one_mib_entries_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(64):
            zf.writestr(f"f{i:04d}.bin", b"\0" * (1 << 20))
    assert path.stat().st_size < 200_000
    assert_sentence(str(_open_zip(path)), "bomb.zip", "zip bomb")


def test_too_many_entries_are_refused(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1001):
            zf.writestr(f"e{i}", b"")
    assert_sentence(str(_open_zip(path)), "many.zip", "entries")


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "a\\..\\..\\evil.txt", "C:/evil.txt", "x/../../evil"])
def test_an_entry_leaving_the_folder_is_refused(tmp_path, name):
    path = tmp_path / "slip.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, b"payload")
    assert_sentence(str(_open_zip(path)), "slip.zip")
    assert not (tmp_path / "evil.txt").exists()


def test_a_symlink_entry_is_refused(tmp_path):
    path = tmp_path / "link.zip"
    info = zipfile.ZipInfo("model/link")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    assert_sentence(str(_open_zip(path)), "link.zip", "symbolic link")


def test_a_duplicated_entry_is_refused(tmp_path):
    import warnings

    path = tmp_path / "dup.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
        warnings.simplefilter("ignore")
        zf.writestr("manifest.json", b"{}")
        zf.writestr("manifest.json", b"{}")
    assert_sentence(str(_open_zip(path)), "dup.zip", "twice")


def _lie_about_size(path: Path, name: str, size: int) -> None:
    """Patch the central directory's uncompressed size of ``name`` (the local header stays honest)."""
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    found = False
    while pos != -1:
        name_len = struct.unpack("<H", data[pos + 28 : pos + 30])[0]
        if data[pos + 46 : pos + 46 + name_len].decode() == name:
            data[pos + 24 : pos + 28] = struct.pack("<I", size)
            found = True
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert found
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("size", [10, 10**6], ids=["smaller", "larger"])
def test_a_central_directory_that_lies_about_a_size_is_refused(digits_bundle, tmp_path, size):
    path = _zip_of(digits_bundle, tmp_path / "liar.zip")
    _lie_about_size(path, "labels.txt", size)
    assert_sentence(str(_open_zip(path)), "liar.zip")


def test_a_truncated_zip_names_the_users_zip(digits_bundle, tmp_path):
    path = _zip_of(digits_bundle, tmp_path / "cut.zip")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BundleError) as info:
        Bundle.open(path)
    assert_sentence(str(info.value), "cut.zip")


def test_a_zip_with_a_bad_manifest_names_the_users_zip_not_a_temp_folder(digits_bundle, tmp_path):
    bundle, data = _fresh(digits_bundle, tmp_path)
    data["model_file"] = "../outside.onnx"
    rehash(bundle, data)
    path = _zip_of(bundle, tmp_path / "user.zip")
    assert_sentence(str(_open_zip(path)), "user.zip", "model_file")


def test_a_zip_with_an_extra_file_names_the_users_zip(digits_bundle, tmp_path):
    path = _zip_of(digits_bundle, tmp_path / "extra.zip", {"run_me.sh": b"touch MARKER"})
    assert_sentence(str(_open_zip(path)), "extra.zip", "run_me.sh")


def test_a_text_file_named_zip_is_refused(tmp_path):
    path = tmp_path / "not.zip"
    path.write_text("hello")
    with pytest.raises(BundleError) as info:
        Bundle.open(path)
    assert_sentence(str(info.value), "not.zip")


def test_predictor_open_none_is_a_type_error():
    with pytest.raises(TypeError, match="bundle folder or .zip"):
        Predictor.open(None)
