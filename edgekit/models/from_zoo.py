"""A zoo architecture as an ONNX ``Model`` that still carries its PyTorch module.

Why: a benchmark or parity check of "every backend" needs the same network as
an ONNX file (for onnxruntime/OpenVINO) and as the original module (the torch
eager reference). Used by ``edgekit bench zoo:NAME``, the benchmark scripts
and the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.models import convert, load_model
from edgekit.zoo import create_model, get_arch


def zoo_onnx_model(
    name: str,
    out_dir: str | Path,
    input_size: tuple[int, int] | None = None,
    force: bool = False,
    **arch_kwargs: Any,
) -> Any:
    """Build zoo architecture ``name``, export it to ``out_dir/<name>.onnx``, keep the module.

    Args:
        name: zoo name ("tinycnn", "mobilenetv2_tiny", "mobilenetv2").
        out_dir: folder for the ONNX file (and its card).
        input_size: ``(height, width)``; ``None`` = the zoo default.
        force: replace an existing file.
        **arch_kwargs: passed to the architecture (``num_classes``...).

    Returns:
        The ONNX :class:`~edgekit.models.Model` with ``module`` set.
    """
    channels, height, width = get_arch(name).input_size
    if input_size is not None:
        height, width = input_size
    module = create_model(name, **arch_kwargs)
    source = load_model(module, input_shape=(1, channels, height, width), name=name)
    onnx_model, _ = convert(source, "onnx", Path(out_dir) / f"{name}.onnx", force=force)
    return onnx_model.replace(module=module, flops=onnx_model.flops or source.flops)
