"""``edgekit demo``: run a model live on a camera, video, folder or the labelled
demo stream, headless by default, with a one-line live readout.

With no arguments it runs ``demo:digits`` on the labelled demo stream for
15 s and prints FPS, latency and accuracy. ``--record`` writes the annotated
video, ``--json`` the stats (neither over an existing file unless ``--force``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape as esc
from rich.table import Table

from edgekit._text import first_few


def _cut_short(stats: dict, r: Any, seconds: float | None) -> str:
    """When ``--seconds`` ended a finite source (a video file, a folder) before its last frame: how far it
    got, and the ``--seconds`` that plays it all at this run's rate. Why: a 129-frame video at 8 frames/s
    stopped at frame 122 after 15 s, and its summary and ``--record`` video said nothing of the 7 left."""
    source = stats.get("source") or {}
    length, captured = source.get("length"), r.frames_captured
    if not seconds or stats.get("interrupted") or stats.get("settings", {}).get("loop") or not length \
            or captured >= length or captured <= 0 or r.elapsed_s <= 0:
        return ""
    needed = math.ceil(1.1 * length * r.elapsed_s / captured)
    return (f" (--seconds {seconds:g} ended it at frame {captured} of the {length} in {esc(str(source.get('name')))}; "
            f"-t {needed} plays them all at this rate)")


def summary_table(stats: dict, seconds: float | None = None) -> Table:
    """The run's final numbers as a two-column table; ``seconds``: the run asked for (to say when the
    source ended first)."""
    from edgekit.vision.readouts import Readouts

    r = Readouts.from_dict(stats["readouts"])
    table = Table(title=f"edgekit demo: {esc(r.predictor.name)} on {esc(r.source)}", show_header=False,
                  title_justify="left")
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("Runs on", esc(r.predictor.badge))
    window = stats.get("fps_window_s", 5.0)  # the meters' window
    if r.elapsed_s >= window or r.elapsed_s <= 0:
        rates = (r.capture_fps.window, r.inference_fps.window, r.display_fps.window)
        span = f"avg of last {window:g} s"
    else:  # a shorter run: its counts over its length, so shown never reads above captured
        rates = tuple(n / r.elapsed_s for n in (r.frames_captured, r.frames_inferred, r.frames_displayed))
        span = f"frames / {r.elapsed_s:.1f} s run"
    table.add_row(f"FPS ({span})", "capture {:.1f} | inference {:.1f} | shown {:.1f}".format(*rates))
    ended = "" if not seconds or stats.get("interrupted") or r.elapsed_s >= seconds - 0.5 else \
        f" (the source ended before --seconds {seconds:g})"
    table.add_row("Ran", f"{r.elapsed_s:.1f} s{ended or _cut_short(stats, r, seconds)}")
    in_flight = r.frames_captured - r.frames_displayed - r.dropped  # captured, not yet shown when it stopped
    table.add_row("Frames", f"{r.frames_captured} captured, {r.frames_inferred} inferred, {r.frames_displayed} shown, "
                  f"{r.dropped} dropped" + (f", {in_flight} in flight at the stop" if in_flight > 0 else "")
                  + ("" if stats.get("dropping") else " (source is not live: every frame is used)"))
    table.add_row("Limited by", esc(r.bottleneck))
    for stage, lat in r.latency.items():
        table.add_row(f"latency {stage}", f"p50 {lat.p50_ms:.2f} ms, p95 {lat.p95_ms:.2f} ms")
    if r.cpu_ms:  # where the CPU goes, per frame shown (overlays drawn only for frames shown or recorded)
        stages = ", ".join(f"{k} {v:.2f}" for k, v in r.cpu_ms.items() if k not in ("total", "beyond_inference"))
        table.add_row("CPU ms/frame", f"{stages}; total {r.cpu_ms['total']:.2f}, "
                      f"beyond inference [bold]{r.cpu_ms['beyond_inference']:.2f}[/]")
    if r.accuracy and r.accuracy.n and not r.accuracy.scored:
        a = r.accuracy
        table.add_row("Accuracy", f"[dim]not scored: the {a.n} labelled frames' {esc(a.unknown_text())} are none of "
                      f"this model's {stats.get('classes', 0)} classes (a --source folder with one sub-folder per "
                      "class of the model scores every frame)[/]")
    elif r.accuracy and r.accuracy.n:
        a = r.accuracy
        lacking = "" if not a.unknown else (f"; {a.unknown} frames' {esc(a.unknown_text())} are none of the model's "
                                            "classes and count as wrong")
        table.add_row("Accuracy", f"[bold]{a.accuracy:.1%}[/] (95% CI {a.low:.1%}-{a.high:.1%}) on {a.n} labelled frames; "
                      f"macro P {a.precision:.3f} R {a.recall:.3f} F1 {a.f1:.3f}{lacking}")
    elif r.detections is not None:  # a detector: what the last frame held
        from edgekit.vision.detect import count_text
        from edgekit.vision.readouts import MapReadout

        table.add_row("Last frame", esc(count_text(r.detections, most=6)))
        final = stats.get("detection_metrics")
        lacking = esc(MapReadout(unknown_classes=tuple((final or {}).get("unknown_classes", ()))).unknown_text())
        if final and not final["boxes"] and final.get("unknown"):  # e.g. a COCO detector on the digit stream
            table.add_row("mAP", f"[dim]not scored: the {final['unknown']} labelled boxes are of {lacking} this "
                          f"model does not have (a YOLO folder labelled with the model's classes scores every "
                          "frame)[/]")
        elif final:  # a labelled detection stream: boxes scored against the truth
            conf = "" if final.get("conf") is None else f" at the live conf {final['conf']:g}"
            if final.get("classes") is not None:  # the class filter: the mean runs over the shown classes
                conf += f", over the shown classes {esc(', '.join(final['classes']))}"
            if final.get("unknown"):
                conf += f"; {final['unknown']} boxes of {lacking} the model lacks were left out"
            table.add_row("mAP", f"[bold]mAP@0.5 {final['map50']:.3f}[/], mAP@0.5:0.95 {final['map']:.3f} on "
                          f"{final['frames']} labelled frames ({final['boxes']} boxes){conf}; "
                          f"P {final['precision']:.3f} R {final['recall']:.3f}")
    else:
        keys = "; with --window, keys 0-9 declare what the camera shows" if 0 < stats.get("classes", 0) <= 10 else ""
        table.add_row("Accuracy", f"[dim]no labels (a --source folder with one sub-folder per class scores every "
                      f"frame{keys})[/]")
    seen = _seen_text(stats.get("seen"), r.detections is not None)
    if seen:
        table.add_row("Seen", esc(seen))
    if r.ab:
        table.add_row("A/B reference", f"{esc(r.ab.reference.name)} ({esc(r.ab.reference.badge)}): "
                      f"{r.ab.reference.fps.window:.1f} FPS, p50 {r.ab.reference.latency.p50_ms:.2f} ms")
        what = "Box agreement" if r.detections is not None else "Top-1 agreement"
        table.add_row(what, f"{r.ab.agreement:.1%} - {esc(r.ab.note)}")
    if r.source_reopens or r.source_error:
        table.add_row("Source", f"reopened {r.source_reopens}x; last error: {esc(r.source_error or '-')}")
    skipped = stats.get("skipped_files") or ()
    if skipped:
        names = first_few(Path(f).name for f in skipped)
        table.add_row("Skipped", f"{len(skipped)} file(s) that did not decode as images: {esc(names)}")
    if stats.get("record"):
        table.add_row("Video", f"{esc(str(stats['record']['path']))} ({stats['record']['frames']} frames)")
    return table


def _seen_text(seen: dict | None, detector: bool) -> str:
    """``top-1 over frames: water bottle 72%, soap dispenser 12%`` (a classifier), or for a detector
    ``frames holding one: bottle 100%, person 11%``: what the model saw, not only how fast."""
    if not seen or not seen.get("frames") or not seen.get("labels"):
        return ""
    n = seen["frames"]
    if n >= 20 and max(count for _, count in seen["labels"]) * 20 < n:  # distinct photos: "pier <1%, sea
        return ""  # lion <1%, ..." says nothing a reader can use (a video of one object says "bottle 72%")
    names = [f'"{label}"' if str(label).isdigit() else str(label) for label, _ in seen["labels"]]  # "9" 15%, not 9 15%
    parts = [f"{name} {100 * count / n:.0f}%" if count * 100 >= n else f"{name} <1%"
             for name, (_, count) in zip(names, seen["labels"])]
    return ("frames holding one: " if detector else "top-1 over frames: ") + ", ".join(parts)


def _list_cameras() -> None:
    from edgekit.cli._console import console
    from edgekit.vision.sources import list_cameras

    cameras = list_cameras(probe=True)
    if not cameras:
        console.print("no cameras found (on Linux: no /dev/video* capture device)")
    for cam in cameras:
        size = f" {cam.width}x{cam.height} @ {cam.fps or '?'} FPS" if cam.width else ""
        console.print(f"{cam.index}: {esc(cam.name)} {esc(cam.path)}{size}")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the CLI."""

    @app.command("demo")
    def demo_cmd(
        model_arg: Annotated[str | None, typer.Argument(metavar="model", show_default=False,
                                                        help="Model file or name (same as --model).")] = None,
        model: Annotated[str, typer.Option("--model", "-m", help="Model file or name.")] = "demo:digits",
        source: Annotated[str, typer.Option("--source", "-s", help="demo | synthetic | camera index (0) | rtsp://... | video file | image folder | "
                                                      "path,label list (.csv: a running accuracy) | a detector's YOLO/VOC folder or COCO .json (a running mAP).")] = "demo",
        backend: Annotated[str, typer.Option("--backend", "-b", help="auto | onnxruntime | openvino | torch. auto: the first that loads the model; a dynamic-INT8 model is measured on each and runs on the fastest.")] = "auto",
        precision: Annotated[str, typer.Option("--precision", "-p", help="Execution precision.")] = "fp32",
        compare: Annotated[str | None, typer.Option("--compare", help="A/B: a reference model run on the same frames.")] = None,
        compare_backend: Annotated[str | None, typer.Option("--compare-backend", help="Backend for --compare (default: --backend).")] = None,
        every: Annotated[int, typer.Option("--every", min=1, help="Run the --compare reference on every Nth frame.")] = 1,
        seconds: Annotated[float, typer.Option("--seconds", "-t", min=0.1, help="How long to run (Ctrl-C or SIGTERM ends it sooner, keeping the summary, --record and --json).")] = 15.0,
        fps: Annotated[float | None, typer.Option("--fps", help="Pace a file/demo source like a live camera at this FPS.")] = None,
        record: Annotated[Path | None, typer.Option("--record", help="Write the annotated video (.mp4/.avi).")] = None,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the stats JSON here.")] = None,
        window: Annotated[bool, typer.Option("--window", help="Show a window when a display exists.")] = False,
        list_cameras: Annotated[bool, typer.Option("--list-cameras", help="List cameras and exit.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Replace --record/--json files.")] = False,
        track: Annotated[bool, typer.Option("--track", help="Detectors: IoU tracker ids so per-class counts do not flicker.")] = False,
        conf: Annotated[float | None, typer.Option("--conf", min=0.0, max=1.0, help="Detectors: show boxes scoring at least this (default: the card's detection.conf).")] = None,
        classes: Annotated[str | None, typer.Option("--classes", help="Detectors: show only these classes, comma-separated (e.g. person,bus); counts and mAP cover them.")] = None,
        save_config: Annotated[str | None, typer.Option(help="Also write these settings as YAML for `edgekit run`.")] = None,
    ) -> None:
        """Run a model live with honest FPS, latency breakdown and accuracy readouts."""
        from edgekit.vision.config import LiveConfig

        if list_cameras:
            _list_cameras()
            return
        if model_arg is not None:  # `edgekit demo MODEL`, like every other command
            if model != "demo:digits" and model != model_arg:
                raise typer.BadParameter(f"two models given ({model_arg} and --model {model}); give one", param_hint="MODEL")
            model = model_arg
        from edgekit.cli._card_flags import given_flags

        config = LiveConfig(model=model, source=source, backend=backend, precision=precision,
                            compare=compare,
                            compare_backend=compare_backend, reference_every=every, seconds=seconds, fps=fps,
                            record=None if record is None else str(record),
                            json_out=None if json_out is None else str(json_out), window=window, force=force,
                            track=track, conf=conf, classes=_class_names(classes), card_flags=given_flags())
        config = with_model(config)  # before --save-config: a card-less model or an unknown class writes nothing
        if save_config:
            from edgekit.cli._console import err_console, shell_arg

            config.save(save_config, force=force)
            err_console.print(f"settings saved to {esc(save_config)} (replay: edgekit run {shell_arg(save_config)})")
        run_live(config)


