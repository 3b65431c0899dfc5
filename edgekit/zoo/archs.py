"""Small image classifiers written here in PyTorch (no torchvision needed).

``mobilenetv2`` follows Sandler et al. 2018 (inverted residuals, linear
bottlenecks) with width and resolution as parameters, so tests can use a
32x32 variant and benchmarks a 224x224 one.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.zoo.registry import register_model


def _divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor`` (never down by more than 10%)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNAct(nn.Sequential):
    """Conv -> BatchNorm -> ReLU6 (or identity when ``act`` is false)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: bool = True):
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise (3x3) -> project (1x1, linear), residual when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1))
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden), ConvBNAct(hidden, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


# (expansion, out channels, repeats, first stride) from the MobileNetV2 paper
_MNV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2(nn.Module):
    """MobileNetV2 with a width multiplier and any input resolution.

    Args:
        num_classes: logits produced.
        width_mult: channel multiplier (1.0 = the paper's network).
        in_channels: 3 for RGB, 1 for gray.
        stages: ``(expansion, channels, repeats, stride)`` rows; fewer rows = shallower.
        last_channels: width of the final 1x1 conv before pooling.
        dropout: before the classifier.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        in_channels: int = 3,
        stages: tuple[tuple[int, int, int, int], ...] = _MNV2_STAGES,
        last_channels: int = 1280,
        dropout: float = 0.2,
    ):
        super().__init__()
        cin = _divisible(32 * width_mult)
        layers: list[nn.Module] = [ConvBNAct(in_channels, cin, 3, 2)]
        for expand, channels, repeats, stride in stages:
            cout = _divisible(channels * width_mult)
            for i in range(repeats):
                layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        last = _divisible(last_channels * max(1.0, width_mult))
        layers.append(ConvBNAct(cin, last, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class TinyCNN(nn.Module):
    """Three conv blocks and a linear head: the smallest real image classifier."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class GemmNet(nn.Module):
    """A flatten + a few small fully connected layers: a model INT8 cannot speed up
    (tiny Gemms are dominated by call overhead and quantize/dequantize cost)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, size: int = 8, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * size * size, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_model("mobilenetv2", input_size=(3, 224, 224), description="MobileNetV2 (width/resolution configurable)")
def mobilenetv2(num_classes: int = 1000, width_mult: float = 1.0, in_channels: int = 3) -> nn.Module:
    """MobileNetV2 as in the paper."""
    return MobileNetV2(num_classes, width_mult, in_channels)


@register_model("mobilenetv2_tiny", input_size=(3, 32, 32), description="MobileNetV2 x0.35, 4 stages: for tests")
def mobilenetv2_tiny(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """A shallow, narrow MobileNetV2 for fast tests at 32x32."""
    return MobileNetV2(num_classes, 0.35, in_channels, stages=_MNV2_STAGES[:4], last_channels=128)


@register_model("tinycnn", input_size=(3, 32, 32), description="Three conv blocks and a linear head")
def tinycnn(num_classes: int = 10, in_channels: int = 3, width: int = 16) -> nn.Module:
    """The smallest real CNN."""
    return TinyCNN(num_classes, in_channels, width)


@register_model("gemmnet", input_size=(3, 8, 8), description="Tiny all-Gemm MLP (INT8 cannot help it)")
def gemmnet(num_classes: int = 10, in_channels: int = 3, size: int = 8, hidden: int = 16) -> nn.Module:
    """An MLP on a flattened 8x8 image."""
    return GemmNet(num_classes, in_channels, size, hidden)


class DigitCNN(nn.Module):
    """Conv-BN-ReLU blocks, each halving the resolution, then global pooling and a linear head.

    Four blocks give a receptive field that covers a whole 64x64 digit (which
    :class:`TinyCNN`'s three unpooled-at-the-end blocks do not).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 64, 96)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            cin = w
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@register_model("digitcnn", input_size=(3, 64, 64), description="Four conv blocks + global pool: the demo:digits net")
def digitcnn(num_classes: int = 10, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 64, 96)) -> nn.Module:
    """The small, fast CNN behind ``demo:digits``."""
    return DigitCNN(num_classes, in_channels, tuple(widths))
