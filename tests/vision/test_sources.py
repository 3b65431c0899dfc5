"""Frame sources: what they hand out, and the errors a user gets."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from edgekit.errors import SourceError
from edgekit.vision.sources import (
    ArraySource,
    CameraSource,
    DemoSource,
    FolderSource,
    SyntheticSource,
    VideoSource,
    list_cameras,
    open_source,
)
from edgekit.vision.sources import camera as camera_module


def read_all(source, limit=1000):
    source.open()
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    return frames


def write_video(path, n=12, size=(96, 128)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size[::-1])
    for i in range(n):
        writer.write(np.full((*size, 3), i * 20, np.uint8))
    writer.release()


def test_synthetic_is_deterministic_and_moves():
    a = read_all(SyntheticSource(size=(120, 160), length=5))
    b = read_all(SyntheticSource(size=(120, 160), length=5))
    assert [f.seq for f in a] == list(range(5))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    assert not np.array_equal(a[0].image, a[1].image)
    assert a[0].image.shape == (120, 160, 3) and a[0].label is None
    assert all(a[i].timestamp <= a[i + 1].timestamp for i in range(4))


def test_demo_source_labels_match_the_demo_stream():
    from edgekit.data.demo_stream import DemoStream

    frames = read_all(DemoSource(seed=2, length=40, size=(120, 160), loop=False))
    stream = DemoStream(seed=2, length=40, size=(120, 160))
    assert len(frames) == 40
    for i in (0, 17, 39):
        image, label = stream.frame(i)
        assert np.array_equal(frames[i].image, image) and frames[i].label == stream.classes[label]


def test_folder_source_labels_from_subfolders_and_skips_broken_files(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), np.zeros((20, 30, 3), np.uint8))
    (tmp_path / "dog" / "broken.png").write_bytes(b"not an image")
    cv2.imwrite(str(tmp_path / "loose.png"), np.zeros((20, 30), np.uint8))
    source = FolderSource(tmp_path)
    frames = read_all(source)
    assert sorted(f.label for f in frames if f.label) == ["cat", "dog"]
    assert [f.label for f in frames].count(None) == 1
    assert source.info.classes == ("cat", "dog")
    assert [p.name for p in source.skipped] == ["broken.png"]


def test_empty_or_missing_folder_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="no images"):
        FolderSource(tmp_path).open()
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(tmp_path / "nope").open()


def test_video_source_reads_and_loops(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path)
    frames = read_all(VideoSource(path))
    assert len(frames) == 12 and frames[0].image.shape == (96, 128, 3)
    looped = read_all(VideoSource(path, loop=True), limit=30)
    assert len(looped) == 30
    source = VideoSource(path)
    source.open()
    assert source.info.granted_size == (128, 96) and source.info.granted_fps == pytest.approx(10.0)


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage" * 500, b"RIFF" + bytes(range(256)) * 40])
def test_corrupt_video_is_a_source_error_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(SourceError, match="broken.mp4") as info:
        VideoSource(path).open()
    assert info.value.path == path


def test_missing_video_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        VideoSource(tmp_path / "none.mp4").open()


def test_open_source_parses_specs(tmp_path):
    path = tmp_path / "clip.avi"
    write_video(path)
    assert isinstance(open_source("demo"), DemoSource)
    assert isinstance(open_source("synthetic"), SyntheticSource)
    assert isinstance(open_source("0"), CameraSource) and open_source("0").target == 0
    stream = open_source("rtsp://user:secret@cam.local/live")
    assert isinstance(stream, CameraSource) and "secret" not in stream.name
    assert isinstance(open_source(str(tmp_path)), FolderSource)
    assert isinstance(open_source(str(path)), VideoSource)
    with pytest.raises(SourceError, match="demo, synthetic"):
        open_source(str(tmp_path / "missing.mp4"))


class FakeCapture:
    """The hardware edge: an OpenCV capture that grants 640x480 @ 30 whatever is asked."""

    def __init__(self, opened=True, frames=None):
        self.opened, self.frames, self.released, self.props = opened, frames, False, {}

    def isOpened(self):
        return self.opened

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480, cv2.CAP_PROP_FPS: 30.0}.get(prop, 0)

    def read(self):
        if self.frames is not None:
            if self.frames <= 0:
                return False, None
            self.frames -= 1
        return True, np.zeros((480, 640, 3), np.uint8)

    def release(self):
        self.released = True


def test_camera_reports_requested_and_granted(monkeypatch):
    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture())
    cam = CameraSource(0, width=1920, height=1080, fps=60)
    cam.open()
    assert cam.info.requested_size == (1920, 1080) and cam.info.requested_fps == 60
    assert cam.info.granted_size == (640, 480) and cam.info.granted_fps == 30.0
    assert cam.info.live and cam.read().image.shape == (480, 640, 3)


def test_missing_or_busy_camera_says_what_to_do(monkeypatch):
    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture(opened=False))
    with pytest.raises(SourceError, match="missing, or busy.*--list-cameras"):
        CameraSource(3).open()


def test_unplugged_camera_raises_source_error(monkeypatch):
    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture(frames=1))
    cam = CameraSource(0)
    cam.open()
    cam.read()
    with pytest.raises(SourceError, match="stopped delivering frames"):
        cam.read()


def test_a_stream_that_stops_is_not_told_to_plug_it_back_in(monkeypatch):
    monkeypatch.setattr(camera_module, "_open_capture", lambda target, *a: FakeCapture(frames=0))
    stream = CameraSource("http://127.0.0.1:9/clip.mp4")
    stream.open()
    with pytest.raises(SourceError) as info:
        stream.read()
    assert "gave no frame" in str(info.value) and "VLC/ffplay" in str(info.value)
    assert "plug" not in str(info.value)


def test_ffmpeg_log_lines_are_quiet_for_streams_unless_the_user_asks(monkeypatch):
    """FFmpeg's "partial file" lines printed over the live table at every reopen."""
    for name in ("OPENCV_FFMPEG_LOGLEVEL", "EDGEKIT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    camera_module._open_capture("http://127.0.0.1:9/clip.mp4", timeout_ms=200).release()  # nothing listens
    assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "-8"
    monkeypatch.setenv("OPENCV_FFMPEG_LOGLEVEL", "32")
    camera_module._open_capture("http://127.0.0.1:9/clip.mp4", timeout_ms=200).release()
    assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "32"
    monkeypatch.delenv("OPENCV_FFMPEG_LOGLEVEL")
    monkeypatch.setenv("EDGEKIT_DEBUG", "1")  # debugging: FFmpeg says what it says
    camera_module._open_capture("http://127.0.0.1:9/clip.mp4", timeout_ms=200).release()
    assert "OPENCV_FFMPEG_LOGLEVEL" not in os.environ


def test_list_cameras_finds_device_nodes_only(tmp_path):
    assert list_cameras(dev_dir=str(tmp_path)) == []
    for name in ("video0", "video2", "video-meta", "video12"):
        (tmp_path / name).touch()
    found = list_cameras(max_index=8, dev_dir=str(tmp_path))
    assert [c.index for c in found] == [0, 2]


def test_list_cameras_on_this_machine_returns_a_list():
    assert isinstance(list_cameras(), list)


def test_array_source_checks_its_inputs():
    with pytest.raises(SourceError, match="no images"):
        ArraySource([])
    with pytest.raises(SourceError, match="one label per image"):
        ArraySource([np.zeros((4, 4, 3), np.uint8)], ["a", "b"])


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_image_file_is_a_one_frame_source(tmp_path, suffix):
    """``--source photo.jpg`` played no frame (OpenCV opened it as a video it never rewound)."""
    path = tmp_path / f"photo{suffix}"
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :32] = 200
    cv2.imwrite(str(path), image)
    source = open_source(str(path))
    frames = read_all(source)
    assert len(frames) == 1 and frames[0].image.shape == (48, 64, 3) and frames[0].label is None
    assert abs(int(frames[0].image[0, 0, 0]) - 200) <= 3 and frames[0].image[0, 40, 0] <= 3
    assert source.info.kind == "image" and source.info.length == 1 and source.info.granted_size == (64, 48)
    assert source.info.name == path.name
    looped = read_all(open_source(str(path), loop=True), limit=5)
    assert len(looped) == 5 and all(np.array_equal(f.image, frames[0].image) for f in looped)
    looped[0].image[:] = 0  # each frame's image is its own: drawing on one leaves the next as decoded
    assert np.array_equal(looped[1].image, frames[0].image)


