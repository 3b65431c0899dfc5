"""The public verbs stay callable whatever submodules were imported before (issue: package/function clash).

``edgekit.plan``, ``edgekit.evaluate`` and ``edgekit.deploy`` used to be both a
package and a function: once any submodule was imported, ``edgekit.plan(...)``
raised ``TypeError: 'module' object is not callable``. Packages are nouns now
(``planner``, ``evaluation``, ``deployment``); this test imports every submodule
first, then calls the verbs on the demo model.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _all_submodules() -> list[str]:
    import edgekit

    names = []
    for info in pkgutil.walk_packages(edgekit.__path__, prefix="edgekit."):
        if info.name.endswith("__main__"):
            continue  # running the CLI is not importing it
        names.append(info.name)
    return names


def test_no_package_shares_a_name_with_a_public_function():
    import edgekit

    packages = {info.name for info in pkgutil.iter_modules(edgekit.__path__)}
    functions = {name for name in edgekit.__all__ if callable(getattr(edgekit, name))}
    assert not packages & functions, f"a package and a public function share a name: {packages & functions}"


@pytest.mark.slow
def test_verbs_work_after_every_submodule_is_imported(tmp_path):
    script = f"""
import importlib, sys
names = {_all_submodules()!r}
for name in names:
    importlib.import_module(name)
import edgekit
from edgekit.data import demo_digits
report = edgekit.plan("demo:digits", target="local", methods=("fp32",), seconds=0.3, cache=False,
                      out={str(tmp_path / "plan")!r})
assert report.best is not None, report.log
result = edgekit.evaluate("demo:digits", demo_digits("test", size=64), limit=64)
assert 0.9 <= result.metrics.accuracy <= 1.0, result.metrics.accuracy
bundle = edgekit.deploy(report, out={str(tmp_path / "bundle")!r})
prediction = edgekit.Predictor.open(bundle.path).predict(demo_digits("test", size=64)[0][0])
print("OK", len(names), prediction.label)
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("OK")
    assert int(done.stdout.split()[1]) > 50  # really every submodule, not a handful


def test_every_submodule_imports():
    failed = {}
    for name in _all_submodules():
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional runtime missing is the only acceptable reason
            failed[name] = str(exc)
    assert not failed, failed


@pytest.mark.slow
def test_readme_python_snippet_runs_verbatim_with_a_real_image(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"## A scripted session\s+```python\n(.+?)\n```", text, flags=re.DOTALL)
    assert snippet, "README lost its scripted session"
    # verbatim, nothing prepended: it once used an image_bgr it never defined (a NameError when pasted)
    done = subprocess.run([sys.executable, "-c", snippet.group(1)], check=False, capture_output=True,
                          text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Prediction(" in done.stdout and "Chose" in done.stdout
    assert (tmp_path / "digits-bundle" / "manifest.json").is_file()


def test_a_lazily_exported_function_is_never_replaced_by_its_module():
    """``from edgekit.models import convert`` gave the module ``edgekit.models.convert`` ("'module' object
    is not callable") once anything had imported that module first (``supported_conversions`` does);
    ``edgekit.detection.letterbox`` and ``nms`` the same after ``import edgekit.vision``. Every lazy
    export is checked after every submodule is imported."""
    script = f"""
import importlib, sys, types
for name in {_all_submodules()!r}:
    importlib.import_module(name)
bad = []
for name, module in list(sys.modules.items()):
    table = getattr(module, "_LAZY", None) if name.startswith("edgekit") else None
    for public, where in (table or {{}}).items():
        value = getattr(module, public)
        if isinstance(value, types.ModuleType) and hasattr(sys.modules[where], public):
            bad.append(f"{{name}}.{{public}} is the module {{value.__name__}}, not its {{public}}")
print(bad)
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]", done.stdout


def test_every_subpackage_is_reachable_after_a_bare_import_edgekit_and_only_then_imported():
    """The README writes ``edgekit.evaluation.evaluate(...)`` and ``edgekit.backends...``; after ``import
    edgekit`` alone each was an AttributeError, since nothing had imported the subpackage yet."""
    import edgekit

    packages = {info.name for info in pkgutil.iter_modules(edgekit.__path__) if not info.name.startswith("_")}
    assert set(edgekit._SUBPACKAGES) == packages - {"cli", "errors", "imagelimits", "safeyaml"} - set(edgekit._LAZY)
    script = ("import sys, edgekit; light = sorted(m for m in sys.modules if m.startswith('edgekit')); "
              "print(light, edgekit.evaluation.evaluate.__name__, edgekit.compress.quantize_int8.__name__, "
              "edgekit.backends.list_backends.__name__, 'evaluation' in dir(edgekit))")
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["['edgekit',", "'edgekit._lazy']", "evaluate", "quantize_int8", "list_backends",
                                   "True"]
