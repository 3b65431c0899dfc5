"""The one exception tree of edgekit.

A user catches :class:`EdgekitError` and gets one sentence that names the file
or setting at fault and says how to fix it. Third-party exceptions (onnx,
onnxruntime, openvino, torch, OpenCV, YAML) are caught at the boundary where
edgekit calls them and re-raised as one of these, ``from`` the original, so
the library's traceback stays available to a debugger but never reaches a CLI
user.

::

    EdgekitError
    ├── ModelLoadError        a model file is missing, empty, corrupt or unsafe
    │   └── PreprocessError   preprocessing numbers that would make every input garbage (a std of 0)
    ├── ConversionError       a conversion failed or its numeric check did not hold
    ├── BackendUnavailable    a backend/device/precision cannot run here (with the fix)
    ├── InputMismatch         inputs do not match the model's input spec
    ├── TargetError           a target YAML is malformed or names an unknown target
    ├── ConfigError           a plan configuration (settings or plan.yaml) is invalid
    ├── DataError             a dataset/calibration set is empty, unreadable or unfit
    ├── SourceError           a camera / video / folder frame source failed
    ├── BudgetNotMet          no candidate meets the accuracy/latency/size budget
    ├── BundleError           a deployment bundle is tampered with or malformed
    ├── DownloadError         a model download failed or its checksum did not match
    ├── DeviceError           a remote device (SSH) is unreachable, refuses us, or lacks edgekit
    ├── TaskNotSupported      a model's task (e.g. detection) is not handled by this part yet
    ├── OutputExists          an output would overwrite an existing file (use --force)
    └── Cancelled             the user cancelled a long operation
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path


class EdgekitError(Exception):
    """Root of every error edgekit raises on purpose.

    Args:
        message: one sentence saying what went wrong and how to fix it.
        path: the file or folder at fault, when there is one.
    """

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class ModelLoadError(EdgekitError):
    """A model file is missing, empty, corrupt, of an unknown format or unsafe."""


class PreprocessError(ModelLoadError, ValueError):
    """A mean that is not finite, a std or scale that is not > 0: every input would be garbage.

    Also a ``ValueError``, as :class:`edgekit.models.Preprocess` raised for a bad field before: code that
    catches that (the GUI's preprocessing editor, card loading that adds the card's name) keeps working.
    """


class ConversionError(EdgekitError):
    """A conversion failed, or its numeric check exceeded the tolerance."""


class BackendUnavailable(EdgekitError):
    """A backend, device or precision cannot run on this machine."""


class InputMismatch(EdgekitError):
    """Inputs given to a session do not match the model's inputs."""


class TargetError(EdgekitError):
    """A target description is malformed or unknown."""


class ConfigError(EdgekitError):
    """Settings given to a long operation (a plan, ``edgekit run plan.yaml``) are invalid."""


class DataError(EdgekitError):
    """A dataset or calibration set is empty, unreadable or unfit for the model."""


class SourceError(EdgekitError):
    """A frame source (camera, video, folder, stream) failed."""


class BudgetNotMet(EdgekitError):
    """No candidate meets the budget; ``closest`` lists the nearest misses."""

    def __init__(
        self, message: str, *, closest: list | None = None, path: str | Path | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.closest = list(closest or [])


class BundleError(EdgekitError):
    """A deployment bundle is malformed, tampered with or from an unknown schema."""


class DownloadError(EdgekitError):
    """A download failed, was cut short or did not match its checksum."""


class DeviceError(EdgekitError):
    """A remote device is unreachable, refuses the key or host key, lacks edgekit, or failed a command."""


class TaskNotSupported(EdgekitError):
    """A model's task (its card's ``task``, e.g. detection) is not handled by this part of edgekit yet."""


class OutputExists(EdgekitError):
    """Writing would overwrite an existing file; pass ``force=True`` / ``--force``."""


class Cancelled(EdgekitError):
    """The user cancelled a long-running operation."""


@contextlib.contextmanager
def map_exceptions(
    mapping: dict[type[BaseException], type[EdgekitError]],
    message: str,
    *,
    path: str | Path | None = None,
) -> Iterator[None]:
    """Re-raise third-party exceptions as edgekit errors at a library boundary.

    Args:
        mapping: third-party exception type -> edgekit error type; the first
            matching entry wins, so put specific types first.
        message: sentence for the user; ``{error}`` is replaced by the
            original exception's first line (see :func:`error_text`).
        path: file named in the error.

    Raises:
        EdgekitError: the mapped type, chained ``from`` the original.

    Example:
        >>> with map_exceptions({ValueError: ModelLoadError}, "bad model: {error}"):
        ...     raise ValueError("truncated")
        Traceback (most recent call last):
        edgekit.errors.ModelLoadError: bad model: truncated
    """
    try:
        yield
    except EdgekitError:
        raise
    except BaseException as exc:
        for source, target in mapping.items():
            if isinstance(exc, source):
                raise target(message.format(error=error_text(exc)), path=path) from exc
        raise


# Lines of a C++ runtime's error that say where in *its* source it failed, not why
# (OpenVINO: "Exception from src/inference/src/cpp/core.cpp:132:", "Check 'false' failed at ...").
_LOCATION = re.compile(r"^(Exception from \S+:\d+:?|Check '.*' failed at \S+:\d+:?|FrontEnd API failed with \w+:?)$")


def error_text(exc: BaseException, limit: int = 300) -> str:
    """The part of a third-party error a user can act on.

    Usually its first line (Python tracebacks put the cause there). C++ runtimes open with
    source locations and give the cause below (OpenVINO lists the ops it cannot convert
    there): those location lines are dropped and everything else kept, up to 2,000
    characters, so the list of unsupported ops reaches the user.
    """
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    useful = [line for line in lines if not _LOCATION.match(line)]
    if len(useful) == len(lines):
        return lines[0][:limit]
    return " ".join(useful)[:2000] or lines[0][:limit]


def require_argument(value: object, what: str, expected: str, types: type | tuple[type, ...] | None = None) -> None:
    """Refuse an argument of the wrong kind with a ``TypeError`` naming what to pass.

    Why: ``to_fp16(None)`` used to end in ``AttributeError: 'NoneType' object has no
    attribute 'format'`` three calls deep. With ``types``, ``value`` must be one of
    them; without, only the values no public function takes as its main argument are
    refused (``None``, numbers, lists, tuples, dicts, bytes).

    Example:
        >>> require_argument(None, "to_fp16", "a Model (edgekit.load_model(path))")
        Traceback (most recent call last):
        TypeError: to_fp16 expects a Model (edgekit.load_model(path)), not NoneType
    """
    wrong = (not isinstance(value, types) if types is not None else
             value is None or isinstance(value, (bool, int, float, complex, list, tuple, dict, set, bytes)))
    if wrong:
        raise TypeError(f"{what} expects {expected}, not {type(value).__name__}")


class EdgekitWarning(UserWarning):
    """Something worth a user's attention that does not stop the work
    (a fallback to CPU, a calibration set that is small, a skipped image)."""


def warn_caller(message: str) -> None:
    """Warn with :class:`EdgekitWarning`, pointing at the first frame outside edgekit (the user's line).

    Why: a fixed ``stacklevel`` pointed into edgekit whenever the same check was reached along call
    paths of different depth (``LivePipeline(...)`` or ``set_predictor``, ``deploy(path)`` or
    ``deploy(report)``), and the user's script is what the warning is about."""
    import os
    import sys
    import warnings

    package = os.path.dirname(__file__) + os.sep
    frame, level = sys._getframe(1), 2  # level 1 is this function
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(EdgekitWarning(message), stacklevel=level)
