"""What the live pipeline reports with every annotated frame.

All frozen dataclasses with ``to_dict``/``from_dict`` so the CLI can print
them, the GUI can show them and ``--json`` can save them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from edgekit.detection.types import Detection

STAGES = ("capture", "preprocess", "inference", "postprocess", "render", "end_to_end")
CPU_STAGES = ("capture", "preprocess", "inference", "postprocess", "draw", "output")


@dataclass(frozen=True)
class Rate:
    """Frames per second: exponential moving average and over the last ``window_s`` seconds."""

    ema: float = 0.0
    window: float = 0.0


@dataclass(frozen=True)
class StageLatency:
    """Latency of one stage over the recent frames, in milliseconds."""

    p50_ms: float = 0.0
    p95_ms: float = 0.0
    n: int = 0


@dataclass(frozen=True)
class AccuracyReadout:
    """Running accuracy against known or declared labels.

    Attributes:
        n: labelled frames counted.
        correct: of those, top-1 right.
        accuracy: ``correct / n``.
        low, high: 95 % Wilson interval of the accuracy.
        precision, recall, f1: macro averages over the classes seen so far.
        declared: the truth was declared by the user (live camera), not known
            from the source.
        unknown: of the ``n`` frames, those whose label is none of the model's classes (counted
            wrong: the model cannot answer them).
        unknown_labels: the first few such labels, for a message.

    Why ``unknown``: an ImageNet model on the labelled digit stream (``edgekit demo model.onnx``
    with no ``--source``) read "accuracy 0.0%", as if the model were broken; with no frame the
    model could answer, :attr:`scored` is false and the readouts say why instead.
    """

    n: int = 0
    correct: int = 0
    accuracy: float = 0.0
    low: float = 0.0
    high: float = 0.0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    declared: bool = False
    unknown: int = 0
    unknown_labels: tuple[str, ...] = ()

    @property
    def scored(self) -> bool:
        """Some labelled frame showed a class the model has (an accuracy means something)."""
        return self.n > self.unknown

    def short(self) -> str:
        """``acc 97.0% n=120``, or ``acc n/a`` when no frame's label is a class of the model."""
        return f"acc {self.accuracy:.1%} n={self.n}" if self.scored else "acc n/a"

    def unknown_text(self) -> str:
        """"labels ('0', '1', '2', ...)" of frames the model cannot answer, for a message."""
        return _some("labels", self.unknown_labels)


@dataclass(frozen=True)
class MapReadout:
    """Running COCO mAP of a detector against the ground-truth boxes a labelled stream carries.

    Attributes:
        frames: labelled frames scored (the most recent ones).
        boxes: ground-truth boxes in them.
        map50, map: mAP@0.5 and mAP@0.5:0.95.
        precision, recall: at IoU 0.5 over the boxes shown.
        conf: the live confidence threshold (only boxes above it count, so these sit
            below an offline ``edgekit eval``, which scores every box down to 0.001).
        classes: the live class filter (``None``: all classes); the mean is over these classes only
            (ground truth of hidden classes is not counted as missed).
        unknown: ground-truth boxes of classes the model does not have (matched by name where the
            source names its classes), left out of the score: the model cannot find them.
        unknown_classes: the first few such class names, for a message.
    """

    frames: int = 0
    boxes: int = 0
    map50: float = 0.0
    map: float = 0.0
    precision: float = 0.0
    recall: float = 0.0
    conf: float | None = None
    classes: tuple[str, ...] | None = None
    unknown: int = 0
    unknown_classes: tuple[str, ...] = ()

    @property
    def scored(self) -> bool:
        """False when every ground-truth box so far is of a class the model does not have (a COCO
        detector on the digit stream): the mAP would be a meaningless 0."""
        return self.boxes > 0 or self.unknown == 0

    def short(self) -> str:
        """``mAP@.5 61.0%``, or ``mAP n/a`` when nothing could be scored."""
        return f"mAP@.5 {self.map50:.1%}" if self.scored else "mAP n/a"

    def unknown_text(self) -> str:
        """"classes ('0', '1', '2', ...)" the model does not have, for a message."""
        return _some("classes", self.unknown_classes)


