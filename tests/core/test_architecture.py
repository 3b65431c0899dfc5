"""The architecture rules: a light ``import edgekit`` and no Qt in the SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "openvino", "nncf", "PySide6", "superqt", "pyqtgraph", "fastapi", "sklearn")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "code",
    [
        "import edgekit",
        "import edgekit.errors, edgekit.models, edgekit.backends, edgekit.evaluation, edgekit.zoo",
        "import edgekit.cli",
    ],
)
def test_import_stays_light(code):
    loaded = _modules_after(code)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"{code!r} imported heavy modules: {heavy[:5]}"


def test_import_linter_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The SDK never imports Qt KEPT" in result.stdout
