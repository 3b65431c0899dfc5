"""The video view: paints the newest annotated frame, scaled to fit with its aspect ratio kept."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def bgr_to_qimage(frame: np.ndarray) -> QImage:
    """Wrap a BGR uint8 ``(H, W, 3)``, BGRA ``(H, W, 4)`` or gray ``(H, W)`` array as a QImage
    without copying pixels. BGRA is Qt's native 32-bit layout: painting it is a plain copy, where
    BGR888 is converted on every paint (on the GUI thread)."""
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    if frame.ndim == 2:
        return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_Grayscale8)
    if frame.shape[2] == 4:
        return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_RGB32)
    return QImage(frame.data, w, h, frame.strides[0], QImage.Format.Format_BGR888)


class VideoView(QWidget):
    """Shows frames given to :meth:`show_frame`; a caption is drawn when there is none yet."""

    def __init__(self, caption: str = "No video", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.label = ""
        self.recording_since: float | None = None  # time.monotonic() when a recording began: draws "● REC"
        self._frame: np.ndarray | None = None
        self._image: QImage | None = None
        self.frames_shown = 0
        self.frames_painted = 0
        self._fit_size = (640, 480)
        # at most one repaint per 16 ms (~60 Hz): faster frames replace each other, newest wins
        self._dirty = False
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(16)
        self._throttle.timeout.connect(self._flush)
        # 180 high at least, not 240: at 1280x720 the column beside the readouts is ~300 px, and with the
        # A/B strip under the video (~80 px) a 240-px minimum left the strip drawn over the picture
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def fit(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` scaled to fit the view (keeping its aspect) as BGRA, for any thread to call.

        The live page calls this on the pipeline's render thread (OpenCV releases the
        GIL), so painting on the GUI thread is a plain copy without scaling.
        """
        import cv2

        from edgekit.models.preprocess import resize_to

        w, h = self._fit_size
        fh, fw = frame.shape[:2]
        scale = min(w / fw, h / fh)
        if scale > 0 and abs(scale - 1.0) >= 0.02:
            size = (max(1, round(fw * scale)), max(1, round(fh * scale)))
            # shrinking: 2x2 means then linear (edgekit's resize_to), 3-12x cheaper than INTER_AREA for an HD
            # source, every frame shown; enlarging: linear
            frame = resize_to(frame, size) if scale < 1 else cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        if frame.ndim == 3 and frame.shape[2] == 3:  # to Qt's native 32-bit layout, here rather than per paint
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
        return frame

    def resizeEvent(self, event) -> None:
        self._fit_size = (max(1, self.width()), max(1, self.height()))
        super().resizeEvent(event)

    def show_frame(self, frame: np.ndarray, original: np.ndarray | None = None) -> None:
        """Show ``frame`` (already fitted, or scaled while painting); ``original`` is what snapshots save."""
        self._image = bgr_to_qimage(frame)
        self._frame = np.ascontiguousarray(frame if original is None else original)
        self.frames_shown += 1
        if self._throttle.isActive():
            self._dirty = True
            return
        self.update()
        self._throttle.start()

    def _flush(self) -> None:
        if self._dirty:
            self._dirty = False
            self.update()
            self._throttle.start()

    def clear(self, caption: str | None = None) -> None:
        """Drop the frame and show ``caption``."""
        self._frame = self._image = None
        if caption is not None:
            self.caption = caption
        self.update()

    def current_frame(self) -> np.ndarray | None:
        """The frame on screen (for snapshots)."""
        return self._frame

    def rec_text(self) -> str:
        """"● REC 0:07" while recording (elapsed since it began), else ""."""
        if self.recording_since is None:
            return ""
        seconds = max(0, int(time.monotonic() - self.recording_since))
        return f"● REC {seconds // 60}:{seconds % 60:02d}"

    def _paint_rec(self, painter: QPainter) -> None:
        """The recording badge, top right, on the video (repainted with every frame)."""
        text = self.rec_text()
        box = QRect(self.width() - 118, 6, 112, 24)
        painter.fillRect(box, QColor(0, 0, 0, 160))
        painter.setPen(QColor("#ff4040"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.frames_painted += 1
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#111214"))
        if self._image is None:
            painter.setPen(QColor("#bbbbbb"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.caption)
        else:
            image = self._image
            if image.width() > self.width() or image.height() > self.height() or (
                    image.width() < self.width() - 2 and image.height() < self.height() - 2):
                size = image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
                target = QRect(0, 0, size.width(), size.height())
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            else:  # already fitted off the GUI thread: a plain blit
                target = QRect(0, 0, image.width(), image.height())
            target.moveCenter(self.rect().center())
            painter.drawImage(target, image)
        if self.recording_since is not None:
            self._paint_rec(painter)
        if self.label:
            painter.setPen(QColor("#ffffff"))
            painter.fillRect(QRect(6, 6, 12 + 8 * len(self.label), 22), QColor(0, 0, 0, 150))
            painter.drawText(QRect(12, 6, 8 * len(self.label), 22), Qt.AlignmentFlag.AlignVCenter, self.label)
        painter.end()
