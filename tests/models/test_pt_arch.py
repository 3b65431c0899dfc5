"""`.pt` state dicts wherever a model is taken: the card's architecture, or `--arch` on every MODEL command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer

from edgekit.cli import app

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "models"


def edgekit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, check=False, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_the_shipped_state_dict_loads_with_no_flags_from_its_card():
    done = edgekit("info", str(ASSETS / "digits-mnv2.pt"))
    assert done.returncode == 0, done.stderr
    assert "224" in done.stdout


def test_every_model_command_takes_arch_and_input_shape_once():
    group = typer.main.get_command(app)
    for command in ("bench", "eval", "plan", "compress", "deploy", "demo", "card", "convert", "info"):
        flags = [opt for p in group.commands[command].params for opt in getattr(p, "opts", ())]
        assert flags.count("--arch") == 1 and flags.count("--input-shape") == 1, command


def test_a_bare_state_dict_names_the_flag_and_loads_with_it(tmp_path):
    weights = tmp_path / "weights.pt"
    shutil.copy(ASSETS / "digits.pt", weights)  # no card beside it
    refused = edgekit("bench", str(weights), "--backend", "torch", "--seconds", "0.2")
    assert refused.returncode != 0 and "--arch" in refused.stderr
    done = edgekit("bench", str(weights), "--arch", "digitcnn", "--backend", "torch", "--device", "cpu",
                   "--seconds", "0.2")
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
