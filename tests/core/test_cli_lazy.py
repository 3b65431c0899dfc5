"""The CLI imports a sub-command only when it is used, and its listing says what each command's help says."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from edgekit.cli import COMMANDS, app
from edgekit.cli._lazy import SHORT_HELP

PROBE = ("import sys; from edgekit.cli import main; main({argv!r}); "
         "print(sorted(m for m in sys.modules if m.startswith('edgekit.cli.') and not m.startswith('edgekit.cli._')), "
         "'openvino' in sys.modules, 'edgekit.hardware' in sys.modules, file=sys.stderr)")


def _imported(argv: list[str]) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=False,
                          timeout=120)
    return done.stdout, done.stderr.strip().splitlines()[-1]


def test_top_level_help_lists_every_command_without_importing_one():
    out, imported = _imported(["--help"])
    assert imported == "[] False False"
    for name in COMMANDS:
        assert name in out


def test_a_command_imports_only_its_own_module():
    _, imported = _imported(["targets", "--help"])
    assert imported.startswith("['edgekit.cli.targets']")


@pytest.mark.parametrize("name", COMMANDS)
def test_listing_matches_the_command_help(name):
    command = typer.main.get_command(app).commands[name]
    first = " ".join((command.help or "").strip().split("\n\n")[0].split())
    assert SHORT_HELP.get(name) == first, f"update SHORT_HELP[{name!r}] in edgekit/cli/_lazy.py"


def test_unknown_command_still_suggests_the_nearest(capsys):
    from edgekit.cli import main

    assert main(["benhc"]) == 2
    assert "bench" in capsys.readouterr().err


def test_version_names_edgekit_python_and_the_runtimes_without_importing_them():
    """What a bug report needs ("rerun ... and report it"), answered even where a runtime is broken."""
    import edgekit

    probe = ("import sys; from edgekit.cli import main; code = main(['--version']); "
             "print(code, 'onnxruntime' in sys.modules, 'openvino' in sys.modules, 'torch' in sys.modules, "
             "file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120)
    lines = done.stdout.splitlines()
    assert lines[0] == f"edgekit {edgekit.__version__}"
    assert lines[1].startswith(f"python {sys.version_info.major}.{sys.version_info.minor}.")
    import onnxruntime

    assert f"onnxruntime {onnxruntime.__version__}" in lines
    assert done.stderr.strip().splitlines()[-1] == "0 False False False"


def test_top_level_help_lists_the_version_option():
    out, _ = _imported(["--help"])
    assert "--version" in out
