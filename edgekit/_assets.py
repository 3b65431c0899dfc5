"""Where the files bundled with edgekit live (demo models, demo data).

Why a core module: the zoo finds bundled models here and :mod:`edgekit.data`
finds the bundled scans here; neither should import the other for a path.
"""

from __future__ import annotations

import sys
from pathlib import Path


def assets_dir(kind: str = "models") -> Path:
    """The bundled ``assets/<kind>`` folder: beside the ``edgekit`` package in a source
    checkout, else ``sys.prefix/share/edgekit/assets/<kind>`` where a wheel installs it.

    The checkout's folder is returned when neither exists, so an error names a real place.
    """
    candidates = [
        Path(__file__).resolve().parents[1] / "assets" / kind,
        Path(sys.prefix) / "share" / "edgekit" / "assets" / kind,
    ]
    for folder in candidates:
        if folder.is_dir():
            return folder
    return candidates[0]
