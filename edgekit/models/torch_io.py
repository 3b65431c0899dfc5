"""PyTorch sources: an ``nn.Module``, a TorchScript file, or a weights-only checkpoint.

Why ``weights_only=True`` and nothing else: a ``.pt`` file is a pickle, and
a pickle can run any code when loaded. edgekit loads tensors and plain
containers only; a checkpoint holding a whole pickled model is refused with
the way to re-save it, never unpickled. ``torch`` itself (an optional extra)
is imported only when a PyTorch source is loaded, so this module is cheap to import.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

from edgekit._io import sha256_file
from edgekit.errors import BackendUnavailable, ModelLoadError
from edgekit.models._probe import probe_output
from edgekit.models.model import Model
from edgekit.models.onnx_io import sniff
from edgekit.models.spec import TensorSpec, guess_layout
from edgekit.types import Format
from edgekit.zoo import create_model, get_arch

_STATE_KEYS = ("state_dict", "model_state_dict", "model", "weights")


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailable(
            'PyTorch models need torch; install it with: pip install "edgekit[torch]"'
        ) from exc
    return torch


def load_module(module: Any, *, name: str, input_shape=None, arch=None, arch_kwargs=None, **_: Any) -> Model:
    """Describe an in-memory ``nn.Module`` (kept in ``Model.module``, in eval mode).

    Raises:
        ModelLoadError: not a module, or no input shape known.
    """
    torch = _torch()
    if not isinstance(module, (torch.nn.Module, torch.jit.ScriptModule)):
        raise ModelLoadError(
            f"cannot load a {type(module).__name__}: pass a model file path, a hub name or a torch.nn.Module"
        )
    shape = _input_shape(input_shape, arch, name)
    return _describe(module.eval(), shape, name=name, path=None, digest=_state_digest(module))


def load_file(path: Path, *, name: str, input_shape=None, arch=None, arch_kwargs=None) -> Model:
    """Load a TorchScript archive or a weights-only checkpoint (+ zoo ``arch``)."""
    sniff(path, kind="PyTorch file")
    torch = _torch()
    if _is_torchscript(path):
        try:
            with warnings.catch_warnings():  # "torch.jit.load is deprecated": still the way to read it
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise ModelLoadError(
                f"{path} is not a loadable TorchScript file ({_line(exc)}); re-export it", path=path
            ) from exc
        shape = _input_shape(input_shape, arch, path)
        return _describe(module, shape, name=name, path=path, digest=sha256_file(path))
    state, arch, arch_kwargs = _read_checkpoint(path, arch, arch_kwargs)
    if not arch:
        raise ModelLoadError(
            f"{path} holds only weights (a state dict); say which architecture they belong to, "
            "e.g. load_model(path, arch='mobilenetv2_tiny') or --arch mobilenetv2_tiny",
            path=path,
        )

    module = create_model(arch, **arch_kwargs)
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as exc:
        raise ModelLoadError(
            f"the weights in {path} do not fit zoo architecture {arch!r} ({_line(exc)}); "
            "check --arch and its kwargs",
            path=path,
        ) from exc
    shape = _input_shape(input_shape, arch, path)
    model = _describe(module.eval(), shape, name=name, path=path, digest=sha256_file(path))
    return model.replace(metadata={**model.metadata, "arch": arch, "arch_kwargs": arch_kwargs})


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips with a ``code/`` folder; checkpoints have none."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any("/code/" in n or n.startswith("code/") for n in zf.namelist())


def _read_checkpoint(path: Path, arch: str | None, arch_kwargs: dict | None) -> tuple[dict, str | None, dict]:
    torch = _torch()
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(
            f"{path} contains pickled Python objects that could run code, so edgekit will not load it "
            "(only weights are read, torch.load weights_only=True); re-save it with "
            "torch.save(model.state_dict(), path) or export it to ONNX/TorchScript",
            path=path,
        ) from exc
    except Exception as exc:
        raise ModelLoadError(
            f"{path} is not a readable PyTorch checkpoint ({_line(exc)}); re-save it", path=path
        ) from exc
    if isinstance(obj, dict):
        arch = arch or (obj.get("arch") if isinstance(obj.get("arch"), str) else None)
        kwargs = arch_kwargs or (obj.get("arch_kwargs") if isinstance(obj.get("arch_kwargs"), dict) else {})
        for key in _STATE_KEYS:
            if isinstance(obj.get(key), dict):
                return obj[key], arch, dict(kwargs)
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj, arch, dict(kwargs)
    raise ModelLoadError(
        f"{path} holds no state dict (found {type(obj).__name__}); save model.state_dict()", path=path
    )


def _input_shape(input_shape, arch: str | None, where) -> tuple[int, ...]:
    if input_shape:
        return tuple(input_shape)
    if arch:
        return (1, *get_arch(arch).input_size)
    raise ModelLoadError(
        f"the input shape of {where} is unknown; pass input_shape=(1, 3, H, W) (CLI: --input-shape 1,3,H,W)"
    )


def _describe(module: Any, shape: tuple[int, ...], *, name: str, path: Path | None, digest: str) -> Model:
    """Run one zero batch to learn the output shape; count params and FLOPs."""
    torch = _torch()
    if path is not None and isinstance(module, torch.jit.ScriptModule):  # code from a file: a child, bounded in time

        dims, dtype = probe_output(path, shape)
    else:
        try:
            with torch.no_grad():
                out = module(torch.zeros(shape))
        except Exception as exc:
            raise ModelLoadError(
                f"{path or name} failed on an input of shape {tuple(shape)} ({_line(exc)}); "
                "check the input shape",
                path=path,
            ) from exc
        out = out[0] if isinstance(out, (tuple, list)) else out
        dims, dtype = tuple(out.shape), str(out.dtype).replace("torch.", "")
    in_shape = ("batch", *shape[1:])
    out_shape = ("batch", *dims[1:])
    params = sum(p.numel() for p in module.parameters())
    return Model(
        name=name,
        format=Format.TORCH,
        path=path,
        files=() if path is None else (path,),
        inputs=(TensorSpec("input", in_shape, "float32", guess_layout(in_shape)),),
        outputs=(
            TensorSpec("logits", out_shape, dtype, guess_layout(out_shape)),
        ),
        sha256=digest,
        params=params,
        flops=torch_flops(module, shape),
        module=module,
    )


def _state_digest(module: Any) -> str:
    """sha256 over the module's state (names, shapes, bytes) for in-memory models."""
    digest = hashlib.sha256()
    for key, value in module.state_dict().items():
        digest.update(key.encode())
        digest.update(str(tuple(value.shape)).encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def torch_flops(module: Any, shape: tuple[int, ...]) -> int | None:
    """FLOPs for batch 1 by forward hooks on leaf modules (same rule as the ONNX counter)."""
    torch = _torch()
    shape = (1, *tuple(shape)[1:])
    total = [0]

    def hook(mod, inputs, output):
        out = output[0] if isinstance(output, (tuple, list)) else output
        if not isinstance(out, torch.Tensor):
            return
        if isinstance(mod, torch.nn.Conv2d | torch.nn.Conv1d | torch.nn.Conv3d):
            total[0] += 2 * out.numel() * mod.weight[0].numel() + (out.numel() if mod.bias is not None else 0)
        elif isinstance(mod, torch.nn.Linear):
            total[0] += 2 * out.numel() * mod.in_features + (out.numel() if mod.bias is not None else 0)
        elif not isinstance(mod, torch.nn.Flatten | torch.nn.Identity | torch.nn.Dropout):
            total[0] += out.numel()

    leaves = [m for m in module.modules() if not list(m.children())]
    if not leaves or isinstance(module, torch.jit.ScriptModule):
        return None
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            module(torch.zeros(shape))
    finally:
        for h in handles:
            h.remove()
    return total[0]


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
