"""Where ready-to-run model artifacts live, and how a name like ``"demo:digits"`` finds its file.

Two sources:

- ``demo:NAME`` -- models bundled with edgekit in ``assets/models/`` (trained
  by :mod:`edgekit.zoo.train_demo`). In a source checkout that folder sits
  beside the ``edgekit`` package; a wheel installs it under
  ``sys.prefix/share/edgekit/assets/models``.
- ``NAME`` / ``hub:NAME`` -- models from the online catalogue
  (:mod:`edgekit.zoo.catalog`) once ``edgekit pull NAME`` has put them in the
  user cache folder.

Each ``X.onnx`` may have a card ``X.json`` beside it (``preprocess``,
``labels`` and free-form training facts) that ``load_model`` applies.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import ModelLoadError

DEMO_MODELS = ("digits", "digits-mnv2")


def assets_dir(kind: str = "models") -> Path:
    """The bundled ``assets/<kind>`` folder (checkout first, then a wheel's share folder)."""
    import edgekit

    candidates = [
        Path(edgekit.__file__).resolve().parents[1] / "assets" / kind,
        Path(sys.prefix) / "share" / "edgekit" / "assets" / kind,
    ]
    for folder in candidates:
        if folder.is_dir():
            return folder
    return candidates[0]


def cache_dir() -> Path:
    """User cache folder for pulled models (``EDGEKIT_CACHE`` overrides platformdirs)."""
    override = os.environ.get("EDGEKIT_CACHE")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("edgekit")) / "models"


@dataclass(frozen=True)
class Artifact:
    """A model file edgekit can resolve by name.

    Attributes:
        name: the name to pass to ``load_model`` (``"demo:digits"``).
        path: the ONNX file.
        source: ``"bundled"`` or ``"pulled"``.
        card: the sidecar card's contents ({} when there is none).
    """

    name: str
    path: Path
    source: str
    card: dict

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"name": self.name, "path": str(self.path), "source": self.source, "card": self.card}


def read_card(path: str | Path) -> dict:
    """The ``X.json`` card beside model ``X.onnx`` ({} when missing).

    Raises:
        ModelLoadError: the card exists but is not valid JSON.
    """
    card = Path(path).with_suffix(".json")
    if not card.is_file():
        return {}
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"model card {card} is not valid JSON ({exc}); restore it from the repository", path=card
        ) from exc


def resolve(name: str) -> Path:
    """Turn ``"demo:digits"`` (bundled) or a pulled catalogue name into the ONNX file path.

    Raises:
        ModelLoadError: unknown name (with a did-you-mean), a bundled file
            missing (with the command that rebuilds it), or a catalogue model
            not pulled yet (with the ``edgekit pull`` command).

    Example:
        >>> resolve("demo:digits").name
        'digits.onnx'
    """
    if name.startswith("demo:"):
        short = name.split(":", 1)[1]
        if short not in DEMO_MODELS:
            hint = difflib.get_close_matches(short, DEMO_MODELS, n=1)
            extra = (
                f"; did you mean demo:{hint[0]}?"
                if hint
                else f"; known: {', '.join('demo:' + m for m in DEMO_MODELS)}"
            )
            raise ModelLoadError(f"unknown demo model {name!r}{extra}")
        path = assets_dir() / f"{short}.onnx"
        if not path.is_file():
            raise ModelLoadError(
                f"bundled model {path} is missing; rebuild it with: python -m edgekit.zoo.train_demo --out {path.parent}",
                path=path,
            )
        return path
    return _resolve_pulled(name.split(":", 1)[1] if name.startswith("hub:") else name)


def _resolve_pulled(short: str) -> Path:
    from edgekit.zoo.catalog import get_entry

    entry = get_entry(short)
    path = cache_dir() / entry.filename
    if not path.is_file():
        raise ModelLoadError(f"{short} is not downloaded yet; run: edgekit pull {short}", path=path)
    return path


def list_artifacts() -> list[Artifact]:
    """Bundled demo models that are present, then pulled catalogue models in the cache."""
    out = []
    for short in DEMO_MODELS:
        path = assets_dir() / f"{short}.onnx"
        if path.is_file():
            out.append(Artifact(f"demo:{short}", path, "bundled", read_card(path)))
    from edgekit.zoo.catalog import CATALOG

    for entry in CATALOG.values():
        path = cache_dir() / entry.filename
        if path.is_file():
            out.append(Artifact(entry.name, path, "pulled", read_card(path)))
    return out


def load_demo_module(name: str):
    """The PyTorch ``nn.Module`` of a bundled demo model, weights loaded, in eval mode.

    Built from the card's ``architecture`` / ``arch_kwargs`` and the ``X.pt``
    state dict (``torch.load(weights_only=True)``).

    Raises:
        ModelLoadError: no ``.pt`` weights or card beside the ONNX file.
    """
    import torch

    from edgekit.zoo.registry import create_model

    onnx_path = resolve(name if name.startswith("demo:") else f"demo:{name}")
    card, weights = read_card(onnx_path), onnx_path.with_suffix(".pt")
    if not card or not weights.is_file():
        raise ModelLoadError(
            f"{name} has no PyTorch weights/card beside {onnx_path}; re-run train_demo", path=onnx_path
        )
    module = create_model(card["architecture"], **card.get("arch_kwargs", {}))
    module.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return module.eval()
