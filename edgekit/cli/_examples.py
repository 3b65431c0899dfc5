"""One or two real examples at the end of every command's ``--help``.

Why here and not in each command: the examples are read together (they walk
a user through the workflow in order) and a test checks every command has some.
"""

from __future__ import annotations

EXAMPLES = {
    "profile": ["edgekit profile", "edgekit profile --bench --json > profile.json"],
    "backends": ["edgekit backends"],
    "targets": ["edgekit targets", "edgekit targets raspberry-pi-5"],
    "info": ["edgekit info demo:digits", "edgekit info model.onnx --json"],
    "card": [("edgekit card model.onnx --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --size 224 "
             "--resize shorter-crop --labels imagenet_classes.txt --save")],
    "convert": ["edgekit convert model.onnx --to openvino --out ir/"],
    "pull": ["edgekit pull mobilenetv2"],
    "eval": ["edgekit eval demo:digits --data demo-test", "edgekit eval model.onnx --data labels.csv"],
    "bench": ["edgekit bench demo:digits-mnv2", "edgekit bench model.onnx -b onnxruntime -p fp32,int8"],
    "compress": ["edgekit compress demo:digits-mnv2 --method int8 --data demo-test --out mnv2-int8.onnx"],
    "plan": ["edgekit plan demo:digits-mnv2 --target local --max-accuracy-drop 0.01 --out plan/",
             "edgekit plan model.onnx --target raspberry-pi-5 --data photos/"],
    "run": ["edgekit run plan.yaml"],
    "demo": ["edgekit demo", "edgekit demo model.onnx --source video.mp4 --record out.mp4"],
    "gui": ["edgekit gui"],
    "deploy": ["edgekit deploy plan/report.json --out bundle/", "edgekit deploy demo:digits --out digits.zip"],
    "verify": ["edgekit verify bundle/"],
    "serve": ["edgekit serve bundle/ --port 8000"],
    "export": ["edgekit export bundle/ --format triton --out repo/"],
    "device": ["edgekit device add pi5 ssh://pi@192.0.2.10 --target raspberry-pi-5", "edgekit device check pi5"],
}


def epilog(name: str) -> str | None:
    """The ``Examples:`` block for command ``name`` (markdown: one code line each)."""
    lines = EXAMPLES.get(name)
    if not lines:
        return None
    return "**Examples:**\n\n" + "\n\n".join(f"`{line}`" for line in lines)
