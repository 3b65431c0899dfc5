"""Persistent settings (recent models, last target, last source, window geometry).

``EDGEKIT_GUI_SETTINGS=/path/file.ini`` sends them to an ini file instead of the
platform store, which is how tests keep a user's settings untouched.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

ORG, APP = "edgekit", "edgekit-gui"
MAX_RECENT = 8


def app_settings() -> QSettings:
    """The app's settings object (ini file when ``EDGEKIT_GUI_SETTINGS`` is set)."""
    path = os.environ.get("EDGEKIT_GUI_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORG, APP)


def _as_list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def recent_models() -> list[str]:
    """Most recently opened models, newest first."""
    return _as_list(app_settings().value("models/recent"))


def add_recent_model(source: str) -> list[str]:
    """Put ``source`` first in the recent list and return the new list."""
    items = [source] + [s for s in recent_models() if s != source]
    app_settings().setValue("models/recent", items[:MAX_RECENT])
    return items[:MAX_RECENT]


def get(key: str, default: str = "") -> str:
    """A string setting (``"targets/last"``, ``"live/source"``...)."""
    value = app_settings().value(key, default)
    return default if value is None else str(value)


def put(key: str, value: str) -> None:
    """Store a string setting."""
    app_settings().setValue(key, value)


def saved_card(sha256: str | None) -> dict | None:
    """Preprocessing and labels the user applied to the model with this sha256 (``None`` when never)."""
    import json

    if not sha256:
        return None
    text = app_settings().value(f"cards/{sha256}")
    try:
        card = json.loads(text) if isinstance(text, str) and text else None
    except ValueError:
        return None
    return card if isinstance(card, dict) else None


def save_card(sha256: str | None, card: dict) -> None:
    """Remember ``card`` (``{"preprocess": ..., "labels": ...}``) for the model file with this sha256."""
    import json

    if sha256:
        app_settings().setValue(f"cards/{sha256}", json.dumps(card))
