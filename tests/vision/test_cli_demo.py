"""``edgekit demo`` end to end: video that plays back, stats with FPS and accuracy."""

from __future__ import annotations

import json
import time

import cv2
import pytest

from edgekit.cli import main


def frames_in(path) -> int:
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count


def demo_model_installed() -> bool:
    from edgekit.errors import ModelLoadError
    from edgekit.zoo.hub import resolve

    try:
        return resolve("demo:digits").is_file()
    except ModelLoadError:
        return False


def test_demo_records_video_and_stats(tmp_path, tiny_path):
    video, stats_path = tmp_path / "x.mp4", tmp_path / "s.json"
    real = demo_model_installed()  # the README's command; the tiny model when demo:digits is not built
    model = [] if real else ["--model", tiny_path]
    code = main(["demo", *model, "--seconds", "3", "--record", str(video), "--json", str(stats_path)])
    assert code == 0
    stats = json.loads(stats_path.read_text())
    readouts = stats["readouts"]
    assert readouts["display_fps"]["ema"] > 0 and readouts["inference_fps"]["window"] > 0
    assert readouts["accuracy"]["n"] > 0 and 0.0 <= readouts["accuracy"]["accuracy"] <= 1.0
    assert stats["metrics"]["n"] == readouts["accuracy"]["n"]
    assert stats["record"]["frames"] > 0
    assert frames_in(video) == stats["record"]["frames"]
    assert not list(tmp_path.glob(".*partial*"))
    if real:  # the bundled model reads the labelled demo stream well
        assert readouts["accuracy"]["accuracy"] > 0.9 and stats["settings"]["model"] == "demo:digits"


def test_demo_with_compare_reports_agreement(tmp_path, tiny_path):
    stats_path = tmp_path / "ab.json"
    assert main(["demo", "--model", tiny_path, "--compare", tiny_path, "--every", "3", "--seconds", "2",
                 "--json", str(stats_path)]) == 0
    ab = json.loads(stats_path.read_text())["readouts"]["ab"]
    assert ab["every"] == 3 and ab["compared"] > 0 and ab["agreement"] == 1.0


def test_demo_never_overwrites_outputs(tmp_path, tiny_path, capsys):
    existing = tmp_path / "keep.json"
    existing.write_text("mine")
    assert main(["demo", "--model", tiny_path, "--seconds", "1", "--json", str(existing)]) == 2
    assert existing.read_text() == "mine" and "--force" in capsys.readouterr().err


