"""Names of a package imported on first use (PEP 562), so ``import edgekit`` stays light.

Why: a device that only runs bundles has numpy + onnxruntime; importing a
package must not drag in onnx, torch, OpenVINO or FastAPI because a sibling
module needs them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, table: dict[str, str], submodules: tuple[str, ...] = ()
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    Args:
        package: the package's ``__name__``.
        table: public name -> module defining it. A name the module does not
            define is the module itself (``"errors": "edgekit.errors"``).
        submodules: names of the package's own submodules, imported when first named
            (``edgekit.evaluation.evaluate`` after a bare ``import edgekit``, as the
            README writes it; without this an AttributeError, since nothing had
            imported ``edgekit.evaluation`` yet).

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"load_model": "edgekit.models.load"})  # doctest: +SKIP
    """

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")  # the import sets it on the package
        module_name = table.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value = getattr(module, name, module)
        vars(sys.modules[package])[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table) | set(submodules))

    return __getattr__, __dir__
