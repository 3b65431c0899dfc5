"""``edgekit export --format kserve|mender``: what the command prints for the cluster and fleet exports."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape as esc


def export_kserve_cmd(bundle: Path, out: Path, *, image: str | None, namespace: str, force: bool) -> None:
    """Write the KServe folder and check its manifests with KServe's classes when kserve is installed."""
    from edgekit.cli._console import console
    from edgekit.deployment.kserve import export_kserve, validate_in_child
    from edgekit.errors import BackendUnavailable

    folder = export_kserve(bundle, out, image=image, namespace=namespace, force=force)
    try:
        validate_in_child(folder)
        checked = "manifests checked with KServe's V1beta1InferenceService / V1alpha1ServingRuntime"
    except BackendUnavailable as exc:
        checked = f"manifests not checked: {exc}"
    console.print(f"[green]KServe deployment written:[/] {esc(str(folder))} ({esc(checked)}); next: see "
                  f"{esc(str(folder / 'README.md'))}",
                  highlight=False)


def export_mender_cmd(bundle: Path, out: Path, *, device_types: tuple[str, ...] | None, dest: str | None,
                      force: bool) -> None:
    """Write the artifact and print what ``mender-artifact read`` found in it."""
    from edgekit.cli._console import console
    from edgekit.deployment.mender import export_mender

    artifact = export_mender(bundle, out, device_types=device_types, dest=dest, force=force)
    console.print(f"[green]Mender artifact written:[/] {esc(str(artifact.path))}  name {esc(artifact.name)}, devices "
                  f"{', '.join(artifact.device_types)}, module {artifact.payload_type}", highlight=False)
    for name, digest in artifact.files.items():
        console.print(f"  {esc(name)}  sha256 {digest}", highlight=False)
    console.print(f"  installs into {esc(artifact.dest or '?')} on the device; then the state script runs: "
                  f"edgekit verify {esc(artifact.dest or '<dest>')} (non-zero rolls the update back)", highlight=False)
