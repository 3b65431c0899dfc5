"""Train the bundled digit detector ``demo:digits-det`` from rendered scenes (offline, CPU).

Usage::

    python tools/train_digits_det.py --out assets/models --threads 1 --pool /tmp/det-pool.npz

A developer tool kept out of the shipped package (needs torch). Data: scenes of
1-6 digits from :mod:`edgekit.data.scenes`, drawn with the *training* 70% of
the UCI handwriting scans and OpenCV's Hershey fonts; with ``--renderer
realistic`` (the default) every other scene comes from
:mod:`edgekit.data.handscenes` instead (pen/pencil/marker strokes, ruled and
squared paper, sheet edges on desks, shadows, dark boards), and the card also
reports ``demo-det-hard`` (held-out scans drawn that way). A pool of ``--scenes``
scenes is rendered once from ``(seed, index)`` and reused every epoch with
cheap photometric jitter and shifts (rendering is what the shared CPU cannot
afford per step). The held-out scenes (``demo-det-test``: held-out scans, their
own seed) are scored once, after training, with edgekit's own COCO metrics;
nothing is selected on them (fixed schedule, no early stopping).

The network: a 5-conv backbone to stride 16, one upsample to a stride-8 grid
(12x12 cells at 96x96), an anchor-free head (per cell: 10 class logits and
left/top/right/bottom distances, one objectness logit). The exported graph
decodes those to the Ultralytics v8 layout ``[1, 4+10, N]`` (cx, cy, w, h in
input pixels; score = sigmoid(objectness) x softmax(class)), so edgekit's
``ultralytics`` decoder reads it like a YOLOv8 export. Training: FCOS-style
centre sampling (1.5 cells), focal loss on objectness, cross-entropy on the
class at digit cells, GIoU on the boxes. (``--head sigmoid``, ten focal-loss
sigmoids as YOLOv8 trains them, learned the classes far more slowly here:
after 625 steps the true class ranked first at a digit's centre cell for 24 %
of training digits; held-out mAP@0.5 0.24.)

Use ``--threads 1`` on a shared machine: two intra-op threads made a step 8x
slower on the loaded 2-core box (each op waits for the slower thread). With
the same ``--threads`` a re-run gives the same weights.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from edgekit._io import atomic_path, write_text_atomic

SIZE = 96
STRIDE = 8
NAME = "digits-det"


def build_model(width: int = 16, head: str = "obj-softmax"):
    """The detector as a ``torch.nn.Module`` returning raw ``(ltrb (B,4,G,G), logits (B,10,G,G))``.

    A 4x4 stride-4 patch stem keeps the cost of the high-resolution layers low (the shared
    CPU trains it); stride-16 context comes back to the stride-8 grid through one upsample.
    """
    from torch import nn

    def block(cin, cout, stride=1, k=3):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 if stride == 1 else 0 if k == stride
                                       else 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    c = width

    class DigitDet(nn.Module):
        def __init__(self):
            super().__init__()
            self.s4 = nn.Sequential(block(3, c, 4, 4), block(c, 2 * c))
            self.s8 = nn.Sequential(block(2 * c, 3 * c, 2), block(3 * c, 3 * c))
            self.s16 = nn.Sequential(block(3 * c, 4 * c, 2), block(4 * c, 4 * c), block(4 * c, 4 * c))
            self.lateral = nn.Conv2d(4 * c, 3 * c, 1)
            self.fuse = block(3 * c, 3 * c)
            self.head = block(3 * c, 3 * c)
            self.box = nn.Conv2d(3 * c, 4, 1)
            self.cls = nn.Conv2d(3 * c, 10, 1)
            self.obj = nn.Conv2d(3 * c, 1, 1) if head == "obj-softmax" else None
            nn.init.constant_((self.obj or self.cls).bias, -4.6)  # prior 1%: focal loss starts calm

        def forward(self, x):
            f8 = self.s8(self.s4(x))
            f16 = self.s16(f8)
            up = nn.functional.interpolate(self.lateral(f16), scale_factor=2.0, mode="nearest")
            h = self.head(self.fuse(f8 + up))
            if self.obj is None:
                return self.box(h), self.cls(h)
            return self.box(h), self.cls(h), self.obj(h)

    return DigitDet()


def grid(g: int):
    """Cell centres ``(G*G, 2)`` in input pixels (x, y), row-major."""
    import torch

    ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    return (torch.stack([xs, ys], -1).reshape(-1, 2).float() + 0.5) * STRIDE


def decode(ltrb_raw, g: int):
    """Raw distances -> ``(B, G*G, 4)`` xyxy boxes in input pixels."""
    import torch

    d = torch.nn.functional.softplus(ltrb_raw).flatten(2).transpose(1, 2) * STRIDE  # (B, N, 4)
    c = grid(g).to(d)
    return torch.cat([c - d[..., :2], c + d[..., 2:]], -1)


class Exported:
    """Wraps the trained net so the graph ends in the Ultralytics v8 layout ``[1, 4+10, N]``."""

    @staticmethod
    def wrap(net):
        import torch

        class V8Head(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                ltrb, logits, *obj = self.net(x)
                g = ltrb.shape[-1]
                xyxy = decode(ltrb, g)
                cxcywh = torch.cat([(xyxy[..., :2] + xyxy[..., 2:]) / 2, xyxy[..., 2:] - xyxy[..., :2]], -1)
                if obj:  # objectness x class probability: still one score per class, as v8 exports have
                    scores = (torch.sigmoid(obj[0]) * torch.softmax(logits, 1)).flatten(2)
                else:
                    scores = torch.sigmoid(logits).flatten(2)  # (B, 10, N)
                return torch.cat([cxcywh.transpose(1, 2), scores], 1)

        return V8Head().eval()


def targets(boxes: list[np.ndarray], ids: list[np.ndarray], g: int):
    """Per cell: positive mask ``(B, N)``, class id and GT box, by FCOS centre sampling (radius 1.5 cells)."""
    import torch

    centres = grid(g).numpy()
    b = len(boxes)
    pos = np.zeros((b, g * g), bool)
    cls = np.zeros((b, g * g), np.int64)
    gt = np.zeros((b, g * g, 4), np.float32)
    for i, (bx, cl) in enumerate(zip(boxes, ids)):
        # small boxes last, so a cell shared with a big box goes to the small one
        order = np.argsort(-(bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1])) if len(bx) else []
        for j in order:
            x1, y1, x2, y2 = bx[j]
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            r = 1.5 * STRIDE
            inside = ((centres[:, 0] > max(x1, cx - r)) & (centres[:, 0] < min(x2, cx + r))
                      & (centres[:, 1] > max(y1, cy - r)) & (centres[:, 1] < min(y2, cy + r)))
            nearest = int(np.argmin(((centres - [cx, cy]) ** 2).sum(1)))
            inside[nearest] = True
            pos[i, inside], cls[i, inside], gt[i, inside] = True, cl[j], bx[j]
    return torch.from_numpy(pos), torch.from_numpy(cls), torch.from_numpy(gt)


def giou_loss(a, b):
    """``1 - GIoU`` of matched xyxy boxes ``(M, 4)``."""
    import torch

    lt, rb = torch.max(a[:, :2], b[:, :2]), torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area = lambda x: (x[:, 2:] - x[:, :2]).clamp(min=0).prod(1)
    union = area(a) + area(b) - inter + 1e-6
    hull = (torch.max(a[:, 2:], b[:, 2:]) - torch.min(a[:, :2], b[:, :2])).clamp(min=0).prod(1) + 1e-6
    return 1 - (inter / union - (hull - union) / hull)


def render_pool(seed: int, count: int, log=print, start: int = 0, renderer: str = "classic"):
    """Training scenes ``start .. count-1`` as ``(uint8 (n, 96, 96, 3) RGB, boxes, ids)``; scene ``i``
    depends on ``(seed, i)`` only, so a pool can be extended.

    ``renderer="realistic"``: every odd scene is drawn by
    :func:`edgekit.data.handscenes.realistic_scene` (pen/pencil/marker strokes,
    ruled/squared paper, desks, shadows) from seed ``(seed, 2, i)`` instead;
    the even ones are the classic scenes, pixel for pixel.
    """
    from edgekit.data.handscenes import realistic_scene
    from edgekit.data.scenes import render_scene

    images = np.empty((count - start, SIZE, SIZE, 3), np.uint8)
    boxes, ids = [], []
    t0 = time.perf_counter()
    for i in range(start, count):
        if renderer == "realistic" and i % 2:
            rng = np.random.default_rng([seed, 2, i])
            scene = realistic_scene(rng, (SIZE, SIZE), split="train", strength=float(rng.uniform(0.3, 1.0)))
        else:
            rng = np.random.default_rng([seed, 1, i])
            scene = render_scene(rng, (SIZE, SIZE), split="train", strength=float(rng.uniform(0.2, 1.0)))
        images[i - start] = scene.image[..., ::-1]
        boxes.append(scene.boxes)
        ids.append(scene.class_ids)
        if (i + 1) % 1000 == 0:
            log(f"  rendered {i + 1}/{count} scenes, {time.perf_counter() - t0:.0f}s")
    return images, boxes, ids


def save_pool(path: Path, pool) -> None:
    """Store a rendered pool (boxes flattened with per-scene counts)."""
    images, boxes, ids = pool
    counts = np.asarray([len(b) for b in boxes])
    with atomic_path(path, force=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, images=images, boxes=np.concatenate(boxes), ids=np.concatenate(ids), counts=counts)


def load_pool(path: Path):
    """Inverse of :func:`save_pool`."""
    with np.load(path) as f:
        ends = np.cumsum(f["counts"])
        return f["images"], np.split(f["boxes"], ends[:-1]), np.split(f["ids"], ends[:-1])


def jitter(x, rng: np.random.Generator):
    """Cheap photometric jitter of a float batch in 0..1 (brightness, contrast, channel gains, inversion)."""
    import torch

    b = x.shape[0]
    gain = torch.from_numpy(rng.uniform(0.7, 1.3, (b, 1, 1, 1)).astype(np.float32))
    chan = torch.from_numpy(rng.uniform(0.85, 1.15, (b, 3, 1, 1)).astype(np.float32))
    mean = x.mean((1, 2, 3), keepdim=True)
    x = ((x - mean) * gain + mean) * chan
    inv = torch.from_numpy(rng.random(b) < 0.05)
    x[inv] = 1 - x[inv]
    return x.clamp(0, 1)


def train(seed: int, scenes: int, epochs: int, batch: int, lr: float, log=print, pool=None,
          head: str = "obj-softmax"):
    """Train from scratch; return ``(net in eval mode, seconds)``."""
    import torch

    torch.manual_seed(seed)
    net = build_model(head=head)
    images, boxes, ids = pool if pool is not None else render_pool(seed, scenes, log)
    g = SIZE // STRIDE
    steps = epochs * (len(images) // batch)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, 2, epoch])
        order = rng.permutation(len(images))
        net.train()
        totals = np.zeros(3)
        for s in range(len(images) // batch):
            idx = order[s * batch:(s + 1) * batch]
            x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float() / 255.0
            x = jitter(x, rng)
            pos, cls, gt = targets([boxes[i] for i in idx], [ids[i] for i in idx], g)
            ltrb, logits, *obj = net(x)
            pred = decode(ltrb, g)
            logits = logits.flatten(2).transpose(1, 2)  # (B, N, 10)
            npos = max(1.0, float(pos.sum()))
            if obj:  # focal loss on objectness everywhere, cross-entropy on the class where a digit is
                cls_loss = (_focal(obj[0].flatten(1), pos.float()).sum() / npos
                            + torch.nn.functional.cross_entropy(logits[pos], cls[pos], label_smoothing=0.05))
            else:
                onehot = torch.zeros_like(logits)
                onehot[pos] = torch.nn.functional.one_hot(cls[pos], 10).float()
                cls_loss = _focal(logits, onehot).sum() / npos
            box_loss = giou_loss(pred[pos], gt[pos]).sum() / npos
            loss = cls_loss + 2.0 * box_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            totals += [loss.item(), cls_loss.item(), box_loss.item()]
        n = len(images) // batch
        log(f"  epoch {epoch + 1}/{epochs}: loss {totals[0] / n:.3f} (cls {totals[1] / n:.3f}, "
            f"giou {totals[2] / n:.3f}), {time.perf_counter() - t0:.0f}s")
    return net.eval(), time.perf_counter() - t0


def _focal(logits, target, alpha: float = 0.25, gamma: float = 2.0):
    import torch

    p = torch.sigmoid(logits)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    pt = p * target + (1 - p) * (1 - target)
    return ce * (1 - pt) ** gamma * (alpha * target + (1 - alpha) * (1 - target))


def card(extra: dict) -> dict:
    """The model card (``task: detection``, v8 decoder, labels 0-9, letterbox pixels, held-out validation)."""
    return {
        "name": f"demo:{NAME}",
        "description": "tiny anchor-free digit detector, 96x96 RGB input, Ultralytics-v8 output layout",
        "task": "detection",
        "detection": {"decoder": "ultralytics", "conf": 0.3, "iou": 0.5, "max_det": 50},
        "preprocess": {"size": [SIZE, SIZE], "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0],
                       "scale": 1 / 255.0, "channel_order": "RGB", "resize": "letterbox", "layout": "NCHW"},
        "labels": [str(d) for d in range(10)],
        "input_size": [3, SIZE, SIZE],
        "input_shape": [1, 3, SIZE, SIZE],
        "validation": {
            "dataset": "demo-det-test",
            "calibration": "demo-det-test",
            "description": "200 held-out rendered scenes (held-out handwriting scans and printed digits, own seed)",
        },
        **extra,
    }


def export(net, out: Path, extra: dict) -> Path:
    """Write ``digits-det.onnx``, ``.pt`` and ``.json`` (atomically); return the ONNX path."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / f"{NAME}.onnx"
    with atomic_path(onnx_path, force=True) as tmp:
        torch.onnx.export(Exported.wrap(net), torch.zeros(1, 3, SIZE, SIZE), str(tmp), dynamo=False,
                          opset_version=17, input_names=["images"], output_names=["output0"])
    with atomic_path(out / f"{NAME}.pt", force=True) as tmp:
        torch.save(net.state_dict(), tmp)
    write_text_atomic(out / f"{NAME}.json", json.dumps(card(extra), indent=2) + "\n", force=True)
    for suffix in (".onnx", ".pt", ".json"):
        (out / f"{NAME}{suffix}").chmod(0o644)
    return onnx_path


