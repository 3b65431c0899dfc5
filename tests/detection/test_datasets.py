"""YOLO txt, COCO json and Pascal VOC readers: boxes in pixels, bad input skipped and counted or refused."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from edgekit.detection.datasets import open_detection_dataset
from edgekit.errors import DataError


def _image(path, w=200, h=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((h, w, 3), np.uint8))


def _yolo(root, labels: dict[str, str | None]):
    for stem, text in labels.items():
        _image(root / "images" / f"{stem}.jpg")
        if text is not None:
            (root / "labels").mkdir(parents=True, exist_ok=True)
            (root / "labels" / f"{stem}.txt").write_text(text)
    return root


def test_yolo_boxes_in_pixels_background_and_skips_counted(tmp_path):
    root = _yolo(tmp_path / "set", {
        "a": "0 0.5 0.5 0.2 0.4\n7 0.5 0.5 0.1 0.1\n",  # class 7 is not one of the model's 3
        "b": "",  # empty: a background image
        "c": None,  # no label file: background too, counted
        "d": "1 1.4 0.5 0.2 0.2\n2 0.999 0.5 0.0040 0.2\n",  # far outside (skipped); rounding slack (clipped)
    })
    data = open_detection_dataset(root, num_classes=3)
    assert len(data) == 4
    image, truth = data[0]
    assert image.shape == (100, 200, 3)
    np.testing.assert_allclose(truth.boxes, [[80, 30, 120, 70]])
    assert truth.class_ids.tolist() == [0]
    assert len(data[1][1].boxes) == 0 and len(data[2][1].boxes) == 0
    np.testing.assert_allclose(data[3][1].boxes, [[199.4, 40, 200, 60]], atol=1e-3)
    assert data.skipped == {"box(es) with a class id outside the model's 3 classes": 1,
                            "box(es) outside the image or of zero size": 1,
                            "image(s) without a label file, scored as holding no objects": 1}


def test_yolo_labels_of_no_model_class_or_malformed_lines_are_refused(tmp_path):
    root = _yolo(tmp_path / "other", {"a": "12 0.5 0.5 0.2 0.2\n"})
    with pytest.raises(DataError, match="no box .* has a class the model knows"):
        open_detection_dataset(root, num_classes=3)
    bad = _yolo(tmp_path / "bad", {"a": "0 0.5 0.5 0.2\n"})
    with pytest.raises(DataError, match="a.txt line 1 has 4 numbers"):
        open_detection_dataset(bad, num_classes=3)
    with pytest.raises(DataError, match="is not detection data; point --data at a YOLO folder"):
        open_detection_dataset(tmp_path, num_classes=3)


def test_coco_json_maps_categories_by_name_and_counts_unknown_image_ids(tmp_path):
    _image(tmp_path / "images" / "x.jpg")
    doc = {
        "images": [{"id": 5, "file_name": "x.jpg", "width": 200, "height": 100}],
        "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}, {"id": 90, "name": "unicorn"}],
        "annotations": [
            {"id": 1, "image_id": 5, "category_id": 18, "bbox": [10, 20, 30, 40], "area": 900, "iscrowd": 0},
            {"id": 2, "image_id": 5, "category_id": 1, "bbox": [0, 0, 50, 50], "area": 2000, "iscrowd": 1},
            {"id": 3, "image_id": 5, "category_id": 90, "bbox": [0, 0, 5, 5], "area": 25},
            {"id": 4, "image_id": 77, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25},
        ],
    }
    (tmp_path / "val.json").write_text(json.dumps(doc))
    data = open_detection_dataset(tmp_path / "val.json", labels=("person", "cat", "dog"))
    _, truth = data[0]
    assert truth.class_ids.tolist() == [2, 0] and truth.crowd.tolist() == [False, True]
    np.testing.assert_allclose(truth.boxes[0], [10, 20, 40, 60])
    assert truth.areas.tolist() == [900, 2000]
    assert data.skipped == {"annotation(s) of an image id not in 'images'": 1,
                            "box(es) of a category the model does not have": 1}
    (tmp_path / "broken.json").write_text('{"annotations": []}')
    with pytest.raises(DataError, match="broken.json is not a COCO json"):
        open_detection_dataset(tmp_path / "broken.json", labels=("person",))


def test_voc_xml_reads_boxes_names_and_difficult_flags(tmp_path):
    _image(tmp_path / "JPEGImages" / "001.jpg")
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "001.xml").write_text(
        "<annotation><filename>001.jpg</filename>"
        "<object><name>dog</name><difficult>0</difficult><bndbox><xmin>10</xmin><ymin>20</ymin>"
        "<xmax>50</xmax><ymax>60</ymax></bndbox></object>"
        "<object><name>person</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2</ymin>"
        "<xmax>3</xmax><ymax>4</ymax></bndbox></object>"
        "<object><name>boat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>"
        "</annotation>")
    _image(tmp_path / "JPEGImages" / "000.jpg")
    (tmp_path / "Annotations" / "000.xml").write_text(  # VOC spells COCO's airplane "aeroplane"
        "<annotation><object><name>aeroplane</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>9</xmax>"
        "<ymax>9</ymax></bndbox></object></annotation>")
    assert open_detection_dataset(tmp_path, labels=("person", "dog", "airplane"))[0][1].class_ids.tolist() == [2]
    data = open_detection_dataset(tmp_path, labels=("person", "dog", "airplane"))
    _, truth = data[1]
    assert truth.class_ids.tolist() == [1, 0] and truth.crowd.tolist() == [False, True]
    np.testing.assert_allclose(truth.boxes[0], [10, 20, 50, 60])
    assert data.skipped == {"box(es) of a class the model does not have": 1}
    (tmp_path / "Annotations" / "002.xml").write_text("<annotation><object><name>dog</name></object>")
    with pytest.raises(DataError, match="002.xml is not a Pascal VOC annotation"):
        open_detection_dataset(tmp_path, labels=("person", "dog"))


def test_images_without_a_label_file_are_counted_among_those_evaluated(tmp_path):
    """``eval --data coco64 --limit 3`` said "2 image(s) without a label file" of two images past the third."""
    from edgekit.detection.evaluate import _skipped

    root = _yolo(tmp_path / "set", {"a": "0 0.5 0.5 0.2 0.4\n", "b": "", "c": None, "d": None})
    data = open_detection_dataset(root, num_classes=3)
    assert [s.labelled for s in data.samples] == [True, True, False, False]
    note = "image(s) without a label file, scored as holding no objects"
    assert _skipped(data, None)[note] == 2 and _skipped(data, 3)[note] == 1 and note not in _skipped(data, 2)


def test_a_yolo_folder_that_names_its_classes_is_matched_to_the_model_by_name(tmp_path):
    """classes.txt numbers the folder's classes its own way; taken as the model's ids, a "dog" box
    was scored as the model's class 0 ("person")."""
    root = _yolo(tmp_path / "named", {"a": "0 0.5 0.5 0.2 0.4\n1 0.2 0.2 0.1 0.1\n2 0.7 0.7 0.1 0.1\n"})
    (root / "classes.txt").write_text("dog\nperson\nokapi\n")
    data = open_detection_dataset(root, labels=("person", "bicycle", "dog"))
    truth = data[0][1]
    assert truth.class_ids.tolist() == [2, 0] and data.classes == ("person", "bicycle", "dog")
    np.testing.assert_allclose(truth.boxes[0], [80, 30, 120, 70])
    assert data.skipped == {"box(es) of classes the model does not have ('okapi')": 1}
    same = open_detection_dataset(root, labels=("dog", "person", "okapi", "cat"))  # already the model's order
    assert same[0][1].class_ids.tolist() == [0, 1, 2] and not same.skipped
    unnamed = open_detection_dataset(root, num_classes=80)  # a model without names: the ids are its own
    assert unnamed[0][1].class_ids.tolist() == [0, 1, 2]
    with pytest.raises(DataError, match=r"the dataset's classes 'dog', 'person', 'okapi' \(.*named\) are not "
                                        r"among the model's 2 labels \(car, bus\)"):
        open_detection_dataset(root, labels=("car", "bus"))


