"""Every command's --help ends with real examples (a newcomer copies them before reading the options)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgekit.cli import COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_examples(command):
    done = subprocess.run([sys.executable, "-m", "edgekit", command, "--help"], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    tail = done.stdout[done.stdout.rindex("Examples:"):]
    assert f"edgekit {command}" in tail
