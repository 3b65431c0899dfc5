"""Find, list and load targets: bundled YAML, user files, and ``local``.

Bundled targets live in the repository's ``targets/`` folder (a checkout) or
in ``<prefix>/share/edgekit/targets`` (a wheel install puts them there via
``data-files``). ``local`` is not a file: it is built from
:func:`edgekit.hardware.profile_hardware` so that it always tells the truth
about this machine.
"""

from __future__ import annotations

import difflib
import functools
import sys
from pathlib import Path

import edgekit
from edgekit._io import expand_user
from edgekit.backends.registry import list_backends, local_support
from edgekit.errors import TargetError
from edgekit.hardware import profile_hardware
from edgekit.targets.model import Budgets, Figure, Target

LOCAL = "local"


def target_dirs() -> list[Path]:
    """Folders searched for bundled ``*.yaml`` targets, in priority order."""
    candidates = [
        Path(edgekit.__file__).resolve().parents[1] / "targets",
        Path(sys.prefix) / "share" / "edgekit" / "targets",
    ]
    return [d for d in candidates if d.is_dir()]


def _bundled() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in target_dirs():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def list_targets() -> list[str]:
    """Names of every known target: ``local`` first, then the bundled files.

    Example:
        >>> "raspberry-pi-5" in list_targets()   # doctest: +SKIP
        True
    """
    return [LOCAL, *sorted(_bundled())]


def load_target(name_or_path: str | Path | Target) -> Target:
    """Return a :class:`Target` by name (``"raspberry-pi-5"``, ``"local"``) or YAML path.

    Raises:
        TargetError: unknown name (with a did-you-mean hint), or a malformed
            file (naming the file, the field and the line).

    Example:
        >>> load_target("raspberry-pi-5").cpu_arch   # doctest: +SKIP
        'aarch64'
    """
    if isinstance(name_or_path, Target):
        return name_or_path
    text = str(name_or_path)
    if text == LOCAL:
        return local_target()
    path = expand_user(text)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        return load_target_file(path)
    bundled = _bundled()
    if text not in bundled:
        hint = difflib.get_close_matches(text, list_targets(), n=3, cutoff=0.5)
        extra = f"did you mean {', '.join(hint)}?" if hint else f"known targets: {', '.join(list_targets())}"
        raise TargetError(f"unknown target {text!r}; {extra} (or pass the path of a target .yaml)")
    return load_target_file(bundled[text])


def load_target_file(path: str | Path) -> Target:
    """Load and validate one target YAML file.

    Raises:
        TargetError: naming the file, the field and the line at fault.
    """
    from edgekit.targets.schema import read_target  # pydantic: only when a file is read

    path = Path(path)
    return Target.from_dict(read_target(path), path=path)


def local_target() -> Target:
    """The machine edgekit runs on, from its hardware profile (cached per process and set of
    registered backends: a backend registered later appears in the next call)."""
    return _local_target(tuple(list_backends()))


@functools.lru_cache(maxsize=4)
def _local_target(backends: tuple[str, ...]) -> Target:
    profile = profile_hardware()
    memory_mb = (profile.memory_total or 0) // 2**20
    figure = lambda v, what: None if v is None else Figure(v, source=f"measured here ({what})")
    return Target(
        name=LOCAL,
        description=f"this machine: {profile.summary()}",
        cpu_arch=profile.arch,
        cpu_model=profile.cpu_name,
        cores=profile.physical_cores or profile.logical_cores,
        isa=tuple(k for k, v in profile.isa.items() if v),
        memory_mb=memory_mb,
        backends=_local_backends(profile),
        budgets=Budgets(),  # no default limits here; free memory changes run to run (and would break caching)
        peak_gflops=figure(profile.peak_gflops, "edgekit profile --bench"),
        mem_bandwidth_gbs=figure(profile.mem_bandwidth_gbs, "edgekit profile --bench"),
        is_local=True,
    )


def _local_backends(profile) -> dict[str, dict[str, tuple[str, ...]]]:
    """Backends installed here, with the devices and precisions each declares for this profile
    (the registry decides, from the profile alone: no runtime is imported)."""
    return local_support(profile)
