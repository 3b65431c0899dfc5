"""How every writer of models in edgekit puts its output in place (convert, compress).

The output is written into a scratch folder beside its destination, checked,
and only then moved into place, main file last, each file re-checked to be new
(``force`` aside), so a failure never leaves half a model behind.

Kept apart from :mod:`edgekit.models.conversion` so that importing these helpers does
not bind the ``convert`` submodule over the lazily exported ``convert`` function.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgekit._io import check_writable
from edgekit.models.model import Model
from edgekit.types import Format, Task


def safe_stem(model: Model) -> str:
    """File stem for outputs made from ``model``: its file's stem, else its name made file-safe."""
    return model.path.stem if model.path else re.sub(r"[^A-Za-z0-9_.-]+", "_", model.name) or "model"


def output_files(dest: Path, fmt: Format, with_card: bool) -> list[Path]:
    """Every file written for ``dest`` (``.bin``, ``.json`` card), the main file last (it appears only when complete)."""
    names = [dest.with_suffix(".bin")] if fmt is Format.OPENVINO else []
    if with_card:
        names.append(dest.with_suffix(".json"))
    return [*names, dest]


def model_card(source: Model, origin: str) -> dict | None:
    """The ``.json`` card (preprocess, labels, task, validation data) written beside a model made
    from ``source``; ``origin`` names the step (``"converted_from"``, ``"compressed_from"``).
    ``None`` when there is nothing to carry."""
    if source.preprocess is None and source.labels is None and source.validation is None \
            and source.task is Task.CLASSIFICATION:
        return None
    card = {
        "task": str(source.task),
        "preprocess": None if source.preprocess is None else source.preprocess.to_dict(),
        "labels": None if source.labels is None else list(source.labels),
        origin: {"format": str(source.format), "sha256": source.sha256},
    }
    if source.validation is not None:
        card["validation"] = source.validation.to_dict()
    decoder = source.metadata.get("card", {}).get("detection")  # a detector's decoder settings travel too
    if decoder is not None:
        card["detection"] = decoder
    return card


@contextmanager
def staging_dir(dest: Path) -> Iterator[Path]:
    """A scratch folder beside ``dest`` (same file system, so moves are atomic), removed afterwards;
    so are the folders made for ``dest`` when nothing landed in them (a Ctrl-C or a failure: an
    interrupted ``compress --format openvino --out ir/`` left an empty ``ir/`` behind)."""
    made = [folder for folder in (dest.parent, *dest.parent.parents) if not folder.exists()]  # innermost first
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    except OSError as exc:  # name the user's output, not our scratch name
        from edgekit.errors import ConfigError

        raise ConfigError(f"cannot write {dest} ({exc.strerror or exc}); choose an output in a folder you can "
                          "write to", path=dest) from exc
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in made:
            try:
                folder.rmdir()  # only an empty one: a finished output keeps its folder
            except OSError:
                break


def move_into_place(stage: Path, finals: list[Path], force: bool) -> None:
    """Move ``stage/<name>`` onto each of ``finals`` in order, re-checking each is still new."""
    for final in finals:
        check_writable(final, force)
        os.replace(stage / final.name, final)
