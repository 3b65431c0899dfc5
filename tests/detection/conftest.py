"""Tiny detectors built in torch and exported to ONNX, whose right answer is known.

Each head looks at 8x8-pixel cells of a 64x64 input: a cell filled with pure red
is class 0, pure green class 1, and the head says so in the layout of a real
exporter (Ultralytics ``[1, 4+C, N]``, YOLOv5 ``[1, N, 5+C]``, YOLOX raw grid
``[1, N, 5+C]``, or boxes/scores/classes after NMS). The grey letterbox padding
(114) and black background score near 0. Real files in ../shared are used when present.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "detection"
SIZE = 64


def real(*parts: str) -> Path:
    """A file under ../shared/realdata/detection, or skip the test saying what is missing."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party real data, see ../shared/realdata/detection/README.md)")
    return path


def _heads():
    torch = pytest.importorskip("torch", reason="the tiny heads are exported from torch")
    nn = torch.nn

    class Cells(nn.Module):
        """Per-cell class logits at stride 8: 40 x (mean of the class's colour channel - 0.7)."""

        def __init__(self, rgb: bool, scale: float):
            super().__init__()
            self.rgb, self.scale = rgb, scale
            self.pool = nn.AvgPool2d(8)

        def logits(self, x):
            x = x * self.scale
            r, g = (x[:, 0:1], x[:, 1:2]) if self.rgb else (x[:, 2:3], x[:, 1:2])
            return 40 * (self.pool(torch.cat([r, g], 1)) - 0.7)  # [1, 2, 8, 8]

        def cell_boxes(self):
            ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
            return torch.stack([(xs + 0.5) * 8, (ys + 0.5) * 8, torch.full_like(xs, 8.0), torch.full_like(xs, 8.0)])

    class Ultralytics(Cells):
        def forward(self, x):
            cls = torch.sigmoid(self.logits(x)).flatten(2)  # [1, 2, 64]
            return torch.cat([self.cell_boxes().flatten(1)[None].expand(x.shape[0], 4, 64), cls], 1)

    class YoloX(Cells):
        def forward(self, x):
            cls = torch.sigmoid(self.logits(x)).flatten(2).transpose(1, 2)  # [1, 64, 2]
            obj = cls.max(2, keepdim=True).values
            raw = torch.cat([torch.full((1, 64, 2), 0.5), torch.zeros(1, 64, 2), obj, cls], 2)
            rest = torch.cat([torch.zeros(1, 20, 4), torch.zeros(1, 20, 3)], 2)  # strides 16 and 32: nothing
            return torch.cat([raw, rest], 1)  # [1, 84, 7]

    class YoloV5(Cells):
        def forward(self, x):
            cls = torch.sigmoid(self.logits(x)).flatten(2).transpose(1, 2)
            obj = cls.max(2, keepdim=True).values
            rows = torch.cat([self.cell_boxes().flatten(1).T[None], obj, cls / obj.clamp(min=1e-6)], 2)
            rest = torch.zeros(1, 3 * 84 - 64, 7)
            return torch.cat([rows, rest], 1)  # [1, 252, 7]

    class EndsInNms(Cells):
        def forward(self, x):
            cls = torch.sigmoid(self.logits(x)).flatten(2)[0]  # [2, 64]
            scores, classes = cls.max(0)
            b = self.cell_boxes().flatten(1).T
            boxes = torch.cat([b[:, :2] - 4, b[:, :2] + 4], 1)
            return boxes[None], scores[None], classes[None].float()

    return {"ultralytics": (Ultralytics(True, 1 / 255), 1.0 / 255, ["output0"]),
            "yolox": (YoloX(False, 1 / 255), 1.0, ["output"]),
            "yolov5": (YoloV5(True, 1 / 255), 1.0 / 255, ["output0"]),
            "nms": (EndsInNms(True, 1 / 255), 1.0 / 255, ["boxes", "scores", "classes"])}


@pytest.fixture(scope="session")
def tiny_heads(tmp_path_factory) -> dict[str, Path]:
    """``{decoder: path}`` of the four exported tiny heads (inputs 0..255 for YOLOX, 0..1 otherwise)."""
    import torch

    folder = tmp_path_factory.mktemp("heads")
    paths = {}
    for name, (module, scale, outputs) in _heads().items():
        module.scale = 1.0 / (255.0 * scale)  # back to 0..1, whatever the decoder's preprocessing feeds
        path = folder / f"tiny_{name}.onnx"
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(module.eval(), (torch.zeros(1, 3, SIZE, SIZE),), str(path), dynamo=False,
                              opset_version=13, input_names=["images"], output_names=outputs)
        paths[name] = path
    return paths


def scene(width: int = 128, height: int = 96) -> tuple[np.ndarray, dict]:
    """A black BGR image with a red and a green square that land on whole cells after the letterbox
    (ratio 0.5, centred: 8 px of padding on top); returns it and the expected boxes per class."""
    image = np.zeros((height, width, 3), np.uint8)
    image[16:32, 48:64] = (0, 0, 255)  # red   -> input cell x 24..32, y 16..24
    image[64:80, 16:32] = (0, 255, 0)  # green -> input cell x 8..16,  y 40..48
    return image, {0: (48, 16, 64, 32), 1: (16, 64, 32, 80)}
