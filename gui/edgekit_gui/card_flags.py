"""Preprocessing and labels set in the app, carried into a saved plan.yaml/live.yaml as card flags.

Why: the Model page's editor keeps what the user set in the app (keyed by the file's hash). A config
saved for a bare ONNX without it was refused on replay (`edgekit run`): nothing said how to feed
the model. The flags are checked by loading the file again (:func:`edgekit.models.card_options.flags_for`),
which costs a parse and a hash of the whole file, so it runs in a worker.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from edgekit.errors import EdgekitError


def set_in_app(model: Any) -> list[str]:
    """The card fields (preprocessing keys, ``"labels"``) the user set in the app for ``model``
    (none for no model)."""
    from edgekit.models.card_options import set_by_user

    return [] if model is None else set_by_user(model)


def flags_in_worker(model: Any, progress: Any) -> dict | None:
    """Worker: the card flags that give a fresh load of ``model`` its preprocessing (``None``: none needed
    or none can)."""
    from edgekit.models.card_options import flags_for

    return flags_for(model)


def saved_message(written: Any, model: Any, flags: dict | None) -> tuple[bool, str]:
    """``(complete, sentence)`` for the banner after saving: whether all the app set travels in the file."""
    app = set_in_app(model)
    left = (["preprocessing"] if flags is None and set(app) - {"labels"} else []) + \
        (["labels"] if "labels" in app else [])  # a config names a labels file; the app's labels have none
    if not left:
        return True, f"Saved {written}; replay it with: edgekit run {written}"
    return False, (f"Saved {written}, without the {' and '.join(left)} set in the app: `edgekit card MODEL ... "
                   f"--save` writes them beside the model, where `edgekit run {written}` finds them")


def save_config(page: Any, config: Any, model: Any, path: str) -> Any:
    """Write ``config`` (a ``PlanConfig`` or ``LiveConfig``) to ``path`` with the card flags of what
    the app set for ``model``, saying on ``page``'s banner what the file keeps.

    Returns the path written, or ``None``: an error was shown, or the flags are checked in a worker
    on ``page``'s runner and the file is written when that ends."""
    if model is None or not set_in_app(model):
        return _write(page, config, model, None, path)
    page.start_job(flags_in_worker, model, on_result=lambda flags: _write(page, config, model, flags, path),
                      on_error=page.banner.show_error)
    return None


def _write(page: Any, config: Any, model: Any, flags: dict | None, path: str) -> Any:
    try:
        written = dataclasses.replace(config, card_flags=flags).save(path, force=True)
    except EdgekitError as exc:
        page.banner.show_error(exc)
        return None
    complete, sentence = saved_message(written, model, flags)
    (page.banner.show_success if complete else page.banner.show_info)(sentence)
    return written
