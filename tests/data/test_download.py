"""`edgekit pull` against an HTTP server on 127.0.0.1: good file, wrong checksum, cut connection, offline."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from edgekit.cli import main
from edgekit.errors import DownloadError, ModelLoadError
from edgekit.zoo import catalog, hub
from edgekit.zoo.download import is_cached, pull

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/cut.onnx"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path.endswith("/missing.onnx"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/zoo/"
    srv.shutdown()
    srv.server_close()


def _entry(path="models/good.onnx", sha=None, size=None):
    base = catalog.CATALOG["mobilenetv2"]
    return replace(
        base,
        name="testnet",
        path=path,
        sha256=sha or hashlib.sha256(PAYLOAD).hexdigest(),
        size=size or len(PAYLOAD),
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download_is_verified_and_carded(server, tmp_path):
    seen = []
    path = pull(_entry(), base_url=server, cache=tmp_path, progress=lambda e: seen.append((e.done, e.total)))
    assert path == tmp_path / "good.onnx" and path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    card = json.loads((tmp_path / "good.json").read_text())
    assert len(card["labels"]) == 1000 and card["preprocess"]["size"] == [224, 224]
    assert _leftovers(tmp_path) == ["good.json", "good.onnx"]
    assert is_cached(_entry(), tmp_path)
    # a second pull uses the cache (no server needed)
    assert pull(_entry(), base_url="http://127.0.0.1:9/", cache=tmp_path) == path


def test_wrong_checksum_keeps_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="sha256") as info:
        pull(_entry(sha="0" * 64), base_url=server, cache=tmp_path)
    assert "discarded" in str(info.value)
    assert _leftovers(tmp_path) == []


def test_connection_cut_midway_keeps_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="cut|stopped"):
        pull(_entry(path="models/cut.onnx"), base_url=server, cache=tmp_path)
    assert _leftovers(tmp_path) == []


def test_http_error_names_the_manual_fix(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        pull(_entry(path="models/missing.onnx"), base_url=server, cache=tmp_path)
    assert "by hand" in str(info.value) and str(tmp_path / "missing.onnx") in str(info.value)


def test_offline_is_one_clear_sentence(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    entry = _entry()
    with pytest.raises(DownloadError) as info:
        pull(entry, base_url=f"http://127.0.0.1:{port}/", cache=tmp_path, timeout=5)
    msg = str(info.value)
    assert "download http://127.0.0.1" in msg and "by hand" in msg and str(tmp_path / "good.onnx") in msg
    assert entry.sha256 in msg and "\n" not in msg
    assert _leftovers(tmp_path) == []


def test_env_var_overrides_base_url(monkeypatch):
    monkeypatch.setenv("EDGEKIT_HUB_URL", "http://127.0.0.1:1/mirror/")
    assert catalog.get_entry("squeezenet").url().startswith("http://127.0.0.1:1/mirror/vision/")


def test_catalogue_entries_are_complete():
    labels = catalog.imagenet_labels()
    assert len(labels) == 1000 and labels[0] == "tench"
    for e in catalog.list_catalog():
        assert len(e.sha256) == 64 and e.size > 1_000_000 and e.url().endswith(".onnx")
        from edgekit.models.preprocess import Preprocess

        assert Preprocess.from_dict(e.preprocess).size == (224, 224)
    with pytest.raises(ModelLoadError, match="did you mean 'resnet50'"):
        catalog.get_entry("resnet5")


def test_pulled_model_resolves_from_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="edgekit pull squeezenet"):
        hub.resolve("hub:squeezenet")
    (tmp_path / "squeezenet1.0-12.onnx").write_bytes(b"x")
    assert hub.resolve("hub:squeezenet") == tmp_path / "squeezenet1.0-12.onnx"


def test_cli_pull_offline_exits_2_with_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    assert main(["pull", "squeezenet", "--base-url", "http://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert "by hand" in err and "squeezenet1.0-12.onnx" in err
    assert main(["pull", "--list"]) == 0
    assert "efficientnet-lite4" in capsys.readouterr().out
