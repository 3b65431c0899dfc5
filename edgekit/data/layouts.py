"""Which kind of box-labelled data a path holds, told from its layout alone (no file is opened).

Why one place: the detection reader (``edgekit eval --data``), the live demo's source
(``edgekit demo --source``) and the classifier's class check each knew the YOLO and VOC folder
names on their own, and they drifted: ``eval`` read a VOC folder and a COCO ``.json`` while
``demo --source`` played the same VOC folder as unlabelled photos (no mAP) and refused the
``.json`` as "not a video".
"""

from __future__ import annotations

from pathlib import Path

YOLO_FOLDERS = ("images", "labels")  # images/X.jpg with labels/X.txt (or the images beside labels/)
VOC_FOLDERS = ("Annotations", "JPEGImages")  # Annotations/X.xml with JPEGImages/X.jpg
DETECTION_FORMS = "a YOLO folder (images/ + labels/), a COCO .json or a VOC folder (Annotations/ + JPEGImages/)"


def detection_layout(path: str | Path) -> str | None:
    """``"coco"`` (a ``.json`` file), ``"voc"`` (a folder with ``Annotations/``), ``"yolo"`` (a folder
    with ``labels/``) or ``None``: not box-labelled data by its layout.

    A folder holding only ``images/`` is not called YOLO: without ``labels/`` nothing in it is
    labelled, and as a live source it is a plain folder of photos.
    """
    path = Path(path)
    if path.is_file():
        return "coco" if path.suffix.lower() == ".json" else None
    if (path / VOC_FOLDERS[0]).is_dir():
        return "voc"
    if (path / YOLO_FOLDERS[1]).is_dir():
        return "yolo"
    return None


def names_detection_folders(classes: list[str] | tuple[str, ...]) -> bool:
    """Whether class names read from a folder's sub-folders are a YOLO or VOC layout's
    (``images`` and ``labels``): a detection dataset opened as one sub-folder per class."""
    return any(set(layout) <= set(classes) for layout in (YOLO_FOLDERS, VOC_FOLDERS))
