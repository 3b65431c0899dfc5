"""The repository's own checks pass: ``ruff check .`` (RUF100 on: no ``# noqa`` that suppresses
nothing) and ``lint-imports`` (the Qt ban and the layers in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    """The tool beside this interpreter (the venv), else on PATH; skip when it is not installed."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]' installs it)")
    return found


def test_ruff_finds_nothing():
    result = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr


def test_import_linter_contracts_are_kept():
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "The SDK never imports Qt KEPT" in result.stdout
    assert "Layers:" in result.stdout and "BROKEN" not in result.stdout


def test_no_import_cycles_between_packages_nor_inside_models_zoo_data():
    """import-linter lets sibling layers import each other and ignores cycles inside a package;
    tools/import_stats.py counts every import (those inside functions too) and finds the cycles."""
    result = subprocess.run([sys.executable, "tools/import_stats.py"], capture_output=True, text=True, cwd=ROOT,
                            check=True)
    assert "package cycles: 0" in result.stdout, result.stdout
    cycles = result.stdout.split("module cycles:")[1]
    for package in ("models", "zoo", "data"):  # the knot this test keeps untied
        assert f"edgekit.{package}." not in cycles, result.stdout
