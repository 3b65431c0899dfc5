"""Where ready-to-run model artifacts live, and how a name like ``"demo:digits"`` finds its file.

Two sources:

- ``demo:NAME`` -- models bundled with edgekit in ``assets/models/`` (trained
  by ``tools/train_demo.py`` in a source checkout). In a checkout that folder
  sits beside the ``edgekit`` package; a wheel installs it under
  ``sys.prefix/share/edgekit/assets/models``.
- ``NAME`` / ``hub:NAME`` -- models from the online catalogue
  (:mod:`edgekit.zoo.catalog`) once ``edgekit pull NAME`` has put them in the
  user cache folder.

Each ``X.onnx`` may have a card ``X.json`` beside it (``preprocess``,
``labels`` and free-form training facts) that ``load_model`` applies.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from edgekit._assets import assets_dir
from edgekit._io import expand_user
from edgekit.errors import ModelLoadError
from edgekit.zoo.catalog import CATALOG, DEMO_MODELS, get_entry
from edgekit.zoo.registry import create_model

__all__ = ["DEMO_MODELS", "Artifact", "assets_dir", "cache_dir", "is_bundled", "list_artifacts",
           "load_demo_module", "read_card", "resolve"]


def cache_dir() -> Path:
    """User cache folder for pulled models (``EDGEKIT_CACHE`` overrides platformdirs)."""
    override = os.environ.get("EDGEKIT_CACHE")
    if override:
        return expand_user(override)
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
    """The card ``X.json`` beside model ``X.onnx`` / ``X.xml`` / ``X.pt`` (``{}`` when there is none).

    The one reader of cards: :func:`edgekit.models.load_model` applies what it
    returns (see :mod:`edgekit.models.card` for the fields it understands).

    Raises:
        ModelLoadError: the card exists but is not a JSON object.
    """
    path = Path(path)
    card_path = path.with_suffix(".json")
    if not card_path.is_file() or card_path == path:
        return {}
    return read_card_file(card_path)


def read_card_file(card_path: str | Path) -> dict:
    """A model card read from ``card_path`` itself (``--card FILE``), validated like the one beside a model.

    Raises:
        ModelLoadError: missing, not a JSON object, or fields of the wrong type/range.
    """
    card_path = Path(card_path)
    if not card_path.is_file():
        raise ModelLoadError(f"model card {card_path} does not exist; write one with `edgekit card MODEL ... --save`",
                             path=card_path)
    from edgekit.safeyaml import load_json, read_text

    # strict JSON, nesting bounded (a nesting bomb was an "internal error"), size bounded
    card = load_json(read_text(card_path, ModelLoadError, what="model card"), path=card_path, error=ModelLoadError)
    if not isinstance(card, dict):
        raise ModelLoadError(f"model card {card_path} must hold a JSON object; fix or remove it", path=card_path)
    from edgekit._schema import CardSchema, validate

    validate(CardSchema, card, where=f"model card {card_path}", error=ModelLoadError, fix="fix or remove it",
             path=card_path)  # types and ranges: a size of [0, 0] was an internal error
    return card


def is_bundled(name: str) -> bool:
    """True for names of models that ship with edgekit (``demo:NAME``): nothing to download."""
    return name.startswith("demo:")


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
    if is_bundled(name):
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
                f"bundled model {path} is missing; reinstall edgekit, or in a source checkout rebuild it with: "
                f"python tools/{'train_digits_det' if short == 'digits-det' else 'train_demo'}.py --out {path.parent}",
                path=path,
            )
        return path
    return _resolve_pulled(name.split(":", 1)[1] if name.startswith("hub:") else name)


def _resolve_pulled(short: str) -> Path:
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

    onnx_path = resolve(name if name.startswith("demo:") else f"demo:{name}")
    card, weights = read_card(onnx_path), onnx_path.with_suffix(".pt")
    if not card or not weights.is_file():
        raise ModelLoadError(
            f"{name} has no PyTorch weights/card beside {onnx_path}; reinstall edgekit, or in a source checkout "
            "re-run tools/train_demo.py", path=onnx_path
        )
    module = create_model(card["architecture"], **card.get("arch_kwargs", {}))
    module.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return module.eval()
