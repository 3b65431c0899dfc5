"""Detection datasets: YOLO txt (``images/`` + ``labels/``), COCO json and Pascal VOC xml.

Each reader returns a :class:`DetectionDataset`: a sequence of
``(image_bgr_uint8, GroundTruth)`` with boxes in image pixels and class ids in
the *model's* numbering, decoded lazily. Bad input never crashes a run: what
can be skipped is skipped and counted in ``dataset.skipped`` (boxes with a
class the model does not have, boxes far outside the image, annotations of
unknown COCO image ids); what makes the data unusable raises ``DataError``
naming the file and the fix. Empty label files and images without one are
background images, normal in detection data.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from edgekit._io import expand_user
from edgekit.data.digits import CLASSES
from edgekit.data.layouts import DETECTION_FORMS, detection_layout
from edgekit.data.sampling import first_labels, not_among
from edgekit.data.scenes import DATASET_NAMES, TEST_COUNT, TEST_SEED, TEST_SIZE, _scenes
from edgekit.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
_SLACK = 0.01  # normalised coordinates this far outside 0..1 are rounding: clipped, not skipped


@dataclass(frozen=True)
class GroundTruth:
    """The labelled boxes of one image.

    Attributes:
        boxes: ``(N, 4)`` float32 xyxy in image pixels.
        class_ids: ``(N,)`` int64 in the model's numbering.
        areas: ``(N,)`` object areas (COCO's segment area when given, else the box area).
        crowd: ``(N,)`` bool: crowd (COCO) or difficult (VOC) boxes, neither counted nor penalised.
    """

    boxes: np.ndarray
    class_ids: np.ndarray
    areas: np.ndarray
    crowd: np.ndarray


@dataclass(frozen=True)
class DetectionSample:
    """One image and its raw annotations (pixels, or 0..1 fractions for YOLO txt)."""

    image_id: int
    path: Path
    boxes: np.ndarray
    class_ids: np.ndarray
    normalized: bool = False
    areas: np.ndarray | None = None
    crowd: np.ndarray | None = None
    size: tuple[int, int] | None = None
    labelled: bool = True  # False: a YOLO image with no label file (scored as holding no objects)

    def truth(self, height: int, width: int) -> GroundTruth:
        """Boxes in pixels of an image of ``height`` x ``width``."""
        boxes = self.boxes.astype(np.float32).reshape(-1, 4)
        if self.normalized:
            boxes = boxes * np.array([width, height, width, height], np.float32)
        areas = self.areas if self.areas is not None else (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        crowd = self.crowd if self.crowd is not None else np.zeros(len(boxes), bool)
        return GroundTruth(boxes, self.class_ids.astype(np.int64), np.asarray(areas, np.float64), crowd)


@dataclass
class DetectionDataset:
    """Labelled images for detection.

    Attributes:
        samples: one per image, background images included.
        classes: class names in the model's numbering.
        source: the folder or file read.
        skipped: reason -> count of boxes or annotations left out.
    """

    samples: list[DetectionSample]
    classes: tuple[str, ...]
    source: Path
    skipped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, GroundTruth]:
        sample = self.samples[index]
        try:  # imdecode, not imread: no OpenCV warning on stderr beside the error below
            image = cv2.imdecode(np.fromfile(str(sample.path), np.uint8), cv2.IMREAD_COLOR)
        except OSError:
            raise DataError(f"image {sample.path} is missing; put it back or remove its annotations",
                            path=sample.path) from None
        if image is None:
            raise DataError(f"image {sample.path} cannot be decoded; remove or replace it", path=sample.path)
        return image, sample.truth(*image.shape[:2])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def describe_skips(self) -> str:
        """``""`` or one sentence listing what was left out."""
        return "; ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))


def open_detection_dataset(
    path: str | Path, *, labels: tuple[str, ...] | list[str] | None = None, num_classes: int | None = None
) -> DetectionDataset:
    """Read a YOLO folder, a COCO json file or a Pascal VOC folder, by what ``path`` holds.

    Args:
        path: a folder with ``images/`` + ``labels/`` (YOLO), a ``.json`` (COCO; images
            beside it or in ``images/``), a folder with ``Annotations/`` (VOC), or the bundled
            held-out digit scenes ``demo-det-test`` / ``demo-det-handwriting`` (:mod:`edgekit.data.scenes`).
        labels: the model's class names: COCO/VOC names, the names of a YOLO folder's
            ``classes.txt``/``obj.names`` and the digit scenes' classes are matched to them (see
            :func:`by_name`).
        num_classes: the model's class count: YOLO ids outside it are skipped and counted.

    Raises:
        DataError: missing folder, unreadable annotations, no images, or no box of any model class.

    Example:
        >>> data = open_detection_dataset("coco64", num_classes=80)    # doctest: +SKIP
        >>> image, truth = data[0]; truth.boxes.shape
        (2, 4)
    """
    if str(path) in DATASET_NAMES:  # the bundled held-out scenes
        scenes = scene_dataset(str(path))
        return by_name(scenes, labels) if labels else scenes
    root = expand_user(path)
    if not root.exists():
        bundled = ", ".join(DATASET_NAMES)  # e.g. demo-test, the digits classifier's, given to demo:digits-det
        raise DataError(f"detection data {root} does not exist; pass {DETECTION_FORMS} or the bundled "
                        f"digit scenes ({bundled})", path=root)
    names = tuple(labels) if labels else tuple(str(i) for i in range(num_classes or 0))
    layout = detection_layout(root)
    if layout is None and (root / "images").is_dir():
        raise DataError(f"{root} has images/ but no labels/ beside it, so no image has boxes; put YOLO labels "
                        "in labels/ (labels/X.txt for images/X.jpg: 'class cx cy w h' per box, 0..1)", path=root)
    if layout is None:
        raise DataError(f"{root} is not detection data; point --data at {DETECTION_FORMS}", path=root)
    data = {"coco": read_coco, "voc": read_voc, "yolo": read_yolo}[layout](root, names)
    if not data.samples:
        raise DataError(f"{root} holds no images; check the folder", path=root)
    boxes = sum(len(s.class_ids) for s in data.samples)
    if boxes == 0 and data.skipped:
        raise DataError(f"no box in {root} has a class the model knows ({data.describe_skips()}); check that "
                        "the labels use the model's classes", path=root)
    return data


NO_LABEL_FILE = "image(s) without a label file, scored as holding no objects"  # kept, not left out


def read_yolo(root: Path, names: tuple[str, ...]) -> DetectionDataset:
    """YOLO txt: ``images/**/X.jpg`` with ``labels/**/X.txt`` of ``class cx cy w h`` lines (0..1).

    The ids are the folder's own when it names its classes (``classes.txt``/``obj.names``), then
    matched to the model's ``names`` by name; else they are taken as the model's."""
    own = _yolo_names(root)
    if own and names and not all(n.isdigit() for n in names):  # numbers only: the ids are the names
        return by_name(_read_yolo(root, own), names)
    return _read_yolo(root, names or own)


def by_name(data: DetectionDataset, labels: tuple[str, ...] | list[str]) -> DetectionDataset:
    """``data`` in the model's class numbering: its own classes matched to ``labels`` by name.

    Boxes of classes the model does not have are left out and counted in ``skipped``, naming them.
    Why: a YOLO folder's ``classes.txt`` or the digit scenes number their classes their own way;
    taken as the model's ids, a COCO detector's "person" boxes were scored against the digit "0"
    (``edgekit eval yolov8n.onnx --data demo-det-test`` printed mAP@0.5 0.033 instead of an error).

    Raises:
        DataError: no class of ``data`` is one of the model's.
    """
    labels, own = tuple(str(n) for n in labels), tuple(str(n) for n in data.classes)
    to_model = class_map(own, labels)
    if to_model is None:
        return data
    if (to_model < 0).all():
        raise DataError(f"{not_among(own, labels, str(data.source))} ({first_labels(labels)}); label the boxes "
                        "with the model's classes", path=data.source)
    samples, lost = [], Counter()
    for sample in data.samples:
        ids = to_model[sample.class_ids]
        keep = ids >= 0
        lost.update(own[i] for i in sample.class_ids[~keep].tolist())
        samples.append(replace(sample, boxes=sample.boxes[keep], class_ids=ids[keep],
                               areas=None if sample.areas is None else sample.areas[keep],
                               crowd=None if sample.crowd is None else sample.crowd[keep]))
    skipped = Counter(data.skipped)
    if lost:
        names = ", ".join(repr(name) for name, _ in lost.most_common(3)) + (", ..." if len(lost) > 3 else "")
        skipped[f"box(es) of classes the model does not have ({names})"] += sum(lost.values())
    return replace(data, samples=samples, classes=labels, skipped=skipped)


def class_map(own: tuple[str, ...], labels: tuple[str, ...]) -> np.ndarray | None:
    """Each of ``own``'s classes as the model's class id by name (-1: the model lacks it); ``None``
    when ``own`` is already the model's numbering. A name the model has twice maps to the first.
    Used for data read here (:func:`by_name`) and for a live source's boxes (``RunningMap``)."""
    if not own or tuple(own) == tuple(labels[: len(own)]):
        return None
    index = {name: i for i, name in reversed(tuple(enumerate(labels)))}
    return np.asarray([index.get(name, -1) for name in own], np.int64)


