"""``LiveConfig``: the one description of a live run, built by ``edgekit demo``, the desktop app's
Live demo page and ``edgekit run live.yaml``.

Why one: a live run was described three ways (the CLI's demo settings, the
GUI's request and its predictor choice) that drifted apart. Now every front
door builds a :class:`LiveConfig`; it is saved as YAML (a ``live:`` mapping)
and replayed exactly. Objects that cannot be written to a file -- a plan's
candidate, a model edited in the app, a camera object -- ride along in the
``*_obj`` fields, which take the place of the names and are never saved.

Example:
    >>> cfg = LiveConfig(model="demo:digits", source="demo", seconds=5)
    >>> LiveConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgekit._config_files import check_card_flags, relocate
from edgekit._io import write_text_atomic
from edgekit.backends import backends_for, capabilities, compile_session, list_backends
from edgekit.backends.registry import readers
from edgekit.errors import ConfigError

AS_PLANNED = ("auto", "as planned")  # backend words that keep a plan candidate's own backend
_RUNTIME = ("model_obj", "compare_obj", "source_obj")
_INPUTS, _OUTPUTS = ("model", "compare", "source"), ("record", "json_out")  # the fields that may be paths


@dataclass(frozen=True)
class LiveConfig:
    """What a live run shows: a model (optionally A/B against a reference) on a source.

    Attributes:
        model: model path or name (``demo:digits``); for a plan candidate, its model file.
        source: ``demo``, ``synthetic``, a camera index, URL, video file or image folder.
        backend: ``auto``, ``onnxruntime``, ``openvino`` or ``torch``.
        device, precision: passed to ``compile_session``.
        compare: a second model run as the A/B reference (``None``: no A/B).
        compare_backend: backend for the reference (``None``: ``backend``).
        compare_device, compare_precision: where and how the reference runs.
        reference_every: run the reference on every Nth inferred frame.
        seconds: how long ``edgekit demo`` runs (``None``: until the source ends; the app: until Stop).
        fps: pace a file/generated source like a live camera at this rate.
        loop: start a file source again at its end (the app loops; ``edgekit demo`` stops).
        record: write the annotated video here.
        json_out: write the stats JSON here.
        window: show an OpenCV window when a display exists (``edgekit demo``).
        force: replace existing ``record``/``json_out`` files.
        track: detectors: IoU tracker ids so per-class counts do not flicker.
        conf: detectors: the live confidence threshold (``None``: the model card's ``detection.conf``).
        classes: detectors: class names to show (``None``: all); counts and the running mAP cover only these.
        card_flags: the card flags given for ``model`` (``{"mean": [...], "size": 224, "labels": "names.txt"}``,
            as ``--mean/--std/--scale/--bgr/--size/--resize/--labels/--card...`` say; ``None``: none): a
            replay applies them as the command did (:mod:`edgekit._config_files`).
        model_obj / compare_obj: a ``Model`` or plan ``Candidate`` standing in for ``model``/``compare``.
        source_obj: a ``FrameSource`` standing in for ``source``.
    """

    model: str = "demo:digits"
    source: str = "demo"
    backend: str = "auto"
    device: str = "cpu"
    precision: str = "fp32"
    compare: str | None = None
    compare_backend: str | None = None
    compare_device: str = "cpu"
    compare_precision: str = "fp32"
    reference_every: int = 1
    seconds: float | None = 15.0
    fps: float | None = None
    loop: bool = False
    record: str | None = None
    json_out: str | None = None
    window: bool = False
    force: bool = False
    track: bool = False  # detectors: IoU tracker ids, counts held steady (edgekit demo --track)
    conf: float | None = None  # detectors: boxes shown score at least this (None: the card's detection.conf)
    classes: tuple[str, ...] | None = None  # detectors: the classes shown (None: all); the running mAP covers these
    card_flags: dict | None = field(default=None, hash=False)  # --mean/--std/--size/--labels... given for model
    model_obj: Any = field(default=None, compare=False, repr=False)
    compare_obj: Any = field(default=None, compare=False, repr=False)
    source_obj: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.reference_every < 1:
            raise ConfigError(f"reference_every must be 1 or more, not {self.reference_every}")
        for name in ("seconds", "fps"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be greater than 0, not {value}; give a positive number or leave it out")
        self._check_runtimes()
        if self.conf is not None and not 0.0 <= self.conf <= 1.0:
            raise ConfigError(f"conf must lie between 0 and 1, not {self.conf}; give a score such as 0.25 or leave it out")
        if self.classes is not None:  # a YAML list or a "1,7" string becomes a tuple of names
            names = self.classes.split(",") if isinstance(self.classes, str) else self.classes
            object.__setattr__(self, "classes", tuple(str(n).strip() for n in names if str(n).strip()))
        object.__setattr__(self, "card_flags", check_card_flags(self.card_flags))

    def _check_runtimes(self) -> None:
        """Backend names and precisions are known words, so a typo in a saved live.yaml is named with
        its key (and the file, by :meth:`load`) before anything loads; it was reported once per backend
        tried, as "no backend can run this model here"."""
        from edgekit.backends.registry import backend_name
        from edgekit.errors import BackendUnavailable
        from edgekit.types import Precision

        for key in ("backend", "compare_backend"):
            value = getattr(self, key)
            if value is not None and value not in AS_PLANNED:
                try:
                    backend_name(value)
                except BackendUnavailable as exc:
                    raise ConfigError(f"{key}: {exc}, or auto") from None
        for key in ("precision", "compare_precision"):
            try:
                Precision.parse(getattr(self, key), what="precision")
            except ValueError as exc:
                raise ConfigError(f"{key}: {exc}") from None

    # ---- building from what a front door holds -------------------------------------------------
    @classmethod
    def choose(cls, main: Any, backend: str = "auto", reference: Any = None, reference_backend: str = "auto",
               **fields: Any) -> LiveConfig:
        """A config for ``main`` (a model name, a ``Model`` or a plan ``Candidate``) and an optional A/B
        ``reference`` of the same kinds; ``fields`` set the rest (source, fps, loop, ...).

        A candidate keeps its own backend, device and precision unless ``backend`` names another.
        """
        a = _model_fields(main, backend)
        if reference is not None:
            b = _model_fields(reference, reference_backend)
            fields.update(compare=b["model"], compare_backend=b["backend"], compare_device=b["device"],
                          compare_precision=b["precision"], compare_obj=b["model_obj"])
        return cls(**a, **fields)

    @property
    def has_reference(self) -> bool:
        """True when an A/B reference runs beside the model."""
        return self.compare is not None or self.compare_obj is not None

    def describe(self, which: str = "model") -> str:
        """``"digits-mnv2 on onnxruntime"`` for the model (``which="compare"``: the reference)."""
        main = which == "model"
        obj = self.model_obj if main else self.compare_obj
        name = getattr(obj, "key", None) or getattr(obj, "name", None) or (self.model if main else self.compare)
        backend = self.backend if main else (self.compare_backend or self.backend)
        return f"{name} on {backend}"

    # ---- files ---------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> LiveConfig:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain dict for YAML/JSON (the ``*_obj`` stand-ins are left out)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _RUNTIME}
        if data["classes"] is not None:
            data["classes"] = list(data["classes"])  # YAML has lists, not tuples
        if data["card_flags"] is not None:
            data["card_flags"] = {k: list(v) if isinstance(v, list) else v for k, v in data["card_flags"].items()}
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = "live config") -> LiveConfig:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: unknown keys (naming the allowed ones), or a value of the wrong type or range
                (naming the field), as :mod:`edgekit.vision.config_schema` checks them.
        """
        from edgekit.vision.config_schema import check

        checked = check(data, where)
        try:
            return cls(**checked)
        except ConfigError as exc:  # a value of the right type that is still wrong (an unknown backend)
            raise ConfigError(f"{where}: {exc}") from None

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write as YAML under a ``live:`` key (atomic; never over an existing file unless ``force``); relative
        paths are written relative to the YAML's folder when they lie under it, else absolute.

        Raises:
            ConfigError: a stand-in object has no file to name (an in-memory model or source).
        """
        for obj, name in ((self.model_obj, self.model), (self.compare_obj, self.compare)):
            if obj is not None and getattr(obj, "path", "") is None and not getattr(obj, "model", None):
                raise ConfigError(f"{name} lives only in memory and cannot be saved in {path}; save the model "
                                  "to a file first (edgekit convert)")
        data = relocate(self.to_dict(), Path(path).parent, _INPUTS, _OUTPUTS, saving=True)
        return write_text_atomic(path, yaml.safe_dump({"live": data}, sort_keys=False), force)

    @classmethod
    def load(cls, path: str | Path) -> LiveConfig:
        """Read a YAML written by :meth:`save`; a relative path means the YAML's folder.

        Raises:
            ConfigError: unreadable file or bad keys, naming the file.
        """
        from edgekit.safeyaml import read_section

        section = read_section(path, "live", what="live config", written_by="edgekit demo ... --save-config")
        return cls.from_dict(relocate(section, Path(path).parent, _INPUTS, _OUTPUTS, saving=False), where=str(path))


def _model_fields(src: Any, backend: str) -> dict:
    """name/backend/device/precision/stand-in for a model name, a ``Model`` or a plan ``Candidate``."""
    if hasattr(src, "key") and hasattr(src, "model"):  # a plan Candidate (duck-typed: vision sits beside planner)
        path = (src.model or {}).get("path")
        return {"model": str(path or src.key), "backend": src.backend if backend in AS_PLANNED else backend,
                "device": src.device, "precision": str(src.precision), "model_obj": src}
    if hasattr(src, "format") and hasattr(src, "name"):  # a Model
        name = str(src.path) if getattr(src, "path", None) is not None else src.name
        return {"model": name, "backend": backend, "device": "cpu", "precision": "fp32", "model_obj": src}
    return {"model": str(src), "backend": backend, "device": "cpu", "precision": "fp32", "model_obj": None}


def compile_sessions(config: LiveConfig, rate: float | None = None) -> tuple[Any, Any]:
    """The compiled ``(model, reference)`` sessions of a run (reference ``None`` without A/B).

    ``rate``: the frames per second the source sends, when known better than
    :func:`source_rate` knows it from the config (a camera's granted rate, once opened).

    Raises:
        ModelLoadError / BackendUnavailable: naming the model or backend and the fix.
    """
    main = _compile(config.model_obj, config.model, config.backend, config.device, config.precision,
                    rate=rate or source_rate(config))
    if not config.has_reference:
        return main, None
    try:  # the reference runs on one thread of the pipeline's: no workers to choose
        reference = _compile(config.compare_obj, config.compare, config.compare_backend or config.backend,
                             config.compare_device, config.compare_precision, workers=False)
    except BaseException:
        main.close()
        raise
    return main, reference


def source_rate(config: LiveConfig) -> float | None:
    """Frames per second the run's source sends on its own clock, known before it is opened:
    a live ``source_obj``'s declared rate, a video file paced at its own rate (read from the
    file), or ``fps`` for a paced demo/folder or a camera asked for that rate; ``None`` when
    frames come as fast as they are used or the rate is unknown (a camera left at its default:
    :func:`sessions_and_source` opens it first to learn its rate)."""
    from pathlib import Path

    if config.source_obj is not None:
        info = getattr(config.source_obj, "info", None)
        return (info.granted_fps or info.requested_fps) if info is not None and info.live else None
    if config.fps is None:
        return None
    path = Path(str(config.source))
    if path.is_file() and not str(config.source).isdecimal():  # a video paced at the file's own rate
        import cv2

        cap = cv2.VideoCapture(str(path))
        try:
            own = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
        finally:
            cap.release()
        return own or None
    return float(config.fps)


def _compile(obj: Any, name: str | None, backend: str, device: str, precision: str, workers: bool = True,
             rate: float | None = None) -> Any:
    from edgekit.models import Model, load_model

    if obj is not None and hasattr(obj, "key") and hasattr(obj, "model"):  # a plan Candidate
        model = obj.model_obj if obj.model_obj is not None else Model.from_dict(obj.model)
    elif obj is None and _is_bundle(name):  # a deployed bundle runs as it will on the device (verified first)
        from edgekit.deployment import Predictor

        return Predictor.open(str(name), backend=None if backend == "auto" else backend)
    else:
        model = obj if obj is not None else load_model(str(name))
    return compile_live_session(model, backend, device=device, precision=precision, workers=workers, rate=rate)


def _is_bundle(name: str | None) -> bool:
    from pathlib import Path

    path = Path(str(name or ""))
    return (path.is_dir() and (path / "manifest.json").is_file()) or (path.suffix == ".zip" and path.is_file())


def sessions_and_source(config: LiveConfig) -> tuple[Any, Any, Any]:
    """``(model, reference, source)`` of a run: :func:`compile_sessions` and :func:`open_live_source`.

    A camera or stream is opened first, and the session compiled for the rate it granted (an asked
    ``fps`` only where nothing was granted: a stream keeps its own rate whatever is asked, and a
    camera may grant less; the app's "Camera-like, 30 FPS" on a 25 FPS stream chose for 30).
    Why: how the cores are used (one-thread runs side by side, or one run on every core) is
    chosen by frames/s when the rate is unknown, and by how soon a frame comes back when frames
    come at a camera's pace; at a 30 FPS camera's default rate the first choice buys frames/s
    nobody can use and costs latency. Opening first also tells of a
    missing camera before a model is compiled. The pipeline does not open it again.

    A video file, an image, a folder or a list is opened first too, for the same reason: what is
    wrong with it is said before a model is compiled. It stays open, so the pipeline's ``open``
    finds it open and does not read it again.

    Raises:
        SourceError: the camera, stream or file cannot be opened (nothing was compiled).
        ModelLoadError / BackendUnavailable: as :func:`compile_sessions` (the source is closed).
    """
    from edgekit.vision.sources import FolderSource, VideoSource

    built, rate = None, None
    if config.source_obj is None:
        built = open_live_source(config)
        if isinstance(built, (VideoSource, FolderSource)):  # a file, a folder, a list (paced or not): a broken
            built.open()  # row or video is said before any compiling, not after the model was compiled
        elif built.info.live:  # a camera or stream: its rate is known once it is open, and an asked rate
            built.open()  # may not be granted (a stream keeps its own; a camera in low light halves it)
            rate = built.info.granted_fps
    try:
        main, reference = compile_sessions(config, rate=rate)
    except BaseException:
        if built is not None:
            built.close()
        raise
    if built is not None and _source_spec(config, main) == config.source:
        return main, reference, built  # built once (a demo stream takes ~35 ms to make)
    if built is not None:
        built.close()
    return main, reference, open_live_source(config, main)


def open_live_source(config: LiveConfig, session: Any = None) -> Any:
    """The run's frame source (built, not opened): ``source_obj`` or ``open_source(source)``; for a
    detector ``session`` the ``demo`` source is the labelled detection stream (boxes, running mAP)."""
    from edgekit.vision.sources import open_source

    if config.source_obj is not None:
        return config.source_obj
    return open_source(_source_spec(config, session), fps=config.fps, loop=config.loop)


def _source_spec(config: LiveConfig, session: Any) -> str:
    """The ``--source`` text to build for ``session``: "demo" means the detection stream to a detector."""
    if config.source == "demo" and session is not None and is_detector(session):
        return "demo-det"
    return config.source


def check_detection_view(config: LiveConfig, model: Any) -> None:
    """Refuse ``conf``/``classes`` that cannot apply to ``model`` (a loaded ``Model``) before anything
    runs or is saved; the pipeline checks the same again on the compiled model.

    Raises:
        ConfigError: they are set for a classifier, or a class name the detector does not have.
    """
    if model is None or (config.conf is None and config.classes is None) or not hasattr(model, "outputs"):
        return
    from edgekit.detection.head import detector_spec, model_task
    from edgekit.types import Task
    from edgekit.vision.predictors import class_ids

    name = getattr(model, "name", None) or config.model
    if model_task(model) != Task.DETECTION:
        raise ConfigError(f"conf and classes (--conf/--classes) apply to detection models; {name} is a "
                          "classifier: leave them out")
    if config.classes is not None:
        class_ids(tuple(str(x) for x in detector_spec(model).labels or ()), config.classes, name)


def is_detector(session: Any) -> bool:
    """True for a detector session or detection bundle ``Predictor``."""
    if getattr(session, "detector_spec", None) is not None:
        return True
    model = getattr(session, "model", None)
    if model is None or not hasattr(model, "outputs"):
        return False
    from edgekit.detection.head import model_task
    from edgekit.types import Task

    return model_task(model) == Task.DETECTION


def compile_live_session(model: Any, backend: str = "auto", device: str = "cpu", precision: str = "fp32",
                         workers: bool = True, rate: float | None = None) -> Any:
    """Compile a session for the live pipeline.

    Capture and drawing threads share the cores with inference, so onnxruntime's
    intra-op threads spin-wait only while a frame is being inferred, never after
    (``session.force_spinning_stop``). Measured on 2 cores (``benchmarks/pipeline.py``,
    ``benchmarks/detection.py``): threads that spin on after each run halved the end-to-end
    FPS of a small model; threads that never spin cost 25-35 % of it for MobileNetV2-0.5
    and YOLOX-Nano, whose every operator then waits for sleeping threads to wake.

    ``backend="auto"``: the first backend that loads the model; for a graph runtimes run very
    differently (dynamic INT8) the others are measured too and the fastest kept
    (:mod:`edgekit.vision._auto_backend`; the choice is in ``session.info.notes``).

    ``workers``: on a CPU whose backend allows calls side by side, also measure one-thread runs
    side by side against one run on every core, and keep the faster (``session.info.workers``
    says how many calls the session then serves at once; :mod:`edgekit.vision._workers`).
    ``rate``: frames per second a camera or paced source delivers (:func:`source_rate`): when
    both forms keep up with it, the one returning a frame sooner at that pace is kept.
    """
    def live_options(name: str, **fields: Any) -> Any:
        shared = {**capabilities(name).shared_cpu_options, **fields}  # e.g. onnxruntime: spin_between_runs=False
        return capabilities(name).make_options(**shared) if shared else None

    if backend != "auto":
        session = compile_session(model, backend, device=device, precision=precision, options=live_options(backend))
    else:  # "auto" passes options to the backend of their type: the first reader's, as it is tried first
        first = (readers(model) or list_backends())[0]
        session = compile_session(model, "auto", device=device, precision=precision, options=live_options(first))
        from edgekit.vision import _auto_backend

        if _auto_backend.needs_race(session):
            others = [name for name in backends_for(model.format) if name != session.info.backend]
            session = _auto_backend.race(session, others, lambda name: compile_session(
                model, name, device=device, precision=precision, options=live_options(name)))
    name = session.info.backend
    if not workers or not capabilities(name).concurrent_predict or str(session.info.device).lower() != "cpu":
        return session
    from edgekit.vision import _workers

    return _workers.choose(session, lambda: compile_session(
        model, name, device=device, precision=precision, options=live_options(name, threads=1)), rate=rate)


def startup_notes(*sessions: Any) -> list[str]:
    """What the user reads when a demo starts: what was measured to choose these sessions' runtimes
    (``backend="auto"``), how their runs fill the cores (one on every core, or one-thread runs side
    by side), and what the runtimes said bears on the accuracy shown (``SessionInfo.caveats``:
    OpenVINO INT8 on a CPU whose integer sums saturate, whichever backend was asked for). Empty
    when there is nothing to say."""
    from edgekit.vision._auto_backend import said
    from edgekit.vision._workers import PREFIX

    infos = [s.info for s in sessions if getattr(s, "info", None) is not None]
    workers = [n for info in infos for n in info.notes if n.startswith(PREFIX)]
    caveats = [c for info in infos for c in getattr(info, "caveats", ())]
    return list(dict.fromkeys(said(*sessions) + workers + caveats))
