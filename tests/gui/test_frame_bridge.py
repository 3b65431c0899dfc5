"""The frame bridge (newest item wins, at most one delivery per interval, nothing lost at the end) and the video view."""

from __future__ import annotations

from edgekit_gui.live.bridge import FrameBridge


def test_a_burst_delivers_few_items_prepares_only_those_and_ends_with_the_newest(qtbot):
    prepared: list[int] = []
    bridge = FrameBridge(prepare=lambda n: prepared.append(n) or n * 10, min_interval_ms=40)
    got: list[int] = []
    bridge.delivered.connect(got.append)
    for n in range(200):  # far faster than the GUI takes them
        bridge.post(n)
    qtbot.waitUntil(lambda: bool(got) and got[-1] == 1990, timeout=3000)
    assert got[0] == 0 and len(got) == 2  # the first at once, then the newest after the cool-down
    assert prepared == [0, 199]  # the 198 dropped items were never prepared
    assert bridge.posted == 200 and bridge.dropped == 198


def test_slow_posts_all_arrive_in_order(qtbot):
    bridge = FrameBridge(min_interval_ms=5)
    got: list[int] = []
    bridge.delivered.connect(got.append)
    for n in range(5):
        bridge.post(n)
        qtbot.waitUntil(lambda n=n: bool(got) and got[-1] == n, timeout=2000)
        qtbot.wait(20)
    assert got == [0, 1, 2, 3, 4] and bridge.dropped == 0
    bridge.reset()
    assert bridge.posted == 0


def test_the_video_view_paints_a_fitted_frame_in_its_true_colours(qtbot):
    import numpy as np

    from edgekit_gui.live.video_view import VideoView

    view = VideoView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    frame = np.zeros((60, 80, 3), np.uint8)
    frame[..., 2] = 220  # red in BGR
    fitted = view.fit(frame)
    assert fitted.shape[:2] == (300, 400)
    view.show_frame(fitted, frame)
    colour = view.grab().toImage().pixelColor(200, 150)
    assert (colour.red(), colour.green(), colour.blue()) == (220, 0, 0)
    assert view.current_frame() is not None and view.current_frame().shape == (60, 80, 3)  # snapshots: the original