def test_the_digit_scenes_refuse_a_model_of_other_classes():
    """``edgekit eval yolov8n.onnx --data demo-det-test`` printed mAP@0.5 0.033 (COCO ids scored
    against digits); now it is an error naming both sets of classes. The digit model reads them as before."""
    from edgekit.data.digits import CLASSES

    with pytest.raises(DataError, match=r"the dataset's classes '0', '1', '2', '3', '4' \.\.\. \(demo-det-test\) "
                                        r"are not among the model's 3 labels \(person, bicycle, car\)"):
        open_detection_dataset("demo-det-test", labels=("person", "bicycle", "car"))
    digits = open_detection_dataset("demo-det-test", labels=CLASSES)
    reordered = open_detection_dataset("demo-det-test", labels=tuple(reversed(CLASSES)))
    ids, flipped = digits[0][1].class_ids, reordered[0][1].class_ids
    assert len(ids) and (flipped == 9 - ids).all() and reordered.classes == tuple(reversed(CLASSES))


def test_the_halves_of_a_split_of_the_digit_scenes_hold_different_scenes():
    """A scene dataset read scene ``index`` whatever its samples were: the planner's seeded halves
    (calibration, validation) both held the first scenes, so validation overlapped calibration."""
    from edgekit.planner.detection import split

    full = open_detection_dataset("demo-det-test")
    calib, val = split(full)
    for half in (calib, val):
        for i in (0, len(half) - 1):
            image, truth = half[i]
            whole_image, whole_truth = full[half.samples[i].image_id]
            assert np.array_equal(image, whole_image) and np.array_equal(truth.boxes, whole_truth.boxes)
    seen = {full.samples.index(s) for s in calib.samples}
    assert seen.isdisjoint(s.image_id for s in val.samples)
    assert not np.array_equal(calib[0][0], val[0][0]) and calib.fingerprint != val.fingerprint


