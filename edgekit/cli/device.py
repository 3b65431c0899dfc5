"""``edgekit device add|list|remove|check|trust``: devices reached over SSH, measured on for real.

Once added, a device is a target: ``edgekit plan MODEL --target pi5`` and
``edgekit bench MODEL --device pi5`` measure there; ``edgekit deploy ... --to pi5``
copies a bundle there and verifies it. ``edgekit device measure`` is what runs on
the device itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc

device_app = typer.Typer(help="Devices reached over SSH (a Raspberry Pi, a Jetson, a NUC): add, check, trust.",
                         no_args_is_help=True)


@device_app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="Short name, e.g. pi5.")],
    url: Annotated[str, typer.Argument(help="ssh://user@host[:port]")],
    key: Annotated[Path | None, typer.Option("--key", help="Private key file (default: the SSH agent, ~/.ssh/id_*).")] = None,
    target: Annotated[str, typer.Option("--target", help="What the device is, e.g. raspberry-pi-5 (budgets, labels).")] = "",
    edgekit_cmd: Annotated[str, typer.Option("--edgekit", help="How to run edgekit there, e.g. ~/venv/bin/edgekit.")] = "edgekit",
    workdir: Annotated[str, typer.Option("--workdir", help="Folder for bundles there (relative = under home).")] = "",
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds to wait for connect + login.")] = 10.0,
    force: Annotated[bool, typer.Option("--force", help="Replace a device of the same name.")] = False,
) -> None:
    """Register a device (no password is ever stored; keys and the agent are used as OpenSSH would)."""
    from edgekit._io import expand_user
    from edgekit.cli._console import console
    from edgekit.devices.store import DEFAULT_WORKDIR, Device, add_device, parse_url

    user, host, port = parse_url(url)
    device = Device(name, host, user, port, str(expand_user(key)) if key else None, target, edgekit_cmd,
                    workdir or DEFAULT_WORKDIR, timeout)
    path = add_device(device, force=force)
    console.print(f"[green]added[/] {esc(name)} = {esc(device.url)} (saved in {esc(str(path))}); "
                  f"next: edgekit device check {esc(name)}", highlight=False)


@device_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the registered devices."""
    from rich.table import Table

    from edgekit.cli._console import console, print_json
    from edgekit.devices.store import DEFAULT_WORKDIR, load_devices

    devices = load_devices()
    if as_json:
        print_json({n: d.to_dict() for n, d in devices.items()})
        return
    if not devices:
        console.print("no devices; add one with: edgekit device add pi5 ssh://pi@raspberrypi.local --target raspberry-pi-5")
        return
    # the key, command and workdir a device sets apart from the defaults go under the table, a line each:
    # six columns (each the same on every row) broke "raspberry-pi-5" and the address mid-word at 80
    # columns, and a long key path cannot fit a column beside them
    table = Table(title="devices", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("address", overflow="fold")
    table.add_column("target", no_wrap=True)
    own = {}
    for d in devices.values():
        table.add_row(esc(d.name), esc(d.url), esc(d.target or "-"))
        settings = [f"key {d.key}" if d.key else "", f"command {d.edgekit}" if d.edgekit != "edgekit" else "",
                    f"workdir {d.workdir}" if d.workdir != DEFAULT_WORKDIR else ""]
        if any(settings):
            own[d.name] = ", ".join(x for x in settings if x)
    console.print(table)
    for name, settings in own.items():
        console.print(f"{esc(name)}: {esc(settings)}", highlight=False)
    console.print("defaults: key from ssh-agent or ~/.ssh, command edgekit, workdir "
                  f"{DEFAULT_WORKDIR} (on the device, under the login folder)", highlight=False)


@device_app.command("remove")
def remove_cmd(name: Annotated[str, typer.Argument(help="Device name.")]) -> None:
    """Forget a device (its trusted host key stays in edgekit's known_hosts)."""
    from edgekit.cli._console import console
    from edgekit.devices.store import remove_device

    device = remove_device(name)
    console.print(f"removed {esc(name)} ({esc(device.url)})", highlight=False)


@device_app.command("trust")
def trust_cmd(
    name: Annotated[str, typer.Argument(help="Device name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept without asking (after checking the fingerprint).")] = False,
) -> None:
    """Show the device's host key fingerprint and, once confirmed, trust it (edgekit's own known_hosts)."""
    from edgekit.cli._console import console
    from edgekit.devices.ssh import fetch_host_key, fingerprint, host_pattern, trust
    from edgekit.devices.store import get_device
    from edgekit.errors import Cancelled

    device = get_device(name)
    key = fetch_host_key(device)
    console.print(f"{esc(host_pattern(device))} presents {key.get_algorithm()} key {fingerprint(key)}", highlight=False)
    if not yes and not typer.confirm("Is this the device's key (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub there)?"):
        raise Cancelled("host key not trusted; nothing was written")
    path = trust(device, key)
    console.print(f"[green]trusted[/] in {esc(str(path))}", highlight=False)


@device_app.command("check")
def check_cmd(
    name: Annotated[str, typer.Argument(help="Device name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Connect, run the device's own `edgekit profile --json`, and say what is missing (exit 1 if anything)."""
    from edgekit.cli._console import console, print_json
    from edgekit.devices.remote import Remote
    from edgekit.devices.store import get_device

    with Remote.open(get_device(name)) as remote:
        check = remote.check()
    if as_json:
        print_json(check.to_dict())
    else:
        _show_check(check, console)
    if not check.ok:
        raise typer.Exit(1)


def _show_check(check, console) -> None:
    from edgekit.cli.profile import render
    from edgekit.hardware import HardwareProfile

    console.print(f"[bold]{esc(check.device)}[/] {esc(check.url)}: python {check.python}, edgekit {check.edgekit}; "
                  + ", ".join(f"{b} {v or '[yellow]missing[/]'}" for b, v in check.backends.items()), highlight=False)
    if check.profile:
        console.print(render(HardwareProfile.from_dict(check.profile)))
    from edgekit.cli._console import print_message

    for p in check.problems:
        print_message(f"[bold red]problem:[/] {esc(p)}", to=console)
    for n in check.notes:
        print_message(f"[dim]note: {esc(n)}[/]", to=console)
    console.print("[green]ready: plan --target / bench --device measure there[/]" if check.ok else
                  "[bold red]not ready[/]", highlight=False)


@device_app.command("measure", hidden=True)
def measure_cmd(
    bundles: Annotated[list[Path], typer.Argument(help="Bundle folder(s) on this device.")],
    seconds: Annotated[float, typer.Option("--seconds", min=0.05, help="Timed benchmark seconds.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (always).")] = True,
) -> None:
    """(Runs ON the device.) Verify bundles, re-run their samples, benchmark them interleaved; print JSON
    (one bundle: its object; several: ``{"results": [...]}`` in their order)."""
    from edgekit.devices.onboard import measure_bundle, measure_bundles

    if len(bundles) == 1:
        print(json.dumps(measure_bundle(bundles[0], seconds), default=str))
        return
    print(json.dumps({"results": measure_bundles(bundles, seconds)}, default=str))


def register(app: typer.Typer) -> None:
    """Add ``device`` to the CLI."""
    app.add_typer(device_app, name="device")


def bench_there(model: str, name: str, backends: list[str] | None, precisions: list[str] | None, seconds: float,
                as_json: bool, out: Path | None = None, force: bool = False) -> None:
    """``edgekit bench MODEL --device NAME``: one bundle per backend x precision, measured on the device."""
    import tempfile

    from edgekit._io import write_text_atomic
    from edgekit.cli._console import console, err_console, print_json, table_console
    from edgekit.cli.bench import render, resolve_model
    from edgekit.devices.planning import bench_on_device

    with tempfile.TemporaryDirectory(prefix="edgekit-bench-") as tmp:
        loaded = resolve_model(model, Path(tmp))
        with err_console.status(f"on {name}: building, shipping and benchmarking", spinner="dots") as status:
            result = bench_on_device(loaded, name, backends, precisions, seconds,
                                     progress=lambda f, m: status.update(esc(m)))
    data = result.to_dict()
    if out is not None:
        write_text_atomic(out, json.dumps(data, indent=2, default=str), force=force)
    if as_json:
        print_json(data)
        return
    from edgekit.hardware import HardwareProfile

    console.print(f"[bold]measured on device {esc(name)}[/] ({esc(result.url)}): "
                  f"{esc(HardwareProfile.from_dict(result.profile).summary())}", highlight=False)
    wide = table_console(132)  # as `edgekit bench` here: the terminal's width, its narrow form under 80 columns
    wide.print(render(list(result.results), wide.width))
    for row in result.overhead:
        console.print(f"[dim]{row['backend']}/{row['precision']}: sent {row['bytes_sent']} bytes in "
                      f"{row['transfer_s']:.2f} s, remote start-up {row['startup_s']:.2f} s[/]", highlight=False)


def verify_there(bundle: Path, name: str, manifest: dict | None = None) -> None:
    """``edgekit deploy ... --to NAME``: copy the bundle to the device, run ``edgekit verify`` there.

    With ``manifest`` (``--json``) prints ``{"manifest", "device"}`` as JSON. Exit code 1 when
    a promise does not hold there.
    """
    from edgekit.cli._console import console, err_console, print_json
    from edgekit.cli.verify import render
    from edgekit.deployment.verify import VerifyReport
    from edgekit.devices.planning import deploy_to_device

    with err_console.status(f"copying {bundle.name} to {name} and verifying it there", spinner="dots"):
        result = deploy_to_device(bundle, name)
    if manifest is not None:
        print_json({"manifest": manifest, "device": result})
    else:
        ship = result["shipment"]
        console.print(f"[green]copied to {esc(name)}:[/] {esc(result['path'])} ({len(ship['sent'])} files sent, "
                      f"{len(ship['kept'])} already there, {ship['bytes_sent']} bytes)", highlight=False)
        console.print(render(VerifyReport.from_dict(result["report"])))
        console.print(f"[green]verified on {esc(name)}: every promise held[/]" if result["passed"] else
                      f"[bold red]the bundle does not keep its promises on {esc(name)}[/]", highlight=False)
    if not result["passed"]:
        raise typer.Exit(1)
