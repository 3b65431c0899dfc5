"""Open Inference Protocol (KServe v2) tensors <-> numpy, with Triton's binary-data extension.

No web framework here: bytes in, arrays out, so the codec is tested on its own.

Request (JSON, or JSON followed by raw tensor bytes when the header
``Inference-Header-Content-Length`` gives the JSON's length)::

    {"id": "1", "inputs": [{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                            "data": [...]  |  "parameters": {"binary_data_size": 12288}}],
     "outputs": [{"name": "logits", "parameters": {"binary_data": true, "classification": 3}}],
     "parameters": {"binary_data_output": true}}

Response: ``{"model_name", "model_version", "id", "outputs": [{"name", "datatype", "shape",
"data" | "parameters": {"binary_data_size"}}]}`` followed by the binary outputs, if any.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# protocol datatype <-> numpy dtype (BYTES is handled apart)
DATATYPES = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
    "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64",
}
NUMPY_TO_DATATYPE = {v: k for k, v in DATATYPES.items()}
HEADER_LENGTH = "Inference-Header-Content-Length"


class RequestError(Exception):
    """A request the server refuses: HTTP ``status`` and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class OutputRequest:
    """One requested output: name, binary or JSON, and top-k classification (0 = raw tensor)."""

    name: str
    binary: bool = False
    classification: int = 0


@dataclass(frozen=True)
class InferRequest:
    """A decoded request."""

    id: str | None
    inputs: dict[str, np.ndarray]
    outputs: tuple[OutputRequest, ...] = ()
    binary_default: bool = False
    parameters: dict = field(default_factory=dict)


def datatype_of(dtype: str) -> str:
    """Protocol datatype of a numpy dtype name."""
    return NUMPY_TO_DATATYPE.get(str(np.dtype(dtype)), "BYTES")


def parse_request(body: bytes, header_length: int | None) -> InferRequest:
    """Decode an infer request body.

    Raises:
        RequestError: 400 with a message naming the field at fault.
    """
    if header_length is not None and not 0 < header_length <= len(body):
        raise RequestError(400, f"{HEADER_LENGTH} {header_length} does not fit a body of {len(body)} bytes")
    head, binary = (body[:header_length], body[header_length:]) if header_length else (body, b"")
    try:
        doc = json.loads(head)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise RequestError(400, "request must be a JSON object with a non-empty 'inputs' list")
    params = _dict(doc.get("parameters"), "request 'parameters'")
    inputs, offset = {}, 0
    for item in doc["inputs"]:
        name, array, offset = _input(item, binary, offset)
        if name in inputs:
            raise RequestError(400, f"input {name!r} is given twice")
        inputs[name] = array
    if offset != len(binary):
        raise RequestError(400, f"binary data is {len(binary)} bytes but the inputs' binary_data_size add up to {offset}")
    binary_default = bool(params.get("binary_data_output", False))
    outputs = tuple(_output(o, binary_default) for o in _list(doc.get("outputs"), "'outputs'"))
    request_id = doc.get("id")
    return InferRequest(None if request_id is None else str(request_id), inputs, outputs, binary_default, params)


