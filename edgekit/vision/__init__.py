"""Live vision: frame sources, the threaded :class:`LivePipeline`, overlays and :class:`Readouts`.

No Qt here: the desktop app shows what this produces.
"""

from __future__ import annotations

from edgekit.vision.live_frame import LiveFrame
from edgekit.vision.pipeline import LivePipeline
from edgekit.vision.predictors import PipelinePredictor, adapt
from edgekit.vision.readouts import (
    ABFrame,
    ABReadout,
    AccuracyReadout,
    PredictorReadout,
    Rate,
    Readouts,
    StageLatency,
)
from edgekit.vision.sources import (
    ArraySource,
    CameraInfo,
    CameraSource,
    DemoSource,
    FolderSource,
    Frame,
    FrameSource,
    ImageSource,
    SourceInfo,
    SyntheticSource,
    VideoSource,
    list_cameras,
    open_source,
)

__all__ = [
    "ABFrame", "ABReadout", "AccuracyReadout", "ArraySource", "CameraInfo", "CameraSource", "DemoSource", "FolderSource",
    "Frame", "FrameSource", "ImageSource", "LiveFrame", "LivePipeline", "PipelinePredictor", "PredictorReadout", "Rate", "Readouts",
    "SourceInfo", "StageLatency", "SyntheticSource", "VideoSource", "adapt", "list_cameras", "open_source",
]
