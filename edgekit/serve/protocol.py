"""Open Inference Protocol (KServe v2) tensors <-> numpy, with Triton's binary-data extension.

No web framework here: bytes in, arrays out, so the codec is tested on its own.

Request (JSON, or JSON followed by raw tensor bytes when the header
``Inference-Header-Content-Length`` gives the JSON's length)::

    {"id": "1", "inputs": [{"name": "input", "shape": [1, 3, 32, 32], "datatype": "FP32",
                            "data": [...]  |  "parameters": {"binary_data_size": 12288}}],
     "outputs": [{"name": "logits", "parameters": {"binary_data": true, "classification": 3}}],
     "parameters": {"binary_data_output": true}}

A BYTES input (the ``image`` input: encoded JPEG/PNG files) is a list of strings in JSON (base64
text for binary content) or, binary, each element as a 4-byte little-endian length then its bytes;
it decodes to an object array of ``bytes``.

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


MAX_ELEMENTS = 1 << 24  # values in one request's tensors (64 MiB of FP32), checked before any array is built
MAX_JSON_LISTS = 1 << 17  # '[' in the JSON head: a 30 MiB body of 1-element lists made 1.2 GB of Python lists
CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
         413: "body_too_large", 415: "unsupported_media_type", 422: "bad_request", 503: "unavailable"}


class RequestError(Exception):
    """A request the server refuses: HTTP ``status``, a message for the client and a stable ``code``."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "internal_error" if status >= 500 else "bad_request")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (send numbers; NaN/Infinity only inside binary tensors)")


