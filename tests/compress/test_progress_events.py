"""Every long SDK operation speaks the one progress vocabulary: ProgressEvents with stage names and
monotone fractions, and the callback raising ``Cancelled`` stops the operation."""

from __future__ import annotations

import pytest

from edgekit.errors import Cancelled
from edgekit.progress import CancelToken, ProgressEvent

from .conftest import LABELS


def _fractions(events: list[ProgressEvent]) -> list[float]:
    return [e.fraction for e in events if e.fraction is not None]


def test_int8_calibration_reports_samples_read(tiny, calib, tmp_path):
    from edgekit.compress import quantize_int8

    events: list[ProgressEvent] = []
    quantize_int8(tiny, calib, tmp_path / "q.onnx", progress=events.append)
    assert all(isinstance(e, ProgressEvent) for e in events)
    counted = [e for e in events if e.stage == "calibrating" and e.total]
    assert counted and counted[-1].done == counted[-1].total == len(calib)
    fractions = _fractions(events)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_cancel_during_calibration_stops_quantizing_and_writes_nothing(tiny, calib, tmp_path):
    from edgekit.compress import quantize_int8

    token = CancelToken()

    def progress(event: ProgressEvent) -> None:
        if event.stage == "calibrating" and event.done:
            token.cancel()
        token.check()

    with pytest.raises(Cancelled):
        quantize_int8(tiny, calib, tmp_path / "q.onnx", progress=progress)
    assert not (tmp_path / "q.onnx").exists()


def test_evaluate_counts_images_and_deploy_and_convert_name_their_stages(tiny, tmp_path):
    import cv2
    import numpy as np

    from edgekit.deployment import deploy
    from edgekit.evaluation import evaluate
    from edgekit.models import convert

    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for label in LABELS:
        (root / label).mkdir(parents=True)
        for i in range(5):
            cv2.imwrite(str(root / label / f"{i}.png"), (rng.random((32, 32, 3)) * 255).astype(np.uint8))
    from edgekit.data import open_dataset

    events: list[ProgressEvent] = []
    evaluate(tiny, open_dataset(str(root)), batch_size=4, progress=events.append)
    assert [e.done for e in events] == [4, 8, 12, 16, 20] and {e.stage for e in events} == {"accuracy"}
    events.clear()
    convert(tiny, to="openvino", out=tmp_path / "ir", progress=events.append)
    assert events[0].stage == "converting" and "checking" in {e.stage for e in events}
    assert _fractions(events)[-1] == 1.0
    events.clear()
    deploy(tiny, out=tmp_path / "bundle", progress=events.append)
    stages = [e.stage for e in events]
    assert stages[0] == "resolving" and stages[-1] == "done" and "verifying" in stages
    assert _fractions(events) == sorted(_fractions(events))
