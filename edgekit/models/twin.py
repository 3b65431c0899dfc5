"""The PyTorch twin of an exported model: ``X.pt`` beside ``X.onnx``, built by the architecture its card names.

Why here, below the backends: the planner's eager baseline and the torch backend itself both run it, so
``edgekit bench demo:digits-mnv2`` measures PyTorch where ``edgekit plan`` does (bench said "no PyTorch
module for this model" while the plan beside it timed the same checkpoint).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from edgekit.errors import ModelLoadError
from edgekit.models.model import Model
from edgekit.types import Format


def torch_twin(model: Model) -> Model | None:
    """The PyTorch version of a model: itself, or ``X.pt`` + card architecture beside ``X.onnx``;
    ``None`` where there is none or PyTorch is not installed.

    Raises:
        ModelLoadError: the checkpoint is there but does not load as the card's architecture (naming it and
            the mismatch: passing over it in silence read as "no PyTorch module for this model").
    """
    if model.format is Format.TORCH:
        return model
    pt = _checkpoint(model)
    if pt is None:
        return None
    from edgekit.models.load import load_model

    card = model.metadata.get("card", {})
    shape = (1, *card["input_size"]) if card.get("input_size") else model.input.concrete_shape(1)
    try:
        return load_model(pt, arch=card["architecture"], arch_kwargs=card.get("arch_kwargs"), input_shape=shape,
                          name=f"{model.name} (PyTorch)")
    except Exception as error:  # a mismatched or unreadable checkpoint
        raise ModelLoadError(f"{pt}, the PyTorch checkpoint beside {model.path.name}, does not load as the "
                             f"card's architecture {card['architecture']!r} ({error}); fix or remove it", path=pt) from error


def runs_in_torch(model: Model) -> bool:
    """Whether the torch backend has something to run for ``model``, told without loading it or PyTorch:
    its ``nn.Module``, a TorchScript file, or a checkpoint beside it (the app ticks torch by this)."""
    return getattr(model, "module", None) is not None or model.format is Format.TORCH or _checkpoint(model) is not None


def _checkpoint(model: Model) -> Path | None:
    """``X.pt`` beside ``X.onnx`` when the card names its architecture and PyTorch is installed, else ``None``
    (nothing wrong with a checkpoint where there is no PyTorch to run it)."""
    card = model.metadata.get("card", {})
    pt = model.path.with_suffix(".pt") if model.path else None
    if not (pt and pt.is_file() and card.get("architecture")):
        return None
    return pt if importlib.util.find_spec("torch") is not None else None
