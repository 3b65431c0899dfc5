"""Models edgekit ships or knows: architectures (PyTorch) and ready artifacts.

- ``list_models`` / ``create_model``: architectures registered in
  :mod:`edgekit.zoo.archs` (needs torch, imported on first use).
"""

from edgekit.zoo.registry import ArchEntry, create_model, get_arch, list_models, register_model

__all__ = ["ArchEntry", "create_model", "get_arch", "list_models", "register_model"]
