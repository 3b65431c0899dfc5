"""`.pt` state dicts wherever a model is taken: the card's architecture, or `--arch` on every MODEL command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer

from edgekit.cli import app

from ..conftest import bare_env

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "models"


def edgekit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgekit", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, check=False, env=bare_env(COLUMNS="200"))


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


def test_a_state_dict_fine_tuned_to_fewer_classes_loads_with_its_class_count(tmp_path):
    """A MobileNetV2 state dict with a 7-class head: `--arch mobilenetv2` builds it with 7 classes (the
    command line has no way to pass num_classes; it refused with 'Error(s) in loading state_dict')."""
    import torch

    from edgekit.zoo import create_model

    torch.save(create_model("mobilenetv2", num_classes=7).state_dict(), weights := tmp_path / "mine.pt")
    done = edgekit("info", str(weights), "--arch", "mobilenetv2")
    assert done.returncode == 0, done.stderr
    assert "[batch, 7]" in done.stdout


def test_weights_of_another_architecture_name_the_tensors_that_differ(tmp_path):
    import torch

    from edgekit.zoo import create_model

    torch.save(create_model("mobilenetv2", num_classes=7).state_dict(), weights := tmp_path / "mine.pt")
    done = edgekit("info", str(weights), "--arch", "mobilenetv2_tiny")
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert "features.0.0.weight: (32, 3, 3, 3) in the file, (16, 3, 3, 3) in the architecture" in said, said
    assert "the zoo has digitcnn" in said and "Traceback" not in done.stderr