@dataclass(frozen=True)
class PredictorReadout:
    """One predictor's identity and its own speed.

    Attributes:
        name: model name.
        backend, device, precision: what it really runs on.
        fps: inference rate of this predictor.
        latency: its inference latency.
        frames: frames it has run on.
        accuracy: its accuracy on the labelled frames it ran on, when any.
    """

    name: str = ""
    backend: str = ""
    device: str = ""
    precision: str = ""
    fps: Rate = field(default_factory=Rate)
    latency: StageLatency = field(default_factory=StageLatency)
    frames: int = 0
    accuracy: AccuracyReadout | None = None

    @property
    def badge(self) -> str:
        """Short text for the overlay: ``onnxruntime CPU fp32``."""
        return " ".join(x for x in (self.backend, self.device.upper(), self.precision) if x)


@dataclass(frozen=True)
class ABFrame:
    """A and B on one and the same frame: what each said, with its confidence.

    Attributes:
        seq: the source's sequence number of the frame both ran on.
        a_label, a_confidence: the main predictor's top-1 and its probability.
        b_label, b_confidence: the reference's top-1 and its probability.
    """

    seq: int = 0
    a_label: str = ""
    a_confidence: float = 0.0
    b_label: str = ""
    b_confidence: float = 0.0

    @property
    def agree(self) -> bool:
        """Same top-1 class."""
        return self.a_label == self.b_label


@dataclass(frozen=True)
class ABReadout:
    """A/B comparison: the reference's own readout and top-1 agreement with it.

    Attributes:
        reference: the reference predictor's readout.
        every: the reference runs on every ``every``-th inferred frame.
        compared: frames both ran on.
        agree: of those, same top-1 class.
        agreement: ``agree / compared``.
        skipped: due frames the reference skipped because it was still busy.
        last_label: the reference's top-1 on the newest frame it ran on.
        last_frame: A's and B's top-1 with confidence on that same frame
            (the split view shows them side by side).
    """

    reference: PredictorReadout = field(default_factory=PredictorReadout)
    every: int = 1
    compared: int = 0
    agree: int = 0
    agreement: float = 0.0
    skipped: int = 0
    last_label: str | None = None
    last_frame: ABFrame | None = None

    @property
    def note(self) -> str:
        """Which frames the reference ran on, in words: "reference ran on every frame (40 compared)",
        or, when it could not keep up, "reference ran on 16 of the 40 frames due (every frame; the
        others came while it was still busy)" (it said "ran on every frame" beside "24 skipped")."""
        which = "every frame" if self.every == 1 else f"every {_ordinal(self.every)} inferred frame"
        if not self.skipped:
            return f"reference ran on {which} ({self.compared} compared)"
        due = self.compared + self.skipped
        return (f"reference ran on {self.compared} of the {due} frames due ({which}; the others came while it "
                "was still busy)")