def _read_yolo(root: Path, names: tuple[str, ...]) -> DetectionDataset:
    images_dir = root / "images" if (root / "images").is_dir() else root
    labels_dir = root / "labels"
    images = sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    skipped: Counter = Counter()
    samples = []
    for i, image in enumerate(images):
        label = (labels_dir / image.relative_to(images_dir)).with_suffix(".txt")
        if not label.is_file():
            skipped[NO_LABEL_FILE] += 1
            boxes, ids = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
        else:
            boxes, ids = _yolo_file(label, len(names), skipped)
        samples.append(DetectionSample(i, image, boxes, ids, normalized=True, labelled=label.is_file()))
    return DetectionDataset(samples, names, root, +skipped)  # + drops zero counts


def _yolo_names(root: Path) -> tuple[str, ...]:
    for name in ("classes.txt", "obj.names"):
        if (root / name).is_file():
            return tuple(x.strip() for x in (root / name).read_text(encoding="utf-8").splitlines() if x.strip())
    return ()


def _yolo_file(path: Path, num_classes: int, skipped: Counter) -> tuple[np.ndarray, np.ndarray]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            values = [float(v) for v in parts]
        except ValueError as exc:
            raise DataError(f"{path} line {n} is not 'class cx cy w h' numbers ({line.strip()[:60]!r}); "
                            "fix the label file", path=path) from exc
        if len(values) != 5 or values[0] != int(values[0]):
            raise DataError(f"{path} line {n} has {len(values)} numbers; YOLO detection labels are "
                            "'class cx cy w h' (segment polygons are not read)", path=path)
        rows.append(values)
    table = np.asarray(rows, np.float64).reshape(-1, 5)
    ids, cxcywh = table[:, 0].astype(np.int64), table[:, 1:]
    boxes = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
    return _keep(boxes, ids, num_classes, skipped, 1.0)


