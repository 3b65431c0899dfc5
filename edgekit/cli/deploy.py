"""``edgekit deploy PLAN_OR_MODEL --target T --out DIR|FILE.zip``: write a bundle.

PLAN_OR_MODEL is a saved plan (the folder ``edgekit plan --out`` wrote, or its ``report.json``), a model
file, or a hub name (``demo:digits``). ``--data`` gives the validation images
packaged for ``edgekit verify``: ``demo:digits`` (the held-out handwriting), an
image folder (one sub-folder per class) or a ``path,label`` CSV; for the demo
models it defaults to their held-out split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc


def register(app: typer.Typer) -> None:
    """Add ``deploy`` to the CLI."""

    @app.command("deploy")
    def deploy_cmd(
        source: Annotated[str, typer.Argument(help="Saved plan (the folder plan --out wrote, or its report.json), model file or hub name (demo:digits).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Bundle folder, or a path ending in .zip.")],
        target: Annotated[str | None, typer.Option("--target", "-t", help="Target the bundle is for (default: the plan's, else the --to device, else local).")] = None,
        backend: Annotated[str | None, typer.Option(help="Override the plan's backend (onnxruntime, openvino).")] = None,
        precision: Annotated[str | None, typer.Option(help="Override the plan's precision.")] = None,
        device: Annotated[str | None, typer.Option(help="Override the plan's device.")] = None,
        data: Annotated[str | None, typer.Option(help="Validation images: demo:digits, a class folder or a CSV; a detector: a YOLO folder, COCO .json or VOC folder (mAP is promised).")] = None,
        samples: Annotated[int | None, typer.Option(
            min=1, max=10000, help="Validation images packaged for verify (default 64, fewer when the model's "
                                   "tensors are large: their inputs and outputs take at most 48 MB).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print only the manifest as JSON.")] = False,
        to: Annotated[str | None, typer.Option("--to", help="A device (edgekit device add): copy the bundle there "
                                               "and run edgekit verify there.")] = None,
    ) -> None:
        """Package a plan's choice (or a model) as a bundle that checks itself on the device."""
        from edgekit.cli._console import console, print_json, shell_arg
        from edgekit.deployment import deploy

        if to:
            from edgekit.devices.store import get_device

            get_device(to)  # an unknown device fails before the bundle is built
        from edgekit.cli._card_flags import load_cli_model

        model_or_plan = source
        if source.startswith(("demo:", "hub:")) or Path(source).suffix.lower() in (".onnx", ".xml", ".pt", ".pth"):
            model_or_plan = load_cli_model(source, need_preprocess=True)  # card flags; card-less models refused
        from edgekit.cli._progress import progress_bar

        if to and not target and not isinstance(model_or_plan, str):  # a model sent to a device is for that device
            target = to  # (a plan keeps its own target); the bundle said "local", this machine
        if target:  # a device added with `edgekit device add` is a target, as for `plan --target`
            from edgekit.devices.planning import deploy_target

            target = deploy_target(target)
        with progress_bar(f"deploying {source}") as progress:
            bundle = deploy(model_or_plan, target=target, out=out, backend=backend, precision=precision,
                            device=device, data=data, samples=samples, force=force, progress=progress)
        m = bundle.manifest
        if to:  # copy it there and verify it there (edgekit.cli.device)
            from edgekit.cli.device import verify_there

            verify_there(bundle.path, to, m.to_dict() if as_json else None)
            return
        if as_json:
            print_json(m.to_dict())
            return
        acc = m.validation.get("accuracy")
        if m.validation.get("map50") is not None:  # a detector deployed with labelled boxes: mAP, no top-1
            scored = f"mAP@0.5 {m.validation['map50']:.4f}, mAP@0.5:0.95 {m.validation.get('map', 0.0):.4f}"
        else:
            scored = f"accuracy {'n/a' if acc is None else f'{acc:.4f}'}"
        console.print(f"[green]bundle written:[/] {esc(str(bundle.path))}", highlight=False)
        console.print(f"  {esc(m.name)} on {m.backend} ({m.device}, {m.precision}); fallbacks: "
                      f"{', '.join(b['backend'] for b in m.backends[1:]) or 'none'}", highlight=False)
        console.print(f"  sample: {m.validation.get('samples')} images, {scored} (re-measured by edgekit verify), "
                      f"p50 {m.validation.get('latency_ms', 0):.3f} ms; {len(m.files)} files checksummed",
                      highlight=False)
        console.print(f"  on the device: edgekit verify {shell_arg(bundle.path)}; serve it: edgekit serve {shell_arg(bundle.path)} "
                      f"(as {esc(m.serve_name)})", highlight=False)
