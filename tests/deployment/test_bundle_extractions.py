"""A zip bundle's private extraction, when the process that made it was killed (no cleanup ran).

Why: ``kill -9``, the out-of-memory killer or a watchdog end a server without its cleanup, so its
extraction of the zip stayed in the temp folder: a server restarted in a loop by systemd kept one
copy of the model per restart (on a Raspberry Pi the temp folder is often RAM). The next extraction
removes those whose process is gone, and never one whose process still runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from edgekit.deployment import Bundle
from edgekit.deployment.extractions import PREFIX, host_tag

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process checks are POSIX-only; nothing is swept elsewhere")

OPEN_AND_WAIT = """
import sys, time
from edgekit.deployment import Bundle
bundle = Bundle.open(sys.argv[1])
print(bundle.root, flush=True)
time.sleep(600)
"""


def _holder(zip_path, temp):
    """A process holding the zip open (its extraction in ``temp``) and the extraction's path."""
    env = {**os.environ, "TMPDIR": str(temp)}
    child = subprocess.Popen([sys.executable, "-c", OPEN_AND_WAIT, str(zip_path)], env=env, stdout=subprocess.PIPE,
                             text=True)
    root = child.stdout.readline().strip()
    assert root and os.path.isdir(root), root
    return child, root


def test_the_extraction_of_a_killed_process_is_removed_by_the_next_one(bundle_zip, tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    killed, left = _holder(bundle_zip, temp)
    running, kept = _holder(bundle_zip, temp)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert os.path.isdir(left)  # no cleanup ran: what was left before
        other_host = temp / f"{PREFIX}zzzzzz-{killed.pid}-abc"  # another container's, same pid
        other_host.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        bundle = Bundle.open(bundle_zip)
        assert not os.path.exists(left), "the killed process's extraction is still there"
        assert os.path.isdir(kept), "the extraction of a process still running was removed"
        assert other_host.is_dir() and bundle.root.is_dir()
        assert bundle.root.name.startswith(f"{PREFIX}{host_tag()}-{os.getpid()}-")
        bundle.close()
        assert not bundle.root.exists()
    finally:
        running.kill()
        running.wait(timeout=30)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="zombies are told apart by /proc (Linux)")
def test_a_killed_process_not_yet_reaped_counts_as_gone():
    """A server SIGKILLed under a parent that has not reaped it yet (a zombie) still answers
    ``kill(pid, 0)``; its extraction was kept though it will never be cleaned up."""
    from edgekit.deployment.extractions import alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        assert alive(child.pid)
        child.send_signal(signal.SIGKILL)
        for _ in range(200):  # not reaped: a zombie once the kernel has ended it
            with open(f"/proc/{child.pid}/stat") as fh:
                if fh.read().rpartition(")")[2].split()[0] == "Z":
                    break
            time.sleep(0.05)
        assert not alive(child.pid)
    finally:
        child.kill()
        child.wait(timeout=30)
