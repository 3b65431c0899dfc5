"""Compression: each method returns a NEW ``Model`` written to a new file; the input is never edited.

- :func:`to_fp16` (:mod:`.fp16`): ONNX float16 (I/O kept fp32) or OpenVINO FP16 weights.
- :func:`quantize_int8`, :func:`quantize_dynamic_int8`, :func:`quantize_openvino` (:mod:`.int8`).
- :func:`controlled` (:mod:`.accuracy_control`): INT8 that keeps sensitive layers float until a drop budget holds.
- :func:`prune_channels` (:mod:`.prune`): structured channel pruning (+ fine-tune).
- :func:`check_calibration` (:mod:`.calibration`): refuse or warn about an unfit calibration set.
- :func:`quantize_detector`, :func:`head_tail` (:mod:`.detection`): INT8 of a detector keeping its decode tail float.
- :func:`quantize_detector_controlled` (:mod:`.detection_control`): a detector's INT8 keeping the layers that cost
  mAP in float until an mAP budget holds.

Names are imported lazily: onnxruntime/torch/openvino load only when used.
"""

from __future__ import annotations

from edgekit._lazy import lazy_exports

_LAZY = {
    "to_fp16": "edgekit.compress.fp16",
    "quantize_int8": "edgekit.compress.int8",
    "quantize_dynamic_int8": "edgekit.compress.int8",
    "quantize_openvino": "edgekit.compress.int8",
    "needs_reduce_range": "edgekit.compress.int8",
    "FeedReader": "edgekit.compress.int8",
    "controlled": "edgekit.compress.accuracy_control",
    "ControlledResult": "edgekit.compress.accuracy_control",
    "prune_channels": "edgekit.compress.prune",
    "PruneResult": "edgekit.compress.prune",
    "check_calibration": "edgekit.compress.calibration",
    "quantize_detector": "edgekit.compress.detection",
    "head_tail": "edgekit.compress.detection",
    "quantize_detector_controlled": "edgekit.compress.detection_control",
    "DetectorControlResult": "edgekit.compress.detection_control",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
