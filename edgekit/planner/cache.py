"""Plan results cached by (model hash, hardware fingerprint, runtime versions, settings, target).

Measuring takes minutes; the same question on the same machine with the same
software has the same answer. The key leaves out where the report is written.
A cached report whose model files are gone is not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from edgekit._io import write_text_atomic
from edgekit.planner.report import Report


def cache_root() -> Path:
    """``$EDGEKIT_CACHE/plans`` or the platform's user cache folder."""
    override = os.environ.get("EDGEKIT_CACHE")
    if override:
        return Path(override).expanduser() / "plans"
    import platformdirs

    return Path(platformdirs.user_cache_dir("edgekit")) / "plans"


def cache_key(model_sha: str, fingerprint: str, versions: dict, settings: dict, target: dict) -> str:
    """24 hex chars over everything that changes the measured answer."""
    blob = json.dumps({"model": model_sha, "hw": fingerprint, "versions": versions, "settings": settings,
                       "target": target}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def load(key: str) -> Report | None:
    """The cached report for ``key`` when it exists, parses, and its chosen model is still on disk."""
    path = cache_root() / f"{key}.json"
    try:
        report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    files = report.best.model.get("files") or []
    if not all(Path(f).exists() for f in files):
        return None
    return report


def store(key: str, report: Report) -> Path:
    """Write ``report`` under ``key`` (replacing an older entry)."""
    return write_text_atomic(cache_root() / f"{key}.json", report.to_json(), force=True)


def work_dir(key: str) -> Path:
    """Where candidate models of a plan live when no ``out`` folder is given."""
    path = cache_root() / key
    path.mkdir(parents=True, exist_ok=True)
    return path
