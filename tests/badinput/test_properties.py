"""Property tests of every parser edgekit has for outside input (hypothesis).

Whatever the bytes or the structure, each parser either returns or raises its own
``EdgekitError`` subclass (``RequestError`` for the server's codec) with one sentence;
never a ``KeyError``/``TypeError``/``RecursionError`` from inside.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edgekit.errors import BundleError, ConfigError, DataError, ModelLoadError, TargetError

from .conftest import assert_sentence

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                    st.text(max_size=20))
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)), max_leaves=30)


def _manifest() -> dict:
    return {
        "schema_version": 1, "name": "demo:digits", "format": "onnx", "model_file": "model/m.onnx",
        "inputs": [{"name": "input", "shape": ["batch", 3, 64, 64], "dtype": "float32", "layout": "NCHW"}],
        "outputs": [{"name": "logits", "shape": ["batch", 10], "dtype": "float32", "layout": "NC"}],
        "backends": [{"backend": "onnxruntime", "precision": "fp32"}],
        "files": {"model/m.onnx": {"sha256": "0" * 64, "size": 10}},
        "preprocess": {"size": [64, 64], "mean": [0.5] * 3, "std": [0.25] * 3},
        "runtime": {"threads": 1, "options": {}}, "tolerance": {"accuracy": 0.02},
        "validation": {"file": "validation/sample.npz", "samples": 4},
    }


def _paths(data, prefix=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


MANIFEST_PATHS = list(_paths(_manifest()))


@FAST
@given(where=st.sampled_from(MANIFEST_PATHS), value=json_values)
def test_any_manifest_field_replaced_by_anything_is_accepted_or_one_bundle_error(where, value):
    from edgekit.deployment.manifest import Manifest

    data = copy.deepcopy(_manifest())
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Manifest.from_dict(data)
    except BundleError as exc:
        assert_sentence(str(exc))


@FAST
@given(card=st.dictionaries(st.sampled_from(["preprocess", "labels", "task", "input_shape", "other"]), json_values,
                            max_size=4))
def test_any_model_card_is_accepted_or_one_model_load_error(card, tmp_path_factory):
    from edgekit.zoo.hub import read_card

    folder = tmp_path_factory.mktemp("card")
    (folder / "m.json").write_text(json.dumps(card))
    try:
        with warnings.catch_warnings():  # unknown keys are warned about, by design
            warnings.simplefilter("ignore")
            read_card(folder / "m.onnx")
    except ModelLoadError as exc:
        assert_sentence(str(exc), "m.json")


@FAST
@given(text=st.text(max_size=300))
def test_any_yaml_text_loads_or_is_one_config_error(text):
    from edgekit.safeyaml import load_yaml

    try:
        load_yaml(text, path="x.yaml")
    except ConfigError as exc:
        assert_sentence(str(exc), "x.yaml")


@FAST
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_json_text_loads_or_is_one_config_error(text):
    from edgekit.safeyaml import load_json

    try:
        load_json(text, path="x.json")
    except ConfigError as exc:
        assert_sentence(str(exc), "x.json")


@FAST
@given(plan=st.dictionaries(st.sampled_from(["model", "seconds", "methods", "max_accuracy_drop", "objective",
                                             "calibration_samples", "target", "data", "verify", "bogus"]),
                            json_values, max_size=5))
def test_any_plan_mapping_is_a_plan_or_one_config_error(plan):
    from edgekit.planner.config import PlanConfig

    try:
        PlanConfig.from_dict(plan, where="plan.yaml")
    except (ConfigError, DataError) as exc:
        assert_sentence(str(exc), "plan.yaml")


@FAST
@given(text=st.text(max_size=400))
def test_any_target_yaml_is_a_target_or_one_target_error(text, tmp_path_factory):
    from edgekit.targets import load_target

    path = tmp_path_factory.mktemp("t") / "t.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_target(path)
    except TargetError as exc:
        assert_sentence(str(exc), "t.yaml")


def _request_docs():
    item = st.fixed_dictionaries({
        "name": st.one_of(st.just("input"), json_values),
        "shape": st.one_of(st.lists(st.integers(-2, 5), max_size=5), json_values),
        "datatype": st.one_of(st.sampled_from(["FP32", "INT64", "BOOL", "BYTES", "FP16"]), json_values),
    }, optional={"data": json_values, "parameters": json_values})
    return st.fixed_dictionaries({"inputs": st.one_of(st.lists(item, max_size=3), json_values)},
                                 optional={"outputs": json_values, "parameters": json_values, "id": json_values})


@FAST
@given(doc=_request_docs(), header=st.one_of(st.none(), st.integers(-5, 400)), tail=st.binary(max_size=64))
def test_any_infer_request_decodes_or_is_one_request_error(doc, header, tail):
    from edgekit.serve.protocol import RequestError, parse_request

    body = json.dumps(doc).encode() + (tail if header is not None else b"")
    try:
        parse_request(body, header, max_elements=10_000)
    except RequestError as exc:
        assert 400 <= exc.status < 500 and exc.code
        assert_sentence(exc.message)


@FAST
@given(body=st.binary(max_size=400))
def test_any_bytes_as_an_infer_request_are_one_request_error(body):
    from edgekit.serve.protocol import RequestError, parse_request

    try:
        parse_request(body, None)
    except RequestError as exc:
        assert_sentence(exc.message)


@FAST
@given(rows=st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"),
                                      max_size=12), max_size=4), max_size=8),
       sep=st.sampled_from([",", "\t", " "]))
@example(rows=[["", "\u00b9"]], sep=",")  # a superscript one: str.isdigit() says yes, int() refuses it (found here)
def test_any_csv_manifest_is_a_dataset_or_one_data_error(rows, sep, tmp_path_factory):
    import cv2
    import numpy as np

    from edgekit.data import ManifestDataset

    folder = tmp_path_factory.mktemp("csv")
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 8, 3), np.uint8))
    manifest = folder / "labels.csv"
    manifest.write_text("\n".join(sep.join(r) for r in rows + [["a.png", "cat"]]) + "\n", encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ManifestDataset(manifest)
    except DataError as exc:
        assert_sentence(str(exc))


def test_the_property_corpus_reads_real_files_too(digits_bundle):
    """The real manifest passes the same schema the properties attack."""
    from edgekit.deployment.manifest import Manifest

    assert Manifest.read(Path(digits_bundle)).name == "demo:digits"
