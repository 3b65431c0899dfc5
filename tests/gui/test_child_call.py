"""The app's helper child answers even when something it started keeps its stdout, and leaves nobody behind."""

from __future__ import annotations

import time

import psutil
import pytest

from edgekit_gui.child_call import call_in_child

pytestmark = pytest.mark.gui


def _sleepers() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [])[:2] == ["sleep", "31.25"]]


def test_a_grandchild_holding_stdout_neither_hangs_the_call_nor_outlives_it():
    started = time.monotonic()
    with pytest.raises(TypeError):  # a Popen does not pickle: the error comes back as the call's error
        call_in_child("subprocess:Popen", ["sleep", "31.25"])  # `sleep` inherits the child's stdout
    assert time.monotonic() - started < 20
    time.sleep(0.5)
    assert not [p for p in _sleepers() if p.status() != psutil.STATUS_ZOMBIE]


def test_a_result_comes_back():
    assert call_in_child("os.path:join", "a", "b") == "a/b"


def test_a_call_closes_its_pipes(recwarn):
    import gc
    import warnings

    warnings.simplefilter("always", ResourceWarning)
    assert call_in_child("os.path:join", "a", "b") == "a/b"
    gc.collect()  # an unclosed pipe warns when its file object is collected
    assert not [w for w in recwarn if issubclass(w.category, ResourceWarning)], [str(w.message) for w in recwarn]
