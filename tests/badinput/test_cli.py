"""The CLI on hostile inputs, in a child process: where the exit code and what a user reads are the point.

Each case: the exit code, one ``error:`` line naming the culprit, no traceback anywhere in
the output, the child's peak RSS under a bound and its wall time under the timeout.
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from .conftest import assert_sentence, error_line, rehash, run_cli

LAUGHS = "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ["lol"] * 9) + "]\n" for i in range(9))
MAX_RSS_MB = 1500


def _refused(tmp_path: Path, args: list[str], *named: str, rc: int = 2, timeout: float = 90, env=None) -> str:
    code, output, rss = run_cli(args, tmp_path, timeout, env)
    assert code == rc, output[-1500:]
    assert "Traceback" not in output, output[-1500:]
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MiB"
    line = error_line(output)
    assert_sentence(line, *named)
    return output


def test_run_on_a_billion_laughs_plan_is_refused_at_once(tmp_path):
    (tmp_path / "plan.yaml").write_text(LAUGHS + "plan:\n  model: demo:digits\n  seconds: *l8\n")
    _refused(tmp_path, ["run", "plan.yaml"], "plan.yaml", "aliases", timeout=30)


def test_run_on_a_plan_with_a_python_tag_runs_nothing(tmp_path, marker):
    (tmp_path / "plan.yaml").write_text(f"plan: !!python/object/apply:os.system ['touch {marker}']\n")
    _refused(tmp_path, ["run", "plan.yaml"], "plan.yaml", "python", timeout=30)


def test_plan_with_endless_seconds_is_refused(tmp_path):
    _refused(tmp_path, ["plan", "demo:digits", "--seconds", "inf"], "seconds", timeout=60)


def test_bench_exits_non_zero_when_nothing_could_be_measured(tmp_path):
    _refused(tmp_path, ["bench", "demo:digits", "--backend", "torch", "--device", "cuda", "--seconds", "0.2"],
             "nothing could be measured", timeout=120)


def test_eval_on_a_folder_where_nothing_decodes_exits_non_zero(tmp_path):
    for name in ("0", "1"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 20)
    _refused(tmp_path, ["eval", "demo:digits", "--data", "data"], "data", timeout=120)


def test_eval_skips_an_image_bomb_from_its_header_within_a_memory_bound(tmp_path):
    side = 25000
    comp = zlib.compressobj(9)
    raw = b"".join(comp.compress(b"\0" * (side + 1)) for _ in range(side)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    for name in map(str, range(10)):
        (tmp_path / "data" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "data" / name / "ok.png"), np.full((64, 64, 3), 25 * int(name), np.uint8))
    ihdr = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    (tmp_path / "data" / "3" / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    code, output, rss = run_cli(["eval", "demo:digits", "--data", "data"], tmp_path, 120)
    assert code == 0, output[-1500:]
    assert "skipped 1 of 11" in output and "25000x25000" in output, output[-1500:]
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MiB (was 3.7 GB before the header check)"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script/save: still how TorchScript is made
def test_info_on_a_torchscript_that_never_returns_ends(tmp_path):
    torch = pytest.importorskip("torch")

    class Forever(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            while bool(x.sum() >= 0):
                x = x + 1
            return x

    torch.jit.save(torch.jit.script(Forever()), str(tmp_path / "forever.pt"))
    _refused(tmp_path, ["info", "forever.pt", "--input-shape", "1,3,8,8"], "forever.pt", "did not finish",
             timeout=90, env={"EDGEKIT_INSPECT_TIMEOUT_S": "6"})


def test_deploy_force_never_touches_the_users_dot_old_sibling(tmp_path):
    out = tmp_path / "out"
    (out / ".bundle.old").mkdir(parents=True)
    (out / ".bundle.old" / "thesis.tex").write_text("years of work")
    for extra in ([], ["--force"]):
        code, output, _ = run_cli(["deploy", "demo:digits", "--out", "out/bundle", "--samples", "8", *extra],
                                  tmp_path, 120)
        assert code == 0, output[-1500:]
    assert (out / ".bundle.old" / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in out.iterdir()) == [".bundle.old", "bundle"]


def test_force_refuses_an_output_holding_a_users_file_and_keeps_it(tmp_path):
    code, output, _ = run_cli(["deploy", "demo:digits", "--out", "bundle", "--samples", "8"], tmp_path, 120)
    assert code == 0, output[-1500:]
    (tmp_path / "bundle" / "notes.txt").write_bytes(b"mine\x00")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text("{}")
    (tmp_path / "report" / "notes.txt").write_bytes(b"mine\x00")
    _refused(tmp_path, ["deploy", "demo:digits", "--out", "bundle", "--samples", "8", "--force"],
             "bundle holds files edgekit did not write (notes.txt)", "move them out", timeout=120)
    _refused(tmp_path, ["plan", "demo:digits", "--out", "report", "--force"],
             "report is not a plan's output folder", "notes.txt", timeout=60)
    for folder in ("bundle", "report"):
        assert (tmp_path / folder / "notes.txt").read_bytes() == b"mine\x00"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing parked or half-built


def test_deploy_under_a_regular_file_is_one_sentence(tmp_path):
    (tmp_path / "some.txt").write_text("notes")
    _refused(tmp_path, ["deploy", "demo:digits", "--out", "some.txt/bundle"], "some.txt", "not a folder")


def test_compress_into_an_unwritable_place_names_the_output(tmp_path):
    _refused(tmp_path, ["compress", "demo:digits", "--method", "fp16", "--out", "/proc/edgekit.onnx"],
             "/proc/edgekit.onnx")


def test_a_300_character_file_name_is_one_sentence(tmp_path):
    name = "m" * 300 + ".onnx"
    _refused(tmp_path, ["info", name], "too long")


def test_verify_on_a_rehashed_manifest_pointing_outside_exits_2(tmp_path, digits_bundle):
    bundle = Path(shutil.copytree(digits_bundle, tmp_path / "b"))
    data = json.loads((bundle / "manifest.json").read_text())
    data["validation"]["file"] = "../../outside.npz"
    rehash(bundle, data)
    _refused(tmp_path, ["verify", "b"], "validation.file")


def test_targets_show_on_a_yaml_with_negative_cores(tmp_path):
    good = (Path(__file__).resolve().parents[2] / "targets" / "raspberry-pi-5.yaml").read_text()
    (tmp_path / "bad.yaml").write_text(good.replace("cores: 4", "cores: -4"))
    _refused(tmp_path, ["targets", "bad.yaml"], "bad.yaml", "cores")


def test_demo_with_negative_fps_is_refused(tmp_path):
    _refused(tmp_path, ["demo", "demo:digits", "--source", "demo", "--fps", "-5"], "fps")


def test_gui_without_a_display_is_one_sentence(tmp_path, monkeypatch):
    pytest.importorskip("PySide6")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    _refused(tmp_path, ["gui"], "display", "xvfb-run edgekit gui")  # and how to run it with no screen
