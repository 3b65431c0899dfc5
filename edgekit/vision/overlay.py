"""Draw the readouts on the frame: top-1 label and confidence, FPS, latency,
accuracy, A/B agreement and a backend/precision badge.

Text is scaled to the frame so it reads the same on a 320x240 webcam frame
and on a 1920x1080 one; frames smaller than ``MIN_HEIGHT`` are enlarged first
(a 64x64 digit with readable text on top would be all text).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from edgekit.models.preprocess import as_bgr
from edgekit.vision.detect import count_text, draw_boxes
from edgekit.vision.readouts import Readouts, StageLatency

MIN_HEIGHT = 240
FONT = cv2.FONT_HERSHEY_SIMPLEX
GREEN, RED, WHITE, YELLOW = (80, 220, 80), (60, 60, 240), (240, 240, 240), (60, 220, 240)
_WIDEST = "FPS 9999.9  inf 999.9ms"  # the longest line that must fit the width


def prepare_canvas(image: np.ndarray, min_height: int = MIN_HEIGHT, out: np.ndarray | None = None) -> np.ndarray:
    """A BGR uint8 copy of ``image`` to draw on, enlarged to ``min_height`` when smaller;
    written into ``out`` when it has that size (a buffer reused frame after frame)."""
    bgr = as_bgr(image)
    h, w = bgr.shape[:2]
    size = (max(1, round(w * min_height / h)), min_height) if h < min_height else (w, h)
    if out is not None and (out.shape != (size[1], size[0], 3) or out.dtype != np.uint8):
        out = None
    if h < min_height:
        return cv2.resize(bgr, size, dst=out, interpolation=cv2.INTER_NEAREST)
    if out is None:
        return bgr.copy()
    np.copyto(out, bgr)
    return out


@functools.lru_cache(maxsize=64)
def text_scale(height: int, width: int) -> tuple[float, int, int]:
    """``(font_scale, thickness, line_height_px)`` for a frame of this size.

    Scales with the height (about 1/24 of it per line) and shrinks when the
    widest line would not fit in 90 % of the width.
    """
    scale = max(0.4, height / 720.0)
    (tw, _), _ = cv2.getTextSize(_WIDEST, FONT, scale, max(1, round(scale * 1.6)))
    if tw > 0.9 * width:
        scale *= 0.9 * width / tw
    thickness = max(1, round(scale * 1.6))
    (_, th), base = cv2.getTextSize("Ag", FONT, scale, thickness)
    return scale, thickness, int((th + base) * 1.35)


def draw_overlay(image: np.ndarray, readouts: Readouts, out: np.ndarray | None = None) -> np.ndarray:
    """Return an annotated copy of ``image`` (never drawn on in place), in ``out`` when it fits."""
    canvas = prepare_canvas(image, out=out)
    h, w = canvas.shape[:2]
    scale, thick, line_h = text_scale(h, w)
    if readouts.detections:  # boxes under the panel, so the readouts stay legible
        draw_boxes(canvas, readouts.detections, h / image.shape[0], scale, thick)
    lines = _lines(readouts)
    margin = max(4, line_h // 4)
    head, head_scale, head_w = fit_head(lines[0][0], scale, thick, w - 2 * margin)
    lines[0] = (head, lines[0][1])
    big_h = int(line_h * head_scale / scale)
    panel_h = min(h, margin * 2 + big_h + line_h * (len(lines) - 1))
    panel_w = min(w, max(head_w, _panel_width(lines[1:], scale, thick)) + 2 * margin)
    roi = canvas[:panel_h, :panel_w]
    _darken(roi)  # behind the text, for contrast on any scene
    y = margin
    for i, (text, colour) in enumerate(lines):
        s, t, step = (head_scale, thick + 1, big_h) if i == 0 else (scale, thick, line_h)
        y += step
        cv2.putText(canvas, text, (margin, y - step // 4), FONT, s, colour, t, cv2.LINE_AA)
    _badge(canvas, readouts.predictor.badge, scale, thick, margin)
    return canvas


def _darken(roi: np.ndarray) -> None:
    """Scale pixels to 35 % in place (OpenCV: ~4x faster than numpy floats, and without the GIL)."""
    cv2.convertScaleAbs(roi, dst=roi, alpha=0.35)


def fit_head(text: str, scale: float, thick: int, room: int) -> tuple[str, float, int]:
    """The first line, its font scale and its width in pixels: 1.5x the others, smaller where that would
    run past ``room`` pixels (down to the others' size), then cut with "~".

    Why: on a portrait or narrow frame "4 person, 1 dining table" ran off the right edge, since the
    scale is fitted to the widest *other* line; the first line is the one a demo's audience reads."""
    big = scale * 1.5
    width = cv2.getTextSize(text, FONT, big, thick + 1)[0][0]
    if width <= room:
        return text, big, width
    size = max(scale, big * room / width)
    while (width := cv2.getTextSize(text, FONT, size, thick + 1)[0][0]) > room and len(text) > 2:
        text = text[:-2] + "~"
    return text, size, width


def _panel_width(lines: list[tuple[str, tuple]], scale: float, thick: int) -> int:
    """The widest of ``lines`` (all but the first, which :func:`fit_head` measured) at ``scale``."""
    return max((cv2.getTextSize(t, FONT, scale, thick)[0][0] for t, _ in lines), default=0)


def _lines(r: Readouts) -> list[tuple[str, tuple]]:
    """Text and colour of each line; the first (top-1) is drawn larger."""
    top = r.top1
    colour = WHITE
    if top and r.truth is not None:
        colour = GREEN if top[0] == r.truth else RED
    head = f"{_short(top[0])} {top[1]:.0%}" if top else "..."
    if r.detections is not None:
        head = count_text(r.detections)  # per-class counts: "3 person, 1 bus"
    if r.truth is not None:
        head += f" (is {_short(r.truth)})"
    lat = r.latency.get("inference", StageLatency())
    e2e = r.latency.get("end_to_end", StageLatency())
    lines = [(head, colour),
             (f"FPS {r.display_fps.ema:.1f}  inf {lat.p50_ms:.1f}ms", WHITE),
             (f"e2e {e2e.p50_ms:.0f}ms  drop {r.dropped}", WHITE)]
    if r.accuracy and r.accuracy.n:
        lines.append((r.accuracy.short() + ("" if r.accuracy.scored else ": labels not model's"), WHITE))
    if r.det_map is not None:  # a labelled detection stream: boxes scored against the truth
        shown = "" if r.det_map.classes is None else f" ({len(r.det_map.classes)} cls)"  # over the shown classes
        lines.append((f"mAP50 {r.det_map.map50:.0%} n={r.det_map.frames}{shown}" if r.det_map.scored
                      else "mAP n/a: classes not model's", WHITE))
    if r.ab:
        lines.append((f"ref {_short(r.ab.last_label or '-')}  agree {r.ab.agreement:.0%}", YELLOW))
    if r.source_error:
        lines.append(("source lost: reopening", RED))
    return lines


def _short(label: str, most: int = 14) -> str:
    """Long class names ("German shepherd dog") would run off a small frame."""
    return label if len(label) <= most else label[: most - 1] + "~"


def _badge(canvas: np.ndarray, text: str, scale: float, thick: int, margin: int) -> None:
    """Backend/device/precision in the bottom-right corner."""
    if not text:
        return
    h, w = canvas.shape[:2]
    s = scale * 0.8
    (tw, th), base = cv2.getTextSize(text, FONT, s, thick)
    if tw + 2 * margin > w:
        s *= (w - 2 * margin) / (tw + 2 * margin)
        (tw, th), base = cv2.getTextSize(text, FONT, s, thick)
    x0, y0 = max(0, w - tw - 2 * margin), max(0, h - th - base - 2 * margin)
    _darken(canvas[y0:h, x0:w])
    cv2.putText(canvas, text, (x0 + margin, h - base - margin), FONT, s, YELLOW, thick, cv2.LINE_AA)
