"""``deploy``: package a plan's choice (or a model) as a bundle; ``Bundle.open`` reads one back.

A bundle is a folder or a ``.zip`` of it::

    manifest.json          what it is, how to run it, what it promises, sha256 of every file
    manifest.sha256        sha256 of manifest.json
    model/model.onnx       (or model.xml + model.bin) the model for the chosen backend
    labels.txt             class names, one a line
    validation/sample.npz  inputs, labels, outputs and top-1 recorded at deploy time
    validation/report.json what the sample gave when the bundle was made
    requirements.txt       the runtime packages the device needs
    README.md              for the person on the device

It is built in a temporary folder and moved into place only when complete,
so an interrupted deploy never leaves half a bundle, and an existing output is
replaced only with ``force`` and only when it is a bundle holding nothing its
manifest does not list (:mod:`edgekit.deployment.owned`): a user's file is never deleted.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit._io import atomic_dir, atomic_path, check_writable, expand_user
from edgekit.deployment import safezip
from edgekit.deployment.build import build_folder
from edgekit.deployment.extractions import new_extraction
from edgekit.deployment.integrity import list_files, verify_folder
from edgekit.deployment.manifest import Manifest, Tolerance
from edgekit.deployment.owned import bundle_files, check_bundle_replaceable
from edgekit.deployment.sample import load, sample_count
from edgekit.deployment.source import open_data, resolve
from edgekit.errors import BundleError, EdgekitError, TargetError, warn_caller
from edgekit.models.model import Model
from edgekit.models.preprocess import Preprocess
from edgekit.models.spec import TensorSpec
from edgekit.progress import Progress, emit
from edgekit.targets import Target, load_target
from edgekit.types import Format, Precision, Task


@dataclass(frozen=True)
class Bundle:
    """An opened bundle.

    Attributes:
        path: what was opened (folder or ``.zip``).
        root: the folder holding the files (a private extraction for a zip,
            removed when the ``Bundle`` is garbage-collected or closed).
        manifest: the verified manifest.
    """

    path: Path
    root: Path
    manifest: Manifest
    _cleanup: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def open(cls, path: str | Path, *, check: bool = True) -> Bundle:
        """Open a bundle folder or zip, verifying every checksum unless ``check=False``.

        Raises:
            BundleError: not a bundle, unsafe zip, or a modified/missing/extra file.

        Example:
            >>> bundle = Bundle.open("digits.zip")     # doctest: +SKIP
            >>> bundle.manifest.backend
            'onnxruntime'
        """
        path = expand_user(path)
        if path.is_file():
            if not zipfile.is_zipfile(path):
                raise BundleError(f"{path} is neither a bundle folder nor a zip file", path=path)
            root = new_extraction()  # also removes those of processes killed before their cleanup ran
            try:
                safezip.extract(path, root)
                manifest = verify_folder(root) if check else Manifest.read(root)
            except EdgekitError as exc:  # name the user's zip, not the private extraction
                safezip.remove_tree(root)
                text = str(exc).replace(str(root), f"{path}:")
                raise type(exc)(text if str(path) in text else f"{path}: {text}", path=path) from exc
            except BaseException:
                safezip.remove_tree(root)
                raise
            bundle = cls(path, root, manifest)
            object.__setattr__(bundle, "_cleanup", weakref.finalize(bundle, safezip.remove_tree, root))
            return bundle
        if not path.is_dir():
            raise BundleError(f"bundle {path} does not exist; pass the folder or .zip edgekit deploy wrote", path=path)
        return cls(path, path, verify_folder(path) if check else Manifest.read(path))

    def model(self) -> Model:
        """The packaged model as a :class:`Model` (built from the manifest; no onnx import)."""
        m = self.manifest
        files = tuple(self.root / f for f in sorted(m.files) if f.startswith("model/"))
        return Model(
            name=m.name,
            format=Format.parse(m.format),
            path=self.root / m.model_file,
            inputs=tuple(TensorSpec.from_dict(t) for t in m.inputs),
            outputs=tuple(TensorSpec.from_dict(t) for t in m.outputs),
            files=files,
            preprocess=None if m.preprocess is None else Preprocess.from_dict(m.preprocess),
            labels=m.labels,
            precision=Precision.parse(m.precision),
            sha256=m.files[m.model_file]["sha256"],
            task=Task.parse(m.task, "task"),
        )

    def sample(self) -> dict:
        """The packaged validation sample's arrays."""
        return load(self.root / self.manifest.validation.get("file", "validation/sample.npz"))

    def close(self) -> None:
        """Remove a zip's private extraction now (idempotent)."""
        if self._cleanup is not None:
            self._cleanup()


