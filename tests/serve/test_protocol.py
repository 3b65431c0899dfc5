"""The Open Inference Protocol codec on its own: JSON and binary tensors both ways."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from edgekit.serve.protocol import HEADER_LENGTH, RequestError, classification, encode_response, parse_request


def test_json_and_binary_inputs_decode_to_the_same_array():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    as_json = json.dumps({"id": "7", "inputs": [{"name": "x", "shape": [1, 2, 3], "datatype": "FP32",
                                                  "data": [[[0, 1, 2], [3, 4, 5]]]}]}).encode()
    head = json.dumps({"inputs": [{"name": "x", "shape": [1, 2, 3], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 24}}]}).encode()
    a = parse_request(as_json, None)
    b = parse_request(head + x.tobytes(), len(head))
    assert a.id == "7" and b.id is None
    np.testing.assert_array_equal(a.inputs["x"], x)
    np.testing.assert_array_equal(b.inputs["x"], x)
    assert a.inputs["x"].dtype == b.inputs["x"].dtype == np.float32


def test_binary_outputs_carry_sizes_and_the_header_length():
    y = np.array([[1.5, -2.0]], dtype=np.float32)
    body, headers = encode_response("m", "1", [("y", y, True)])
    head_len = int(headers[HEADER_LENGTH])
    doc = json.loads(body[:head_len])
    assert doc["outputs"][0] == {"name": "y", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}}
    np.testing.assert_array_equal(np.frombuffer(body[head_len:], np.float32).reshape(1, 2), y)
    body, headers = encode_response("m", None, [("y", y, False)])
    assert headers == {} and json.loads(body)["outputs"][0]["data"] == [1.5, -2.0]


def test_classification_strings_and_their_binary_form():
    top = classification(np.array([[0.1, 0.7, 0.2]]), 2, ("a", "b", "c"))
    assert top.tolist() == [["0.700000:1:b", "0.200000:2:c"]]
    body, headers = encode_response("m", None, [("y", top, True)])
    blob = body[int(headers[HEADER_LENGTH]):]
    (size,) = struct.unpack("<I", blob[:4])
    assert blob[4 : 4 + size] == b"0.700000:1:b"


@pytest.mark.parametrize("doc, message", [
    ([], "'inputs' list"),
    ({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2, 3]}]}, "needs 2"),
    ({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": []}]}, "non-negative"),
    ({"inputs": [{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 999]}]}, "do not fit"),
    ({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [[1], [2, 3]]}]}, "numbers only|regular nested list"),
    ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}, "neither 'data'"),
    ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}] * 2}, "given twice"),
    ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "outputs": [{"name": 3}]}, "'name'"),
])
def test_malformed_requests_name_the_problem(doc, message):
    with pytest.raises(RequestError, match=message) as info:
        parse_request(json.dumps(doc).encode(), None)
    assert info.value.status == 400


def test_header_length_must_fit_the_body():
    with pytest.raises(RequestError, match="does not fit"):
        parse_request(b"{}", 10)


def test_bytes_inputs_decode_from_json_strings_and_length_prefixed_binary():
    files = [b"\x89PNG\r\n\x1a\nfirst", b"second\x00\xff"]
    as_json = json.dumps({"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES",
                                      "data": ["text", "more"]}]}).encode()
    assert parse_request(as_json, None).inputs["image"].tolist() == [b"text", b"more"]
    blob = b"".join(struct.pack("<I", len(f)) + f for f in files)
    head = json.dumps({"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES",
                                   "parameters": {"binary_data_size": len(blob)}}]}).encode()
    got = parse_request(head + blob, len(head)).inputs["image"]
    assert got.dtype == object and got.tolist() == files
    short = json.dumps({"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES",
                                    "parameters": {"binary_data_size": len(blob) - 1}}]}).encode()
    with pytest.raises(RequestError, match="declares|exactly") as info:  # the second element runs past the size
        parse_request(short + blob[:-1], len(short))
    assert info.value.status == 400
    body, _ = encode_response("m", None, [("labels", np.array([b"7", "eight"], dtype=object), False)])
    assert json.loads(body)["outputs"][0]["data"] == ["7", "eight"]  # class names as text, not "b'7'"