def test_demo_with_a_corrupt_video_is_one_clear_error(tmp_path, tiny_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    assert main(["demo", "--model", tiny_path, "--source", str(bad), "--seconds", "1"]) == 2
    assert "bad.mp4" in capsys.readouterr().err


def test_a_stream_that_never_gives_a_frame_is_an_error_saying_why(tiny_path, capsys, monkeypatch):
    """An MP4 served without range requests opens and never gives a frame: a table of zeros
    that 'ended at 0.0 s' was printed and the run exited 0."""
    from edgekit.vision.sources import camera as camera_module

    from .test_sources import FakeCapture

    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture(frames=0))
    url = "http://127.0.0.1:9/clip.mp4"
    assert main(["demo", "--model", tiny_path, "--source", url, "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert f"no frame came from {url} in 1 s" in err and "reopen(s)" in err and "range requests" in err
    assert "keeps trying" not in err  # it has stopped trying


def test_window_without_display_runs_headless_with_a_message(tmp_path, tiny_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["demo", "--model", tiny_path, "--seconds", "1", "--window", "--source", "synthetic"]) == 0
    err = capsys.readouterr().err
    assert "--window" in err and "headless" in err


@pytest.mark.parametrize("spec", ["synthetic"])
def test_demo_on_an_unlabelled_source_says_so(tiny_path, capsys, spec):
    assert main(["demo", "--model", tiny_path, "--seconds", "1", "--source", spec]) == 0
    assert "no labels" in capsys.readouterr().out


def test_demo_takes_the_model_as_an_argument_like_every_other_command(tmp_path, tiny_path, capsys):
    stats_path = tmp_path / "s.json"
    assert main(["demo", tiny_path, "--seconds", "1", "--source", "synthetic", "--json", str(stats_path)]) == 0
    assert json.loads(stats_path.read_text())["readouts"]["frames_inferred"] > 0
    capsys.readouterr()
    assert main(["demo", tiny_path, "--model", "other.onnx", "--seconds", "1"]) == 2
    assert "two models given" in capsys.readouterr().err


def test_a_headless_run_says_what_it_saw_and_when_the_source_ended_first(tmp_path, tiny_path, capsys):
    """No window: the summary names the labels shown most (the overlay was the only place), and a
    source that ends before --seconds says so (a 10 s run stopped at 0.5 s without a word)."""
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    stats_path = tmp_path / "s.json"
    assert main(["demo", "--model", tiny_path, "--source", str(folder), "--seconds", "30",
                 "--json", str(stats_path)]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    seen = json.loads(stats_path.read_text())["seen"]
    assert seen["frames"] == 6 and sum(n for _, n in seen["labels"]) == 6  # one top-1 per frame shown
    label, count = seen["labels"][0]
    shown = f'"{label}"' if label.isdigit() else label  # a class named by a number is quoted
    assert f"top-1 over frames: {shown} {100 * count / 6:.0f}%" in text
    assert "the source ended before --seconds 30" in text


def test_a_run_that_ends_before_its_file_does_says_how_far_it_got_and_how_to_play_it_all(tmp_path, tiny_path, capsys):
    """A 129-frame video at 8 frames/s stopped at frame 122 after the default 15 s; its summary (and
    its --record video, 7 frames short) said nothing of the frames never shown."""
    import re

    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        cv2.imwrite(str(folder / f"{i:02d}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    assert main(["demo", "--model", tiny_path, "--source", str(folder), "--fps", "10", "--seconds", "1"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    said = re.search(r"--seconds 1 ended it at frame (\d+) of the 40 in frames; -t (\d+) plays them all", text)
    assert said, text
    assert 0 < int(said[1]) < 40 and int(said[2]) >= 4  # 40 frames at 10 a second: 4 s at least


def test_the_window_shows_the_newest_frame_drawn_with_its_readouts(tiny_session, monkeypatch):
    """``--window`` with a display (the window itself is the hardware edge): it repaints the
    pipeline's newest frame with its overlay, drawing a frame only when a newer one came."""
    import numpy as np

    from edgekit.vision import ArraySource, LivePipeline, demo

    shown = []

    def show(pipe, frame):  # cv2.imshow + waitKey(15)
        shown.append(frame.copy())
        time.sleep(0.015)
        return len(shown) < 5  # then the user presses q

    monkeypatch.setattr(demo, "_show", show)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    images = [np.full((480, 640, 3), 40 * i, np.uint8) for i in range(4)]
    with LivePipeline(ArraySource(images, loop=True), tiny_session) as pipe:
        demo._loop(pipe, 10.0, True, None)
        drawn = pipe.frames_drawn
    assert len(shown) == 5 and all(f.shape == (480, 640, 3) for f in shown)
    assert not any(np.array_equal(f, im) for f in shown for im in images)  # each with its overlay
    assert 1 <= drawn <= 5  # one overlay per repaint at most, never per frame inferred


def test_a_run_shorter_than_the_fps_window_reports_frames_over_its_length(tmp_path, tiny_path, capsys):
    """A 0.5 s run printed windowed rates with "shown 551.7" above "capture 550.1" (slopes over
    slightly different spans) under "avg of last 5 s": a run shorter than the window reports its
    own counts over its length, so shown never reads above captured."""
    import re

    stats_path = tmp_path / "s.json"
    assert main(["demo", "--model", tiny_path, "--seconds", "0.5", "--json", str(stats_path)]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    found = re.search(r"FPS \(frames / [\d.]+ s run\) capture ([\d.]+) \| inference ([\d.]+) \| shown ([\d.]+)", text)
    assert found, text
    capture, inferred, shown = map(float, found.groups())
    assert capture >= inferred >= shown > 0
    r = json.loads(stats_path.read_text())["readouts"]
    assert shown == pytest.approx(r["frames_displayed"] / r["elapsed_s"], abs=0.05)


def test_a_detectors_live_line_fits_an_80_column_terminal(monkeypatch):
    """The running line of ``edgekit demo`` on a detector (FPS, latencies, drops, objects, mAP) ran past
    80 columns and wrapped: the live area was redrawn on two rows."""
    import io
    import re

    from rich.console import Console

    from edgekit.cli import _console

    terminal = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(_console, "console", terminal)
    assert main(["demo", "demo:digits-det", "--seconds", "3"]) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.file.getvalue())
    lines = [line for line in re.split(r"[\r\n]", text) if "FPS shown" in line]
    assert lines, text[-2000:]
    for line in lines:
        assert len(line.rstrip()) <= 80, line
        assert re.search(r"\d+ objects?", line) and "mAP@.5" in line, line  # what a detector demo is watched for


def test_demo_says_why_it_cannot_score_a_model_of_other_classes(tmp_path, tiny_path, capsys, monkeypatch):
    """The default source is the labelled digit stream; a model of other classes (here the tiny
    model relabelled) is not "0.0% accurate" on it: the summary says its frames cannot be scored."""
    monkeypatch.setenv("COLUMNS", "400")  # the summary's cells unwrapped
    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(f"class {i}" for i in range(10)) + "\n")
    stats_path = tmp_path / "s.json"
    assert main(["demo", "--model", tiny_path, "--labels", str(labels), "--seconds", "1.5",
                 "--json", str(stats_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    accuracy = json.loads(stats_path.read_text())["readouts"]["accuracy"]
    assert accuracy["n"] > 0 and accuracy["unknown"] == accuracy["n"]
    assert "not scored" in out and "none of this model's 10 classes" in out and "0.0%" not in out


def _digit_list(folder, count: int, names: bool):
    """``count`` held-out digit scans as PNGs and a path,label CSV (class names, or output indices)."""
    import cv2

    from edgekit.data import demo_digits

    data = demo_digits("test")
    (folder / "img").mkdir(parents=True)
    rows = ["path,label"]
    for i in range(count):
        image, label = data[i]
        cv2.imwrite(str(folder / "img" / f"{i}.png"), image)
        rows.append(f"img/{i}.png,{data.classes[label] if names else label}")
    (folder / "list.csv").write_text("\n".join(rows) + "\n")
    return folder / "list.csv"


@pytest.mark.parametrize("names", [False, True])
def test_demo_on_a_path_label_list_scores_the_same_as_eval(tmp_path, capsys, names):
    """`edgekit demo MODEL --source list.csv` said "not a video or an image (a .csv file)": a user's
    labelled photos listed as `edgekit eval --data` takes them now play as labelled frames, and the
    running accuracy is eval's on the same list."""
    listing = _digit_list(tmp_path, 24, names)
    stats_path = tmp_path / "stats.json"
    assert main(["demo", "demo:digits", "--source", str(listing), "--seconds", "30", "--json", str(stats_path)]) == 0
    accuracy = json.loads(stats_path.read_text())["readouts"]["accuracy"]
    capsys.readouterr()
    assert main(["eval", "demo:digits", "--data", str(listing), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)["metrics"]
    assert accuracy["n"] == 24 == evaluated["n"]
    assert accuracy["correct"] == round(evaluated["accuracy"] * 24)


def test_a_broken_list_is_a_source_error_naming_the_row(tmp_path):
    from edgekit.errors import SourceError
    from edgekit.vision.sources import ListSource, open_source

    listing = _digit_list(tmp_path, 3, names=True)
    assert isinstance(open_source(str(listing)), ListSource)
    listing.write_text("path,label\nimg/0.png,7\nimg/1.png\n")
    with pytest.raises(SourceError, match="line 3"):
        open_source(str(listing)).open()


def test_a_broken_source_file_is_said_before_the_model_is_compiled(tmp_path, capsys, monkeypatch):
    """A list with a broken row was reported only after the model was compiled and its live workers
    measured (seconds for a large model); a file source is opened once first."""
    import edgekit.vision.config as live_config

    def compiled(*args, **kwargs):
        raise AssertionError("the model was compiled before the source was checked")

    monkeypatch.setattr(live_config, "compile_sessions", compiled)
    listing = tmp_path / "bad.csv"
    listing.write_text("path,label\nimg/0.png,7\nimg/1.png\n")
    assert main(["demo", "demo:digits", "--source", str(listing), "--seconds", "1"]) == 2
    assert "bad.csv, line 3" in capsys.readouterr().err
    broken = tmp_path / "clip.mp4"
    broken.write_bytes(b"\x00" * 64)
    assert main(["demo", "demo:digits", "--source", str(broken), "--seconds", "1", "--fps", "30"]) == 2  # paced too
    assert "clip.mp4" in capsys.readouterr().err


def test_a_file_source_is_read_once_per_run(tmp_path, tiny_path, monkeypatch):
    """The run opens a folder, a photo or a video first to check it before compiling, and the pipeline
    then opened it again: a large folder listed, a big photo decoded, a COCO json parsed twice."""
    import numpy as np

    from edgekit.vision.sources import files

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((40, 40, 3), 60 * i, np.uint8))
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (40, 40))
    for i in range(5):
        writer.write(np.full((40, 40, 3), 40 * i, np.uint8))
    writer.release()
    listed, captured = [], []
    real_open, real_capture = files.FolderSource._open, files.cv2.VideoCapture
    monkeypatch.setattr(files.FolderSource, "_open", lambda self: (listed.append(self.path), real_open(self))[1])
    monkeypatch.setattr(files.cv2, "VideoCapture", lambda *a: (captured.append(a), real_capture(*a))[1])
    for source in (folder, video):
        assert main(["demo", "--model", tiny_path, "--source", str(source), "--seconds", "2"]) == 0
    assert listed == [folder] and len(captured) == 1


def test_a_folder_whose_images_do_not_decode_is_an_error_and_one_bad_file_is_named(tmp_path, tiny_path, capsys):
    """A folder where nothing decodes printed a table of zeros ending in "no labels" and exited 0."""
    from pathlib import Path

    import numpy as np

    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (folder / name).write_bytes(b"not an image")
    assert main(["demo", "--model", tiny_path, "--source", str(folder), "--seconds", "5"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "none of the 2 image(s) of" in err and "could be decoded (a.jpg, b.jpg)" in err
    cv2.imwrite(str(folder / "c.png"), np.full((40, 40, 3), 90, np.uint8))
    stats_path = tmp_path / "stats.json"
    assert main(["demo", "--model", tiny_path, "--source", str(folder), "--seconds", "5",
                 "--json", str(stats_path)]) == 0
    stats = json.loads(stats_path.read_text())
    assert stats["readouts"]["frames_captured"] == 1
    assert [Path(f).name for f in stats["skipped_files"]] == ["a.jpg", "b.jpg"]
    assert "Skipped" in capsys.readouterr().out


def test_the_seen_row_is_left_out_when_no_class_stands_out():
    """On 500 distinct ImageNet photos it read "top-1 over frames: pier <1%, sea lion <1%, ..."."""
    from edgekit.cli.demo import _seen_text

    video = {"frames": 300, "labels": [["water bottle", 216], ["soap dispenser", 36]]}
    assert _seen_text(video, detector=False) == "top-1 over frames: water bottle 72%, soap dispenser 12%"
    photos = {"frames": 500, "labels": [["pier", 4], ["sea lion", 3], ["thunder snake", 3]]}
    assert _seen_text(photos, detector=False) == ""
    few = {"frames": 5, "labels": [["pier", 1], ["sea lion", 1]]}  # a short run: each of 5 frames counts
    assert _seen_text(few, detector=False) == "top-1 over frames: pier 20%, sea lion 20%"
