"""Sub-commands imported on use: ``edgekit --help`` and ``edgekit bench`` load one module, not eighteen.

Why: importing every sub-command module (and what they import: the hardware
profile, OpenVINO probes, rich tables) made ``edgekit --help`` cost 2.6x a bare
``import onnxruntime``. :class:`LazyGroup` lists the commands from
:data:`SHORT_HELP` and imports ``edgekit.cli.<name>`` only when that command
runs or shows its own help. ``tests/core/test_cli_help.py`` checks that the
table matches each command's own help, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# the first paragraph of each command's help, shown by `edgekit --help` without importing the command
SHORT_HELP = {
    "profile": "Show this machine's CPU, ISA flags, memory, CUDA/OpenVINO devices, onnxruntime providers and "
               "runtime versions; say why anything is missing.",
    "backends": "List inference backends (onnxruntime, openvino, torch) and their devices, with availability and, "
                "when unavailable, the reason and the fix.",
    "targets": "List target devices, or show one with its published reference figures.",
    "info": "Show a model's inputs/outputs, format, precision, FLOPs, parameters, size and sha256.",
    "card": "Show a model's card (task, preprocessing, labels and where each value came from); with --save, "
            "write it beside the model.",
    "convert": "Convert a model (PyTorch -> ONNX, ONNX/PyTorch -> OpenVINO IR) and check that the result gives the "
               "same outputs as the source on random inputs.",
    "pull": "Download a model from the catalogue (sha256-verified, never a partial file).",
    "eval": "Measure a model's accuracy, per-class precision/recall/F1 and confusion on labelled images.",
    "bench": "Benchmark MODEL on several backends, interleaved: latency percentiles, throughput, cold start, memory; "
             "unavailable combinations are listed with the reason.",
    "compress": "Compress a model into a NEW file (never edits the input).",
    "plan": "Find the fastest deployment within the accuracy/latency/size budget, by measuring.",
    "run": "Run a saved plan or live-demo configuration.",
    "demo": "Run a model live with honest FPS, latency breakdown and accuracy readouts.",
    "gui": "Open the desktop app (Hardware, Model, Benchmark, Optimize, Deploy, Live demo pages).",
    "deploy": "Package a plan's choice (or a model) as a bundle that checks itself on the device.",
    "verify": "Check a bundle's files and re-measure its promises here (exit 1 when one fails).",
    "serve": ("Serve a bundle: /v2/health, /v2/models/NAME, /v2/models/NAME/infer (tensors, or JPEG/PNG as the "
              "image input), /v2/models/NAME/classify, /v2/models/NAME/detect."),
    "export": "Export a verified bundle for a serving cluster.",
    "device": "Devices reached over SSH (a Raspberry Pi, a Jetson, a NUC): add, check, trust.",
}


def load_command(name: str, markup: str | None) -> TyperCommand | TyperGroup:
    """Import ``edgekit.cli.<name>``, let it register on a scratch app, return its click command."""
    scratch = typer.Typer(rich_markup_mode=markup, add_completion=False, pretty_exceptions_enable=False)
    importlib.import_module(f"edgekit.cli.{name}").register(scratch)
    cmd = typer.main.get_command(scratch)
    inner = getattr(cmd, "commands", None)  # a module that adds a sub-group (``edgekit device ...``)
    from edgekit.cli._examples import EXAMPLES, epilog
    from edgekit.cli._narrow_help import fit  # an 80-column terminal gets click's layout

    if inner is not None and name in inner:
        inner[name].epilog = inner[name].epilog or epilog(name)
        return fit(inner[name], EXAMPLES.get(name))
    cmd.name = name
    cmd.epilog = cmd.epilog or epilog(name)
    from edgekit.cli._card_flags import attach  # --mean/--std/--labels/--card... on every MODEL command

    return fit(attach(cmd), EXAMPLES.get(name))


class LazyCommands(MutableMapping):
    """``{name: command}`` whose values are made on first access, in :data:`COMMANDS` order."""

    def __init__(self, loaded: MutableMapping, names: tuple[str, ...], markup: str | None) -> None:
        self._loaded, self._names, self._markup = dict(loaded), names, markup

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in self._names:
                raise KeyError(name)
            self._loaded[name] = load_command(name, self._markup)
        return self._loaded[name]

    def __setitem__(self, name: str, cmd: Any) -> None:
        self._loaded[name] = cmd

    def __delitem__(self, name: str) -> None:
        self._loaded.pop(name)
        self._names = tuple(n for n in self._names if n != name)

    def __iter__(self) -> Iterator[str]:
        yield from self._names
        yield from (n for n in self._loaded if n not in self._names)

    def __len__(self) -> int:
        return len(set(self._names) | set(self._loaded))

    def is_loaded(self, name: str) -> bool:
        """True once ``name``'s module has been imported."""
        return name in self._loaded


def lazy_group(names: tuple[str, ...]) -> type[TyperGroup]:
    """A ``TyperGroup`` class (for ``typer.Typer(cls=...)``) serving ``names`` lazily."""

    class LazyGroup(TyperGroup):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.commands = LazyCommands(self.commands, names, self.rich_markup_mode)
            self._listing = False

        def get_command(self, ctx: Any, cmd_name: str) -> Any | None:
            lazy = self.commands
            if self._listing and cmd_name in SHORT_HELP and not lazy.is_loaded(cmd_name):
                return TyperCommand(cmd_name, help=SHORT_HELP[cmd_name])  # a stand-in for the listing
            return lazy.get(cmd_name)

        def list_commands(self, ctx: Any) -> list[str]:
            return list(self.commands)  # names only: TyperGroup's version reads every value

        def format_help(self, ctx: Any, formatter: Any) -> None:
            if ctx.parent is None and not any(self.commands.is_loaded(n) for n in SHORT_HELP):
                return print_root_help(self, ctx)  # the list without typer.rich_utils (markdown, tracebacks)
            self._listing = True
            try:
                return super().format_help(ctx, formatter)
            finally:
                self._listing = False

    return LazyGroup


def print_root_help(group: TyperGroup, ctx: Any) -> None:
    """``edgekit --help`` in typer's panel layout, drawn with plain rich (a third of the import cost)."""
    import os

    from rich import box
    from rich.console import Console
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table

    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdecimal() else None
    console = Console(width=width, highlight=False)
    console.print(Padding(f"[bold]{group.get_usage(ctx)}[/]", 1), markup=True)
    console.print(Padding(group.help or "", (0, 1, 1, 1)), markup=False)
    options = Table.grid(padding=(0, 2))
    for param in group.get_params(ctx):  # --version and --help, from the group itself
        if getattr(param, "hidden", False) or not param.opts:
            continue
        options.add_row(f"[bold cyan]{', '.join(param.opts)}[/]", "[dim yellow]<bool>[/]", param.help or "")
    console.print(Panel(options, title="Options", title_align="left", border_style="dim", box=box.ROUNDED))
    commands = Table.grid(padding=(0, 2))
    commands.add_column(style="bold cyan", no_wrap=True)
    commands.add_column()
    for name in group.list_commands(ctx):
        commands.add_row(name, SHORT_HELP.get(name) or (group.commands[name].help or "").strip().split("\n\n")[0])
    console.print(Panel(commands, title="Commands", title_align="left", border_style="dim", box=box.ROUNDED))
