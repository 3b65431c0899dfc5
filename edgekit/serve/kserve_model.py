"""An edgekit bundle as a KServe custom predictor (``kserve.Model``).

KServe's ``ModelServer`` gives the cluster features (REST + gRPC v2, ``/metrics`` for
Prometheus, uvicorn worker processes, the ``InferenceService`` contract); the bundle is
verified and run by edgekit's own :class:`~edgekit.serve.adapter.BundleModel`, so a cluster
pod answers exactly what the device answers. Needs ``pip install "edgekit[kserve]"``.

Two request shapes:

* v2 (Open Inference Protocol): tensors in, tensors out, JSON or binary, REST or gRPC;
  an output asked with ``parameters: {"classification": k}`` comes back as top-k strings. The
  ``image`` input (BYTES [N], each a JPEG/PNG file; base64 text over REST JSON) answers as in
  ``edgekit serve``: a classifier's outputs plus ``labels``, a detector's boxes/scores/classes/labels.
* v1 image convenience: ``POST /v1/models/NAME:predict`` with
  ``{"instances": [{"image_bytes": {"b64": "<JPEG/PNG>"}}], "parameters": {"top_k": 5}}``
  answers ``{"predictions": [Prediction.to_dict(), ...]}``.

Why the model pickles as its bundle path: with ``--workers N`` KServe starts N uvicorn
processes by *spawn* and pickles the registered models into them; a compiled session cannot
be pickled, so each worker re-opens (and re-verifies) the bundle instead.

Why the class is built on first use (``EdgekitModel`` is a module attribute made by
:func:`model_class`): importing kserve registers its protobuf package ``inference``, which
``tritonclient.grpc`` registers too, so the two cannot share a process. Importing this module
must not import kserve; only the server process (and a spawned worker unpickling the model) does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import EdgekitError, InputMismatch
from edgekit.serve.adapter import BundleModel, OutputWanted

MAX_IMAGES = 64
_BUILT: dict[str, type] = {}


def __getattr__(name: str) -> Any:
    if name == "EdgekitModel":  # pickle finds the class here in a spawned worker
        return model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_class() -> type:
    """The ``kserve.Model`` subclass serving a bundle (imports kserve on the first call).

    Raises:
        BackendUnavailable: kserve is not installed.
    """
    if "model" not in _BUILT:
        _BUILT["model"] = _build()
    return _BUILT["model"]


def _build() -> type:
    from edgekit.serve.kserve_server import _import_kserve

    _import_kserve()  # once, without letting kserve parse our argv
    import kserve
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    class EdgekitModel(kserve.Model):
        """A bundle served by KServe: verified and compiled in the constructor, ready at once.

        Raises:
            BundleError: the bundle fails verification (the server then refuses to start).
        """

        def __init__(self, bundle: str | Path, *, backend: str | None = None, name: str | None = None) -> None:
            self.adapter = BundleModel(bundle, backend=backend)
            super().__init__(name or self.adapter.name)
            self._args = (str(bundle), backend, name)
            self.ready = True

        def __getstate__(self) -> dict:
            """What a spawned worker re-opens: the bundle as given, or for a zip the folder this process
            extracted and verified it into (each worker still re-verifies every checksum).

            Why not the zip: each worker extracted its own copy, and a worker ends by ``os._exit`` or
            its parent's SIGTERM, never running the cleanup, so every stop of ``--workers N`` left N
            copies of the model in the temp folder. This process removes its extraction when it exits."""
            bundle, *rest = self._args
            opened = getattr(getattr(self.adapter, "predictor", None), "bundle", None)
            if opened is not None and opened.root != opened.path:  # a zip, extracted here
                bundle = str(opened.root)
            return {"args": (bundle, *rest), "name": self.name}

        def __setstate__(self, state: dict) -> None:
            """In a spawned worker: answer KServe's liveness ping at once, load the bundle in the background.

            KServe kills a worker that does not answer its ping within ~5 s of starting, and the
            ping thread starts only once this object is unpickled; verifying and compiling the
            bundle here would loop kill/restart on a busy machine. Until loaded, the model is not ready (503).
            """
            import threading

            from edgekit.serve.kserve_server import _import_kserve, harden_app

            super().__init__(state["name"])
            self._args, self.ready, self.adapter = state["args"], False, None
            harden_app(_import_kserve().app)  # a spawned worker re-imports KServe's app: harden it there too
            threading.Thread(target=self._load, name="edgekit-load", daemon=True).start()

        def _load(self) -> None:
            bundle, backend, _name = self._args
            try:
                self.adapter = BundleModel(bundle, backend=backend)
            except EdgekitError as exc:  # a worker cannot raise to anyone: say why it stays not ready
                import logging

                logging.getLogger("kserve").error("edgekit: %s stays not ready: %s", self.name, exc)
                return
            self.ready = True

        def load(self) -> bool:
            """Already loaded in the constructor (so a bad bundle fails before any port opens)."""
            return self.ready

        def get_input_types(self) -> list[dict]:
            """v2 model metadata ``inputs``: the model's own, then ``image`` (BYTES [N] JPEG/PNG files)."""
            return [t.to_dict() for t in (*self.adapter.inputs, *self.adapter.image_inputs)]

        def get_output_types(self) -> list[dict]:
            """v2 model metadata ``outputs``: the model's own, then what ``image`` answers besides them."""
            own = {t.name for t in self.adapter.outputs}
            extra = tuple(t for t in self.adapter.image_outputs if t.name not in own)
            return [t.to_dict() for t in (*self.adapter.outputs, *extra)]

        async def predict(self, payload: Any, headers: dict | None = None, response_headers: dict | None = None) -> Any:
            """v2 tensors -> ``InferResponse``; a v1 dict of images -> predictions. Runs off the event loop."""
            work = self._infer if isinstance(payload, InferRequest) else self._images
            try:
                return await asyncio.get_running_loop().run_in_executor(None, work, payload)
            except InputMismatch as exc:
                raise InvalidInput(str(exc)) from exc

        def _infer(self, request: InferRequest) -> InferResponse:
            inputs = {}
            for item in request.inputs:
                try:
                    inputs[item.name] = item.as_numpy()
                except (ValueError, TypeError) as exc:
                    raise InputMismatch(f"input {item.name!r}: data does not fit shape {list(item.shape)} "
                                        f"of {item.datatype}: {exc}") from exc
            wanted = [OutputWanted(o.name, _classification(o.parameters)) for o in request.request_outputs or ()]
            outputs = self.adapter.infer(inputs, wanted)
            tensors = [_output(InferOutput, name, array) for name, array in outputs.items()]
            return InferResponse(response_id=request.id or "", model_name=self.name, infer_outputs=tensors,
                                 model_version="1", use_binary_outputs=request.use_binary_outputs,
                                 requested_outputs=request.request_outputs)

        def _images(self, payload: Any) -> dict:
            if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
                raise InputMismatch('send {"instances": [{"image_bytes": {"b64": "..."}}]} or v2 tensors')
            instances = payload["instances"]
            if not 1 <= len(instances) <= MAX_IMAGES:
                raise InputMismatch(f"send between 1 and {MAX_IMAGES} instances, not {len(instances)}")
            k = (payload.get("parameters") or {}).get("top_k", 5)
            if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
                raise InputMismatch("parameters.top_k must be an integer between 1 and 1000")
            return {"predictions": [self.adapter.classify(_image_bytes(item), k) for item in instances]}

        def stop(self) -> None:
            """Release the bundle when KServe unloads the model."""
            if self.ready and self.adapter is not None:
                self.ready = False
                self.adapter.close()

    EdgekitModel.__module__, EdgekitModel.__qualname__ = __name__, "EdgekitModel"
    return EdgekitModel


