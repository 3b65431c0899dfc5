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
    ├── OutputExists          an output would overwrite an existing file (use --force)
    └── Cancelled             the user cancelled a long operation
"""

from __future__ import annotations

import contextlib
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
            original exception's first line.
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
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise target(message.format(error=first[:300]), path=path) from exc
        raise


class EdgekitWarning(UserWarning):
    """Something worth a user's attention that does not stop the work
    (a fallback to CPU, a calibration set that is small, a skipped image)."""