def deploy(
    report_or_model: Any,
    target: Any = None,
    out: str | Path | None = None,
    *,
    backend: str | None = None,
    precision: str | None = None,
    device: str | None = None,
    data: Any = None,
    samples: int | None = None,
    tolerance: Tolerance | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Bundle:
    """Package a plan's best candidate (or a model) as a self-checking bundle.

    Args:
        report_or_model: a plan ``Report``/``Candidate``, a saved plan JSON (or the folder holding it), a
            ``Model``, or anything ``load_model`` accepts ("demo:digits", a path).
        target: target name (or ``Target``) the bundle is for; default: the plan's target, else "local".
        out: output folder, or a path ending in ``.zip``; default ``./<name>-bundle``.
        backend / precision / device: override the plan's choice.
        data: validation data: an ``(image, label)`` dataset, a class-folder/CSV path or
            ``"demo-test"``; default: the plan's data, else the data the model's card
            names (``validation``; the demo models: their held-out digits). With none, seeded noise images
            check agreement only (no accuracy).
        samples: images of it packaged for ``edgekit verify``; default 64, fewer when the model's
            tensors are large (see :func:`edgekit.deployment.sample.sample_count`).
        tolerance: how far ``edgekit verify`` may find a device from the promises
            (default :class:`Tolerance`).
        force: replace an existing output, when it is an edgekit bundle and nothing else.
        progress: receives :class:`~edgekit.progress.ProgressEvent` s (resolving, reading data,
            building, verifying); may raise ``Cancelled`` (nothing is written then).

    Returns:
        The written bundle, opened and verified.

    Raises:
        OutputExists: ``out`` exists and ``force`` is false, or it holds files the bundle's manifest
            does not list (or is no bundle): named, and left untouched.
        BundleError / BackendUnavailable / DataError: naming what to fix.

    Example:
        >>> bundle = deploy("demo:digits", out="digits.zip", data=demo_digits())   # doctest: +SKIP
    """
    emit(progress, "resolving", "the model and target", fraction=0.0)
    target = _known_target(target)
    choice = resolve(report_or_model, backend, precision, device)
    if data is None and choice.data and not expand_user(choice.data).exists():
        warn_caller(f"the plan's validation data {choice.data} is not here; "
                    "the bundle's sample checks agreement only (pass data=...)")
        choice = dataclasses.replace(choice, data=None)
    emit(progress, "reading data", str(data if data is not None else choice.data or "seeded noise"), fraction=0.1)
    data = open_data(data if data is not None else choice.data, choice.model)
    out = expand_user(out or f"{choice.model.name.replace(':', '-')}-bundle")
    check_writable(out, force)
    if force and (out.suffix.lower() == ".zip" or out.is_dir()):
        check_bundle_replaceable(out)  # before the build: --force replaces a bundle, never a user's files
    target_name = str(getattr(target, "name", target) or choice.target or "local")
    declared = _declared(target, target_name)
    _check_runs_there(choice, declared)
    with tempfile.TemporaryDirectory(prefix="edgekit-deploy-") as work:
        folder = Path(work) / "bundle"
        emit(progress, "building", f"{choice.model.name} on {choice.backend}: sample of "
             f"{sample_count(choice.model, samples)}", fraction=0.3)
        build_folder(choice, folder, Path(work), target=target_name, data=data, samples=samples,
                     tolerance=tolerance or Tolerance(), declared=declared)
        emit(progress, "writing", str(out), fraction=0.8)
        _move(folder, out, force)
    emit(progress, "verifying", "checksums", fraction=0.9)
    bundle = Bundle.open(out)
    emit(progress, "done", str(out), fraction=1.0)
    return bundle


def _known_target(target: Any) -> Any:
    """An explicit target name must exist: a typo would otherwise be written into the manifest unnoticed."""
    if not isinstance(target, (str, Path)) or str(target) in ("", "local"):
        return target

    return load_target(target)  # TargetError with a did-you-mean hint; a YAML path keeps its file


def _check_runs_there(choice: Any, declared: Any) -> None:
    """Refuse a bundle whose chosen backend/device/precision the target does not list: it
    would be built here, then fail on the device (e.g. OpenVINO for a Raspberry Pi)."""
    if declared is None or declared.supports(choice.backend, choice.device, choice.precision):
        return
    where = f" ({declared.path})" if getattr(declared, "path", None) else ""
    runs = "; ".join(f"{b} on {', '.join(e['devices'])} at {', '.join(e['precisions'])}"
                     for b, e in declared.backends.items()) or "nothing"
    raise TargetError(f"target {declared.name}{where} does not run {choice.backend}/{choice.device}/"
                      f"{choice.precision}; it lists: {runs}. Pick one of those with --backend/--device/"
                      "--precision, or deploy for another --target")


def _declared(target: Any, name: str) -> Any:
    """The ``Target`` whose backends bound the bundle's fallbacks; ``None`` when its file is not here
    (a plan made with a target YAML this machine lacks): then no fallback is promised."""
    if isinstance(target, Target):  # one that lists no backends (a device known only over SSH) bounds nothing
        return target if target.backends else None
    try:
        return load_target(name)
    except TargetError:
        return None


def _move(folder: Path, out: Path, force: bool) -> None:
    """Place the finished bundle: zip it or move the folder, atomically."""
    if out.suffix.lower() == ".zip":
        if force and not out.is_dir():
            check_bundle_replaceable(out)
        with atomic_path(out, force) as tmp:
            safezip.write_zip(folder, tmp)
        return
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} is a file; give a folder or a .zip path for the bundle", path=out)
    with atomic_dir(out, force, owned=bundle_files) as tmp:
        tmp.chmod(0o755)
        for rel in [*list_files(folder), "manifest.json", "manifest.sha256"]:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / rel, tmp / rel)


def read_report(bundle: Bundle) -> dict:
    """The packaged ``validation/report.json``."""
    path = bundle.root / bundle.manifest.validation.get("report", "validation/report.json")
    return json.loads(path.read_text(encoding="utf-8"))
