"""``edgekit export BUNDLE --format triton|kserve|mender --out ...``: a bundle for a cluster or a fleet.

* ``triton``: a Triton model repository (``--triton-backend native`` runs the model file in Triton's
  onnxruntime/openvino backend; ``python`` runs the bundle through edgekit in Triton's python backend);
* ``kserve``: InferenceService + ServingRuntime manifests (checked with KServe's own classes when
  kserve is installed), a container build context and the deploy commands;
* ``mender``: a Mender ``directory`` artifact installing the bundle on a fleet, checked by ``edgekit verify``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc

FORMATS = ("triton", "kserve", "mender")


def register(app: typer.Typer) -> None:
    """Add ``export`` to the CLI."""

    @app.command("export")
    def export_cmd(
        bundle: Annotated[Path, typer.Argument(help="Bundle folder or .zip.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="triton: model repository folder (other models in it "
                                                              "are kept); kserve: new folder; mender: the .mender file.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="Export format: triton, kserve or mender.")] = "triton",
        max_batch_size: Annotated[int, typer.Option(min=0, help="Triton max_batch_size for dynamic-batch models.")] = 8,
        instances: Annotated[int, typer.Option(min=1, help="Model instances (CPU).")] = 1,
        force: Annotated[bool, typer.Option("--force", help="Replace an existing model folder.")] = False,
        triton_backend: Annotated[str, typer.Option(help="triton: native (onnxruntime/openvino backend) or python "
                                                         "(edgekit in Triton's python backend).")] = "native",
        image: Annotated[str | None, typer.Option(help="kserve: container image the manifests use.")] = None,
        namespace: Annotated[str, typer.Option(help="kserve: Kubernetes namespace.")] = "default",
        device_type: Annotated[list[str] | None, typer.Option("--device-type", help="mender: compatible device type "
                                                              "(repeat for several; default: the bundle's target's, "
                                                              "raspberrypi4 or raspberrypi5).")] = None,
        dest: Annotated[str | None, typer.Option(help="mender: install folder on the device "
                                                      "(default /opt/edgekit/bundles/NAME).")] = None,
    ) -> None:
        """Export a verified bundle for a serving cluster."""
        from edgekit.cli._console import console, shell_arg
        from edgekit.deployment.bundle import Bundle
        from edgekit.deployment.triton import export_triton
        from edgekit.deployment.triton import triton_backend as triton_backend_name
        from edgekit.errors import BundleError

        if fmt.lower() not in FORMATS:
            raise BundleError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        fmt = fmt.lower()
        if fmt == "kserve":
            from edgekit.cli._export_engines import export_kserve_cmd

            return export_kserve_cmd(bundle, out, image=image, namespace=namespace, force=force)
        if fmt == "mender":
            from edgekit.cli._export_engines import export_mender_cmd

            return export_mender_cmd(bundle, out, device_types=tuple(device_type) if device_type else None, dest=dest,
                                     force=force)
        opened = Bundle.open(bundle)
        folder = export_triton(opened, out, max_batch_size=max_batch_size, instances=instances, force=force,
                               backend=triton_backend)
        console.print(f"[green]Triton model written:[/] {esc(str(folder))}  (tritonserver --model-repository {shell_arg(out)})", highlight=False)
        if triton_backend == "python":  # Triton's own Python runs model.py: edgekit must be importable there
            console.print(f"note: Triton's python backend imports edgekit: in the Triton image, pip install -r "
                          f"{shell_arg(str(folder / '1' / 'bundle' / 'requirements.txt'))}, or set EDGEKIT_PYTHONPATH "
                          "to the site-packages of a virtual environment that has them", highlight=False,
                          soft_wrap=True)  # a command to copy: the terminal wraps it, not mid-path
        if opened.manifest.task == "detection" and triton_backend == "native":
            console.print(f"note: Triton's {esc(triton_backend_name(opened.manifest.format)[0])} backend answers with the "
                          f"detector's raw output tensor ({esc(_shapes(opened.manifest.outputs))}), not boxes: the "
                          "decode and NMS run in edgekit. --triton-backend python serves the bundle through edgekit, "
                          "answering an image with boxes, scores and classes.", highlight=False)


def _shapes(outputs: tuple[dict, ...]) -> str:
    """``output [1, 3549, 85]``: each output's name and shape."""
    return ", ".join(f"{o['name']} {list(o['shape'])}" for o in outputs)
