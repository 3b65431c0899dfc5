"""Latency-vs-accuracy scatter drawn with OpenCV (matplotlib is not a dependency).

Log-scaled latency on x, top-1 on y; valid candidates green, rejected grey,
the chosen one ringed; the latency budget and the accuracy floor as dashed
lines; estimates drawn hollow.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from edgekit._io import atomic_path
from edgekit.types import CandidateStatus as Status

W, H, LEFT, RIGHT, TOP, BOTTOM = 900, 560, 90, 30, 50, 70
_COLORS = {Status.CHOSEN: (40, 160, 40), Status.VALID: (60, 170, 60), Status.REJECTED: (150, 150, 150),
           Status.FAILED: (80, 80, 200)}


def _text(img, s, xy, scale=0.45, color=(30, 30, 30)) -> None:
    cv2.putText(img, s, xy, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def _dashed(img, p0, p1, color) -> None:
    n = max(1, int(math.dist(p0, p1) // 8))
    for i in range(0, n, 2):
        a = (int(p0[0] + (p1[0] - p0[0]) * i / n), int(p0[1] + (p1[1] - p0[1]) * i / n))
        b = (int(p0[0] + (p1[0] - p0[0]) * (i + 1) / n), int(p0[1] + (p1[1] - p0[1]) * (i + 1) / n))
        cv2.line(img, a, b, color, 1, cv2.LINE_AA)


def render(report) -> np.ndarray:
    """The plot as a BGR image."""
    img = np.full((H, W, 3), 255, np.uint8)
    pts = [(c, c.latency_ms, c.accuracy) for c in report.candidates if c.latency_ms and c.accuracy is not None]
    cfg = report.config
    base = max((c.accuracy + (c.drop or 0.0) for c, _, _ in pts), default=1.0)
    floor = base - cfg.get("max_accuracy_drop", 0.01)
    budget = cfg.get("latency_budget_ms")
    xs = [math.log10(x) for _, x, _ in pts] + ([math.log10(budget)] if budget else [])
    ys = [y for _, _, y in pts] + [floor]
    x0, x1 = (min(xs) - 0.1, max(xs) + 0.1) if xs else (0, 1)
    y0, y1 = (min(ys) - 0.01, min(1.0, max(ys) + 0.01)) if ys else (0, 1)
    px = lambda v: int(LEFT + (math.log10(v) - x0) / max(1e-9, x1 - x0) * (W - LEFT - RIGHT))
    py = lambda a: int(H - BOTTOM - (a - y0) / max(1e-9, y1 - y0) * (H - TOP - BOTTOM))
    _axes(img, x0, x1, y0, y1, px, py, report)
    if budget:
        _dashed(img, (px(budget), TOP), (px(budget), H - BOTTOM), (60, 60, 220))
        _text(img, f"budget {budget:g} ms", (px(budget) + 4, TOP + 14), 0.4, (60, 60, 220))
    _dashed(img, (LEFT, py(floor)), (W - RIGHT, py(floor)), (60, 60, 220))
    _text(img, "accuracy floor", (W - RIGHT - 110, py(floor) - 6), 0.4, (60, 60, 220))
    placed: list[tuple[int, int, int, int]] = []
    for c, lat, acc in sorted(pts, key=lambda item: (item[1], -item[2])):
        p, color = (px(lat), py(acc)), _COLORS.get(c.status, (0, 0, 0))
        cv2.circle(img, p, 6, color, 1 if c.is_estimate else -1, cv2.LINE_AA)
        if c.status == Status.CHOSEN:
            cv2.circle(img, p, 11, (20, 120, 20), 2, cv2.LINE_AA)
        _label(img, c.key, p, placed)
    _legend(img)
    return img


def _label(img, text: str, point: tuple[int, int], placed: list) -> None:
    """Put ``text`` beside ``point`` without overlapping earlier labels (stacked, with a leader line)."""
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.38, 1)
    x = point[0] + 9 if point[0] + 9 + w < W - RIGHT else point[0] - 9 - w
    y = point[1] - 7
    while any(x < bx + bw and bx < x + w and y - h < by and by - bh < y for bx, by, bw, bh in placed):
        y += h + 5
    placed.append((x, y, w, h))
    if y != point[1] - 7:
        cv2.line(img, point, (x if x > point[0] else x + w, y - h // 2), (190, 190, 190), 1, cv2.LINE_AA)
    _text(img, text, (x, y), 0.38)


def _legend(img) -> None:
    x, y = W - RIGHT - 300, H - BOTTOM - 16
    for i, status in enumerate(Status):
        cx = x + i * 75
        cv2.circle(img, (cx, y), 5, _COLORS[status], -1, cv2.LINE_AA)
        _text(img, str(status), (cx + 8, y + 4), 0.38)
    _text(img, "hollow = estimate", (x + 75, y - 14), 0.38)


def _axes(img, x0, x1, y0, y1, px, py, report) -> None:
    cv2.rectangle(img, (LEFT, TOP), (W - RIGHT, H - BOTTOM), (0, 0, 0), 1)
    for e in range(math.floor(x0), math.ceil(x1) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** e
            if x0 <= math.log10(v) <= x1:
                x = px(v)
                cv2.line(img, (x, H - BOTTOM), (x, H - BOTTOM + 5), (0, 0, 0), 1)
                _text(img, f"{v:g}", (x - 10, H - BOTTOM + 20), 0.4)
    for i in range(6):
        a = y0 + (y1 - y0) * i / 5
        cv2.line(img, (LEFT - 5, py(a)), (LEFT, py(a)), (0, 0, 0), 1)
        _text(img, f"{100 * a:.1f}%", (LEFT - 62, py(a) + 4), 0.4)
    kind = "estimated" if report.estimated else "measured"
    _text(img, f"latency p50, ms ({kind}, log scale)", (W // 2 - 120, H - 25), 0.5)
    metric = getattr(report, "metric", "top-1")  # mAP@0.5:0.95 for a detector: too long above the axis
    _text(img, metric, (10, TOP - 15) if metric == "top-1" else (10, H - 25), 0.5)
    _text(img, f"{report.model} on {report.target}: chosen {report.best_key}", (LEFT, 30), 0.55)


def save_plot(report, path: str | Path, force: bool = True) -> Path:
    """Write the plot PNG atomically; return its path."""
    path = Path(path)
    ok, buf = cv2.imencode(".png", render(report))
    if not ok:
        raise OSError(f"OpenCV could not encode the plot for {path}")
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(buf.tobytes())
    return path
