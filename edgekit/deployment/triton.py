"""``export_triton``: a bundle -> a Triton Inference Server model repository.

When one device is not enough, the same model can be served by Triton (or a
KServe cluster running Triton). The layout is Triton's::

    repo/<name>/config.pbtxt
    repo/<name>/labels.txt          the class names (a classifier's output's label_filename)
    repo/<name>/1/model.onnx        (onnxruntime backend) or model.xml + model.bin (openvino)

The bundle is verified first, so a tampered bundle is never exported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from edgekit._io import atomic_dir, expand_user
from edgekit._owned import read_list, write_list
from edgekit.backends.registry import backends_for, capabilities
from edgekit.deployment.bundle import Bundle
from edgekit.deployment.triton_python import python_config, write_python_model
from edgekit.errors import BundleError
from edgekit.types import Format

# numpy dtype name -> Triton model-config data type
TRITON_TYPES = {
    "float32": "TYPE_FP32", "float16": "TYPE_FP16", "float64": "TYPE_FP64", "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8", "int8": "TYPE_INT8", "int16": "TYPE_INT16", "int32": "TYPE_INT32", "int64": "TYPE_INT64",
}
# Triton's default model file name for each format it can serve natively
MAIN_FILES = {Format.ONNX: "model.onnx", Format.OPENVINO: "model.xml"}


def triton_backend(fmt: str) -> tuple[str, str] | None:
    """``(Triton backend, main file name)`` serving files of format ``fmt``: the first registered
    backend that loads it and declares a Triton backend; ``None`` when none does."""
    try:
        fmt = Format.parse(fmt)
    except ValueError:
        return None
    names = [capabilities(b).triton for b in backends_for(fmt) if capabilities(b).triton]
    return (names[0], MAIN_FILES[fmt]) if names and fmt in MAIN_FILES else None


def export_triton(bundle: str | Path | Bundle, out: str | Path, *, max_batch_size: int = 8,
                  instances: int = 1, force: bool = False, backend: str = "native") -> Path:
    """Write ``out/<name>/`` for Triton from a verified bundle.

    Args:
        bundle: bundle folder, zip, or an opened :class:`Bundle`.
        out: the model repository folder (created; other models in it are left alone).
        max_batch_size: for models with a dynamic batch dim; a fixed batch gives 0.
        instances: CPU model instances.
        force: replace an existing ``out/<name>``.
        backend: ``"native"`` (Triton's onnxruntime/openvino backend runs the model file) or
            ``"python"`` (Triton's python backend runs the bundle through edgekit; see
            :mod:`edgekit.deployment.triton_python`).

    Returns:
        The model folder written.

    Raises:
        BundleError: the bundle is refused, or its format has no Triton backend.
        OutputExists: ``out/<name>`` exists and ``force`` is false.

    Example:
        >>> export_triton("digits.zip", "repo/")        # doctest: +SKIP
        PosixPath('repo/demo_digits')
    """
    if backend not in ("native", "python"):
        raise BundleError(f"Triton backend {backend!r} is not one edgekit exports; use native or python")
    opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    m = opened.manifest
    if triton_backend(m.format) is None:
        raise BundleError(f"bundle format {m.format!r} has no Triton backend here; use an ONNX or OpenVINO bundle")
    repo = expand_user(out)
    if repo.exists() and not repo.is_dir():
        raise BundleError(f"{repo} is a file; --out must be the Triton model repository folder (new or existing)",
                          path=repo)
    target = repo / m.serve_name
    with atomic_dir(target, force, owned=read_list) as tmp:  # --force replaces only what an export wrote
        tmp.chmod(0o755)
        config = config_pbtxt(m, max_batch_size, instances)
        if backend == "python":
            write_python_model(opened, tmp)
            config = python_config(config, detection=str(getattr(m, "task", "")) == "detection")
        else:
            _copy_version(opened, tmp / "1")
        if m.labels:
            (tmp / "labels.txt").write_text("\n".join(m.labels) + "\n", encoding="utf-8")
        (tmp / "config.pbtxt").write_text(config, encoding="utf-8")
        write_list(tmp)
    return target


def _copy_version(bundle: Bundle, dest: Path) -> None:
    """Copy the model files into the version folder, renaming the main file (and IR .bin) to Triton's default."""
    m = bundle.manifest
    main_name = triton_backend(m.format)[1]
    main = bundle.root / m.model_file
    for rel in sorted(f for f in m.files if f.startswith("model/")):
        src = bundle.root / rel
        name = Path(rel).relative_to("model")
        if src == main:
            name = Path(main_name)
        elif m.format == Format.OPENVINO and src == main.with_suffix(".bin"):
            name = Path("model.bin")
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name)


def config_pbtxt(m, max_batch_size: int = 8, instances: int = 1) -> str:
    """The ``config.pbtxt`` text for manifest ``m``."""
    first = m.inputs[0]["shape"]
    dynamic_batch = bool(first) and not (isinstance(first[0], int) and first[0] > 0)
    batch = max_batch_size if dynamic_batch else 0
    backend = triton_backend(m.format)[0]
    lines = [f"name: {json.dumps(m.serve_name)}", f"backend: {json.dumps(backend)}", f"max_batch_size: {batch}"]
    lines += _tensors("input", m.inputs, batch, None)
    # Triton's classification extension reads label_filename as the output's index -> name; a detector's
    # raw tensor ([1, 3549, 85] of grid cells) has no such index, so its names stay in labels.txt only
    classifier = str(getattr(m, "task", "")) != "detection"
    lines += _tensors("output", m.outputs, batch, "labels.txt" if m.labels and classifier else None)
    lines += [f"instance_group [ {{ count: {int(instances)} kind: KIND_CPU }} ]"]
    if batch:
        lines.append("dynamic_batching { }")
    return "\n".join(lines) + "\n"


def _tensors(kind: str, specs: tuple[dict, ...], batch: int, labels: str | None) -> list[str]:
    entries = []
    for i, spec in enumerate(specs):
        dims = list(spec["shape"][1:] if batch else spec["shape"])
        dims = [d if isinstance(d, int) and d > 0 else -1 for d in dims]
        dtype = TRITON_TYPES.get(spec.get("dtype", "float32"))
        if dtype is None:
            raise BundleError(f"{kind} {spec['name']!r} has dtype {spec.get('dtype')}, which Triton has no type for")
        body = [f"name: {json.dumps(spec['name'])}", f"data_type: {dtype}", f"dims: [ {', '.join(map(str, dims))} ]"]
        if labels and i == 0:
            body.append(f"label_filename: {json.dumps(labels)}")
        entries.append("  {\n    " + "\n    ".join(body) + "\n  }")
    return [f"{kind} [", ",\n".join(entries), "]"]