@dataclass(frozen=True)
class Readouts:
    """Everything the viewer shows next to one annotated frame.

    Attributes:
        seq: the source's sequence number of this frame.
        elapsed_s: seconds since the pipeline started.
        source: source name; ``frame_size`` its ``(width, height)``.
        capture_fps, inference_fps, display_fps: the three rates.
        frames_captured, frames_inferred, frames_displayed: counts so far.
        dropped: stale frames dropped in total (never queued), split into
            ``dropped_before_inference`` and ``dropped_before_display``.
        latency: stage name -> p50/p95 over the recent frames (see ``STAGES``).
            ``capture`` is the time inside ``source.read()``: for a live camera
            (or a paced source) that includes waiting for its next frame,
            about 1/FPS; for a file, the decoding. ``end_to_end`` runs from
            the moment the frame was captured to the finished annotated frame.
        topk: ``(label, confidence)`` best first.
        truth: this frame's known or declared label.
        accuracy: running accuracy, when any frame was labelled.
        predictor: the main predictor's readout.
        ab: A/B comparison, when a reference runs.
        source_error: the last source failure, while it is being reopened.
        source_reopens: how often the source was reopened.
        window_s: span of the windowed rates.
        detections: a detector's boxes on this frame, in frame pixels (``None`` for a classifier).
        det_map: a detector's running mAP, when the frames carry ground-truth boxes.
        cpu_ms: CPU milliseconds per frame shown, by stage (see ``CPU_STAGES``: ``draw`` is the
            overlay, drawn only for frames someone shows or records; ``output`` the ``on_frame``/
            ``on_result`` callback besides drawing), ``total`` (every pipeline thread, glue and the
            A/B reference included) and ``beyond_inference`` (``total`` less ``inference``). Thread CPU
            time of the thread doing the stage: work a library hands to its own thread pool (the
            runtime's, OpenCV's) is not in it.
    """

    seq: int = 0
    elapsed_s: float = 0.0
    source: str = ""
    frame_size: tuple[int, int] = (0, 0)
    capture_fps: Rate = field(default_factory=Rate)
    inference_fps: Rate = field(default_factory=Rate)
    display_fps: Rate = field(default_factory=Rate)
    frames_captured: int = 0
    frames_inferred: int = 0
    frames_displayed: int = 0
    dropped: int = 0
    dropped_before_inference: int = 0
    dropped_before_display: int = 0
    latency: dict[str, StageLatency] = field(default_factory=dict)
    topk: tuple[tuple[str, float], ...] = ()
    truth: str | None = None
    accuracy: AccuracyReadout | None = None
    predictor: PredictorReadout = field(default_factory=PredictorReadout)
    ab: ABReadout | None = None
    source_error: str | None = None
    source_reopens: int = 0
    window_s: float = 5.0
    detections: tuple[Detection, ...] | None = None
    det_map: MapReadout | None = None
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def top1(self) -> tuple[str, float] | None:
        """Best ``(label, confidence)``, when any."""
        return self.topk[0] if self.topk else None

    @property
    def bottleneck(self) -> str:
        """Which thread limits the frame rate: the one with the largest p50 work per frame."""
        p50 = {k: v.p50_ms for k, v in self.latency.items()}
        if not p50:
            return ""
        threads = {"source (capture + preprocess)": p50.get("capture", 0) + p50.get("preprocess", 0),
                   "model (inference)": p50.get("inference", 0),
                   "drawing (postprocess + render)": p50.get("postprocess", 0) + p50.get("render", 0)}
        return max(threads, key=threads.get)

    def line(self, width: int | None = None) -> str:
        """One line for a terminal: FPS, latency, drops, top-1 or objects, accuracy, agreement.

        ``width``: the terminal's columns; the line then fits them. A detector's line ran to 93
        characters and wrapped at 80, and a live readout redrawn on two rows jumps. The padding goes
        first, then what a reader misses least (:data:`_SHED`: a zero drop count, the inferred rate,
        end-to-end latency, intervals, ...); what still does not fit is cut with an ellipsis.
        """
        parts = self._parts()
        text = " | ".join(padded for padded, _ in parts.values())
        if width is None or len(text) <= width:
            return text
        shown = {key: compact for key, (_, compact) in parts.items()}
        for key, shorter in _SHED:
            if len(" | ".join(shown.values())) <= width:
                break
            if key == "dropped0":
                key = "dropped" if self.dropped == 0 else ""
            if key in shown:
                if shorter is None:
                    del shown[key]
                else:
                    shown[key] = shorter(self)
        text = " | ".join(shown.values())
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def _parts(self) -> dict[str, tuple[str, str]]:
        """Each part of :meth:`line`, as ``(padded, compact)``: padded, the figures keep their columns
        from one redraw to the next; compact, they take only their digits."""
        infer = self.latency.get("inference", StageLatency()).p50_ms
        e2e = self.latency.get("end_to_end", StageLatency()).p50_ms
        shown_fps, inferred_fps = self.display_fps.ema, self.inference_fps.ema
        parts = {"shown": (f"{shown_fps:6.1f} FPS shown", f"{shown_fps:.1f} FPS shown"),
                 "inferred": (f"{inferred_fps:6.1f} inferred", f"{inferred_fps:.1f} inferred"),
                 "infer": (f"infer p50 {infer:5.1f} ms", f"infer p50 {infer:.1f} ms"),
                 "e2e": (f"e2e p50 {e2e:5.1f} ms", f"e2e p50 {e2e:.1f} ms"),
                 "dropped": (f"dropped {self.dropped}",) * 2}
        if self.top1:
            parts["top1"] = (f"top-1 {self.top1[0]} {self.top1[1]:.0%}",) * 2
        if self.detections is not None:
            count = len(self.detections)
            parts["objects"] = (f"{count} object{'' if count == 1 else 's'}",) * 2
        if self.det_map is not None:
            parts["map"] = ((f"mAP@.5 {self.det_map.map50:.1%} n={self.det_map.frames}",) * 2 if self.det_map.scored
                            else ("mAP n/a (classes not the model's)",) * 2)
        if self.accuracy and self.accuracy.n:
            a = self.accuracy
            parts["acc"] = ((f"acc {a.accuracy:.1%} [{a.low:.1%}-{a.high:.1%}] n={a.n}",) * 2 if a.scored else
                            ("acc n/a (labels not the model's)",) * 2)
        if self.ab:
            parts["agree"] = (f"agree {self.ab.agreement:.1%} n={self.ab.compared}",) * 2
        if self.source_error:
            parts["source"] = (f"SOURCE: {self.source_error} (reopening)",) * 2  # the pipeline reopens it
        return parts

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        data = asdict(self)
        data["frame_size"] = list(self.frame_size)
        data["topk"] = [list(t) for t in self.topk]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Readouts:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in ("capture_fps", "inference_fps", "display_fps"):
            data[key] = Rate(**data.get(key, {}))
        data["latency"] = {k: StageLatency(**v) for k, v in data.get("latency", {}).items()}
        data["frame_size"] = tuple(data.get("frame_size", (0, 0)))
        data["topk"] = tuple((str(k), float(v)) for k, v in data.get("topk", ()))
        data["accuracy"] = _accuracy(data.get("accuracy"))
        data["predictor"] = _predictor(data.get("predictor") or {})
        if data.get("det_map") is not None:
            shown = data["det_map"].get("classes")
            data["det_map"] = MapReadout(**{**data["det_map"], "classes": None if shown is None else tuple(shown),
                                            "unknown_classes": tuple(data["det_map"].get("unknown_classes", ()))})
        if data.get("detections") is not None:
            data["detections"] = tuple(Detection.from_dict(d) for d in data["detections"])
        ab = data.get("ab")
        if ab is not None:
            ab = dict(ab)
            ab["reference"] = _predictor(ab.get("reference") or {})
            ab["last_frame"] = None if ab.get("last_frame") is None else ABFrame(**ab["last_frame"])
            data["ab"] = ABReadout(**ab)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# What Readouts.line gives up, in order, to fit a terminal: (part, its shorter form or None to leave