def test_a_folder_of_images_without_labels_is_refused_naming_the_missing_labels_folder(tmp_path):
    """Read as YOLO, every image was "holding no objects" and the mAP was scored against nothing."""
    (tmp_path / "images").mkdir()
    _image(tmp_path / "images" / "a.jpg")
    with pytest.raises(DataError, match=r"has images/ but no labels/ beside it.*labels/X.txt"):
        open_detection_dataset(tmp_path, num_classes=80)
    (tmp_path / "notes.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="notes.csv is not detection data; point --data at a YOLO folder"):
        open_detection_dataset(tmp_path / "notes.csv", num_classes=80)


@pytest.mark.parametrize("form", ["coco", "voc"])
def test_images_an_annotation_file_names_but_that_are_missing_are_counted_or_refused(tmp_path, form):
    """A COCO json copied without its images failed on the first as "cannot be decoded" (with an OpenCV
    warning on stderr), and a live demo of it played no frame at all."""
    names = ("a", "b", "c")
    if form == "coco":
        path = tmp_path / "val.json"
        path.write_text(json.dumps({
            "images": [{"id": i, "file_name": f"{n}.jpg", "width": 200, "height": 100} for i, n in enumerate(names)],
            "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [10, 20, 30, 40]}],
            "categories": [{"id": 1, "name": "dog"}]}))
        folder = tmp_path / "images"
    else:
        path, folder = tmp_path, tmp_path / "JPEGImages"
        (tmp_path / "Annotations").mkdir()
        for n in names:
            (tmp_path / "Annotations" / f"{n}.xml").write_text(
                f"<annotation><filename>{n}.jpg</filename><object><name>dog</name><bndbox><xmin>10</xmin>"
                "<ymin>20</ymin><xmax>40</xmax><ymax>60</ymax></bndbox></object></annotation>")
    with pytest.raises(DataError, match=r"none of the 3 images .* names is in .*; the first is a.jpg"):
        open_detection_dataset(path, labels=("dog",))
    _image(folder / "a.jpg")
    _image(folder / "c.jpg")
    data = open_detection_dataset(path, labels=("dog",))
    assert [s.path.name for s in data.samples] == ["a.jpg", "c.jpg"]
    assert data.skipped == {"image(s) named in the annotations but not found, with their boxes": 1}
    (folder / "c.jpg").unlink()  # gone after it was listed
    with pytest.raises(DataError, match="c.jpg is missing; put it back"):
        data[1]
