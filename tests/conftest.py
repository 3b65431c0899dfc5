"""Fixtures shared by every test folder.

Tests never need ../shared (a fresh clone has none): what they use is made
here or shipped in assets/.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The person's own edgekit config is never read by a test: a device they added with `edgekit device add`
# appeared as an extra target card and failed the Optimize page's test. Tests that add devices set a
# folder of their own per test (tests/devices/conftest.py); this one is empty and removed at the end.
os.environ["EDGEKIT_CONFIG_DIR"] = _CONFIG = tempfile.mkdtemp(prefix="edgekit-tests-config-")
atexit.register(shutil.rmtree, _CONFIG, ignore_errors=True)
# Nor its caches: every run added its optimized graphs and plans to the person's own cache folder (1657
# optimized copies of the test's tiny model in one). Tests that need a cache of their own still set one.
os.environ["EDGEKIT_CACHE"] = _CACHE = tempfile.mkdtemp(prefix="edgekit-tests-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


def bare_env(**values: str) -> dict[str, str]:
    """A child's environment with nothing of the person's (no HOME, no settings of theirs): PATH, this
    session's own config and cache folders (a child given PATH alone wrote its optimized graphs into
    the person's cache), and ``values``."""
    return {"PATH": "/usr/bin:/bin", "EDGEKIT_CONFIG_DIR": _CONFIG, "EDGEKIT_CACHE": _CACHE, **values}


def as_in_a_terminal(argv: list[str]) -> list[str]:
    """``argv`` run with Ctrl-C and hang-up as a terminal delivers them: CI may run the tests with
    both ignored (a background job, nohup), and edgekit leaves ignored signals ignored. (Reset in
    the child before it execs, not with ``preexec_fn``, which is unsafe beside threads.)"""
    reset = ("import os, signal, sys; [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGHUP)]; "
             "os.execv(sys.argv[1], sys.argv[1:])")
    return [sys.executable, "-c", reset, *argv]