def test_a_looping_image_is_decoded_once(tmp_path, monkeypatch):
    """A looping photo was decoded for every frame (116 ms for a 12 MP JPEG on a busy 2-core Xeon; a copy 12 ms)."""
    from edgekit.vision.sources import files

    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), np.full((48, 64, 3), 120, np.uint8))
    decoded: list[str] = []
    real = files._imread
    monkeypatch.setattr(files, "_imread", lambda p: decoded.append(str(p)) or real(p))
    assert len(read_all(open_source(str(path), loop=True), limit=20)) == 20
    assert decoded == [str(path)]


def test_a_broken_image_file_is_a_source_error_naming_it(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(SourceError, match="broken.jpg cannot be decoded"):
        open_source(str(path)).open()


def test_a_yolo_folder_source_hands_out_each_frames_boxes_in_pixels(tmp_path):
    """``--source coco64`` (images/ + labels/) read every photo as class "images" and never its boxes,
    so a detector's demo had no running mAP on real labelled photos."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.jpg"), np.full((100, 200, 3), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "images" / "b.jpg"), np.full((50, 50, 3), 90, np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("3 0.5 0.5 0.5 0.2\n0 0.25 0.25 0.1 0.1\n")  # b.jpg: no objects
    source = open_source(str(tmp_path))
    frames = read_all(source)
    assert [f.label for f in frames] == [None, None] and source.info.length == 2
    boxes, ids = frames[0].boxes
    np.testing.assert_allclose(boxes, [[50, 40, 150, 60], [40, 20, 60, 30]], atol=1e-4)
    assert ids.tolist() == [3, 0] and frames[1].boxes[0].shape == (0, 4)
    (tmp_path / "labels" / "a.txt").write_text("3 0.5 0.5\n")
    with pytest.raises(SourceError, match="a.txt line 1"):
        open_source(str(tmp_path)).open()


def test_a_voc_folder_and_a_coco_json_are_sources_with_boxes_like_a_yolo_folder(tmp_path):
    """``edgekit eval --data`` read VOC and COCO while ``demo --source`` played a VOC folder as unlabelled
    photos (no running mAP) and refused a COCO ``.json`` as "not a video"."""
    import json

    voc = tmp_path / "voc"
    (voc / "Annotations").mkdir(parents=True)
    (voc / "JPEGImages").mkdir()
    cv2.imwrite(str(voc / "JPEGImages" / "a.jpg"), np.full((100, 200, 3), 90, np.uint8))
    (voc / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name>dog</name><bndbox><xmin>50</xmin><ymin>40</ymin>"
        "<xmax>150</xmax><ymax>60</ymax></bndbox></object></annotation>")
    coco = tmp_path / "coco"
    (coco / "images").mkdir(parents=True)
    cv2.imwrite(str(coco / "images" / "a.jpg"), np.full((100, 200, 3), 90, np.uint8))
    (coco / "val.json").write_text(json.dumps({
        "images": [{"id": 7, "file_name": "a.jpg", "width": 200, "height": 100}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 18, "bbox": [50, 40, 100, 20]}],
        "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]}))
    for spec, classes in ((voc, ("dog",)), (coco / "val.json", ("person", "dog"))):
        source = open_source(str(spec))
        frames = read_all(source)
        assert len(frames) == 1 and source.info.classes == classes
        boxes, ids = frames[0].boxes
        np.testing.assert_allclose(boxes, [[50, 40, 150, 60]], atol=1e-4)
        assert [classes[i] for i in ids] == ["dog"]
    (coco / "broken.json").write_text("{}")
    with pytest.raises(SourceError, match="broken.json is not a COCO json"):
        open_source(str(coco / "broken.json")).open()


def test_a_folder_with_only_an_images_subfolder_is_played_as_photos(tmp_path):
    """Without labels/ nothing is labelled: the photos play, each frame without boxes."""
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.jpg"), np.full((50, 50, 3), 90, np.uint8))
    frames = read_all(open_source(str(tmp_path)))
    assert len(frames) == 1 and frames[0].boxes is None


def test_a_list_of_image_paths_alone_plays_them_unlabelled(tmp_path, monkeypatch):
    """``ls shots/*.jpg > shots.txt`` was refused as a source: "expected 'path,label'"."""
    (tmp_path / "shots").mkdir()
    for name in ("b.png", "a photo.png"):
        cv2.imwrite(str(tmp_path / "shots" / name), np.full((20, 30, 3), 90, np.uint8))
    listing = tmp_path / "shots.txt"
    listing.write_text(f"# my shots\nshots/b.png\n{tmp_path / 'shots' / 'a photo.png'}\nshots/gone.png\n")
    source = open_source(str(listing))
    frames = read_all(source)
    assert [f.label for f in frames] == [None, None] and source.info.length == 2 and source.info.classes is None
    listing.write_text("gone.png\nalso-gone.jpg\n")
    with pytest.raises(SourceError, match="none of the images .*shots.txt lists exists"):
        open_source(str(listing)).open()
    listing.write_text("shots/b.png,cat\nshots/a photo.png,dog\n")  # labelled: the running accuracy's list
    assert [f.label for f in read_all(open_source(str(listing)))] == ["cat", "dog"]


def test_a_stream_that_does_not_open_says_whether_it_was_refused_or_timed_out(monkeypatch):
    """A refused connection fails at once, and was said to have failed "within 5 s"; a server that
    accepts and never answers is the one that times out."""
    import socket
    import threading

    from edgekit.vision.sources import CameraSource

    monkeypatch.setattr(camera_module, "_TIMEOUT_MS", 1000)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(SourceError) as refused:
        CameraSource(f"http://127.0.0.1:{closed}/video.mjpg").open()
    assert "connection was refused" in str(refused.value) and "within" not in str(refused.value)

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    held, stop = [], threading.Event()

    def accept() -> None:  # accept, read nothing, answer nothing
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        with pytest.raises(SourceError) as stalled:
            CameraSource(f"http://127.0.0.1:{silent.getsockname()[1]}/video.mjpg").open()
        assert "nothing answered within 1 s" in str(stalled.value)
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        silent.close()