def held_out(onnx_path: Path, name: str = "demo-det-test") -> dict:
    """mAP of the exported file on held-out scenes, with edgekit's own COCO metrics."""
    from edgekit.detection.datasets import scene_dataset
    from edgekit.detection.evaluate import evaluate_detection

    result = evaluate_detection(str(onnx_path), scene_dataset(name), bootstrap=0)
    m = result.metrics
    return {"map50": round(float(m.map50), 4), "map": round(float(m.map), 4), "images": len(result.truths)}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("assets/models"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scenes", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--head", choices=("obj-softmax", "sigmoid"), default="obj-softmax",
                        help="obj-softmax: objectness x class softmax; sigmoid: ten focal-loss sigmoids")
    parser.add_argument("--pool", type=Path, help="cache the rendered training pool in this .npz")
    parser.add_argument("--renderer", choices=("classic", "realistic"), default="realistic",
                        help="realistic: half the scenes written with pen/pencil/marker on real-looking sheets "
                             "(edgekit.data.handscenes); classic: edgekit.data.scenes only (the first detector)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    command = "python tools/train_digits_det.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    t0 = time.perf_counter()
    pool = load_pool(args.pool) if args.pool and args.pool.is_file() else None
    if pool is None or len(pool[0]) < args.scenes:
        have = 0 if pool is None else len(pool[0])
        more = render_pool(args.seed, args.scenes, start=have, renderer=args.renderer)
        pool = more if pool is None else (np.concatenate([pool[0], more[0]]), pool[1] + more[1], pool[2] + more[2])
        if args.pool:
            save_pool(args.pool, pool)
    pool = (pool[0][:args.scenes], pool[1][:args.scenes], pool[2][:args.scenes])
    net, seconds = train(args.seed, args.scenes, args.epochs, args.batch, args.lr, pool=pool, head=args.head)
    onnx_path = export(net, args.out, {})
    scores = {n: held_out(onnx_path, n) for n in ("demo-det-test", "demo-det-handwriting", "demo-det-hard")}
    params = int(sum(p.numel() for p in net.parameters()))
    extra = {
        "training_data": (f"{args.scenes} rendered scenes of 1-6 digits (edgekit.data.scenes, seeds ({args.seed}, 1, i)): "
                          "the training 70% of the UCI handwriting scans and OpenCV Hershey fonts, sizes 13-42% of "
                          "the image side, rotation, pen colours, paper textures, light, blur, noise, JPEG, inversion"
                          + ("; every odd scene instead drawn by edgekit.data.handscenes (seeds (seed, 2, i)): the "
                             "digits' centre-lines redrawn with a ballpoint, gel pen, pencil or marker (pressure, "
                             "slant, elastic distortion) on plain/ruled/squared/dotted paper or a dark board, sheet "
                             "edges on desks, hand shadows, uneven light, defocus/motion blur, noise, JPEG"
                             if args.renderer == "realistic" else "")),
        "renderer": args.renderer,
        "held_out": {"demo-det-test": scores["demo-det-test"], "demo-det-handwriting": scores["demo-det-handwriting"],
                     "demo-det-hard": scores["demo-det-hard"],
                     "note": "held-out scans (30% of UCI, never trained on) and printed digits in 200 scenes of "
                             "seed 20261201; demo-det-handwriting: held-out real handwriting only; demo-det-hard: "
                             "the held-out scans as pen/pencil/marker strokes on real-looking sheets "
                             "(edgekit.data.handscenes, same seed, full strength)"},
        "held_out_map50": scores["demo-det-test"]["map50"],
        "held_out_map": scores["demo-det-test"]["map"],
        "params": params,
        "training_command": command.strip(),
        "seed": args.seed,
        "epochs": args.epochs,
        "head": args.head,
        "training_seconds": round(seconds, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    export(net, args.out, extra)
    print(f"{NAME}: held-out mAP@0.5 {extra['held_out_map50']:.4f}, mAP@0.5:0.95 {extra['held_out_map']:.4f} "
          f"(handwriting only: {scores['demo-det-handwriting']['map50']:.4f}), {params} params, "
          f"trained in {seconds:.0f}s -> {onnx_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
