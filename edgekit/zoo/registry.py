"""A timm-style registry of model architectures written here in PyTorch.

``@register_model`` fills a module-level dict when the architectures module
is imported; :func:`list_models` filters it with wildcards and
:func:`create_model` is the one entry point. Importing this module does not
import torch: the architectures are imported on first use.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgekit.errors import BackendUnavailable, ModelLoadError

_ARCH_MODULES = ("edgekit.zoo.archs",)


@dataclass(frozen=True)
class ArchEntry:
    """One registered architecture.

    Attributes:
        name: registry name, e.g. ``"mobilenetv2_tiny"``.
        factory: callable returning an ``nn.Module``.
        input_size: default ``(channels, height, width)``.
        description: one line for ``list_models``.
    """

    name: str
    factory: Callable[..., Any]
    input_size: tuple[int, int, int]
    description: str


_REGISTRY: dict[str, ArchEntry] = {}
_loaded = False


def register_model(
    name: str, *, input_size: tuple[int, int, int], description: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``factory`` under ``name``."""

    def wrap(factory: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = ArchEntry(name, factory, input_size, description or (factory.__doc__ or "").strip().split("\n")[0])
        return factory

    return wrap


def _load() -> None:
    global _loaded
    if _loaded:
        return
    try:
        for module in _ARCH_MODULES:
            importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailable(
            f"the model zoo's architectures need PyTorch ({exc}); install it with: pip install \"edgekit[torch]\""
        ) from exc
    _loaded = True


def list_models(pattern: str = "*") -> list[str]:
    """Names of registered architectures matching a shell-style ``pattern``."""
    _load()
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def get_arch(name: str) -> ArchEntry:
    """Return the entry for ``name``; unknown names get a did-you-mean hint."""
    _load()
    if name not in _REGISTRY:
        hint = difflib.get_close_matches(name, _REGISTRY, n=3)
        extra = f"; did you mean {', '.join(hint)}?" if hint else f"; known: {', '.join(sorted(_REGISTRY))}"
        raise ModelLoadError(f"unknown zoo architecture {name!r}{extra}")
    return _REGISTRY[name]


def create_model(name: str, **kwargs: Any) -> Any:
    """Build the ``nn.Module`` registered as ``name`` (in eval mode, seeded init).

    Args:
        name: registry name (see :func:`list_models`).
        **kwargs: passed to the factory (``num_classes``, ``width_mult``...).

    Example:
        >>> net = create_model("tinycnn", num_classes=10)   # doctest: +SKIP
    """
    import torch

    entry = get_arch(name)
    seed = kwargs.pop("seed", 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = entry.factory(**kwargs)
    return module.eval()
