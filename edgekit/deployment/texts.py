"""The two human-facing files of a bundle: ``requirements.txt`` and ``README.md``.

Why a requirements file per bundle: a device should install the runtime its
bundle needs and nothing else (no torch, no OpenVINO for an onnxruntime
bundle), so the list is derived from the backend the bundle names first.
"""

from __future__ import annotations

import re
from importlib import metadata

from edgekit.backends.registry import capabilities, reference_backend
from edgekit.types import Format

_EDGEKIT = "edgekit>=0.1.0"


def _installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def requirements(backend: str) -> str:
    """``requirements.txt``: edgekit, plus the runtime package(s) the backend declares.

    The reference ONNX runtime's packages (onnxruntime) are listed for every bundle:
    edgekit itself needs it, and it is the fallback an ONNX bundle allows.
    """
    lines = ["# Runtime packages for this bundle; install with: pip install -r requirements.txt"]
    wanted = [_EDGEKIT, *capabilities(reference_backend(Format.ONNX)).packages, *capabilities(backend).packages]
    by_name: dict[str, str] = {}
    for line in wanted:  # the first line naming a package wins
        by_name.setdefault(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0], line)
    for package, line in by_name.items():
        made_with = _installed(package)
        note = f"  # bundle made and checked with {made_with}" if made_with else ""
        lines.append(f"{line}{note}")
    return "\n".join(lines) + "\n"


def readme(manifest: dict) -> str:
    """README.md for the person installing the bundle on the device."""
    name, backend = manifest["name"], manifest["backends"][0]["backend"]
    fallbacks = ", ".join(b["backend"] for b in manifest["backends"][1:]) or "none"
    val = manifest.get("validation", {})
    acc = val.get("accuracy")
    lat = manifest.get("figures", {}).get("latency_ms")
    return f"""# {name} -- edgekit deployment bundle

Made by edgekit {manifest['edgekit_version']} on {manifest['created']} for target `{manifest['target']}`.
Runs on **{backend}** ({manifest['device']}, {manifest['precision']}); allowed fallbacks: {fallbacks}.

## Install on the device
```
pip install -r requirements.txt
```

## Check it before use
```
edgekit verify .            # re-runs the packaged validation sample
```
`verify` checks every file's sha256 against `manifest.json` (and `manifest.json`
against `manifest.sha256`), then compares top-1 accuracy on the sample
({'n/a' if acc is None else f'{acc:.3f}'} promised) and latency
({'n/a' if lat is None else f'{lat:.2f} ms'} promised) with the manifest. Exit code 0 = as promised,
1 = accuracy or latency beyond the tolerance in the manifest, 2 = the bundle is refused
(modified, missing or extra file, unknown schema).

## Use it from Python
```python
from edgekit.deployment import Predictor

predictor = Predictor.open(".")       # refuses a tampered bundle
prediction = predictor.predict(image) # image: BGR uint8 (OpenCV)
print(prediction.label, prediction.score, prediction.latency_ms)
```

## Serve it
```
pip install "edgekit[serve]"
edgekit serve . --host 127.0.0.1 --port 8000    # KServe v2 / Open Inference Protocol
```

Do not edit files in this folder: any change makes the bundle refuse to load.
"""