# it out). "dropped0" is the drop count while it is 0. The FPS shown, the top-1 or the objects and a
# source's error are never given up; what still does not fit is cut at the end.
_SHED: tuple[tuple[str, Callable[[Readouts], str] | None], ...] = (
    ("dropped0", None),
    ("inferred", None),
    ("e2e", None),
    ("acc", lambda r: r.accuracy.short()),
    ("map", lambda r: r.det_map.short()),
    ("agree", lambda r: f"agree {r.ab.agreement:.1%}"),
    ("dropped", lambda r: f"drop {r.dropped}"),
    ("infer", lambda r: f"infer {r.latency.get('inference', StageLatency()).p50_ms:.1f} ms"),
    ("dropped", None),
    ("infer", None),
)


def _some(word: str, names: tuple[str, ...]) -> str:
    """``word ('a', 'b', 'c', ...)``: up to three of ``names``, "..." when there are more."""
    return f"{word} ({', '.join(repr(name) for name in names[:3])}{', ...' if len(names) > 3 else ''})"


def _accuracy(data: dict | None) -> AccuracyReadout | None:
    if data is None:
        return None
    return AccuracyReadout(**{**data, "unknown_labels": tuple(data.get("unknown_labels", ()))})


def _predictor(data: dict) -> PredictorReadout:
    data = dict(data)
    data["fps"] = Rate(**data.get("fps", {}))
    data["latency"] = StageLatency(**data.get("latency", {}))
    data["accuracy"] = _accuracy(data.get("accuracy"))
    return PredictorReadout(**data)