def _dict(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(400, f"{what} must be a JSON object")
    return value


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(400, f"{what} must be a JSON list")
    return value


def _input(item: Any, binary: bytes, offset: int) -> tuple[str, np.ndarray, int]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise RequestError(400, "each input needs a string 'name'")
    name, shape, datatype = item["name"], item.get("shape"), item.get("datatype")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise RequestError(400, f"input {name!r}: 'shape' must be a list of non-negative integers")
    if datatype not in DATATYPES:
        raise RequestError(400, f"input {name!r}: datatype {datatype!r} is not supported; use one of {sorted(DATATYPES)}")
    dtype, count = np.dtype(DATATYPES[datatype]), math.prod(shape)
    size = _dict(item.get("parameters"), f"input {name!r} 'parameters'").get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size != count * dtype.itemsize or offset + size > len(binary):
            raise RequestError(400, f"input {name!r}: binary_data_size {size} does not match shape {shape} of {datatype} "
                                    f"({count * dtype.itemsize} bytes) or the data sent")
        array = np.frombuffer(binary, dtype=dtype.newbyteorder("<"), count=count, offset=offset).astype(dtype)
        return name, array.reshape(shape), offset + size
    if "data" not in item:
        raise RequestError(400, f"input {name!r} has neither 'data' nor parameters.binary_data_size")
    return name, _json_array(name, item["data"], shape, dtype), offset


def _json_array(name: str, data: Any, shape: list[int], dtype: np.dtype) -> np.ndarray:
    try:
        flat = np.asarray(data, dtype=object).reshape(-1) if isinstance(data, list) else None
    except ValueError as exc:  # ragged nesting
        raise RequestError(400, f"input {name!r}: 'data' is not a regular (nested) list: {exc}") from exc
    if flat is None or flat.size != math.prod(shape):
        got = "not a list" if flat is None else f"{flat.size} values"
        raise RequestError(400, f"input {name!r}: 'data' has {got}, shape {shape} needs {math.prod(shape)}")
    if not all(isinstance(v, (int, float, bool)) for v in flat):
        raise RequestError(400, f"input {name!r}: 'data' must hold numbers only")
    try:
        return np.asarray(flat.tolist(), dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise RequestError(400, f"input {name!r}: values do not fit {dtype}: {exc}") from exc


def _output(item: Any, binary_default: bool) -> OutputRequest:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise RequestError(400, "each requested output needs a string 'name'")
    params = _dict(item.get("parameters"), f"output {item['name']!r} 'parameters'")
    k = params.get("classification", 0)
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise RequestError(400, f"output {item['name']!r}: classification must be a non-negative integer")
    return OutputRequest(item["name"], bool(params.get("binary_data", binary_default)), k)


def encode_response(
    model: str, request_id: str | None, tensors: list[tuple[str, np.ndarray, bool]]
) -> tuple[bytes, dict]:
    """Encode ``(name, array, binary)`` outputs; return the body and extra headers."""
    outputs, blobs = [], []
    for name, array, binary in tensors:
        entry = {"name": name, "datatype": "BYTES" if array.dtype == object else datatype_of(array.dtype.name),
                 "shape": list(array.shape)}
        strings = array.dtype == object
        if binary:
            blob = _bytes_blob(array) if strings else array.astype(array.dtype.newbyteorder("<")).tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = [str(v) for v in array.reshape(-1)] if strings else array.reshape(-1).tolist()
        outputs.append(entry)
    doc = {"model_name": model, "model_version": "1", "outputs": outputs}
    if request_id is not None:
        doc["id"] = request_id
    head = json.dumps(doc).encode()
    if not blobs:
        return head, {}
    return head + b"".join(blobs), {HEADER_LENGTH: str(len(head))}


def _bytes_blob(array: np.ndarray) -> bytes:
    """BYTES tensor in binary form: each element as a 4-byte little-endian length + its bytes."""
    parts = []
    for value in array.reshape(-1):
        raw = value if isinstance(value, bytes) else str(value).encode()
        parts.append(struct.pack("<I", len(raw)) + raw)
    return b"".join(parts)


def classification(scores: np.ndarray, k: int, labels: tuple[str, ...] | None) -> np.ndarray:
    """Triton's classification extension: ``"score:index[:label]"`` strings, best first, shape ``(batch, k)``."""
    rows = scores.reshape(len(scores), -1)
    k = min(k, rows.shape[1])
    order = np.argsort(-rows, axis=1, kind="stable")[:, :k]
    out = np.empty((len(rows), k), dtype=object)
    for r, idx in enumerate(order):
        for c, i in enumerate(idx):
            label = f":{labels[i]}" if labels and i < len(labels) else ""
            out[r, c] = f"{rows[r, i]:f}:{int(i)}{label}"
    return out
