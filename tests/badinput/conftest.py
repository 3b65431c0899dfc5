"""The bad-input corpus (issue 16): hostile or broken inputs, generated at test time.

Every case asserts what a user would see: the exception type / exit code / HTTP
status, a one-sentence message naming the culprit (no traceback, no "internal
error"), that nothing outside the declared output changed (a sentinel tree is
hashed before and after), and that no payload ran (no marker file). Cases that
could eat memory or time run in a child with a bound.

The category of a case is its module (``test_bundles.py`` -> ``bundles``); the
count per category is printed at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

_PASSED: Counter = Counter()
_FAILED: Counter = Counter()


def _category(nodeid: str) -> str | None:
    if "badinput/" not in nodeid.replace("\\", "/"):
        return None
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return module.removeprefix("test_").removesuffix(".py")


def pytest_runtest_logreport(report) -> None:
    category = _category(report.nodeid)
    if category is None or report.skipped or (report.when != "call" and not report.failed):
        return
    (_PASSED if report.passed else _FAILED)[category] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not (_PASSED or _FAILED):
        return
    terminalreporter.section("bad-input corpus (issue 16): cases per category")
    for category in sorted(set(_PASSED) | set(_FAILED)):
        terminalreporter.write_line(f"  {category:<10} {_PASSED[category]:>4} passed  {_FAILED[category]:>3} failed")
    terminalreporter.write_line(f"  {'total':<10} {sum(_PASSED.values()):>4} passed  {sum(_FAILED.values()):>3} failed")


# --- what every case asserts -------------------------------------------------------------------

def assert_sentence(message: str, *culprits: str) -> None:
    """One sentence for a person: names each culprit, no traceback, no "internal error", not huge."""
    text = str(message).strip()
    assert text, "empty message"
    assert "Traceback" not in text and "\n" not in text, text[:400]
    assert not text.lower().startswith("internal error"), text[:400]
    assert len(text) < 700, f"message of {len(text)} characters: {text[:200]}..."
    for culprit in culprits:
        assert str(culprit).lower() in text.lower(), f"{culprit!r} not named in: {text}"


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(autouse=True)
def sentinel(tmp_path):
    """A tree of the user's files beside every case: hashed before and after, never touched.

    It also holds ``.out.old`` / ``.bundle.old`` folders, the names an atomic replace used to
    delete, and ``MARKER`` is the file a payload would create if it ran.
    """
    root = tmp_path / "sentinel"
    for rel, text in {"notes.txt": "mine", "data/a.csv": "x,1\n", ".out.old/keep.txt": "user's",
                      ".bundle.old/keep.txt": "user's"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    before = tree_digest(root)
    yield root
    assert tree_digest(root) == before, "a file outside the declared output changed"
    assert not (tmp_path / "MARKER").exists(), "a payload from an input ran"


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "MARKER"


# --- shared inputs ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def digits_bundle(tmp_path_factory) -> Path:
    """A real bundle of the shipped demo model (a folder), made once."""
    import warnings

    from edgekit.deployment import deploy

    out = tmp_path_factory.mktemp("badinput-bundle") / "digits-bundle"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deploy("demo:digits", out=out, samples=16)
    return out


def run_cli(args: list[str], cwd: Path, timeout: float = 120, env: dict | None = None) -> tuple[int, str, float]:
    """``edgekit ARGS`` in a child; return ``(exit code, stderr+stdout, peak RSS in MiB)``.

    The child reports its own peak RSS at exit, so a bound on memory is checked per case. Its
    ``VmHWM``, not ``ru_maxrss``: Linux carries the peak of the process that forked it (this pytest
    process) into a child's ``ru_maxrss`` across exec, so after tests that grew pytest past the bound
    every case here failed; ``VmHWM`` is the peak of the child's own memory only.
    """
    code = ("import atexit, resource, sys\n"
            "def peak():\n"
            "    try:\n"
            "        with open('/proc/self/status') as f:\n"
            "            return next(int(l.split()[1]) for l in f if l.startswith('VmHWM:'))\n"
            "    except (OSError, StopIteration):\n"
            "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "atexit.register(lambda: sys.stderr.write('\\nEDGEKIT_MAXRSS %d\\n' % peak()))\n"
            "from edgekit.cli import run\n"
            "sys.argv = ['edgekit', *sys.argv[1:]]\n"
            "run()\n")
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env, check=False, stdin=subprocess.DEVNULL)
    rss, lines = 0.0, []
    for line in (done.stderr + "\n" + done.stdout).splitlines():
        if line.startswith("EDGEKIT_MAXRSS "):
            rss = int(line.split()[1]) / 1024
        elif line.strip():
            lines.append(line)
    return done.returncode, "\n".join(lines), rss


def error_line(output: str) -> str:
    """The CLI's ``error: ...`` line (what a user reads)."""
    found = [line for line in output.splitlines() if line.startswith("error:")]
    assert found, f"no error line in: {output[-600:]}"
    return found[-1].removeprefix("error:").strip()


def rehash(bundle: Path, data: dict) -> None:
    """Write a manifest and recompute ``manifest.sha256``, as an attacker can (the digest is no signature)."""
    from edgekit.deployment.integrity import manifest_digest

    text = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
    (bundle / "manifest.json").write_bytes(text)
    (bundle / "manifest.sha256").write_text(manifest_digest(text) + "  manifest.json\n")