def _keep(boxes: np.ndarray, ids: np.ndarray, num_classes: int, skipped: Counter, span: float | np.ndarray):
    """Drop (and count) boxes of unknown classes or far outside the image; clip rounding slack."""
    known = (ids >= 0) & (ids < num_classes) if num_classes else ids >= 0
    skipped[f"box(es) with a class id outside the model's {num_classes} classes"] += int((~known).sum())
    limit = np.asarray(span, np.float64) * np.ones(4)
    slack = _SLACK * limit
    inside = np.all(boxes >= -slack, axis=1) & np.all(boxes <= limit + slack, axis=1)
    inside &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    skipped["box(es) outside the image or of zero size"] += int((known & ~inside).sum())
    keep = known & inside
    return np.clip(boxes[keep], 0, limit).astype(np.float32), ids[keep]


def read_coco(path: Path, names: tuple[str, ...]) -> DetectionDataset:
    """COCO json: ``images`` (id, file_name, height, width), ``annotations`` (image_id, category_id,
    bbox [x, y, w, h], area, iscrowd), ``categories``; images beside the json or in ``images/``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        images, annotations = doc["images"], doc.get("annotations", [])
        categories = doc.get("categories", [])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not a COCO json with 'images', 'annotations' and 'categories' ({exc})",
                        path=path) from exc
    cat_map, names = _category_map(categories, names, path)
    folder = path.parent / "images" if (path.parent / "images").is_dir() else path.parent
    skipped: Counter = Counter()
    by_image: dict[int, list[dict]] = {int(im["id"]): [] for im in images}
    for ann in annotations:
        if int(ann.get("image_id", -1)) not in by_image:
            skipped["annotation(s) of an image id not in 'images'"] += 1
            continue
        by_image[int(ann["image_id"])].append(ann)
    samples = [_coco_sample(im, by_image[int(im["id"])], cat_map, folder, skipped) for im in images]
    where = f"{folder} (a COCO json's images lie beside it or in images/ next to it)"
    return DetectionDataset(_present(samples, path, where, skipped), names, path, +skipped)


MISSING_IMAGE = "image(s) named in the annotations but not found, with their boxes"


def _present(samples: list[DetectionSample], source: Path, where: str, skipped: Counter) -> list[DetectionSample]:
    """The samples whose image file exists; the others are counted in ``skipped``.

    Why: a COCO json or a VOC folder names its images; where none is found (the json copied without
    them) the evaluation failed on the first, as "cannot be decoded", and a live demo played nothing.

    Raises:
        DataError: not one of the named images exists, naming where they were looked for.
    """
    present = [s for s in samples if s.path.is_file()]
    if samples and not present:
        raise DataError(f"none of the {len(samples)} images {source.name} names is in {where}; the first is "
                        f"{samples[0].path.name}. Put the images there", path=source)
    if len(present) < len(samples):
        skipped[MISSING_IMAGE] += len(samples) - len(present)
    return present


def _category_map(categories: list[dict], names: tuple[str, ...], path: Path) -> tuple[dict, tuple[str, ...]]:
    """COCO category id -> model class id: by name when the model has names, else by sorted id."""
    cats = sorted(categories, key=lambda c: int(c["id"]))
    if names and not all(n.isdigit() for n in names):
        index = _name_index(names)
        mapping = {int(c["id"]): index[str(c["name"]).lower()] for c in cats if str(c["name"]).lower() in index}
        if cats and not mapping:
            raise DataError(f"none of the categories in {path} ({', '.join(str(c['name']) for c in cats[:5])}...) "
                            "is a class of the model; check that the model and the data match", path=path)
        return mapping, names
    return {int(c["id"]): i for i, c in enumerate(cats)}, tuple(str(c["name"]) for c in cats) or names


def _coco_sample(image: dict, anns: list[dict], cat_map: dict, folder: Path, skipped: Counter) -> DetectionSample:
    h, w = int(image.get("height", 0)), int(image.get("width", 0))
    boxes, ids, areas, crowd = [], [], [], []
    for ann in anns:
        if int(ann.get("category_id", -1)) not in cat_map:
            skipped["box(es) of a category the model does not have"] += 1
            continue
        x, y, bw, bh = (float(v) for v in ann["bbox"])
        boxes.append([x, y, x + bw, y + bh])
        ids.append(cat_map[int(ann["category_id"])])
        areas.append(float(ann.get("area", bw * bh)))
        crowd.append(bool(ann.get("iscrowd", 0)))
    return DetectionSample(int(image["id"]), folder / str(image["file_name"]),
                           np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(ids, np.int64),
                           areas=np.asarray(areas, np.float64), crowd=np.asarray(crowd, bool),
                           size=(h, w) if h and w else None)


def read_voc(root: Path, names: tuple[str, ...]) -> DetectionDataset:
    """Pascal VOC: ``Annotations/X.xml`` (``object/name``, ``bndbox``, ``difficult``) and ``JPEGImages/X.jpg``."""
    images_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() else root / "images"
    xmls = sorted((root / "Annotations").glob("*.xml"))
    parsed = [_voc_file(x) for x in xmls]
    if not names or all(n.isdigit() for n in names):
        names = tuple(sorted({obj[0] for _, _, objs in parsed for obj in objs}))
    index = _name_index(names)
    skipped: Counter = Counter()
    samples = []
    for i, (xml, filename, objects) in enumerate(parsed):
        image = images_dir / (filename or xml.with_suffix(".jpg").name)
        kept = [o for o in objects if o[0].lower() in index]
        skipped["box(es) of a class the model does not have"] += len(objects) - len(kept)
        boxes = np.asarray([o[1] for o in kept], np.float32).reshape(-1, 4)
        samples.append(DetectionSample(i, image, boxes, np.asarray([index[o[0].lower()] for o in kept], np.int64),
                                       crowd=np.asarray([o[2] for o in kept], bool)))
    where = f"{images_dir} (a VOC folder's images lie in JPEGImages/)"
    return DetectionDataset(_present(samples, root, where, skipped), names, root, +skipped)


def _name_index(names: tuple[str, ...]) -> dict[str, int]:
    """Lower-case name -> class id, with Pascal VOC's spellings of COCO classes as aliases
    (a COCO-trained detector scored on VOC data)."""
    index = {n.lower(): i for i, n in enumerate(names)}
    for alias, name in _ALIASES.items():
        if name in index and alias not in index:
            index[alias] = index[name]
    return index


_ALIASES = {"aeroplane": "airplane", "motorbike": "motorcycle", "sofa": "couch", "tvmonitor": "tv",
            "diningtable": "dining table", "pottedplant": "potted plant"}


def _voc_file(path: Path) -> tuple[Path, str, list[tuple[str, list[float], bool]]]:
    try:
        tree = ET.parse(path).getroot()
        objects = [(o.findtext("name", "").strip(),
                    [float(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")],
                    o.findtext("difficult", "0").strip() == "1") for o in tree.iter("object")]
    except (ET.ParseError, AttributeError, TypeError, ValueError) as exc:
        raise DataError(f"{path} is not a Pascal VOC annotation with object/name and bndbox xmin..ymax ({exc})",
                        path=path) from exc
    return path, tree.findtext("filename", "").strip(), objects


def scene_dataset(name: str = "demo-det-test", count: int = TEST_COUNT, seed: int = TEST_SEED,
                  size: tuple[int, int] = TEST_SIZE):
    """The held-out scenes as a detection dataset (``edgekit.detection``'s format, rendered in memory).

    ``demo-det-test``: half held-out handwriting scans, half printed digits;
    ``demo-det-handwriting``: held-out real handwriting only. Scene ``i`` is the same
    whatever ``count`` is, so a smaller ``count`` is a prefix of the full set.
    """
    kind = DATASET_NAMES[name]
    scenes = _scenes(seed, count, tuple(size), kind)

    class SceneDataset(DetectionDataset):
        """Scenes held in memory; ``samples`` carry their boxes (pixels)."""

        @property
        def fingerprint(self) -> str:
            """Names the scenes held and their numbering: two halves of a split differ."""
            held = ",".join(f"{s.image_id}:{s.class_ids.tolist()}" for s in self.samples)
            digest = hashlib.blake2b(f"{held}|{self.classes}".encode(), digest_size=8).hexdigest()
            return f"scenes:{name}:{seed}:{count}:{tuple(size)}:{digest}"

        def __getitem__(self, index: int):
            if not 0 <= index < len(self.samples):
                raise IndexError(f"scene {index} is outside {name} ({len(self.samples)} scenes)")
            # the sample's own scene and boxes: a split (planner.detection.split) or by_name keeps a
            # subset of samples or remaps their ids; reading scenes[index] gave every half the first scenes
            sample = self.samples[index]
            boxes = sample.boxes.astype(np.float32)
            area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            return scenes[sample.image_id].image.copy(), GroundTruth(boxes.copy(), sample.class_ids.astype(np.int64),
                                                           area.astype(np.float64), np.zeros(len(boxes), bool))

    samples = [DetectionSample(i, Path(name) / f"{i:04d}.png", sc.boxes, sc.class_ids, size=tuple(size))
               for i, sc in enumerate(scenes)]
    return SceneDataset(samples, CLASSES, Path(name), Counter())
