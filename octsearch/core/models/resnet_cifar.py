"""CIFAR-style Oct-ResNet-20/32/56 (He et al. 2016, section 4.2): 3x3 stem, three stages of basic
blocks at widths 16/32/64 (times ``width_mult``), projection shortcuts where the shape changes.

Slots: ``stageS.out`` (the residual stream of stage S, the stem output for stage 1),
``stageS.blockB.inner`` (after the block's first convolution). ``stage3.out`` feeds global
pooling, so it is pinned to 0.
"""

from __future__ import annotations

from torch import Tensor, nn

from octsearch.core.layers import OctConvBNAct
from octsearch.core.models._head import ClassifierHead
from octsearch.core.models._residual import OctResidualBlock
from octsearch.core.models._staged import StagedNet
from octsearch.core.registration import check_common_args, check_width, register_model
from octsearch.core.slots import AlphaPlan

WIDTHS = (16, 32, 64)


class BasicBlock(OctResidualBlock):
    def __init__(
        self, plan: AlphaPlan, prefix: str, in_ch: int, out_ch: int, stride: int,
        in_slot: str, out_slot: str, side_out: int,
    ) -> None:
        super().__init__()
        inner = f"{prefix}.inner"
        a_in = plan.slot(in_slot, in_ch, side_out * stride)
        a_mid = plan.slot(inner, out_ch, side_out)
        a_out = plan.slot(out_slot, out_ch, side_out)
        self.conv1 = OctConvBNAct(in_ch, out_ch, 3, stride, alpha_in=a_in, alpha_out=a_mid,
                                  slot_in=in_slot, slot_out=inner)
        self.conv2 = OctConvBNAct(out_ch, out_ch, 3, 1, alpha_in=a_mid, alpha_out=a_out, act=None,
                                  slot_in=inner, slot_out=out_slot)
        self.add_shortcut(in_ch, out_ch, stride, a_in, a_out, in_slot, out_slot)

    def body_layers(self) -> tuple[nn.Module, ...]:
        return (self.conv1, self.conv2)


class CifarOctResNet(StagedNet):
    def __init__(
        self, plan: AlphaPlan, blocks_per_stage: int, num_classes: int, in_chans: int,
        input_size: int, width_mult: float,
    ) -> None:
        super().__init__()
        widths = [max(1, round(w * width_mult)) for w in WIDTHS]
        a_stem = plan.slot("stage1.out", widths[0], input_size)
        self.stem = OctConvBNAct(in_chans, widths[0], 3, 1, alpha_in=0.0, alpha_out=a_stem,
                                 slot_out="stage1.out")
        in_ch, side = widths[0], input_size
        for s, width in enumerate(widths, start=1):
            stride = 1 if s == 1 else 2
            side //= stride
            out_slot = f"stage{s}.out"
            if s == len(widths):
                plan.slot(out_slot, width, side, pinned="it feeds global pooling and the classifier")
            blocks = {}
            for b in range(1, blocks_per_stage + 1):
                in_slot = f"stage{s - 1}.out" if (b == 1 and s > 1) else out_slot
                blocks[f"block{b}"] = BasicBlock(plan, f"stage{s}.block{b}", in_ch, width,
                                                 stride if b == 1 else 1, in_slot, out_slot, side)
                in_ch = width
            self.add_stage(f"stage{s}", blocks)
        self.head = ClassifierHead(in_ch, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.run_stages(self.stem(x)))


def _create(name: str, plan: AlphaPlan, depth: int, num_classes: int, in_chans: int,
            input_size: int, width_mult: float) -> CifarOctResNet:
    check_common_args(name, num_classes, in_chans, input_size,
                      lambda s: s >= 16 and s % 4 == 0, "a multiple of 4, at least 16 (e.g. 28, 32)")
    check_width(name, width_mult)
    return CifarOctResNet(plan, (depth - 2) // 6, num_classes, in_chans, input_size, width_mult)


_DEFAULTS = dict(num_classes=10, in_chans=3, input_size=32, width_mult=1.0)


@register_model("cifar_resnet", "CIFAR-style Oct-ResNet-20 (basic blocks, widths 16/32/64)", **_DEFAULTS)
def oct_resnet20(plan, num_classes, in_chans, input_size, width_mult):  # noqa: ANN001, ANN201
    return _create("oct_resnet20", plan, 20, num_classes, in_chans, input_size, width_mult)


@register_model("cifar_resnet", "CIFAR-style Oct-ResNet-32 (basic blocks, widths 16/32/64)", **_DEFAULTS)
def oct_resnet32(plan, num_classes, in_chans, input_size, width_mult):  # noqa: ANN001, ANN201
    return _create("oct_resnet32", plan, 32, num_classes, in_chans, input_size, width_mult)


@register_model("cifar_resnet", "CIFAR-style Oct-ResNet-56 (basic blocks, widths 16/32/64)", **_DEFAULTS)
def oct_resnet56(plan, num_classes, in_chans, input_size, width_mult):  # noqa: ANN001, ANN201
    return _create("oct_resnet56", plan, 56, num_classes, in_chans, input_size, width_mult)
