"""Well-known pretrained ImageNet classifiers that ``edgekit pull NAME`` can fetch.

Every entry comes from the ONNX Model Zoo (github.com/onnx/models, Apache-2.0).
The sha256 and byte sizes are the zoo's own, copied from its
``ONNX_HUB_MANIFEST.json`` (``model_sha`` / ``model_bytes``); the preprocessing
is what each model's README in the zoo describes. Labels: the 1000 ImageNet
class names in index order (``imagenet_classes.txt``, as in pytorch/hub).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from edgekit.errors import ModelLoadError

# Models bundled with edgekit (``demo:NAME``, in ``assets/models``); no download needed.
DEMO_MODELS = ("digits", "digits-mnv2", "digits-det")
DEFAULT_BASE_URL = "https://github.com/onnx/models/raw/main/validated/"
HUB_URL_ENV = "EDGEKIT_HUB_URL"

_IMAGENET = {
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "scale": 1 / 255,
    "channel_order": "RGB",
    "resize": "center_crop",
    "crop_ratio": 0.875,
}


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable model.

    Attributes:
        name: what the user types (``edgekit pull mobilenetv2``).
        title: human name.
        path: path below the hub's base URL.
        sha256: expected hex digest of the file.
        size: expected size in bytes.
        preprocess: ``Preprocess.to_dict()``-style settings.
        input_name: the graph's image input.
        output_kind: ``"logits"`` or ``"softmax"`` (what the output holds).
        notes: anything a user should know.
    """

    name: str
    title: str
    path: str
    sha256: str
    size: int
    preprocess: dict
    input_name: str
    output_kind: str = "logits"
    notes: str = ""
    license: str = "Apache-2.0 (ONNX Model Zoo)"
    extra: dict = field(default_factory=dict)

    @property
    def filename(self) -> str:
        """File name in the cache folder."""
        return Path(self.path).name

    def url(self, base_url: str | None = None) -> str:
        """Full download URL (``base_url`` > ``$EDGEKIT_HUB_URL`` > the ONNX Model Zoo)."""
        base = base_url or os.environ.get(HUB_URL_ENV) or DEFAULT_BASE_URL
        return base.rstrip("/") + "/" + self.path

    def card(self) -> dict:
        """The ``X.json`` card written beside the downloaded file (read by ``load_model``)."""
        return {
            "name": self.name,
            "description": self.title,
            "preprocess": self.preprocess,
            "labels": imagenet_labels(),
            "source": self.url(),
            "sha256": self.sha256,
            "output_kind": self.output_kind,
            "license": self.license,
            "notes": self.notes,
        }

    def to_dict(self) -> dict:
        """JSON-ready dict (without the 1000 labels)."""
        return {
            "name": self.name,
            "title": self.title,
            "url": self.url(),
            "sha256": self.sha256,
            "size": self.size,
            "preprocess": self.preprocess,
            "input_name": self.input_name,
            "output_kind": self.output_kind,
            "notes": self.notes,
            "license": self.license,
        }


def _pp(size: int = 224, layout: str = "NCHW", **overrides) -> dict:
    return {**_IMAGENET, "size": [size, size], "layout": layout, **overrides}


CATALOG: dict[str, CatalogEntry] = {
    e.name: e
    for e in (
        CatalogEntry(
            "mobilenetv2",
            "MobileNetV2 1.0 (ImageNet-1k, 71.8% top-1)",
            "vision/classification/mobilenet/model/mobilenetv2-12.onnx",
            "c0c3f76d93fa3fd6580652a45618618a220fced18babf65774ed169de0432ad5",
            13964571,
            _pp(),
            "input",
        ),
        CatalogEntry(
            "resnet50",
            "ResNet-50 v1 (ImageNet-1k, 74.9% top-1)",
            "vision/classification/resnet/model/resnet50-v1-12.onnx",
            "3f03fdef724b22947eed826f1eef1dc5c34151bb4c37d634f1db89dfa2dd1526",
            102576593,
            _pp(),
            "data",
        ),
        CatalogEntry(
            "squeezenet",
            "SqueezeNet 1.0 (ImageNet-1k, 56.9% top-1)",
            "vision/classification/squeezenet/model/squeezenet1.0-12.onnx",
            "dec81a8684617770b3cf13fadc1d92565d1d453d23935fc6388b792d99c992bd",
            4952956,
            _pp(),
            "data_0",
            output_kind="softmax",
            notes="fixed batch 1; output shape (1, 1000, 1, 1) holds softmax probabilities",
        ),
        CatalogEntry(
            "efficientnet-lite4",
            "EfficientNet-Lite4 (ImageNet-1k, 80.4% top-1)",
            "vision/classification/efficientnet-lite4/model/efficientnet-lite4-11.onnx",
            "d111689907c06eea7c82e4833ddef758da6453b9d4cf60b7e99ca05c7cbd9c12",
            51946641,
            _pp(layout="NHWC", mean=[127 / 255] * 3, std=[128 / 255] * 3),
            "images:0",
            output_kind="softmax",
            notes="NHWC input, (x - 127) / 128; fixed batch 1",
        ),
    )
}


@lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names, index = class id."""
    labels = (Path(__file__).with_name("imagenet_classes.txt")).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in labels if line.strip()]


def get_entry(name: str) -> CatalogEntry:
    """The catalogue entry called ``name`` (``hub:NAME`` too, as ``load_model`` spells it).

    Raises:
        ModelLoadError: unknown name, with a did-you-mean and the list of names.
    """
    name = name.removeprefix("hub:")
    if name in CATALOG:
        return CATALOG[name]
    if name in DEMO_MODELS:  # a bundled model typed without its prefix: point at it, not at the catalogue
        raise ModelLoadError(f"{name!r} is a demo model bundled with edgekit, not a catalogue download; "
                             f"use demo:{name} (no download needed)")
    hint = difflib.get_close_matches(name, CATALOG, n=1)
    extra = f"did you mean {hint[0]!r}? " if hint else ""
    raise ModelLoadError(f"{name!r} is not in the model catalogue; {extra}known: {', '.join(CATALOG)}")


def list_catalog() -> list[CatalogEntry]:
    """Every downloadable model, in catalogue order."""
    return list(CATALOG.values())
