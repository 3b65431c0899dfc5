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
from edgekit.zoo import create_model, get_arch, list_models

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

    module, arch_kwargs = _fitted(arch, dict(arch_kwargs), state, path)
    shape = _input_shape(input_shape, arch, path)
    model = _describe(module.eval(), shape, name=name, path=path, digest=sha256_file(path))
    return model.replace(metadata={**model.metadata, "arch": arch, "arch_kwargs": arch_kwargs})


def _fitted(arch: str, kwargs: dict, state: dict, path: Path) -> tuple[Any, dict]:
    """The zoo ``arch`` holding ``state``, and the keyword arguments it was built with.

    Why the class count is read from the weights: a checkpoint fine-tuned on 10 classes is the
    common case, and the command line has no way to pass ``num_classes``; when the only tensors that
    disagree are the head's (their first dimension is the architecture's class count), the
    architecture is built again with the checkpoint's count. Anything else is refused with the
    tensors that disagree, so the user sees which layer is not what ``arch`` expects.

    Raises:
        ModelLoadError: the weights do not fit ``arch`` (names the differing tensors).
    """
    module = create_model(arch, **kwargs)
    problems = _misfits(module.state_dict(), state)
    classes = _class_count(module.state_dict(), state) if problems and "num_classes" not in kwargs else None
    if classes is not None:
        kwargs = {**kwargs, "num_classes": classes}
        module = create_model(arch, **kwargs)
        problems = _misfits(module.state_dict(), state)
    if problems:
        raise ModelLoadError(
            f"the weights in {path} do not fit zoo architecture {arch!r}: {'; '.join(problems[:3])}"
            f"{f'; and {len(problems) - 3} more' if len(problems) > 3 else ''}; check --arch (the zoo has "
            f"{', '.join(list_models())})",
            path=path,
        )
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as exc:  # a tensor that is not one (the shapes were compared)
        raise ModelLoadError(f"the weights in {path} do not load into {arch!r} ({_line(exc)})", path=path) from exc
    return module, kwargs


def _misfits(expected: dict, state: dict) -> list[str]:
    """What differs between an architecture's state and a checkpoint's, one phrase per tensor."""
    out = [f"{key}: {tuple(state[key].shape)} in the file, {tuple(want.shape)} in the architecture"
           for key, want in expected.items() if key in state and hasattr(state[key], "shape")
           and tuple(state[key].shape) != tuple(want.shape)]
    missing = [key for key in expected if key not in state]
    extra = [key for key in state if key not in expected]
    if missing:
        out.append(f"{len(missing)} tensor(s) missing from the file ({', '.join(missing[:2])}"
                   f"{' ...' if len(missing) > 2 else ''})")
    if extra:
        out.append(f"{len(extra)} tensor(s) the architecture does not have ({', '.join(extra[:2])}"
                   f"{' ...' if len(extra) > 2 else ''})")
    return out


def _class_count(expected: dict, state: dict) -> int | None:
    """The checkpoint's class count when the only misfits are the head's weight and bias (first
    dimension the architecture's output size, every other dimension equal); else ``None``."""
    if set(expected) != set(state) or not all(hasattr(v, "shape") for v in state.values()):
        return None
    differing = [key for key, want in expected.items() if tuple(state[key].shape) != tuple(want.shape)]
    last = list(expected)[-2:]  # a head is the last weight and bias (Linear or 1x1 Conv)
    if not differing or not set(differing) <= set(last):
        return None
    counts = {int(state[key].shape[0]) for key in differing}
    same_rest = all(tuple(state[k].shape[1:]) == tuple(expected[k].shape[1:]) for k in differing)
    return counts.pop() if len(counts) == 1 and same_rest else None


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips with a ``code/`` folder; checkpoints have none."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any("/code/" in n or n.startswith("code/") for n in zf.namelist())


def _read_checkpoint(path: Path, arch: str | None, arch_kwargs: dict | None) -> tuple[dict, str | None, dict]:
    torch = _torch()
    try:
        with warnings.catch_warnings():  # "Detected pickle protocol 90 ...": torch's words, on stderr, for a
            warnings.simplefilter("ignore", UserWarning)  # file that is no checkpoint; the error below says it
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not any(word in str(exc) for word in ("Unsupported global", "GLOBAL")):  # unreadable bytes, no objects
            raise ModelLoadError(f"{path} is not a readable PyTorch checkpoint (its bytes are no pickle that "
                                 "torch.save writes); re-save it, or check that it was copied whole",
                                 path=path) from exc
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