def loads_strict(head: bytes) -> Any:
    """Strict JSON for a request head: no NaN/Infinity literals, nesting and list count bounded.

    The ``[`` count is taken before parsing (C speed), so a body built to explode into
    millions of Python lists is refused before one is made.

    Raises:
        RequestError: 400 naming what is wrong.
    """
    lists = head.count(b"[")
    if lists > MAX_JSON_LISTS:
        raise RequestError(400, f"request JSON has {lists} lists (limit {MAX_JSON_LISTS}); send tensor data as a "
                                "flat list, or use the binary data extension")
    try:
        return json.loads(head, parse_constant=_no_constant)
    except RecursionError as exc:
        raise RequestError(400, "request JSON nests too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"request body is not valid JSON: {str(exc)[:200]}") from exc


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


def parse_request(body: bytes, header_length: int | None, *, max_elements: int = MAX_ELEMENTS) -> InferRequest:
    """Decode an infer request body.

    Args:
        max_elements: most values all inputs together may hold (checked from the shapes,
            before any array is built).

    Raises:
        RequestError: 400 with a message naming the field at fault.
    """
    if header_length is not None and not 0 < header_length <= len(body):
        raise RequestError(400, f"{HEADER_LENGTH} {header_length} does not fit a body of {len(body)} bytes")
    head, binary = (body[:header_length], body[header_length:]) if header_length else (body, b"")
    doc = loads_strict(head)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise RequestError(400, "request must be a JSON object with a non-empty 'inputs' list")
    params = _dict(doc.get("parameters"), "request 'parameters'")
    inputs, offset, budget = {}, 0, max_elements
    for item in doc["inputs"]:
        name, array, offset = _input(item, binary, offset, budget)
        budget -= array.size
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


def _input(item: Any, binary: bytes, offset: int, budget: int = MAX_ELEMENTS) -> tuple[str, np.ndarray, int]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise RequestError(400, "each input needs a string 'name'")
    name, shape, datatype = item["name"][:100], item.get("shape"), item.get("datatype")
    if (not isinstance(shape, list) or len(shape) > 16
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise RequestError(400, f"input {name!r}: 'shape' must be a list of at most 16 non-negative integers")
    if not isinstance(datatype, str) or datatype not in (*DATATYPES, "BYTES"):
        raise RequestError(400, f"input {name!r}: datatype {str(datatype)[:20]!r} is not supported; "
                                f"use one of {sorted((*DATATYPES, 'BYTES'))}")
    count = math.prod(shape)
    if count > budget:
        raise RequestError(400, f"input {name!r}: shape {shape} holds {count} values, over the {max(budget, 0)} "
                                "this request may still carry; send fewer images per request", code="too_many_elements")
    size = _dict(item.get("parameters"), f"input {name!r} 'parameters'").get("binary_data_size")
    if datatype == "BYTES":
        return _bytes_input(name, item, shape, size, binary, offset)
    dtype = np.dtype(DATATYPES[datatype])
    if size is not None:
        if not isinstance(size, int) or size != count * dtype.itemsize or offset + size > len(binary):
            raise RequestError(400, f"input {name!r}: binary_data_size {size} does not match shape {shape} of {datatype} "
                                    f"({count * dtype.itemsize} bytes) or the data sent")
        array = np.frombuffer(binary, dtype=dtype.newbyteorder("<"), count=count, offset=offset).astype(dtype)
        return name, array.reshape(shape), offset + size
    if "data" not in item:
        raise RequestError(400, f"input {name!r} has neither 'data' nor parameters.binary_data_size")
    return name, _json_array(name, item["data"], shape, dtype), offset


def _bytes_input(name: str, item: dict, shape: list[int], size: Any, binary: bytes,
                 offset: int) -> tuple[str, np.ndarray, int]:
    """A BYTES tensor as an object array of ``bytes``: binary (each element a 4-byte little-endian
    length, then its bytes) or JSON (a list of strings, taken as UTF-8; an image goes as base64 text)."""
    count = math.prod(shape)
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or offset + size > len(binary):
            raise RequestError(400, f"input {name!r}: binary_data_size {size} does not fit the binary data sent")
        values, pos, end = [], offset, offset + size
        while pos < end and len(values) <= count:
            if pos + 4 > end:
                raise RequestError(400, f"input {name!r}: BYTES element {len(values)} has a truncated 4-byte length")
            (length,) = struct.unpack_from("<I", binary, pos)
            if pos + 4 + length > end:
                raise RequestError(400, f"input {name!r}: BYTES element {len(values)} declares {length} bytes, "
                                        f"more than binary_data_size {size} leaves")
            values.append(binary[pos + 4 : pos + 4 + length])
            pos += 4 + length
        if len(values) != count or pos != end:
            raise RequestError(400, f"input {name!r}: binary_data_size {size} does not hold exactly the {count} "
                                    f"length-prefixed BYTES element(s) shape {shape} needs")
        return name, _object_array(values, shape), end
    data = item.get("data")
    if not isinstance(data, list):
        raise RequestError(400, f"input {name!r} has neither a 'data' list nor parameters.binary_data_size")
    flat = _flatten(name, data, shape) if shape else data
    if len(flat) != count:
        raise RequestError(400, f"input {name!r}: 'data' has {len(flat)} values, shape {shape} needs {count}")
    if not all(isinstance(v, str) for v in flat):
        raise RequestError(400, f"input {name!r}: BYTES 'data' must hold strings only (base64 text for an image)")
    return name, _object_array([v.encode("utf-8", "surrogatepass") for v in flat], shape), offset


def _object_array(values: list[bytes], shape: list[int]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)


def _json_array(name: str, data: Any, shape: list[int], dtype: np.dtype) -> np.ndarray:
    if not isinstance(data, list):
        raise RequestError(400, f"input {name!r}: 'data' has not a list, shape {shape} needs {math.prod(shape)} values")
    flat = _flatten(name, data, shape) if shape else data
    if len(flat) != math.prod(shape):
        raise RequestError(400, f"input {name!r}: 'data' has {len(flat)} values, shape {shape} needs {math.prod(shape)}")
    if not all(type(v) in (int, float, bool) for v in flat):  # np.asarray would parse "1" strings
        raise RequestError(400, f"input {name!r}: 'data' must hold numbers only")
    try:
        array = np.asarray(flat, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise RequestError(400, f"input {name!r}: values do not fit {dtype}: {str(exc)[:100]}") from exc
    if array.dtype.kind == "f" and not np.isfinite(array).all():  # 1e999 parses as inf
        raise RequestError(400, f"input {name!r}: 'data' holds a value out of {dtype}'s finite range")
    return array


def _flatten(name: str, data: list, shape: list[int]) -> list:
    """Row-major values of ``data``: a flat list as is (no copy), or a nested list that matches ``shape``
    level by level (walked without recursion, so deep nesting costs no stack)."""
    if not any(isinstance(v, list) for v in data):
        return data
    flat: list = []
    stack = [(iter(data), 0)]
    if len(data) != shape[0]:
        raise RequestError(400, f"input {name!r}: 'data' is not a regular nested list of shape {shape}")
    while stack:
        items, depth = stack[-1]
        for value in items:
            if isinstance(value, list):
                if depth + 1 >= len(shape) or len(value) != shape[depth + 1]:
                    raise RequestError(400, f"input {name!r}: 'data' is not a regular nested list of shape {shape}")
                stack.append((iter(value), depth + 1))
                break
            if depth != len(shape) - 1:
                raise RequestError(400, f"input {name!r}: 'data' is not a regular nested list of shape {shape}")
            flat.append(value)
        else:
            stack.pop()
    return flat


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
            entry["data"] = [_text(v) for v in array.reshape(-1)] if strings else array.reshape(-1).tolist()
        outputs.append(entry)
    doc = {"model_name": model, "model_version": "1", "outputs": outputs}
    if request_id is not None:
        doc["id"] = request_id
    head = json.dumps(doc).encode()
    if not blobs:
        return head, {}
    return head + b"".join(blobs), {HEADER_LENGTH: str(len(head))}


def _text(value: Any) -> str:
    """A BYTES element as JSON text: bytes as UTF-8 (class names), anything else as ``str``."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


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
