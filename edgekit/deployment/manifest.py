"""``manifest.json``: what a bundle holds, how to run it and what it promises.

The manifest lists the sha256 and size of every other file in the bundle, so a
device can refuse a bundle that was modified, truncated or extended. The
manifest cannot list its own hash; ``manifest.sha256`` beside it holds that, so
an accidental edit or a flipped byte in the manifest is caught as well. Neither
is a signature: someone who edits the manifest on purpose can recompute both,
which is why ``edgekit verify`` re-measures the promises instead of trusting them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import BundleError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"


@dataclass(frozen=True)
class Tolerance:
    """How far ``edgekit verify`` may find a device from the manifest's promise.

    Attributes:
        accuracy: largest allowed drop of top-1 accuracy on the packaged sample (absolute).
        agreement: largest allowed share of sample images whose top-1 differs
            from the one recorded when the bundle was made.
        latency_factor: measured p50 latency may be at most this times the promise...
        latency_slack_ms: ...plus this many milliseconds (timers are coarse at ~0.1 ms).
    """

    accuracy: float = 0.02
    agreement: float = 0.02
    latency_factor: float = 2.0
    latency_slack_ms: float = 0.5


@dataclass(frozen=True)
class Manifest:
    """Everything a device needs to know about a bundle (``manifest.json``).

    Attributes:
        name: model name (``"demo:digits"``).
        format: ``"onnx"`` or ``"openvino"``.
        model_file: bundle-relative path of the main model file.
        inputs / outputs: ``TensorSpec.to_dict()`` of each tensor.
        preprocess: ``Preprocess.to_dict()``; ``None`` for non-image models.
        labels: class names (index = class id).
        output_kind: ``"logits"`` (softmax applied for scores) or ``"probabilities"``.
        task: what the outputs mean (``"classification"``; the model card's ``task``).
            A device dispatches on it; bundles made before it existed are classification.
        detection: for detectors, ``DetectorSpec.to_dict()``: decoder, thresholds, letterbox, input size.
        backends: ``[{"backend", "precision"}, ...]`` in order of preference;
            the first is the chosen one, the rest are allowed fallbacks.
        device: device the plan chose (``"cpu"``).
        precision: precision the model file is stored in.
        runtime: threads / streams / performance hint the plan chose.
        figures: plan figures: ``latency_ms``, ``throughput_fps``, ``source``
            (``"measured"`` or ``"estimated"``), ``measured_on``.
        accuracy: top-1 on the plan's validation data (``None`` when unknown).
        validation: ``{"file", "report", "samples", "accuracy", "latency_ms"}``
            for the packaged sample that ``edgekit verify`` re-runs.
        tolerance: see :class:`Tolerance`.
        target: target name the bundle was planned for.
        files: ``{relpath: {"sha256", "size"}}`` of every file except the manifest.
        schema_version / edgekit_version / created: provenance.
    """

    name: str
    format: str
    model_file: str
    inputs: tuple[dict, ...]
    outputs: tuple[dict, ...]
    backends: tuple[dict, ...]
    files: dict[str, dict]
    preprocess: dict | None = None
    labels: tuple[str, ...] | None = None
    output_kind: str = "logits"
    task: str = "classification"
    detection: dict | None = None
    device: str = "cpu"
    precision: str = "fp32"
    runtime: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    accuracy: float | None = None
    validation: dict = field(default_factory=dict)
    tolerance: Tolerance = Tolerance()
    target: str = "local"
    schema_version: int = SCHEMA_VERSION
    edgekit_version: str = ""
    created: str = ""

    @property
    def backend(self) -> str:
        """The preferred backend."""
        return self.backends[0]["backend"]

    @property
    def serve_name(self) -> str:
        """The name used in URLs and Triton repositories (``demo:digits`` -> ``demo_digits``)."""
        return safe_name(self.name)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        for key in ("inputs", "outputs", "backends"):
            data[key] = list(data[key])
        data["labels"] = None if self.labels is None else list(self.labels)
        return data

    def to_json(self) -> str:
        """Indented JSON text, keys sorted so the digest is stable."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict, where: str | Path = MANIFEST) -> Manifest:
        """Inverse of :meth:`to_dict`, checking the schema version, then every field's type and range.

        Raises:
            BundleError: a newer or unknown schema, or a field of the wrong type, range or path
                (naming ``where``, the field path and the fix).
        """
        from edgekit.deployment.manifest_schema import check

        check_schema(data)
        data = dict(check(data, where))  # types, ranges, enums, path syntax; unknown keys warned and dropped
        try:
            data["tolerance"] = Tolerance(**data.get("tolerance", {}))
            for key in ("inputs", "outputs", "backends"):
                data[key] = tuple(data[key])
            if data.get("labels") is not None:
                data["labels"] = tuple(data["labels"])
            return cls(**data)
        except (TypeError, KeyError) as exc:
            raise BundleError(f"{MANIFEST} is malformed ({exc}); re-create the bundle with edgekit deploy") from exc

    @classmethod
    def read(cls, folder: str | Path) -> Manifest:
        """Read ``folder/manifest.json`` (no checksum checks; see :mod:`edgekit.deployment.verify`)."""
        from edgekit.deployment.manifest_schema import check_inside
        from edgekit.safeyaml import load_json, read_text

        path = Path(folder) / MANIFEST
        if not path.is_file():
            raise BundleError(f"{folder} is not a bundle: {MANIFEST} is missing", path=folder)
        data = load_json(read_text(path, BundleError, what="bundle manifest"), path=path, error=BundleError)
        if not isinstance(data, dict):
            raise BundleError(f"{path} does not hold a JSON object; re-create the bundle", path=path)
        manifest = cls.from_dict(data, where=path)
        check_inside(manifest, folder, where=path)  # after realpath: no symlinked folder leads out
        return manifest


def check_schema(data: dict) -> None:
    """Refuse manifests from a newer edgekit or without a schema version."""
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{MANIFEST} has no integer schema_version; it was not written by edgekit deploy")
    if version > SCHEMA_VERSION:
        raise BundleError(
            f"bundle schema version {version} is newer than this edgekit understands ({SCHEMA_VERSION}); "
            "upgrade edgekit on the device (pip install -U edgekit)"
        )
    if version < 1:
        raise BundleError(f"bundle schema version {version} is not valid; re-create the bundle")


def safe_name(name: str) -> str:
    """A name safe for a URL segment and a folder: letters, digits, ``_ . -``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "model"
    return cleaned[:64]


def file_entry(path: Path) -> dict[str, Any]:
    """``{"sha256", "size"}`` of one file."""
    from edgekit._io import sha256_file

    return {"sha256": sha256_file(path), "size": path.stat().st_size}
