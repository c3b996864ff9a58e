"""ImageNet-style Oct-ResNet-26/50/101 (bottleneck blocks, ResNet v1.5: stride in the 3x3 conv).

As in the paper's Table 2: the stem (7x7 conv + max pool) is plain, each stage's first block has a
projection shortcut, and the last stage runs at alpha 0 (``last_stage_alpha0=False`` frees it
where its maps can be halved).

Slots: ``stageS.out`` (residual stream of stage S, S = 2..5 as in the paper's conv2_x..conv5_x),
``stageS.blockB.inner1`` (after the 1x1 reduction) and ``stageS.blockB.inner2`` (after the 3x3).
"""

from __future__ import annotations

from torch import Tensor, nn

from octsearch.core.layers import OctConvBNAct, OctPair
from octsearch.core.models._head import ClassifierHead
from octsearch.core.models._residual import OctResidualBlock
from octsearch.core.models._staged import StagedNet
from octsearch.core.registration import check_common_args, check_width, register_model
from octsearch.core.slots import AlphaPlan

EXPANSION = 4
LAST_STAGE = "last stage at alpha 0 as in the paper (last_stage_alpha0=True)"


class Bottleneck(OctResidualBlock):
    def __init__(
        self, plan: AlphaPlan, prefix: str, in_ch: int, width: int, stride: int,
        in_slot: str, out_slot: str, side_in: int, pinned: str | None,
    ) -> None:
        super().__init__()
        out_ch, side = width * EXPANSION, side_in // stride
        inner1, inner2 = f"{prefix}.inner1", f"{prefix}.inner2"
        a_in = plan.slot(in_slot, in_ch, side_in)
        a1 = plan.slot(inner1, width, side_in, pinned)
        a2 = plan.slot(inner2, width, side, pinned)
        a_out = plan.slot(out_slot, out_ch, side, pinned)
        self.conv1 = OctConvBNAct(in_ch, width, 1, 1, alpha_in=a_in, alpha_out=a1,
                                  slot_in=in_slot, slot_out=inner1)
        self.conv2 = OctConvBNAct(width, width, 3, stride, alpha_in=a1, alpha_out=a2,
                                  slot_in=inner1, slot_out=inner2)
        self.conv3 = OctConvBNAct(width, out_ch, 1, 1, alpha_in=a2, alpha_out=a_out, act=None,
                                  slot_in=inner2, slot_out=out_slot)
        self.add_shortcut(in_ch, out_ch, stride, a_in, a_out, in_slot, out_slot)

    def body_layers(self) -> tuple[nn.Module, ...]:
        return (self.conv1, self.conv2, self.conv3)


class ImageNetOctResNet(StagedNet):
    def __init__(
        self, plan: AlphaPlan, layers: tuple[int, ...], num_classes: int, in_chans: int,
        input_size: int, width_mult: float, last_stage_alpha0: bool,
    ) -> None:
        super().__init__()
        stem_ch = max(1, round(64 * width_mult))
        side = input_size // 4
        plan.slot("stem.out", stem_ch, side, pinned="plain stem as in the paper")
        self.stem = nn.Sequential(
            OctConvBNAct(in_chans, stem_ch, 7, 2, slot_out="stem.out"),
            _MaxPool(),
        )
        in_ch, in_slot = stem_ch, "stem.out"
        for i, n_blocks in enumerate(layers):
            s = i + 2
            width = max(1, round(64 * 2**i * width_mult))
            stride = 1 if i == 0 else 2
            last = i == len(layers) - 1
            pinned = LAST_STAGE if (last and last_stage_alpha0) else None
            out_slot = f"stage{s}.out"
            if last:
                plan.slot(out_slot, width * EXPANSION, side // stride,
                          pinned="it feeds global pooling and the classifier")
            blocks = {}
            for b in range(1, n_blocks + 1):
                blocks[f"block{b}"] = Bottleneck(plan, f"stage{s}.block{b}", in_ch, width, stride if b == 1 else 1,
                                                 in_slot, out_slot, side, pinned)
                side //= stride if b == 1 else 1
                in_ch, in_slot = width * EXPANSION, out_slot
            self.add_stage(f"stage{s}", blocks)
        self.head = ClassifierHead(in_ch, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.run_stages(self.stem(x)))


class _MaxPool(nn.Module):
    """The stem's 3x3/2 max pool on a plain (alpha 0) pair."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(3, 2, 1)

    def forward(self, x: OctPair) -> OctPair:
        return self.pool(x[0]), None


def _create(name: str, plan: AlphaPlan, layers: tuple[int, ...], num_classes: int, in_chans: int,
            input_size: int, width_mult: float, last_stage_alpha0: bool) -> ImageNetOctResNet:
    check_common_args(name, num_classes, in_chans, input_size,
                      lambda s: s >= 64 and s % 32 == 0, "a multiple of 32, at least 64 (e.g. 224)")
    check_width(name, width_mult)
    return ImageNetOctResNet(plan, layers, num_classes, in_chans, input_size, width_mult, bool(last_stage_alpha0))


_DEFAULTS = dict(num_classes=1000, in_chans=3, input_size=224, width_mult=1.0, last_stage_alpha0=True)


@register_model("imagenet_resnet", "ImageNet-style Oct-ResNet-26 (bottleneck, layers 2-2-2-2)", **_DEFAULTS)
def oct_resnet26(plan, num_classes, in_chans, input_size, width_mult, last_stage_alpha0):  # noqa: ANN001, ANN201
    return _create("oct_resnet26", plan, (2, 2, 2, 2), num_classes, in_chans, input_size, width_mult, last_stage_alpha0)


@register_model("imagenet_resnet", "ImageNet-style Oct-ResNet-50 (bottleneck, layers 3-4-6-3)", **_DEFAULTS)
def oct_resnet50(plan, num_classes, in_chans, input_size, width_mult, last_stage_alpha0):  # noqa: ANN001, ANN201
    return _create("oct_resnet50", plan, (3, 4, 6, 3), num_classes, in_chans, input_size, width_mult, last_stage_alpha0)


@register_model("imagenet_resnet", "ImageNet-style Oct-ResNet-101 (bottleneck, layers 3-4-23-3)", **_DEFAULTS)
def oct_resnet101(plan, num_classes, in_chans, input_size, width_mult, last_stage_alpha0):  # noqa: ANN001, ANN201
    return _create("oct_resnet101", plan, (3, 4, 23, 3), num_classes, in_chans, input_size, width_mult, last_stage_alpha0)
