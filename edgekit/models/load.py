"""``load_model``: one entry point for ONNX, OpenVINO IR, PyTorch and zoo names.

The format is chosen by the source's type or file suffix through one dict of
loader functions (``_LOADERS``); adding a format is one function and one line.
A model card ``X.json`` beside ``X.onnx`` / ``X.xml`` / ``X.pt`` may give
``preprocess``, ``labels``, ``input_shape``, ``task`` and ``validation`` (see
:mod:`edgekit.models.card`); explicit arguments win.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgekit._io import expand_user, sha256_files
from edgekit.errors import ModelLoadError, map_exceptions
from edgekit.models import onnx_io, openvino_io, torch_io
from edgekit.models.card import card_task, card_validation
from edgekit.models.cost import count_flops
from edgekit.models.flops import fix_inputs, input_shapes, onnx_flops
from edgekit.models.labels import read_labels
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.types import Format, Task
from edgekit.zoo import hub
from edgekit.zoo.hub import read_card

__all__ = ["load_model", "load_onnx", "read_card"]


def load_model(
    src: str | Path | Any,
    *,
    input_shape: tuple[int, ...] | list[int] | None = None,
    preprocess: Preprocess | dict | None = None,
    labels: list[str] | tuple[str, ...] | str | Path | None = None,
    name: str | None = None,
    arch: str | None = None,
    arch_kwargs: dict | None = None,
    task: Task | str | None = None,
) -> Model:
    """Load a model from a file, a zoo/hub name or an ``nn.Module``.

    Args:
        src: ``.onnx``; ``.xml`` (OpenVINO IR with its ``.bin``); ``.pt``/``.pth``
            (TorchScript or a weights-only checkpoint); an ``nn.Module``; or a
            name such as ``"demo:digits"`` resolved by ``edgekit.zoo.hub``.
        input_shape: e.g. ``(1, 3, 224, 224)``; needed for PyTorch sources
            unless a zoo ``arch`` or the model card gives it.
        preprocess: how images become inputs (a ``Preprocess`` or its dict, in its field names or
            as the CLI says them: ``{"size": 224, "resize": "shorter-crop", "mean": ..., "std": ...}``).
        labels: class names, index = class id; or the file ``--labels`` takes (a ``.txt`` with one
            name per line, ``.csv`` or ``.json``).
        name: human name; defaults to the file stem or hub name.
        arch: zoo architecture for a state-dict checkpoint (``"tinycnn"``).
        arch_kwargs: keyword arguments for that architecture.
        task: what the outputs mean (``"classification"``, ``"detection"``);
            default: the card's ``task``, else classification.

    Returns:
        A frozen :class:`Model` with inputs/outputs, precision, sha256,
        params and FLOPs (when countable).

    Raises:
        ModelLoadError: missing, empty, corrupt, unsafe or unknown input,
            naming the file and the fix.

    Example:
        >>> model = load_model("tiny.onnx", labels=["cat", "dog"])   # doctest: +SKIP
        >>> model.inputs[0].shape
        ('batch', 3, 32, 32)
    """
    opts = {
        "input_shape": None if input_shape is None else tuple(int(d) for d in input_shape),
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs or {}),
    }
    if not isinstance(src, (str, Path)):
        model = torch_io.load_module(src, name=name or type(src).__name__, **opts)
        return _apply_card(model, {}, preprocess, labels, task)
    path, hub_name = _resolve(src)
    path = _model_in_folder(path) if path.is_dir() else path
    card = read_card(path)
    if opts["input_shape"] is None and card.get("input_shape"):
        opts["input_shape"] = _card_shape(card["input_shape"], path)
    if path.suffix.lower() in (".pt", ".pth") and card.get("architecture") and opts["arch"] in (None, card["architecture"]):
        # a weights-only checkpoint whose card names its architecture loads with no flags
        opts["arch"] = card["architecture"]
        opts["arch_kwargs"] = opts["arch_kwargs"] or dict(card.get("arch_kwargs") or {})
    model = _loader_for(path)(path, name=name or hub_name or path.stem, **opts)
    model = _apply_card(model, card, preprocess, labels, task)
    if model.flops is None and model.preprocess is not None:
        model = model.replace(flops=count_flops(model))
    return model


def _card_shape(value: Any, path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in value)
    except (TypeError, ValueError) as exc:
        card = path.with_suffix(".json")
        raise ModelLoadError(
            f"model card {card}: input_shape must be a list of ints like [1, 3, 224, 224]", path=card
        ) from exc


def _resolve(src: str | Path) -> tuple[Path, str | None]:
    """Path for ``src``; names (``"demo:digits"``, ``"hub:x"``, a bare ``"resnet50"``)
    that are not existing files go through :mod:`edgekit.zoo.hub`."""
    text = str(src)
    path = expand_user(text)
    if not isinstance(src, str) or not _looks_like_name(text, path):
        return path, None
    try:
        with map_exceptions({Exception: ModelLoadError}, f"cannot resolve model name {text!r}: {{error}}"):
            return Path(hub.resolve(text)), text
    except ModelLoadError as exc:
        if ":" in text:
            raise
        raise ModelLoadError(f"{text} is neither a model file nor a known model name ({exc})") from exc


def _looks_like_name(text: str, path: Path) -> bool:
    """``demo:x`` / ``hub:x`` or a bare word without a folder or suffix, not on disk."""
    if path.exists() or _is_drive(text) or path.suffix.lower() in _LOADERS:
        return False
    return ":" in text or ("/" not in text and "\\" not in text and not path.suffix)


def _model_in_folder(folder: Path) -> Path:
    """The one ``.onnx`` / ``.xml`` model in ``folder`` (what ``convert --out DIR`` writes)."""
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".onnx", ".xml") and p.is_file())
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "no .onnx or .xml file"
        raise ModelLoadError(f"{folder} is a folder holding {names}; pass the model file itself", path=folder)
    return found[0]


def _is_drive(text: str) -> bool:
    return len(text) > 2 and text[1] == ":" and text[2] in "\\/"


def _loader_for(path: Path) -> Callable[..., Model]:
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        if not path.exists():
            raise ModelLoadError(f"model file {path} does not exist; check the path", path=path)
        if suffix == ".bin" and path.with_suffix(".xml").is_file():  # the weights half of an OpenVINO IR
            raise ModelLoadError(f"{path} holds the weights of an OpenVINO IR; pass its {path.with_suffix('.xml').name} "
                                 "instead (the .bin beside it is read with it)", path=path)
        known = ", ".join(sorted(_LOADERS))
        raise ModelLoadError(
            f"{path} has an unknown model suffix {suffix or '(none)'!r}; edgekit reads {known} "
            "(export the model to ONNX, or rename it if the suffix is wrong)",
            path=path,
        )
    return loader


def load_onnx(path: Path, *, name: str, **_: Any) -> Model:
    """Load an ONNX file: sniffed, checked, external data confined, shapes inferred."""
    proto, files = onnx_io.read(path)
    size = sum(f.stat().st_size for f in files)
    inputs, outputs = onnx_io.io_specs(proto)
    model = Model(
        name=name,
        format=Format.ONNX,
        path=path,
        files=files,
        inputs=inputs,
        outputs=outputs,
        precision=onnx_io.precision(proto),
        sha256=sha256_files(list(files)),
        params=onnx_io.count_params(proto),
        metadata={
            "opset": max(
                (o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None
            ),
            "producer": proto.producer_name,
            # what the exporter wrote (Ultralytics: task, names, imgsz, stride): read by edgekit.detection.head
            "onnx_metadata": {p.key: p.value for p in proto.metadata_props},
        },
    )
    shapes = input_shapes(model)  # None while image H/W are dynamic: counted once the card gives a size
    if shapes is None:
        return model
    return model.replace(flops=onnx_flops(onnx_io.infer_shapes(fix_inputs(proto, shapes), path, size)))


def _load_openvino(path: Path, *, name: str, **_: Any) -> Model:
    return openvino_io.load_ir(path, name=name)


def _load_torch(path: Path, **opts: Any) -> Model:
    return torch_io.load_file(path, **opts)


_LOADERS: dict[str, Callable[..., Model]] = {
    ".onnx": load_onnx,
    ".xml": _load_openvino,
    **{s: _load_torch for s in (".pt", ".pth", ".ckpt", ".ts", ".torchscript")},
}


def _apply_card(model: Model, card: dict, preprocess: Any, labels: Any, task: Any = None) -> Model:
    """Explicit ``preprocess``/``labels``/``task`` win over the card's."""
    pre = preprocess if preprocess is not None else card.get("preprocess")
    if isinstance(labels, (str, Path)):  # a file, as --labels takes it (a name list is never one string)
        labels = read_labels(expand_user(labels))
    labs = labels if labels is not None else card.get("labels")
    try:
        pre = Preprocess.from_dict(pre) if isinstance(pre, dict) else pre
    except (TypeError, ValueError) as exc:  # PreprocessError (a std of 0) is a ValueError
        if preprocess is not None:
            raise ModelLoadError(f"load_model(preprocess=...) is not valid: {exc}", path=model.path) from exc
        card_file = model.path.with_suffix(".json") if model.path is not None else None
        raise ModelLoadError(f"model card {card_file} has an invalid preprocess: {exc}; fix or remove it",
                             path=card_file) from exc
    if labs is not None and (isinstance(labs, str) or not all(isinstance(x, str) for x in labs)):
        raise ModelLoadError(f"labels for {model.name} must be a list of strings", path=model.path)
    meta = dict(model.metadata)
    extra = {k: v for k, v in card.items() if k not in ("preprocess", "labels", "task", "validation")}
    if extra:
        meta["card"] = extra
    try:
        if task is not None:
            kind = Task.parse(task, "task")
        elif "task" in card:
            kind = card_task(card, model.path)
        else:
            kind = _exporter_task(model)
    except ValueError as exc:
        raise ModelLoadError(f"the task argument: {exc}", path=model.path) from exc
    return model.replace(
        preprocess=pre,
        labels=None if labs is None else tuple(labs),
        metadata=meta,
        task=kind,
        validation=card_validation(card, model.path),
    )


# what exporters write in the ONNX metadata_props "task" (Ultralytics: detect/classify/segment/pose/obb)
_EXPORTER_TASKS = {"detect": Task.DETECTION, "detection": Task.DETECTION, "classify": Task.CLASSIFICATION}


def _exporter_task(model: Model) -> Task:
    """The task the exporter wrote into the file (Ultralytics ``task: detect``), else classification.

    Without this a YOLO export loads as a classifier unless a card says otherwise."""
    written = str((model.metadata.get("onnx_metadata") or {}).get("task", "")).strip().lower()
    return _EXPORTER_TASKS.get(written, Task.CLASSIFICATION)