def _classification(parameters: Any) -> int:
    """``parameters.classification`` of a requested output, from REST (a dict) or gRPC (InferParameter)."""
    if not parameters or "classification" not in parameters:
        return 0
    value = parameters["classification"]
    if hasattr(value, "WhichOneof"):
        value = getattr(value, value.WhichOneof("parameter_choice") or "int64_param")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputMismatch("output parameter 'classification' must be a non-negative integer")
    return value


def _output(output_class: type, name: str, array: np.ndarray) -> Any:
    """Raw bytes, not ``data=array``: KServe 0.21's gRPC encoder tests ``output.data`` for truth, which an array refuses."""
    from edgekit.serve.protocol import datatype_of

    datatype = "BYTES" if array.dtype == object else datatype_of(array.dtype.name)
    output = output_class(name, list(array.shape), datatype)
    output.set_data_from_numpy(array, binary_data=True)  # REST re-encodes it as JSON unless binary was asked
    return output


def _image_bytes(item: Any) -> bytes:
    encoded = item.get("image_bytes", {}).get("b64") if isinstance(item, dict) else None
    if not isinstance(encoded, str):
        raise InputMismatch('each instance must be {"image_bytes": {"b64": "<base64 JPEG or PNG>"}}')
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputMismatch(f"image_bytes.b64 is not valid base64: {exc}") from exc
