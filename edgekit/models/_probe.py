"""Run a TorchScript file's forward pass in a child process, with a timeout.

Why: a TorchScript archive's output shape is only known by running it, and its
``forward`` is code from the file: one that loops forever made ``edgekit info``
never return. The child loads the file, runs one zero batch and prints the
output's shape and dtype; the parent waits at most ``EDGEKIT_INSPECT_TIMEOUT_S``
(default 60 s) and then kills it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from edgekit.errors import ModelLoadError

_CHILD = """
import json, sys, warnings
import torch
warnings.simplefilter("ignore")
torch.set_num_threads(1)
module = torch.jit.load(sys.argv[1], map_location="cpu")
with torch.no_grad():
    out = module(torch.zeros(json.loads(sys.argv[2])))
out = out[0] if isinstance(out, (tuple, list)) else out
print("EDGEKIT_PROBE " + json.dumps({"shape": list(out.shape), "dtype": str(out.dtype).replace("torch.", "")}))
"""


def timeout_s() -> float:
    """``EDGEKIT_INSPECT_TIMEOUT_S`` when a positive number, else 60."""
    try:
        value = float(os.environ.get("EDGEKIT_INSPECT_TIMEOUT_S", "60"))
    except ValueError:
        return 60.0
    return value if 0 < value < 86400 else 60.0


def probe_output(path: Path, shape: tuple[int, ...]) -> tuple[tuple[int, ...], str]:
    """``(output shape, dtype)`` of one forward pass of the TorchScript file at ``path``.

    Raises:
        ModelLoadError: the pass failed, or did not finish within :func:`timeout_s`.
    """
    limit = timeout_s()
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path), json.dumps(list(shape))],
                              capture_output=True, text=True, timeout=limit, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ModelLoadError(f"{path}: its forward pass on an input of shape {tuple(shape)} did not finish within "
                             f"{limit:.0f} s; check the model (or raise EDGEKIT_INSPECT_TIMEOUT_S)", path=path) from exc
    for line in done.stdout.splitlines():
        if line.startswith("EDGEKIT_PROBE "):
            found = json.loads(line[len("EDGEKIT_PROBE "):])
            return tuple(found["shape"]), found["dtype"]
    last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1][:200]
    raise ModelLoadError(f"{path} failed on an input of shape {tuple(shape)} ({last}); check the input shape",
                         path=path)