def _class_names(text: str | None) -> tuple[str, ...] | None:
    """``"person, bus"`` -> ``("person", "bus")``; an empty list is refused (leave --classes out for all)."""
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise typer.BadParameter("no class names given; list them comma-separated or leave --classes out "
                                 "to show every class", param_hint="--classes")
    return names


def with_model(config):
    """``config`` with its model file or name loaded, its card flags applied (``config.card_flags``: what
    ``demo`` was given, or what a replayed live.yaml saved), and its detection view checked: a card-less
    classifier is refused naming the flags, and an unknown class fails now, not after compiling -- the same
    for ``edgekit demo`` and ``edgekit run live.yaml``. Anything else (a bundle) is loaded by the run."""
    from edgekit.cli._card_flags import load_cli_model, use_flags
    from edgekit.vision.config import check_detection_view

    model = config.model
    if config.model_obj is not None or not (model.startswith(("demo:", "hub:"))
                                            or Path(model).suffix.lower() in (".onnx", ".xml", ".pt", ".pth")):
        return config
    with use_flags(config.card_flags):
        model_obj = load_cli_model(model, need_preprocess=True)
    check_detection_view(config, model_obj)
    return config.replace(model_obj=model_obj)


def run_live(config, as_json: bool = False) -> None:
    """Run a :class:`~edgekit.vision.config.LiveConfig` with a one-line live readout; print the summary
    (what ``edgekit demo`` and ``edgekit run live.yaml`` do), or with ``as_json`` the stats as JSON on
    stdout and no readout there (``edgekit run live.yaml --json | jq``)."""
    from rich.text import Text

    from edgekit.cli._console import console, err_console, live_line, print_json, print_message
    from edgekit.vision.demo import run_demo

    def notice(text: str) -> None:  # above the readout, wrapped at the terminal's width (a pipe: one line)
        print_message(f"[yellow]{esc(text)}[/]")

    if as_json:
        stats = run_demo(config, notice=notice)
        print_json(stats)  # what --json PATH writes
    elif console.is_terminal:
        with live_line("starting...") as live:
            # from the second frame shown: the first has no rate yet and read "0.0 FPS shown | e2e p50 0.0 ms"
            # at the terminal's width, read at each update (a window resized meanwhile): a line that
            # wrapped was redrawn on two rows
            stats = run_demo(config, on_update=lambda r: r.frames_displayed > 1 and live.update(
                Text(r.line(console.width), no_wrap=True, overflow="ellipsis")),
                             notice=notice)
    else:
        stats = run_demo(config, notice=notice)
    if not as_json:
        console.print(summary_table(stats, config.seconds))
    for out in (config.record, config.json_out):
        if out is not None:
            err_console.print(f"saved {esc(str(out))}")
    if stats.get("interrupted"):
        import signal

        by = stats.get("stopped_by") or "SIGINT"
        what = "interrupted (Ctrl-C)" if by == "SIGINT" else f"stopped by {by}"
        err_console.print(f"{what}: the summary covers the frames until then")
        raise typer.Exit(128 + int(getattr(signal, by, signal.SIGINT)))  # the shell's convention: 130, 143, 129
