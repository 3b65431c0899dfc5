"""Plan results cached by (model hash, hardware fingerprint, runtime versions, edgekit's own code,
settings, target).

Measuring takes minutes; the same question on the same machine with the same
software has the same answer. The key leaves out where the report is written.
A cached report whose model files are gone is not used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from edgekit._disk_cache import touch, trim
from edgekit._io import expand_user, write_text_atomic
from edgekit.planner.report import Report, relative_to


def cache_root() -> Path:
    """``$EDGEKIT_CACHE/plans`` or the platform's user cache folder."""
    override = os.environ.get("EDGEKIT_CACHE")
    if override:
        return expand_user(override) / "plans"
    import platformdirs

    return Path(platformdirs.user_cache_dir("edgekit")) / "plans"


def cache_key(model_sha: str, fingerprint: str, versions: dict, settings: dict, target: dict) -> str:
    """24 hex chars over everything that changes the measured answer, edgekit's own code included."""
    blob = json.dumps({"model": model_sha, "hw": fingerprint, "versions": versions, "settings": settings,
                       "target": target, "code": code_stamp()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=1)
def code_stamp() -> str:
    """A hash of edgekit's own source files (once per process: about 1.5 MB read, a few ms).

    Why not the version alone: in a checkout (``pip install -e``) the version stays the same while
    the planner, a backend or a quantizer changes, and a plan cached before the change was reused
    after it, silently answering with the old code's measurements and choices. An installed wheel's
    files do not change, so its stamp, like its version, is the same from run to run."""
    return source_stamp(Path(__file__).resolve().parents[1])


def source_stamp(root: Path) -> str:
    """16 hex chars over the names and contents of the ``.py`` files under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:  # a file that vanished while being read: the stamp still says something changed
            digest.update(b"?")
    return digest.hexdigest()[:16]


def load(key: str) -> Report | None:
    """The cached report for ``key`` when it exists, parses, and its chosen model is still on disk."""
    path = cache_root() / f"{key}.json"
    try:
        report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for cand in report.candidates:  # every candidate's files: a new --out gets them all (adopt_artifacts)
        files = cand.model.get("files") or [] if isinstance(cand.model, dict) else []
        if not all(Path(f).exists() for f in files):
            return None
    touch(path, cache_root() / key)  # in use: the last to go when the cache is trimmed
    return report


def store(key: str, report: Report) -> Path:
    """Write ``report`` under ``key`` (replacing an older entry)."""
    data = relative_to(report.to_dict(), None)  # absolute: a later run from another folder finds the files
    path = write_text_atomic(cache_root() / f"{key}.json", json.dumps(data, indent=2, default=str), force=True)
    # within $EDGEKIT_CACHE_MAX_MB, least recently used first; a plan's KEY.json and KEY/ go together (a user's
    # --out folder holds its own links or copies of the files, so it keeps working)
    trim(cache_root(), keep=path, entry=lambda name: name.removesuffix(".json"))
    return path


def work_dir(key: str) -> Path:
    """Where candidate models of a plan live when no ``out`` folder is given."""
    path = cache_root() / key
    path.mkdir(parents=True, exist_ok=True)
    return path


def adopt_artifacts(report: Report, out: str | Path, source: str | Path | None) -> Report:
    """``report`` with every built candidate model linked (or copied) into ``out/models``.

    Why: a cache hit answers for a new ``--out``, but its files were written into the
    earlier run's folder; a report pointing there breaks when that folder is deleted or
    the new one is moved. The user's own model file (``source``) is never copied.
    """
    from dataclasses import replace

    own = Path(source).resolve() if source is not None and Path(source).exists() else None
    dest_root = Path(out).resolve() / "models"
    built = _build_root(report)
    candidates = []
    for cand in report.candidates:
        path = cand.model.get("path") if isinstance(cand.model, dict) else None
        if not path or not Path(path).exists() or Path(path).resolve() == own \
                or Path(path).resolve().is_relative_to(dest_root) \
                or built is None or not Path(path).resolve().is_relative_to(built):
            candidates.append(cand)  # the model given (a file or a bundled demo) stays where it is
            continue
        main = Path(path)
        folder = dest_root / main.parent.name
        files = [Path(f) for f in cand.model.get("files") or [main]]
        moved = [_link_or_copy(f, folder / f.relative_to(main.parent)) for f in files]
        model = {**cand.model, "path": str(folder / main.name), "files": [str(f) for f in moved]}
        candidates.append(replace(cand, model=model, model_obj=None))
    return replace(report, candidates=tuple(candidates))


def _build_root(report: Report) -> Path | None:
    """The folder the earlier run built its models in (each in a sub-folder of it): the
    common parent of the compressed candidates' folders, or ``None`` when nothing was built."""
    roots = {Path(c.model["path"]).resolve().parent.parent for c in report.candidates
             if isinstance(c.model, dict) and c.model.get("path") and c.method not in ("fp32", "eager")}
    return roots.pop() if len(roots) == 1 else None


def _link_or_copy(src: Path, dest: Path) -> Path:
    """A hard link where the file system allows (no extra space), else a copy."""
    import shutil

    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists():
        try:
            os.link(src, dest)
        except OSError:
            shutil.copy2(src, dest)
    return dest
