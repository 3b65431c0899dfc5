"""Class names from a labels file, made unique.

Its own module because both ends read such files: :func:`edgekit.load_model` (``labels="classes.txt"``)
and the card flags (``--labels``), and the card flags load models.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from edgekit.errors import DataError, warn_caller

__all__ = ["disambiguate", "read_labels"]


def read_labels(path: str | Path, synsets: str | Path | None = None) -> tuple[str, ...]:
    """Class names from a ``.txt`` (one per line), ``.csv`` (``index,name`` or ``name``) or ``.json`` list.

    Duplicate names (ImageNet has two "crane" and two "maillot") would merge two
    classes in every metric: they are disambiguated with the synset id when a
    ``synset.txt`` lies beside the file (``crane (n02012849)``), else with the
    class index (``crane (#134)``), with a warning.

    Raises:
        DataError: missing or empty file, naming it.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"labels file {file} does not exist; give a .txt with one class name per line", path=file)
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json":
        names = [str(x) for x in json.loads(text)]
    elif file.suffix.lower() in (".csv", ".tsv"):
        rows = [r for r in csv.reader(text.splitlines(), delimiter="\t" if file.suffix == ".tsv" else ",") if r]
        rows = rows[1:] if rows and rows[0][0].strip().lower() in ("index", "id", "label", "name", "class") else rows
        names = [r[-1].strip() for r in sorted(rows, key=lambda r: int(r[0]) if r[0].strip().isdecimal() else 0)]
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise DataError(f"labels file {file} holds no class names; one name per line", path=file)
    return disambiguate(tuple(names), _synsets(file, synsets), where=file)


def disambiguate(names: tuple[str, ...], synsets: list[str] | None = None, where: Any = "labels") -> tuple[str, ...]:
    """``names`` with duplicates made unique (synset id, else index), with a warning naming them."""
    counts = Counter(names)
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if not dupes:
        return names
    use_synset = synsets is not None and len(synsets) == len(names)
    out = tuple(f"{n} ({synsets[i] if use_synset else f'#{i}'})" if counts[n] > 1 else n for i, n in enumerate(names))
    warn_caller(f"{where}: duplicate class names {', '.join(map(repr, dupes[:5]))} were made unique "
                f"({'by synset id' if use_synset else 'by class index'}), e.g. {out[names.index(dupes[0])]!r}")
    return out


def _synsets(labels_file: Path, synsets: str | Path | None) -> list[str] | None:
    candidate = Path(synsets) if synsets else labels_file.with_name("synset.txt")
    if not candidate.is_file():
        return None
    return [line.split()[0] for line in candidate.read_text(encoding="utf-8").splitlines() if line.strip()]
