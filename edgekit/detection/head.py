"""Which detection head a model has, and everything needed to run it: the ``DetectorSpec``.

The spec is filled, strongest source first, from: explicit arguments, the
model card (``"task": "detection"`` and a ``"detection"`` object beside
``"labels"`` and ``"preprocess"``), the ONNX metadata an exporter wrote
(Ultralytics writes ``task``, ``names``, ``imgsz``, ``stride``), and last the
output shapes themselves (``[1, 4+C, N]`` is Ultralytics; ``[1, N, 5+C]`` is
YOLOX when N is the 8/16/32 grid-cell count, YOLOv5 when it is three times that).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from edgekit.detection.types import DetectionConfig
from edgekit.errors import ModelLoadError
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.types import Task

COCO80: tuple[str, ...] = tuple(
    (Path(__file__).with_name("coco80.txt")).read_text(encoding="utf-8").split("\n")[:80]
)
_CARD_HINT = ('describe it in the model card {card} as {{"task": "detection", "detection": {{"decoder": '
              '"ultralytics|yolov5|yolox|nms", "conf": 0.25, "iou": 0.45}}, "labels": [...]}}')


@dataclass(frozen=True)
class DetectorSpec:
    """A detector's decoder settings, input size, pixel format and class names.

    Attributes:
        config: decoder and thresholds.
        size: model input ``(height, width)``.
        rgb: feed RGB (``False``: BGR, as OpenCV reads).
        scale: pixel multiplier (``1/255`` or 1 for YOLOX's 0..255).
        labels: class names (index = class id); ``None`` when unknown.
        sources: where each value came from (``card``, ``onnx-metadata``, ``shapes``, ``default``).
    """

    config: DetectionConfig
    size: tuple[int, int]
    rgb: bool = True
    scale: float = 1.0 / 255.0
    labels: tuple[str, ...] | None = None
    sources: tuple[tuple[str, str], ...] = ()

    def assumptions(self) -> list[str]:
        """What neither the file nor its card states and the decoder's convention supplies, in words
        (``[]`` when everything is stated): a front end says so rather than run on it silently."""
        src = dict(self.sources)
        found = []
        if src.get("pixels") == "default":
            found.append(f"pixels {'RGB' if self.rgb else 'BGR'} {'0..255' if self.scale == 1.0 else '0..1'} "
                         f"(the {self.config.decoder} convention)")
        if str(src.get("labels", "")).startswith("default"):
            found.append("the 80 COCO class names")
        return found

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"config": self.config.to_dict(), "size": list(self.size), "rgb": self.rgb, "scale": self.scale,
                "labels": None if self.labels is None else list(self.labels), "sources": dict(self.sources)}

    @classmethod
    def from_dict(cls, data: dict) -> DetectorSpec:
        """Inverse of :meth:`to_dict`."""
        labels = data.get("labels")
        return cls(DetectionConfig.from_dict(data["config"]), tuple(data["size"]), bool(data["rgb"]),
                   float(data["scale"]), None if labels is None else tuple(labels),
                   tuple(dict(data.get("sources", {})).items()))


def onnx_metadata(model: Model) -> dict[str, str]:
    """The ONNX ``metadata_props`` of ``model`` (``{}`` for other formats or none)."""
    metadata = getattr(model, "metadata", None) or {}  # a stand-in without metadata has none
    if "onnx_metadata" in metadata:
        return dict(metadata["onnx_metadata"])
    path = getattr(model, "path", None)
    if path is None or Path(path).suffix.lower() != ".onnx" or not Path(path).is_file():
        return {}
    return dict(_read_metadata(str(model.path), model.sha256))


def _read_metadata(path: str, sha: str) -> tuple[tuple[str, str], ...]:
    key = (path, sha)
    if key not in _META_CACHE:
        import onnx

        try:
            proto = onnx.load(path, load_external_data=False)
        except (OSError, ValueError, RuntimeError):  # load_model already reported an unreadable file
            return ()
        _META_CACHE[key] = tuple((p.key, p.value) for p in proto.metadata_props)
    return _META_CACHE[key]


_META_CACHE: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}


def model_task(model: Model) -> Task:
    """``detection`` when the card, the ONNX metadata or the output shapes say so; else ``classification``."""
    # Model.task is classification unless the card says otherwise, so only "detection" there is decisive
    if str(getattr(model, "task", "") or _card(model).get("task", "")).lower() in ("detect", "detection"):
        return Task.DETECTION
    if onnx_metadata(model).get("task", "").lower() in ("detect", "detection"):
        return Task.DETECTION
    return Task.DETECTION if _guess_decoder(model, _meta_names(model)) else Task.CLASSIFICATION


def with_task(model: Model) -> Model:
    """``model`` with ``task`` set to detection when :func:`model_task` finds a detector (the loader
    only reads the card's ``task``; the ONNX metadata and the head shapes are known here)."""
    if model_task(model) == Task.DETECTION and getattr(model, "task", None) != Task.DETECTION:
        return model.replace(task=Task.DETECTION)
    return model


def detector_spec(model: Model, **overrides) -> DetectorSpec:
    """Everything needed to turn ``model``'s outputs into boxes.

    Args:
        model: a loaded model whose outputs are a detection head.
        overrides: :class:`DetectionConfig` fields that win over the card (``conf=0.001``);
            ``None`` values are ignored.

    Raises:
        ModelLoadError: the outputs match no known head and the card names no decoder, or the
            card's ``detection`` object is invalid; the message names the shapes and card fields.
    """
    card, meta = _card(model), onnx_metadata(model)
    names = _labels(model, card, meta)
    sources: dict[str, str] = {"labels": _labels_source(model, card, meta)}
    fields = dict(card.get("detection") or {})
    if not isinstance(card.get("detection", {}), dict):
        raise ModelLoadError(f"the model card of {model.path}: 'detection' must be a JSON object", path=model.path)
    if "decoder" not in fields:
        fields["decoder"] = _guess_decoder(model, len(names) if names else None) or _unknown_head(model)
        sources["decoder"] = "shapes"
    else:
        sources["decoder"] = "card"
    if names is None and head_classes(model, fields["decoder"]) == len(COCO80):
        names, sources["labels"] = COCO80, "default: COCO-80 (80 classes, no names in the file or card)"
    pre = model.preprocess
    yolox = fields["decoder"] == "yolox"
    fields.setdefault("pad", "topleft" if yolox else "center")
    try:
        config = DetectionConfig.from_dict(fields).replace(**overrides)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"the model card of {model.path} has an invalid 'detection' object: {exc}",
                             path=model.path) from exc
    size, sources["size"] = _input_size(model, meta)
    rgb = pre.channel_order == "RGB" if pre is not None else not yolox
    scale = pre.scale if pre is not None else (1.0 if yolox else 1.0 / 255.0)
    sources["pixels"] = "card" if pre is not None else "default"
    return DetectorSpec(config, size, rgb, scale, names, tuple(sources.items()))


def _card(model: Model) -> dict:
    card = (getattr(model, "metadata", None) or {}).get("card", {})  # stand-ins without metadata: no card
    return card if isinstance(card, dict) else {}


def _meta_names(model: Model) -> int | None:
    names = _parse_names(onnx_metadata(model).get("names", ""))
    return len(names) if names else (len(model.labels) if model.labels else None)


def _labels(model: Model, card: dict, meta: dict) -> tuple[str, ...] | None:
    if model.labels:
        return tuple(model.labels)
    names = _parse_names(meta.get("names", ""))
    return tuple(names) if names else None


def _labels_source(model: Model, card: dict, meta: dict) -> str:
    if model.labels:
        return "card"
    return "onnx-metadata" if meta.get("names") else "none"


def _parse_names(text: str) -> list[str]:
    """Ultralytics writes ``{0: 'person', 1: 'bicycle'}`` (a Python literal); JSON lists are accepted too."""
    if not text:
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return []
    if isinstance(value, dict):
        return [str(value[k]) for k in sorted(value, key=int)]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _input_size(model: Model, meta: dict) -> tuple[tuple[int, int], str]:
    shape = model.input.shape
    if len(shape) == 4:
        hw = shape[2:] if shape[1] in (1, 3) else shape[1:3]
        if all(isinstance(d, int) and d > 0 for d in hw):
            return (int(hw[0]), int(hw[1])), "input-shape"
    if meta.get("imgsz"):
        value = ast.literal_eval(meta["imgsz"])
        value = [value, value] if isinstance(value, int) else value
        return (int(value[0]), int(value[1])), "onnx-metadata"
    if model.preprocess is not None:
        return tuple(model.preprocess.size), "card"  # type: ignore[return-value]
    raise ModelLoadError(f"{model.name}: the input {model.input.name} has dynamic height/width and nothing says "
                         f"which size to use; give \"preprocess\": {{\"size\": [640, 640]}} in its model card",
                         path=model.path)


def head_classes(model: Model, decoder: str) -> int | None:
    """Number of classes the output shape implies for ``decoder`` (``None`` when it cannot tell)."""
    shape = model.outputs[0].shape if model.outputs else ()
    dims = [d for d in shape[1:] if isinstance(d, int)]
    if len(shape) != 3 or len(dims) != 2:
        return None
    if decoder == "ultralytics":
        return min(dims) - 4
    return shape[2] - 5 if decoder in ("yolov5", "yolox") else None


def grid_cells(size: tuple[int, int], strides: tuple[int, ...] = (8, 16, 32)) -> int:
    """Number of grid cells over ``strides`` for an input ``size`` (YOLOX rows; YOLOv5 has 3x)."""
    return sum((size[0] // s) * (size[1] // s) for s in strides)


def _guess_decoder(model: Model, classes: int | None) -> str | None:
    """The head named by the output shapes, or ``None`` when they match none."""
    shapes = [tuple(o.shape) for o in model.outputs]
    if len(shapes) >= 2:
        has_boxes = any(len(s) >= 2 and s[-1] == 4 for s in shapes)
        names = " ".join(o.name.lower() for o in model.outputs)
        return "nms" if has_boxes and ("score" in names or "class" in names or "label" in names) else None
    if len(shapes) != 1 or len(shapes[0]) != 3:
        return None
    _, a, b = shapes[0]
    if not (isinstance(a, int) and isinstance(b, int)):
        return None
    if classes and (a == 4 + classes or (b == 4 + classes and a > b)):
        return "ultralytics"
    if b > 5 and a > b and (classes is None or b == 5 + classes):
        grid = _grid_head(model, a)
        if grid:
            return grid
    if b in (6, 7) and a <= 1000:
        return "nms"  # x1, y1, x2, y2, score, class (Ultralytics end2end)
    if 5 <= a < b and (classes is None or a == 4 + classes):
        return "ultralytics"
    return None


def _grid_head(model: Model, rows: int) -> str | None:
    """``yolox`` when ``rows`` is the 8/16/32 grid-cell count of the input, ``yolov5`` at three anchors per cell."""
    try:
        size, _ = _input_size(model, onnx_metadata(model))
    except ModelLoadError:
        return None
    if rows == grid_cells(size):
        return "yolox"
    return "yolov5" if rows == 3 * grid_cells(size) else None


def _unknown_head(model: Model) -> str:
    shapes = ", ".join(f"{o.name} {list(o.shape)}" for o in model.outputs) or "none"
    card = Path(model.path).with_suffix(".json") if model.path is not None else "X.json"
    raise ModelLoadError(
        f"{model.name}: outputs {shapes} match no detection head edgekit knows (Ultralytics [1, 4+C, N], "
        f"YOLOv5 [1, N, 5+C], YOLOX [1, N, 5+C] over 8/16/32 grids, or boxes/scores/classes after NMS); "
        + _CARD_HINT.format(card=card),
        path=model.path,
    )


def as_preprocess(spec: DetectorSpec) -> Preprocess:
    """The nearest classic :class:`~edgekit.models.Preprocess` (a bundle's manifest and sample keep one;
    the detector itself letterboxes with :func:`edgekit.detection.letterboxing.letterbox`)."""
    return Preprocess(size=spec.size, scale=spec.scale, channel_order="RGB" if spec.rgb else "BGR",
                      resize="letterbox")
